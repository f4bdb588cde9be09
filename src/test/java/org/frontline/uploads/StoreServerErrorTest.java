package org.frontline.uploads;

import com.sun.net.httpserver.HttpServer;
import io.vertx.core.json.JsonObject;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.StoreHttp;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.UUID;
import java.util.concurrent.Callable;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.uploads.TusUploadTest.XU;

/**
 * The object store answering with a server error (MinIO starting: 503 XMinioServerNotInitialized; a proxy's 502 or
 * 504) is the store unavailable, as one that refuses connections: 503 with Retry-After naming it, not a 500 with a
 * stack trace per request; nothing is recorded ahead of the stored bytes, and the upload goes on once the store is
 * back.
 */
@FrontlineTest
class StoreServerErrorTest {
  private static final int MIB = 1024 * 1024;
  private final HttpClient http = HttpClient.newHttpClient();
  private final UploadRequests uploads = new UploadRequests(http);

  @Test
  void aStoreAnsweringServerErrorsIsUnavailableAndNothingRunsAheadOfTheStoredBytes(TestEnvironment env)
      throws Exception {
    String token = TusUploadTest.token(http, env, "officer.xu");
    byte[] data = TusUploadTest.photo(12 * MIB);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    UUID b = UUID.randomUUID();
    UUID c = UUID.randomUUID();
    TusUploadTest.insertReport(env, report, XU, new UUID[] {a, b, c}, new byte[][] {data, data, data});
    String location = uploads.create(env, token, report, a, data.length);
    String id = UploadRequests.uploadId(location);
    HttpResponse<String> url = uploads.post(env, token, "/v1/attachments/" + c + "/upload-url");
    assertThat(StoreHttp.send("PUT", new JsonObject(url.body()).getString("url"), data).statusCode())
        .isEqualTo(200);

    HttpResponse<String> patched = whileTheStoreAnswers503(env,
        () -> uploads.patch(env, token, location, 0, Arrays.copyOf(data, 6 * MIB)));
    assertUnavailable(patched);
    assertThat(TusUploadTest.query(env, "SELECT \"offset\" || ' ' || status FROM upload WHERE id = '" + id + "'"))
        .as("no offset ahead of the stored bytes").isEqualTo("0 ACTIVE");

    HttpResponse<String> created = whileTheStoreAnswers503(env,
        () -> uploads.createRaw(env, token, report, b, data.length));
    assertUnavailable(created);
    assertThat(created.headers().firstValue("Location")).isEmpty();

    HttpResponse<String> completed = whileTheStoreAnswers503(env,
        () -> uploads.post(env, token, "/v1/attachments/" + c + "/complete"));
    assertUnavailable(completed);
    assertThat(TusUploadTest.query(env, "SELECT status FROM attachment WHERE id = '" + c + "'"))
        .isEqualTo("PENDING");

    // The store back: the upload resumes from its offset, and the completion is made.
    assertThat(uploads.patch(env, token, location, 0, data).statusCode()).isEqualTo(204);
    TusUploadTest.storedIntact(env, a, data);
    assertThat(uploads.post(env, token, "/v1/attachments/" + c + "/complete").statusCode()).isEqualTo(200);
    TusUploadTest.storedIntact(env, c, data);
  }

  /** An ACTIVE tus upload at offset 0 of officer.xu's 6 MiB photo, the one attachment of a report of his. */
  private record Started(String token, byte[] data, String location) {}

  private Started started(TestEnvironment env) throws Exception {
    String token = TusUploadTest.token(http, env, "officer.xu");
    byte[] data = TusUploadTest.photo(6 * MIB);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    TusUploadTest.insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    return new Started(token, data, uploads.create(env, token, report, a, data.length));
  }

  private static void assertUnavailable(HttpResponse<String> r) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
    assertThat(r.headers().firstValue("Content-Type")).contains("application/problem+json");
    JsonObject problem = new JsonObject(r.body());
    assertThat(problem.getString("type")).isEqualTo("urn:frontline:problem:dependency-unavailable");
    assertThat(problem.getString("dependency")).isEqualTo("object-store");
    assertThat(r.headers().firstValue("Retry-After")).contains("5");
  }

  /**
   * A store that answers 501 Not Implemented (a gateway without the operation) will never do it: no 503 with
   * Retry-After, which phones retry for ever, but the internal error a misconfiguration is; nothing recorded ahead of
   * the stored bytes. Before: 503 dependency-unavailable, Retry-After 5.
   */
  @Test
  void aStoreAnsweringNotImplementedIsAnInternalErrorNotUnavailable(TestEnvironment env) throws Exception {
    Started upload = started(env);
    String token = upload.token();
    byte[] data = upload.data();
    String location = upload.location();
    String id = UploadRequests.uploadId(location);

    HttpResponse<String> patched = whileTheStoreAnswers(env, 501, "NotImplemented",
        () -> uploads.patch(env, token, location, 0, data));

    assertThat(patched.statusCode()).as(patched.body()).isEqualTo(500);
    assertThat(new JsonObject(patched.body()).getString("type")).isEqualTo("urn:frontline:problem:internal");
    assertThat(patched.headers().firstValue("Retry-After")).isEmpty();
    assertThat(TusUploadTest.query(env, "SELECT \"offset\" || ' ' || status FROM upload WHERE id = '" + id + "'"))
        .isEqualTo("0 ACTIVE");
  }

  /**
   * A store whose connections are reset (its process killed mid-request, a proxy dropping them) is the object store
   * unavailable, named so: a reset with no wrapper of the store's was taken for the database's session ending
   * (Problems counts any SocketException as the database), so the answer named the database and its warning blamed
   * it. Nothing recorded ahead of the stored bytes. Before: the tus creation's 503 named the database.
   */
  @Test
  void aStoreResettingConnectionsIsTheObjectStoreUnavailableNotTheDatabase(TestEnvironment env) throws Exception {
    Started upload = started(env);
    String token = upload.token();
    byte[] data = upload.data();
    String location = upload.location();
    String id = UploadRequests.uploadId(location);

    HttpResponse<String> patched = whileTheStoreResetsConnections(env,
        () -> uploads.patch(env, token, location, 0, data));

    assertUnavailable(patched);
    assertThat(TusUploadTest.query(env, "SELECT \"offset\" || ' ' || status FROM upload WHERE id = '" + id + "'"))
        .isEqualTo("0 ACTIVE");
    UUID other = UUID.randomUUID();
    UUID b = UUID.randomUUID();
    TusUploadTest.insertReport(env, other, XU, new UUID[] {b}, new byte[][] {data});
    HttpResponse<String> created = whileTheStoreResetsConnections(env,
        () -> uploads.createRaw(env, token, other, b, data.length));
    assertUnavailable(created);
  }

  /** What {@code action} answers while the store's port resets every connection it accepts (RST, not FIN). */
  static <T> T whileTheStoreResetsConnections(TestEnvironment env, Callable<T> action) throws Exception {
    int port = env.s3().port();
    env.s3().stop();
    java.net.ServerSocket resetting = new java.net.ServerSocket();
    resetting.setReuseAddress(true);
    resetting.bind(new InetSocketAddress("127.0.0.1", port));
    Thread acceptor = new Thread(() -> {
      while (!resetting.isClosed()) {
        try (java.net.Socket s = resetting.accept()) {
          s.getInputStream().read(new byte[8192]);
          s.setSoLinger(true, 0);
        } catch (java.io.IOException closed) {
          // the socket reset, or the server closed: the next one, or the end
        }
      }
    }, "store-resetting");
    acceptor.start();
    try {
      return action.call();
    } finally {
      resetting.close();
      acceptor.join(5_000);
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> {
        env.s3().restart();
        return true;
      });
    }
  }

  /**
   * What {@code action} answers while the store's port answers every request 503 as MinIO does while it starts
   * (the store itself is back afterwards, whatever happens).
   */
  static <T> T whileTheStoreAnswers503(TestEnvironment env, Callable<T> action) throws Exception {
    return whileTheStoreAnswers(env, 503, "XMinioServerNotInitialized", action);
  }

  /**
   * What {@code action} answers while the store's port answers every request {@code status} with the S3 error
   * {@code code} (the store itself is back afterwards, whatever happens).
   */
  static <T> T whileTheStoreAnswers(TestEnvironment env, int status, String code, Callable<T> action)
      throws Exception {
    int port = env.s3().port();
    env.s3().stop();
    HttpServer starting = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
    starting.createContext("/", exchange -> {
      exchange.getRequestBody().readAllBytes();
      byte[] body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + code + "</Code>"
          + "<Message>" + code + "</Message><Resource>"
          + exchange.getRequestURI().getPath() + "</Resource><RequestId>1</RequestId><HostId>1</HostId></Error>")
          .getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", "application/xml");
      boolean head = "HEAD".equals(exchange.getRequestMethod());
      exchange.sendResponseHeaders(status, head ? -1 : body.length);
      if (!head) {
        exchange.getResponseBody().write(body);
      }
      exchange.close();
    });
    starting.start();
    try {
      return action.call();
    } finally {
      starting.stop(0);
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> {
        env.s3().restart();
        return true;
      });
    }
  }
}
