package org.frontline.reports;

import io.vertx.core.json.JsonObject;
import org.frontline.platform.db.BoundedWalk;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.QueryPlans;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.reports.ReportFixtures.*;
import static org.frontline.reports.ReportReadTest.created;
import static org.frontline.reports.ReportReadTest.firstField;
import static org.frontline.reports.ReportReadTest.ids;
import static org.frontline.reports.ReportReadTest.invalidAsAdmin;
import static org.frontline.reports.ReportReadTest.list;

/** The bounding-box filter of GET /v1/reports (a class of its own: ReportReadTest counts every report it sees). */
@FrontlineTest
class ReportBboxTest {
  @BeforeAll
  static void freshTokens() {
    forgetTokens();
  }

  /**
   * A GeoJSON-style box crossing the antimeridian (minLon > maxLon) is two ranges of longitude: reports just east and
   * just west of it, none in between. It was a 400. Latitudes do not wrap: minLat > maxLat stays a 400.
   */
  @Test
  void aBoxCrossingTheAntimeridianFindsReportsOnBothSides(TestEnvironment env) {
    List<UUID> near = new ArrayList<>();
    for (double lon : new double[] {179.5, -179.5, 170, -170, 0, 169.9, -169.9}) {
      UUID id = UUID.randomUUID();
      JsonObject e = site(id);
      e.getJsonObject("location").put("lat", -10.0).put("lon", lon);
      created(post(env, "officer.zhang", "/v1/reports", e.put("unitId", TONGZHOU.toString())));
      near.add(id);
    }
    List<String> found = ids(list(env, "officer.zhang", "?bbox=-15,170,-5,-170&limit=200"));
    assertThat(found).containsAll(near.subList(0, 4).stream().map(UUID::toString).toList())
        .doesNotContainAnyElementsOf(near.subList(4, 7).stream().map(UUID::toString).toList());
    // Every report listed lies in the box, and pages of it follow on as any list's.
    for (Object item : list(env, "officer.zhang", "?bbox=-15,170,-5,-170&limit=200").getJsonArray("items")) {
      JsonObject location = ((JsonObject) item).getJsonObject("location");
      assertThat(Math.abs(location.getDouble("lon"))).isGreaterThanOrEqualTo(170);
      assertThat(location.getDouble("lat")).isBetween(-15.0, -5.0);
    }
    JsonObject first = list(env, "officer.zhang", "?bbox=-15,170,-5,-170&limit=2");
    JsonObject rest = list(env, "officer.zhang", "?bbox=-15,170,-5,-170&limit=200&cursor="
        + first.getString("nextCursor"));
    List<String> paged = new ArrayList<>(ids(first));
    paged.addAll(ids(rest));
    assertThat(paged).containsExactlyElementsOf(found);
    // The same box not crossing (minLon <= maxLon) is everything between: the 0 and the 169.9/-169.9 ones too.
    assertThat(ids(list(env, "officer.zhang", "?bbox=-15,-170,-5,170&limit=200")))
        .contains(near.get(4).toString(), near.get(5).toString(), near.get(6).toString())
        .doesNotContain(near.get(0).toString(), near.get(1).toString());
    assertThat(firstField(invalidAsAdmin(env, "/v1/reports?bbox=-5,170,-15,-170"))).isEqualTo("query/bbox");
    assertThat(firstField(invalidAsAdmin(env, "/v1/reports?bbox=-15,181,-5,-170"))).isEqualTo("query/bbox");
  }

  /**
   * A box far from the recent reports: its page walked every newer report outside it (received_at, filtered), up to
   * the whole table. A page now walks at most BoundedWalk.ROWS of the newest reports, then reads the box's
   * own reports from report_location_idx (V192): a small box's three reports beneath 30,000 newer reports outside it
   * are listed, two pages of them, newest first; a box holding the newest reports is answered from the walk alone.
   */
  @Test
  void aSmallBoxBeneathManyNewerReportsOutsideItListsItsReports(TestEnvironment env) throws Exception {
    List<String> inBox = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      UUID id = UUID.randomUUID();
      JsonObject e = site(id);
      e.getJsonObject("location").put("lat", -60.5).put("lon", -30.5 + i * 0.1);
      created(post(env, "officer.zhang", "/v1/reports", e.put("unitId", TONGZHOU.toString())));
      inBox.add(0, id.toString());
    }
    try {
      try (Connection c = env.jdbc(); Statement st = c.createStatement()) {
        outsideTheBox(st, 30000);
      }
      String box = "?bbox=-61,-31,-60,-30";
      JsonObject first = list(env, "officer.zhang", box + "&limit=2");
      assertThat(ids(first)).containsExactlyElementsOf(inBox.subList(0, 2));
      JsonObject rest = list(env, "officer.zhang", box + "&limit=2&cursor=" + first.getString("nextCursor"));
      assertThat(ids(rest)).containsExactlyElementsOf(inBox.subList(2, 3));
      assertThat(rest.getString("nextCursor")).isNull();
      // A box the newest reports lie in: the walk's page, in the list's order.
      List<String> newest = new ArrayList<>();
      try (Connection c = env.jdbc(); Statement st = c.createStatement();
           var rs = st.executeQuery("SELECT id FROM report WHERE title LIKE 'Outside %' AND lat BETWEEN 10 AND 10.2"
               + " ORDER BY received_at DESC, id LIMIT 3")) {
        while (rs.next()) {
          newest.add(rs.getString(1));
        }
      }
      assertThat(ids(list(env, "officer.zhang", "?bbox=10,20,10.2,21&limit=3"))).containsExactlyElementsOf(newest);
    } finally {
      try (Connection c = env.jdbc(); Statement st = c.createStatement()) {
        st.executeUpdate("DELETE FROM report WHERE title LIKE 'Outside %'");
      }
    }
  }

  /**
   * The two statements of a page with a bbox, as generic plans over 20,000 newer reports outside the box: the walk
   * reads BoundedWalk.ROWS reports at the most, and the box's statement only the box's reports
   * (report_location_idx), never the reports outside it. Before, the one statement read all 20,000 (received_at,
   * filtered).
   */
  @Test
  void aPageOfABoxReadsAtMostTheWalkAndTheBoxsOwnReports(TestEnvironment env) throws Exception {
    String path = env.string("SELECT path FROM org_unit WHERE id = ?::uuid", TONGZHOU.toString());
    QueryPlans.rolledBack(env, st -> {
      st.executeUpdate(INSERT_REPORTS + " 'Inside ' || n, now() - interval '1 day', now() - interval '1 day',"
          + " now() - interval '1 day', -70 - n * 0.01, -40, '{}', '{}', sha256(('Inside ' || n)::bytea), '{}', false"
          + " FROM generate_series(1, 5) AS n");
      outsideTheBox(st, 20000);
      st.execute("ANALYZE report");
      // The org units are a handful here: the scope's check would read them all, as any list's does.
      st.execute("SET LOCAL enable_seqscan = off");
      ReportRepository.Filter box = new ReportRepository.Filter(null, null, null, null, null, null,
          new double[] {-71, -41, -70, -39}, null, null, null);
      String types = "uuid, boolean, text[], float8, float8, float8, float8, int";
      String args = "'" + UUID.randomUUID() + "', true, ARRAY['" + path + "'], -71, -41, -70, -39, 51";
      List<Object> params = new ArrayList<>(List.of(UUID.randomUUID(), true, new String[] {path}));
      String plan = QueryPlans.assertReadsFewerThan(QueryPlans.FEW, st, "box_page", types,
          ReportRepository.listSql(box, null, null, 51, params), args);
      assertThat(plan).as(plan).contains("report_location_idx");
      QueryPlans.assertReadsFewerThan(BoundedWalk.ROWS + 2, st, "box_walk", types,
          ReportRepository.boxWalkSql(box, null, null, 51, new ArrayList<>(params.subList(0, 3))), args);
    });
  }

  private static final String INSERT_REPORTS = "INSERT INTO report (id, author_id, unit_id, type, status, title,"
      + " captured_at, received_at, completed_at, lat, lon, body, request, request_sha256, response, report_checks_due)"
      + " SELECT gen_random_uuid(), (SELECT id FROM account WHERE username = 'officer.zhang'), '" + TONGZHOU + "',"
      + " 'SITE', 'COMPLETE',";

  /** {@code count} complete reports received now, around 10N 20E (no evidence checks owed: the workers skip them). */
  private static void outsideTheBox(Statement st, int count) throws java.sql.SQLException {
    st.executeUpdate(INSERT_REPORTS + " 'Outside ' || n, now(), now(), now(), 10 + (n % 100) * 0.01,"
        + " 20 + (n % 97) * 0.01, '{}', '{}', sha256(('Outside ' || n)::bytea), '{}', false"
        + " FROM generate_series(1, " + count + ") AS n");
  }
}
