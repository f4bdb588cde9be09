package org.frontline.identity;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.identity.Tokens.loginOk;
import static org.frontline.identity.Tokens.me;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.testing.TestEnvironment.await;

@FrontlineTest
class RefreshTest {
  private static final String INVALID_GRANT = "urn:frontline:problem:invalid-grant";

  private static Future<HttpResponse<Buffer>> refreshAsync(TestEnvironment env, String refreshToken) {
    return env.client().post("/v1/auth/refresh").sendJsonObject(new JsonObject().put("refresh_token", refreshToken));
  }

  private static HttpResponse<Buffer> refresh(TestEnvironment env, String refreshToken) {
    return await(refreshAsync(env, refreshToken));
  }

  /** used_at and revoked_at of the row for this token, as "used,revoked" booleans, plus its family id. */
  private static String state(TestEnvironment env, String refreshToken) throws Exception {
    byte[] hash = MessageDigest.getInstance("SHA-256").digest(refreshToken.getBytes(StandardCharsets.US_ASCII));
    try (Connection c = env.jdbc(); PreparedStatement ps = c.prepareStatement(
        "SELECT used_at IS NOT NULL, revoked_at IS NOT NULL FROM refresh_token WHERE token_hash = ?")) {
      ps.setBytes(1, hash);
      try (ResultSet rs = ps.executeQuery()) {
        assertThat(rs.next()).isTrue();
        return (rs.getBoolean(1) ? "used" : "unused") + "," + (rs.getBoolean(2) ? "revoked" : "live");
      }
    }
  }

  private static Object family(TestEnvironment env, String refreshToken) throws Exception {
    byte[] hash = MessageDigest.getInstance("SHA-256").digest(refreshToken.getBytes(StandardCharsets.US_ASCII));
    try (Connection c = env.jdbc();
         PreparedStatement ps = c.prepareStatement("SELECT family_id FROM refresh_token WHERE token_hash = ?")) {
      ps.setBytes(1, hash);
      try (ResultSet rs = ps.executeQuery()) {
        assertThat(rs.next()).isTrue();
        return rs.getObject(1);
      }
    }
  }

  @Test
  void refreshRotatesAndEachTokenWorksOnce(TestEnvironment env) throws Exception {
    String first = loginOk(env, "officer.xu").getString("refresh_token");
    HttpResponse<Buffer> r = refresh(env, first);
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    JsonObject body = r.bodyAsJsonObject();
    String second = body.getString("refresh_token");
    assertThat(second).isNotEqualTo(first);
    assertThat(body.getString("token_type")).isEqualTo("Bearer");
    assertThat(me(env, body.getString("access_token")).statusCode()).isEqualTo(200);
    assertThat(state(env, first)).isEqualTo("used,live");
    assertThat(state(env, second)).isEqualTo("unused,live");
    assertThat(family(env, second)).isEqualTo(family(env, first));

    String third = refresh(env, second).bodyAsJsonObject().getString("refresh_token");
    assertThat(state(env, third)).isEqualTo("unused,live");
  }

  @Test
  void reusingASpentTokenRevokesTheWholeFamily(TestEnvironment env) throws Exception {
    String first = loginOk(env, "officer.xu").getString("refresh_token");
    String second = refresh(env, first).bodyAsJsonObject().getString("refresh_token");
    // an unrelated session of the same account must survive
    String otherSession = loginOk(env, "officer.xu").getString("refresh_token");

    HttpResponse<Buffer> replay = refresh(env, first);
    JsonObject problem = assertProblem(replay, 401, INVALID_GRANT);
    assertThat(problem.getString("detail")).isEqualTo("The refresh token is not valid; log in again.");
    assertThat(state(env, first)).isEqualTo("used,revoked");
    assertThat(state(env, second)).isEqualTo("unused,revoked");
    // the legitimate holder's successor token no longer works either
    assertProblem(refresh(env, second), 401, INVALID_GRANT);
    assertThat(state(env, otherSession)).isEqualTo("unused,live");
    assertThat(refresh(env, otherSession).statusCode()).isEqualTo(200);
  }

  @Test
  void unknownRefreshTokenIsInvalidGrant(TestEnvironment env) {
    assertProblem(refresh(env, AuthService.newRefreshToken()), 401, INVALID_GRANT);
  }

  @Test
  void twoRacingRefreshesWithTheSameTokenExactlyOneWins(TestEnvironment env) throws Exception {
    for (int round = 0; round < 5; round++) {
      String token = loginOk(env, "officer.xu").getString("refresh_token");
      List<Future<HttpResponse<Buffer>>> racing = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        racing.add(refreshAsync(env, token));
      }
      await(Future.join(racing));
      List<Integer> statuses = racing.stream().map(f -> f.result().statusCode()).sorted().toList();
      assertThat(statuses).as("round " + round).containsExactly(200, 401);
      HttpResponse<Buffer> loser = racing.stream().map(Future::result).filter(x -> x.statusCode() == 401)
          .findFirst().orElseThrow();
      assertProblem(loser, 401, INVALID_GRANT);
      // the loser presented a spent token: reuse detection has revoked the family (RFC 9700 section 4.14)
      assertThat(state(env, token)).isEqualTo("used,revoked");
    }
  }

  @Test
  void refreshOfADisabledAccountIsRejected(TestEnvironment env) throws Exception {
    String token = loginOk(env, "officer.zhang").getString("refresh_token");
    try (Connection c = env.jdbc();
         PreparedStatement ps = c.prepareStatement("UPDATE account SET disabled_at = now() WHERE username = ?")) {
      ps.setString(1, "officer.zhang");
      ps.executeUpdate();
    }
    assertProblem(refresh(env, token), 401, INVALID_GRANT);
    // Not rotated (no successor): left unspent, so retention finds its family, and presenting it again is no reuse.
    assertThat(state(env, token)).isEqualTo("unused,revoked");
  }

  @Test
  void logoutRevokesTheFamily(TestEnvironment env) throws Exception {
    JsonObject login = loginOk(env, "supervisor.hanjiang");
    String first = login.getString("refresh_token");
    JsonObject rotated = refresh(env, first).bodyAsJsonObject();
    String current = rotated.getString("refresh_token");

    HttpResponse<Buffer> r = await(env.client().post("/v1/auth/logout")
        .putHeader("Authorization", "Bearer " + rotated.getString("access_token"))
        .sendJsonObject(new JsonObject().put("refresh_token", current)));
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(204);
    assertThat(state(env, first)).isEqualTo("used,revoked");
    assertThat(state(env, current)).isEqualTo("unused,revoked");
    assertProblem(refresh(env, current), 401, INVALID_GRANT);
  }

  @Test
  void logoutWithSomeoneElsesTokenChangesNothing(TestEnvironment env) throws Exception {
    String victims = loginOk(env, "officer.xu").getString("refresh_token");
    String attacker = loginOk(env, "officer.zhang").getString("access_token");
    HttpResponse<Buffer> r = await(env.client().post("/v1/auth/logout")
        .putHeader("Authorization", "Bearer " + attacker)
        .sendJsonObject(new JsonObject().put("refresh_token", victims)));
    assertThat(r.statusCode()).isEqualTo(204);
    assertThat(state(env, victims)).isEqualTo("unused,live");
  }

  @Test
  void logoutRequiresABearerToken(TestEnvironment env) {
    HttpResponse<Buffer> r = await(env.client().post("/v1/auth/logout")
        .sendJsonObject(new JsonObject().put("refresh_token", "x")));
    assertProblem(r, 401, "urn:frontline:problem:unauthorized");
  }

  @Test
  void refreshWithAnUnknownFieldIsRejected(TestEnvironment env) {
    HttpResponse<Buffer> r = await(env.client().post("/v1/auth/refresh")
        .sendJsonObject(new JsonObject().put("refresh_token", "x").put("grant_type", "refresh_token")));
    JsonObject body = assertProblem(r, 400, "urn:frontline:problem:validation-failed");
    assertThat(body.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/grant_type");
  }
}
