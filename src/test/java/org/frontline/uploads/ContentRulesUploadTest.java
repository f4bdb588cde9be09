package org.frontline.uploads;

import io.vertx.core.json.JsonObject;
import org.frontline.media.TestImages;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.StoreHttp;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.testing.TestEnvironment.await;
import static org.frontline.uploads.UploadRequests.checksum;

/**
 * The content rules (sniffed type, declared family, pixel cap) through real HTTP on both upload paths: tus and the
 * presigned PUT with its completion.
 */
@FrontlineTest
class ContentRulesUploadTest {
  static final String T415 = "urn:frontline:problem:unsupported-media-type";
  static final String T422 = "urn:frontline:problem:unprocessable";
  private final HttpClient http = TestEnvironment.checkedHttp();
  private final UploadRequests uploads = new UploadRequests(http);

  /** {@code stored}: the type a stored photo is recorded and answered as (sniffed, whatever was declared). */
  record Case(byte[] bytes, String declared, int status, String type, String stored) {
    Case(byte[] bytes, String declared, int status, String type) {
      this(bytes, declared, status, type, declared);
    }
  }

  static Map<String, Case> cases() {
    Map<String, Case> c = new LinkedHashMap<>();
    byte[] jpegHead = TusUploadTest.photo(20_000);
    c.put("svg", refused(ascii("<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"><script>"
        + "alert(1)</script></svg>")));
    c.put("html", refused(ascii("<!DOCTYPE html><html><body><script>alert(1)</script></body></html>")));
    c.put("pdf", refused(ascii("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n")));
    c.put("zip", refused(zip()));
    c.put("elf", refused(TestImages.concat(new byte[] {0x7F, 'E', 'L', 'F', 2, 1, 1, 0}, new byte[2000])));
    c.put("gif", refused(TestImages.concat(ascii("GIF89a"), new byte[] {1, 0, 1, 0, 0, 0, 0}, new byte[100])));
    byte[] polyglot = jpegHead.clone();
    byte[] html = ascii("<html><script>alert(document.cookie)</script></html>");
    System.arraycopy(html, 0, polyglot, 5_000, html.length);
    c.put("polyglot JPEG+HTML", refused(polyglot));
    // Larger than the head examined while uploading: only the tail, read at completion, shows the archive.
    c.put("JPEG with a ZIP trailer", refused(TestImages.concat(TusUploadTest.photo(400_000), zip())));
    c.put("pixel bomb PNG header", new Case(TestImages.concat(TestImages.pngHeader(100_000, 100_000),
        new byte[4096]), "image/png", 422, T422));
    c.put("good JPEG", new Case(TestImages.jpeg(TestImages.scene(640, 480, 7), 0.9f), "image/jpeg", 0, null));
    c.put("good PNG", new Case(TestImages.png(TestImages.scene(320, 240, 8)), "image/png", 0, null));
    // Another allowed type than declared (a phone converting HEIC to JPEG after writing its manifest, which can never
    // be corrected): stored, recorded and answered as the type sniffed, so the report can complete.
    c.put("PNG declared as image/jpeg", new Case(TestImages.png(TestImages.scene(64, 48, 3)), "image/jpeg", 0, null,
        "image/png"));
    c.put("JPEG declared as image/heic", new Case(TestImages.jpeg(TestImages.scene(64, 48, 4), 0.9f), "image/heic", 0,
        null, "image/jpeg"));
    return c;
  }

  private static Case refused(byte[] bytes) {
    return new Case(bytes, "image/jpeg", 415, T415);
  }

  @Test
  void tusRefusesEachBadFileWithItsStatusAndStoresTheGoodOnes(TestEnvironment env) throws Exception {
    String token = TusUploadTest.token(http, env, "officer.xu");
    for (Map.Entry<String, Case> e : cases().entrySet()) {
      String label = e.getKey();
      Case c = e.getValue();
      UUID report = UUID.randomUUID();
      UUID a = UUID.randomUUID();
      TusUploadTest.insertReport(env, report, TusUploadTest.XU, new UUID[] {a}, new byte[][] {c.bytes()},
          new String[] {c.declared()});
      String location = uploads.create(env, token, report, a, c.bytes().length);

      HttpResponse<String> r = uploads.patch(env, token, location, 0, c.bytes());

      if (c.status() == 0) {
        assertThat(r.statusCode()).as(label + ": " + r.body()).isEqualTo(204);
        assertThat(TusUploadTest.query(env, "SELECT status || ' ' || content_type FROM attachment WHERE id = '"
            + a + "'")).as(label).isEqualTo("STORED " + c.stored());
        assertThat(TusUploadTest.query(env, "SELECT status FROM report WHERE id = '" + report + "'")).as(label)
            .isEqualTo("COMPLETE");
        continue;
      }
      assertThat(r.statusCode()).as(label + ": " + r.body()).isEqualTo(c.status());
      JsonObject problem = new JsonObject(r.body());
      assertThat(problem.getString("type")).as(label).isEqualTo(c.type());
      String reason = problem.getJsonArray("errors").getJsonObject(0).getString("reason");
      assertRefused(env, label, report, a, reason);
      assertThat(TusUploadTest.query(env, "SELECT status || ' ' || failure FROM upload WHERE attachment_id = '"
          + a + "'")).as(label).isEqualTo("FAILED " + reason);
      String key = TusUploadTest.query(env, "SELECT object_key FROM upload WHERE attachment_id = '" + a + "'");
      assertThat(await(env.app().objectStore().stat(key))).as(label).isEmpty();
      assertThat(await(env.app().objectStore().listMultipartUploads("reports/" + report + "/"))).as(label)
          .isEmpty();
      // The upload is over: the client must start a new one with a proper photo.
      assertThat(uploads.head(env, token, location).statusCode()).as(label).isEqualTo(404);
    }
  }

  @Test
  void tusRefusesAsSoonAsTheHeadIsInNotAfterTheWholeFile(TestEnvironment env) throws Exception {
    String token = TusUploadTest.token(http, env, "officer.xu");
    byte[] svg = new byte[8 * 1024 * 1024];
    byte[] markup = ascii("<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script>");
    Arrays.fill(svg, (byte) ' ');
    System.arraycopy(markup, 0, svg, 0, markup.length);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    TusUploadTest.insertReport(env, report, TusUploadTest.XU, new UUID[] {a}, new byte[][] {svg});
    String location = uploads.create(env, token, report, a, svg.length);

    // A first PATCH of 300 KiB of the 8 MiB: enough for the head, and refused there.
    HttpResponse<String> r = uploads.patch(env, token, location, 0, Arrays.copyOf(svg, 300 * 1024));

    assertThat(r.statusCode()).as(r.body()).isEqualTo(415);
    assertThat(new JsonObject(r.body()).getString("type")).isEqualTo(T415);
    assertThat(new JsonObject(r.body()).getString("detail")).contains("markup (SVG, XML or HTML)");
    assertThat(TusUploadTest.query(env, "SELECT status || ' ' || \"offset\" FROM upload WHERE attachment_id = '"
        + a + "'")).isEqualTo("FAILED 0");
    assertRefused(env, "svg", report, a, "markup (SVG, XML or HTML)");
    assertThat(await(env.app().objectStore().listMultipartUploads("reports/" + report + "/"))).isEmpty();
    HttpResponse<String> more = uploads.patch(env, token, location, 0, Arrays.copyOf(svg, 1024));
    assertThat(more.statusCode()).isEqualTo(404);
  }

  @Test
  void directUploadCompletionRefusesEachBadFileAndStoresTheGoodOnes(TestEnvironment env) throws Exception {
    String token = TusUploadTest.token(http, env, "officer.xu");
    for (Map.Entry<String, Case> e : cases().entrySet()) {
      String label = e.getKey();
      Case c = e.getValue();
      UUID report = UUID.randomUUID();
      UUID a = UUID.randomUUID();
      TusUploadTest.insertReport(env, report, TusUploadTest.XU, new UUID[] {a}, new byte[][] {c.bytes()},
          new String[] {c.declared()});
      String url = uploads.uploadUrl(env, token, a);
      assertThat(put(url, c.bytes()).statusCode()).as(label).isEqualTo(200);

      HttpResponse<String> r = uploads.post(env, token, "/v1/attachments/" + a + "/complete");

      if (c.status() == 0) {
        assertThat(r.statusCode()).as(label + ": " + r.body()).isEqualTo(200);
        assertThat(new JsonObject(r.body()).getString("contentType")).as(label).isEqualTo(c.stored());
        assertThat(TusUploadTest.query(env, "SELECT status || ' ' || content_type FROM attachment WHERE id = '" + a
            + "'")).as(label).isEqualTo("STORED " + c.stored());
        assertThat(TusUploadTest.query(env, "SELECT status FROM report WHERE id = '" + report + "'")).as(label)
            .isEqualTo("COMPLETE");
        continue;
      }
      assertThat(r.statusCode()).as(label + ": " + r.body()).isEqualTo(c.status());
      JsonObject problem = new JsonObject(r.body());
      assertThat(problem.getString("type")).as(label).isEqualTo(c.type());
      assertRefused(env, label, report, a, problem.getJsonArray("errors").getJsonObject(0).getString("reason"));
      assertThat(await(env.app().objectStore().stat("uploads/direct/" + report + "/" + a))).as(label).isEmpty();
      // Nor the copy the completion verified at its final key, nor its unowned entry.
      assertThat(DirectUploadTest.objectKeys(env, "reports/" + report + "/")).as(label).isEmpty();
      assertThat(TusUploadTest.query(env, "SELECT count(*) FROM unowned_object WHERE attachment_id = '" + a + "'"))
          .as(label).isEqualTo("0");
    }
  }

  /**
   * A chunk with an Upload-Checksum is judged by its head only once it matches its checksum: bytes that do not are
   * not what the client sent (460, the chunk discarded, the upload unchanged), so they neither end the upload nor
   * become the attachment's rejection. The head of a multipart upload's chunk was judged as it arrived, and a chunk
   * corrupted there ended the upload (415, FAILED, a rejection recorded and audited). A refused head whose chunk
   * matches its checksum is refused as ever.
   */
  @Test
  void aChecksummedChunkIsJudgedOnlyOnceItMatchesItsChecksum(TestEnvironment env) throws Exception {
    String token = TusUploadTest.token(http, env, "officer.xu");
    byte[] photo = TusUploadTest.photo(6 * 1024 * 1024);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    TusUploadTest.insertReport(env, report, TusUploadTest.XU, new UUID[] {a}, new byte[][] {photo});
    String location = uploads.create(env, token, report, a, photo.length);
    byte[] chunk = Arrays.copyOf(photo, 1024 * 1024);
    byte[] corrupted = chunk.clone();
    System.arraycopy(ascii("GIF89a"), 0, corrupted, 0, 6); // the head of a GIF, as far as the sniffer can tell

    HttpResponse<String> r = uploads.patch(env, token, location, 0, corrupted, checksum(chunk));

    assertThat(r.statusCode()).as(r.body()).isEqualTo(460);
    assertThat(new JsonObject(r.body()).getString("type")).isEqualTo("urn:frontline:problem:checksum-mismatch");
    assertThat(TusUploadTest.query(env, "SELECT status || ' ' || \"offset\" FROM upload WHERE attachment_id = '"
        + a + "'")).isEqualTo("ACTIVE 0");
    assertThat(TusUploadTest.query(env, "SELECT status || ' ' || coalesce(last_rejection, 'none') FROM attachment"
        + " WHERE id = '" + a + "'")).isEqualTo("PENDING none");
    assertThat(TusUploadTest.query(env, "SELECT count(*) FROM audit_log WHERE action = 'attachment.rejected'"
        + " AND object_id = '" + a + "'")).isEqualTo("0");
    assertThat(uploads.head(env, token, location).headers().firstValue("Upload-Offset")).hasValue("0");

    // Held until its end, such a chunk is still bounded by Upload-Length (no endless body holds a part permit).
    byte[] tooLong = java.util.Arrays.copyOf(corrupted, photo.length + 1);
    HttpResponse<String> beyond = uploads.patch(env, token, location, 0, tooLong, checksum(tooLong));
    assertThat(beyond.statusCode()).as(beyond.body()).isEqualTo(413);
    assertThat(TusUploadTest.query(env, "SELECT status || ' ' || \"offset\" FROM upload WHERE attachment_id = '"
        + a + "'")).isEqualTo("ACTIVE 0");

    // The chunk sent again, intact: taken.
    HttpResponse<String> resent = uploads.patch(env, token, location, 0, chunk, checksum(chunk));
    assertThat(resent.statusCode()).as(resent.body()).isEqualTo(204);
    assertThat(resent.headers().firstValue("Upload-Offset")).hasValue(Integer.toString(chunk.length));

    // A refused head whose chunk matches its checksum is refused: the upload ends, the reason is recorded.
    UUID report2 = UUID.randomUUID();
    UUID b = UUID.randomUUID();
    TusUploadTest.insertReport(env, report2, TusUploadTest.XU, new UUID[] {b}, new byte[][] {photo});
    String other = uploads.create(env, token, report2, b, photo.length);
    HttpResponse<String> refused = uploads.patch(env, token, other, 0, corrupted, checksum(corrupted));
    assertThat(refused.statusCode()).as(refused.body()).isEqualTo(415);
    assertThat(TusUploadTest.query(env, "SELECT status FROM upload WHERE attachment_id = '" + b + "'"))
        .isEqualTo("FAILED");
    assertRefused(env, "gif head", report2, b, TusUploadTest.query(env, "SELECT last_rejection FROM attachment"
        + " WHERE id = '" + b + "'"));
    assertThat(await(env.app().objectStore().listMultipartUploads("reports/" + report2 + "/"))).isEmpty();
  }

  /**
   * The attachment stays PENDING with the reason recorded, and the refusal is audited once (the author, the report's
   * unit, the reason) in the transaction that recorded it.
   */
  private static void assertRefused(TestEnvironment env, String label, UUID report, UUID a, String reason)
      throws Exception {
    assertThat(reason).as(label).isNotBlank();
    assertThat(TusUploadTest.query(env, "SELECT status || ' ' || last_rejection FROM attachment WHERE id = '" + a
        + "'")).as(label).isEqualTo("PENDING " + reason);
    assertThat(TusUploadTest.query(env, "SELECT count(*) FROM audit_log WHERE action = 'attachment.rejected'"
        + " AND object_id = '" + a + "'")).as(label).isEqualTo("1");
    TusUploadTest.assertRejectionAudited(env, label, report, a, reason);
    assertThat(TusUploadTest.query(env, "SELECT status FROM report WHERE id = '" + report + "'")).as(label)
        .isEqualTo("AWAITING_MEDIA");
  }

  private static byte[] zip() {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      try (ZipOutputStream z = new ZipOutputStream(out)) {
        z.putNextEntry(new ZipEntry("payload.html"));
        z.write(ascii("<p>hello</p>"));
        z.closeEntry();
      }
      return out.toByteArray();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  private HttpResponse<byte[]> put(String url, byte[] body) throws Exception {
    return StoreHttp.put(url, body);
  }
}
