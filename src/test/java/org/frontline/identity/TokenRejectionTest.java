package org.frontline.identity;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.dev.DemoOrganisation;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.AlgorithmParameters;
import java.security.KeyFactory;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Clock;
import java.time.Instant;
import java.util.Base64;
import java.util.UUID;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.identity.Tokens.b64;
import static org.frontline.identity.Tokens.me;
import static org.frontline.identity.Tokens.part;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;

/** Every kind of token the verifier must refuse, one test each; each gets the same 401 invalid_token problem. */
@FrontlineTest
class TokenRejectionTest {

  private static JsonObject validHeader(TokenService tokens) {
    return new JsonObject().put("alg", "ES256").put("typ", "at+jwt").put("kid", currentKid(tokens));
  }

  private static String currentKid(TokenService tokens) {
    return part(tokens.issue(UUID.randomUUID(), java.util.List.of(), java.util.List.of(), null), 0).getString("kid");
  }

  private static JsonObject validClaims(TestEnvironment env) {
    long now = Instant.now().getEpochSecond();
    var cfg = env.app().config().tokens();
    return new JsonObject().put("iss", cfg.issuer()).put("aud", cfg.audience()).put("sub", LoginTest.XU.toString())
        .put("iat", now).put("nbf", now).put("exp", now + 900).put("jti", UUID.randomUUID().toString())
        .put("roles", new JsonArray().add("officer")).put("scope", new JsonArray().add(DemoOrganisation.HUAISI.toString()));
  }

  /** A token signed with the service's real key, the header and claims changed by the given edits. */
  private static String forge(TestEnvironment env, Consumer<JsonObject> header, Consumer<JsonObject> claims)
      throws Exception {
    TokenService tokens = Tokens.serviceTokens(env);
    JsonObject h = validHeader(tokens);
    JsonObject c = validClaims(env);
    String kid = h.getString("kid");
    header.accept(h);
    claims.accept(c);
    return tokens.sign(h, c, kid);
  }

  private static void assertRejected(TestEnvironment env, String token) {
    HttpResponse<Buffer> r = me(env, token);
    JsonObject body = assertProblem(r, 401, "urn:frontline:problem:unauthorized");
    assertThat(r.getHeader("WWW-Authenticate")).isEqualTo("Bearer error=\"invalid_token\"");
    assertThat(body.getString("detail")).isEqualTo("The access token is invalid or expired.");
    // and the rejection is on record, under the request's id
    try (var c = env.jdbc(); var ps = c.prepareStatement(
        "SELECT outcome, details->>'reason' FROM audit_log WHERE action = 'auth.token.rejected' AND request_id = ?")) {
      ps.setString(1, r.getHeader("X-Request-Id"));
      try (var rs = ps.executeQuery()) {
        assertThat(rs.next()).as("audit entry for the rejected token").isTrue();
        assertThat(rs.getString(1)).isEqualTo("DENIED");
        assertThat(rs.getString(2)).isNotBlank();
      }
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void twoAuthorizationHeadersAreRefusedWhicheverComesFirst(TestEnvironment env) {
    // Review: the first of two Authorization headers was used and the second ignored; a proxy or logger that reads
    // the other one disagrees with us about who is calling. An ambiguous credential is no credential.
    String officer = Admin.token(env, "officer.xu");
    String admin = Admin.token(env, "admin");
    for (String[] pair : new String[][] {{officer, admin}, {admin, officer}, {officer, officer}}) {
      var request = env.client().get("/v1/me");
      request.headers().add("Authorization", "Bearer " + pair[0]).add("Authorization", "Bearer " + pair[1]);
      HttpResponse<Buffer> r = org.frontline.testing.TestEnvironment.await(request.send());
      assertProblem(r, 401, "urn:frontline:problem:unauthorized");
      assertThat(r.getHeader("WWW-Authenticate")).isEqualTo("Bearer error=\"invalid_token\"");
    }
    assertThat(me(env, officer).statusCode()).isEqualTo(200);
  }

  @Test
  void aWellFormedForgeryWithOurKeyIsAccepted(TestEnvironment env) throws Exception {
    // control: proves the forging below differs from a valid token only in what each test changes
    assertThat(me(env, forge(env, h -> {}, c -> {})).statusCode()).isEqualTo(200);
  }

  @Test
  void algNone(TestEnvironment env) throws Exception {
    String token = forge(env, h -> {}, c -> {});
    String[] p = token.split("\\.");
    String header = b64(part(token, 0).put("alg", "none").encode());
    assertRejected(env, header + "." + p[1] + ".");
    assertRejected(env, header + "." + p[1]);
  }

  @Test
  void hs256SignedWithThePublicKeyAsSecret(TestEnvironment env) throws Exception {
    String token = forge(env, h -> {}, c -> {});
    JsonObject jwk = Tokens.serviceTokens(env).jwks().getJsonArray("keys").getJsonObject(0);
    AlgorithmParameters params = AlgorithmParameters.getInstance("EC");
    params.init(new ECGenParameterSpec("secp256r1"));
    Base64.Decoder d = Base64.getUrlDecoder();
    byte[] publicKeyDer = KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(new ECPoint(
        new BigInteger(1, d.decode(jwk.getString("x"))), new BigInteger(1, d.decode(jwk.getString("y")))),
        params.getParameterSpec(ECParameterSpec.class))).getEncoded();
    String input = b64(part(token, 0).put("alg", "HS256").encode()) + "." + token.split("\\.")[1];
    for (byte[] secret : new byte[][] {publicKeyDer, jwk.encode().getBytes(StandardCharsets.UTF_8)}) {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret, "HmacSHA256"));
      String sig = Base64.getUrlEncoder().withoutPadding().encodeToString(
          mac.doFinal(input.getBytes(StandardCharsets.US_ASCII)));
      assertRejected(env, input + "." + sig);
    }
  }

  @Test
  void unknownKid(TestEnvironment env) throws Exception {
    var cfg = env.app().config().tokens();
    TokenService other = new TokenService(cfg.issuer(), cfg.audience(),
        java.util.List.of(SigningKeys.generate("es256-not-ours")), Clock.systemUTC());
    assertRejected(env, other.issue(LoginTest.XU, java.util.List.of("officer"), java.util.List.of(DemoOrganisation.HUAISI), null));
  }

  @Test
  void pathLikeKid(TestEnvironment env) throws Exception {
    assertRejected(env, forge(env, h -> h.put("kid", "../../etc/passwd"), c -> {}));
  }

  @Test
  void jkuHeader(TestEnvironment env) throws Exception {
    assertRejected(env, forge(env, h -> h.put("jku", "https://attacker.example/jwks.json"), c -> {}));
  }

  @Test
  void x5uAndJwkHeaders(TestEnvironment env) throws Exception {
    assertRejected(env, forge(env, h -> h.put("x5u", "https://attacker.example/cert.pem"), c -> {}));
    assertRejected(env, forge(env, h -> h.put("jwk", new JsonObject().put("kty", "EC")), c -> {}));
  }

  @Test
  void wrongIssuer(TestEnvironment env) throws Exception {
    assertRejected(env, forge(env, h -> {}, c -> c.put("iss", "https://attacker.example")));
  }

  @Test
  void wrongAudience(TestEnvironment env) throws Exception {
    assertRejected(env, forge(env, h -> {}, c -> c.put("aud", "some-other-api")));
  }

  @Test
  void expired(TestEnvironment env) throws Exception {
    long now = Instant.now().getEpochSecond();
    assertRejected(env, forge(env, h -> {}, c -> c.put("iat", now - 1500).put("nbf", now - 1500).put("exp", now - 600)));
  }

  @Test
  void notBeforeTenMinutesAhead(TestEnvironment env) throws Exception {
    long now = Instant.now().getEpochSecond();
    assertRejected(env, forge(env, h -> {}, c -> c.put("nbf", now + 600)));
  }

  @Test
  void aSessionIdThatIsNoUuid(TestEnvironment env) throws Exception {
    assertRejected(env, forge(env, h -> {}, c -> c.put("sid", "../../etc")));
    assertRejected(env, forge(env, h -> {}, c -> c.put("sid", 42)));
  }

  @Test
  void typJwt(TestEnvironment env) throws Exception {
    assertRejected(env, forge(env, h -> h.put("typ", "JWT"), c -> {}));
  }

  @Test
  void typRefreshJwt(TestEnvironment env) throws Exception {
    assertRejected(env, forge(env, h -> h.put("typ", "refresh+jwt"), c -> {}));
  }

  @Test
  void tamperedClaims(TestEnvironment env) throws Exception {
    String token = forge(env, h -> {}, c -> {});
    String[] p = token.split("\\.");
    String admin = b64(part(token, 1).put("roles", new JsonArray().add("admin")).encode());
    assertRejected(env, p[0] + "." + admin + "." + p[2]);
  }

  @Test
  void tokenOfAnAccountDisabledAfterIssue(TestEnvironment env) throws Exception {
    String token = Tokens.loginOk(env, "officer.zhang").getString("access_token");
    assertThat(me(env, token).statusCode()).isEqualTo(200);
    try (Connection c = env.jdbc();
         PreparedStatement ps = c.prepareStatement("UPDATE account SET disabled_at = now() WHERE username = ?")) {
      ps.setString(1, "officer.zhang");
      assertThat(ps.executeUpdate()).isEqualTo(1);
    }
    // A change made outside the service is heard within milliseconds (AccountCache); then refused, and on record.
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (me(env, token).statusCode() != 401 && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertRejected(env, token);
  }

  @Test
  void notABearerScheme(TestEnvironment env) {
    HttpResponse<Buffer> r = TestEnvironment.await(env.client().get("/v1/me")
        .putHeader("Authorization", "Basic b2ZmaWNlci54dTpmcm9udGxpbmUtZGV2").send());
    assertProblem(r, 401, "urn:frontline:problem:unauthorized");
    assertThat(r.getHeader("WWW-Authenticate")).isEqualTo("Bearer error=\"invalid_token\"");
  }
}
