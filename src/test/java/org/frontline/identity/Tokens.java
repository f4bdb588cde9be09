package org.frontline.identity;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.TestEnvironment;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.Base64;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.testing.TestEnvironment.await;

/** Test helpers: log in over HTTP, read JWS parts, and a TokenService over the service's own keys to forge with. */
final class Tokens {
  private Tokens() {}

  static HttpResponse<Buffer> login(TestEnvironment env, String username, String password) {
    return await(env.client().post("/v1/auth/login")
        .sendJsonObject(new JsonObject().put("username", username).put("password", password)));
  }

  static JsonObject loginOk(TestEnvironment env, String username) {
    HttpResponse<Buffer> r = login(env, username, "frontline-dev");
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    return r.bodyAsJsonObject();
  }

  static HttpResponse<Buffer> me(TestEnvironment env, String token) {
    return await(env.client().get("/v1/me").putHeader("Authorization", "Bearer " + token).send());
  }

  static JsonObject part(String jws, int index) {
    return new JsonObject(new String(Base64.getUrlDecoder().decode(jws.split("\\.")[index]), StandardCharsets.UTF_8));
  }

  static String b64(String s) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  /** A TokenService holding the very keys the service under test signs with. */
  static TokenService serviceTokens(TestEnvironment env) throws Exception {
    var cfg = env.app().config().tokens();
    return new TokenService(cfg.issuer(), cfg.audience(), env.app().signingKeys(), Clock.systemUTC());
  }
}
