package org.frontline.identity;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.Frontline;
import org.frontline.dev.DemoOrganisation;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.frontline.testing.TokenRefusals;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.identity.KeyRotationTest.port;
import static org.frontline.identity.KeyRotationTest.publishedKids;
import static org.frontline.identity.KeyRotationTest.rotateOk;
import static org.frontline.identity.Tokens.loginOk;
import static org.frontline.identity.Tokens.part;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.testing.TestEnvironment.await;

/**
 * A leaked signing key retired at once (POST /v1/admin/keys/{kid}/retire): a rotation alone keeps the key it
 * supersedes verifying for the overlap (16.5 minutes), during which whoever holds its private key mints tokens of
 * any account. Retired, it stops verifying on this instance and on every other from the next request on, leaves the
 * JWKS, and sessions go on through a refresh.
 */
@FrontlineTest
class KeyRetirementTest {
  private static final String UNAUTHORIZED = "urn:frontline:problem:unauthorized";
  private static final String FORBIDDEN = "urn:frontline:problem:forbidden";

  static HttpResponse<Buffer> retire(TestEnvironment env, String token, String kid, String idempotencyKey) {
    var request = env.client().post("/v1/admin/keys/" + kid + "/retire").putHeader("Authorization", "Bearer " + token);
    if (idempotencyKey != null) {
      request.putHeader("Idempotency-Key", idempotencyKey);
    }
    return await(request.send());
  }

  /**
   * A previous key (the one a routine rotation superseded, found out leaked afterwards) retired at once: tokens it
   * signed, the officer's own and one forged as the root admin, are 401 invalid_token at once here and on a second
   * instance that only heard of it (its keys' periodic reload is 30 s away); the JWKS of both no longer has it; the
   * officer's session goes on through a refresh; the row and the audit entry say so.
   */
  @Test
  void aLeakedPreviousKeyStopsVerifyingAtOnceOnEveryInstanceAndSessionsGoOnByRefresh(TestEnvironment env)
      throws Exception {
    Frontline second = env.startApiInstance(Map.of());
    try {
      int portB = second.config().http().port();
      JsonObject login = loginOk(env, "officer.xu");
      String officer = login.getString("access_token");
      String leaked = part(officer, 0).getString("kid");
      String forged = forgedAsRootAdmin(env, leaked);
      String successor = rotateOk(env).getString("activated");
      assertThat(publishedKids(env, port(env))).contains(leaked, successor);
      for (int port : new int[] {port(env), portB}) {
        assertThat(publishedKids(env, port)).contains(leaked);
        assertThat(me(env, port, officer).statusCode()).isEqualTo(200);
        // The server takes roles and scope from the account, never from the token: whoever holds the key is root admin.
        assertThat(keysList(env, port, forged).statusCode()).isEqualTo(200);
      }

      String admin = loginOk(env, "admin").getString("access_token");
      HttpResponse<Buffer> r = await(env.client().post("/v1/admin/keys/" + leaked + "/retire")
          .putHeader("Authorization", "Bearer " + admin).putHeader("X-Request-Id", "retire-previous-1").send());
      assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
      JsonObject answer = r.bodyAsJsonObject();
      assertThat(answer.getString("retired")).isEqualTo(leaked);
      assertThat(answer.getValue("replacedBy")).isNull();
      assertThat(states(answer.getJsonArray("items"))).containsEntry(leaked, "retired").containsEntry(successor, "current");

      // This instance: from the very next request on. The second: once announced, long before its 30 s reload.
      long reloads = env.app().signingKeys().onDemandReloads();
      assertRefused(env, port(env), officer);
      // Refused as what it is (the leaked key still in use is worth knowing), and no reload: no key rotated in elsewhere.
      TokenRefusals.assertRefused(env, me(env, port(env), forged), "retired kid");
      assertThat(env.app().signingKeys().onDemandReloads()).isEqualTo(reloads);
      awaitTrue(() -> me(env, portB, officer).statusCode() == 401, "the second instance refuses the retired key");
      assertRefused(env, portB, officer);
      assertRefused(env, portB, forged);
      for (int port : new int[] {port(env), portB}) {
        HttpResponse<Buffer> jwks = await(env.client().get(port, "127.0.0.1", "/.well-known/jwks.json").send());
        assertThat(jwks.getHeader("Cache-Control")).isEqualTo("no-cache");
        assertThat(publishedKids(env, port)).doesNotContain(leaked).contains(successor);
      }

      // Refresh tokens are no JWS of any key: the session goes on, with an access token of the current key.
      HttpResponse<Buffer> refreshed = await(env.client().post("/v1/auth/refresh")
          .sendJsonObject(new JsonObject().put("refresh_token", login.getString("refresh_token"))));
      assertThat(refreshed.statusCode()).as(refreshed.bodyAsString()).isEqualTo(200);
      String renewed = refreshed.bodyAsJsonObject().getString("access_token");
      assertThat(part(renewed, 0).getString("kid")).isEqualTo(successor);
      assertThat(me(env, port(env), renewed).statusCode()).isEqualTo(200);
      assertThat(me(env, portB, renewed).statusCode()).isEqualTo(200);

      try (var c = env.jdbc(); var st = c.prepareStatement(
          "SELECT state, private_key_enc IS NULL, retired_at IS NOT NULL FROM signing_key WHERE kid = ?")) {
        st.setString(1, leaked);
        try (var rs = st.executeQuery()) {
          assertThat(rs.next()).isTrue();
          assertThat(rs.getString(1)).isEqualTo("retired");
          assertThat(rs.getBoolean(2)).as("private key erased").isTrue();
          assertThat(rs.getBoolean(3)).isTrue();
        }
      }
      assertThat(env.string("SELECT string_agg(a.action || ' ' || a.object_id || ' ' || (a.details->>'state') || ' '"
          + " || coalesce(a.details->>'replacedBy', '-') || ' ' || acc.username, ',' ORDER BY a.seq) FROM audit_log a"
          + " JOIN account acc ON acc.id = a.actor_id WHERE a.request_id = ?", "retire-previous-1"))
          .isEqualTo("signing-key.retire " + leaked + " previous - admin");
    } finally {
      second.stop().get(30, TimeUnit.SECONDS);
    }
  }

  /**
   * The current key is never retired alone: a new key becomes current in the same transaction (audited as a
   * rotation, then the retirement). Its people's and partner tokens are refused at once; new ones are signed by the
   * successor. A repeat with the Idempotency-Key answers the same without a second rotation; a plain repeat answers
   * the retired key as it is, changing nothing.
   */
  @Test
  void retiringTheCurrentKeyMakesANewOneCurrentInTheSameStep(TestEnvironment env) {
    String officer = loginOk(env, "officer.xu").getString("access_token");
    String leaked = part(officer, 0).getString("kid");
    JsonObject client = partnerClient(env);
    String partner = partnerToken(env, client);
    assertThat(part(partner, 0).getString("kid")).isEqualTo(leaked);
    assertThat(partnerReports(env, partner).statusCode()).isEqualTo(200);
    long keys = env.count("SELECT count(*) FROM signing_key");

    String admin = loginOk(env, "admin").getString("access_token");
    String idempotencyKey = "retire-" + UUID.randomUUID();
    HttpResponse<Buffer> r = retire(env, admin, leaked, idempotencyKey);
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    JsonObject answer = r.bodyAsJsonObject();
    String successor = answer.getString("replacedBy");
    assertThat(answer.getString("retired")).isEqualTo(leaked);
    assertThat(successor).isNotNull().isNotEqualTo(leaked);
    assertThat(states(answer.getJsonArray("items"))).containsEntry(leaked, "retired").containsEntry(successor, "current");
    assertThat(env.string("SELECT kid FROM signing_key WHERE state = 'current'")).isEqualTo(successor);
    assertThat(env.count("SELECT count(*) FROM signing_key")).isEqualTo(keys + 1);
    assertThat(env.string("SELECT string_agg(action || ' ' || object_id, ',' ORDER BY seq) FROM audit_log"
        + " WHERE request_id = ?", r.getHeader("X-Request-Id")))
        .isEqualTo("signing-key.rotate " + successor + ",signing-key.retire " + leaked);
    assertThat(env.string("SELECT details->>'state' || ' ' || (details->>'replacedBy') FROM audit_log"
        + " WHERE action = 'signing-key.retire' AND request_id = ?", r.getHeader("X-Request-Id")))
        .isEqualTo("current " + successor);

    assertRefused(env, port(env), officer);
    assertProblem(partnerReports(env, partner), 401, UNAUTHORIZED);
    assertThat(publishedKids(env, port(env))).doesNotContain(leaked).contains(successor);
    String renewed = loginOk(env, "officer.xu").getString("access_token");
    assertThat(part(renewed, 0).getString("kid")).isEqualTo(successor);
    assertThat(me(env, port(env), renewed).statusCode()).isEqualTo(200);
    String partnerAgain = partnerToken(env, client);
    assertThat(part(partnerAgain, 0).getString("kid")).isEqualTo(successor);
    assertThat(partnerReports(env, partnerAgain).statusCode()).isEqualTo(200);

    // The admin's own token was of the retired key too: the repeats come with a new one (keys are per account).
    assertRefused(env, port(env), admin);
    admin = loginOk(env, "admin").getString("access_token");
    HttpResponse<Buffer> again = retire(env, admin, leaked, idempotencyKey);
    assertThat(again.statusCode()).as(again.bodyAsString()).isEqualTo(200);
    assertThat(again.bodyAsJsonObject()).isEqualTo(answer);
    HttpResponse<Buffer> plain = retire(env, admin, leaked, null);
    assertThat(plain.statusCode()).as(plain.bodyAsString()).isEqualTo(200);
    assertThat(plain.bodyAsJsonObject().getValue("replacedBy")).isNull();
    assertThat(env.string("SELECT kid FROM signing_key WHERE state = 'current'")).isEqualTo(successor);
    assertThat(env.count("SELECT count(*) FROM signing_key")).isEqualTo(keys + 1);
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'signing-key.retire' AND object_id = '"
        + leaked + "'")).isEqualTo(1);
  }

  @Test
  void anUnknownKidIs404AndAMalformedOne400(TestEnvironment env) {
    String admin = loginOk(env, "admin").getString("access_token");
    String keys = keyStates(env);
    assertProblem(retire(env, admin, "es256-no-such-key", null), 404, "urn:frontline:problem:not-found");
    assertProblem(retire(env, admin, "no%20such%20key", null), 400, "urn:frontline:problem:validation-failed");
    assertThat(keyStates(env)).isEqualTo(keys);
  }

  /**
   * Organisation-wide, as a rotation: an admin of a city (403, audited as access.denied with the reason), a
   * supervisor, an officer and a partner client (403), no or a bad token (401) retire nothing.
   */
  @Test
  void onlyAnAdministratorOfTheWholeOrganisationRetiresKeys(TestEnvironment env) throws Exception {
    String current = env.string("SELECT kid FROM signing_key WHERE state = 'current'");
    String keys = keyStates(env);
    HttpResponse<Buffer> nantong = await(env.client().post("/v1/admin/keys/" + current + "/retire")
        .putHeader("Authorization", "Bearer " + Admin.nantongAdmin(env)).putHeader("X-Request-Id", "scoped-retire-1")
        .send());
    assertThat(assertProblem(nantong, 403, FORBIDDEN).getString("detail")).contains("whole organisation");
    assertThat(env.string("SELECT action || ' ' || object_id || ' ' || (details->>'reason') FROM audit_log"
        + " WHERE request_id = ?", "scoped-retire-1"))
        .isEqualTo("access.denied retireSigningKey scope-not-organisation-wide");
    for (String user : List.of("supervisor.hanjiang", "officer.xu")) {
      assertProblem(retire(env, loginOk(env, user).getString("access_token"), current, null), 403, FORBIDDEN);
    }
    assertProblem(retire(env, partnerToken(env, partnerClient(env)), current, null), 403, FORBIDDEN);
    assertProblem(await(env.client().post("/v1/admin/keys/" + current + "/retire").send()), 401, UNAUTHORIZED);
    assertProblem(retire(env, "not-a-token", current, null), 401, UNAUTHORIZED);
    assertThat(keyStates(env)).isEqualTo(keys);
  }

  /** A token such as whoever holds the key's private part would mint: the root admin's account, no roles claimed. */
  private static String forgedAsRootAdmin(TestEnvironment env, String kid) throws Exception {
    var cfg = env.app().config().tokens();
    long now = System.currentTimeMillis() / 1000;
    JsonObject claims = new JsonObject().put("iss", cfg.issuer()).put("aud", cfg.audience())
        .put("sub", Admin.account("admin").toString()).put("iat", now).put("nbf", now).put("exp", now + 600)
        .put("jti", UUID.randomUUID().toString()).put("roles", new JsonArray()).put("scope", new JsonArray());
    return Tokens.serviceTokens(env).sign(new JsonObject().put("alg", "ES256").put("typ", "at+jwt").put("kid", kid),
        claims, kid);
  }

  private static void assertRefused(TestEnvironment env, int port, String token) {
    HttpResponse<Buffer> r = me(env, port, token);
    assertProblem(r, 401, UNAUTHORIZED);
    assertThat(r.getHeader("WWW-Authenticate")).contains("error=\"invalid_token\"");
  }

  private static HttpResponse<Buffer> me(TestEnvironment env, int port, String token) {
    return await(env.client().get(port, "127.0.0.1", "/v1/me").putHeader("Authorization", "Bearer " + token).send());
  }

  private static HttpResponse<Buffer> keysList(TestEnvironment env, int port, String token) {
    return await(env.client().get(port, "127.0.0.1", "/v1/admin/keys").putHeader("Authorization", "Bearer " + token)
        .send());
  }

  private static String keyStates(TestEnvironment env) {
    return env.string("SELECT string_agg(kid || ':' || state, ',' ORDER BY kid) FROM signing_key");
  }

  private static Map<String, String> states(JsonArray items) {
    return items.stream().map(o -> (JsonObject) o)
        .collect(Collectors.toMap(o -> o.getString("kid"), o -> o.getString("state")));
  }

  /** A client_secret_basic partner client granted reports:read on Hanjiang; the answer holds its secret. */
  private static JsonObject partnerClient(TestEnvironment env) {
    HttpResponse<Buffer> r = Admin.call(env, loginOk(env, "admin").getString("access_token"), HttpMethod.POST,
        "/v1/partner-clients", new JsonObject().put("name", "Key retirement").put("authMethod", "client_secret_basic")
            .put("scopes", new JsonArray().add("reports:read"))
            .put("unitIds", new JsonArray().add(DemoOrganisation.HANJIANG.toString()))
            .put("reportTypes", new JsonArray().add("SITE")));
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(201);
    return r.bodyAsJsonObject();
  }

  private static String partnerToken(TestEnvironment env, JsonObject client) {
    String basic = Base64.getEncoder().encodeToString((client.getString("id") + ":" + client.getString("clientSecret"))
        .getBytes(StandardCharsets.UTF_8));
    HttpResponse<Buffer> r = await(env.client().post("/oauth2/token").putHeader("Authorization", "Basic " + basic)
        .sendForm(io.vertx.core.MultiMap.caseInsensitiveMultiMap().add("grant_type", "client_credentials")));
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    return r.bodyAsJsonObject().getString("access_token");
  }

  private static HttpResponse<Buffer> partnerReports(TestEnvironment env, String token) {
    return await(env.client().get("/v1/partner/reports").putHeader("Authorization", "Bearer " + token).send());
  }

  private static void awaitTrue(BooleanSupplier condition, String what) {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 10 s: " + what);
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }
}
