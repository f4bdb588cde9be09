package org.frontline.identity;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.dev.DemoOrganisation;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.Base64;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.identity.Tokens.login;
import static org.frontline.identity.Tokens.loginOk;
import static org.frontline.identity.Tokens.me;
import static org.frontline.identity.Tokens.part;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.testing.TestEnvironment.await;

@FrontlineTest
class LoginTest {
  static final UUID XU = UUID.nameUUIDFromBytes("frontline-demo:account:officer.xu".getBytes(StandardCharsets.UTF_8));

  @Test
  void loginIssuesAnEs256AccessTokenAndAStoredRefreshToken(TestEnvironment env) throws Exception {
    HttpResponse<Buffer> r = login(env, "officer.xu", "frontline-dev");
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    assertThat(r.getHeader("Cache-Control")).isEqualTo("no-store");
    JsonObject body = r.bodyAsJsonObject();
    assertThat(body.getString("token_type")).isEqualTo("Bearer");
    assertThat(body.getLong("expires_in")).isEqualTo(TokenService.ACCESS_TOKEN_TTL.toSeconds());

    String token = body.getString("access_token");
    JsonObject header = part(token, 0);
    assertThat(header.getString("alg")).isEqualTo("ES256");
    assertThat(header.getString("typ")).isEqualTo("at+jwt");
    assertThat(header.getString("kid")).isEqualTo(env.app().signingKeys().keys().current().kid());
    JsonObject claims = part(token, 1);
    var cfg = env.app().config().tokens();
    assertThat(claims.getString("iss")).isEqualTo(cfg.issuer());
    assertThat(claims.getString("aud")).isEqualTo(cfg.audience());
    assertThat(claims.getString("sub")).isEqualTo(XU.toString());
    assertThat(claims.getJsonArray("roles")).isEqualTo(new JsonArray().add("officer"));
    assertThat(claims.getJsonArray("scope")).isEqualTo(new JsonArray().add(DemoOrganisation.HUAISI.toString()));
    long now = Instant.now().getEpochSecond();
    assertThat(claims.getLong("iat")).isBetween(now - 30, now + 5);
    assertThat(claims.getLong("exp") - claims.getLong("iat")).isEqualTo(TokenService.ACCESS_TOKEN_TTL.toSeconds());
    assertThat(UUID.fromString(claims.getString("jti"))).isNotNull();

    String refresh = body.getString("refresh_token");
    assertThat(Base64.getUrlDecoder().decode(refresh)).hasSize(32);
    byte[] expectedHash = MessageDigest.getInstance("SHA-256").digest(refresh.getBytes(StandardCharsets.US_ASCII));
    try (Connection c = env.jdbc(); PreparedStatement ps = c.prepareStatement(
        "SELECT count(*) FROM refresh_token WHERE token_hash = ?")) {
      ps.setBytes(1, refresh.getBytes(StandardCharsets.US_ASCII));
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        assertThat(rs.getInt(1)).as("the token itself is never stored").isZero();
      }
    }
    try (Connection c = env.jdbc(); PreparedStatement ps = c.prepareStatement(
        "SELECT account_id, family_id, expires_at - issued_at > interval '29 days', used_at, revoked_at "
            + "FROM refresh_token WHERE token_hash = ?")) {
      ps.setBytes(1, expectedHash);
      try (ResultSet rs = ps.executeQuery()) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getObject(1)).isEqualTo(XU);
        assertThat(rs.getObject(2)).isNotNull();
        assertThat(rs.getBoolean(3)).isTrue();
        assertThat(rs.getObject(4)).isNull();
        assertThat(rs.getObject(5)).isNull();
      }
    }
  }

  @Test
  void meReturnsTheCallerHomeUnitAndScope(TestEnvironment env) {
    String token = loginOk(env, "officer.xu").getString("access_token");
    HttpResponse<Buffer> r = me(env, token);
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    JsonObject me = r.bodyAsJsonObject();
    assertThat(me.getString("id")).isEqualTo(XU.toString());
    assertThat(me.getString("username")).isEqualTo("officer.xu");
    assertThat(me.getString("displayName")).isEqualTo("徐立 Xu Li");
    assertThat(me.getString("locale")).isEqualTo("zh-CN");
    assertThat(me.getJsonArray("roles")).isEqualTo(new JsonArray().add("officer"));
    assertThat(me.getJsonObject("homeUnit")).isEqualTo(new JsonObject()
        .put("id", DemoOrganisation.HUAISI.toString()).put("name", "槐泗镇 Huaisi Town"));
    assertThat(me.getJsonArray("scope")).hasSize(1);
    JsonObject unit = me.getJsonArray("scope").getJsonObject(0);
    assertThat(unit.getString("id")).isEqualTo(DemoOrganisation.HUAISI.toString());
    assertThat(unit.getString("name")).isEqualTo("槐泗镇 Huaisi Town");
    assertThat(unit.getString("path")).isEqualTo("/" + DemoOrganisation.JIANGSU + "/" + DemoOrganisation.YANGZHOU + "/"
        + DemoOrganisation.HANJIANG + "/" + DemoOrganisation.HUAISI + "/");
  }

  @Test
  void wrongPasswordAndUnknownUserGetTheSame401(TestEnvironment env) {
    HttpResponse<Buffer> wrong = login(env, "officer.xu", "not-the-password");
    JsonObject wrongBody = assertProblem(wrong, 401, "urn:frontline:problem:unauthorized");
    assertThat(wrongBody.getString("detail")).isEqualTo("Wrong username or password.");

    HttpResponse<Buffer> unknown = login(env, "nobody.here", "not-the-password");
    JsonObject unknownBody = assertProblem(unknown, 401, "urn:frontline:problem:unauthorized");
    wrongBody.remove("requestId");
    unknownBody.remove("requestId");
    assertThat(unknownBody).isEqualTo(wrongBody);
    assertThat(unknown.getHeader("WWW-Authenticate")).isEqualTo(wrong.getHeader("WWW-Authenticate"));
  }

  @Test
  void meWithoutTokenIs401WithChallenge(TestEnvironment env) {
    HttpResponse<Buffer> r = await(env.client().get("/v1/me").send());
    assertProblem(r, 401, "urn:frontline:problem:unauthorized");
    assertThat(r.getHeader("WWW-Authenticate")).startsWith("Bearer");
  }

  @Test
  void jwksPublishesTheSigningKeyAndItVerifiesOurTokens(TestEnvironment env) throws Exception {
    HttpResponse<Buffer> r = await(env.client().get("/.well-known/jwks.json").send());
    assertThat(r.statusCode()).isEqualTo(200);
    JsonArray keys = r.bodyAsJsonObject().getJsonArray("keys");
    assertThat(keys).hasSize(1);
    JsonObject jwk = keys.getJsonObject(0);
    assertThat(jwk.getString("kty")).isEqualTo("EC");
    assertThat(jwk.getString("crv")).isEqualTo("P-256");
    assertThat(jwk.getString("use")).isEqualTo("sig");
    assertThat(jwk.getString("alg")).isEqualTo("ES256");
    assertThat(jwk.containsKey("d")).isFalse();

    String token = loginOk(env, "officer.xu").getString("access_token");
    assertThat(part(token, 0).getString("kid")).isEqualTo(jwk.getString("kid"));
    // Verify with the published x/y only, independently of TokenService.
    Base64.Decoder d = Base64.getUrlDecoder();
    var params = java.security.AlgorithmParameters.getInstance("EC");
    params.init(new java.security.spec.ECGenParameterSpec("secp256r1"));
    var spec = params.getParameterSpec(java.security.spec.ECParameterSpec.class);
    var publicKey = java.security.KeyFactory.getInstance("EC").generatePublic(new java.security.spec.ECPublicKeySpec(
        new java.security.spec.ECPoint(new java.math.BigInteger(1, d.decode(jwk.getString("x"))),
            new java.math.BigInteger(1, d.decode(jwk.getString("y")))), spec));
    var verifier = java.security.Signature.getInstance("SHA256withECDSAinP1363Format");
    verifier.initVerify(publicKey);
    int lastDot = token.lastIndexOf('.');
    verifier.update(token.substring(0, lastDot).getBytes(StandardCharsets.US_ASCII));
    assertThat(verifier.verify(d.decode(token.substring(lastDot + 1)))).isTrue();
  }
}
