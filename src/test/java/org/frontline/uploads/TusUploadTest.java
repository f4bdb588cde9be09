package org.frontline.uploads;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.streams.ReadStream;
import org.frontline.Frontline;
import org.frontline.config.ConfigLoader;
import org.frontline.config.FrontlineConfig;
import org.frontline.dev.DemoOrganisation;
import org.frontline.platform.objectstore.ObjectStore;
import org.frontline.testing.ExpectContinue;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.LogCapture;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.testing.TestEnvironment.await;
import static org.frontline.uploads.UploadRequests.checksum;
import static org.frontline.uploads.UploadRequests.metadata;

/** tus 1.0.0 through real HTTP, real PostgreSQL and the in-process S3 server. */
@FrontlineTest
class TusUploadTest {
  static final UUID XU = account("officer.xu");
  static final int MIB = 1024 * 1024;
  private final HttpClient http = TestEnvironment.checkedHttp();
  private final UploadRequests uploads = new UploadRequests(http);

  // ---- discovery and protocol ----

  @Test
  void optionsDiscoversTheServerWithoutAToken(TestEnvironment env) throws Exception {
    HttpResponse<String> r = uploads.send(env, "OPTIONS", "/v1/uploads", null, Map.of());
    assertThat(r.statusCode()).isEqualTo(204);
    assertThat(r.headers().firstValue("Tus-Resumable")).hasValue("1.0.0");
    assertThat(r.headers().firstValue("Tus-Version")).hasValue("1.0.0");
    assertThat(r.headers().firstValue("Tus-Extension")).hasValue(
        "creation,creation-with-upload,termination,checksum,expiration");
    assertThat(r.headers().firstValue("Tus-Checksum-Algorithm")).hasValue("sha1,sha256");
    assertThat(r.headers().firstValue("Tus-Max-Size")).hasValue("52428800");
    // tus clients may send OPTIONS to an upload's URL as well: the same discovery, whether or not it exists.
    HttpResponse<String> atUpload = uploads.send(env, "OPTIONS", "/v1/uploads/" + UUID.randomUUID(), null, Map.of());
    assertThat(atUpload.statusCode()).isEqualTo(204);
    assertThat(atUpload.headers().firstValue("Tus-Version")).hasValue("1.0.0");
    assertThat(atUpload.headers().firstValue("Tus-Max-Size")).hasValue("52428800");
  }

  @Test
  void tusMaxSizeIsTheLargestAttachmentTheContractAllowsAndALargerUploadIs413(TestEnvironment env)
      throws Exception {
    JsonObject contract = io.vertx.openapi.impl.Utils.yamlStringToJson(java.nio.file.Files.readString(
        java.nio.file.Path.of("api-spec/openapi.yaml"))).toCompletionStage().toCompletableFuture().get();
    long largest = contract.getJsonObject("components").getJsonObject("schemas")
        .getJsonObject("AttachmentDeclaration").getJsonObject("properties").getJsonObject("size").getLong("maximum");
    assertThat(uploads.send(env, "OPTIONS", "/v1/uploads", null, Map.of()).headers().firstValue("Tus-Max-Size"))
        .hasValue(Long.toString(largest));

    HttpResponse<String> r = uploads.send(env, "POST", "/v1/uploads", null, Map.of("Tus-Resumable", "1.0.0",
        "Authorization", "Bearer " + token(env, "officer.xu"), "Upload-Length", Long.toString(largest + 1),
        "Upload-Metadata", metadata(UUID.randomUUID(), UUID.randomUUID())));
    assertThat(r.statusCode()).isEqualTo(413);
    assertThat(problemType(r)).isEqualTo("urn:frontline:problem:payload-too-large");
    assertThat(new JsonObject(r.body()).getString("detail")).contains("Tus-Max-Size " + largest);
  }

  @Test
  void anUnsupportedTusVersionIs412(TestEnvironment env) throws Exception {
    HttpResponse<String> r = uploads.send(env, "POST", "/v1/uploads", null, Map.of("Tus-Resumable", "0.2.2",
        "Authorization", "Bearer " + token(env, "officer.xu"), "Upload-Length", "10"));
    assertThat(r.statusCode()).isEqualTo(412);
    assertThat(r.headers().firstValue("Tus-Version")).hasValue("1.0.0");
    assertThat(r.headers().firstValue("Tus-Resumable")).hasValue("1.0.0");
    assertThat(problemType(r)).isEqualTo("urn:frontline:problem:unsupported-protocol-version");
  }

  @Test
  void withoutATokenIs401(TestEnvironment env) throws Exception {
    HttpResponse<String> r = uploads.send(env, "POST", "/v1/uploads", null, Map.of("Tus-Resumable", "1.0.0",
        "Upload-Length", "10"));
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(r.headers().firstValue("Tus-Resumable")).hasValue("1.0.0");
  }

  // ---- the whole path ----

  @Test
  void uploadsInSeveralChecksummedPatchesAndCompletesTheReportWithItsLastAttachment(TestEnvironment env)
      throws Exception {
    String token = token(env, "officer.xu");
    byte[] big = photo(12 * MIB + 321);
    byte[] small = photo(40_000);
    UUID report = UUID.randomUUID();
    UUID a1 = UUID.randomUUID();
    UUID a2 = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a1, a2}, new byte[][] {big, small});

    String location = uploads.create(env, token, report, a1, big.length);
    assertThat(uploads.head(env, token, location).headers().firstValue("Upload-Offset")).hasValue("0");
    // Chunks of 4 MiB: not multiples of a part, so the tail under a part is kept between PATCHes.
    int offset = 0;
    for (int chunk : new int[] {4 * MIB, 4 * MIB, big.length - 8 * MIB}) {
      byte[] bytes = Arrays.copyOfRange(big, offset, offset + chunk);
      HttpResponse<String> r = uploads.patch(env, token, location, offset, bytes, checksum(bytes));
      assertThat(r.statusCode()).as(r.body()).isEqualTo(204);
      offset += chunk;
      assertThat(r.headers().firstValue("Upload-Offset")).hasValue(Long.toString(offset));
      HttpResponse<String> h = uploads.head(env, token, location);
      assertThat(h.headers().firstValue("Upload-Offset")).hasValue(Long.toString(offset));
      assertThat(h.headers().firstValue("Upload-Length")).hasValue(Long.toString(big.length));
      assertThat(h.headers().firstValue("Cache-Control")).hasValue("no-store");
    }
    assertThat(query(env, "SELECT status FROM attachment WHERE id = '" + a1 + "'")).isEqualTo("STORED");
    assertThat(query(env, "SELECT content_type FROM attachment WHERE id = '" + a1 + "'")).isEqualTo("image/jpeg");
    assertThat(query(env, "SELECT status FROM report WHERE id = '" + report + "'")).isEqualTo("AWAITING_MEDIA");
    // No report.completed before the last attachment (the media worker may already have flagged a1: its own event).
    assertThat(query(env, "SELECT count(*) FROM outbox WHERE aggregate_id = '" + report
        + "' AND event_type = 'report.completed'")).isEqualTo("0");
    String key = query(env, "SELECT object_key FROM attachment WHERE id = '" + a1 + "'");
    assertThat(key).startsWith("reports/" + report + "/" + a1 + "/");
    assertThat(storedSha256(env, key)).isEqualTo(sha256Hex(big));

    // creation-with-upload: the whole small photo with the creation request.
    HttpResponse<String> created = uploads.send(env, "POST", "/v1/uploads", small, Map.of("Tus-Resumable", "1.0.0",
        "Authorization", "Bearer " + token, "Upload-Length", Integer.toString(small.length),
        "Upload-Metadata", metadata(report, a2), "Content-Type", "application/offset+octet-stream",
        "Upload-Checksum", checksum(small)));
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    assertThat(created.headers().firstValue("Upload-Offset")).hasValue(Integer.toString(small.length));
    assertThat(query(env, "SELECT status FROM attachment WHERE id = '" + a2 + "'")).isEqualTo("STORED");
    assertThat(query(env, "SELECT status FROM report WHERE id = '" + report + "'")).isEqualTo("COMPLETE");
    assertThat(query(env, "SELECT count(*) FROM outbox WHERE aggregate_id = '" + report
        + "' AND event_type = 'report.completed'")).isEqualTo("1");
    assertThat(query(env, "SELECT count(*) FROM audit_log WHERE action = 'attachment.stored' AND object_id IN ('"
        + a1 + "', '" + a2 + "')")).isEqualTo("2");
    assertThat(query(env, "SELECT string_agg(status, ',') FROM upload WHERE attachment_id IN ('" + a1 + "', '"
        + a2 + "')")).isEqualTo("COMPLETED,COMPLETED");
    assertThat(await(env.app().objectStore().listMultipartUploads("reports/" + report + "/"))).isEmpty();
  }

  @Test
  void theLastAttachmentsStoredAtOnceCompleteTheReportExactlyOnce(TestEnvironment env) throws Exception {
    String token = token(env, "officer.xu");
    for (int round = 0; round < 3; round++) {
      int n = 8;
      UUID report = UUID.randomUUID();
      UUID[] ids = new UUID[n];
      byte[][] photos = new byte[n][];
      for (int i = 0; i < n; i++) {
        ids[i] = UUID.randomUUID();
        photos[i] = photo(30_000 + round * 100 + i);
      }
      insertReport(env, report, XU, ids, photos);
      java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(n);
      try {
        java.util.List<java.util.concurrent.Future<HttpResponse<String>>> sent = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
          byte[] bytes = photos[i];
          UUID a = ids[i];
          sent.add(pool.submit(() -> uploads.send(env, "POST", "/v1/uploads", bytes, Map.of("Tus-Resumable", "1.0.0",
              "Authorization", "Bearer " + token, "Upload-Length", Integer.toString(bytes.length),
              "Upload-Metadata", metadata(report, a), "Content-Type", "application/offset+octet-stream"))));
        }
        for (java.util.concurrent.Future<HttpResponse<String>> f : sent) {
          assertThat(f.get(60, TimeUnit.SECONDS).statusCode()).isEqualTo(201);
        }
      } finally {
        pool.shutdownNow();
      }
      assertThat(query(env, "SELECT status FROM report WHERE id = '" + report + "'")).isEqualTo("COMPLETE");
      assertThat(query(env, "SELECT count(*) FROM outbox WHERE aggregate_id = '" + report
          + "' AND event_type = 'report.completed'")).isEqualTo("1");
    }
  }

  // ---- bad input ----

  @Test
  void aWrongOffsetIs409AndAChunkThatFailsItsChecksumIs460AndDiscarded(TestEnvironment env) throws Exception {
    String token = token(env, "officer.xu");
    byte[] data = photo(100_000);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    String location = uploads.create(env, token, report, a, data.length);
    byte[] first = Arrays.copyOfRange(data, 0, 30_000);

    HttpResponse<String> wrong = uploads.patch(env, token, location, 5, first, null);
    assertThat(wrong.statusCode()).isEqualTo(409);
    assertThat(problemType(wrong)).isEqualTo("urn:frontline:problem:conflict");

    HttpResponse<String> bad = uploads.patch(env, token, location, 0, first, checksum(new byte[] {1, 2, 3}));
    assertThat(bad.statusCode()).isEqualTo(460);
    assertThat(problemType(bad)).isEqualTo("urn:frontline:problem:checksum-mismatch");
    assertThat(uploads.head(env, token, location).headers().firstValue("Upload-Offset")).hasValue("0");

    HttpResponse<String> badHeader = uploads.patch(env, token, location, 0, first, "md5 AAAA");
    assertThat(badHeader.statusCode()).isEqualTo(400);

    HttpResponse<String> ok = uploads.patch(env, token, location, 0, first, checksum(first));
    assertThat(ok.statusCode()).isEqualTo(204);
    assertThat(uploads.head(env, token, location).headers().firstValue("Upload-Offset")).hasValue("30000");
    HttpResponse<String> rest = uploads.patch(env, token, location, 30_000,
        Arrays.copyOfRange(data, 30_000, data.length), null);
    assertThat(rest.statusCode()).isEqualTo(204);
    assertThat(query(env, "SELECT status FROM attachment WHERE id = '" + a + "'")).isEqualTo("STORED");
  }

  /**
   * tus 1.0.0 requires a server with the checksum extension to take {@code sha1}: it was 400, so a client using
   * it (tus-java-client's default) could not upload at all. A chunk that does not match its SHA-1 is 460 and
   * discarded like a SHA-256 one; an algorithm not advertised (md5) is 400, as the spec says, and so is a digest of
   * the wrong length for its algorithm; neither moves the offset.
   */
  @Test
  void aSha1ChecksumIsTakenAsTusRequiresAndAMismatchIs460(TestEnvironment env) throws Exception {
    String token = token(env, "officer.xu");
    byte[] data = photo(100_000);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    String location = uploads.create(env, token, report, a, data.length);
    byte[] first = Arrays.copyOfRange(data, 0, 30_000);

    HttpResponse<String> bad = uploads.patch(env, token, location, 0, first, checksum("sha1", "SHA-1", data));
    assertThat(bad.statusCode()).as(bad.body()).isEqualTo(460);
    assertThat(problemType(bad)).isEqualTo("urn:frontline:problem:checksum-mismatch");
    for (String header : new String[] {checksum("md5", "MD5", first), "sha1 " + java.util.Base64.getEncoder()
        .encodeToString(MessageDigest.getInstance("SHA-256").digest(first))}) {
      refusedNaming(uploads.patch(env, token, location, 0, first, header), "header/Upload-Checksum");
    }
    assertThat(query(env, "SELECT \"offset\" || ' ' || status || ' ' || length(tail) FROM upload WHERE attachment_id = '"
        + a + "'")).isEqualTo("0 ACTIVE 0");

    HttpResponse<String> ok = uploads.patch(env, token, location, 0, first, checksum("sha1", "SHA-1", first));
    assertThat(ok.statusCode()).as(ok.body()).isEqualTo(204);
    assertThat(ok.headers().firstValue("Upload-Offset")).hasValue("30000");
    byte[] rest = Arrays.copyOfRange(data, 30_000, data.length);
    assertThat(uploads.patch(env, token, location, 30_000, rest, checksum("SHA1", "SHA-1", rest)).statusCode())
        .isEqualTo(204);
    storedIntact(env, a, data);
  }

  /**
   * tus core: X-HTTP-Method-Override is the request's method, for clients that cannot send PATCH or DELETE. Taken on
   * a POST only (what such clients send): a chunk POSTed as PATCH is written, a POST as DELETE terminates, and a
   * method the upload has not (GET) is 405 changing nothing.
   */
  @Test
  void aPostWithXHttpMethodOverrideIsThatMethod(TestEnvironment env) throws Exception {
    String token = token(env, "officer.xu");
    byte[] data = photo(20_000);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    String location = uploads.create(env, token, report, a, data.length);
    Map<String, String> post = Map.of("Tus-Resumable", "1.0.0", "Authorization", "Bearer " + token);

    HttpResponse<String> get = uploads.send(env, "POST", location, null, with(post, "X-HTTP-Method-Override", "GET"));
    assertThat(get.statusCode()).isEqualTo(405);
    assertThat(problemType(get)).isEqualTo("urn:frontline:problem:method-not-allowed");
    Map<String, String> patch = with(with(with(post, "X-HTTP-Method-Override", "PATCH"), "Upload-Offset", "0"),
        "Content-Type", "application/offset+octet-stream");
    HttpResponse<String> written = uploads.send(env, "POST", location, Arrays.copyOf(data, 1000), patch);
    assertThat(written.statusCode()).as(written.body()).isEqualTo(204);
    assertThat(written.headers().firstValue("Upload-Offset")).hasValue("1000");
    assertThat(query(env, "SELECT \"offset\" || ' ' || length(tail) FROM upload WHERE attachment_id = '" + a + "'"))
        .isEqualTo("1000 1000");

    HttpResponse<String> deleted = uploads.send(env, "POST", location, null,
        with(post, "X-HTTP-Method-Override", "DELETE"));
    assertThat(deleted.statusCode()).as(deleted.body()).isEqualTo(204);
    assertThat(query(env, "SELECT status FROM upload WHERE attachment_id = '" + a + "'")).isEqualTo("ABORTED");
    assertThat(uploads.head(env, token, location).statusCode()).isEqualTo(404);
  }

  private static Map<String, String> with(Map<String, String> headers, String name, String value) {
    Map<String, String> more = new HashMap<>(headers);
    more.put(name, value);
    return more;
  }

  @Test
  void anUploadLengthOtherThanTheDeclaredSizeIsRefusedNamingIt(TestEnvironment env) throws Exception {
    String token = token(env, "officer.xu");
    byte[] data = photo(1000);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});

    HttpResponse<String> larger = uploads.createRaw(env, token, report, a, 1001);
    assertThat(larger.statusCode()).isEqualTo(413);
    assertThat(problemType(larger)).isEqualTo("urn:frontline:problem:payload-too-large");
    assertThat(larger.body()).contains("header/Upload-Length");
    HttpResponse<String> smaller = uploads.createRaw(env, token, report, a, 999);
    assertThat(smaller.statusCode()).isEqualTo(400);
    assertThat(problemType(smaller)).isEqualTo("urn:frontline:problem:validation-failed");
    assertThat(new JsonObject(smaller.body()).getJsonArray("errors").getJsonObject(0).getString("field"))
        .isEqualTo("header/Upload-Length");
    HttpResponse<String> noMetadata = uploads.send(env, "POST", "/v1/uploads", null, Map.of("Tus-Resumable", "1.0.0",
        "Authorization", "Bearer " + token, "Upload-Length", "1000"));
    assertThat(noMetadata.statusCode()).isEqualTo(400);
    assertThat(noMetadata.body()).contains("header/Upload-Metadata/reportId");
    assertThat(query(env, "SELECT count(*) FROM upload WHERE attachment_id = '" + a + "'")).isEqualTo("0");
  }

  /**
   * Upload-Length and Upload-Offset are digits, sent once: a sign ({@code +}), a list, an empty value or a header
   * sent twice (read as its first value, where a proxy may act on the other) is 400 naming the header, and nothing
   * is created or written; leading zeros are still digits. So is an Upload-Checksum or Upload-Metadata sent twice,
   * and an Upload-Offset past a long. An Upload-Length past a long is past Tus-Max-Size: 413, as tus requires.
   */
  @Test
  void tusNumbersAreDigitsSentOnceAndAnythingElseIs400ChangingNothing(TestEnvironment env) throws Exception {
    String token = token(env, "officer.xu");
    byte[] data = photo(20_000);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    String length = Integer.toString(data.length);
    String[][] creations = {
        {"Upload-Length", "+" + length}, {"Upload-Length", length + ", " + length},
        {"Upload-Length", ""}, {"Upload-Length", "-" + length},
        {"Upload-Length", length, length}, {"Upload-Metadata", metadata(report, a), metadata(report, a)}};
    for (String[] header : creations) {
      HttpRequest.Builder b = tusRequest(env, token, "/v1/uploads", "POST", null);
      for (String name : new String[] {"Upload-Length", "Upload-Metadata"}) {
        if (!name.equals(header[0])) {
          b.header(name, name.equals("Upload-Length") ? length : metadata(report, a));
        }
      }
      for (int i = 1; i < header.length; i++) {
        b.header(header[0], header[i]);
      }
      refusedNaming(http.send(b.build(), HttpResponse.BodyHandlers.ofString()), "header/" + header[0]);
    }
    // A length of any number of digits is a length: past Tus-Max-Size, however far, it is 413 (tus: MUST).
    for (String tooLarge : new String[] {"99999999999999999999", "0" + "9".repeat(40)}) {
      HttpResponse<String> r = uploads.send(env, "POST", "/v1/uploads", null, Map.of("Tus-Resumable", "1.0.0",
          "Authorization", "Bearer " + token, "Upload-Length", tooLarge, "Upload-Metadata", metadata(report, a)));
      assertThat(r.statusCode()).as(tooLarge + ": " + r.body()).isEqualTo(413);
      assertThat(problemType(r)).isEqualTo("urn:frontline:problem:payload-too-large");
    }
    assertThat(query(env, "SELECT count(*) FROM upload WHERE attachment_id = '" + a + "'")).isEqualTo("0");

    String location = uploads.create(env, token, report, a, data.length);
    byte[] first = Arrays.copyOf(data, 1000);
    String[][] patches = {{"Upload-Offset", "+0"}, {"Upload-Offset", "0", "0"}, {"Upload-Offset", "0x0"},
        {"Upload-Offset", ""}, {"Upload-Offset", "-0"}, {"Upload-Offset", "99999999999999999999"},
        {"Upload-Checksum", checksum(first), checksum(first)}};
    for (String[] header : patches) {
      HttpRequest.Builder b = tusRequest(env, token, location, "PATCH", first)
          .header("Content-Type", "application/offset+octet-stream");
      if (!header[0].equals("Upload-Offset")) {
        b.header("Upload-Offset", "0");
      }
      for (int i = 1; i < header.length; i++) {
        b.header(header[0], header[i]);
      }
      refusedNaming(http.send(b.build(), HttpResponse.BodyHandlers.ofString()), "header/" + header[0]);
    }
    assertThat(query(env, "SELECT \"offset\" || ' ' || status FROM upload WHERE attachment_id = '" + a + "'"))
        .isEqualTo("0 ACTIVE");

    HttpResponse<String> zeros = http.send(tusRequest(env, token, location, "PATCH", data)
        .header("Content-Type", "application/offset+octet-stream").header("Upload-Offset", "000").build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(zeros.statusCode()).as(zeros.body()).isEqualTo(204);
    storedIntact(env, a, data);
  }

  /**
   * Upload-Metadata with a key given twice (tus: keys are unique) is 400: a second reportId was taken over the first,
   * so what was created depended on which one the server read. A value that is not base64 is 400 too, and another
   * officer's report (or an attachment of another report) 404; nothing is created.
   */
  @Test
  void uploadMetadataWithAKeyTwiceOrBadBase64IsRefusedAndCreatesNothing(TestEnvironment env) throws Exception {
    String token = token(env, "officer.xu");
    byte[] data = photo(20_000);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    UUID othersReport = UUID.randomUUID();
    UUID othersAttachment = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    insertReport(env, othersReport, account("officer.zhang"), new UUID[] {othersAttachment}, new byte[][] {data});
    java.util.Base64.Encoder b64 = java.util.Base64.getEncoder();
    String mine = metadata(report, a);
    String[] twice = {
        "reportId " + b64.encodeToString(UUID.randomUUID().toString().getBytes(StandardCharsets.UTF_8)) + "," + mine,
        mine + ",reportId " + b64.encodeToString(report.toString().getBytes(StandardCharsets.UTF_8)),
        mine + ",filename " + b64.encodeToString("b.jpg".getBytes(StandardCharsets.UTF_8))};
    for (String metadata : twice) {
      refusedNaming(uploads.send(env, "POST", "/v1/uploads", null, Map.of("Tus-Resumable", "1.0.0",
          "Authorization", "Bearer " + token, "Upload-Length", Integer.toString(data.length),
          "Upload-Metadata", metadata)), "header/Upload-Metadata");
    }
    refusedNaming(uploads.send(env, "POST", "/v1/uploads", null, Map.of("Tus-Resumable", "1.0.0",
        "Authorization", "Bearer " + token, "Upload-Length", Integer.toString(data.length),
        "Upload-Metadata", mine.replace("reportId ", "reportId %%"))), "header/Upload-Metadata");
    // A key with no value (tus allows one) has an empty value: no report id.
    refusedNaming(uploads.send(env, "POST", "/v1/uploads", null, Map.of("Tus-Resumable", "1.0.0",
        "Authorization", "Bearer " + token, "Upload-Length", Integer.toString(data.length),
        "Upload-Metadata", "reportId," + mine.substring(mine.indexOf("attachmentId")))),
        "header/Upload-Metadata/reportId");
    for (String metadata : new String[] {metadata(othersReport, othersAttachment), metadata(othersReport, a)}) {
      HttpResponse<String> r = uploads.send(env, "POST", "/v1/uploads", null, Map.of("Tus-Resumable", "1.0.0",
          "Authorization", "Bearer " + token, "Upload-Length", Integer.toString(data.length),
          "Upload-Metadata", metadata));
      assertThat(r.statusCode()).as(r.body()).isEqualTo(404);
      assertThat(problemType(r)).isEqualTo("urn:frontline:problem:not-found");
    }
    assertThat(query(env, "SELECT count(*) FROM upload WHERE attachment_id IN ('" + a + "', '" + othersAttachment
        + "')")).isEqualTo("0");
    // With a trailing comma and each key once, the same creation is taken.
    uploads.create(env, token, report, a, data.length);
    assertThat(uploads.send(env, "POST", "/v1/uploads", null, Map.of("Tus-Resumable", "1.0.0",
        "Authorization", "Bearer " + token, "Upload-Length", Integer.toString(data.length),
        "Upload-Metadata", mine + ",")).statusCode()).isEqualTo(201);
  }

  private static HttpRequest.Builder tusRequest(TestEnvironment env, String token, String path, String method,
                                                byte[] body) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + env.app().config().http().port() + path))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofByteArray(body))
        .header("Tus-Resumable", "1.0.0").header("Authorization", "Bearer " + token);
  }

  /** A 400 validation problem whose one error names {@code field}. */
  private static void refusedNaming(HttpResponse<String> r, String field) {
    assertThat(r.statusCode()).as(field + ": " + r.body()).isEqualTo(400);
    assertThat(problemType(r)).isEqualTo("urn:frontline:problem:validation-failed");
    assertThat(new JsonObject(r.body()).getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo(field);
  }

  @Test
  void anotherOfficerGets404ForTheAttachmentAndTheUpload(TestEnvironment env) throws Exception {
    String xu = token(env, "officer.xu");
    String zhang = token(env, "officer.zhang");
    byte[] data = photo(1000);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});

    HttpResponse<String> create = uploads.createRaw(env, zhang, report, a, data.length);
    assertThat(create.statusCode()).isEqualTo(404);
    assertThat(problemType(create)).isEqualTo("urn:frontline:problem:not-found");
    String location = uploads.create(env, xu, report, a, data.length);
    assertThat(uploads.head(env, zhang, location).statusCode()).isEqualTo(404);
    assertThat(uploads.patch(env, zhang, location, 0, data, null).statusCode()).isEqualTo(404);
    assertThat(uploads.send(env, "DELETE", location, null, Map.of("Tus-Resumable", "1.0.0", "Authorization",
        "Bearer " + zhang)).statusCode()).isEqualTo(404);
    assertThat(uploads.head(env, xu, location).headers().firstValue("Upload-Offset")).hasValue("0");
  }

  /**
   * A tus PATCH with Expect: 100-continue gets its 100 once the upload is found to be the caller's, at that offset
   * (then 204, the bytes stored); another officer's PATCH of it is a 404 without a 100, and the upload is untouched.
   * No 100 was ever sent on tus: a client waited for its own timeout before sending each chunk.
   */
  @Test
  void aPatchExpectingContinueGetsItOnlyOnItsOwnUpload(TestEnvironment env) throws Exception {
    String xu = token(env, "officer.xu");
    String zhang = token(env, "officer.zhang");
    byte[] data = photo(1000);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    String location = uploads.create(env, xu, report, a, data.length);
    int port = env.app().config().http().port();
    String head = "PATCH " + location + " HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n"
        + "Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: " + data.length
        + "\r\n";

    ExpectContinue.Exchange other = ExpectContinue.send(port, head + "Authorization: Bearer " + zhang + "\r\n\r\n",
        data, java.time.Duration.ofMillis(200));
    assertThat(other.continued()).as(other.answer()).isFalse();
    assertThat(other.status()).as(other.answer()).isEqualTo(404);
    assertThat(other.answer()).contains("urn:frontline:problem:not-found");
    assertThat(query(env, "SELECT \"offset\" || ' ' || status FROM upload WHERE attachment_id = '" + a + "'"))
        .isEqualTo("0 ACTIVE");

    ExpectContinue.Exchange own = ExpectContinue.send(port, head + "Authorization: Bearer " + xu + "\r\n\r\n",
        data, java.time.Duration.ofMillis(200));
    assertThat(own.answer()).startsWith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 ")
        .containsIgnoringCase("\r\nUpload-Offset: " + data.length + "\r\n");
    assertThat(query(env, "SELECT status FROM attachment WHERE id = '" + a + "'")).isEqualTo("STORED");
    storedIntact(env, a, data);
  }

  /**
   * A PATCH whose Content-Length goes past Upload-Length is a 413 on its head alone: no 100 Continue (it got one,
   * and its body was read up to the length before the 413), nothing of it kept.
   */
  @Test
  void aPatchLongerThanTheUploadIs413BeforeAnyContinue(TestEnvironment env) throws Exception {
    String xu = token(env, "officer.xu");
    byte[] data = photo(1000);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    String location = uploads.create(env, xu, report, a, data.length);
    byte[] tooLong = Arrays.copyOf(data, data.length + 1);
    ExpectContinue.Exchange r = ExpectContinue.send(env.app().config().http().port(), "PATCH " + location
        + " HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\nAuthorization: Bearer " + xu + "\r\n"
        + "Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: " + tooLong.length
        + "\r\n\r\n", tooLong, java.time.Duration.ofMillis(200));
    assertThat(r.continued()).as(r.answer()).isFalse();
    assertThat(r.status()).as(r.answer()).isEqualTo(413);
    assertThat(r.answer()).contains("urn:frontline:problem:payload-too-large");
    assertThat(query(env, "SELECT \"offset\" || ' ' || status FROM upload WHERE attachment_id = '" + a + "'"))
        .isEqualTo("0 ACTIVE");
  }

  /**
   * A creation-with-upload whose Content-Length goes past its Upload-Length is a 413 before the upload exists: it was
   * created first, then its body refused, and stayed ACTIVE with no Location the client could resume.
   */
  @Test
  void aCreationWithABodyLongerThanItsUploadLengthIs413AndCreatesNothing(TestEnvironment env) throws Exception {
    String token = token(env, "officer.xu");
    byte[] data = photo(1000);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    HttpResponse<String> r = uploads.send(env, "POST", "/v1/uploads", Arrays.copyOf(data, data.length + 1),
        Map.of("Tus-Resumable", "1.0.0", "Authorization", "Bearer " + token, "Upload-Length",
            Integer.toString(data.length), "Upload-Metadata", metadata(report, a),
            "Content-Type", "application/offset+octet-stream"));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(413);
    assertThat(problemType(r)).isEqualTo("urn:frontline:problem:payload-too-large");
    assertThat(r.headers().firstValue("Location")).isEmpty();
    assertThat(query(env, "SELECT count(*) FROM upload WHERE attachment_id = '" + a + "'")).isEqualTo("0");
    assertThat(query(env, "SELECT status FROM attachment WHERE id = '" + a + "'")).isEqualTo("PENDING");

    HttpResponse<String> created = uploads.send(env, "POST", "/v1/uploads", data, Map.of("Tus-Resumable", "1.0.0",
        "Authorization", "Bearer " + token, "Upload-Length", Integer.toString(data.length),
        "Upload-Metadata", metadata(report, a), "Content-Type", "application/offset+octet-stream"));
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    storedIntact(env, a, data);
  }

  @Test
  void terminationAbortsTheMultipartUpload(TestEnvironment env) throws Exception {
    String token = token(env, "officer.xu");
    byte[] data = photo(6 * MIB);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    String location = uploads.create(env, token, report, a, data.length);
    assertThat(uploads.patch(env, token, location, 0, Arrays.copyOf(data, 5 * MIB + 10), null).statusCode())
        .isEqualTo(204);
    assertThat(await(env.app().objectStore().listMultipartUploads("reports/" + report + "/"))).hasSize(1);

    HttpResponse<String> deleted = uploads.send(env, "DELETE", location, null, Map.of("Tus-Resumable", "1.0.0",
        "Authorization", "Bearer " + token));
    assertThat(deleted.statusCode()).isEqualTo(204);
    assertThat(uploads.head(env, token, location).statusCode()).isEqualTo(404);
    // A repeat (the phone never saw the 204): 404, saying how the upload ended.
    HttpResponse<String> again = uploads.send(env, "DELETE", location, null, Map.of("Tus-Resumable", "1.0.0",
        "Authorization", "Bearer " + token));
    assertThat(again.statusCode()).isEqualTo(404);
    assertThat(again.body()).contains("was ended").doesNotContain("complete");
    assertThat(await(env.app().objectStore().listMultipartUploads("reports/" + report + "/"))).isEmpty();
    assertThat(query(env, "SELECT status FROM upload WHERE attachment_id = '" + a + "'")).isEqualTo("ABORTED");
    assertThat(query(env, "SELECT status FROM attachment WHERE id = '" + a + "'")).isEqualTo("PENDING");
    // Audited once (not by the repeat), by its author, in the transaction that ended it, saying how far it had come.
    assertThat(query(env, "SELECT string_agg(l.actor_id || ' ' || l.unit_id || ' ' || l.outcome || ' '"
        + " || (l.details->>'reportId') || ' ' || (l.details->>'uploadId' = u.id::text) || ' ' || (l.details->>'offset')"
        + " || ' ' || (l.details->>'length') || ' ' || (l.xmin = u.xmin), ',') FROM audit_log l JOIN upload u"
        + " ON u.attachment_id::text = l.object_id WHERE l.action = 'attachment.upload.terminated'"
        + " AND l.object_id = '" + a + "'"))
        .isEqualTo(XU + " " + DemoOrganisation.HUAISI + " SUCCESS " + report + " true " + (5 * MIB + 10) + " "
            + data.length + " true");
  }

  /**
   * An upload whose attachment another upload stored (a phone that started a second upload, then resumed the first)
   * or a direct completion stored is over: HEAD is 410 without Upload-Offset (it answered 200 with the offset while
   * its PATCH was refused, so a phone kept resuming it), PATCH and DELETE are 410 too, before any byte is read. The
   * attachment's object and audit entry stay as stored; the row stays ACTIVE until the sweeper expires it and cleans
   * what it left in the store, never the attachment's object.
   */
  @Test
  void anUploadWhoseAttachmentAnotherUploadStoredIsGoneAndTheStoredObjectUntouched(TestEnvironment env)
      throws Exception {
    String token = token(env, "officer.xu");
    byte[] data = photo(6 * MIB);
    byte[] small = photo(60_000);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    UUID b = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a, b}, new byte[][] {data, small});
    int sent = 5 * MIB + 10;
    String first = uploads.create(env, token, report, a, data.length);
    assertThat(uploads.patch(env, token, first, 0, Arrays.copyOf(data, sent), null).statusCode()).isEqualTo(204);
    String second = uploads.create(env, token, report, a, data.length);
    assertThat(uploads.patch(env, token, second, 0, data, null).statusCode()).isEqualTo(204);
    String key = storedIntact(env, a, data);
    assertThat(key).endsWith("/" + UploadRequests.uploadId(second));
    // b: a tus upload begun, then the photo stored through the direct path.
    String tusOfB = uploads.create(env, token, report, b, small.length);
    assertThat(uploads.patch(env, token, tusOfB, 0, Arrays.copyOf(small, 1000), null).statusCode()).isEqualTo(204);
    assertThat(org.frontline.testing.StoreHttp.put(uploads.uploadUrl(env, token, b), small).statusCode())
        .isEqualTo(200);
    assertThat(uploads.post(env, token, "/v1/attachments/" + b + "/complete").statusCode()).isEqualTo(200);
    String keyOfB = storedIntact(env, b, small);

    for (String[] upload : new String[][] {{first, Integer.toString(sent)}, {tusOfB, "1000"}}) {
      String location = upload[0];
      long offset = Long.parseLong(upload[1]);
      HttpResponse<String> head = uploads.head(env, token, location);
      assertThat(head.statusCode()).isEqualTo(410);
      assertThat(head.headers().firstValue("Upload-Offset")).isEmpty();
      assertThat(head.headers().firstValue("Tus-Resumable")).hasValue("1.0.0");
      HttpResponse<String> patch = uploads.patch(env, token, location, offset, Arrays.copyOf(data, 100), null);
      assertThat(patch.statusCode()).as(patch.body()).isEqualTo(410);
      assertThat(problemType(patch)).isEqualTo("urn:frontline:problem:gone");
      assertThat(new JsonObject(patch.body()).getString("detail")).contains("stored by another upload");
      HttpResponse<String> delete = uploads.send(env, "DELETE", location, null, Map.of("Tus-Resumable", "1.0.0",
          "Authorization", "Bearer " + token));
      assertThat(delete.statusCode()).isEqualTo(410);
      assertThat(query(env, "SELECT \"offset\" || ' ' || status FROM upload WHERE id = '"
          + UploadRequests.uploadId(location) + "'")).isEqualTo(offset + " ACTIVE");
    }
    assertThat(query(env, "SELECT count(*) FROM audit_log WHERE action = 'attachment.stored' AND object_id IN ('"
        + a + "', '" + b + "')")).isEqualTo("2");
    assertThat(query(env, "SELECT status FROM report WHERE id = '" + report + "'")).isEqualTo("COMPLETE");

    // Expired, they are cleaned as any other (the first one's multipart upload aborted), the stored objects kept.
    update(env, "UPDATE upload SET expires_at = now() - interval '1 minute' WHERE status = 'ACTIVE'"
        + " AND report_id = '" + report + "'");
    await(env.app().uploadSweeper().sweep());
    assertThat(await(env.app().objectStore().listMultipartUploads("reports/" + report + "/"))).isEmpty();
    assertThat(storedIntact(env, a, data)).isEqualTo(key);
    assertThat(storedIntact(env, b, small)).isEqualTo(keyOfB);
  }

  /**
   * A PATCH still writing an upload when another upload stores the attachment cannot save its progress (it saved it
   * and answered 204, and HEAD then 410): 409, HEAD 410, the row where it was, the stored object as stored.
   */
  @Test
  void aPatchWritingWhenAnotherUploadStoresTheAttachmentIs409AndHeadThen410(TestEnvironment env) throws Exception {
    String token = token(env, "officer.xu");
    byte[] data = photo(6 * MIB);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    String first = uploads.create(env, token, report, a, data.length);
    String firstId = UploadRequests.uploadId(first);
    int sent = 5 * MIB; // one part exactly: its progress is saved at that offset
    int port = env.app().config().http().port();
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
      socket.setSoTimeout(30_000);
      java.io.OutputStream out = socket.getOutputStream();
      out.write(("PATCH " + first + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nTus-Resumable: 1.0.0\r\n"
          + "Authorization: Bearer " + token + "\r\nUpload-Offset: 0\r\n"
          + "Content-Type: application/offset+octet-stream\r\nContent-Length: " + (sent + 10) + "\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      out.write(data, 0, sent);
      out.flush();
      // Its first part is in the store and its progress saved: the PATCH waits for the rest of its body.
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).untilAsserted(() -> assertThat(
          query(env, "SELECT \"offset\" FROM upload WHERE id = '" + firstId + "'")).isEqualTo(Integer.toString(sent)));
      String second = uploads.create(env, token, report, a, data.length);
      assertThat(uploads.patch(env, token, second, 0, data, null).statusCode()).isEqualTo(204);

      out.write(data, sent, 10);
      out.flush();
      ByteArrayOutputStream answer = new ByteArrayOutputStream();
      java.io.InputStream in = socket.getInputStream();
      while (!answer.toString(StandardCharsets.US_ASCII).contains("\r\n\r\n")) {
        int b = in.read();
        assertThat(b).as("the answer so far: " + answer).isNotNegative();
        answer.write(b);
      }
      assertThat(answer.toString(StandardCharsets.US_ASCII)).startsWith("HTTP/1.1 409 ");
      assertThat(storedIntact(env, a, data)).endsWith("/" + UploadRequests.uploadId(second));
    }
    assertThat(uploads.head(env, token, first).statusCode()).isEqualTo(410);
    assertThat(query(env, "SELECT \"offset\" || ' ' || status FROM upload WHERE id = '" + firstId + "'"))
        .isEqualTo(sent + " ACTIVE");
  }

  @Test
  void anExpiredUploadIs410AndTheSweeperLeavesNoIncompleteMultipartUpload(TestEnvironment env) throws Exception {
    String token = token(env, "officer.xu");
    byte[] data = photo(6 * MIB);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    String location = uploads.create(env, token, report, a, data.length);
    assertThat(uploads.patch(env, token, location, 0, Arrays.copyOf(data, 5 * MIB + 10), null).statusCode())
        .isEqualTo(204);
    String other = uploads.create(env, token, report, a, data.length); // a second one, never written
    update(env, "UPDATE upload SET expires_at = now() - interval '1 minute' WHERE attachment_id = '" + a + "'");

    HttpResponse<String> h = uploads.head(env, token, location);
    assertThat(h.statusCode()).isEqualTo(410);
    assertThat(problemType(h.statusCode() == 410 ? uploads.patch(env, token, location, 5 * MIB + 10,
        Arrays.copyOfRange(data, 5 * MIB + 10, data.length), null) : h)).isEqualTo("urn:frontline:problem:gone");
    assertThat(await(env.app().objectStore().listMultipartUploads("reports/" + report + "/"))).hasSize(2);

    // (The service's own periodic sweep may have been first: either way nothing is left.)
    await(env.app().uploadSweeper().sweep());

    assertThat(await(env.app().objectStore().listMultipartUploads("reports/" + report + "/"))).isEmpty();
    assertThat(query(env, "SELECT string_agg(DISTINCT status, ',') FROM upload WHERE attachment_id = '" + a + "'"))
        .isEqualTo("EXPIRED");
    assertThat(uploads.head(env, token, other).statusCode()).isEqualTo(410);
    assertThat(await(env.app().uploadSweeper().sweep())).isZero();
    // Each expiry audited once, by the system, at the report's unit, saying how far the upload had come.
    assertThat(query(env, "SELECT string_agg(l.actor_label || ' ' || l.unit_id || ' ' || (l.details->>'reportId')"
        + " || ' ' || (l.details->>'offset') || ' ' || (l.details->>'length'), ',' ORDER BY l.details->>'offset')"
        + " FROM audit_log l JOIN upload u ON u.id::text = l.details->>'uploadId'"
        + " WHERE l.action = 'attachment.upload.expired' AND l.object_id = '" + a + "'"))
        .isEqualTo("system " + DemoOrganisation.HUAISI + " " + report + " 0 " + data.length + ",system "
            + DemoOrganisation.HUAISI + " " + report + " " + (5 * MIB + 10) + " " + data.length);
  }

  /** An upload created for a 7 MiB photo of officer Xu's new report, and the photo with its last byte changed. */
  private record Mismatch(String token, byte[] declared, byte[] sent, UUID report, UUID attachment, String location) {}

  private Mismatch mismatch(TestEnvironment env) throws Exception {
    String token = token(env, "officer.xu");
    byte[] declared = photo(7 * MIB);
    byte[] sent = declared.clone();
    sent[sent.length - 1] ^= 1;
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a}, new byte[][] {declared});
    return new Mismatch(token, declared, sent, report, a, uploads.create(env, token, report, a, declared.length));
  }

  @Test
  void aWholeFileThatDoesNotMatchTheDeclaredSha256IsRejectedAndRemoved(TestEnvironment env) throws Exception {
    Mismatch m = mismatch(env);
    UUID report = m.report();
    UUID a = m.attachment();

    HttpResponse<String> r = uploads.patch(env, m.token(), m.location(), 0, m.sent(), null);

    assertThat(r.statusCode()).isEqualTo(422);
    assertThat(problemType(r)).isEqualTo("urn:frontline:problem:unprocessable");
    assertThat(new JsonObject(r.body()).getJsonArray("errors").getJsonObject(0).getString("field"))
        .isEqualTo("sha256");
    assertThat(query(env, "SELECT status FROM attachment WHERE id = '" + a + "'")).isEqualTo("PENDING");
    assertThat(query(env, "SELECT last_rejection FROM attachment WHERE id = '" + a + "'")).contains("sha256");
    assertThat(query(env, "SELECT status FROM upload WHERE attachment_id = '" + a + "'")).isEqualTo("FAILED");
    String key = query(env, "SELECT object_key FROM upload WHERE attachment_id = '" + a + "'");
    assertThat(await(env.app().objectStore().stat(key))).isEmpty();
    assertThat(await(env.app().objectStore().listMultipartUploads("reports/" + report + "/"))).isEmpty();
    assertThat(query(env, "SELECT count(*) FROM audit_log WHERE action = 'attachment.rejected' AND object_id = '"
        + a + "'")).isEqualTo("1");
    assertRejectionAudited(env, "sha256", report, a, query(env, "SELECT last_rejection FROM attachment WHERE id = '"
        + a + "'"));
    assertThat(uploads.head(env, m.token(), m.location()).statusCode()).isEqualTo(404);
  }

  /**
   * A rejection and its audit entry commit together or not at all: when the entry cannot be appended, nothing of the
   * rejection is recorded either (the upload, its multipart upload complete, is discarded all the same, unrecorded
   * as a rejection), and the bytes sent again in a new upload are rejected and audited.
   */
  @Test
  void aRejectionWhoseAuditEntryCannotBeWrittenIsNotRecorded(TestEnvironment env) throws Exception {
    Mismatch m = mismatch(env);
    String token = m.token();
    String location = m.location();
    UUID a = m.attachment();

    HttpResponse<String> r;
    try (AutoCloseable refused = org.frontline.audit.AuditTesting.refusingEntriesAbout(env, a)) {
      r = uploads.patch(env, token, location, 0, m.sent(), null);
    }

    assertThat(r.statusCode()).as(r.body()).isEqualTo(500);
    assertThat(query(env, "SELECT status || ' ' || coalesce(last_rejection, 'none') FROM attachment WHERE id = '"
        + a + "'")).isEqualTo("PENDING none");
    assertThat(query(env, "SELECT count(*) FROM audit_log WHERE object_id = '" + a + "'")).isEqualTo("0");
    assertThat(query(env, "SELECT status || ' ' || failure FROM upload WHERE attachment_id = '" + a + "'"))
        .startsWith("FAILED not stored: ");
    String key = query(env, "SELECT object_key FROM upload WHERE attachment_id = '" + a + "'");
    assertThat(await(env.app().objectStore().stat(key))).isEmpty();
    assertThat(uploads.head(env, token, location).statusCode()).isEqualTo(404);

    String again = uploads.create(env, token, m.report(), a, m.declared().length);
    assertThat(uploads.patch(env, token, again, 0, m.sent(), null).statusCode()).isEqualTo(422);
    assertRejectionAudited(env, "again", m.report(), a, query(env, "SELECT last_rejection FROM attachment WHERE id = '"
        + a + "'"));
  }

  @Test
  void aTwentyMegabytePatchIsStreamedHoldingAtMostOnePart(TestEnvironment env) throws Exception {
    String token = token(env, "officer.xu");
    byte[] data = photo(20 * MIB + 13);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    String location = uploads.create(env, token, report, a, data.length);
    ChunkReceiver.PEAK_BUFFERED.set(0);

    assertThat(uploads.patch(env, token, location, 0, data, checksum(data)).statusCode()).isEqualTo(204);

    assertThat(query(env, "SELECT status FROM attachment WHERE id = '" + a + "'")).isEqualTo("STORED");
    // One part plus at most the network chunk that crossed the part boundary.
    assertThat(ChunkReceiver.PEAK_BUFFERED.get()).isGreaterThanOrEqualTo(ChunkReceiver.PART_SIZE)
        .isLessThan(ChunkReceiver.PART_SIZE + 256 * 1024);
  }

  @Test
  void concurrentSweepersExpireEachUploadOnce(TestEnvironment env) throws Exception {
    String token = token(env, "officer.xu");
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a}, new byte[][] {photo(1000)});
    for (int i = 0; i < 6; i++) {
      uploads.create(env, token, report, a, 1000);
    }
    update(env, "UPDATE upload SET expires_at = now() - interval '1 second' WHERE attachment_id = '" + a + "'");
    UploadRepository repository = new UploadRepository(env.app().database().pool());
    UploadSweeper one = new UploadSweeper(repository, env.app().objectStore(), java.time.Clock.systemUTC(),
        Frontline.UPLOAD_LIFETIME);
    UploadSweeper two = new UploadSweeper(repository, env.app().objectStore(), java.time.Clock.systemUTC(),
        Frontline.UPLOAD_LIFETIME);

    var both = io.vertx.core.Future.all(one.sweep(), two.sweep());
    await(both);

    assertThat(query(env, "SELECT count(*) FROM upload WHERE attachment_id = '" + a + "' AND status = 'EXPIRED'"))
        .isEqualTo("6");
    assertThat(query(env, "SELECT count(*) || ' ' || count(DISTINCT details->>'uploadId') FROM audit_log"
        + " WHERE action = 'attachment.upload.expired' AND object_id = '" + a + "'")).isEqualTo("6 6");
    assertThat(await(env.app().objectStore().listMultipartUploads("reports/" + report + "/"))).isEmpty();
  }

  /**
   * The sweeper's store calls run outside any transaction: while it aborts an upload's multipart upload, the row is
   * already EXPIRED and nobody holds a lock on it (a transaction open across S3 calls would freeze the partner
   * event feed). Checked from inside the store call.
   */
  @Test
  void theSweeperCallsTheStoreWithNoTransactionOpen(TestEnvironment env) throws Exception {
    String token = token(env, "officer.xu");
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a}, new byte[][] {photo(1000)});
    for (int i = 0; i < 3; i++) {
      uploads.create(env, token, report, a, 1000);
    }
    update(env, "UPDATE upload SET expires_at = now() - interval '1 second' WHERE attachment_id = '" + a + "'");
    ObjectStore real = env.app().objectStore();
    java.util.List<String> seen = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
    ObjectStore watched = (ObjectStore) java.lang.reflect.Proxy.newProxyInstance(ObjectStore.class.getClassLoader(),
        new Class<?>[] {ObjectStore.class}, (proxy, method, args) -> {
          if (method.getName().equals("abortMultipart")) {
            String uploadId = (String) args[1];
            return env.app().vertx().executeBlocking(() -> {
              // NOWAIT: fails at once if any transaction holds the row.
              try (Connection c = env.jdbc()) {
                c.setAutoCommit(false);
                try (PreparedStatement ps = c.prepareStatement("SELECT status FROM upload"
                    + " WHERE multipart_upload_id = ? FOR UPDATE NOWAIT")) {
                  ps.setString(1, uploadId);
                  try (ResultSet rs = ps.executeQuery()) {
                    seen.add(rs.next() ? rs.getString(1) : "none");
                  }
                } catch (java.sql.SQLException locked) {
                  seen.add("locked: " + locked.getSQLState());
                }
                c.rollback();
              }
              return null;
            }).compose(v -> real.abortMultipart(args[0].toString(), uploadId));
          }
          return method.invoke(real, args);
        });
    UploadSweeper sweeper = new UploadSweeper(new UploadRepository(env.app().database().pool()), watched,
        java.time.Clock.systemUTC(), Frontline.UPLOAD_LIFETIME);

    await(sweeper.sweep());

    // (The service's own periodic sweep may have taken some first: whatever this one aborted was unlocked.)
    assertThat(seen).allMatch("EXPIRED"::equals);
    assertThat(query(env, "SELECT count(*) FROM upload WHERE attachment_id = '" + a + "' AND status = 'EXPIRED'"))
        .isEqualTo("3");
    assertThat(await(real.listMultipartUploads("reports/" + report + "/"))).isEmpty();
  }

  // ---- resume after a restart ----

  @Test
  void theOffsetSurvivesARestartAndTheUploadFinishesOnANewInstance(TestEnvironment env) throws Exception {
    byte[] data = photo(12 * MIB + 777);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    String token = token(env, "officer.xu");

    // The shared service stays up for other test classes: two more instances on the same database and store.
    Frontline first = startInstance(env);
    int port = first.config().http().port();
    String location = uploads.create(port, token, report, a, data.length);
    int sent = 11 * MIB + 5; // two full parts and a tail
    assertThat(uploads.patch(port, token, location, 0, Arrays.copyOf(data, sent), null).statusCode()).isEqualTo(204);
    first.stop().get(30, TimeUnit.SECONDS);

    Frontline second = startInstance(env);
    try {
      int port2 = second.config().http().port();
      HttpResponse<String> h = uploads.head(port2, token, location);
      assertThat(h.statusCode()).isEqualTo(200);
      long offset = Long.parseLong(h.headers().firstValue("Upload-Offset").orElseThrow());
      assertThat(offset).isEqualTo(sent);
      HttpResponse<String> rest = uploads.patch(port2, token, location, offset,
          Arrays.copyOfRange(data, (int) offset, data.length), null);
      assertThat(rest.statusCode()).as(rest.body()).isEqualTo(204);
      storedIntact(env, a, data);
    } finally {
      second.stop().get(30, TimeUnit.SECONDS);
    }
  }

  /**
   * A phone that lost an upload's URL (the app killed, its storage cleared) finds it again where the report names its
   * pending photo: the attachment's {@code upload.resumeUrl} is its author's unfinished, unexpired upload, and the
   * rest of the bytes go there instead of a new upload from byte 0. Readers, who cannot upload, are shown none.
   */
  @Test
  void aPendingAttachmentNamesItsAuthorsUnfinishedUploadSoAPhoneThatLostItsUrlResumes(TestEnvironment env)
      throws Exception {
    String token = token(env, "officer.xu");
    byte[] data = photo(400_000);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    assertThat(pendingUpload(env, token, report).containsKey("resumeUrl")).isFalse();
    String expired = uploads.create(env, token, report, a, data.length);
    update(env, "UPDATE upload SET expires_at = now() - interval '1 second' WHERE id = '"
        + UploadRequests.uploadId(expired) + "'");
    String location = uploads.create(env, token, report, a, data.length);
    assertThat(uploads.patch(env, token, location, 0, Arrays.copyOf(data, 150_000)).statusCode()).isEqualTo(204);

    JsonObject upload = pendingUpload(env, token, report);
    assertThat(upload.getString("url")).isEqualTo("/v1/uploads");
    assertThat(upload.getString("resumeUrl")).isEqualTo(location);
    assertThat(pendingUpload(env, token(env, "supervisor.hanjiang"), report).containsKey("resumeUrl")).isFalse();

    String resumeUrl = upload.getString("resumeUrl");
    long offset = Long.parseLong(uploads.head(env, token, resumeUrl).headers().firstValue("Upload-Offset")
        .orElseThrow());
    assertThat(offset).isEqualTo(150_000);
    HttpResponse<String> rest = uploads.patch(env, token, resumeUrl, offset,
        Arrays.copyOfRange(data, (int) offset, data.length));
    assertThat(rest.statusCode()).as(rest.body()).isEqualTo(204);
    storedIntact(env, a, data);
    assertThat(query(env, "SELECT status FROM upload WHERE id = '" + UploadRequests.uploadId(location) + "'"))
        .isEqualTo("COMPLETED");
    assertThat(reportAttachment(env, token, report).containsKey("upload")).isFalse();
  }

  /** The report's first attachment as {@code GET /v1/reports/{id}} shows it to the caller. */
  private JsonObject reportAttachment(TestEnvironment env, String token, UUID report) throws Exception {
    HttpResponse<String> r = uploads.send(env, "GET", "/v1/reports/" + report, null,
        Map.of("Authorization", "Bearer " + token));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return new JsonObject(r.body()).getJsonArray("attachments").getJsonObject(0);
  }

  private JsonObject pendingUpload(TestEnvironment env, String token, UUID report) throws Exception {
    JsonObject attachment = reportAttachment(env, token, report);
    assertThat(attachment.getString("status")).isEqualTo("PENDING");
    return attachment.getJsonObject("upload");
  }

  @Test
  void anUploadOfExactlyOnePartIsStoredWithOnePut(TestEnvironment env) throws Exception {
    String token = token(env, "officer.xu");
    byte[] data = photo(ChunkReceiver.PART_SIZE);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    String location = uploads.create(env, token, report, a, data.length);

    HttpResponse<String> r = uploads.patch(env, token, location, 0, data, null);

    assertThat(r.statusCode()).as(r.body()).isEqualTo(204);
    String key = storedIntact(env, a, data);
    assertThat(await(env.app().objectStore().listMultipartUploads(key))).isEmpty();
  }

  @Test
  void anUploadUnderOnePartIsHeldWholeSurvivesARestartAndIsStoredWithOnePut(TestEnvironment env) throws Exception {
    byte[] data = photo(3 * MIB + 123);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    String token = token(env, "officer.xu");

    Frontline first = startInstance(env);
    int port = first.config().http().port();
    String location = uploads.create(port, token, report, a, data.length);
    String uploadId = location.substring(location.lastIndexOf('/') + 1);
    // No multipart upload for it: nothing is in the store until its last byte.
    assertThat(query(env, "SELECT coalesce(multipart_upload_id, 'none') FROM upload WHERE id = '" + uploadId + "'"))
        .isEqualTo("none");
    int sent = MIB + 17;
    assertThat(uploads.patch(port, token, location, 0, Arrays.copyOf(data, sent), null).statusCode()).isEqualTo(204);
    String key = query(env, "SELECT object_key FROM upload WHERE id = '" + uploadId + "'");
    assertThat(await(env.app().objectStore().listMultipartUploads(key))).isEmpty();
    assertThat(await(env.app().objectStore().stat(key))).isEmpty();
    first.stop().get(30, TimeUnit.SECONDS);

    Frontline second = startInstance(env);
    try {
      int port2 = second.config().http().port();
      assertThat(uploads.head(port2, token, location).headers().firstValue("Upload-Offset"))
          .hasValue(Integer.toString(sent));
      HttpResponse<String> rest = uploads.patch(port2, token, location, sent,
          Arrays.copyOfRange(data, sent, data.length), null);
      assertThat(rest.statusCode()).as(rest.body()).isEqualTo(204);
      assertThat(storedIntact(env, a, data)).isEqualTo(key);
      assertThat(await(env.app().objectStore().listMultipartUploads(key))).isEmpty();
    } finally {
      second.stop().get(30, TimeUnit.SECONDS);
    }
  }

  /**
   * A PATCH still sending when its instance stops is cut off at the end of the grace period and keeps what arrived,
   * as any cut PATCH does: the stop waits for it (its part stored, its offset persisted) before it closes the
   * database and the pools, and the upload resumes from there on another instance. Here the part waits for the
   * instance's one blocking thread, held until the grace period is over. The stop used to go on at once and close
   * the pools beneath it: the part and the bytes after it were lost and the client had to send them again.
   */
  @Test
  void aPatchCutOffByItsInstancesStopKeepsWhatArrived(TestEnvironment env) throws Exception {
    String token = token(env, "officer.xu");
    byte[] data = photo(12 * MIB);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    Frontline instance = startInstance(env, Map.of("FRONTLINE_SHUTDOWN_GRACE_SECONDS", "1",
        "FRONTLINE_WORKER_POOL_SIZE", "1"));
    try {
      int port = instance.config().http().port();
      String location = uploads.create(port, token, report, a, data.length);
      String uploadId = location.substring(location.lastIndexOf('/') + 1);
      java.util.concurrent.CountDownLatch holding = new java.util.concurrent.CountDownLatch(1);
      java.util.concurrent.CountDownLatch held = new java.util.concurrent.CountDownLatch(1);
      try (java.net.Socket patch = openPatch(port, token, location, 0, "Content-Length: " + data.length + "\r\n");
           LogCapture log = LogCapture.of(ChunkReceiver.class, "%level %msg%n")) {
        // The upload's head is judged on the blocking thread first; then the thread is held.
        patch.getOutputStream().write(data, 0, 2 * ContentRules.HEAD);
        patch.getOutputStream().flush();
        Thread.sleep(500);
        instance.blocking().executeBlocking(() -> {
          holding.countDown();
          return held.await(60, TimeUnit.SECONDS);
        }, false);
        assertThat(holding.await(10, TimeUnit.SECONDS)).isTrue();
        patch.getOutputStream().write(data, 2 * ContentRules.HEAD, ChunkReceiver.PART_SIZE + 1000
            - 2 * ContentRules.HEAD);
        patch.getOutputStream().flush();
        Thread.sleep(500); // the first part waits for the blocking thread
        var stopped = instance.stop();
        Thread.sleep(2000); // the grace period ends, the PATCH is cut off; the stop goes as far as it goes
        held.countDown();
        stopped.get(30, TimeUnit.SECONDS);
        assertThat(log.text()).doesNotContain("not kept");
      }
      long offset = Long.parseLong(query(env, "SELECT \"offset\" FROM upload WHERE id = '" + uploadId + "'"));
      assertThat(offset).isBetween((long) ChunkReceiver.PART_SIZE, ChunkReceiver.PART_SIZE + 1000L);
      assertThat(uploads.head(env, token, location).headers().firstValue("Upload-Offset"))
          .hasValue(Long.toString(offset));
      HttpResponse<String> rest = uploads.patch(env, token, location, offset,
          Arrays.copyOfRange(data, (int) offset, data.length), null);
      assertThat(rest.statusCode()).as(rest.body()).isEqualTo(204);
      storedIntact(env, a, data);
    } finally {
      instance.stop().get(30, TimeUnit.SECONDS);
    }
  }

  // ---- a connection lost mid-PATCH ----

  /**
   * A PATCH cut off mid-body keeps what arrived, also for an upload held whole (no multipart upload): HEAD gives
   * the bytes received and the upload resumes from there. The client's disconnect is no database outage (no 503).
   */
  @Test
  void aCutPatchOfAnUploadHeldWholeKeepsWhatArrivedAndResumesFromThere(TestEnvironment env) throws Exception {
    String token = token(env, "officer.xu");
    byte[] data = photo(652_611);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    String location = uploads.create(env, token, report, a, data.length);
    String uploadId = location.substring(location.lastIndexOf('/') + 1);
    // What Problems logs (its WARN for a 503 names the dependency).
    LogCapture problems = LogCapture.of(org.frontline.platform.http.Problems.class, "%level %msg%n");
    try (problems) {
      // Closed (FIN) after 100000 of the 400000 bytes it announced: under the 256 KiB head window.
      cutPatch(env, token, location, 0, Arrays.copyOfRange(data, 0, 100_000), 400_000, false);
      awaitOffset(env, token, location, 100_000);
      // Reset (RST) after 200000 more of the rest it announced.
      cutPatch(env, token, location, 100_000, Arrays.copyOfRange(data, 100_000, 300_000), data.length - 100_000,
          true);
      awaitOffset(env, token, location, 300_000);
    }
    assertThat(problems.text()).doesNotContain("503").doesNotContain("unavailable")
        .doesNotContain("unhandled");
    // Nothing is in the store before the last byte: the bytes received are the upload's tail.
    assertThat(query(env, "SELECT length(tail) || ' ' || coalesce(multipart_upload_id, 'none') FROM upload"
        + " WHERE id = '" + uploadId + "'")).isEqualTo("300000 none");

    HttpResponse<String> rest = uploads.patch(env, token, location, 300_000,
        Arrays.copyOfRange(data, 300_000, data.length), null);

    assertThat(rest.statusCode()).as(rest.body()).isEqualTo(204);
    storedIntact(env, a, data);
  }

  /**
   * A chunk with an Upload-Checksum counts only whole and verified (tus: a chunk that cannot be verified is
   * discarded, the offset not moved): cut after a part went to the store, it keeps nothing, neither offset, part nor
   * tail, and the upload takes the same chunk again from its offset; the part sent again overwrites the first.
   */
  @Test
  void aCutPatchWithAChecksumKeepsNothingOfItsChunk(TestEnvironment env) throws Exception {
    String token = token(env, "officer.xu");
    byte[] data = photo(6 * MIB + 99);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    String location = uploads.create(env, token, report, a, data.length);

    cutPatch(env, token, location, 0, Arrays.copyOf(data, 5 * MIB + 4321), data.length, true,
        "Upload-Checksum: " + checksum(data) + "\r\n");

    // Once the cut body let go of the upload, the whole chunk is taken again at offset 0: nothing was kept.
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).untilAsserted(() -> {
      assertThat(query(env, "SELECT \"offset\" || ' ' || length(tail) || ' ' || jsonb_array_length(parts::jsonb)"
          + " FROM upload WHERE attachment_id = '" + a + "'")).isEqualTo("0 0 0");
      HttpResponse<String> resent = uploads.patch(env, token, location, 0, data, checksum(data));
      assertThat(resent.statusCode()).as(resent.body()).isEqualTo(204);
    });
    storedIntact(env, a, data);
  }

  /**
   * Two PATCHes of one upload at once: the second is 409 while the first is writing (never a second writer, so
   * never bytes of both), and the first then completes the upload with its own bytes. The second's bytes differ, so
   * any of them stored would fail the declared SHA-256.
   */
  @Test
  void aSecondPatchWhileOneIsWritingIs409AndNothingOfItIsStored(TestEnvironment env) throws Exception {
    String token = token(env, "officer.xu");
    byte[] data = photo(200_000);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    String location = uploads.create(env, token, report, a, data.length);
    byte[] other = data.clone();
    for (int i = 1000; i < other.length; i++) {
      other[i] ^= 0x5a;
    }
    int port = env.app().config().http().port();
    try (java.net.Socket first = new java.net.Socket("127.0.0.1", port)) {
      first.setSoTimeout(20_000);
      java.io.OutputStream out = first.getOutputStream();
      out.write(("PATCH " + location + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nTus-Resumable: 1.0.0\r\n"
          + "Authorization: Bearer " + token + "\r\nUpload-Offset: 0\r\n"
          + "Content-Type: application/offset+octet-stream\r\nContent-Length: " + data.length + "\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      out.write(data, 0, 100_000);
      out.flush();
      // Until the first PATCH holds the upload (an empty PATCH is 204 before, changing nothing).
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).untilAsserted(() ->
          assertThat(uploads.patch(env, token, location, 0, new byte[0]).body()).contains("Another request"));

      HttpResponse<String> second = uploads.patch(env, token, location, 0, other, null);
      assertThat(second.statusCode()).as(second.body()).isEqualTo(409);
      assertThat(problemType(second)).isEqualTo("urn:frontline:problem:conflict");

      out.write(data, 100_000, data.length - 100_000);
      out.flush();
      String status = new java.io.BufferedReader(new java.io.InputStreamReader(first.getInputStream(),
          StandardCharsets.US_ASCII)).readLine();
      assertThat(status).isEqualTo("HTTP/1.1 204 No Content");
    }
    storedIntact(env, a, data);
  }

  @Test
  void aCutPatchOfAMultipartUploadKeepsItsPartsAndTail(TestEnvironment env) throws Exception {
    String token = token(env, "officer.xu");
    byte[] data = photo(6 * MIB + 99);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    String location = uploads.create(env, token, report, a, data.length);
    int sent = 5 * MIB + 4321; // one part and a tail

    cutPatch(env, token, location, 0, Arrays.copyOf(data, sent), data.length, false);
    awaitOffset(env, token, location, sent);

    HttpResponse<String> rest = uploads.patch(env, token, location, sent, Arrays.copyOfRange(data, sent, data.length),
        null);
    assertThat(rest.statusCode()).as(rest.body()).isEqualTo(204);
    storedIntact(env, a, data);
  }

  /**
   * Sends a PATCH announcing {@code contentLength} bytes over a raw socket, writes {@code body} (fewer), then closes
   * the connection: an orderly close, or a reset ({@code reset}, SO_LINGER 0) once the server had time to read.
   */
  private static void cutPatch(TestEnvironment env, String token, String location, long offset, byte[] body,
                               long contentLength, boolean reset) throws Exception {
    cutPatch(env, token, location, offset, body, contentLength, reset, "");
  }

  /** {@link #cutPatch} with {@code headers} ("Name: value\r\n" each) among its own. */
  private static void cutPatch(TestEnvironment env, String token, String location, long offset, byte[] body,
                               long contentLength, boolean reset, String headers) throws Exception {
    int port = env.app().config().http().port();
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
      java.io.OutputStream out = socket.getOutputStream();
      out.write(("PATCH " + location + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nTus-Resumable: 1.0.0\r\n"
          + "Authorization: Bearer " + token + "\r\nUpload-Offset: " + offset + "\r\n"
          + "Content-Type: application/offset+octet-stream\r\nContent-Length: " + contentLength + "\r\n" + headers
          + "\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      out.write(body);
      out.flush();
      if (reset) {
        // A reset drops what the server has not read yet (the client's unsent bytes are discarded): wait until it
        // has read everything that was sent. A fixed pause was not always enough on a loaded machine (the server
        // pauses reading while it checks the head), and the bytes it had not read were lost with the reset.
        awaitReadByServer(socket, port);
        socket.setSoLinger(true, 0);
      }
    }
  }

  /**
   * Until the kernel holds nothing of this connection's bytes any more: the client's send queue is empty (all
   * acknowledged) and the server's socket has no unread bytes, as /proc/net/tcp{,6} show them. Where those files do
   * not exist (not Linux), a pause of a second instead.
   */
  private static void awaitReadByServer(java.net.Socket socket, int serverPort) throws Exception {
    int clientPort = socket.getLocalPort();
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
    while (true) {
      long[] queues = tcpQueues(clientPort, serverPort);
      if (queues == null) {
        Thread.sleep(1000);
        return;
      }
      if (queues[0] == 0 && queues[1] == 0) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("the server has not read the body sent: " + queues[0] + " bytes unsent, "
            + queues[1] + " unread");
      }
      Thread.sleep(20);
    }
  }

  /**
   * {client's send queue, server's receive queue} of the loopback connection between these ports (0 for the server's
   * side once it is gone), or null when the client's side cannot be found (no /proc/net/tcp).
   */
  private static long[] tcpQueues(int clientPort, int serverPort) throws java.io.IOException {
    Long clientTx = null;
    long serverRx = 0;
    for (String file : java.util.List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      java.nio.file.Path path = java.nio.file.Path.of(file);
      if (!java.nio.file.Files.isReadable(path)) {
        continue;
      }
      for (String line : java.nio.file.Files.readAllLines(path)) {
        String[] f = line.trim().split("\\s+");
        if (f.length < 5 || !f[1].contains(":") || !f[4].contains(":")) {
          continue;
        }
        int local;
        int remote;
        try {
          local = Integer.parseInt(f[1].substring(f[1].lastIndexOf(':') + 1), 16);
          remote = Integer.parseInt(f[2].substring(f[2].lastIndexOf(':') + 1), 16);
        } catch (NumberFormatException header) {
          continue;
        }
        String[] queues = f[4].split(":");
        if (local == clientPort && remote == serverPort) {
          clientTx = Long.parseLong(queues[0], 16);
        } else if (local == serverPort && remote == clientPort) {
          serverRx = Long.parseLong(queues[1], 16);
        }
      }
    }
    return clientTx == null ? null : new long[] {clientTx, serverRx};
  }

  private void awaitOffset(TestEnvironment env, String token, String location, long offset) {
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20))
        .untilAsserted(() -> assertThat(uploads.head(env, token, location).headers().firstValue("Upload-Offset"))
            .hasValue(Long.toString(offset)));
  }


  // ---- a connection lost at any stage of a PATCH ----

  /**
   * Phones lose their network at any point of a PATCH: right after its headers (the server still authenticating or
   * looking the upload up), after a few bytes, with an orderly close or a reset. However it ends, each upload is
   * writable again at once (no "Another request is writing this upload") and each part permit comes back: more
   * drops than permits leave every permit free and every upload completable.
   */
  @Test
  void aConnectionLostAtAnyStageOfAPatchReleasesTheUploadAndItsPartPermit(TestEnvironment env) throws Exception {
    String token = token(env, "officer.xu");
    PartBudget budget = env.app().uploads().partBudget();
    int port = env.app().config().http().port();
    byte[] data = photo(300 * 1024);
    java.util.List<UUID> attachments = new java.util.ArrayList<>();
    java.util.List<String> locations = new java.util.ArrayList<>();
    for (int i = 0; i < budget.permits() + 10; i++) {
      UUID report = UUID.randomUUID();
      UUID a = UUID.randomUUID();
      insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
      String location = uploads.create(env, token, report, a, data.length);
      try (java.net.Socket socket = openPatch(port, token, location, 0, "Content-Length: " + data.length + "\r\n")) {
        switch (i % 3) {
          case 0 -> socket.setSoLinger(true, 0); // reset right after the headers: while authenticating
          case 1 -> socket.getOutputStream().write(Arrays.copyOf(data, 10)); // closed after a few bytes
          default -> {
            socket.getOutputStream().write(Arrays.copyOf(data, 10));
            socket.getOutputStream().flush();
            socket.setSoLinger(true, 0); // reset after a few bytes
          }
        }
      }
      attachments.add(a);
      locations.add(location);
    }

    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).untilAsserted(() -> {
      assertThat(budget.available()).as("free part permits").isEqualTo(budget.permits());
      assertThat(budget.waiting()).as("bodies waiting for a permit").isZero();
    });
    for (int i = 0; i < locations.size(); i++) {
      long offset = Long.parseLong(uploads.head(env, token, locations.get(i)).headers().firstValue("Upload-Offset")
          .orElseThrow());
      HttpResponse<String> rest = uploads.patch(env, token, locations.get(i), offset,
          Arrays.copyOfRange(data, (int) offset, data.length), null);
      assertThat(rest.statusCode()).as("upload %d: %s", i, rest.body()).isEqualTo(204);
      storedIntact(env, attachments.get(i), data);
    }
    assertThat(budget.available()).isEqualTo(budget.permits());
  }

  /**
   * A body waiting for a part permit (all of them held by slow uploads) whose connection closes leaves the queue at
   * once: its upload is writable again right away, while the permits are still all taken, and it never takes a
   * permit afterwards.
   */
  @Test
  void aBodyWaitingForAPartPermitStopsWaitingWhenItsConnectionCloses(TestEnvironment env) throws Exception {
    String token = token(env, "officer.xu");
    PartBudget budget = env.app().uploads().partBudget();
    int port = env.app().config().http().port();
    byte[] data = photo(300 * 1024);
    java.util.List<java.net.Socket> slow = new java.util.ArrayList<>();
    java.util.List<String> slowLocations = new java.util.ArrayList<>();
    try {
      // Slow phones: each sent the headers and 10 bytes, then nothing (yet); each holds a permit.
      for (int i = 0; i < budget.permits(); i++) {
        UUID report = UUID.randomUUID();
        UUID a = UUID.randomUUID();
        insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
        String location = uploads.create(env, token, report, a, data.length);
        java.net.Socket socket = openPatch(port, token, location, 0, "Content-Length: " + data.length + "\r\n");
        socket.getOutputStream().write(Arrays.copyOf(data, 10));
        socket.getOutputStream().flush();
        slow.add(socket);
        slowLocations.add(location);
      }
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20))
          .untilAsserted(() -> assertThat(budget.available()).isZero());

      UUID report = UUID.randomUUID();
      UUID a = UUID.randomUUID();
      insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
      String location = uploads.create(env, token, report, a, data.length);
      try (LogCapture problems = LogCapture.of(org.frontline.platform.http.Problems.class, "%level %msg%n")) {
        try (java.net.Socket dropped = openPatch(port, token, location, 0, "Content-Length: " + data.length
            + "\r\n")) {
          dropped.getOutputStream().write(Arrays.copyOf(data, 10));
          dropped.getOutputStream().flush();
          org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
              .untilAsserted(() -> assertThat(budget.waiting()).isEqualTo(1));
          dropped.setSoLinger(true, 0); // reset (RST) on close
        }
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
            .untilAsserted(() -> assertThat(budget.waiting()).as("bodies waiting for a permit").isZero());
        assertThat(budget.available()).isZero();
        // The client's own disconnect: no internal error logged (README: at debug level).
        Thread.sleep(200);
        assertThat(problems.text()).doesNotContain("ERROR").doesNotContain("unhandled");
      }

      // The phone comes back: its upload is not locked; its PATCH waits for a permit like any other.
      var again = http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + location))
          .timeout(java.time.Duration.ofSeconds(60))
          .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(data))
          .header("Tus-Resumable", "1.0.0").header("Authorization", "Bearer " + token).header("Upload-Offset", "0")
          .header("Content-Type", "application/offset+octet-stream").build(), HttpResponse.BodyHandlers.ofString());
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).untilAsserted(() -> {
        assertThat(again).as("answered while every permit is held").isNotDone();
        assertThat(budget.waiting()).isEqualTo(1);
      });

      // The slow phones lose their network too: their 10 bytes are kept, their permits come back.
      for (java.net.Socket socket : slow) {
        socket.close();
      }
      HttpResponse<String> r = again.get(60, TimeUnit.SECONDS);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(204);
      storedIntact(env, a, data);
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).untilAsserted(() -> {
        assertThat(budget.available()).isEqualTo(budget.permits());
        assertThat(budget.waiting()).isZero();
      });
      for (String slowLocation : slowLocations) {
        assertThat(uploads.head(env, token, slowLocation).headers().firstValue("Upload-Offset")).hasValue("10");
      }
    } finally {
      for (java.net.Socket socket : slow) {
        socket.close();
      }
    }
  }

  /**
   * A persisted SHA-256 state that cannot be read fails the PATCH (500) before any byte is read, and does not leave
   * the upload locked by this instance: the next PATCH is judged afresh, and once the state is readable the upload
   * completes.
   */
  @Test
  void anUnreadablePersistedHashStateFailsThePatchWithoutLockingTheUpload(TestEnvironment env) throws Exception {
    String token = token(env, "officer.xu");
    PartBudget budget = env.app().uploads().partBudget();
    byte[] data = photo(40_000);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    String location = uploads.create(env, token, report, a, data.length);
    String uploadId = location.substring(location.lastIndexOf('/') + 1);
    update(env, "UPDATE upload SET sha256_state = '\\x0102'::bytea WHERE id = '" + uploadId + "'");

    HttpResponse<String> first = uploads.patch(env, token, location, 0, data, null);
    HttpResponse<String> second = uploads.patch(env, token, location, 0, data, null);

    assertThat(first.statusCode()).as(first.body()).isEqualTo(500);
    assertThat(second.statusCode()).as("not locked by the first: %s", second.body()).isEqualTo(500);
    assertThat(budget.available()).isEqualTo(budget.permits());
    assertThat(query(env, "SELECT status || ' ' || \"offset\" FROM upload WHERE id = '" + uploadId + "'"))
        .isEqualTo("ACTIVE 0");

    update(env, "UPDATE upload SET sha256_state = NULL WHERE id = '" + uploadId + "'");
    HttpResponse<String> repaired = uploads.patch(env, token, location, 0, data, null);
    assertThat(repaired.statusCode()).as(repaired.body()).isEqualTo(204);
    storedIntact(env, a, data);
  }

  /** Opens a PATCH on a raw socket and sends its headers ({@code framing}: Content-Length or Transfer-Encoding). */
  private static java.net.Socket openPatch(int port, String token, String location, long offset, String framing)
      throws Exception {
    java.net.Socket socket = new java.net.Socket("127.0.0.1", port);
    String head = "PATCH " + location + " HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n"
        + "Authorization: Bearer " + token + "\r\nUpload-Offset: " + offset + "\r\n"
        + "Content-Type: application/offset+octet-stream\r\n" + framing + "\r\n";
    socket.getOutputStream().write(head.getBytes(StandardCharsets.ISO_8859_1));
    socket.getOutputStream().flush();
    return socket;
  }

  // ---- every byte in, the completion not done ----

  /**
   * A chunked PATCH brings every byte of the upload, then the connection is lost before the body's formal end (its
   * last chunk): the bytes are kept, but the offset stays under the length, since a tus client that reads
   * Upload-Offset == Upload-Length (tus-js-client on resume) takes the upload for done and sends nothing more, while
   * the attachment would still be PENDING and the report AWAITING_MEDIA for good. Resuming as such a client does
   * (HEAD, then a PATCH of the rest from that offset) stores it. Three shapes: held whole; the last bytes in the
   * read that crossed a part boundary (one byte held back from the tail); a length of exactly two parts (no tail to
   * hold a byte back from: the offset stays where it was saved before the last part).
   */
  @Test
  void allBytesInWithoutTheCompletionLeaveTheOffsetUnderTheLengthAndAResumeStoresIt(TestEnvironment env)
      throws Exception {
    String token = token(env, "officer.xu");
    PartBudget budget = env.app().uploads().partBudget();
    int port = env.app().config().http().port();
    for (int length : new int[] {300 * 1024 + 3, ChunkReceiver.PART_SIZE + 1000, 2 * ChunkReceiver.PART_SIZE}) {
      byte[] data = photo(length);
      UUID report = UUID.randomUUID();
      UUID a = UUID.randomUUID();
      insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
      String location = uploads.create(env, token, report, a, data.length);
      String uploadId = location.substring(location.lastIndexOf('/') + 1);
      try (java.net.Socket socket = openPatch(port, token, location, 0, "Transfer-Encoding: chunked\r\n")) {
        java.io.OutputStream out = socket.getOutputStream();
        out.write((Integer.toHexString(data.length) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
        out.write(data);
        out.write("\r\n".getBytes(StandardCharsets.ISO_8859_1));
        out.flush(); // and no terminating chunk: the connection is lost
        Thread.sleep(500);
      }
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20))
          .untilAsserted(() -> assertThat(budget.available()).isEqualTo(budget.permits()));

      HttpResponse<String> h = uploads.head(env, token, location);
      assertThat(h.statusCode()).isEqualTo(200);
      assertThat(h.headers().firstValue("Upload-Length")).hasValue(Integer.toString(length));
      long offset = Long.parseLong(h.headers().firstValue("Upload-Offset").orElseThrow());
      assertThat(offset).as("length %d: a tus client takes offset == length for done", length)
          .isLessThan(length);
      if (length != 2 * ChunkReceiver.PART_SIZE) {
        assertThat(offset).as("length %d: every byte kept but the last", length).isEqualTo(length - 1);
      }
      assertThat(query(env, "SELECT status FROM upload WHERE id = '" + uploadId + "'")).isEqualTo("ACTIVE");
      assertThat(query(env, "SELECT status FROM attachment WHERE id = '" + a + "'")).isEqualTo("PENDING");

      HttpResponse<String> rest = uploads.patch(env, token, location, offset,
          Arrays.copyOfRange(data, (int) offset, data.length), null);

      assertThat(rest.statusCode()).as(rest.body()).isEqualTo(204);
      assertThat(rest.headers().firstValue("Upload-Offset")).hasValue(Integer.toString(length));
      storedIntact(env, a, data);
      assertThat(query(env, "SELECT status FROM report WHERE id = '" + report + "'")).isEqualTo("COMPLETE");
      assertThat(query(env, "SELECT status || ' ' || \"offset\" FROM upload WHERE id = '" + uploadId + "'"))
          .isEqualTo("COMPLETED " + length);
      assertThat(uploads.head(env, token, location).headers().firstValue("Upload-Offset"))
          .hasValue(Integer.toString(length));
    }
  }

  /**
   * Uploads saved at offset == length while still ACTIVE before the last byte was held back (V97): the migration
   * holds one byte back from the tail, or, without a tail (every byte in stored parts, whose SHA-256 state cannot be
   * wound back), starts the upload again from 0; either way a resuming tus client completes it. Planted rows, then
   * the migration's statements run again.
   */
  @Test
  void theMigrationWindsBackUploadsSavedAtTheirLength(TestEnvironment env) throws Exception {
    String token = token(env, "officer.xu");
    byte[] whole = photo(40_000);
    byte[] parted = photo(2 * ChunkReceiver.PART_SIZE);
    UUID report = UUID.randomUUID();
    UUID a1 = UUID.randomUUID();
    UUID a2 = UUID.randomUUID();
    insertReport(env, report, XU, new UUID[] {a1, a2}, new byte[][] {whole, parted});
    String l1 = uploads.create(env, token, report, a1, whole.length);
    String l2 = uploads.create(env, token, report, a2, parted.length);
    String id1 = l1.substring(l1.lastIndexOf('/') + 1);
    String id2 = l2.substring(l2.lastIndexOf('/') + 1);
    // As the old code left them: all bytes as the tail; all bytes in two stored parts, no tail.
    try (Connection c = env.jdbc(); PreparedStatement ps = c.prepareStatement(
        "UPDATE upload SET \"offset\" = length, tail = ? WHERE id = ?::uuid")) {
      ps.setBytes(1, whole);
      ps.setString(2, id1);
      ps.executeUpdate();
    }
    String key = query(env, "SELECT object_key FROM upload WHERE id = '" + id2 + "'");
    String mpu = query(env, "SELECT multipart_upload_id FROM upload WHERE id = '" + id2 + "'");
    ObjectStore store = env.app().objectStore();
    String etag1 = await(store.uploadPart(key, mpu, 1, Buffer.buffer(Arrays.copyOf(parted, ChunkReceiver.PART_SIZE))));
    String etag2 = await(store.uploadPart(key, mpu, 2, Buffer.buffer(Arrays.copyOfRange(parted,
        ChunkReceiver.PART_SIZE, parted.length))));
    org.bouncycastle.crypto.digests.SHA256Digest state = new org.bouncycastle.crypto.digests.SHA256Digest();
    state.update(parted, 0, parted.length);
    try (Connection c = env.jdbc(); PreparedStatement ps = c.prepareStatement(
        "UPDATE upload SET \"offset\" = length, parts = ?::jsonb, sha256_state = ? WHERE id = ?::uuid")) {
      ps.setString(1, new io.vertx.core.json.JsonArray()
          .add(new JsonObject().put("number", 1).put("etag", etag1).put("size", ChunkReceiver.PART_SIZE))
          .add(new JsonObject().put("number", 2).put("etag", etag2).put("size", ChunkReceiver.PART_SIZE)).encode());
      ps.setBytes(2, state.getEncodedState());
      ps.setString(3, id2);
      ps.executeUpdate();
    }
    assertThat(uploads.head(env, token, l1).headers().firstValue("Upload-Offset"))
        .hasValue(Integer.toString(whole.length));

    update(env, java.nio.file.Files.readString(java.nio.file.Path.of(
        "src/main/resources/db/migration/V97__tus_last_byte_held_back.sql")));

    assertThat(uploads.head(env, token, l1).headers().firstValue("Upload-Offset"))
        .hasValue(Integer.toString(whole.length - 1));
    assertThat(uploads.head(env, token, l2).headers().firstValue("Upload-Offset")).hasValue("0");
    HttpResponse<String> r1 = uploads.patch(env, token, l1, whole.length - 1, new byte[] {whole[whole.length - 1]},
        null);
    assertThat(r1.statusCode()).as(r1.body()).isEqualTo(204);
    storedIntact(env, a1, whole);
    HttpResponse<String> r2 = uploads.patch(env, token, l2, 0, parted, null);
    assertThat(r2.statusCode()).as(r2.body()).isEqualTo(204);
    storedIntact(env, a2, parted);
    assertThat(query(env, "SELECT status FROM report WHERE id = '" + report + "'")).isEqualTo("COMPLETE");
  }

  // ---- two instances completing one upload ----

  /**
   * A phone's PATCH times out and its retry reaches another instance while the first still receives (the
   * in-process writer guard spans one instance): both complete the same upload, whose object key is the same. The
   * first stores the attachment; the second, with the same bytes or with bytes that do not match, answers 409 and
   * must leave the stored object alone (it used to delete it: STORED, with no object).
   */
  @Test
  void aSecondInstanceCompletingAnUploadAlreadyStoredLeavesItsObject(TestEnvironment env) throws Exception {
    String token = token(env, "officer.xu");
    Frontline other = startInstance(env);
    try {
      for (boolean sameBytes : new boolean[] {true, false}) {
        byte[] data = photo(3 * MIB + (sameBytes ? 5 : 7));
        UUID report = UUID.randomUUID();
        UUID a = UUID.randomUUID();
        insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
        String location = uploads.create(env, token, report, a, data.length);
        String uploadId = location.substring(location.lastIndexOf('/') + 1);
        byte[] retried = data.clone();
        if (!sameBytes) {
          retried[retried.length - 1] ^= 1;
        }
        String framing = "Content-Length: " + data.length + "\r\n";
        int last = 1000;
        PartBudget here = env.app().uploads().partBudget();
        PartBudget there = other.uploads().partBudget();
        try (java.net.Socket first = openPatch(env.app().config().http().port(), token, location, 0, framing);
             java.net.Socket retry = openPatch(other.config().http().port(), token, location, 0, framing)) {
          first.getOutputStream().write(data, 0, data.length - last);
          retry.getOutputStream().write(retried, 0, data.length - last);
          // Both are receiving the upload (each read it ACTIVE at offset 0).
          org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).untilAsserted(() -> {
            assertThat(here.available()).isLessThan(here.permits());
            assertThat(there.available()).isLessThan(there.permits());
          });
          first.getOutputStream().write(data, data.length - last, last);
          assertThat(statusLine(first)).as("the first completion").contains(" 204 ");
          assertThat(query(env, "SELECT status FROM attachment WHERE id = '" + a + "'")).isEqualTo("STORED");

          retry.getOutputStream().write(retried, data.length - last, last);
          assertThat(statusLine(retry)).as("the retry, same bytes: %s", sameBytes).contains(" 409 ");
        }

        String key = storedIntact(env, a, data);
        assertThat(key).endsWith("/" + uploadId);
        assertThat(query(env, "SELECT status FROM upload WHERE id = '" + uploadId + "'")).isEqualTo("COMPLETED");
        assertThat(query(env, "SELECT status FROM report WHERE id = '" + report + "'")).isEqualTo("COMPLETE");
        assertThat(query(env, "SELECT coalesce(last_rejection, 'none') FROM attachment WHERE id = '" + a + "'"))
            .isEqualTo("none");
        assertThat(query(env, "SELECT string_agg(action, ',') FROM audit_log WHERE object_id = '" + a + "'"))
            .isEqualTo("attachment.stored");
      }
    } finally {
      other.stop().get(30, TimeUnit.SECONDS);
    }
  }

  /**
   * Two instances completing one upload at the same moment: whichever wins, the outcome is whole. Either the
   * attachment is STORED once with its object intact, or (the one whose bytes do not match ended it first) it is
   * still PENDING, the upload FAILED and nothing is left at its key.
   */
  @Test
  void twoInstancesCompletingOneUploadAtOnceStoreItOnceOrNotAtAll(TestEnvironment env) throws Exception {
    String token = token(env, "officer.xu");
    Frontline other = startInstance(env);
    try {
      for (int round = 0; round < 4; round++) {
        boolean sameBytes = round % 2 == 0;
        byte[] data = photo(3 * MIB + 11 + round);
        UUID report = UUID.randomUUID();
        UUID a = UUID.randomUUID();
        insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
        String location = uploads.create(env, token, report, a, data.length);
        String uploadId = location.substring(location.lastIndexOf('/') + 1);
        String key = query(env, "SELECT object_key FROM upload WHERE id = '" + uploadId + "'");
        byte[] retried = data.clone();
        if (!sameBytes) {
          retried[retried.length - 1] ^= 1;
        }
        var one = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
          try {
            return uploads.patch(env, token, location, 0, data, null).statusCode();
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        });
        var two = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
          try {
            return uploads.patch(other.config().http().port(), token, location, 0, retried, null).statusCode();
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        });
        java.util.List<Integer> statuses = java.util.List.of(one.get(60, TimeUnit.SECONDS),
            two.get(60, TimeUnit.SECONDS));

        String attachment = query(env, "SELECT status FROM attachment WHERE id = '" + a + "'");
        if (attachment.equals("STORED")) {
          storedIntact(env, a, data);
          assertThat(statuses).as("round %d", round).contains(204);
          assertThat(query(env, "SELECT status FROM upload WHERE id = '" + uploadId + "'")).isEqualTo("COMPLETED");
          assertThat(query(env, "SELECT count(*) FROM audit_log WHERE action = 'attachment.stored' AND object_id = '"
              + a + "'")).isEqualTo("1");
        } else {
          assertThat(sameBytes).as("round %d: the same bytes are stored", round).isFalse();
          assertThat(attachment).isEqualTo("PENDING");
          assertThat(statuses).as("round %d", round).doesNotContain(204);
          assertThat(query(env, "SELECT status FROM upload WHERE id = '" + uploadId + "'")).isEqualTo("FAILED");
          assertThat(await(env.app().objectStore().stat(key))).as("round %d: the object", round).isEmpty();
        }
      }
    } finally {
      other.stop().get(30, TimeUnit.SECONDS);
    }
  }

  /** The status line of the answer on a raw socket. */
  private static String statusLine(java.net.Socket socket) throws Exception {
    socket.setSoTimeout(30_000);
    java.io.InputStream in = socket.getInputStream();
    StringBuilder line = new StringBuilder();
    for (int c = in.read(); c != -1 && c != '\n'; c = in.read()) {
      line.append((char) c);
    }
    return line.toString().trim() + " ";
  }

  // ---- helpers ----

  private Frontline startInstance(TestEnvironment env) throws Exception {
    return startInstance(env, Map.of());
  }

  /** Another instance of the whole service (API and workers) on the same database and store. */
  private Frontline startInstance(TestEnvironment env, Map<String, String> overrides) throws Exception {
    Map<String, String> settings = new HashMap<>(env.settings());
    settings.putAll(overrides);
    settings.put("FRONTLINE_HTTP_PORT", Integer.toString(TestEnvironment.freePort()));
    settings.put("FRONTLINE_MANAGEMENT_PORT", Integer.toString(TestEnvironment.freePort()));
    FrontlineConfig config = ConfigLoader.load(FrontlineConfig.Mode.PRODUCTION, settings, Map.of());
    return Frontline.start(config).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  static UUID account(String username) {
    return UUID.nameUUIDFromBytes(("frontline-demo:account:" + username).getBytes(StandardCharsets.UTF_8));
  }

  private String token(TestEnvironment env, String username) throws Exception {
    return token(http, env, username);
  }

  static String token(HttpClient http, TestEnvironment env, String username) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
            + env.app().config().http().port() + "/v1/auth/login"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(new JsonObject().put("username", username)
            .put("password", DemoOrganisation.PASSWORD).encode())).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return new JsonObject(r.body()).getString("access_token");
  }

  /** A JPEG head (SOI, comment, a 1600x1200 frame header) then random bytes: passes the content rules. */
  static byte[] photo(int size) {
    byte[] b = new byte[size];
    new Random(size).nextBytes(b);
    byte[] head = org.frontline.media.TestImages.jpegHeader(1600, 1200, 0xC0);
    System.arraycopy(head, 0, b, 0, head.length - 2); // without its EOI
    return b;
  }

  static void insertReport(TestEnvironment env, UUID report, UUID author, UUID[] attachments,
                                   byte[][] contents) throws Exception {
    String[] types = new String[attachments.length];
    Arrays.fill(types, "image/jpeg");
    insertReport(env, report, author, attachments, contents, types);
  }

  static void insertReport(TestEnvironment env, UUID report, UUID author, UUID[] attachments,
                           byte[][] contents, String[] contentTypes) throws Exception {
    try (Connection c = env.jdbc()) {
      try (PreparedStatement s = c.prepareStatement("""
          INSERT INTO report (id, author_id, unit_id, type, status, title, captured_at, lat, lon, body, request,
                              request_sha256, response)
          VALUES (?, ?, ?, 'SITE', 'AWAITING_MEDIA', 'Site visit', now(), 33.5, 118.9, '{}'::jsonb, '{}'::jsonb,
                  ?, '{}'::jsonb)""")) {
        s.setObject(1, report);
        s.setObject(2, author);
        s.setObject(3, DemoOrganisation.HUAISI);
        s.setBytes(4, new byte[32]);
        s.executeUpdate();
      }
      for (int i = 0; i < attachments.length; i++) {
        try (PreparedStatement s = c.prepareStatement("""
            INSERT INTO attachment (id, report_id, ordinal, declared_sha256, declared_size, declared_content_type,
                                    filename)
            VALUES (?, ?, ?, ?, ?, ?, ?)""")) {
          s.setObject(1, attachments[i]);
          s.setObject(2, report);
          s.setInt(3, i);
          s.setBytes(4, MessageDigest.getInstance("SHA-256").digest(contents[i]));
          s.setLong(5, contents[i].length);
          s.setString(6, contentTypes[i]);
          s.setString(7, "photo" + i + ".jpg");
          s.executeUpdate();
        }
      }
    }
  }

  /**
   * The attachment's newest {@code attachment.rejected} entry names its author, its report's unit and
   * {@code reason}, and was written by the transaction that last wrote the attachment's row (its last_rejection),
   * and the upload's row when the rejection ended one: they committed together.
   */
  static void assertRejectionAudited(TestEnvironment env, String label, UUID report, UUID a, String reason)
      throws Exception {
    assertThat(query(env, "SELECT l.actor_id || ' ' || l.unit_id || ' ' || l.outcome || ' ' || (l.details->>'reportId')"
        + " || ' ' || (l.details->>'reason') FROM audit_log l WHERE l.action = 'attachment.rejected'"
        + " AND l.object_id = '" + a + "' ORDER BY l.seq DESC LIMIT 1")).as(label)
        .isEqualTo(XU + " " + DemoOrganisation.HUAISI + " FAILURE " + report + " " + reason);
    assertThat(query(env, "SELECT bool_and(l.xmin = a.xmin AND (u.id IS NULL OR u.xmin = l.xmin))::text"
        + " FROM (SELECT xmin FROM audit_log WHERE action = 'attachment.rejected' AND object_id = '" + a + "'"
        + " ORDER BY seq DESC LIMIT 1) l CROSS JOIN attachment a"
        + " LEFT JOIN upload u ON u.attachment_id = a.id AND u.status = 'FAILED' AND u.failure = '"
        + reason.replace("'", "''") + "' WHERE a.id = '" + a + "'")).as(label + ": one transaction").isEqualTo("true");
  }

  static String query(TestEnvironment env, String sql) throws Exception {
    try (Connection c = env.jdbc(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      return rs.next() ? rs.getString(1) : null;
    }
  }

  static void update(TestEnvironment env, String sql) throws Exception {
    try (Connection c = env.jdbc(); Statement s = c.createStatement()) {
      s.executeUpdate(sql);
    }
  }

  /** Asserts the attachment is STORED and its object in the store has the bytes' SHA-256; its object key. */
  static String storedIntact(TestEnvironment env, UUID attachment, byte[] data) throws Exception {
    assertThat(query(env, "SELECT status FROM attachment WHERE id = '" + attachment + "'")).isEqualTo("STORED");
    String key = query(env, "SELECT object_key FROM attachment WHERE id = '" + attachment + "'");
    assertThat(storedSha256(env, key)).as("the stored object's SHA-256").isEqualTo(sha256Hex(data));
    // Stored once, audited once, the entry naming the bytes' SHA-256 (the photo as the chain vouches for it).
    assertThat(query(env, "SELECT string_agg(details->>'sha256', ',') FROM audit_log WHERE action = 'attachment.stored'"
        + " AND object_id = '" + attachment + "'")).as("the attachment.stored entries").isEqualTo(sha256Hex(data));
    return key;
  }

  static String storedSha256(TestEnvironment env, String key) throws Exception {
    ObjectStore store = env.app().objectStore();
    ReadStream<Buffer> stream = await(store.get(key, 0, -1));
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    io.vertx.core.Promise<Void> done = io.vertx.core.Promise.promise();
    // End and failure handlers first: setting the data handler starts the flow (see EvidenceWorkerTest.stored).
    stream.exceptionHandler(done::tryFail).endHandler(done::tryComplete).handler(b -> sha.update(b.getBytes()));
    await(done.future());
    return HexFormat.of().formatHex(sha.digest());
  }

  static String sha256Hex(byte[] data) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
  }

  private static String problemType(HttpResponse<String> r) {
    assertThat(r.headers().firstValue("Content-Type")).hasValue("application/problem+json");
    return new JsonObject(r.body()).getString("type");
  }
}
