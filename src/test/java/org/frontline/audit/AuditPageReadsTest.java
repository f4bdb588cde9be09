package org.frontline.audit;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.platform.db.BoundedWalk;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.QueryPlans;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.audit.AuditTesting.accessToken;
import static org.frontline.testing.TestEnvironment.await;

/**
 * What a page of GET /v1/audit reads (a class of its own: it appends thousands of entries, which AuditApiTest's
 * exact pages would see).
 */
@FrontlineTest
class AuditPageReadsTest {
  @BeforeAll
  static void clear(TestEnvironment env) throws Exception {
    AuditTesting.clearAuditAndThrottle(env);
  }

  /**
   * A page filtered on a rare action, or on a time window before the newest entries, read the log newest first until
   * it had found its page (all of it when nothing matched: `$n IS NULL OR ...` gave every filter one generic plan).
   * Over 20,000 newer entries of another action, as generic plans: the action's entries are read from
   * audit_log_action_idx (V192); a window's walk reads BoundedWalk.ROWS entries at the most, and the window's statement
   * reads its own entries from audit_log_at_idx (this test's two logins), or nothing when the log has none before
   * `to`.
   */
  @Test
  void aPageOfARareActionOrAnOldWindowReadsOnlyItsEntries(TestEnvironment env) throws Exception {
    Instant start;
    try (Connection c = env.jdbc(); Statement st = c.createStatement();
         ResultSet rs = st.executeQuery("SELECT clock_timestamp()")) {
      rs.next();
      start = rs.getObject(1, OffsetDateTime.class).toInstant();
    }
    accessToken(env, "admin");
    assertThat(AuditTesting.login(env, "nobody.here", "wrong-password").statusCode()).isEqualTo(401);
    String root = env.string("SELECT path FROM org_unit WHERE parent_id IS NULL ORDER BY path LIMIT 1");
    Instant beforeTheNewer = start.plusSeconds(1800);
    QueryPlans.rolledBack(env, st -> {
      st.executeUpdate("INSERT INTO audit_log (seq, at, actor_label, action, outcome, prev_hash, hash)"
          + " SELECT (SELECT max(seq) FROM audit_log) + n, now() + interval '1 hour' + n * interval '1 ms', 'bulk',"
          + " 'test.bulk', 'SUCCESS', sha256(('prev ' || n)::bytea), sha256(('bulk ' || n)::bytea)"
          + " FROM generate_series(1, 20000) AS n");
      st.execute("ANALYZE audit_log");
      String scope = "ARRAY['" + root + "'], true, ";
      String plan = QueryPlans.assertReadsFewerThan(QueryPlans.FEW, st, "rare_action", "text[], boolean, text, int",
          AuditRepository.pageSql(query("auth.login.failed", null, null), params()),
          scope + "'auth.login.failed', 51");
      assertThat(plan).as(plan).contains("audit_log_action_idx");
      Instant logStart = Instant.parse("2000-01-01T00:00:00Z");
      QueryPlans.assertReadsOnlyAFew(st, "before_the_log", "text[], boolean, timestamptz, int",
          AuditRepository.pageSql(query(null, null, logStart), params()), scope + "'" + logStart + "', 51");
      QueryPlans.assertReadsFewerThan(BoundedWalk.ROWS + 2, st, "window_walk",
          "text[], boolean, timestamptz, int", AuditRepository.windowWalkSql(query(null, null, logStart), params()),
          scope + "'" + logStart + "', 51");
      plan = QueryPlans.assertReadsFewerThan(QueryPlans.FEW, st, "old_window",
          "text[], boolean, timestamptz, timestamptz, int",
          AuditRepository.pageSql(query(null, start, beforeTheNewer), params()),
          scope + "'" + start + "', '" + beforeTheNewer + "', 51");
      assertThat(plan).as(plan).contains("audit_log_at_idx");
    });
  }

  /**
   * A window's page when the newest BoundedWalk.ROWS entries are all after it: read from the time index, in the log's
   * order, and paged by the same cursor. Three entries, then 2,500 newer ones (both appended by audit_append, so the
   * chain stays whole): `to` the first newer entry's time lists the three, newest first, two pages of them.
   */
  @Test
  void aWindowBeneathManyNewerEntriesListsItsEntries(TestEnvironment env) throws Exception {
    String token = accessToken(env, "admin");
    OffsetDateTime newer;
    try (Connection c = env.jdbc(); Statement st = c.createStatement()) {
      append(st, "test.window", 3);
      Thread.sleep(5);
      append(st, "test.newer", 2500);
      try (ResultSet rs = st.executeQuery("SELECT min(at) FROM audit_log WHERE action = 'test.newer'")) {
        rs.next();
        newer = rs.getObject(1, OffsetDateTime.class);
      }
    }
    List<Long> window = new ArrayList<>();
    try (Connection c = env.jdbc(); Statement st = c.createStatement();
         ResultSet rs = st.executeQuery("SELECT seq FROM audit_log WHERE action = 'test.window' ORDER BY seq DESC")) {
      while (rs.next()) {
        window.add(rs.getLong(1));
      }
    }
    String to = "?to=" + newer.toInstant();
    JsonObject first = ok(list(env, token, to + "&limit=2"));
    assertThat(seqs(first)).containsExactlyElementsOf(window.subList(0, 2));
    JsonObject rest = ok(list(env, token, to + "&limit=2&cursor=" + first.getString("nextCursor")));
    assertThat(seqs(rest).get(0)).isEqualTo(window.get(2));
    assertThat(seqs(ok(list(env, token, to + "&action=test.newer")))).isEmpty();
  }

  /** {@code count} entries of {@code action}, of no unit, appended to the chain in one call. */
  private static void append(Statement st, String action, int count) throws Exception {
    String none = "array_fill(NULL::%s, ARRAY[" + count + "])";
    String all = "array_fill('%s'::text, ARRAY[" + count + "])";
    st.execute("SELECT audit_append(" + none.formatted("uuid") + ", " + all.formatted("test") + ", "
        + all.formatted(action) + ", " + none.formatted("text") + ", " + none.formatted("text") + ", "
        + none.formatted("uuid") + ", " + none.formatted("text") + ", " + none.formatted("text") + ", "
        + all.formatted("SUCCESS") + ", " + none.formatted("text") + ")");
  }

  private static AuditRepository.Query query(String action, Instant from, Instant to) {
    return new AuditRepository.Query(action, null, from, to, null, 51);
  }

  /** $1 and $2 (a scope's paths and whether it sees unit-less entries), bound in the test's EXECUTE instead. */
  private static List<Object> params() {
    return new ArrayList<>(List.of(new String[0], true));
  }

  private static HttpResponse<Buffer> list(TestEnvironment env, String token, String query) {
    return await(env.client().get("/v1/audit" + query).putHeader("Authorization", "Bearer " + token).send());
  }

  private static JsonObject ok(HttpResponse<Buffer> r) {
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    return r.bodyAsJsonObject();
  }

  private static List<Long> seqs(JsonObject page) {
    JsonArray items = page.getJsonArray("items");
    List<Long> seqs = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      seqs.add(items.getJsonObject(i).getLong("seq"));
    }
    return seqs;
  }
}
