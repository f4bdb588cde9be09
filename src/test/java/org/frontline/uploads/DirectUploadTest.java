package org.frontline.uploads;

import io.vertx.core.json.JsonObject;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.StoreHttp;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.testing.TestEnvironment.await;

/** Direct upload: presigned PUT to the store, then a completion that verifies size and SHA-256. */
@FrontlineTest
class DirectUploadTest {
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @Test
  void aPresignedPutThenCompleteStoresTheAttachmentAndCompletesTheReport(TestEnvironment env) throws Exception {
    String token = TusUploadTest.token(http, env, "officer.xu");
    byte[] data = TusUploadTest.photo(300_000);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    TusUploadTest.insertReport(env, report, TusUploadTest.XU, new UUID[] {a}, new byte[][] {data});

    HttpResponse<String> url = post(env, token, "/v1/attachments/" + a + "/upload-url");
    assertThat(url.statusCode()).as(url.body()).isEqualTo(200);
    JsonObject body = new JsonObject(url.body());
    assertThat(body.getString("method")).isEqualTo("PUT");
    String presigned = body.getString("url");
    assertThat(presigned).contains("X-Amz-Expires=900").contains(a.toString());
    // That key only: the same signature on another key is refused by the store.
    assertThat(put(presigned.replace(a.toString(), UUID.randomUUID().toString()), new byte[] {1}).statusCode())
        .isEqualTo(403);
    assertThat(put(presigned, data).statusCode()).isEqualTo(200);

    HttpResponse<String> done = post(env, token, "/v1/attachments/" + a + "/complete");

    assertThat(done.statusCode()).as(done.body()).isEqualTo(200);
    JsonObject state = new JsonObject(done.body());
    assertThat(state.getString("status")).isEqualTo("STORED");
    assertThat(state.getString("contentType")).isEqualTo("image/jpeg");
    assertThat(state.getBoolean("reportCompleted")).isTrue();
    assertThat(TusUploadTest.query(env, "SELECT status FROM report WHERE id = '" + report + "'"))
        .isEqualTo("COMPLETE");
    assertThat(TusUploadTest.query(env, "SELECT count(*) FROM outbox WHERE aggregate_id = '" + report + "'"))
        .isEqualTo("1");
    String key = TusUploadTest.query(env, "SELECT object_key FROM attachment WHERE id = '" + a + "'");
    assertThat(TusUploadTest.storedSha256(env, key)).isEqualTo(TusUploadTest.sha256Hex(data));
    // The staging object the URL could still overwrite is gone; the stored one is out of its reach.
    assertThat(await(env.app().objectStore().stat("uploads/direct/" + report + "/" + a))).isEmpty();
    assertThat(put(presigned, new byte[] {9}).statusCode()).isEqualTo(200);
    assertThat(TusUploadTest.storedSha256(env, key)).isEqualTo(TusUploadTest.sha256Hex(data));
    // Completing again answers the state.
    assertThat(new JsonObject(post(env, token, "/v1/attachments/" + a + "/complete").body()).getString("status"))
        .isEqualTo("STORED");
  }

  @Test
  void bytesThatDoNotMatchTheDeclarationAreRejectedAndRemoved(TestEnvironment env) throws Exception {
    String token = TusUploadTest.token(http, env, "officer.xu");
    byte[] data = TusUploadTest.photo(50_000);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    TusUploadTest.insertReport(env, report, TusUploadTest.XU, new UUID[] {a}, new byte[][] {data});
    String staging = "uploads/direct/" + report + "/" + a;

    assertThat(post(env, token, "/v1/attachments/" + a + "/complete").statusCode()).isEqualTo(422);

    String url = new JsonObject(post(env, token, "/v1/attachments/" + a + "/upload-url").body()).getString("url");
    byte[] other = data.clone();
    other[100] ^= 1;
    assertThat(put(url, other).statusCode()).isEqualTo(200);
    HttpResponse<String> sha = post(env, token, "/v1/attachments/" + a + "/complete");
    assertThat(sha.statusCode()).isEqualTo(422);
    assertThat(new JsonObject(sha.body()).getString("type")).isEqualTo("urn:frontline:problem:unprocessable");
    assertThat(new JsonObject(sha.body()).getJsonArray("errors").getJsonObject(0).getString("field"))
        .isEqualTo("sha256");
    assertThat(await(env.app().objectStore().stat(staging))).isEmpty();
    assertThat(TusUploadTest.query(env, "SELECT status || ' ' || last_rejection FROM attachment WHERE id = '" + a
        + "'")).startsWith("PENDING sha256 mismatch");

    assertThat(put(url, new byte[] {1, 2, 3}).statusCode()).isEqualTo(200);
    HttpResponse<String> size = post(env, token, "/v1/attachments/" + a + "/complete");
    assertThat(size.statusCode()).isEqualTo(422);
    assertThat(new JsonObject(size.body()).getJsonArray("errors").getJsonObject(0).getString("field"))
        .isEqualTo("size");
    assertThat(await(env.app().objectStore().stat(staging))).isEmpty();
    assertThat(TusUploadTest.query(env, "SELECT count(*) FROM audit_log WHERE action = 'attachment.rejected' "
        + "AND object_id = '" + a + "'")).isEqualTo("2");
  }

  @Test
  void anotherOfficerGets404(TestEnvironment env) throws Exception {
    String zhang = TusUploadTest.token(http, env, "officer.zhang");
    byte[] data = TusUploadTest.photo(1000);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    TusUploadTest.insertReport(env, report, TusUploadTest.XU, new UUID[] {a}, new byte[][] {data});

    HttpResponse<String> url = post(env, zhang, "/v1/attachments/" + a + "/upload-url");
    assertThat(url.statusCode()).isEqualTo(404);
    assertThat(new JsonObject(url.body()).getString("type")).isEqualTo("urn:frontline:problem:not-found");
    assertThat(post(env, zhang, "/v1/attachments/" + a + "/complete").statusCode()).isEqualTo(404);
    assertThat(post(env, zhang, "/v1/attachments/" + UUID.randomUUID() + "/complete").statusCode()).isEqualTo(404);
  }

  private HttpResponse<String> post(TestEnvironment env, String token, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + env.app().config().http().port() + path))
        .header("Authorization", "Bearer " + token)
        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<byte[]> put(String url, byte[] body) throws Exception {
    return StoreHttp.put(url, body);
  }
}
