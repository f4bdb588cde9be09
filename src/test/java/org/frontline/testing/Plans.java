package org.frontline.testing;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** Plan checks of the sweeps' statements, as the pool runs them: prepared, with a generic plan. */
public final class Plans {
  private static final Pattern READ = Pattern.compile("(Rows Removed by Filter|rows)[:=] ?(\\d+)");

  private Plans() {}

  /**
   * Prepares {@code sql} as {@code name(types)} with a generic plan, runs it once under EXPLAIN ANALYZE with
   * {@code args}, and asserts the plan scans no table sequentially and no node reads 100 rows or more; returns the
   * plan. In a transaction the caller rolls back ({@code SET LOCAL}, and the statement really runs).
   */
  public static String assertReadsLittle(Statement st, String name, String types, String sql, String args)
      throws SQLException {
    st.execute("SET LOCAL plan_cache_mode = force_generic_plan");
    st.execute("PREPARE " + name + "(" + types + ") AS " + sql);
    StringBuilder plan = new StringBuilder();
    try (ResultSet rs = st.executeQuery("EXPLAIN (ANALYZE, COSTS OFF) EXECUTE " + name + "(" + args + ")")) {
      while (rs.next()) {
        plan.append(rs.getString(1)).append('\n');
      }
    }
    assertThat(plan.toString()).as(plan.toString()).doesNotContain("Seq Scan");
    Matcher read = READ.matcher(plan);
    while (read.find()) {
      assertThat(Long.parseLong(read.group(2))).as(plan.toString()).isLessThan(100);
    }
    return plan.toString();
  }

  /** Sequential scans of {@code table} so far in this transaction. */
  public static long seqScans(Statement st, String table) throws SQLException {
    try (ResultSet rs = st.executeQuery("SELECT coalesce(sum(seq_scan), 0) FROM pg_stat_xact_user_tables"
        + " WHERE relname = '" + table + "'")) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
