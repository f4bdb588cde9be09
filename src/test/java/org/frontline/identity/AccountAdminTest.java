package org.frontline.identity;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.ScopeMoves;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HANJIANG;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.dev.DemoOrganisation.JIANGSU;
import static org.frontline.dev.DemoOrganisation.NANTONG;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.identity.Admin.call;
import static org.frontline.identity.Admin.count;
import static org.frontline.identity.Admin.get;
import static org.frontline.identity.Admin.ok;
import static org.frontline.identity.Admin.post;
import static org.frontline.identity.Admin.string;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.testing.TestEnvironment.await;

@FrontlineTest
class AccountAdminTest {
  static final String PASSWORD = "Field-work-2026";

  private static JsonObject newAccount(String username, UUID home) {
    return new JsonObject().put("username", username).put("displayName", "测试 " + username)
        .put("roles", new JsonArray().add("officer")).put("homeUnitId", home.toString()).put("password", PASSWORD);
  }

  private static UUID create(TestEnvironment env, String token, JsonObject body) {
    return UUID.fromString(ok(post(env, token, "/v1/accounts", body), 201).getString("id"));
  }

  private static String covered(TestEnvironment env, UUID account) throws Exception {
    return string(env, "SELECT string_agg(unit_id::text, ',' ORDER BY unit_id) FROM account_scope WHERE account_id = ?",
        account);
  }

  private static String sorted(UUID... ids) {
    return java.util.Arrays.stream(ids).map(UUID::toString).sorted().reduce((a, b) -> a + "," + b).orElse("");
  }

  @Test
  void createStoresTheAccountAHashAndItsCoverage(TestEnvironment env) throws Exception {
    HttpResponse<Buffer> r = post(env, Admin.token(env, "admin"), "/v1/accounts", newAccount("officer.wang", HUAISI)
        .put("coveredUnitIds", new JsonArray().add(TONGZHOU.toString())).put("roles", new JsonArray().add("officer")
            .add("supervisor")));
    JsonObject account = ok(r, 201);
    UUID id = UUID.fromString(account.getString("id"));
    assertThat(r.getHeader("Location")).isEqualTo("/v1/accounts/" + id);
    assertThat(account.getString("locale")).isEqualTo("zh-CN");
    assertThat(account.getValue("disabledAt")).isNull();
    assertThat(account.containsKey("password")).isFalse();
    assertThat(string(env, "SELECT username || '|' || display_name || '|' || locale || '|' || array_to_string(roles, ',') "
        + "|| '|' || home_unit_id FROM account WHERE id = ?", id))
        .isEqualTo("officer.wang|测试 officer.wang|zh-CN|officer,supervisor|" + HUAISI);
    assertThat(string(env, "SELECT password_hash FROM account WHERE id = ?", id)).startsWith("$argon2id$");
    assertThat(covered(env, id)).isEqualTo(sorted(HUAISI, TONGZHOU));
    assertThat(account.getJsonArray("coveredUnitIds").size()).isEqualTo(2);
    Admin.token(env, "officer.wang", PASSWORD);
  }

  @Test
  void aPasswordBreakingThePolicyIsRefused(TestEnvironment env) throws Exception {
    String admin = Admin.token(env, "admin");
    for (String password : List.of("xx-officer.policy-xx", "abcdefghijklmnop", "1234567890123", "zzzzzzzzzzzzzz")) {
      JsonObject p = assertProblem(post(env, admin, "/v1/accounts", newAccount("officer.policy", HUAISI)
          .put("password", password)), 422, "urn:frontline:problem:unprocessable");
      assertThat(p.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/password");
    }
    JsonObject tooShort = assertProblem(post(env, admin, "/v1/accounts", newAccount("officer.policy", HUAISI)
        .put("password", "Short-1")), 400, "urn:frontline:problem:validation-failed");
    // Named once: the contract's Password is a $ref, whose "A subschema had errors" at the same field is a wrapper.
    assertThat(tooShort.getJsonArray("errors").stream().map(e -> ((JsonObject) e).getString("field")))
        .containsExactly("body/password");
    assertThat(count(env, "SELECT count(*) FROM account WHERE username = 'officer.policy'")).isZero();
  }

  @Test
  void aTakenUsernameIs409(TestEnvironment env) throws Exception {
    assertProblem(post(env, Admin.token(env, "admin"), "/v1/accounts", newAccount("officer.xu", HANJIANG)), 409,
        "urn:frontline:problem:conflict");
    assertThat(string(env, "SELECT home_unit_id::text FROM account WHERE username = 'officer.xu'"))
        .isEqualTo(HUAISI.toString());
  }

  @Test
  void unitsOutsideTheScopeAre422NamingTheField(TestEnvironment env) throws Exception {
    String nantong = Admin.nantongAdmin(env);
    JsonObject home = assertProblem(post(env, nantong, "/v1/accounts", newAccount("officer.out", HUAISI)), 422,
        "urn:frontline:problem:unprocessable");
    assertThat(home.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/homeUnitId");
    JsonObject cover = assertProblem(post(env, nantong, "/v1/accounts", newAccount("officer.out", TONGZHOU)
        .put("coveredUnitIds", new JsonArray().add(TONGZHOU.toString()).add(HANJIANG.toString()))), 422,
        "urn:frontline:problem:unprocessable");
    assertThat(cover.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/coveredUnitIds/1");
    assertThat(count(env, "SELECT count(*) FROM account WHERE username = 'officer.out'")).isZero();
  }

  @Test
  void listShowsTheAccountsAtHomeInTheScopePageByPage(TestEnvironment env) {
    String nantong = Admin.nantongAdmin(env);
    List<String> seen = new ArrayList<>();
    String cursor = null;
    do {
      JsonObject page = ok(get(env, nantong, "/v1/accounts?limit=2" + (cursor == null ? "" : "&cursor=" + cursor)), 200);
      assertThat(page.getJsonArray("items").size()).isLessThanOrEqualTo(2);
      page.getJsonArray("items").forEach(o -> seen.add(((JsonObject) o).getString("username")));
      cursor = page.getString("nextCursor");
    } while (cursor != null);
    assertThat(seen).containsExactly("admin.nantong", "assessor.tongzhou", "officer.zhang", "supervisor.tongzhou");
  }

  @Test
  void getReturnsTheAccount(TestEnvironment env) {
    JsonObject a = ok(get(env, Admin.token(env, "admin"), "/v1/accounts/" + Admin.account("officer.xu")), 200);
    assertThat(a.getString("username")).isEqualTo("officer.xu");
    assertThat(a.getString("homeUnitId")).isEqualTo(HUAISI.toString());
    assertThat(a.getJsonArray("coveredUnitIds")).isEqualTo(new JsonArray().add(HUAISI.toString()));
    assertThat(a.getJsonArray("roles")).isEqualTo(new JsonArray().add("officer"));
  }

  @Test
  void updateChangesOnlyWhatIsSentAndKeepsCoverageOutsideTheScope(TestEnvironment env) throws Exception {
    String admin = Admin.token(env, "admin");
    UUID id = create(env, admin, newAccount("supervisor.both", TONGZHOU)
        .put("coveredUnitIds", new JsonArray().add(HANJIANG.toString())));
    JsonObject updated = ok(call(env, Admin.nantongAdmin(env), HttpMethod.PATCH, "/v1/accounts/" + id, new JsonObject()
        .put("displayName", "Both Ways").put("locale", "en").put("roles", new JsonArray().add("officer"))
        .put("homeUnitId", NANTONG.toString()).put("coveredUnitIds", new JsonArray())), 200);
    assertThat(updated.getString("displayName")).isEqualTo("Both Ways");
    assertThat(string(env, "SELECT display_name || '|' || locale || '|' || array_to_string(roles, ',') || '|' || home_unit_id "
        + "FROM account WHERE id = ?", id)).isEqualTo("Both Ways|en|officer|" + NANTONG);
    // Tongzhou (in the Nantong admin's scope, not listed) is dropped; Hanjiang (outside it) stays; the home is covered.
    assertThat(covered(env, id)).isEqualTo(sorted(NANTONG, HANJIANG));
    ok(call(env, admin, HttpMethod.PATCH, "/v1/accounts/" + id, new JsonObject().put("displayName", "Only Name")), 200);
    assertThat(string(env, "SELECT locale FROM account WHERE id = ?", id)).isEqualTo("en");
    assertThat(covered(env, id)).isEqualTo(sorted(NANTONG, HANJIANG));
  }

  @Test
  void anAccountCoveringUnitsOutsideTheScopeCannotBeTakenOverOrEmpowered(TestEnvironment env) throws Exception {
    // Review: the Nantong admin could reset the password of (or make an admin of) an account whose home is in
    // Nantong but which also covers Hanjiang, then log in as it and act in Hanjiang, outside its own scope.
    String admin = Admin.token(env, "admin");
    String nantong = Admin.nantongAdmin(env);
    UUID id = create(env, admin, newAccount("supervisor.twocities", TONGZHOU)
        .put("roles", new JsonArray().add("supervisor").add("assessor"))
        .put("coveredUnitIds", new JsonArray().add(HANJIANG.toString())));
    String before = Admin.row(env, "account", id);
    assertProblem(post(env, nantong, "/v1/accounts/" + id + "/password",
        new JsonObject().put("password", "Taken-over-2026")), 403, "urn:frontline:problem:forbidden");
    assertProblem(call(env, nantong, HttpMethod.PATCH, "/v1/accounts/" + id, new JsonObject()
        .put("roles", new JsonArray().add("supervisor").add("assessor").add("admin"))), 403,
        "urn:frontline:problem:forbidden");
    assertThat(Admin.row(env, "account", id)).isEqualTo(before);
    // what only takes power away stays open to the admins of its home unit; giving it back does not
    ok(post(env, nantong, "/v1/accounts/" + id + "/disable", null), 200);
    assertProblem(post(env, nantong, "/v1/accounts/" + id + "/enable", null), 403, "urn:frontline:problem:forbidden");
    ok(call(env, nantong, HttpMethod.PATCH, "/v1/accounts/" + id, new JsonObject().put("displayName", "Two Cities")
        .put("roles", new JsonArray().add("supervisor"))), 200);
    assertThat(string(env, "SELECT array_to_string(roles, ',') FROM account WHERE id = ?", id)).isEqualTo("supervisor");
    assertProblem(call(env, nantong, HttpMethod.PATCH, "/v1/accounts/" + id, new JsonObject()
        .put("roles", new JsonArray().add("supervisor").add("assessor"))), 403, "urn:frontline:problem:forbidden");
    assertThat(string(env, "SELECT array_to_string(roles, ',') FROM account WHERE id = ?", id)).isEqualTo("supervisor");
    // the province admin, whose scope holds both cities, may do all of it
    ok(post(env, admin, "/v1/accounts/" + id + "/enable", null), 200);
    ok(post(env, admin, "/v1/accounts/" + id + "/password", new JsonObject().put("password", "Reset-by-province-2026")), 204);
    ok(call(env, admin, HttpMethod.PATCH, "/v1/accounts/" + id, new JsonObject()
        .put("roles", new JsonArray().add("supervisor").add("assessor"))), 200);
  }

  /**
   * Review: the province admin disabled a Tongzhou officer (for cause), and Nantong's admin, whose scope holds every
   * unit the officer covers, enabled it again. Enabling now also needs every unit of the disabling admin in scope
   * (403, the row and the audit log unchanged); the province admin may, and a disable by Nantong's admin stays
   * Nantong's to undo. Who disabled is recorded (disabled_by) and cleared on enabling.
   */
  @Test
  void anAccountDisabledByAHigherAdminIsNotEnabledByALowerOne(TestEnvironment env) throws Exception {
    String admin = Admin.token(env, "admin");
    String nantong = Admin.nantongAdmin(env);
    UUID id = create(env, admin, newAccount("officer.for-cause", TONGZHOU));
    ok(post(env, admin, "/v1/accounts/" + id + "/disable", null), 200);
    assertThat(string(env, "SELECT disabled_by::text FROM account WHERE id = ?", id))
        .isEqualTo(Admin.account("admin").toString());
    String before = Admin.row(env, "account", id);

    JsonObject p = assertProblem(post(env, nantong, "/v1/accounts/" + id + "/enable", null), 403,
        "urn:frontline:problem:forbidden");
    assertThat(p.getString("detail")).contains("disabled by an admin whose scope holds units outside yours");
    assertThat(Admin.row(env, "account", id)).isEqualTo(before);
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE object_id = ? AND action = 'account.enable'",
        id.toString())).isZero();
    assertProblem(Tokens.login(env, "officer.for-cause", PASSWORD), 401, "urn:frontline:problem:unauthorized");

    assertThat(ok(post(env, admin, "/v1/accounts/" + id + "/enable", null), 200).getValue("disabledAt")).isNull();
    assertThat(string(env, "SELECT coalesce(disabled_by::text, 'none') FROM account WHERE id = ?", id)).isEqualTo("none");
    // Nantong's own disable is Nantong's to undo
    ok(post(env, nantong, "/v1/accounts/" + id + "/disable", null), 200);
    ok(post(env, nantong, "/v1/accounts/" + id + "/enable", null), 200);
    assertThat(count(env, "SELECT count(*) FROM account WHERE id = ? AND disabled_at IS NULL", id)).isEqualTo(1);
  }

  @Test
  void disableEndsEverySessionAtOnceAndEnableRestoresLogin(TestEnvironment env) throws Exception {
    String admin = Admin.token(env, "admin");
    UUID id = create(env, admin, newAccount("officer.gone", HUAISI));
    JsonObject first = Tokens.login(env, "officer.gone", PASSWORD).bodyAsJsonObject();
    JsonObject second = Tokens.login(env, "officer.gone", PASSWORD).bodyAsJsonObject();
    assertThat(Tokens.me(env, first.getString("access_token")).statusCode()).isEqualTo(200);

    JsonObject disabled = ok(post(env, admin, "/v1/accounts/" + id + "/disable", null), 200);
    assertThat(disabled.getString("disabledAt")).isNotNull();
    assertThat(count(env, "SELECT count(*) FROM account WHERE id = ? AND disabled_at IS NOT NULL", id)).isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM refresh_token WHERE account_id = ? AND revoked_at IS NULL", id)).isZero();
    assertThat(count(env, "SELECT count(DISTINCT family_id) FROM refresh_token WHERE account_id = ?", id)).isEqualTo(2);
    // The access tokens, still unexpired, stop working at once.
    assertProblem(Tokens.me(env, first.getString("access_token")), 401, "urn:frontline:problem:unauthorized");
    assertProblem(Tokens.me(env, second.getString("access_token")), 401, "urn:frontline:problem:unauthorized");
    assertProblem(await(env.client().post("/v1/auth/refresh").sendJsonObject(new JsonObject()
        .put("refresh_token", first.getString("refresh_token")))), 401, "urn:frontline:problem:invalid-grant");
    assertProblem(Tokens.login(env, "officer.gone", PASSWORD), 401, "urn:frontline:problem:unauthorized");

    JsonObject enabled = ok(post(env, admin, "/v1/accounts/" + id + "/enable", null), 200);
    assertThat(enabled.getValue("disabledAt")).isNull();
    assertThat(count(env, "SELECT count(*) FROM account WHERE id = ? AND disabled_at IS NULL", id)).isEqualTo(1);
    Admin.token(env, "officer.gone", PASSWORD);
  }

  /** A flaky client's repeats: the account is disabled (enabled) once, and the log says so once. */
  @Test
  void repeatedDisableAndEnableChangeAndAuditOnce(TestEnvironment env) throws Exception {
    String admin = Admin.token(env, "admin");
    UUID id = create(env, admin, newAccount("officer.twice", HUAISI));
    String disabledAt = ok(post(env, admin, "/v1/accounts/" + id + "/disable", null), 200).getString("disabledAt");
    String row = Admin.row(env, "account", id);
    assertThat(ok(post(env, admin, "/v1/accounts/" + id + "/disable", null), 200).getString("disabledAt"))
        .isEqualTo(disabledAt);
    assertThat(Admin.row(env, "account", id)).isEqualTo(row);
    ok(post(env, admin, "/v1/accounts/" + id + "/enable", null), 200);
    row = Admin.row(env, "account", id);
    assertThat(ok(post(env, admin, "/v1/accounts/" + id + "/enable", null), 200).getValue("disabledAt")).isNull();
    assertThat(Admin.row(env, "account", id)).isEqualTo(row);
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE object_id = ? AND action = 'account.disable'",
        id.toString())).isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE object_id = ? AND action = 'account.enable'",
        id.toString())).isEqualTo(1);
  }

  /** A flaky client's repeated PATCH changes nothing the second time, updatedAt and the log included. */
  @Test
  void aRepeatedUpdateChangesAndAuditsOnce(TestEnvironment env) throws Exception {
    String admin = Admin.token(env, "admin");
    UUID id = create(env, admin, newAccount("officer.patched", HUAISI));
    JsonObject patch = new JsonObject().put("displayName", "Patched Once").put("roles", new JsonArray().add("officer")
        .add("assessor")).put("coveredUnitIds", new JsonArray().add(TONGZHOU.toString()));
    JsonObject first = ok(call(env, admin, HttpMethod.PATCH, "/v1/accounts/" + id, patch), 200);
    String row = Admin.row(env, "account", id);
    String coverage = covered(env, id);
    assertThat(ok(call(env, admin, HttpMethod.PATCH, "/v1/accounts/" + id, patch), 200)).isEqualTo(first);
    assertThat(Admin.row(env, "account", id)).isEqualTo(row);
    assertThat(covered(env, id)).isEqualTo(coverage).isEqualTo(sorted(HUAISI, TONGZHOU));
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE object_id = ? AND action = 'account.update'",
        id.toString())).isEqualTo(1);
  }

  @Test
  void anAdminCannotDisableItself(TestEnvironment env) throws Exception {
    UUID admin = Admin.account("admin");
    assertProblem(post(env, Admin.token(env, "admin"), "/v1/accounts/" + admin + "/disable", null), 422,
        "urn:frontline:problem:unprocessable");
    assertThat(count(env, "SELECT count(*) FROM account WHERE id = ? AND disabled_at IS NULL", admin)).isEqualTo(1);
  }

  /**
   * Review: the organisation's last admin covering the root could take the admin role from itself, or uncover the
   * root, and a Nantong admin could disable it (it is at home in Nantong): nobody could then manage the root, rotate
   * the signing keys or give anyone that power again. Each is refused while no other such admin is enabled.
   */
  @Test
  void theLastAdminOfTheWholeOrganisationCannotBeDemotedUncoveredOrDisabled(TestEnvironment env) throws Exception {
    String nantong = Admin.nantongAdmin(env);
    UUID last = create(env, Admin.token(env, "admin"), newAccount("admin.last", NANTONG)
        .put("roles", new JsonArray().add("admin")).put("coveredUnitIds", new JsonArray().add(JIANGSU.toString())));
    String token = Admin.token(env, "admin.last", PASSWORD);
    List<UUID> others = new ArrayList<>();
    try (var c = env.jdbc(); var s = c.createStatement(); var rs = s.executeQuery("""
        UPDATE account a SET disabled_at = now() WHERE 'admin' = ANY (a.roles) AND a.disabled_at IS NULL
          AND a.username <> 'admin.last' AND EXISTS (SELECT 1 FROM account_scope s JOIN org_unit u ON u.id = s.unit_id
                                                     WHERE s.account_id = a.id AND u.parent_id IS NULL)
        RETURNING a.id""")) {
      while (rs.next()) {
        others.add(rs.getObject(1, UUID.class));
      }
    }
    try {
      String before = Admin.row(env, "account", last);
      String coverage = covered(env, last);
      JsonObject p = assertProblem(call(env, token, HttpMethod.PATCH, "/v1/accounts/" + last, new JsonObject()
          .put("roles", new JsonArray().add("supervisor"))), 422, "urn:frontline:problem:unprocessable");
      assertThat(p.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/roles");
      p = assertProblem(call(env, token, HttpMethod.PATCH, "/v1/accounts/" + last, new JsonObject()
          .put("coveredUnitIds", new JsonArray())), 422, "urn:frontline:problem:unprocessable");
      assertThat(p.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/coveredUnitIds");
      p = assertProblem(post(env, nantong, "/v1/accounts/" + last + "/disable", null), 422,
          "urn:frontline:problem:unprocessable");
      assertThat(p.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("path/id");
      assertThat(Admin.row(env, "account", last)).isEqualTo(before);
      assertThat(covered(env, last)).isEqualTo(coverage);
      assertThat(count(env, "SELECT count(*) FROM audit_log WHERE object_id = ? AND action IN "
          + "('account.update', 'account.disable')", last.toString())).isZero();
      // what leaves its root coverage alone stays open
      ok(call(env, token, HttpMethod.PATCH, "/v1/accounts/" + last, new JsonObject().put("displayName", "Last")), 200);
    } finally {
      try (var c = env.jdbc(); var ps = c.prepareStatement("UPDATE account SET disabled_at = NULL WHERE id = ANY (?)")) {
        ps.setArray(1, c.createArrayOf("uuid", others.toArray()));
        ps.executeUpdate();
      }
    }
    // with another such admin enabled, it may step down
    assertThat(others).isNotEmpty();
    ok(call(env, token, HttpMethod.PATCH, "/v1/accounts/" + last, new JsonObject()
        .put("roles", new JsonArray().add("supervisor"))), 200);
  }

  @Test
  void passwordResetSetsTheNewPasswordAndEndsSessions(TestEnvironment env) throws Exception {
    String admin = Admin.token(env, "admin");
    UUID id = create(env, admin, newAccount("officer.reset", HUAISI));
    Tokens.login(env, "officer.reset", PASSWORD);
    String oldHash = string(env, "SELECT password_hash FROM account WHERE id = ?", id);
    HttpResponse<Buffer> r = post(env, admin, "/v1/accounts/" + id + "/password",
        new JsonObject().put("password", "Brand-new-secret-9"));
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(204);
    assertThat(string(env, "SELECT password_hash FROM account WHERE id = ?", id)).isNotEqualTo(oldHash);
    assertThat(count(env, "SELECT count(*) FROM refresh_token WHERE account_id = ? AND revoked_at IS NULL", id)).isZero();
    Admin.token(env, "officer.reset", "Brand-new-secret-9");
    JsonObject p = assertProblem(post(env, admin, "/v1/accounts/" + id + "/password",
        new JsonObject().put("password", "my-officer.reset-1")), 422, "urn:frontline:problem:unprocessable");
    assertThat(p.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/password");
  }

  /**
   * Review: a password reset revoked the refresh tokens but not the access tokens (whoever had taken over the account
   * kept acting for up to 15 minutes), and an account disabled and enabled again got its old access tokens back.
   * Both now end every session: access tokens issued before are refused, and the refusal is on record.
   */
  @Test
  void accessTokensIssuedBeforeAPasswordResetOrADisableAreRefusedForGood(TestEnvironment env) throws Exception {
    String admin = Admin.token(env, "admin");
    UUID id = create(env, admin, newAccount("officer.taken", HUAISI));
    String stolen = Tokens.login(env, "officer.taken", PASSWORD).bodyAsJsonObject().getString("access_token");
    assertThat(Tokens.me(env, stolen).statusCode()).isEqualTo(200);

    ok(post(env, admin, "/v1/accounts/" + id + "/password", new JsonObject().put("password", "Reset-after-theft-1")), 204);
    assertRefusedAndAudited(env, stolen, id);
    assertThat(count(env, "SELECT count(*) FROM account WHERE id = ? AND sessions_ended_at IS NOT NULL", id))
        .isEqualTo(1);
    // Disabled and enabled again: what was issued before the disable stays refused.
    nextSecond();
    String before = Admin.token(env, "officer.taken", "Reset-after-theft-1");
    assertThat(Tokens.me(env, before).statusCode()).isEqualTo(200);
    ok(post(env, admin, "/v1/accounts/" + id + "/disable", null), 200);
    ok(post(env, admin, "/v1/accounts/" + id + "/enable", null), 200);
    assertRefusedAndAudited(env, before, id);
    // The owner's new login works (a token is refused only when issued within the second of the reset or earlier).
    nextSecond();
    assertThat(Tokens.me(env, Admin.token(env, "officer.taken", "Reset-after-theft-1")).statusCode()).isEqualTo(200);
  }

  /**
   * Review: a login that had checked the password while an admin's reset of it ran wrote its refresh token just
   * after the reset had revoked every one (the insert waited for the reset's row lock, then went ahead): whoever the
   * reset was to lock out kept a session. The login now reads the account again under a shared lock before it opens
   * a session, finds the password changed, and is refused (and audited) like a wrong password.
   */
  @Test
  void aLoginThatCheckedThePasswordWhileAResetRanOpensNoSession(TestEnvironment env) throws Exception {
    String admin = Admin.token(env, "admin");
    UUID id = create(env, admin, newAccount("officer.racing", HUAISI));
    HttpResponse<Buffer> r;
    try (java.sql.Connection reset = env.jdbc()) {
      reset.setAutoCommit(false);
      try (var st = reset.createStatement()) {
        // What a reset does, in its order, left uncommitted: the row locked, the password changed, sessions ended.
        st.execute("SELECT 1 FROM account WHERE id = '" + id + "' FOR UPDATE");
        st.execute("UPDATE account SET password_hash = 'reset', sessions_ended_at = now() WHERE id = '" + id + "'");
        st.execute("UPDATE refresh_token SET revoked_at = now() WHERE account_id = '" + id + "' AND revoked_at IS NULL");
      }
      var login = env.client().post("/v1/auth/login")
          .sendJsonObject(new JsonObject().put("username", "officer.racing").put("password", PASSWORD));
      // The login checked the old password (committed) and now waits for the reset's lock.
      long deadline = System.nanoTime() + 20_000_000_000L;
      while (count(env, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE ?",
          "%account%") == 0) {
        assertThat(System.nanoTime()).as("the login waits for the reset").isLessThan(deadline);
        Thread.sleep(20);
      }
      reset.commit();
      r = await(login);
    }
    assertProblem(r, 401, "urn:frontline:problem:unauthorized");
    assertThat(count(env, "SELECT count(*) FROM refresh_token WHERE account_id = ? AND revoked_at IS NULL", id)).isZero();
    assertThat(string(env, "SELECT outcome || '|' || (details->>'reason') FROM audit_log WHERE action = 'auth.login.failed'"
        + " AND request_id = ?", r.getHeader("X-Request-Id"))).isEqualTo("FAILURE|sessions-ended");
  }

  /**
   * Review: a refresh spent its token and then, writing the successor, waited for the account's row (the foreign
   * key) that a reset had locked; the reset, revoking the tokens, waited for the spent one: a deadlock, and one of
   * them failed. The refresh now locks the account (shared) before it spends, as a reset locks it before it revokes:
   * it waits for the reset and then finds its token revoked.
   */
  @Test
  void aRefreshWhileAResetRunsWaitsForItAndIsRefused(TestEnvironment env) throws Exception {
    String admin = Admin.token(env, "admin");
    UUID id = create(env, admin, newAccount("officer.refreshing", HUAISI));
    String refreshToken = Tokens.login(env, "officer.refreshing", PASSWORD).bodyAsJsonObject().getString("refresh_token");
    HttpResponse<Buffer> r;
    try (java.sql.Connection reset = env.jdbc()) {
      reset.setAutoCommit(false);
      try (var st = reset.createStatement()) {
        st.execute("SELECT 1 FROM account WHERE id = '" + id + "' FOR UPDATE");
        var refresh = env.client().post("/v1/auth/refresh")
            .sendJsonObject(new JsonObject().put("refresh_token", refreshToken));
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (count(env, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE ?",
            "%refresh_token%") == 0) {
          assertThat(System.nanoTime()).as("the refresh waits for the reset").isLessThan(deadline);
          Thread.sleep(20);
        }
        // The rest of the reset, then its commit: neither waits for the refresh.
        st.execute("UPDATE account SET password_hash = 'reset', sessions_ended_at = now() WHERE id = '" + id + "'");
        st.execute("UPDATE refresh_token SET revoked_at = now() WHERE account_id = '" + id + "' AND revoked_at IS NULL");
        reset.commit();
        r = await(refresh);
      }
    }
    assertProblem(r, 401, "urn:frontline:problem:invalid-grant");
    assertThat(count(env, "SELECT count(*) FROM refresh_token WHERE account_id = ? AND revoked_at IS NULL", id)).isZero();
    assertThat(count(env, "SELECT count(*) FROM refresh_token WHERE account_id = ? AND used_at IS NOT NULL", id)).isZero();
  }

  private static void assertRefusedAndAudited(TestEnvironment env, String token, UUID account) throws Exception {
    HttpResponse<Buffer> r = Tokens.me(env, token);
    assertProblem(r, 401, "urn:frontline:problem:unauthorized");
    assertThat(string(env, "SELECT actor_id || '|' || outcome || '|' || (details->>'reason') FROM audit_log "
        + "WHERE action = 'auth.token.rejected' AND request_id = ?", r.getHeader("X-Request-Id")))
        .isEqualTo(account + "|DENIED|issued before the account's sessions were ended");
  }

  /** Waits into the next second: token times (iat) are whole seconds. */
  private static void nextSecond() throws InterruptedException {
    Thread.sleep(1001 - System.currentTimeMillis() % 1000);
  }

  /**
   * A change to an account while another admin's change of its home unit is under way waits for it and then applies.
   * The account was locked by the statement that read it with its scope check (its home unit joined): once the other
   * change committed, PostgreSQL re-checked the locked row's new version against the old home unit's row, found no
   * row, and the disable was a 404 "no account", not stored.
   */
  @Test
  void aDisableWaitingForAChangeOfTheHomeUnitIsApplied(TestEnvironment env) throws Exception {
    String admin = Admin.token(env, "admin");
    UUID id = create(env, admin, newAccount("officer.moving", HUAISI));
    try (java.sql.Connection moving = env.jdbc(); java.sql.Statement s = moving.createStatement()) {
      moving.setAutoCommit(false);
      // What PATCH /v1/accounts/{id} with a new homeUnitId writes, not yet committed.
      s.executeUpdate("UPDATE account SET home_unit_id = '" + HANJIANG + "', updated_at = now() WHERE id = '" + id + "'");
      java.util.concurrent.CompletableFuture<HttpResponse<Buffer>> disable = java.util.concurrent.CompletableFuture
          .supplyAsync(() -> post(env, admin, "/v1/accounts/" + id + "/disable", null));
      env.awaitLockWait("%FROM account%FOR UPDATE%", disable);
      moving.commit();
      JsonObject disabled = ok(disable.get(20, java.util.concurrent.TimeUnit.SECONDS), 200);
      assertThat(disabled.getString("disabledAt")).isNotNull();
      assertThat(disabled.getString("homeUnitId")).isEqualTo(HANJIANG.toString());
    }
    assertThat(count(env, "SELECT count(*) FROM account WHERE id = ? AND disabled_at IS NOT NULL AND home_unit_id = ?",
        id, HANJIANG)).isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'account.disable' AND object_id = ?",
        id.toString())).isEqualTo(1);
  }

  /**
   * A change of an account by an admin whose scope is one unit, waiting for the account's lock (another admin's
   * change under way) while that unit moves to another city (the account's home unit with it, below it), is applied:
   * the admin's scope had been read before the lock, the account's home unit after it at its new path, which the
   * old scope path no longer matched (a 404).
   */
  @Test
  void anUpdateWaitingWhileTheCallersOwnUnitMovesIsApplied(TestEnvironment env) throws Exception {
    UUID covered = ScopeMoves.unit(env, TONGZHOU);
    ScopeMoves.ScopedCaller admin = ScopeMoves.caller(env, covered, "admin");
    UUID account = ScopeMoves.caller(env, ScopeMoves.unit(env, covered), "officer").id();
    JsonObject answer = ok(ScopeMoves.whileHeld(env, st -> {
      st.execute("SELECT 1 FROM account WHERE id = '" + account + "' FOR UPDATE");
      ScopeMoves.move(st, covered, HANJIANG);
    }, "%FROM account WHERE id = $1 FOR UPDATE%", () -> call(env, admin.token(), HttpMethod.PATCH,
        "/v1/accounts/" + account, new JsonObject().put("displayName", "Renamed while moving"))), 200);
    assertThat(answer.getString("displayName")).isEqualTo("Renamed while moving");
    assertThat(count(env, "SELECT count(*) FROM account WHERE id = ? AND display_name = 'Renamed while moving'",
        account)).isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'account.update' AND object_id = ?",
        account.toString())).isEqualTo(1);
  }

  /** The other way: an account whose home unit left the admin's scope while its change waited is 404, unchanged. */
  @Test
  void anUpdateWaitingWhileTheHomeUnitMovesOutOfTheCallersScopeIs404(TestEnvironment env) throws Exception {
    UUID covered = ScopeMoves.unit(env, TONGZHOU);
    ScopeMoves.ScopedCaller admin = ScopeMoves.caller(env, covered, "admin");
    UUID home = ScopeMoves.unit(env, covered);
    UUID account = ScopeMoves.caller(env, home, "officer").id();
    String before = Admin.row(env, "account", account);
    assertProblem(ScopeMoves.whileHeld(env, st -> {
      st.execute("SELECT 1 FROM account WHERE id = '" + account + "' FOR UPDATE");
      ScopeMoves.move(st, home, HANJIANG);
    }, "%FROM account WHERE id = $1 FOR UPDATE%", () -> call(env, admin.token(), HttpMethod.PATCH,
        "/v1/accounts/" + account, new JsonObject().put("displayName", "Renamed while moving"))), 404,
        "urn:frontline:problem:not-found");
    assertThat(Admin.row(env, "account", account)).isEqualTo(before);
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'account.update' AND object_id = ?",
        account.toString())).isZero();
  }

  /**
   * An account made by an admin whose scope is one unit, at home in a unit below it, while that unit moves to
   * another city, is stored: the home unit's lock was waited for (the move rewrites its path), and it was then
   * judged against the admin's scope as read before the wait (a 422 naming body/homeUnitId).
   */
  @Test
  void anAccountMadeAtAUnitWhileTheCallersOwnUnitMovesIsStored(TestEnvironment env) throws Exception {
    UUID covered = ScopeMoves.unit(env, TONGZHOU);
    ScopeMoves.ScopedCaller admin = ScopeMoves.caller(env, covered, "admin");
    UUID home = ScopeMoves.unit(env, covered);
    JsonObject answer = ok(ScopeMoves.whileHeld(env, st -> ScopeMoves.move(st, covered, HANJIANG),
        "%FROM org_unit%FOR SHARE%", () -> post(env, admin.token(), "/v1/accounts",
            newAccount("officer.moved." + UUID.randomUUID().toString().substring(0, 8), home))), 201);
    assertThat(count(env, "SELECT count(*) FROM account WHERE id = ?::uuid AND home_unit_id = ?",
        answer.getString("id"), home)).isEqualTo(1);
  }

  /** The other way: a home unit moved out of the admin's scope while the account waited for it is 422, none stored. */
  @Test
  void anAccountMadeAtAUnitMovingOutOfTheCallersScopeIs422(TestEnvironment env) throws Exception {
    UUID covered = ScopeMoves.unit(env, TONGZHOU);
    ScopeMoves.ScopedCaller admin = ScopeMoves.caller(env, covered, "admin");
    UUID home = ScopeMoves.unit(env, covered);
    String username = "officer.moved." + UUID.randomUUID().toString().substring(0, 8);
    JsonObject p = assertProblem(ScopeMoves.whileHeld(env, st -> ScopeMoves.move(st, home, HANJIANG),
        "%FROM org_unit%FOR SHARE%", () -> post(env, admin.token(), "/v1/accounts", newAccount(username, home))),
        422, "urn:frontline:problem:unprocessable");
    assertThat(p.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/homeUnitId");
    assertThat(count(env, "SELECT count(*) FROM account WHERE username = ?", username)).isZero();
  }
}
