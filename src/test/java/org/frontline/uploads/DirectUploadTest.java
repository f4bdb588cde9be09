package org.frontline.uploads;

import io.minio.ListObjectsArgs;
import io.minio.MinioClient;
import io.minio.Result;
import io.minio.messages.Item;
import io.vertx.core.json.JsonObject;
import org.frontline.identity.Caller;
import org.frontline.platform.objectstore.ObjectStore;
import org.frontline.reports.AttachmentLedger;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.StoreHttp;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.testing.TestEnvironment.await;

/** Direct upload: presigned PUT to the store, then a completion that verifies size and SHA-256. */
@FrontlineTest
class DirectUploadTest {
  private final HttpClient http = TestEnvironment.checkedHttp();
  private final UploadRequests uploads = new UploadRequests(http);

  @Test
  void aPresignedPutThenCompleteStoresTheAttachmentAndCompletesTheReport(TestEnvironment env) throws Exception {
    String token = TusUploadTest.token(http, env, "officer.xu");
    byte[] data = TusUploadTest.photo(300_000);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    TusUploadTest.insertReport(env, report, TusUploadTest.XU, new UUID[] {a}, new byte[][] {data});

    HttpResponse<String> url = uploads.post(env, token, "/v1/attachments/" + a + "/upload-url");
    assertThat(url.statusCode()).as(url.body()).isEqualTo(200);
    JsonObject body = new JsonObject(url.body());
    assertThat(body.getString("method")).isEqualTo("PUT");
    assertThat(body.getJsonObject("headers").getMap()).isEqualTo(java.util.Map.of("Content-Length", "300000"));
    String presigned = body.getString("url");
    assertThat(presigned).contains("X-Amz-Expires=900").contains(a.toString());
    // That key only: the same signature on another key is refused by the store (and so is this small body's length;
    // MinioObjectStoreTest checks the key alone).
    assertThat(put(presigned.replace(a.toString(), UUID.randomUUID().toString()), new byte[] {1}).statusCode())
        .isEqualTo(403);
    assertThat(put(presigned, data).statusCode()).isEqualTo(200);

    HttpResponse<String> done = uploads.post(env, token, "/v1/attachments/" + a + "/complete");

    assertThat(done.statusCode()).as(done.body()).isEqualTo(200);
    JsonObject state = new JsonObject(done.body());
    assertThat(state.getString("status")).isEqualTo("STORED");
    assertThat(state.getString("contentType")).isEqualTo("image/jpeg");
    assertThat(state.getBoolean("reportCompleted")).isTrue();
    assertThat(TusUploadTest.query(env, "SELECT status FROM report WHERE id = '" + report + "'"))
        .isEqualTo("COMPLETE");
    assertThat(TusUploadTest.query(env, "SELECT count(*) FROM outbox WHERE aggregate_id = '" + report
        + "' AND event_type = 'report.completed'")).isEqualTo("1");
    String key = TusUploadTest.query(env, "SELECT object_key FROM attachment WHERE id = '" + a + "'");
    assertThat(TusUploadTest.storedSha256(env, key)).isEqualTo(TusUploadTest.sha256Hex(data));
    // The staging object the URL could still overwrite is gone; the stored one is out of its reach.
    assertThat(await(env.app().objectStore().stat("uploads/direct/" + report + "/" + a))).isEmpty();
    byte[] other = data.clone();
    other[1000] ^= 1;
    assertThat(put(presigned, other).statusCode()).isEqualTo(200);
    assertThat(TusUploadTest.storedSha256(env, key)).isEqualTo(TusUploadTest.sha256Hex(data));
    // Completing again answers the state, as the first completion did.
    assertThat(new JsonObject(uploads.post(env, token, "/v1/attachments/" + a + "/complete").body())).isEqualTo(state);
  }

  /**
   * A phone whose completion answer was lost completes again: the repeat answers what the first completion did
   * (the sniffed type; reportCompleted for the completion that completed the report, not for an earlier
   * attachment's), and stores, audits and announces nothing again.
   */
  @Test
  void aRepeatedCompletionAnswersAsTheFirstAndStoresNothingAgain(TestEnvironment env) throws Exception {
    String token = TusUploadTest.token(http, env, "officer.xu");
    byte[] first = TusUploadTest.photo(30_000);
    byte[] last = TusUploadTest.photo(30_001);
    UUID report = UUID.randomUUID();
    UUID a1 = UUID.randomUUID();
    UUID a2 = UUID.randomUUID();
    TusUploadTest.insertReport(env, report, TusUploadTest.XU, new UUID[] {a1, a2}, new byte[][] {first, last});
    for (UUID a : new UUID[] {a1, a2}) {
      String url = uploads.uploadUrl(env, token, a);
      assertThat(put(url, a == a1 ? first : last).statusCode()).isEqualTo(200);
    }

    JsonObject firstOfA1 = completed(env, token, a1);
    JsonObject firstOfA2 = completed(env, token, a2);
    String keys = TusUploadTest.query(env, "SELECT string_agg(id || ' ' || object_key || ' ' || stored_at, ',' "
        + "ORDER BY ordinal) FROM attachment WHERE report_id = '" + report + "'");

    assertThat(firstOfA1.getMap()).containsEntry("status", "STORED").containsEntry("contentType", "image/jpeg")
        .containsEntry("reportCompleted", false);
    assertThat(firstOfA2.getMap()).containsEntry("status", "STORED").containsEntry("contentType", "image/jpeg")
        .containsEntry("reportCompleted", true);
    assertThat(completed(env, token, a2)).isEqualTo(firstOfA2);
    assertThat(completed(env, token, a1)).isEqualTo(firstOfA1);
    assertThat(completed(env, token, a2)).isEqualTo(firstOfA2);

    // Nothing again: the rows as the first completions left them, one audit entry each, one event, two objects.
    assertThat(TusUploadTest.query(env, "SELECT string_agg(id || ' ' || object_key || ' ' || stored_at, ',' "
        + "ORDER BY ordinal) FROM attachment WHERE report_id = '" + report + "'")).isEqualTo(keys);
    assertThat(TusUploadTest.query(env, "SELECT status FROM report WHERE id = '" + report + "'"))
        .isEqualTo("COMPLETE");
    for (UUID a : new UUID[] {a1, a2}) {
      assertThat(TusUploadTest.query(env, "SELECT count(*) FROM audit_log WHERE action = 'attachment.stored' "
          + "AND object_id = '" + a + "'")).isEqualTo("1");
      assertThat(TusUploadTest.query(env, "SELECT count(*) FROM unowned_object WHERE attachment_id = '" + a + "'"))
          .isEqualTo("0");
    }
    // (The media worker's own events may follow; the completion writes only this one.)
    assertThat(TusUploadTest.query(env, "SELECT count(*) FROM outbox WHERE aggregate_id = '" + report
        + "' AND event_type = 'report.completed'")).isEqualTo("1");
    assertThat(objectKeys(env, "reports/" + report + "/")).containsExactlyInAnyOrder(
        TusUploadTest.storedIntact(env, a1, first), TusUploadTest.storedIntact(env, a2, last));
    assertThat(objectKeys(env, "uploads/direct/" + report + "/")).isEmpty();
  }

  /** The 200 answer of a completion. */
  private JsonObject completed(TestEnvironment env, String token, UUID a) throws Exception {
    HttpResponse<String> done = uploads.post(env, token, "/v1/attachments/" + a + "/complete");
    assertThat(done.statusCode()).as(done.body()).isEqualTo(200);
    return new JsonObject(done.body());
  }

  @Test
  void bytesThatDoNotMatchTheDeclarationAreRejectedAndRemoved(TestEnvironment env) throws Exception {
    String token = TusUploadTest.token(http, env, "officer.xu");
    byte[] data = TusUploadTest.photo(50_000);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    TusUploadTest.insertReport(env, report, TusUploadTest.XU, new UUID[] {a}, new byte[][] {data});
    String staging = "uploads/direct/" + report + "/" + a;

    assertThat(uploads.post(env, token, "/v1/attachments/" + a + "/complete").statusCode()).isEqualTo(422);

    String url = uploads.uploadUrl(env, token, a);
    byte[] other = data.clone();
    other[100] ^= 1;
    assertThat(put(url, other).statusCode()).isEqualTo(200);
    HttpResponse<String> sha = uploads.post(env, token, "/v1/attachments/" + a + "/complete");
    assertThat(sha.statusCode()).isEqualTo(422);
    assertThat(new JsonObject(sha.body()).getString("type")).isEqualTo("urn:frontline:problem:unprocessable");
    assertThat(new JsonObject(sha.body()).getJsonArray("errors").getJsonObject(0).getString("field"))
        .isEqualTo("sha256");
    assertThat(await(env.app().objectStore().stat(staging))).isEmpty();
    assertThat(TusUploadTest.query(env, "SELECT status || ' ' || last_rejection FROM attachment WHERE id = '" + a
        + "'")).startsWith("PENDING sha256 mismatch");
    TusUploadTest.assertRejectionAudited(env, "sha256", report, a, TusUploadTest.query(env,
        "SELECT last_rejection FROM attachment WHERE id = '" + a + "'"));

    // Another length through the URL is refused by the store (aPutOfAnotherLengthIsRefusedByTheStore); the
    // completion still checks the size of what it finds (put here behind the URL's back).
    assertThat(put(url, new byte[] {1, 2, 3}).statusCode()).isEqualTo(403);
    await(env.app().objectStore().putBytes(staging, io.vertx.core.buffer.Buffer.buffer(new byte[] {1, 2, 3}),
        "image/jpeg"));
    HttpResponse<String> size = uploads.post(env, token, "/v1/attachments/" + a + "/complete");
    assertThat(size.statusCode()).isEqualTo(422);
    assertThat(new JsonObject(size.body()).getJsonArray("errors").getJsonObject(0).getString("field"))
        .isEqualTo("size");
    assertThat(await(env.app().objectStore().stat(staging))).isEmpty();
    assertThat(TusUploadTest.query(env, "SELECT count(*) FROM audit_log WHERE action = 'attachment.rejected' "
        + "AND object_id = '" + a + "'")).isEqualTo("2");
    // Nothing of either rejection is left: not the copies the completions verified, nor their unowned entries.
    assertThat(objectKeys(env, "reports/" + report + "/")).isEmpty();
    assertThat(TusUploadTest.query(env, "SELECT count(*) FROM unowned_object WHERE attachment_id = '" + a + "'"))
        .isEqualTo("0");
  }

  /**
   * The URL takes the declared size only (a signed Content-Length): a longer or shorter body is refused by the store
   * itself and leaves no object, so the staging key never holds more than the declaration (up to 5 GB before, kept
   * until swept); the attachment stays PENDING and the right bytes through the same URL are then stored.
   */
  @Test
  void aPutOfAnotherLengthIsRefusedByTheStore(TestEnvironment env) throws Exception {
    String token = TusUploadTest.token(http, env, "officer.xu");
    // Small: the store answers a refused PUT at once and closes; a large body may be cut by a reset before the
    // client reads the answer (NOTES, s3proxy).
    byte[] data = TusUploadTest.photo(2_000);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    TusUploadTest.insertReport(env, report, TusUploadTest.XU, new UUID[] {a}, new byte[][] {data});
    String staging = "uploads/direct/" + report + "/" + a;
    JsonObject answer = new JsonObject(uploads.post(env, token, "/v1/attachments/" + a + "/upload-url").body());
    assertThat(answer.getJsonObject("headers").getString("Content-Length")).isEqualTo("2000");
    String url = answer.getString("url");

    byte[] longer = java.util.Arrays.copyOf(data, data.length + 1);
    byte[] shorter = java.util.Arrays.copyOf(data, data.length - 1);
    for (byte[] body : new byte[][] {longer, shorter}) {
      HttpResponse<byte[]> refused = put(url, body);
      assertThat(refused.statusCode()).as(body.length + " bytes").isEqualTo(403);
      assertThat(new String(refused.body(), java.nio.charset.StandardCharsets.UTF_8))
          .contains("SignatureDoesNotMatch");
      assertThat(await(env.app().objectStore().stat(staging))).as(body.length + " bytes").isEmpty();
    }
    HttpResponse<String> nothing = uploads.post(env, token, "/v1/attachments/" + a + "/complete");
    assertThat(nothing.statusCode()).as(nothing.body()).isEqualTo(422);
    assertThat(nothing.body()).contains("no object was uploaded");
    assertThat(TusUploadTest.query(env, "SELECT status FROM attachment WHERE id = '" + a + "'"))
        .isEqualTo("PENDING");
    assertThat(TusUploadTest.query(env, "SELECT status FROM report WHERE id = '" + report + "'"))
        .isEqualTo("AWAITING_MEDIA");
    assertThat(objectKeys(env, "reports/" + report + "/")).isEmpty();

    assertThat(put(url, data).statusCode()).isEqualTo(200);
    HttpResponse<String> done = uploads.post(env, token, "/v1/attachments/" + a + "/complete");
    assertThat(done.statusCode()).as(done.body()).isEqualTo(200);
    assertThat(new JsonObject(done.body()).getString("status")).isEqualTo("STORED");
    storedOnceNothingStaged(env, report, a, data);
  }

  /** The content link of an original and what the store served through it. */
  private record Served(UUID attachment, HttpResponse<String> link, HttpResponse<byte[]> original) {}

  /**
   * A JPEG the content rules take (markup beyond the 256 KiB judged) PUT with {@code headers}, completed, and its
   * original fetched through its content link.
   */
  private Served originalPutWith(TestEnvironment env, String token, java.util.Map<String, String> headers)
      throws Exception {
    byte[] data = TusUploadTest.photo(400_000);
    byte[] script = "<html><script>alert(document.domain)</script>".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    System.arraycopy(script, 0, data, 300_000, script.length);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    TusUploadTest.insertReport(env, report, TusUploadTest.XU, new UUID[] {a}, new byte[][] {data});
    String url = uploads.uploadUrl(env, token, a);
    assertThat(StoreHttp.put(url, data, headers).statusCode()).isEqualTo(200);
    assertThat(uploads.post(env, token, "/v1/attachments/" + a + "/complete").statusCode()).isEqualTo(200);

    HttpResponse<String> link = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
            + env.app().config().http().port() + "/v1/attachments/" + a + "/content?variant=original"))
        .header("Authorization", "Bearer " + token).GET().build(), HttpResponse.BodyHandlers.ofString());
    assertThat(link.statusCode()).as(link.body()).isEqualTo(303);
    HttpResponse<byte[]> original = StoreHttp.get(link.headers().firstValue("Location").orElseThrow());
    assertThat(original.statusCode()).isEqualTo(200);
    assertThat(original.body()).isEqualTo(data);
    return new Served(a, link, original);
  }

  @Test
  void theOriginalIsServedAsItsSniffedTypeWhateverTypeThePutDeclared(TestEnvironment env) throws Exception {
    String token = TusUploadTest.token(http, env, "officer.xu");
    // PUT as text/html: served with the Content-Type the PUT declared, the store's origin would run its script.
    Served served = originalPutWith(env, token, java.util.Map.of("Content-Type", "text/html"));

    assertThat(served.original().headers().firstValue("Content-Type")).hasValue("image/jpeg");
  }

  @Test
  void theOriginalIsServedWithTheServersDispositionAndCachingNotThoseThePutDeclared(TestEnvironment env)
      throws Exception {
    String token = TusUploadTest.token(http, env, "officer.xu");
    // PUT declaring a download named .html and a year in shared caches: the store keeps both as the object's
    // metadata and served them with the original (its EXIF and GPS with it).
    Served served = originalPutWith(env, token, java.util.Map.of("Content-Type", "text/html",
        "Content-Disposition", "attachment; filename=\"report.html\"",
        "Cache-Control", "public, max-age=31536000"));

    // Inline, under a name the server made, in no shared cache: not what the PUT declared.
    HttpResponse<byte[]> original = served.original();
    assertThat(original.headers().firstValue("Content-Type")).hasValue("image/jpeg");
    assertThat(original.headers().firstValue("Content-Disposition"))
        .hasValue("inline; filename=\"" + served.attachment() + "-original.jpg\"");
    assertThat(original.headers().firstValue("Cache-Control")).hasValue("private, no-store");
    assertThat(served.link().headers().firstValue("Cache-Control")).hasValue("no-store");
  }

  @Test
  void bytesSwappedThroughTheStillValidUrlDuringTheCompletionAreNotStored(TestEnvironment env) throws Exception {
    byte[] declared = TusUploadTest.photo(40_000);
    // The same size, a ZIP end record over its tail: refused by the content rules, another SHA-256.
    byte[] swapped = declared.clone();
    System.arraycopy(new byte[] {'P', 'K', 5, 6}, 0, swapped, swapped.length - 22, 4);
    java.util.Arrays.fill(swapped, swapped.length - 18, swapped.length, (byte) 0);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    TusUploadTest.insertReport(env, report, TusUploadTest.XU, new UUID[] {a}, new byte[][] {declared});
    String staging = "uploads/direct/" + report + "/" + a;
    ObjectStore real = env.app().objectStore();
    await(real.putBytes(staging, io.vertx.core.buffer.Buffer.buffer(swapped), "image/jpeg"));
    // The phone's owner PUTs through the URL as the completion runs: the declared bytes once the completion has
    // stat'ed the swapped ones, the swapped ones again (the same ETag) before its copy.
    ObjectStore racing = (ObjectStore) java.lang.reflect.Proxy.newProxyInstance(ObjectStore.class.getClassLoader(),
        new Class<?>[] {ObjectStore.class}, (proxy, method, args) -> {
          io.vertx.core.Future<?> before = io.vertx.core.Future.succeededFuture();
          if (method.getName().equals("copy") && staging.equals(args[0])) {
            before = real.putBytes(staging, io.vertx.core.buffer.Buffer.buffer(swapped), "image/jpeg");
          }
          io.vertx.core.Future<?> answer = before.compose(x -> {
            try {
              return (io.vertx.core.Future<?>) method.invoke(real, args);
            } catch (ReflectiveOperationException e) {
              return io.vertx.core.Future.failedFuture(e.getCause());
            }
          });
          if (method.getName().equals("stat") && staging.equals(args[0])) {
            return answer.compose(info -> real.putBytes(staging, io.vertx.core.buffer.Buffer.buffer(declared),
                "image/jpeg").map(info));
          }
          return answer;
        });
    int port = directServer(env, racing);

    HttpResponse<String> done = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
        + "/v1/attachments/" + a + "/complete")).POST(HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString());

    String key = TusUploadTest.query(env, "SELECT object_key FROM attachment WHERE id = '" + a + "'");
    if (key != null) {
      assertThat(TusUploadTest.storedSha256(env, key)).as("the stored object is the verified one")
          .isEqualTo(TusUploadTest.sha256Hex(declared));
    }
    assertThat(done.statusCode()).as(done.body()).isEqualTo(415);
    assertThat(TusUploadTest.query(env, "SELECT status FROM attachment WHERE id = '" + a + "'"))
        .isEqualTo("PENDING");
    assertThat(objectKeys(env, "reports/" + report + "/")).isEmpty();
  }

  /** The direct upload routes on a store of the test's own (same database and bucket); the caller is Xu. */
  private static int directServer(TestEnvironment env, ObjectStore store) throws Exception {
    var pool = env.app().database().pool();
    DirectUploadApi api = new DirectUploadApi(new UploadRepository(pool), new AttachmentLedger(pool), store,
        env.app().audit(), java.time.Clock.systemUTC(), env.app().blocking());
    io.vertx.ext.web.Router router = io.vertx.ext.web.Router.router(env.app().vertx());
    // As the API's routes do (the contract promises X-Request-Id on every answer, and the client checks it).
    router.route().handler(new org.frontline.platform.http.RequestIds());
    router.route().handler(rc -> {
      rc.put("frontline.caller", new Caller(TusUploadTest.XU, List.of(), List.of()));
      rc.next();
    });
    router.post("/v1/attachments/:id/complete").handler(api.handlers().get("completeAttachmentUpload"))
        .failureHandler(new org.frontline.platform.http.Problems());
    return await(env.app().vertx().createHttpServer().requestHandler(router).listen(0, "127.0.0.1")).actualPort();
  }

  @Test
  void anotherOfficerGets404(TestEnvironment env) throws Exception {
    String zhang = TusUploadTest.token(http, env, "officer.zhang");
    byte[] data = TusUploadTest.photo(1000);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    TusUploadTest.insertReport(env, report, TusUploadTest.XU, new UUID[] {a}, new byte[][] {data});

    HttpResponse<String> url = uploads.post(env, zhang, "/v1/attachments/" + a + "/upload-url");
    assertThat(url.statusCode()).isEqualTo(404);
    assertThat(new JsonObject(url.body()).getString("type")).isEqualTo("urn:frontline:problem:not-found");
    assertThat(uploads.post(env, zhang, "/v1/attachments/" + a + "/complete").statusCode()).isEqualTo(404);
    assertThat(uploads.post(env, zhang, "/v1/attachments/" + UUID.randomUUID() + "/complete").statusCode())
        .isEqualTo(404);
  }

  @Test
  void concurrentCompletionsStoreOnceAndEachAnswersTheState(TestEnvironment env) throws Exception {
    String token = TusUploadTest.token(http, env, "officer.xu");
    byte[] data = TusUploadTest.photo(300_001);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    TusUploadTest.insertReport(env, report, TusUploadTest.XU, new UUID[] {a}, new byte[][] {data});
    String url = uploads.uploadUrl(env, token, a);
    assertThat(put(url, data).statusCode()).isEqualTo(200);

    List<HttpResponse<String>> answers = together(5, i -> uploads.post(env, token,
        "/v1/attachments/" + a + "/complete"));

    // The winner and the losers alike: 200 with the attachment's state, the winner's, as a later repeat gets it.
    for (HttpResponse<String> r : answers) {
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(new JsonObject(r.body()).getMap()).as(r.body()).containsEntry("status", "STORED")
          .containsEntry("contentType", "image/jpeg").containsEntry("reportCompleted", true);
    }
    assertThat(completed(env, token, a).getMap()).containsEntry("reportCompleted", true);
    storedOnceNothingStaged(env, report, a, data);
    assertThat(TusUploadTest.query(env, "SELECT count(*) FROM outbox WHERE aggregate_id = '" + report
        + "' AND event_type = 'report.completed'")).isEqualTo("1");
  }

  @Test
  void aTusPatchAndADirectCompletionFinishingTogetherStoreOnceAndLeaveNothingStaged(TestEnvironment env)
      throws Exception {
    String token = TusUploadTest.token(http, env, "officer.xu");
    int port = env.app().config().http().port();
    for (int round = 0; round < 4; round++) {
      byte[] data = TusUploadTest.photo(200_000 + round);
      UUID report = UUID.randomUUID();
      UUID a = UUID.randomUUID();
      TusUploadTest.insertReport(env, report, TusUploadTest.XU, new UUID[] {a}, new byte[][] {data});
      String url = uploads.uploadUrl(env, token, a);
      assertThat(put(url, data).statusCode()).isEqualTo(200);
      String location = uploads.create(port, token, report, a, data.length);

      List<HttpResponse<String>> answers = together(2, i -> i == 0
          ? uploads.patch(port, token, location, 0, data, null)
          : uploads.post(env, token, "/v1/attachments/" + a + "/complete"));

      HttpResponse<String> patch = answers.get(0);
      HttpResponse<String> complete = answers.get(1);
      // tus answers its own way when the direct path won (409 when its completion found the attachment stored,
      // 410 when the PATCH began after the direct completion had stored it); the direct completion answers the
      // state either way. Never a 500.
      assertThat(patch.statusCode()).as(patch.body()).isIn(204, 409, 410);
      assertThat(complete.statusCode()).as(complete.body()).isEqualTo(200);
      assertThat(new JsonObject(complete.body()).getString("status")).isEqualTo("STORED");
      storedOnceNothingStaged(env, report, a, data);
    }
  }

  /** One STORED row, one audit entry of the store, one object of the attachment, no staging object left. */
  private static void storedOnceNothingStaged(TestEnvironment env, UUID report, UUID a, byte[] data) throws Exception {
    String key = TusUploadTest.storedIntact(env, a, data);
    assertThat(TusUploadTest.query(env, "SELECT count(*) FROM audit_log WHERE action = 'attachment.stored' "
        + "AND object_id = '" + a + "'")).isEqualTo("1");
    assertThat(objectKeys(env, "reports/" + report + "/")).containsExactly(key);
    assertThat(objectKeys(env, "uploads/direct/" + report + "/")).isEmpty();
    assertThat(await(env.app().objectStore().listMultipartUploads("reports/" + report + "/"))).isEmpty();
    // The winner's copy is owned, the loser's deleted: no entry is left for the sweeper.
    assertThat(TusUploadTest.query(env, "SELECT count(*) FROM unowned_object WHERE attachment_id = '" + a + "'"))
        .isEqualTo("0");
  }

  /** The keys of the objects in the service's bucket under {@code prefix}, listed with the S3 API. */
  static List<String> objectKeys(TestEnvironment env, String prefix) throws Exception {
    MinioClient s3 = MinioClient.builder().endpoint(env.s3().endpoint())
        .credentials(TestEnvironment.S3_ACCESS_KEY, TestEnvironment.S3_SECRET_KEY).build();
    List<String> keys = new ArrayList<>();
    for (Result<Item> item : s3.listObjects(ListObjectsArgs.builder()
        .bucket(env.settings().get("FRONTLINE_S3_BUCKET")).prefix(prefix).recursive(true).build())) {
      keys.add(item.get().objectName());
    }
    return keys;
  }

  private interface Call {
    HttpResponse<String> send(int i) throws Exception;
  }

  /** Sends {@code n} requests at once (released together) and returns their answers in order. */
  private static List<HttpResponse<String>> together(int n, Call call) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(n);
    CountDownLatch go = new CountDownLatch(1);
    try {
      List<Future<HttpResponse<String>>> sent = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        int index = i;
        sent.add(pool.submit(() -> {
          go.await();
          return call.send(index);
        }));
      }
      go.countDown();
      List<HttpResponse<String>> answers = new ArrayList<>();
      for (Future<HttpResponse<String>> f : sent) {
        answers.add(f.get(60, TimeUnit.SECONDS));
      }
      return answers;
    } finally {
      pool.shutdownNow();
    }
  }

  private HttpResponse<byte[]> put(String url, byte[] body) throws Exception {
    return StoreHttp.put(url, body);
  }
}
