package org.frontline.audit;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.TestEnvironment;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.testing.TestEnvironment.await;

/** Helpers for audit tests: an empty log, logins over HTTP, tampering as a table owner would, the stored chain. */
public final class AuditTesting {
  private AuditTesting() {}

  /** Empties the log and its head (lifting the TRUNCATE guards within one transaction) and the login throttle counters. */
  public static void clearAuditAndThrottle(TestEnvironment env) throws SQLException {
    try (Connection c = env.jdbc(); Statement s = c.createStatement()) {
      // The service's audit head checkpoint (every second) reads audit_log, then writes audit_head: taking both
      // tables' strongest lock first, in that order, leaves no lock to upgrade (the triggers' ALTER then TRUNCATE
      // did, a deadlock in a full run); a longer deadlock_timeout makes any other waiter the victim (superuser only).
      try {
        s.execute("SET deadlock_timeout = '10s'");
      } catch (SQLException notPermitted) {
        // the retries below remain
      }
      c.setAutoCommit(false);
      for (int attempt = 1; ; attempt++) {
        try {
          s.execute("LOCK TABLE audit_log, audit_head IN ACCESS EXCLUSIVE MODE");
          s.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate");
          s.execute("ALTER TABLE audit_head DISABLE TRIGGER audit_head_no_truncate");
          s.execute("TRUNCATE audit_log, audit_head");
          s.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_truncate");
          s.execute("ALTER TABLE audit_head ENABLE TRIGGER audit_head_no_truncate");
          s.execute("DELETE FROM login_throttle");
          c.commit();
          return;
        } catch (SQLException e) {
          c.rollback();
          if (!"40P01".equals(e.getSQLState()) || attempt == 10) {
            throw e;
          }
        }
      }
    }
  }

  /** Runs SQL on audit_log with the append-only trigger disabled: the deliberate act of someone tampering. */
  public static void tamper(TestEnvironment env, String sql) throws SQLException {
    try (Connection c = env.jdbc(); Statement s = c.createStatement()) {
      c.setAutoCommit(false);
      s.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_or_delete");
      s.execute(sql);
      s.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_or_delete");
      c.commit();
    }
  }

  public static HttpResponse<Buffer> login(TestEnvironment env, String username, String password) {
    return await(env.client().post("/v1/auth/login")
        .sendJsonObject(new JsonObject().put("username", username).put("password", password)));
  }

  public static JsonObject loginOk(TestEnvironment env, String username) {
    HttpResponse<Buffer> r = login(env, username, "frontline-dev");
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    return r.bodyAsJsonObject();
  }

  public static String accessToken(TestEnvironment env, String username) {
    return loginOk(env, username).getString("access_token");
  }

  public static HttpResponse<Buffer> verify(TestEnvironment env, String token) {
    return await(env.client().post("/v1/audit/verify").putHeader("Authorization", "Bearer " + token).send());
  }

  /** Every stored entry in seq order, read over JDBC. */
  public static List<AuditEntry> entries(TestEnvironment env) throws SQLException {
    try (Connection c = env.jdbc()) {
      return AuditRepository.batchAfter(c, 0, 100_000);
    }
  }
}
