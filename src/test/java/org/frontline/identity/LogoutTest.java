package org.frontline.identity;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import org.frontline.Frontline;
import org.frontline.dev.DemoOrganisation;
import org.frontline.testing.ApiInstances;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.frontline.testing.TokenRefusals;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.identity.Tokens.loginOk;
import static org.frontline.identity.Tokens.part;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.testing.ApiInstances.awaitTrue;
import static org.frontline.testing.ApiInstances.clientOf;
import static org.frontline.testing.ApiInstances.gauge;
import static org.frontline.testing.ApiInstances.metricsOf;
import static org.frontline.testing.ApiInstances.unannounced;
import static org.frontline.testing.TestEnvironment.await;

/**
 * Logout ends its session: the access tokens of the refresh token's family (their {@code sid}) are refused from the
 * next request on, on every instance, judged from memory (identity/EndedSessions) that is filled at start-up and kept
 * true by the database's notices; so does a refresh token's reuse. Other sessions of the account go on.
 */
@FrontlineTest
class LogoutTest {
  private static final String LISTENING = "frontline_ended_sessions_listening";

  @Test
  void afterLogoutTheSessionsAccessTokensAreRefusedAndAnotherSessionKeepsWorking(TestEnvironment env)
      throws Exception {
    awaitTrue(() -> gauge(env.managementUri("/metrics"), LISTENING) == 1, "ended sessions judged from memory");
    JsonObject login = loginOk(env, "officer.xu");
    JsonObject rotated = refresh(env, login.getString("refresh_token")).bodyAsJsonObject();
    String other = loginOk(env, "officer.xu").getString("access_token");
    // Each access token names its session: the refresh-token family of its login, kept by rotation.
    UUID family = familyOf(env, login.getString("refresh_token"));
    assertThat(part(login.getString("access_token"), 1).getString("sid")).isEqualTo(family.toString());
    assertThat(part(rotated.getString("access_token"), 1).getString("sid")).isEqualTo(family.toString());
    assertThat(part(other, 1).getString("sid")).isNotEqualTo(family.toString());
    assertThat(Tokens.me(env, rotated.getString("access_token")).statusCode()).isEqualTo(200);

    HttpResponse<Buffer> out = logout(env.client(), rotated.getString("access_token"),
        rotated.getString("refresh_token"));
    assertThat(out.statusCode()).as(out.bodyAsString()).isEqualTo(204);

    // No waiting: the instance that ended the session refuses it from the very next request on.
    assertEnded(env, env.client(), rotated.getString("access_token"));
    assertEnded(env, env.client(), login.getString("access_token"));
    assertThat(env.count("SELECT count(*) FROM refresh_token WHERE family_id = ? AND revoked_at IS NULL", family))
        .isZero();
    assertThat(Tokens.me(env, other).statusCode()).isEqualTo(200);
  }

  @Test
  void aSecondInstanceRefusesTheSessionOnceAnnounced(TestEnvironment env) throws Exception {
    Frontline second = env.startApiInstance(Map.of());
    try {
      WebClient secondClient = clientOf(env, second);
      JsonObject login = loginOk(env, "supervisor.tongzhou");
      String other = loginOk(env, "supervisor.tongzhou").getString("access_token");
      awaitTrue(() -> gauge(metricsOf(second), LISTENING) == 1, "the second instance judges from memory");
      assertThat(me(secondClient, login.getString("access_token")).statusCode()).isEqualTo(200);

      assertThat(logout(env.client(), login.getString("access_token"), login.getString("refresh_token"))
          .statusCode()).isEqualTo(204);

      awaitTrue(() -> me(secondClient, login.getString("access_token")).statusCode() == 401,
          "the second instance hears of the ended session");
      assertEnded(env, secondClient, login.getString("access_token"));
      assertThat(me(secondClient, other).statusCode()).isEqualTo(200);
    } finally {
      second.stop().get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void aReusedRefreshTokenEndsItsSessionsAccessTokensTheThiefsIncluded(TestEnvironment env) throws Exception {
    JsonObject login = loginOk(env, "officer.zhang");
    String stolen = login.getString("refresh_token");
    // The thief refreshes first; the owner's app then presents the same (now spent) token.
    JsonObject thief = refresh(env, stolen).bodyAsJsonObject();
    String other = loginOk(env, "officer.zhang").getString("access_token");
    assertThat(Tokens.me(env, thief.getString("access_token")).statusCode()).isEqualTo(200);

    assertProblem(refresh(env, stolen), 401, "urn:frontline:problem:invalid-grant");

    assertEnded(env, env.client(), thief.getString("access_token"));
    assertEnded(env, env.client(), login.getString("access_token"));
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'auth.refresh.reuse-detected' "
        + "AND object_id = ?", familyOf(env, stolen).toString())).isEqualTo(1);
    assertThat(Tokens.me(env, other).statusCode()).isEqualTo(200);
  }

  /**
   * A logout racing a refresh of the same session: the refresh spends the token (row lock) and inserts its
   * successor; the logout's UPDATE waits for that lock and then revokes the spent token, but not the successor, which
   * its snapshot does not hold. The session has ended all the same: the successor refreshes nothing, and the
   * refresh's access token is refused.
   */
  @Test
  void aRefreshRacingTheLogoutLeavesNoSessionGoingOn(TestEnvironment env) throws Exception {
    JsonObject login = loginOk(env, "officer.xu");
    String token = login.getString("refresh_token");
    HttpResponse<Buffer> refreshed;
    HttpResponse<Buffer> out;
    try (Connection c = env.jdbc(); PreparedStatement hold = c.prepareStatement(
        "SELECT 1 FROM refresh_token WHERE token_hash = ? FOR UPDATE")) {
      c.setAutoCommit(false);
      hold.setBytes(1, AuthService.hash(token));
      hold.executeQuery().close();
      CompletableFuture<HttpResponse<Buffer>> refresh = CompletableFuture.supplyAsync(() -> refresh(env, token));
      env.awaitLockWait("%SET used_at = now()%", refresh);
      CompletableFuture<HttpResponse<Buffer>> logout = CompletableFuture.supplyAsync(() ->
          logout(env.client(), login.getString("access_token"), token));
      env.awaitLockWait("%UPDATE refresh_token SET revoked_at%", logout);
      c.commit();
      refreshed = refresh.get(20, TimeUnit.SECONDS);
      out = logout.get(20, TimeUnit.SECONDS);
    }
    assertThat(refreshed.statusCode()).as(refreshed.bodyAsString()).isEqualTo(200);
    assertThat(out.statusCode()).as(out.bodyAsString()).isEqualTo(204);

    String successor = refreshed.bodyAsJsonObject().getString("refresh_token");
    assertProblem(refresh(env, successor), 401, "urn:frontline:problem:invalid-grant");
    assertEnded(env, env.client(), refreshed.bodyAsJsonObject().getString("access_token"));
    assertThat(env.count("SELECT count(*) FROM refresh_token WHERE family_id = ?", familyOf(env, token)))
        .as("no further successor").isEqualTo(2);
  }

  /**
   * An instance reads the sessions ended lately when it starts, and from then on judges from memory: a family
   * revoked without a notice before it started is refused there, one revoked so after it started is not (no read
   * per request), which the listening instance has not heard of either.
   */
  @Test
  void anInstanceLoadsTheSessionsEndedLatelyAtStartAndReadsNoneAfter(TestEnvironment env) throws Exception {
    JsonObject before = loginOk(env, "assessor.tongzhou");
    JsonObject after = loginOk(env, "assessor.tongzhou");
    JsonObject untouched = loginOk(env, "assessor.tongzhou");
    awaitTrue(() -> gauge(env.managementUri("/metrics"), LISTENING) == 1, "ended sessions judged from memory");
    revokeUnannounced(env, familyOf(env, before.getString("refresh_token")));
    Frontline second = env.startApiInstance(Map.of());
    try {
      WebClient secondClient = clientOf(env, second);
      awaitTrue(() -> gauge(metricsOf(second), LISTENING) == 1, "the second instance has loaded");
      assertEnded(env, secondClient, before.getString("access_token"));
      assertThat(me(secondClient, untouched.getString("access_token")).statusCode()).isEqualTo(200);

      revokeUnannounced(env, familyOf(env, after.getString("refresh_token")));
      assertThat(me(secondClient, after.getString("access_token")).statusCode()).isEqualTo(200);
      assertThat(Tokens.me(env, after.getString("access_token")).statusCode()).isEqualTo(200);
    } finally {
      second.stop().get(30, TimeUnit.SECONDS);
    }
  }

  /**
   * While the notices cannot arrive every token's session is read from the database, and listening again loads what
   * ended lately: a family revoked without a notice, unknown to the memory until then, is refused while deaf and
   * after.
   */
  @Test
  void whileDeafSessionsAreReadAndListeningAgainLoadsWhatWasMissed(TestEnvironment env) throws Exception {
    URI metrics = env.managementUri("/metrics");
    awaitTrue(() -> gauge(metrics, LISTENING) == 1, "ended sessions judged from memory");
    JsonObject missed = loginOk(env, "supervisor.hanjiang");
    JsonObject missedToo = loginOk(env, "supervisor.hanjiang");
    String other = loginOk(env, "supervisor.hanjiang").getString("access_token");
    revokeUnannounced(env, familyOf(env, missed.getString("refresh_token")));
    revokeUnannounced(env, familyOf(env, missedToo.getString("refresh_token")));
    assertThat(Tokens.me(env, missed.getString("access_token")).statusCode()).as("unheard of").isEqualTo(200);
    assertThat(Tokens.me(env, missedToo.getString("access_token")).statusCode()).as("unheard of").isEqualTo(200);
    // Listening again takes 0.5 s: should a scrape miss that window, the session is ended once more.
    terminateListener(env);
    awaitTrue(() -> {
      if (gauge(metrics, LISTENING) == 0) {
        return true;
      }
      terminateListener(env);
      return false;
    }, "ended sessions read from the database");
    // Read from the database (or, should listening have started again already, loaded).
    assertEnded(env, env.client(), missed.getString("access_token"));
    awaitTrue(() -> gauge(metrics, LISTENING) == 1, "listening again");
    assertEnded(env, env.client(), missed.getString("access_token"));
    // Never read: judged from memory, which the load has filled.
    assertEnded(env, env.client(), missedToo.getString("access_token"));
    assertThat(Tokens.me(env, other).statusCode()).isEqualTo(200);
  }

  /** A token minted before sessions were named (no sid) keeps working until it expires, logout or not. */
  @Test
  void aTokenWithoutASessionKeepsWorkingUntilItExpires(TestEnvironment env) throws Exception {
    JsonObject login = loginOk(env, "officer.xu");
    String old = Tokens.serviceTokens(env).issue(LoginTest.XU, List.of("officer"), List.of(DemoOrganisation.HUAISI),
        null);
    assertThat(part(old, 1).containsKey("sid")).isFalse();
    assertThat(logout(env.client(), login.getString("access_token"), login.getString("refresh_token"))
        .statusCode()).isEqualTo(204);
    assertEnded(env, env.client(), login.getString("access_token"));
    assertThat(Tokens.me(env, old).statusCode()).isEqualTo(200);
  }

  /** A logout with another account's refresh token ends nothing: neither that session nor the caller's. */
  @Test
  void aLogoutWithAnotherAccountsRefreshTokenEndsNoSession(TestEnvironment env) throws Exception {
    JsonObject victim = loginOk(env, "officer.xu");
    String caller = loginOk(env, "officer.zhang").getString("access_token");
    assertThat(logout(env.client(), caller, victim.getString("refresh_token")).statusCode()).isEqualTo(204);
    assertThat(Tokens.me(env, victim.getString("access_token")).statusCode()).isEqualTo(200);
    assertThat(Tokens.me(env, caller).statusCode()).isEqualTo(200);
  }

  /** The one 401 invalid_token of a token refused, audited with the reason. */
  private static void assertEnded(TestEnvironment env, WebClient client, String token) {
    TokenRefusals.assertRefused(env, me(client, token), "session ended");
  }

  private static HttpResponse<Buffer> me(WebClient client, String token) {
    return await(client.get("/v1/me").putHeader("Authorization", "Bearer " + token).send());
  }

  private static HttpResponse<Buffer> refresh(TestEnvironment env, String refreshToken) {
    return await(env.client().post("/v1/auth/refresh")
        .sendJsonObject(new JsonObject().put("refresh_token", refreshToken)));
  }

  private static HttpResponse<Buffer> logout(WebClient client, String accessToken, String refreshToken) {
    return await(client.post("/v1/auth/logout").putHeader("Authorization", "Bearer " + accessToken)
        .sendJsonObject(new JsonObject().put("refresh_token", refreshToken)));
  }

  private static UUID familyOf(TestEnvironment env, String refreshToken) {
    return UUID.fromString(env.string("SELECT family_id::text FROM refresh_token WHERE token_hash = ?",
        (Object) AuthService.hash(refreshToken)));
  }

  /** Revokes a family as a logout would, but with the database's notices off for it (triggers off). */
  private static void revokeUnannounced(TestEnvironment env, UUID family) throws Exception {
    assertThat(unannounced(env, "UPDATE refresh_token SET revoked_at = now() WHERE family_id = '" + family
        + "' AND revoked_at IS NULL")).isPositive();
  }

  /** Ends the service's session listening for ended sessions (PostgreSQL terminates its backend). */
  private static void terminateListener(TestEnvironment env) {
    ApiInstances.terminateListener(env, EndedSessions.CHANNEL);
  }
}
