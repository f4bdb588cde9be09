package org.frontline.identity;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.proc.DefaultJOSEObjectTypeVerifier;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.Frontline;
import org.frontline.config.ConfigLoader;
import org.frontline.config.FrontlineConfig.Mode;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.identity.Tokens.loginOk;
import static org.frontline.identity.Tokens.me;
import static org.frontline.identity.Tokens.part;
import static org.frontline.testing.TestEnvironment.await;

/** Signing keys in the database: rotation without 401s, on several instances, and what outsiders can verify. */
@FrontlineTest
class KeyRotationTest {

  static HttpResponse<Buffer> rotate(TestEnvironment env, String token) {
    return await(env.client().post("/v1/admin/keys/rotate").putHeader("Authorization", "Bearer " + token).send());
  }

  static HttpResponse<Buffer> rotate(TestEnvironment env, String token, String idempotencyKey) {
    return await(env.client().post("/v1/admin/keys/rotate").putHeader("Authorization", "Bearer " + token)
        .putHeader("Idempotency-Key", idempotencyKey).send());
  }

  static JsonObject rotateOk(TestEnvironment env) {
    HttpResponse<Buffer> r = rotate(env, loginOk(env, "admin").getString("access_token"));
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    return r.bodyAsJsonObject();
  }

  static Set<String> publishedKids(TestEnvironment env, int port) {
    HttpResponse<Buffer> r = await(env.client().get(port, "127.0.0.1", "/.well-known/jwks.json").send());
    assertThat(r.statusCode()).isEqualTo(200);
    return r.bodyAsJsonObject().getJsonArray("keys").stream()
        .map(k -> ((JsonObject) k).getString("kid")).collect(Collectors.toSet());
  }

  static int port(TestEnvironment env) {
    return env.app().config().http().port();
  }

  /** A second instance of the service: same database and settings, other ports. Stop it after use. */
  static Frontline secondInstance(TestEnvironment env) throws Exception {
    Map<String, String> settings = new HashMap<>(env.settings());
    settings.put("FRONTLINE_HTTP_PORT", String.valueOf(TestEnvironment.freePort()));
    settings.put("FRONTLINE_MANAGEMENT_PORT", String.valueOf(TestEnvironment.freePort()));
    return Frontline.start(ConfigLoader.load(Mode.PRODUCTION, settings, Map.of()))
        .toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  @Test
  void authorizationServerMetadataFollowsRfc8414(TestEnvironment env) {
    HttpResponse<Buffer> r = await(env.client().get("/.well-known/oauth-authorization-server").send());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.getHeader("Content-Type")).startsWith("application/json");
    JsonObject m = r.bodyAsJsonObject();
    String issuer = env.app().config().tokens().issuer();
    assertThat(m.getString("issuer")).isEqualTo(issuer);
    assertThat(m.getString("jwks_uri")).isEqualTo(issuer + "/.well-known/jwks.json");
    assertThat(m.getString("token_endpoint")).isEqualTo(issuer + "/oauth2/token");
    assertThat(m.getJsonArray("grant_types_supported")).containsExactly("client_credentials");
    assertThat(m.getJsonArray("token_endpoint_auth_methods_supported"))
        .containsExactly("client_secret_basic", "private_key_jwt");
    assertThat(m.getJsonArray("token_endpoint_auth_signing_alg_values_supported")).contains("ES256")
        .doesNotContain("none");
    assertThat(m.getJsonArray("response_types_supported")).isEmpty();
    assertThat(m.getString("frontline_login_endpoint")).isEqualTo(issuer + "/v1/auth/login");
    // the jwks_uri it names is the one we serve
    assertThat(await(env.client().getAbs(m.getString("jwks_uri")).send()).statusCode()).isEqualTo(200);
  }

  /**
   * A rotation retried with its Idempotency-Key (a client or proxy retrying a lost answer) rotates once and gets the
   * first answer again: each call rotated, so a retry made another key current. Another key rotates again; keys are
   * per account, and an officer sending one is still refused (403) and rotates nothing.
   */
  @Test
  void aRotationRepeatedWithItsIdempotencyKeyRotatesOnceAndAnswersTheSame(TestEnvironment env) {
    String admin = loginOk(env, "admin").getString("access_token");
    String key = "rotate-" + java.util.UUID.randomUUID();
    long keys = env.count("SELECT count(*) FROM signing_key");
    long audited = env.count("SELECT count(*) FROM audit_log WHERE action = 'signing-key.rotate'");
    HttpResponse<Buffer> first = rotate(env, admin, key);
    assertThat(first.statusCode()).as(first.bodyAsString()).isEqualTo(200);
    JsonObject answer = first.bodyAsJsonObject();
    HttpResponse<Buffer> again = rotate(env, admin, key);
    assertThat(again.statusCode()).as(again.bodyAsString()).isEqualTo(200);
    assertThat(again.bodyAsJsonObject()).isEqualTo(answer);
    assertThat(env.count("SELECT count(*) FROM signing_key")).isEqualTo(keys + 1);
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'signing-key.rotate'")).isEqualTo(audited + 1);
    assertThat(env.string("SELECT kid FROM signing_key WHERE state = 'current'"))
        .isEqualTo(answer.getString("activated"));

    HttpResponse<Buffer> other = rotate(env, admin, "rotate-" + java.util.UUID.randomUUID());
    assertThat(other.statusCode()).as(other.bodyAsString()).isEqualTo(200);
    String second = other.bodyAsJsonObject().getString("activated");
    assertThat(second).isNotEqualTo(answer.getString("activated"));
    assertThat(other.bodyAsJsonObject().getJsonArray("superseded")).containsExactly(answer.getString("activated"));
    assertThat(env.string("SELECT kid FROM signing_key WHERE state = 'current'")).isEqualTo(second);
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'signing-key.rotate'")).isEqualTo(audited + 2);

    HttpResponse<Buffer> officer = rotate(env, loginOk(env, "officer.xu").getString("access_token"), key);
    org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem(officer, 403,
        "urn:frontline:problem:forbidden");
    assertThat(env.string("SELECT kid FROM signing_key WHERE state = 'current'")).isEqualTo(second);
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'signing-key.rotate'")).isEqualTo(audited + 2);
  }

  @Test
  void onlyAdministratorsListAndRotateKeys(TestEnvironment env) {
    String before = env.app().signingKeys().keys().current().kid();
    for (String user : List.of("officer.xu", "supervisor.hanjiang", "assessor.tongzhou")) {
      String token = loginOk(env, user).getString("access_token");
      HttpResponse<Buffer> r = rotate(env, token);
      assertThat(r.statusCode()).isEqualTo(403);
      assertThat(r.bodyAsJsonObject().getString("type")).isEqualTo("urn:frontline:problem:forbidden");
      assertThat(await(env.client().get("/v1/admin/keys").putHeader("Authorization", "Bearer " + token).send())
          .statusCode()).isEqualTo(403);
    }
    assertThat(await(env.client().post("/v1/admin/keys/rotate").send()).statusCode()).isEqualTo(401);
    assertThat(await(env.client().get("/v1/admin/keys").send()).statusCode()).isEqualTo(401);
    TestEnvironment.await(env.app().signingKeys().reload());
    assertThat(env.app().signingKeys().keys().current().kid()).isEqualTo(before);
  }

  @Test
  void anAdministratorScopedBelowTheRootCannotRotateTheOrganisationsKeysAndIsAudited(TestEnvironment env)
      throws Exception {
    // Review: the signing keys sign every account's and partner's tokens, yet an admin of one city could rotate them.
    String nantong = Admin.nantongAdmin(env);
    String keysBefore = env.string("SELECT string_agg(kid || ':' || state, ',' ORDER BY kid) FROM signing_key");
    String current = env.app().signingKeys().keys().current().kid();
    HttpResponse<Buffer> r = await(env.client().post("/v1/admin/keys/rotate")
        .putHeader("Authorization", "Bearer " + nantong).putHeader("X-Request-Id", "scoped-rotate-1").send());
    JsonObject problem = org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem(r, 403,
        "urn:frontline:problem:forbidden");
    assertThat(problem.getString("detail")).contains("whole organisation");

    assertThat(env.string("SELECT string_agg(kid || ':' || state, ',' ORDER BY kid) FROM signing_key"))
        .as("no key was made, superseded or retired").isEqualTo(keysBefore);
    TestEnvironment.await(env.app().signingKeys().reload());
    assertThat(env.app().signingKeys().keys().current().kid()).isEqualTo(current);
    try (var c = env.jdbc(); var st = c.prepareStatement("SELECT a.action, a.outcome, a.object_type, a.object_id, "
        + "a.details->>'reason', acc.username FROM audit_log a JOIN account acc ON acc.id = a.actor_id "
        + "WHERE a.request_id = ? ORDER BY a.seq")) {
      st.setString(1, "scoped-rotate-1");
      try (var rs = st.executeQuery()) {
        assertThat(rs.next()).as("the refusal is on record").isTrue();
        assertThat(rs.getString(1)).isEqualTo("access.denied");
        assertThat(rs.getString(2)).isEqualTo("DENIED");
        assertThat(rs.getString(3)).isEqualTo("operation");
        assertThat(rs.getString(4)).isEqualTo("rotateSigningKeys");
        assertThat(rs.getString(5)).isEqualTo("scope-not-organisation-wide");
        assertThat(rs.getString(6)).isEqualTo(Admin.NANTONG_ADMIN);
        assertThat(rs.next()).as("and nothing else: no signing-key.rotate").isFalse();
      }
    }
    // Listing stays open to every admin: it shows what the public JWKS publishes (kids, states, dates).
    HttpResponse<Buffer> list = await(env.client().get("/v1/admin/keys").putHeader("Authorization", "Bearer " + nantong)
        .send());
    assertThat(list.statusCode()).as(list.bodyAsString()).isEqualTo(200);
    assertThat(list.bodyAsJsonObject().getJsonArray("items").stream()
        .map(k -> ((JsonObject) k).getString("kid"))).contains(current);
  }

  /**
   * Review: a previous key was retired only by a later rotation, so after one rotation it went on verifying (and
   * being published) for good: the README's answer to a leaked key ("rotate them too") left tokens forged with it
   * accepted until someone rotated again. A previous key is now published and verifies for the overlap only.
   */
  /**
   * A reload keeps the objects of the keys that did not change: a verified token is served again only while its key
   * is the very object it was verified with, so every reload (each 30 s) made every token in use be verified again
   * (an ES256 verification each).
   */
  @Test
  void aReloadKeepsTheKeysThatDidNotChangeSoVerifiedTokensStayVerified(TestEnvironment env) throws Exception {
    KeyRing ring = env.app().signingKeys();
    TokenService.KeySet before = ring.keys();
    await(ring.reload());
    TokenService.KeySet after = ring.keys();
    assertThat(after.current()).isSameAs(before.current());
    before.published().forEach((kid, key) -> assertThat(after.published().get(kid)).as(kid).isSameAs(key));

    String kept = before.current().kid();
    rotateOk(env);
    TokenService.KeySet rotated = ring.keys();
    assertThat(rotated.current().kid()).isNotEqualTo(kept);
    // The key that was current is previous now: the same key material, so the same object.
    assertThat(rotated.published().get(kept)).isSameAs(before.published().get(kept));
  }

  @Test
  void aPreviousKeyStopsVerifyingOnceItsOverlapHasPassedWithoutAnotherRotation(TestEnvironment env) throws Exception {
    String oldToken = loginOk(env, "officer.xu").getString("access_token");
    String oldKid = part(oldToken, 0).getString("kid");
    rotateOk(env);
    assertThat(me(env, oldToken).statusCode()).isEqualTo(200);
    // The overlap passes (as if 17 minutes went by since the rotation); no rotation follows.
    try (var c = env.jdbc(); var st = c.prepareStatement(
        "UPDATE signing_key SET superseded_at = superseded_at - interval '17 minutes' WHERE kid = ?")) {
      st.setString(1, oldKid);
      assertThat(st.executeUpdate()).isEqualTo(1);
    }
    await(env.app().signingKeys().reload()); // what every instance does each 30 s
    assertThat(publishedKids(env, port(env))).doesNotContain(oldKid);
    org.frontline.testing.TokenRefusals.assertRefused(env, me(env, oldToken), "unknown kid");
    assertThat(me(env, loginOk(env, "officer.xu").getString("access_token")).statusCode()).isEqualTo(200);
  }

  @Test
  void rotationKeepsOldTokensValidUntilTheOverlapEndsThenRetiresTheOldestKey(TestEnvironment env) throws Exception {
    String oldToken = loginOk(env, "officer.xu").getString("access_token");
    String oldKid = part(oldToken, 0).getString("kid");
    assertThat(publishedKids(env, port(env))).contains(oldKid);

    JsonObject rotated = rotateOk(env);
    String newKid = rotated.getString("activated");
    assertThat(newKid).isNotEqualTo(oldKid).matches("[A-Za-z0-9._-]{1,64}");
    assertThat(rotated.getJsonArray("superseded")).containsExactly(oldKid);
    assertThat(publishedKids(env, port(env))).contains(oldKid, newKid);
    assertThat(me(env, oldToken).statusCode()).isEqualTo(200);
    String newToken = loginOk(env, "officer.xu").getString("access_token");
    assertThat(part(newToken, 0).getString("kid")).isEqualTo(newKid);
    assertThat(me(env, newToken).statusCode()).isEqualTo(200);

    HttpResponse<Buffer> list = await(env.client().get("/v1/admin/keys")
        .putHeader("Authorization", "Bearer " + loginOk(env, "admin").getString("access_token")).send());
    assertThat(list.statusCode()).isEqualTo(200);
    JsonArray items = list.bodyAsJsonObject().getJsonArray("items");
    Map<String, String> states = items.stream().map(o -> (JsonObject) o)
        .collect(Collectors.toMap(o -> o.getString("kid"), o -> o.getString("state")));
    assertThat(states).containsEntry(newKid, "current").containsEntry(oldKid, "previous");
    assertThat(list.bodyAsString()).doesNotContain("\"d\"", "private", "\"x\"");

    // The overlap passes for the old key (as if 17 minutes went by since it was superseded); rotate again.
    try (var c = env.jdbc(); var st = c.prepareStatement(
        "UPDATE signing_key SET superseded_at = superseded_at - interval '17 minutes' WHERE kid = ?")) {
      st.setString(1, oldKid);
      assertThat(st.executeUpdate()).isEqualTo(1);
    }
    JsonObject second = rotateOk(env);
    assertThat(second.getJsonArray("retired")).containsExactly(oldKid);
    assertThat(second.getJsonArray("superseded")).containsExactly(newKid);
    Set<String> published = publishedKids(env, port(env));
    assertThat(published).doesNotContain(oldKid).contains(newKid, second.getString("activated"));
    assertThat(me(env, oldToken).statusCode()).isEqualTo(401);
    assertThat(me(env, newToken).statusCode()).isEqualTo(200);
    try (var c = env.jdbc(); var st = c.prepareStatement(
        "SELECT state, private_key_enc IS NULL, retired_at IS NOT NULL FROM signing_key WHERE kid = ?")) {
      st.setString(1, oldKid);
      try (var rs = st.executeQuery()) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getString(1)).isEqualTo("retired");
        assertThat(rs.getBoolean(2)).as("private key erased").isTrue();
        assertThat(rs.getBoolean(3)).isTrue();
      }
    }
  }

  @Test
  void privateKeysAreStoredEncrypted(TestEnvironment env) throws Exception {
    try (var c = env.jdbc(); var st = c.createStatement();
         var rs = st.executeQuery("SELECT kid, private_key_enc FROM signing_key WHERE state = 'current'")) {
      assertThat(rs.next()).isTrue();
      byte[] stored = rs.getBytes(2);
      byte[] pkcs8 = env.app().signingKeys().keys().current().privateKey().getEncoded();
      assertThat(rs.getString(1)).isEqualTo(env.app().signingKeys().keys().current().kid());
      assertThat(stored.length).isEqualTo(12 + pkcs8.length + 16);
      assertThat(indexOf(stored, java.util.Arrays.copyOfRange(pkcs8, pkcs8.length - 32, pkcs8.length))).isNegative();
    }
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  @Test
  void aTokenOfAKeyRotatedInOnAnotherInstanceIsAcceptedAtOnce(TestEnvironment env) throws Exception {
    Frontline b = secondInstance(env);
    try {
      int portB = b.config().http().port();
      String newKid = rotateOk(env).getString("activated");
      // B reloads when it hears of the rotation (V197) or, before that, when a token names the new kid.
      String token = loginOk(env, "officer.xu").getString("access_token");
      assertThat(part(token, 0).getString("kid")).isEqualTo(newKid);
      HttpResponse<Buffer> r = await(env.client().get(portB, "127.0.0.1", "/v1/me")
          .putHeader("Authorization", "Bearer " + token).send());
      assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
      assertThat(publishedKids(env, portB)).contains(newKid);
      // a made-up kid of the right shape is still rejected after the reload it causes
      String forged = Tokens.b64(part(token, 0).put("kid", "es256-made-up").encode()) + token.substring(token.indexOf('.'));
      assertThat(await(env.client().get(portB, "127.0.0.1", "/v1/me")
          .putHeader("Authorization", "Bearer " + forged).send()).statusCode()).isEqualTo(401);
    } finally {
      b.stop().get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void continuousRequestsOnTwoInstancesAcrossTwoRotationsGetNo401(TestEnvironment env) throws Exception {
    Frontline b = secondInstance(env);
    int[] ports = {port(env), b.config().http().port()};
    AtomicBoolean running = new AtomicBoolean(true);
    ConcurrentMap<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
    Set<String> kidsSeen = ConcurrentHashMap.newKeySet();
    AtomicInteger calls = new AtomicInteger();
    ExecutorService clients = Executors.newFixedThreadPool(4);
    String[] users = {"officer.xu", "officer.zhang", "supervisor.hanjiang", "supervisor.tongzhou"};
    try {
      List<Future<?>> loops = new java.util.ArrayList<>();
      for (int i = 0; i < 4; i++) {
        String user = users[i];
        int first = i;
        loops.add(clients.submit(() -> {
          int n = first;
          while (running.get()) {
            // a fresh token from one instance, used on both
            HttpResponse<Buffer> login = await(env.client().post(ports[n % 2], "127.0.0.1", "/v1/auth/login")
                .sendJsonObject(new JsonObject().put("username", user).put("password", "frontline-dev")));
            statuses.computeIfAbsent(login.statusCode(), k -> new AtomicInteger()).incrementAndGet();
            if (login.statusCode() != 200) {
              continue;
            }
            String token = login.bodyAsJsonObject().getString("access_token");
            kidsSeen.add(part(token, 0).getString("kid"));
            for (int k = 0; k < 6; k++) {
              HttpResponse<Buffer> r = await(env.client().get(ports[(n + k) % 2], "127.0.0.1", "/v1/me")
                  .putHeader("Authorization", "Bearer " + token).send());
              statuses.computeIfAbsent(r.statusCode(), s -> new AtomicInteger()).incrementAndGet();
              calls.incrementAndGet();
            }
            n++;
          }
          return null;
        }));
      }
      Thread.sleep(1500);
      String k1 = rotateOk(env).getString("activated");
      Thread.sleep(1500);
      String k2 = rotateOk(env).getString("activated");
      Thread.sleep(2000);
      running.set(false);
      for (Future<?> loop : loops) {
        loop.get(60, TimeUnit.SECONDS);
      }
      Map<Integer, Integer> counts = statuses.entrySet().stream()
          .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().get()));
      assertThat(counts).as("statuses of %d calls", calls.get()).containsOnlyKeys(200);
      assertThat(calls.get()).isGreaterThan(40);
      assertThat(kidsSeen).contains(k1, k2);
    } finally {
      running.set(false);
      clients.shutdownNow();
      b.stop().get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void anIndependentJoseLibraryVerifiesOurTokensWithThePublishedJwks(TestEnvironment env) throws Exception {
    String before = loginOk(env, "officer.xu").getString("access_token");
    rotateOk(env);
    String after = loginOk(env, "officer.xu").getString("access_token");
    JWKSet jwks = JWKSet.parse(await(env.client().get("/.well-known/jwks.json").send()).bodyAsString());
    assertThat(jwks.getKeys()).allSatisfy(k -> {
      assertThat(k.isPrivate()).isFalse();
      assertThat(k.getAlgorithm()).isEqualTo(JWSAlgorithm.ES256);
    });
    var cfg = env.app().config().tokens();
    DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();
    processor.setJWSTypeVerifier(new DefaultJOSEObjectTypeVerifier<>(new JOSEObjectType("at+jwt")));
    processor.setJWSKeySelector(new JWSVerificationKeySelector<>(JWSAlgorithm.ES256, new ImmutableJWKSet<>(jwks)));
    processor.setJWTClaimsSetVerifier(new DefaultJWTClaimsVerifier<>(cfg.audience(),
        new JWTClaimsSet.Builder().issuer(cfg.issuer()).build(), Set.of("sub", "exp", "iat", "jti")));
    for (String token : List.of(before, after)) {
      SignedJWT jwt = SignedJWT.parse(token);
      assertThat(jwt.getHeader().getType()).isEqualTo(new JOSEObjectType("at+jwt"));
      assertThat(jwt.getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.ES256);
      assertThat(jwt.getHeader().getKeyID()).isNotBlank();
      ECKey key = (ECKey) jwks.getKeyByKeyId(jwt.getHeader().getKeyID());
      assertThat(key).isNotNull();
      assertThat(jwt.verify(new ECDSAVerifier(key.toECPublicKey()))).isTrue();
      JWTClaimsSet claims = processor.process(token, null);
      assertThat(claims.getSubject()).isEqualTo(LoginTest.XU.toString());
    }
    assertThat(SignedJWT.parse(before).getHeader().getKeyID())
        .isNotEqualTo(SignedJWT.parse(after).getHeader().getKeyID());
  }

  @Test
  void madeUpKidsCauseAtMostOneReloadPerInterval(TestEnvironment env) throws Exception {
    String token = loginOk(env, "officer.xu").getString("access_token");
    String rest = token.substring(token.indexOf('.'));
    long before = env.app().signingKeys().onDemandReloads();
    long t0 = System.nanoTime();
    List<io.vertx.core.Future<HttpResponse<Buffer>>> calls = new java.util.ArrayList<>();
    for (int i = 0; i < 30; i++) {
      String forged = Tokens.b64(part(token, 0).put("kid", "es256-made-up-" + i).encode()) + rest;
      calls.add(env.client().get("/v1/me").putHeader("Authorization", "Bearer " + forged).send());
    }
    for (var call : calls) {
      assertThat(await(call).statusCode()).isEqualTo(401);
    }
    long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    long reloads = env.app().signingKeys().onDemandReloads() - before;
    assertThat(reloads).isBetween(1L, 1 + elapsedMs / KeyRing.MIN_RELOAD_INTERVAL.toMillis() + 1);
  }
}
