package org.frontline.testing;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Checks that a sweep statement reads only what it deletes: the plan PostgreSQL uses for it as a prepared statement
 * (its generic plan, forced) over many rows it must not touch, run with EXPLAIN ANALYZE, has no Seq Scan and no node
 * that reads or filters out {@link #FEW} rows or more.
 */
public final class QueryPlans {
  /** The rows a node of the plan may read, or remove by its filter, at the most (exclusive). */
  public static final long FEW = 100;
  private static final Pattern ROWS = Pattern.compile("(Rows Removed by Filter|rows)[:=] ?(\\d+)");

  private QueryPlans() {}

  /** What a test does in the transaction {@link #rolledBack} gives it. */
  public interface Work {
    void run(Statement statement) throws Exception;
  }

  /** Runs {@code work} (rows to plan over, then the checks) in one transaction, rolled back whatever happens. */
  public static void rolledBack(TestEnvironment env, Work work) throws Exception {
    try (Connection c = env.jdbc(); Statement st = c.createStatement()) {
      c.setAutoCommit(false);
      try {
        work.run(st);
      } finally {
        c.rollback();
      }
    }
  }

  /**
   * Prepares {@code sql} as {@code name(types)} with the generic plan forced, runs it with {@code arguments} under
   * EXPLAIN ANALYZE (in {@code st}'s transaction) and asserts that its plan reads only a few rows.
   */
  public static void assertReadsOnlyAFew(Statement st, String name, String types, String sql, Object... arguments)
      throws Exception {
    assertReadsFewerThan(FEW, st, name, types, sql, arguments);
  }

  /**
   * As {@link #assertReadsOnlyAFew}, no node reading or filtering out {@code bound} rows or more (for a statement
   * over a shared table whose other rows the test does not control); the plan's text.
   */
  public static String assertReadsFewerThan(long bound, Statement st, String name, String types, String sql,
                                            Object... arguments) throws Exception {
    st.execute("SET LOCAL plan_cache_mode = force_generic_plan");
    st.execute("PREPARE " + name + "(" + types + ") AS " + sql);
    StringBuilder plan = new StringBuilder();
    try (ResultSet rs = st.executeQuery("EXPLAIN (ANALYZE, COSTS OFF) EXECUTE " + name + "("
        + Arrays.stream(arguments).map(String::valueOf).collect(Collectors.joining(", ")) + ")")) {
      while (rs.next()) {
        plan.append(rs.getString(1)).append('\n');
      }
    }
    assertThat(plan.toString()).as(plan.toString()).doesNotContain("Seq Scan");
    Matcher read = ROWS.matcher(plan);
    while (read.find()) {
      assertThat(Long.parseLong(read.group(2))).as(plan.toString()).isLessThan(bound);
    }
    return plan.toString();
  }

  /** Sequential scans of {@code table} so far in {@code st}'s transaction (a cascade's, say). */
  public static long seqScans(Statement st, String table) throws Exception {
    try (ResultSet rs = st.executeQuery("SELECT coalesce(sum(seq_scan), 0) FROM pg_stat_xact_user_tables"
        + " WHERE relname = '" + table + "'")) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
