package org.frontline.identity;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.testing.TestEnvironment.await;

@FrontlineTest
class LoginValidationTest {

  private static HttpResponse<Buffer> post(TestEnvironment env, String contentType, Buffer body) {
    return await(env.client().post("/v1/auth/login").putHeader("Content-Type", contentType).sendBuffer(body));
  }

  @Test
  void missingPasswordNamesTheField(TestEnvironment env) {
    HttpResponse<Buffer> r = await(env.client().post("/v1/auth/login")
        .sendJsonObject(new JsonObject().put("username", "officer.xu")));
    JsonObject body = assertProblem(r, 400, "urn:frontline:problem:validation-failed");
    assertThat(body.getJsonArray("errors").stream().map(e -> ((JsonObject) e).getString("field")))
        .containsExactly("body/password");
  }

  @Test
  void unknownFieldIsRejectedByName(TestEnvironment env) {
    HttpResponse<Buffer> r = await(env.client().post("/v1/auth/login").sendJsonObject(new JsonObject()
        .put("username", "officer.xu").put("password", "frontline-dev").put("remember", true)));
    JsonObject body = assertProblem(r, 400, "urn:frontline:problem:validation-failed");
    assertThat(body.getJsonArray("errors").stream().map(e -> ((JsonObject) e).getString("field")))
        .containsExactly("body/remember");
  }

  @Test
  void tooLongUsernameIsRejectedByName(TestEnvironment env) {
    HttpResponse<Buffer> r = await(env.client().post("/v1/auth/login").sendJsonObject(new JsonObject()
        .put("username", "x".repeat(65)).put("password", "frontline-dev")));
    JsonObject body = assertProblem(r, 400, "urn:frontline:problem:validation-failed");
    assertThat(body.getJsonArray("errors").stream().map(e -> ((JsonObject) e).getString("field")))
        .containsExactly("body/username");
  }

  @Test
  void bodyThatIsNotJsonIsMalformed(TestEnvironment env) {
    HttpResponse<Buffer> r = post(env, "application/json", Buffer.buffer("{\"username\": \"officer.xu\", "));
    assertProblem(r, 400, "urn:frontline:problem:malformed-request");
  }

  @Test
  void textPlainIsUnsupportedMediaType(TestEnvironment env) {
    HttpResponse<Buffer> r = post(env, "text/plain", Buffer.buffer("username=officer.xu"));
    assertProblem(r, 415, "urn:frontline:problem:unsupported-media-type");
  }

  @Test
  void bodyOverTheLimitIsPayloadTooLarge(TestEnvironment env) {
    String big = new JsonObject().put("username", "officer.xu").put("password", "p".repeat(70_000)).encode();
    HttpResponse<Buffer> r = post(env, "application/json", Buffer.buffer(big));
    assertProblem(r, 413, "urn:frontline:problem:payload-too-large");
  }
}
