package org.frontline.identity;

import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.sql.ResultSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.testing.TestEnvironment.await;

/** A caller without the role gets 403 from the one role table, and the attempt is in the audit log. */
@FrontlineTest
class DeniedAccessAuditTest {

  @Test
  void officerRotatingKeysIsRefusedAndAudited(TestEnvironment env) throws Exception {
    String token = Tokens.loginOk(env, "officer.xu").getString("access_token");
    HttpResponse<Buffer> r = await(env.client().post("/v1/admin/keys/rotate")
        .putHeader("Authorization", "Bearer " + token).putHeader("X-Request-Id", "denied-rotate-1").send());
    org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem(r, 403, "urn:frontline:problem:forbidden");

    try (var c = env.jdbc(); var st = c.createStatement()) {
      try (ResultSet rs = st.executeQuery("SELECT count(*) FROM signing_key")) {
        rs.next();
        assertThat(rs.getInt(1)).as("no key was made").isEqualTo(1);
      }
      try (ResultSet rs = st.executeQuery("SELECT a.actor_id, a.outcome, a.object_id, a.request_id, acc.username "
          + "FROM audit_log a JOIN account acc ON acc.id = a.actor_id "
          + "WHERE a.action = 'access.denied' AND a.request_id = 'denied-rotate-1'")) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getString("username")).isEqualTo("officer.xu");
        assertThat(rs.getString("outcome")).isEqualTo("DENIED");
        assertThat(rs.getString("object_id")).isEqualTo("rotateSigningKeys");
        assertThat(rs.getString("request_id")).isEqualTo("denied-rotate-1");
        assertThat(rs.next()).isFalse();
      }
    }
  }

  @Test
  void authenticationAndRolesAreCheckedBeforeTheRequestIsValidated(TestEnvironment env) {
    io.vertx.core.json.JsonObject invalid = new io.vertx.core.json.JsonObject().put("unknownField", 1);
    HttpResponse<Buffer> anonymous = await(env.client().post("/v1/accounts").sendJsonObject(invalid));
    org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem(anonymous, 401,
        "urn:frontline:problem:unauthorized");

    String officer = Tokens.loginOk(env, "officer.xu").getString("access_token");
    HttpResponse<Buffer> withoutRole = await(env.client().post("/v1/accounts")
        .putHeader("Authorization", "Bearer " + officer).sendJsonObject(invalid));
    org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem(withoutRole, 403,
        "urn:frontline:problem:forbidden");

    String admin = Tokens.loginOk(env, "admin").getString("access_token");
    HttpResponse<Buffer> allowed = await(env.client().post("/v1/accounts")
        .putHeader("Authorization", "Bearer " + admin).sendJsonObject(invalid));
    org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem(allowed, 400,
        "urn:frontline:problem:validation-failed");
  }
}
