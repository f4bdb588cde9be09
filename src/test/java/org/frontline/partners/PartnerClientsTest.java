package org.frontline.partners;

import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.RSAKey;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.ScopeMoves;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HANJIANG;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.dev.DemoOrganisation.NANTONG;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.partners.Partners.call;
import static org.frontline.partners.Partners.ecKey;
import static org.frontline.partners.Partners.keyClient;
import static org.frontline.partners.Partners.login;
import static org.frontline.partners.Partners.newClient;
import static org.frontline.partners.Partners.ok;
import static org.frontline.partners.Partners.rsaKey;
import static org.frontline.partners.Partners.secretClient;
import static org.frontline.partners.Partners.tokenWithSecret;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.testing.TestEnvironment.await;

/** Partner clients administered through the API: registration, key rules, scope of admins, rotation, disabling. */
@FrontlineTest
class PartnerClientsTest {
  private static final String UNPROCESSABLE = "urn:frontline:problem:unprocessable";

  @Test
  void aSecretClientGetsItsSecretOnceStoredOnlyAsItsHashAndTheCreationIsAudited(TestEnvironment env) throws Exception {
    JsonObject client = secretClient(env, List.of("reports:read", "events:read"), List.of(TONGZHOU), List.of("SITE"));
    String id = client.getString("id");
    String secret = client.getString("clientSecret");
    assertThat(secret).hasSizeGreaterThanOrEqualTo(43);
    assertThat(client.getString("authMethod")).isEqualTo("client_secret_basic");
    assertThat(client.getJsonArray("scopes")).containsExactly("reports:read", "events:read");
    assertThat(client.getJsonArray("unitIds")).containsExactly(TONGZHOU.toString());
    assertThat(client.getJsonArray("credentials")).hasSize(1);
    assertThat(client.getJsonArray("credentials").getJsonObject(0).getString("kind")).isEqualTo("secret");
    String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(secret.getBytes()));
    assertThat(env.string("SELECT encode(secret_sha256, 'hex') FROM partner_credential WHERE client_id = ?::uuid", id))
        .isEqualTo(hash);
    assertThat(env.count("SELECT count(*) FROM partner_credential k WHERE row_to_json(k)::text LIKE '%' || ? || '%'",
        secret)).isZero();
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'partner-client.create' AND object_id = ?", id))
        .isEqualTo(1);

    // Read back: never the secret again.
    JsonObject read = ok(call(env, login(env, "admin"), HttpMethod.GET, "/v1/partner-clients/" + id, null), 200);
    assertThat(read.containsKey("clientSecret")).isFalse();
    assertThat(read.getJsonArray("credentials")).isEqualTo(client.getJsonArray("credentials"));
  }

  @Test
  void aKeyClientRegistersEcAndRsaPublicKeysPinnedToTheirAlgorithms(TestEnvironment env) throws Exception {
    JsonObject client = keyClient(env, List.of("events:read"), List.of(TONGZHOU), List.of("SITE"),
        ecKey("ec-1"), rsaKey("rsa-1", 2048));
    assertThat(client.containsKey("clientSecret")).isFalse();
    JsonArray credentials = client.getJsonArray("credentials");
    assertThat(credentials.stream().map(c -> ((JsonObject) c).getString("kid") + "/" + ((JsonObject) c).getString("alg")))
        .containsExactlyInAnyOrder("ec-1/ES256", "rsa-1/RS256");
    // Only public members are stored.
    assertThat(env.count("SELECT count(*) FROM partner_credential WHERE client_id = ?::uuid AND jsonb_exists(jwk, 'd')",
        client.getString("id"))).isZero();
  }

  @Test
  void unacceptableKeysAreRefusedNamingTheKey(TestEnvironment env) throws Exception {
    String admin = login(env, "admin");
    ECKey ec = ecKey("k1");
    JsonObject publicEc = new JsonObject(ec.toPublicJWK().toJSONObject());
    List<JsonObject> bad = List.of(
        new JsonObject(rsaKey("small", 1024).toPublicJWK().toJSONObject()),        // RSA under 2048 bits
        new JsonObject(ec.toJSONObject()),                                          // private key member d
        publicEc.copy().put("alg", "RS256"),                                        // EC pinned to RS256
        publicEc.copy().put("crv", "P-384"),                                        // another curve
        publicEc.copy().put("y", publicEc.getString("x")),                          // not a point on P-256
        publicEc.copy().put("x5u", "https://partner.example/keys"),                 // a key URL
        new JsonObject().put("kty", "oct").put("kid", "h").put("alg", "ES256").put("k", "c2VjcmV0"));
    for (JsonObject key : bad) {
      HttpResponse<Buffer> r = call(env, admin, HttpMethod.POST, "/v1/partner-clients",
          newClient("Bad", "private_key_jwt", List.of("events:read"), List.of(TONGZHOU), List.of("SITE"))
              .put("jwks", new JsonObject().put("keys", new JsonArray().add(publicEc).add(key))));
      if (r.statusCode() == 400) {
        continue; // the contract itself refused it (e.g. kty oct)
      }
      JsonObject problem = assertProblem(r, 422, UNPROCESSABLE);
      assertThat(problem.getJsonArray("errors").getJsonObject(0).getString("field")).as(key.encode())
          .isEqualTo("body/jwks/keys/1");
    }
    assertThat(env.count("SELECT count(*) FROM partner_client WHERE name = 'Bad'")).isZero();
  }

  @Test
  void aGrantNeverExceedsTheAdminsScopeAndOtherAdminsSeeNothing(TestEnvironment env) throws Exception {
    String nantongAdmin = nantongAdmin(env);
    HttpResponse<Buffer> r = call(env, nantongAdmin, HttpMethod.POST, "/v1/partner-clients",
        newClient("Too wide", "client_secret_basic", List.of("events:read"), List.of(TONGZHOU, HANJIANG), List.of("SITE")));
    JsonObject problem = assertProblem(r, 422, UNPROCESSABLE);
    assertThat(problem.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/unitIds/1");

    String hanjiangClient = secretClient(env, List.of("events:read"), List.of(HANJIANG), List.of("SITE")).getString("id");
    for (var request : List.of(
        call(env, nantongAdmin, HttpMethod.GET, "/v1/partner-clients/" + hanjiangClient, null),
        call(env, nantongAdmin, HttpMethod.POST, "/v1/partner-clients/" + hanjiangClient + "/credentials", new JsonObject()),
        call(env, nantongAdmin, HttpMethod.POST, "/v1/partner-clients/" + hanjiangClient + "/disable", null))) {
      assertProblem(request, 404, "urn:frontline:problem:not-found");
    }
    assertThat(env.count("SELECT count(*) FROM partner_credential WHERE client_id = ?::uuid", hanjiangClient)).isEqualTo(1);
    assertThat(env.count("SELECT count(*) FROM partner_client WHERE id = ?::uuid AND disabled_at IS NULL", hanjiangClient))
        .isEqualTo(1);
    // Not an admin: 403.
    assertProblem(call(env, login(env, "supervisor.tongzhou"), HttpMethod.GET, "/v1/partner-clients/" + hanjiangClient,
        null), 403, "urn:frontline:problem:forbidden");
    // The Nantong admin manages a Tongzhou client, and lists only such clients.
    String nantongClient = ok(call(env, nantongAdmin, HttpMethod.POST, "/v1/partner-clients",
        newClient("Nantong exchange", "client_secret_basic", List.of("events:read"), List.of(TONGZHOU), List.of("SITE"))),
        201).getString("id");
    List<String> listed = new java.util.ArrayList<>();
    String cursor = null;
    do {
      JsonObject page = ok(call(env, nantongAdmin, HttpMethod.GET, "/v1/partner-clients?limit=1"
          + (cursor == null ? "" : "&cursor=" + cursor), null), 200);
      page.getJsonArray("items").forEach(c -> {
        listed.add(((JsonObject) c).getString("id"));
        assertThat(((JsonObject) c).getJsonArray("unitIds")).doesNotContain(HANJIANG.toString());
        assertThat(((JsonObject) c).containsKey("clientSecret")).isFalse();
      });
      cursor = page.getString("nextCursor");
    } while (cursor != null);
    assertThat(listed).contains(nantongClient).doesNotContain(hanjiangClient);
    JsonObject all = ok(call(env, login(env, "admin"), HttpMethod.GET, "/v1/partner-clients?limit=200", null), 200);
    assertThat(all.getJsonArray("items").stream().map(c -> ((JsonObject) c).getString("id")))
        .contains(nantongClient, hanjiangClient);
  }

  @Test
  void aSecretRotatesWithOverlapAndTheOldOneStopsWhenRemoved(TestEnvironment env) {
    JsonObject client = secretClient(env, List.of("events:read"), List.of(TONGZHOU), List.of("SITE"));
    String id = client.getString("id");
    String oldSecret = client.getString("clientSecret");
    String oldCredential = client.getJsonArray("credentials").getJsonObject(0).getString("id");
    String admin = login(env, "admin");

    JsonObject rotated = ok(call(env, admin, HttpMethod.POST, "/v1/partner-clients/" + id + "/credentials",
        new JsonObject()), 200);
    String newSecret = rotated.getString("clientSecret");
    assertThat(newSecret).isNotEqualTo(oldSecret);
    assertThat(rotated.getJsonArray("credentials")).hasSize(2);
    // The overlap: both work.
    ok(tokenWithSecret(env, id, oldSecret, null), 200);
    ok(tokenWithSecret(env, id, newSecret, null), 200);

    ok(call(env, admin, HttpMethod.DELETE, "/v1/partner-clients/" + id + "/credentials/" + oldCredential, null), 200);
    Partners.oauthError(tokenWithSecret(env, id, oldSecret, null), 401, "invalid_client");
    ok(tokenWithSecret(env, id, newSecret, null), 200);
    // The last working credential stays.
    assertProblem(call(env, admin, HttpMethod.DELETE, "/v1/partner-clients/" + id + "/credentials/"
        + rotated.getString("addedCredentialId"), null), 409, "urn:frontline:problem:conflict");
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE object_id = ? AND action IN "
        + "('partner-client.credential.add', 'partner-client.credential.remove')", id)).isEqualTo(2);
  }

  @Test
  void aRotationCanLetThePreviousCredentialsExpire(TestEnvironment env) throws Exception {
    ECKey first = ecKey("2026-a");
    JsonObject client = keyClient(env, List.of("events:read"), List.of(TONGZHOU), List.of("SITE"), first);
    String id = client.getString("id");
    ECKey second = ecKey("2026-b");
    JsonObject rotated = ok(call(env, login(env, "admin"), HttpMethod.POST, "/v1/partner-clients/" + id + "/credentials",
        new JsonObject().put("jwk", new JsonObject(second.toPublicJWK().toJSONObject())).put("previousExpireInSeconds", 0)),
        200);
    assertThat(rotated.getJsonArray("credentials")).hasSize(1);
    assertThat(rotated.getJsonArray("credentials").getJsonObject(0).getString("kid")).isEqualTo("2026-b");
    Partners.oauthError(Partners.tokenWithAssertion(env, Partners.assertion(env, first, id), null), 401, "invalid_client");
    ok(Partners.tokenWithAssertion(env, Partners.assertion(env, second, id), null), 200);
  }

  /**
   * A key whose overlap ended is no longer live, so its kid may name a new key (a partner that keeps one kid across
   * rotations). It kept the kid in the live-kid index: 422, and GET listed no credential the admin could remove.
   */
  @Test
  void theKidOfAnExpiredKeyMayNameANewKey(TestEnvironment env) throws Exception {
    ECKey old = ecKey("main");
    String id = keyClient(env, List.of("events:read"), List.of(TONGZHOU), List.of("SITE"), old).getString("id");
    String admin = login(env, "admin");
    ok(call(env, admin, HttpMethod.POST, "/v1/partner-clients/" + id + "/credentials", new JsonObject()
        .put("jwk", new JsonObject(ecKey("interim").toPublicJWK().toJSONObject())).put("previousExpireInSeconds", 0)), 200);
    ECKey renewed = ecKey("main");
    JsonObject added = ok(call(env, admin, HttpMethod.POST, "/v1/partner-clients/" + id + "/credentials",
        new JsonObject().put("jwk", new JsonObject(renewed.toPublicJWK().toJSONObject()))), 200);
    assertThat(added.getJsonArray("credentials").stream().map(c -> ((JsonObject) c).getString("kid")))
        .containsExactlyInAnyOrder("interim", "main");
    assertThat(env.count("SELECT count(*) FROM partner_credential WHERE client_id = ?::uuid AND kid = 'main' "
        + "AND removed_at IS NULL", id)).isEqualTo(1);
    assertThat(env.count("SELECT count(*) FROM partner_credential WHERE client_id = ?::uuid AND kid = 'main' "
        + "AND removed_at = expires_at", id)).isEqualTo(1);
    ok(Partners.tokenWithAssertion(env, Partners.assertion(env, renewed, id), null), 200);
    Partners.oauthError(Partners.tokenWithAssertion(env, Partners.assertion(env, old, id), null), 401, "invalid_client");
    // A live kid still names one key only.
    assertProblem(call(env, admin, HttpMethod.POST, "/v1/partner-clients/" + id + "/credentials",
        new JsonObject().put("jwk", new JsonObject(ecKey("main").toPublicJWK().toJSONObject()))), 422, UNPROCESSABLE);
  }

  static final String NANTONG_ADMIN = "admin.partners.nantong";

  @Test
  void anAdminChangesAGrantWithinTheirScopeAuditedAndANarrowerGrantActsAtOnce(TestEnvironment env) {
    JsonObject client = secretClient(env, List.of("reports:read", "events:read"), List.of(HANJIANG, TONGZHOU),
        List.of("SITE"));
    String id = client.getString("id");
    String oldToken = Partners.partnerToken(env, client);
    assertThat(call(env, oldToken, HttpMethod.GET, "/v1/partner/reports", null).statusCode()).isEqualTo(200);

    JsonObject grant = new JsonObject().put("scopes", new JsonArray().add("events:read").add("figures:write"))
        .put("unitIds", new JsonArray().add(TONGZHOU.toString())).put("reportTypes", new JsonArray().add("SITE").add("MILESTONE_PROGRESS"));
    JsonObject changed = ok(call(env, login(env, "admin"), HttpMethod.PUT, "/v1/partner-clients/" + id + "/grant", grant), 200);
    assertThat(changed.getJsonArray("scopes")).containsExactly("events:read", "figures:write");
    assertThat(changed.getJsonArray("unitIds")).containsExactly(TONGZHOU.toString());
    assertThat(changed.getJsonArray("reportTypes")).containsExactly("SITE", "MILESTONE_PROGRESS");
    assertThat(changed.getJsonArray("credentials")).hasSize(1);
    assertThat(env.string("SELECT array_to_string(scopes, ' ') || '|' || array_to_string(unit_ids, ' ') FROM partner_client "
        + "WHERE id = ?::uuid", id)).isEqualTo("events:read figures:write|" + TONGZHOU);
    JsonObject details = new JsonObject(env.string("SELECT details::text FROM audit_log WHERE action = "
        + "'partner-client.grant.change' AND object_id = ?", id));
    assertThat(details.getJsonObject("before").getJsonArray("scopes")).containsExactly("reports:read", "events:read");
    assertThat(details.getJsonObject("after").getJsonArray("unitIds")).containsExactly(TONGZHOU.toString());

    // The token issued before: reports:read is gone at once; figures:write is not in it (only new tokens get it).
    assertProblem(call(env, oldToken, HttpMethod.GET, "/v1/partner/reports", null), 403, "urn:frontline:problem:forbidden");
    JsonObject figure = new JsonObject().put("unitId", TONGZHOU.toString()).put("metric", "count")
        .put("period", new JsonObject().put("from", "2026-10-01").put("to", "2026-11-01")).put("value", "1")
        .put("unitOfMeasure", "count");
    assertProblem(await(env.client().post("/v1/partner/figures").putHeader("Authorization", "Bearer " + oldToken)
        .putHeader("Idempotency-Key", "grant-1").sendJsonObject(figure)), 403, "urn:frontline:problem:forbidden");
    String newToken = Partners.partnerToken(env, client);
    assertThat(await(env.client().post("/v1/partner/figures").putHeader("Authorization", "Bearer " + newToken)
        .putHeader("Idempotency-Key", "grant-1").sendJsonObject(figure)).statusCode()).isEqualTo(201);
  }

  /**
   * The units of a token and of the grant are subtrees: a token issued for Hanjiang under a grant narrowed to Huaisi
   * (inside Hanjiang) reads Huaisi, and a token issued for Huaisi under a grant widened to Hanjiang keeps Huaisi
   * (the rest of Hanjiang only for new tokens). Comparing unit ids, both tokens lost every unit.
   */
  @Test
  void aTokenKeepsWhatBothItAndTheChangedGrantCoverAsSubtrees(TestEnvironment env) {
    UUID huaisi = Partners.report(env, "officer.xu", HUAISI);
    UUID hanjiang = Partners.report(env, "supervisor.hanjiang", HANJIANG);
    String admin = login(env, "admin");

    JsonObject narrowed = secretClient(env, List.of("reports:read"), List.of(HANJIANG), List.of("SITE"));
    String hanjiangToken = Partners.partnerToken(env, narrowed);
    ok(call(env, admin, HttpMethod.PUT, "/v1/partner-clients/" + narrowed.getString("id") + "/grant", grant(HUAISI)), 200);
    assertThat(ok(call(env, hanjiangToken, HttpMethod.GET, "/v1/partner/reports/" + huaisi, null), 200)
        .getString("unitId")).isEqualTo(HUAISI.toString());
    assertProblem(call(env, hanjiangToken, HttpMethod.GET, "/v1/partner/reports/" + hanjiang, null), 404,
        "urn:frontline:problem:not-found");
    assertThat(reportIds(call(env, hanjiangToken, HttpMethod.GET, "/v1/partner/reports?limit=200", null)))
        .contains(huaisi.toString()).doesNotContain(hanjiang.toString());

    JsonObject widened = secretClient(env, List.of("reports:read"), List.of(HUAISI), List.of("SITE"));
    String huaisiToken = Partners.partnerToken(env, widened);
    ok(call(env, admin, HttpMethod.PUT, "/v1/partner-clients/" + widened.getString("id") + "/grant", grant(HANJIANG)), 200);
    ok(call(env, huaisiToken, HttpMethod.GET, "/v1/partner/reports/" + huaisi, null), 200);
    assertProblem(call(env, huaisiToken, HttpMethod.GET, "/v1/partner/reports/" + hanjiang, null), 404,
        "urn:frontline:problem:not-found");
    ok(call(env, Partners.partnerToken(env, widened), HttpMethod.GET, "/v1/partner/reports/" + hanjiang, null), 200);
  }

  private static JsonObject grant(UUID unit) {
    return new JsonObject().put("scopes", new JsonArray().add("reports:read"))
        .put("unitIds", new JsonArray().add(unit.toString())).put("reportTypes", new JsonArray().add("SITE"));
  }

  private static List<String> reportIds(HttpResponse<Buffer> page) {
    return ok(page, 200).getJsonArray("items").stream().map(i -> ((JsonObject) i).getString("id")).toList();
  }

  @Test
  void aGrantChangeStaysWithinTheAdminsScope(TestEnvironment env) {
    String nantongAdmin = nantongAdmin(env);
    String tongzhouClient = ok(call(env, nantongAdmin, HttpMethod.POST, "/v1/partner-clients",
        newClient("Nantong grant", "client_secret_basic", List.of("events:read"), List.of(TONGZHOU), List.of("SITE"))),
        201).getString("id");
    JsonObject wider = new JsonObject().put("scopes", new JsonArray().add("events:read"))
        .put("unitIds", new JsonArray().add(TONGZHOU.toString()).add(HANJIANG.toString()))
        .put("reportTypes", new JsonArray().add("SITE"));
    JsonObject problem = assertProblem(call(env, nantongAdmin, HttpMethod.PUT, "/v1/partner-clients/" + tongzhouClient
        + "/grant", wider), 422, UNPROCESSABLE);
    assertThat(problem.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/unitIds/1");
    // The index is the body's: a repeated unit before it (dropped as a duplicate) does not shift it.
    JsonObject repeated = wider.copy().put("unitIds", new JsonArray().add(TONGZHOU.toString()).add(TONGZHOU.toString())
        .add(HANJIANG.toString()));
    assertThat(assertProblem(call(env, nantongAdmin, HttpMethod.PUT, "/v1/partner-clients/" + tongzhouClient + "/grant",
        repeated), 422, UNPROCESSABLE).getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/unitIds/2");
    assertThat(assertProblem(call(env, nantongAdmin, HttpMethod.POST, "/v1/partner-clients", newClient("Repeated units",
        "client_secret_basic", List.of("events:read"), List.of(TONGZHOU, TONGZHOU, HANJIANG), List.of("SITE"))), 422,
        UNPROCESSABLE).getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/unitIds/2");
    assertThat(env.count("SELECT count(*) FROM partner_client WHERE name = 'Repeated units'")).isZero();
    assertThat(env.string("SELECT array_to_string(unit_ids, ' ') FROM partner_client WHERE id = ?::uuid", tongzhouClient))
        .isEqualTo(TONGZHOU.toString());

    // A client the admin does not manage (a Hanjiang unit): 404, unchanged; not an admin: 403.
    String hanjiangClient = secretClient(env, List.of("events:read"), List.of(HANJIANG), List.of("SITE")).getString("id");
    JsonObject narrow = wider.copy().put("unitIds", new JsonArray().add(TONGZHOU.toString()));
    assertProblem(call(env, nantongAdmin, HttpMethod.PUT, "/v1/partner-clients/" + hanjiangClient + "/grant", narrow),
        404, "urn:frontline:problem:not-found");
    assertProblem(call(env, login(env, "supervisor.hanjiang"), HttpMethod.PUT, "/v1/partner-clients/" + hanjiangClient
        + "/grant", narrow), 403, "urn:frontline:problem:forbidden");
    assertThat(env.string("SELECT array_to_string(unit_ids, ' ') FROM partner_client WHERE id = ?::uuid", hanjiangClient))
        .isEqualTo(HANJIANG.toString());
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'partner-client.grant.change' AND object_id IN (?, ?)",
        tongzhouClient, hanjiangClient)).isZero();
  }

  static String nantongAdmin(TestEnvironment env) {
    if (env.count("SELECT count(*) FROM account WHERE username = ?", NANTONG_ADMIN) == 0) {
      ok(call(env, login(env, "admin"), HttpMethod.POST, "/v1/accounts", new JsonObject().put("username", NANTONG_ADMIN)
          .put("displayName", "Nantong Admin").put("roles", new JsonArray().add("admin"))
          .put("homeUnitId", NANTONG.toString()).put("password", "Nantong-Admin-2026")), 201);
    }
    return login(env, NANTONG_ADMIN, "Nantong-Admin-2026");
  }

  /**
   * A client disabled by an admin whose scope is one unit, waiting for the client's lock (another admin's change of it
   * under way) while its granted unit moves into that scope, is disabled. The client was locked by the statement that
   * checked its grant against the scope: the unit, outside the scope as that statement saw it, kept the client from
   * being found (a 404 at once).
   */
  @Test
  void aDisableWaitingWhileTheGrantedUnitMovesIntoTheCallersScopeIsApplied(TestEnvironment env) throws Exception {
    UUID covered = ScopeMoves.unit(env, TONGZHOU);
    ScopeMoves.ScopedCaller admin = ScopeMoves.caller(env, covered, "admin");
    UUID unit = ScopeMoves.unit(env, HANJIANG);
    String client = secretClient(env, List.of("reports:read"), List.of(unit), List.of("SITE")).getString("id");
    JsonObject disabled = ok(ScopeMoves.whileHeld(env, st -> {
      st.execute("SELECT 1 FROM partner_client WHERE id = '" + client + "' FOR UPDATE");
      ScopeMoves.move(st, unit, covered);
    }, "%FROM partner_client%FOR UPDATE%", () -> call(env, admin.token(), HttpMethod.POST,
        "/v1/partner-clients/" + client + "/disable", null)), 200);
    assertThat(disabled.getString("disabledAt")).isNotNull();
    assertThat(env.count("SELECT count(*) FROM partner_client WHERE id = ?::uuid AND disabled_at IS NOT NULL", client))
        .isEqualTo(1);
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'partner-client.disable' AND object_id = ?",
        client)).isEqualTo(1);
  }

  /**
   * The other way: a client whose granted unit moved out of the admin's scope while the disable waited is 404 and
   * stays enabled. The locking statement re-ran the grant's check against the unit as it had first read it, still in
   * the scope, and disabled a client the admin no longer manages.
   */
  @Test
  void aDisableWaitingWhileTheGrantedUnitMovesOutOfTheCallersScopeIs404(TestEnvironment env) throws Exception {
    UUID covered = ScopeMoves.unit(env, TONGZHOU);
    ScopeMoves.ScopedCaller admin = ScopeMoves.caller(env, covered, "admin");
    UUID unit = ScopeMoves.unit(env, covered);
    String client = secretClient(env, List.of("reports:read"), List.of(unit), List.of("SITE")).getString("id");
    assertProblem(ScopeMoves.whileHeld(env, st -> {
      st.execute("SELECT 1 FROM partner_client WHERE id = '" + client + "' FOR UPDATE");
      ScopeMoves.move(st, unit, HANJIANG);
    }, "%FROM partner_client%FOR UPDATE%", () -> call(env, admin.token(), HttpMethod.POST,
        "/v1/partner-clients/" + client + "/disable", null)), 404, "urn:frontline:problem:not-found");
    assertThat(env.count("SELECT count(*) FROM partner_client WHERE id = ?::uuid AND disabled_at IS NULL", client))
        .isEqualTo(1);
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'partner-client.disable' AND object_id = ?",
        client)).isZero();
  }
}
