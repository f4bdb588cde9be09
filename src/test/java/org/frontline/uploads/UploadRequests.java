package org.frontline.uploads;

import io.vertx.core.json.JsonObject;
import org.frontline.testing.TestEnvironment;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The upload requests of the upload tests, as a phone sends them, on a test's own client (java.net.http, HTTP/1.1,
 * answers checked against the contract): tus creation (POST /v1/uploads with Upload-Length and Upload-Metadata),
 * HEAD and PATCH of an upload, and the POSTs of the direct path. Each goes to the test service, or to the port of
 * another instance a test started.
 */
final class UploadRequests {
  private final HttpClient http;

  UploadRequests(HttpClient http) {
    this.http = http;
  }

  /** tus Upload-Metadata naming the report and the attachment (and a filename, which the service does not read). */
  static String metadata(UUID report, UUID attachment) {
    Base64.Encoder b64 = Base64.getEncoder();
    return "reportId " + b64.encodeToString(report.toString().getBytes(StandardCharsets.UTF_8))
        + ",attachmentId " + b64.encodeToString(attachment.toString().getBytes(StandardCharsets.UTF_8))
        + ",filename " + b64.encodeToString("photo.jpg".getBytes(StandardCharsets.UTF_8));
  }

  /** A tus Upload-Checksum of {@code data}. */
  static String checksum(byte[] data) throws Exception {
    return checksum("sha256", "SHA-256", data);
  }

  /** A tus Upload-Checksum of {@code data} named {@code algorithm}, by the JDK's {@code jdkAlgorithm}. */
  static String checksum(String algorithm, String jdkAlgorithm, byte[] data) throws Exception {
    return algorithm + " " + Base64.getEncoder().encodeToString(MessageDigest.getInstance(jdkAlgorithm).digest(data));
  }

  /** The upload's id: the last segment of its Location. */
  static String uploadId(String location) {
    return location.substring(location.lastIndexOf('/') + 1);
  }

  /** A tus creation of the attachment's upload of {@code length} bytes; the answer, whatever it is. */
  HttpResponse<String> createRaw(TestEnvironment env, String token, UUID report, UUID a, long length)
      throws Exception {
    return createRaw(port(env), token, report, a, length);
  }

  HttpResponse<String> createRaw(int port, String token, UUID report, UUID a, long length) throws Exception {
    return send(port, "POST", "/v1/uploads", null, Map.of("Tus-Resumable", "1.0.0", "Authorization",
        "Bearer " + token, "Upload-Length", Long.toString(length), "Upload-Metadata", metadata(report, a)));
  }

  /** A tus creation that succeeds (201, with its Upload-Expires): the new upload's Location. */
  String create(TestEnvironment env, String token, UUID report, UUID a, long length) throws Exception {
    return create(port(env), token, report, a, length);
  }

  String create(int port, String token, UUID report, UUID a, long length) throws Exception {
    HttpResponse<String> r = createRaw(port, token, report, a, length);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    assertThat(r.headers().firstValue("Upload-Expires").orElseThrow()).matches(TusHttpDateTest.IMF_FIXDATE);
    return r.headers().firstValue("Location").orElseThrow();
  }

  HttpResponse<String> head(TestEnvironment env, String token, String location) throws Exception {
    return head(port(env), token, location);
  }

  HttpResponse<String> head(int port, String token, String location) throws Exception {
    return send(port, "HEAD", location, null, Map.of("Tus-Resumable", "1.0.0", "Authorization", "Bearer " + token));
  }

  HttpResponse<String> patch(TestEnvironment env, String token, String location, long offset, byte[] body)
      throws Exception {
    return patch(env, token, location, offset, body, null);
  }

  HttpResponse<String> patch(TestEnvironment env, String token, String location, long offset, byte[] body,
                             String checksum) throws Exception {
    return patch(port(env), token, location, offset, body, checksum);
  }

  /** A tus PATCH of {@code body} at {@code offset}, with an Upload-Checksum unless {@code checksum} is null. */
  HttpResponse<String> patch(int port, String token, String location, long offset, byte[] body, String checksum)
      throws Exception {
    Map<String, String> headers = new HashMap<>(Map.of("Tus-Resumable", "1.0.0", "Authorization",
        "Bearer " + token, "Upload-Offset", Long.toString(offset), "Content-Type",
        "application/offset+octet-stream"));
    if (checksum != null) {
      headers.put("Upload-Checksum", checksum);
    }
    return send(port, "PATCH", location, body, headers);
  }

  HttpResponse<String> send(TestEnvironment env, String method, String path, byte[] body,
                            Map<String, String> headers) throws Exception {
    return send(port(env), method, path, body, headers);
  }

  HttpResponse<String> send(int port, String method, String path, byte[] body, Map<String, String> headers)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofByteArray(body));
    headers.forEach(b::header);
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** A POST without a body (the direct path: {@code /v1/attachments/{id}/upload-url}, {@code .../complete}). */
  HttpResponse<String> post(TestEnvironment env, String token, String path) throws Exception {
    return send(env, "POST", path, null, Map.of("Authorization", "Bearer " + token));
  }

  /** The direct path's presigned PUT URL for the attachment (200 expected). */
  String uploadUrl(TestEnvironment env, String token, UUID attachment) throws Exception {
    HttpResponse<String> r = post(env, token, "/v1/attachments/" + attachment + "/upload-url");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return new JsonObject(r.body()).getString("url");
  }

  private static int port(TestEnvironment env) {
    return env.app().config().http().port();
  }
}
