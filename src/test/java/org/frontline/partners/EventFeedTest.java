package org.frontline.partners;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.LogCapture;
import org.frontline.testing.QueryPlans;
import org.frontline.testing.Restores;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.partners.Partners.call;
import static org.frontline.partners.Partners.login;
import static org.frontline.partners.Partners.ok;
import static org.frontline.partners.Partners.partnerToken;
import static org.frontline.partners.Partners.report;
import static org.frontline.partners.Partners.secretClient;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.testing.TestEnvironment.await;

/** GET /v1/events: the grant, replay from any cursor, and events whose transaction commits late. */
@FrontlineTest
class EventFeedTest {

  @BeforeEach
  void clean(TestEnvironment env) throws Exception {
    // Events of earlier tests would only add noise: the feed reads reports' events. One TRUNCATE, so the running
    // dispatcher cannot write a notification of an event between two DELETEs (a foreign-key failure); it may
    // deadlock with the dispatcher's locks instead (40P01, nothing changed): then again.
    for (int attempt = 1; ; attempt++) {
      try (Connection c = env.jdbc(); Statement st = c.createStatement()) {
        st.executeUpdate("TRUNCATE push_delivery, notification, outbox CASCADE");
        return;
      } catch (java.sql.SQLException e) {
        if (!"40P01".equals(e.getSQLState()) || attempt == 5) {
          throw e;
        }
      }
    }
  }

  static HttpResponse<Buffer> feed(TestEnvironment env, String token, String query) {
    return await(env.client().get("/v1/events" + query).putHeader("Authorization", "Bearer " + token).send());
  }

  /** Reads the whole feed from {@code after} (a client's polling loop). */
  static List<JsonObject> readAll(TestEnvironment env, String token, String after) {
    List<JsonObject> all = new ArrayList<>();
    String cursor = after;
    while (true) {
      JsonObject page = ok(feed(env, token, "?limit=2" + (cursor == null ? "" : "&after=" + cursor)), 200);
      JsonArray items = page.getJsonArray("items");
      items.forEach(i -> all.add((JsonObject) i));
      if (items.isEmpty()) {
        return all;
      }
      cursor = page.getString("nextCursor");
    }
  }

  static List<String> reportIds(List<JsonObject> events) {
    return events.stream().map(e -> e.getJsonObject("data").getString("reportId")).toList();
  }

  /** Polls until the feed shows {@code count} events (the service's own transactions may hold it back a moment). */
  static List<JsonObject> eventually(TestEnvironment env, String token, int count) throws InterruptedException {
    List<JsonObject> events = List.of();
    for (int i = 0; i < 100 && events.size() < count; i++) {
      events = readAll(env, token, null);
      if (events.size() < count) {
        Thread.sleep(100);
      }
    }
    return events;
  }

  @Test
  void aPartnerReadsOnlyItsGrantInOrderAndReplaysFromAnyCursor(TestEnvironment env) throws Exception {
    String token = partnerToken(env, secretClient(env, List.of("events:read"), List.of(TONGZHOU), List.of("SITE")));
    UUID first = report(env, "officer.zhang", TONGZHOU);
    UUID hanjiang = report(env, "officer.xu", HUAISI);
    UUID second = report(env, "officer.zhang", TONGZHOU);
    UUID third = report(env, "officer.zhang", TONGZHOU);

    List<JsonObject> events = eventually(env, token, 3);
    assertThat(reportIds(events)).containsExactly(first.toString(), second.toString(), third.toString());
    assertThat(reportIds(events)).doesNotContain(hanjiang.toString());
    JsonObject e = events.get(0);
    assertThat(e.getString("type")).isEqualTo("report.completed");
    assertThat(e.getJsonObject("data").getString("unitId")).isEqualTo(TONGZHOU.toString());
    assertThat(e.getJsonObject("data").getString("reportType")).isEqualTo("SITE");
    // Replay: from the first event's cursor, the rest, again and again.
    assertThat(reportIds(readAll(env, token, e.getString("cursor")))).containsExactly(second.toString(), third.toString());
    assertThat(reportIds(readAll(env, token, e.getString("cursor")))).containsExactly(second.toString(), third.toString());
    // An empty page keeps the cursor to poll with.
    String last = events.get(2).getString("cursor");
    JsonObject empty = ok(feed(env, token, "?after=" + last), 200);
    assertThat(empty.getJsonArray("items")).isEmpty();
    assertThat(empty.getString("nextCursor")).isEqualTo(last);
    // A cursor not ours.
    assertProblem(feed(env, token, "?after=bm90LWEtY3Vyc29y"), 400, "urn:frontline:problem:validation-failed");
  }

  @Test
  void theGrantsReportTypesFilterTheFeed(TestEnvironment env) throws Exception {
    String token = partnerToken(env, secretClient(env, List.of("events:read"), List.of(TONGZHOU),
        List.of("ENTERPRISE_SERVICE")));
    String siteReader = partnerToken(env, secretClient(env, List.of("events:read"), List.of(TONGZHOU), List.of("SITE")));
    report(env, "officer.zhang", TONGZHOU);
    assertThat(eventually(env, siteReader, 1)).hasSize(1);
    assertThat(readAll(env, token, null)).isEmpty();
  }

  @Test
  void onlyPartnersWithEventsReadGetTheFeed(TestEnvironment env) {
    JsonObject client = secretClient(env, List.of("reports:read"), List.of(TONGZHOU), List.of("SITE"));
    assertProblem(feed(env, partnerToken(env, client), ""), 403, "urn:frontline:problem:forbidden");
    assertProblem(feed(env, login(env, "supervisor.tongzhou"), ""), 403, "urn:frontline:problem:forbidden");
    assertProblem(feed(env, login(env, "admin"), ""), 403, "urn:frontline:problem:forbidden");
    assertThat(await(env.client().get("/v1/events").send()).statusCode()).isEqualTo(401);

    // A partner token is no key to people's operations, even those open to any account.
    JsonObject reader = secretClient(env, List.of("events:read", "reports:read"), List.of(TONGZHOU), List.of("SITE"));
    String token = partnerToken(env, reader);
    // The problem says why (it said "needs one of the roles []": no role at all would do).
    assertThat(assertProblem(call(env, token, HttpMethod.GET, "/v1/me", null), 403, "urn:frontline:problem:forbidden")
        .getString("detail")).doesNotContain("[]").contains("partner client");
    assertProblem(call(env, token, HttpMethod.GET, "/v1/notifications", null), 403, "urn:frontline:problem:forbidden");
    assertProblem(call(env, token, HttpMethod.GET, "/v1/reports", null), 403, "urn:frontline:problem:forbidden");

    // Disabling the client ends its tokens at once.
    ok(feed(env, token, ""), 200);
    ok(call(env, login(env, "admin"), HttpMethod.POST, "/v1/partner-clients/" + reader.getString("id") + "/disable", null), 200);
    assertProblem(feed(env, token, ""), 401, "urn:frontline:problem:unauthorized");
  }

  @Test
  void anEventOfATransactionStillOpenIsHeldBackAndNothingAfterItIsSkipped(TestEnvironment env) throws Exception {
    String token = partnerToken(env, secretClient(env, List.of("events:read"), List.of(TONGZHOU), List.of("SITE")));
    UUID before = report(env, "officer.zhang", TONGZHOU);
    List<JsonObject> seen = eventually(env, token, 1);
    assertThat(reportIds(seen)).containsExactly(before.toString());
    String cursor = seen.get(0).getString("cursor");
    UUID late = report(env, "officer.zhang", TONGZHOU, true); // AWAITING_MEDIA: its event is written below

    try (Connection open = env.jdbc()) {
      open.setAutoCommit(false);
      try (Statement st = open.createStatement()) {
        st.execute("SELECT pg_current_xact_id()"); // this transaction now has its id: older than the next one's
      }
      // Another transaction commits an event after it started (and gets the larger txid).
      UUID committed = report(env, "officer.zhang", TONGZHOU);
      // Now the open transaction writes its event: the larger bigserial id, yet the older transaction.
      try (PreparedStatement ps = open.prepareStatement("INSERT INTO outbox (event_type, aggregate_type, aggregate_id, "
          + "unit_id, payload) VALUES ('report.completed', 'report', ?::uuid, ?::uuid, '{}'::jsonb)")) {
        ps.setString(1, late.toString());
        ps.setString(2, TONGZHOU.toString());
        ps.executeUpdate();
      }
      assertThat(env.count("SELECT count(*) FROM outbox WHERE aggregate_id = ?::uuid", committed.toString())).isEqualTo(1);
      // While it is open, neither is served: the committed one comes after it in the feed's order.
      for (int i = 0; i < 5; i++) {
        assertThat(readAll(env, token, cursor)).isEmpty();
      }
      open.commit();

      // Both are served, the late one first, and the reader that waited at its cursor misses neither.
      List<JsonObject> after = new ArrayList<>();
      for (int i = 0; i < 100 && after.size() < 2; i++) {
        after = readAll(env, token, cursor);
        if (after.size() < 2) {
          Thread.sleep(100);
        }
      }
      assertThat(reportIds(after)).containsExactly(late.toString(), committed.toString());
      assertThat(env.count("SELECT count(*) FROM outbox WHERE aggregate_id = ?::uuid AND id > (SELECT id FROM outbox "
          + "WHERE aggregate_id = ?::uuid)", late.toString(), committed.toString())).isEqualTo(1);
    }
  }

  /** {@code count} complete Tongzhou SITE reports titled "{@code title} n", written directly (no events). */
  static void completeReports(Statement st, String title, int count) throws java.sql.SQLException {
    st.executeUpdate("INSERT INTO report (id, author_id, unit_id, type, status, title, captured_at, completed_at, lat, "
        + "lon, body, request, request_sha256, response) SELECT gen_random_uuid(), (SELECT id FROM account WHERE "
        + "username = 'officer.zhang'), '" + TONGZHOU + "', 'SITE', 'COMPLETE', '" + title + " ' || n, now(), now(), 32, "
        + "121, '{}', '{}', sha256(('" + title + " ' || n)::bytea), '{}' FROM generate_series(1, " + count + ") AS n");
  }

  @Test
  void aPageHoldsAtMost200Events(TestEnvironment env) throws Exception {
    String token = partnerToken(env, secretClient(env, List.of("events:read"), List.of(TONGZHOU), List.of("SITE")));
    try (Connection c = env.jdbc(); Statement st = c.createStatement()) {
      // 205 complete Tongzhou reports and their events, written directly (the API path is tested above).
      completeReports(st, "Bulk", 205);
      st.executeUpdate("INSERT INTO outbox (event_type, aggregate_type, aggregate_id, unit_id, payload) "
          + "SELECT 'report.completed', 'report', id, unit_id, '{}' FROM report WHERE title LIKE 'Bulk %' ORDER BY title");
    }
    JsonObject first = null;
    for (int i = 0; i < 100 && (first == null || first.getJsonArray("items").size() < 200); i++) {
      first = ok(feed(env, token, "?limit=100000"), 200);
      if (first.getJsonArray("items").size() < 200) {
        Thread.sleep(100);
      }
    }
    assertThat(first.getJsonArray("items")).hasSize(200);
    JsonObject rest = ok(feed(env, token, "?limit=100000&after=" + first.getString("nextCursor")), 200);
    assertThat(rest.getJsonArray("items")).hasSize(5);
    assertThat(ok(feed(env, token, ""), 200).getJsonArray("items")).hasSize(50);
  }

  /**
   * A page read every event after its cursor until it had found its items: a partner whose grant had no new event
   * among many others' read all of them on every poll, and got its cursor back unchanged (the webhook fan-out, every
   * round). A page now reads at most EventFeed.READ_LIMIT events, and its nextCursor is the last one read.
   */
  @Test
  void aPageReadsAtMostItsLimitOfEventsOutsideTheGrantAndItsCursorMovesPastThem(TestEnvironment env)
      throws Exception {
    String token = partnerToken(env, secretClient(env, List.of("events:read"), List.of(HUAISI), List.of("SITE")));
    try (Connection c = env.jdbc(); Statement st = c.createStatement()) {
      // Tongzhou's reports, outside the grant: two pages' worth and a half.
      completeReports(st, "Elsewhere", 2 * EventFeed.READ_LIMIT + 500);
      st.executeUpdate("INSERT INTO outbox (event_type, aggregate_type, aggregate_id, unit_id, payload) "
          + "SELECT 'report.completed', 'report', id, unit_id, '{}' FROM report WHERE title LIKE 'Elsewhere %' "
          + "ORDER BY title");
    }
    UUID huaisi = report(env, "officer.xu", HUAISI);
    String afterRead = "SELECT txid::text || ':' || id FROM outbox ORDER BY txid, id OFFSET ? LIMIT 1";
    String first = cursor(env.string(afterRead, EventFeed.READ_LIMIT - 1));
    String second = cursor(env.string(afterRead, 2 * EventFeed.READ_LIMIT - 1));

    assertThat(nextCursorOfAnEmptyPage(env, token, "", first)).isEqualTo(first);
    assertThat(nextCursorOfAnEmptyPage(env, token, "?after=" + first, second)).isEqualTo(second);
    List<JsonObject> rest = List.of();
    for (int i = 0; i < 100 && rest.isEmpty(); i++) { // the report's own transaction may hold it back a moment
      rest = readAll(env, token, second);
      if (rest.isEmpty()) {
        Thread.sleep(100);
      }
    }
    assertThat(reportIds(rest)).containsExactly(huaisi.toString());
  }

  /**
   * The nextCursor of a page without items once it is {@code expected}, or the last one read after 10 s (events just
   * written may be held back a moment by the service's own transactions).
   */
  private static String nextCursorOfAnEmptyPage(TestEnvironment env, String token, String query, String expected)
      throws InterruptedException {
    String next = null;
    for (int i = 0; i < 100 && !expected.equals(next); i++) {
      JsonObject page = ok(feed(env, token, query), 200);
      assertThat(page.getJsonArray("items")).isEmpty();
      next = page.getString("nextCursor");
      if (!expected.equals(next)) {
        Thread.sleep(100);
      }
    }
    return next;
  }

  private static String cursor(String position) {
    return java.util.Base64.getUrlEncoder().withoutPadding()
        .encodeToString(position.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  /** The feed clock's shift (V185). */
  private static long shift(TestEnvironment env) {
    return env.count("SELECT shift FROM feed_clock");
  }

  @Test
  void afterARestoreFromAClusterFurtherAlongNewEventsComeAfterTheCursorsPartnersHold(TestEnvironment env)
      throws Exception {
    String token = partnerToken(env, secretClient(env, List.of("events:read"), List.of(TONGZHOU), List.of("SITE")));
    UUID restored = report(env, "officer.zhang", TONGZHOU);
    List<JsonObject> seen = eventually(env, token, 1);
    assertThat(reportIds(seen)).containsExactly(restored.toString());

    long before = shift(env);
    // Captured from before the restore: the service's own check each minute may be the one that raises the clock.
    String held;
    try (LogCapture log = LogCapture.of(FeedClock.class, "%level %msg%n")) {
      // The database restored into a new cluster: its events and the partner's cursor keep the old cluster's
      // positions.
      Restores.fromAClusterFurtherAlong(env, false);
      held = Restores.cursor(seen.get(0).getString("cursor"));
      // What every process does at start-up (and every minute): several starting at once raise the clock once.
      await(Future.all(IntStream.range(0, 4).mapToObj(i -> FeedClock.check(env.app().database().pool())).toList()));
      assertThat(log.text().lines().toList()).singleElement().asString().startsWith("WARN ")
          .contains("restored from another cluster");
    }
    assertThat(shift(env)).isGreaterThan(before);

    UUID fresh = report(env, "officer.zhang", TONGZHOU);
    List<JsonObject> after = List.of();
    for (int i = 0; i < 100 && after.isEmpty(); i++) {
      after = readAll(env, token, held);
      if (after.isEmpty()) {
        Thread.sleep(100);
      }
    }
    assertThat(reportIds(after)).containsExactly(fresh.toString());
    // The restored event is still served first from the start, the new one after it.
    assertThat(reportIds(readAll(env, token, null))).containsExactly(restored.toString(), fresh.toString());
    assertThat(env.count("SELECT count(*) FROM outbox n, outbox o WHERE n.aggregate_id = ?::uuid AND o.aggregate_id = "
        + "?::uuid AND n.txid > o.txid", fresh.toString(), restored.toString())).isEqualTo(1);

    // Checked again (another process starting, the next minute): right as it is, raised no further.
    long raised = shift(env);
    try (LogCapture log = LogCapture.of(FeedClock.class, "%level %msg%n")) {
      await(FeedClock.check(env.app().database().pool()));
      assertThat(log.text()).isEmpty();
    }
    assertThat(shift(env)).isEqualTo(raised);
  }

  @Test
  void anEventWrittenBeforeARestoredClockIsRaisedIsRefusedWith503NotStoredBehindEveryCursor(TestEnvironment env)
      throws Exception {
    String token = partnerToken(env, secretClient(env, List.of("events:read"), List.of(TONGZHOU), List.of("SITE")));
    report(env, "officer.zhang", TONGZHOU);
    String held = Restores.cursor(eventually(env, token, 1).get(0).getString("cursor"));
    Restores.fromAClusterFurtherAlong(env, true);
    JsonObject envelope = Partners.envelope(TONGZHOU, false);
    String officer = login(env, "officer.zhang");

    try (Connection hold = env.jdbc()) {
      // The service's own minute check waits on the clock's row meanwhile (it would raise the clock).
      hold.setAutoCommit(false);
      try (Statement st = hold.createStatement()) {
        st.execute("SELECT 1 FROM feed_clock FOR UPDATE");
      }
      JsonObject problem = assertProblem(call(env, officer, HttpMethod.POST, "/v1/reports", envelope), 503,
          "urn:frontline:problem:dependency-unavailable");
      assertThat(problem.getString("dependency")).isEqualTo("database");
      hold.rollback();
    }
    assertThat(env.count("SELECT count(*) FROM report WHERE id = ?::uuid", envelope.getString("id"))).isZero();
    assertThat(env.count("SELECT count(*) FROM outbox WHERE aggregate_id = ?::uuid", envelope.getString("id"))).isZero();

    await(FeedClock.check(env.app().database().pool()));
    ok(call(env, officer, HttpMethod.POST, "/v1/reports", envelope), 201);
    List<JsonObject> after = List.of();
    for (int i = 0; i < 100 && after.isEmpty(); i++) {
      after = readAll(env, token, held);
      if (after.isEmpty()) {
        Thread.sleep(100);
      }
    }
    assertThat(reportIds(after)).containsExactly(envelope.getString("id"));
  }

  @Test
  void aPageReadsOnlyTheEventsBetweenItsCursorAndTheHorizon(TestEnvironment env) throws Exception {
    String path = env.string("SELECT path FROM org_unit WHERE id = ?::uuid", TONGZHOU.toString());
    QueryPlans.rolledBack(env, st -> {
      // The events of 5,000 reports behind the cursor, and of 5,000 more past the horizon.
      completeReports(st, "Plan", 10000);
      st.execute("INSERT INTO outbox (event_type, aggregate_type, aggregate_id, unit_id, payload, txid) SELECT"
          + " 'report.completed', 'report', id, unit_id, '{}', (CASE WHEN n <= 5000 THEN n ELSE 4000000000000000000 + n"
          + " END)::text::xid8 FROM (SELECT id, unit_id, split_part(title, ' ', 2)::bigint AS n FROM report"
          + " WHERE title LIKE 'Plan %') plan");
      st.execute("ANALYZE report");
      st.execute("ANALYZE outbox");
      QueryPlans.assertReadsOnlyAFew(st, "feed_page", "text[], text, bigint, text[], text[], int", EventFeed.PAGE,
          "ARRAY['report.completed']", "'5000'", Long.MAX_VALUE, "ARRAY['SITE']", "ARRAY['" + path + "']", 200);
    });
  }
}
