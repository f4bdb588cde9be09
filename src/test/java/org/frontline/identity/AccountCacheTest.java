package org.frontline.identity;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.ApiInstances;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.frontline.testing.Waits;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.identity.Tokens.me;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;

/**
 * The cache of callers (identity/AccountCache) never lets a change to an account go unseen: a change made through
 * the service holds from the very next request; one made in the database by anyone else holds as soon as it is
 * announced (milliseconds); and while announcements cannot arrive, accounts are read from the database again.
 */
@FrontlineTest
class AccountCacheTest {

  @Test
  void anAccountDisabledInTheDatabaseIsRefusedOnceAnnounced(TestEnvironment env) throws Exception {
    awaitListening(env);
    String token = Tokens.loginOk(env, "officer.zhang").getString("access_token");
    assertThat(me(env, token).statusCode()).isEqualTo(200);
    assertThat(me(env, token).statusCode()).isEqualTo(200); // served from memory now
    setDisabled(env, "officer.zhang", true);
    Waits.until(Duration.ofSeconds(10), "the disabled account is refused", () -> me(env, token).statusCode() == 401);
    for (int i = 0; i < 5; i++) {
      assertProblem(me(env, token), 401, "urn:frontline:problem:unauthorized");
    }
    setDisabled(env, "officer.zhang", false);
    Waits.until(Duration.ofSeconds(10), "the enabled account is let in again", () -> me(env, token).statusCode() == 200);
  }

  @Test
  void aDisablingThroughTheServiceHoldsFromTheNextRequest(TestEnvironment env) throws Exception {
    awaitListening(env);
    String admin = Admin.token(env, "admin");
    String token = Tokens.loginOk(env, "officer.xu").getString("access_token");
    assertThat(me(env, token).statusCode()).isEqualTo(200);
    Admin.ok(Admin.post(env, admin, "/v1/accounts/" + id(env, "officer.xu") + "/disable", null), 200);
    // No waiting: the instance that made the change forgot the account before answering.
    assertProblem(me(env, token), 401, "urn:frontline:problem:unauthorized");
    Admin.ok(Admin.post(env, admin, "/v1/accounts/" + id(env, "officer.xu") + "/enable", null), 200);
    // The disable ended the token's session for good; a login after its second is let in at once.
    assertProblem(me(env, token), 401, "urn:frontline:problem:unauthorized");
    Thread.sleep(1001 - System.currentTimeMillis() % 1000);
    assertThat(me(env, Tokens.loginOk(env, "officer.xu").getString("access_token")).statusCode()).isEqualTo(200);
  }

  @Test
  void aRoleTakenAwayHoldsFromTheNextRequest(TestEnvironment env) {
    awaitListening(env);
    String admin = Admin.token(env, "admin");
    String token = Tokens.loginOk(env, "officer.zhang").getString("access_token");
    // An officer may submit reports: an empty body is a 400 (validation runs after the role check) ...
    assertProblem(postReport(env, token), 400, "urn:frontline:problem:validation-failed");
    Admin.ok(Admin.call(env, admin, io.vertx.core.http.HttpMethod.PATCH, "/v1/accounts/"
        + id(env, "officer.zhang"), new JsonObject().put("roles", new JsonArray().add("assessor"))), 200);
    // ... an assessor may not: 403 at once, though the token still says "officer".
    assertProblem(postReport(env, token), 403, "urn:frontline:problem:forbidden");
  }

  @Test
  void whileDeafEveryRequestReadsItsAccountAndNothingIsMissedAfter(TestEnvironment env) throws Exception {
    awaitListening(env);
    String token = Tokens.loginOk(env, "supervisor.tongzhou").getString("access_token");
    assertThat(me(env, token).statusCode()).isEqualTo(200);
    // The listening session dies: the cache stops serving from memory. It listens again 0.5 s later: should the
    // scrapes miss that window (a scrape can take that long on a loaded machine), the session is ended again, for
    // another chance to see the cache deaf.
    ApiInstances.terminateListener(env, AccountCache.CHANNEL);
    Waits.until(Duration.ofSeconds(10), "the cache knows it hears nothing", () -> {
      if (listening(env) == 0) {
        return true;
      }
      ApiInstances.terminateListener(env, AccountCache.CHANNEL);
      return false;
    });
    // A change nobody hears about: refused at once all the same, since every request reads its account now.
    setDisabled(env, "supervisor.tongzhou", true);
    assertProblem(me(env, token), 401, "urn:frontline:problem:unauthorized");
    // Listening again (retried after 0.5 s): the cache starts empty, so what was missed cannot linger.
    Waits.until(Duration.ofSeconds(10), "listening again", () -> listening(env) == 1);
    assertProblem(me(env, token), 401, "urn:frontline:problem:unauthorized");
    setDisabled(env, "supervisor.tongzhou", false);
    Waits.until(Duration.ofSeconds(10), "enabled again, and heard", () -> me(env, token).statusCode() == 200);
  }

  @Test
  void aTruncateForgetsEveryone(TestEnvironment env) throws Exception {
    awaitListening(env);
    String token = Tokens.loginOk(env, "assessor.tongzhou").getString("access_token");
    assertThat(me(env, token).statusCode()).isEqualTo(200);
    try (Connection c = env.jdbc(); var st = c.createStatement()) {
      c.setAutoCommit(false);
      // The account is disabled unannounced (triggers off for that statement only) ...
      st.execute("SET LOCAL session_replication_role = replica");
      st.execute("UPDATE account SET disabled_at = now() WHERE username = 'assessor.tongzhou'");
      st.execute("SET LOCAL session_replication_role = origin");
      // ... and account_scope is truncated and refilled as it was: the only announcement is the truncation's '*'.
      st.execute("CREATE TEMP TABLE scope_copy ON COMMIT DROP AS SELECT * FROM account_scope");
      st.execute("TRUNCATE account_scope");
      st.execute("INSERT INTO account_scope SELECT * FROM scope_copy");
      c.commit();
    }
    Waits.until(Duration.ofSeconds(10), "the account is read again", () -> me(env, token).statusCode() == 401);
  }

  private static String id(TestEnvironment env, String username) {
    return env.string("SELECT id::text FROM account WHERE username = ?", username);
  }

  private static HttpResponse<Buffer> postReport(TestEnvironment env, String token) {
    return TestEnvironment.await(env.client().post("/v1/reports").putHeader("Authorization", "Bearer " + token)
        .sendJsonObject(new JsonObject()));
  }

  private static void setDisabled(TestEnvironment env, String username, boolean disabled) throws Exception {
    try (Connection c = env.jdbc(); PreparedStatement ps = c.prepareStatement(
        "UPDATE account SET disabled_at = " + (disabled ? "now()" : "NULL") + " WHERE username = ?")) {
      ps.setString(1, username);
      assertThat(ps.executeUpdate()).isEqualTo(1);
    }
  }

  /** frontline_account_cache_listening from the management port's /metrics. */
  static double listening(TestEnvironment env) {
    try {
      String body = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()
          .send(HttpRequest.newBuilder(env.managementUri("/metrics")).build(),
              java.net.http.HttpResponse.BodyHandlers.ofString()).body();
      Matcher m = Pattern.compile("(?m)^frontline_account_cache_listening(?:\\{[^}]*\\})? ([0-9.eE+-]+)$")
          .matcher(body);
      return m.find() ? Double.parseDouble(m.group(1)) : -1;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static void awaitListening(TestEnvironment env) {
    Waits.until(Duration.ofSeconds(10), "the cache of callers listens", () -> listening(env) == 1);
  }
}
