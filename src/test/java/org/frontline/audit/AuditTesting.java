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
    env.inTransactionBesideTheService(st -> {
      TestEnvironment.truncate(st, List.of("audit_log", "audit_head"));
      st.execute("DELETE FROM login_throttle");
    });
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

  /**
   * Until closed, the database refuses to append an entry about {@code objectId} (a trigger raising on its insert):
   * the transaction of the change it describes fails at its append, as on a connection lost there.
   */
  public static AutoCloseable refusingEntriesAbout(TestEnvironment env, Object objectId) throws SQLException {
    String trigger = "refuse_entries_about_" + objectId.toString().replace("-", "");
    try (Connection c = env.jdbc(); Statement s = c.createStatement()) {
      s.execute("""
          CREATE OR REPLACE FUNCTION test_refuse_audit_entry() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            RAISE EXCEPTION 'test: the audit entry about % is refused', NEW.object_id;
          END;
          $$""");
      s.execute("CREATE TRIGGER " + trigger + " BEFORE INSERT ON audit_log FOR EACH ROW WHEN (NEW.object_id = '"
          + objectId + "') EXECUTE FUNCTION test_refuse_audit_entry()");
    }
    return () -> {
      try (Connection c = env.jdbc(); Statement s = c.createStatement()) {
        s.execute("DROP TRIGGER " + trigger + " ON audit_log");
      }
    };
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
