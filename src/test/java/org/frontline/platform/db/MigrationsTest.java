package org.frontline.platform.db;

import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

@FrontlineTest
class MigrationsTest {

  @Test
  void secondMigrationOnAMigratedDatabaseChangesNothing(TestEnvironment env) throws Exception {
    List<String> schemaBefore = schema(env);
    List<String> historyBefore = history(env);
    long accountsBefore = count(env, "SELECT count(*) FROM account");

    assertThat(Migrations.migrate(env.databaseConfig())).isZero();
    assertThat(Migrations.migrate(env.databaseConfig())).isZero();

    assertThat(schema(env)).isEqualTo(schemaBefore);
    assertThat(history(env)).isEqualTo(historyBefore);
    assertThat(count(env, "SELECT count(*) FROM account")).isEqualTo(accountsBefore).isEqualTo(6);
    assertThat(historyBefore).allMatch(row -> row.endsWith("|true"));
    assertThat(historyBefore).hasSizeGreaterThanOrEqualTo(2);
  }

  @Test
  void reportValuesAreCompressedWithLz4WhereTheServerHasItAndTheMigrationPassesWhereItHasNot(TestEnvironment env)
      throws Exception {
    boolean lz4;
    try (Connection c = env.jdbc(); var st = c.createStatement()) {
      c.setAutoCommit(false);
      try {
        st.execute("CREATE TEMP TABLE lz4_probe (v text COMPRESSION lz4)");
        lz4 = true;
      } catch (SQLException e) {
        assertThat(e.getSQLState()).isEqualTo("0A000"); // feature_not_supported: built without lz4
        lz4 = false;
      }
      c.rollback();
    }
    List<String> columns = new ArrayList<>();
    try (Connection c = env.jdbc(); var st = c.createStatement(); ResultSet rs = st.executeQuery(
        "SELECT attname || '=' || attcompression FROM pg_attribute WHERE attrelid = 'report'::regclass"
            + " AND attname IN ('body', 'request', 'response') ORDER BY attname")) {
      while (rs.next()) {
        columns.add(rs.getString(1));
      }
    }
    String method = lz4 ? "l" : ""; // "": the server's default_toast_compression (pglz)
    assertThat(columns).containsExactly("body=" + method, "request=" + method, "response=" + method);
  }

  @Test
  void theServicesSessionsEndATransactionLeftIdle(TestEnvironment env) {
    String setting = TestEnvironment.await(env.app().database().pool()
        .query("SHOW idle_in_transaction_session_timeout").execute()).iterator().next().getString(0);
    assertThat(setting).isEqualTo("1min");
  }

  @Test
  void floodControlCountsOnlyTheRecipientsPushesThroughTheirPartialIndex(TestEnvironment env) throws Exception {
    try (Connection c = env.jdbc(); var st = c.createStatement()) {
      st.execute("SET plan_cache_mode = force_generic_plan");
      st.execute("SET enable_seqscan = off");
      // The statement of DispatchRepository.writeLimited, as the service prepares it.
      st.execute("PREPARE pushes(uuid, bigint) AS SELECT count(*) FILTER (WHERE push = 'ALERT') AS own,"
          + " count(*) FILTER (WHERE push = 'DIGEST') AS digests FROM notification"
          + " WHERE account_id = $1 AND created_at > now() - $2 * interval '1 millisecond' AND push <> 'NONE'");
      StringBuilder plan = new StringBuilder();
      try (ResultSet rs = st.executeQuery("EXPLAIN EXECUTE pushes('" + java.util.UUID.randomUUID() + "', 600000)")) {
        while (rs.next()) {
          plan.append(rs.getString(1)).append('\n');
        }
      }
      assertThat(plan.toString()).contains("notification_pushes_idx");
    }
  }

  @Test
  void aSubtreeIsOneIndexedRangeQueryEvenAsAGenericPreparedPlan(TestEnvironment env) throws Exception {
    try (Connection c = env.jdbc(); var st = c.createStatement()) {
      st.execute("SET plan_cache_mode = force_generic_plan");
      st.execute("SET enable_seqscan = off");
      st.execute("PREPARE subtree(text) AS SELECT name FROM org_unit WHERE path >= $1 AND path < subtree_end($1) "
          + "ORDER BY path");
      String hanjiang;
      try (ResultSet rs = st.executeQuery("SELECT path FROM org_unit WHERE name LIKE '%Hanjiang%'")) {
        rs.next();
        hanjiang = rs.getString(1);
      }
      StringBuilder plan = new StringBuilder();
      try (ResultSet rs = st.executeQuery("EXPLAIN EXECUTE subtree('" + hanjiang + "')")) {
        while (rs.next()) {
          plan.append(rs.getString(1)).append('\n');
        }
      }
      assertThat(plan.toString()).contains("Index").contains("org_unit_path_key").contains("$1");
      List<String> names = new ArrayList<>();
      try (ResultSet rs = st.executeQuery("EXECUTE subtree('" + hanjiang + "')")) {
        while (rs.next()) {
          names.add(rs.getString(1));
        }
      }
      assertThat(names).containsExactly("邗江区 Hanjiang District", "槐泗镇 Huaisi Town");
    }
  }

  private static List<String> schema(TestEnvironment env) throws SQLException {
    return rows(env, """
        SELECT table_name || '.' || column_name || ':' || data_type || ':' || is_nullable
        FROM information_schema.columns WHERE table_schema = current_schema()
        UNION ALL SELECT 'index:' || indexname || ':' || indexdef FROM pg_indexes WHERE schemaname = current_schema()
        ORDER BY 1""");
  }

  private static List<String> history(TestEnvironment env) throws SQLException {
    return rows(env, "SELECT version || '|' || checksum || '|' || success FROM flyway_schema_history ORDER BY installed_rank");
  }

  private static long count(TestEnvironment env, String sql) throws SQLException {
    return Long.parseLong(rows(env, sql).get(0));
  }

  private static List<String> rows(TestEnvironment env, String sql) throws SQLException {
    try (Connection c = env.jdbc(); var st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      List<String> out = new ArrayList<>();
      while (rs.next()) {
        out.add(rs.getString(1));
      }
      return out;
    }
  }
}
