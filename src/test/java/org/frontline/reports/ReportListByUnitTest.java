package org.frontline.reports;

import org.frontline.platform.db.BoundedWalk;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.QueryPlans;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Statement;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.frontline.dev.DemoOrganisation.HANJIANG;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.dev.DemoOrganisation.JIANGSU;
import static org.frontline.dev.DemoOrganisation.SUQIAN;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.reports.ReportFixtures.*;

/**
 * GET /v1/reports without a review filter for a caller narrower than the organisation (a small unit's supervisor, the
 * unitId filter, an officer): read by unit and by author from their indexes, never by walking every newer report of
 * the other units (issue 5 item 10).
 */
@FrontlineTest
class ReportListByUnitTest {
  private static final UUID XU = account("officer.xu");
  private static final UUID ZHANG = account("officer.zhang");

  @BeforeAll
  static void freshTokens() {
    forgetTokens();
  }

  /** A caller of the page's statements, and what their page must start with. */
  private record Case(String name, UUID caller, boolean reader, String path, ReportRepository.Filter filter,
                      OffsetDateTime afterReceived, UUID afterId, String index, List<String> first) {}

  /**
   * 10000 reports of Tongzhou (by officer.zhang) newer than 5 of Huaisi (by officer.xu), 10000 older, generic plans:
   * for Hanjiang's supervisor (with and without unitId and type, and past a cursor) and for officer.xu (with and
   * without a cursor), the page is a walk of at most BoundedWalk.ROWS of the newest (past the cursor: it starts
   * there), then the caller's from report_unit_received_idx or report_author_received_idx, a few rows, the caller's
   * newest first; the organisation-wide statement, which these callers ran before, reads every one of the 10000
   * first. An organisation-wide supervisor keeps that one statement.
   */
  @Test
  void aNarrowCallersPageIsReadByUnitAndAuthor(TestEnvironment env) throws Exception {
    UUID seed = ReportReviewTest.xuReport(env);
    String hanjiang = string(env, "SELECT path FROM org_unit WHERE id = ?", HANJIANG);
    String huaisi = string(env, "SELECT path FROM org_unit WHERE id = ?", HUAISI);
    QueryPlans.rolledBack(env, st -> {
      // in the order of time, as reports arrive (a walk in received_at order reads the table in its order)
      copies(st, seed, ZHANG, TONGZHOU, 10_000, "NULL", "now()");
      List<String> own = newestFirst(copies(st, seed, HUAISI, 5, "NULL", "now() + interval '1 day'"));
      copies(st, seed, ZHANG, TONGZHOU, 10_000, "NULL", "now() + interval '2 days'");
      st.execute("ANALYZE report");
      st.execute("SET LOCAL enable_seqscan = off");
      OffsetDateTime second = received(st, own.get(1));
      ReportRepository.Filter none = filter(null, null);
      List<Case> cases = List.of(
          new Case("district", UUID.randomUUID(), true, hanjiang, none, null, null, "report_unit_received_idx", own),
          new Case("unit", UUID.randomUUID(), true, hanjiang, filter(HUAISI, "SITE"), null, null,
              "report_unit_received_idx", own),
          new Case("cursor", UUID.randomUUID(), true, hanjiang, none, second, UUID.fromString(own.get(1)),
              "report_unit_received_idx", own.subList(2, 5)),
          new Case("officer", XU, false, huaisi, none, null, null, "report_author_received_idx", own),
          new Case("officer_cursor", XU, false, huaisi, none, second, UUID.fromString(own.get(1)),
              "report_author_received_idx", own.subList(2, 5)));
      for (Case c : cases) {
        ReportRepository.PageStatements s = ReportRepository.pageStatements(c.caller(), c.reader(),
            new String[] {c.path()}, false, c.filter(), c.afterReceived(), c.afterId(), 51);
        // An officer reads only their own reports: straight from their author's index, no walk of the organisation.
        assertThat(s.walk() == null).as(c.name()).isEqualTo(!c.reader());
        if (s.walk() != null) {
          QueryPlans.assertReadsFewerThan(BoundedWalk.ROWS + 2, st, c.name() + "_walk", types(s.walkParams()),
              s.walk(), (Object[]) arguments(s.walkParams()));
        }
        assertThat(QueryPlans.assertReadsFewerThan(1000, st, c.name(), types(s.params()), s.sql(),
            (Object[]) arguments(s.params()))).contains(c.index()).doesNotContain("report_received_idx");
        assertThat(page(st, c.name(), s.params()).subList(0, c.first().size())).as(c.name())
            .containsExactlyElementsOf(c.first());
        if (c.afterReceived() == null) {
          List<Object> before = new ArrayList<>(List.of(c.caller(), c.reader(), new String[] {c.path()}));
          String orgWide = ReportRepository.listSql(c.filter(), null, null, 51, before);
          assertThatThrownBy(() -> QueryPlans.assertReadsFewerThan(1000, st, c.name() + "_org", types(before),
              orgWide, (Object[]) arguments(before))).isInstanceOf(AssertionError.class);
        }
      }
      String jiangsu = string(env, "SELECT path FROM org_unit WHERE id = ?", JIANGSU);
      ReportRepository.PageStatements whole = ReportRepository.pageStatements(UUID.randomUUID(), true,
          new String[] {jiangsu}, true, none, null, null, 51);
      assertThat(whole.walk()).isNull();
      assertThat(whole.sql()).isEqualTo(ReportRepository.listSql(none, null, null, 51,
          new ArrayList<>(List.of(UUID.randomUUID(), true, new String[] {jiangsu}))));
    });
  }

  /**
   * Through HTTP: the caller's reports, paged by 2 beneath 2100 newer reports of Suqian (more than the walk reads):
   * the two newest (same time, by id) answered by the walk, the three older by unit or author, across cursors, in
   * order, none twice; for Hanjiang's supervisor, with unitId (and type, status), for an admin with unitId, for
   * officer.xu; none for a unitId outside the scope or another district's supervisor.
   */
  @Test
  void aNarrowCallerPagesTheirReportsBeneathManyNewerElsewhere(TestEnvironment env) throws Exception {
    UUID seed = ReportReviewTest.xuReport(env);
    List<String> expected = new ArrayList<>();
    try {
      env.inTransactionBesideTheService(st -> {
        // Long ago (the `to` filter below keeps every other test's reports out of the list).
        List<String> older = copies(st, seed, HUAISI, 3, "NULL", "timestamptz '2001-01-01'");
        copies(st, seed, ZHANG, SUQIAN, BoundedWalk.ROWS + 100, "NULL", "timestamptz '2001-01-02'");
        List<String> newest = new ArrayList<>(copies(st, seed, HUAISI, 1, "NULL", "timestamptz '2001-01-03'"));
        newest.addAll(copies(st, seed, HUAISI, 1, "NULL", "timestamptz '2001-01-03'"));
        newest.sort(null);
        expected.addAll(newest);
        expected.addAll(newestFirst(older));
      });
      String query = "to=2001-02-01T00:00:00Z";
      assertThat(walk(env, "supervisor.hanjiang", query)).containsExactlyElementsOf(expected);
      assertThat(walk(env, "supervisor.hanjiang", query + "&unitId=" + HUAISI)).containsExactlyElementsOf(expected);
      assertThat(walk(env, "supervisor.hanjiang", query + "&unitId=" + HUAISI + "&type=SITE&status=COMPLETE"))
          .containsExactlyElementsOf(expected);
      assertThat(walk(env, "admin", query + "&unitId=" + HANJIANG)).containsExactlyElementsOf(expected);
      assertThat(walk(env, "officer.xu", query)).containsExactlyElementsOf(expected);
      assertThat(walk(env, "supervisor.hanjiang", query + "&unitId=" + TONGZHOU)).isEmpty();
      assertThat(walk(env, "supervisor.tongzhou", query)).isEmpty();
    } finally {
      env.inTransactionBesideTheService(st -> st.execute("DELETE FROM report WHERE received_at < '2001-02-01'"));
    }
  }

  /**
   * An officer's own reports (the second statement's own part: every report an officer reads) beneath 10000 of their
   * own returned ones and 10000 accepted and 10000 pending of another officer, generic plans: review=ACCEPTED and review=PENDING read theirs from V200's
   * report_author_reviewed_idx and report_author_review_pending_idx, a few rows each; before, the own part read the
   * 10000 returned first (every report of the author, in order, the state a filter).
   */
  @Test
  void anOfficersOwnReportsAreReadInTheirStateFromIndexes(TestEnvironment env) throws Exception {
    UUID seed = ReportReviewTest.xuReport(env);
    String huaisi = string(env, "SELECT path FROM org_unit WHERE id = ?", HUAISI);
    QueryPlans.rolledBack(env, st -> {
      List<String> accepted = newestFirst(copies(st, seed, XU, HUAISI, 3, "'ACCEPTED'", "now() + interval '1 day'"));
      List<String> pending = newestFirst(copies(st, seed, XU, HUAISI, 3, "NULL", "now() + interval '25 hours'"));
      copies(st, seed, XU, HUAISI, 10_000, "'RETURNED'", "now() + interval '2 days'");
      // and the organisation's: many accepted and pending (walking V198's indexes for the author's would read them)
      copies(st, seed, ZHANG, TONGZHOU, 10_000, "'ACCEPTED'", "now() + interval '2 days'");
      copies(st, seed, ZHANG, TONGZHOU, 10_000, "NULL", "now() + interval '2 days'");
      st.execute("ANALYZE report");
      st.execute("SET LOCAL enable_seqscan = off");
      Map<String, List<String>> cases = Map.of("ACCEPTED", accepted, "PENDING", pending);
      Map<String, String> indexes = Map.of("ACCEPTED", "report_author_reviewed_idx", "PENDING",
          "report_author_review_pending_idx");
      for (var c : cases.entrySet()) {
        ReportRepository.Filter f = new ReportRepository.Filter(null, null, null, null, null, null, null, null, null,
            c.getKey());
        List<Object> params = new ArrayList<>(List.of(XU, false, new String[] {huaisi}));
        String sql = ReportRepository.byUnitSql(f, null, null, 51, params);
        String name = "own_" + c.getKey().toLowerCase();
        assertThat(QueryPlans.assertReadsFewerThan(1000, st, name, types(params), sql, (Object[]) arguments(params)))
            .contains(indexes.get(c.getKey()));
        List<String> page = page(st, name, params);
        assertThat(page.subList(0, c.getValue().size())).as(name).containsExactlyElementsOf(c.getValue());
      }
    });
  }

  private static ReportRepository.Filter filter(UUID unitId, String type) {
    return new ReportRepository.Filter(unitId, type, null, null, null, null, null, null, null, null);
  }

  private static OffsetDateTime received(Statement st, String id) throws Exception {
    try (var rs = st.executeQuery("SELECT received_at FROM report WHERE id = '" + id + "'")) {
      rs.next();
      return rs.getObject(1, OffsetDateTime.class);
    }
  }

  /** The ids the statement prepared as {@code name} answers with {@code params}. */
  private static List<String> page(Statement st, String name, List<Object> params) throws Exception {
    List<String> ids = new ArrayList<>();
    try (var rs = st.executeQuery("EXECUTE " + name + "(" + String.join(", ", arguments(params)) + ")")) {
      while (rs.next()) {
        ids.add(rs.getString("id"));
      }
    }
    return ids;
  }

  /** The parameters' SQL types, for PREPARE. */
  private static String types(List<Object> params) {
    return params.stream().map(p -> p instanceof UUID ? "uuid" : p instanceof Boolean ? "boolean"
        : p instanceof String[] ? "text[]" : p instanceof Integer ? "int" : p instanceof OffsetDateTime ? "timestamptz"
        : "text").collect(Collectors.joining(", "));
  }

  /** The parameters as SQL literals, for EXECUTE. */
  private static String[] arguments(List<Object> params) {
    return params.stream().map(p -> p instanceof Boolean || p instanceof Integer ? p.toString()
        : p instanceof String[] a ? "ARRAY['" + String.join("', '", a) + "']" : "'" + p + "'").toArray(String[]::new);
  }
}
