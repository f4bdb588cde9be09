package org.frontline.projects;

import io.vertx.core.Future;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import org.frontline.enterprises.EnterprisesApiTestAccess;
import org.frontline.identity.Actor;
import org.frontline.identity.AdminAudit;
import org.frontline.identity.Caller;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.projects.ProjectsApiTest.account;
import static org.frontline.projects.ProjectsApiTest.call;
import static org.frontline.projects.ProjectsApiTest.jianghai;
import static org.frontline.projects.ProjectsApiTest.ok;
import static org.frontline.projects.ProjectsApiTest.token;
import static org.frontline.testing.TestEnvironment.await;

/**
 * Work-record events under controlled time: the services and the watcher run on the test service's database with
 * fixed clocks (the test service runs no watcher of its own: FRONTLINE_RECORD_WATCH_SECONDS=0).
 */
@FrontlineTest
class WorkRecordEventsTest {
  static final Actor TONGZHOU_SUPERVISOR = new Actor(new Caller(account("supervisor.tongzhou"), List.of("supervisor"),
      List.of(TONGZHOU)), "127.0.0.1", null);

  /** Noon in China Standard Time on the day. */
  static Clock on(String day) {
    return Clock.fixed(Instant.parse(day + "T04:00:00Z"), ZoneOffset.UTC);
  }

  static ProjectService service(TestEnvironment env, String day) {
    return new ProjectService(env.app().database(), new AdminAudit(env.app().audit()), on(day), new MilestoneAlerts(10));
  }

  static RecordWatch watch(TestEnvironment env, Clock clock) {
    return new RecordWatch(env.app().database().pool(), new MilestoneAlerts(10), clock);
  }

  static int check(TestEnvironment env, String day) {
    return await(watch(env, on(day)).check());
  }

  static long events(TestEnvironment env, String type, UUID aggregate) {
    return env.count("SELECT count(*) FROM outbox WHERE event_type = ? AND aggregate_id = ?", type, aggregate);
  }

  /** A Tongzhou milestone created through the API. */
  static UUID milestone(TestEnvironment env, int planned, String start, String due) {
    String supervisor = token(env, "supervisor.tongzhou");
    JsonObject project = ok(call(env, supervisor, HttpMethod.POST, "/v1/projects", jianghai(TONGZHOU)), 201);
    JsonObject m = ok(call(env, supervisor, HttpMethod.POST, "/v1/projects/" + project.getString("id")
        + "/milestones", new JsonObject().put("name", "Utility lines").put("plannedQuantity", planned)
        .put("unit", "items").put("plannedStart", start).put("plannedDue", due)), 201);
    return UUID.fromString(m.getString("id"));
  }

  static void progress(TestEnvironment env, String day, UUID milestone, JsonObject body) {
    await(service(env, day).recordProgress(TONGZHOU_SUPERVISOR, milestone, body.put("measuredOn", day),
        env.app().database()::inTransaction));
  }

  @Test
  void atRiskIsEmittedAtTheCrossingNotAgainWhileCrossedAndAgainAfterRecovery(TestEnvironment env) {
    // 1000 items over 100 days: 10 a day planned; at risk above 10% of 1000, i.e. more than 100 behind.
    UUID m = milestone(env, 1000, "2030-01-01", "2030-04-11");
    progress(env, "2030-01-11", m, new JsonObject().put("quantity", 95));
    assertThat(events(env, MilestoneAlerts.AT_RISK, m)).isZero();

    check(env, "2030-01-20"); // 190 planned, 95 done: 9.5%
    assertThat(events(env, MilestoneAlerts.AT_RISK, m)).isZero();
    check(env, "2030-01-21"); // 200 planned: 10.5%, crossed
    assertThat(events(env, MilestoneAlerts.AT_RISK, m)).isEqualTo(1);
    assertThat(env.string("SELECT payload::text FROM outbox WHERE event_type = 'milestone.at-risk'"
        + " AND aggregate_id = ?", m)).contains("\"slippagePercent\": \"10.50\"").contains("\"asOf\": \"2030-01-21\"");
    assertThat(env.string("SELECT unit_id::text FROM outbox WHERE aggregate_id = ?", m)).isEqualTo(TONGZHOU.toString());
    check(env, "2030-01-22");
    check(env, "2030-01-22");
    assertThat(events(env, MilestoneAlerts.AT_RISK, m)).as("not again while crossed").isEqualTo(1);

    // Back on track by a progress write: the state is cleared in its transaction, nothing emitted.
    progress(env, "2030-01-22", m, new JsonObject().put("quantity", 200));
    assertThat(env.count("SELECT count(*) FROM milestone WHERE id = ? AND at_risk_since IS NULL", m)).isEqualTo(1);
    assertThat(events(env, MilestoneAlerts.AT_RISK, m)).isEqualTo(1);

    // A write that crosses (an audited correction down) emits in its own transaction.
    progress(env, "2030-01-22", m, new JsonObject().put("quantity", 50).put("correction", true)
        .put("reason", "Double-counted lines"));
    assertThat(events(env, MilestoneAlerts.AT_RISK, m)).isEqualTo(2);
    check(env, "2030-01-23");
    assertThat(events(env, MilestoneAlerts.AT_RISK, m)).isEqualTo(2);

    // Recovery, then time alone crosses again.
    progress(env, "2030-01-23", m, new JsonObject().put("quantity", 230));
    check(env, "2030-01-30"); // 290 planned, 230 done: 6%
    assertThat(events(env, MilestoneAlerts.AT_RISK, m)).isEqualTo(2);
    check(env, "2030-02-10"); // 400 planned: 17%
    assertThat(events(env, MilestoneAlerts.AT_RISK, m)).isEqualTo(3);
    assertThat(events(env, MilestoneAlerts.OVERDUE, m)).isZero();
    assertThat(events(env, MilestoneAlerts.COMPLETED, m)).isZero();
  }

  @Test
  void overdueAlertsOnceUntilRebaselinedAndCompletedAlertsOnce(TestEnvironment env) {
    UUID m = milestone(env, 100, "2030-01-01", "2030-01-11");
    check(env, "2030-01-11"); // due today: not overdue yet
    assertThat(events(env, MilestoneAlerts.OVERDUE, m)).isZero();
    check(env, "2030-01-12");
    assertThat(events(env, MilestoneAlerts.OVERDUE, m)).isEqualTo(1);
    assertThat(env.string("SELECT payload ->> 'plannedDue' FROM outbox WHERE event_type = 'milestone.overdue'"
        + " AND aggregate_id = ?", m)).isEqualTo("2030-01-11");
    check(env, "2030-01-13");
    assertThat(events(env, MilestoneAlerts.OVERDUE, m)).isEqualTo(1);

    // A new baseline puts it back in time (cleared in the rebaseline's transaction); passing it alerts again.
    await(service(env, "2030-01-13").rebaseline(TONGZHOU_SUPERVISOR, m, new JsonObject().put("plannedQuantity", 100)
        .put("plannedStart", "2030-01-01").put("plannedDue", "2030-02-01").put("reason", "Permit delayed"),
        env.app().database()::inTransaction));
    assertThat(env.count("SELECT count(*) FROM milestone WHERE id = ? AND overdue_alerted_at IS NULL", m)).isEqualTo(1);
    check(env, "2030-02-01");
    assertThat(events(env, MilestoneAlerts.OVERDUE, m)).isEqualTo(1);
    check(env, "2030-02-02");
    assertThat(events(env, MilestoneAlerts.OVERDUE, m)).isEqualTo(2);

    progress(env, "2030-02-02", m, new JsonObject().put("quantity", 60));
    assertThat(events(env, MilestoneAlerts.COMPLETED, m)).isZero();
    progress(env, "2030-02-02", m, new JsonObject().put("quantity", 100));
    assertThat(events(env, MilestoneAlerts.COMPLETED, m)).isEqualTo(1);
    assertThat(env.count("SELECT count(*) FROM milestone WHERE id = ? AND overdue_alerted_at IS NULL"
        + " AND at_risk_since IS NULL AND completed_alerted_at IS NOT NULL", m)).isEqualTo(1);
    progress(env, "2030-02-03", m, new JsonObject().put("quantity", 120));
    check(env, "2030-03-01");
    assertThat(events(env, MilestoneAlerts.COMPLETED, m)).as("completed once").isEqualTo(1);
    assertThat(events(env, MilestoneAlerts.OVERDUE, m)).isEqualTo(2);
  }

  /**
   * A completed milestone whose plan grows past its progress (a re-baseline: more lines found) is open again, and the
   * watcher judges it again: it skipped every milestone once completed, so this one passed its new due date with
   * nobody told. Completion is still alerted once.
   */
  @Test
  void aMilestoneReopenedByALargerPlanIsWatchedAgain(TestEnvironment env) {
    UUID m = milestone(env, 100, "2030-01-01", "2030-02-01");
    progress(env, "2030-01-20", m, new JsonObject().put("quantity", 100));
    assertThat(events(env, MilestoneAlerts.COMPLETED, m)).isEqualTo(1);
    await(service(env, "2030-01-21").rebaseline(TONGZHOU_SUPERVISOR, m, new JsonObject().put("plannedQuantity", 120)
        .put("plannedStart", "2030-01-01").put("plannedDue", "2030-03-01").put("reason", "20 more lines found"),
        env.app().database()::inTransaction));
    check(env, "2030-03-01"); // due today, 100 of 120
    assertThat(events(env, MilestoneAlerts.OVERDUE, m)).isZero();
    check(env, "2030-03-02");
    assertThat(events(env, MilestoneAlerts.OVERDUE, m)).isEqualTo(1);
    assertThat(events(env, MilestoneAlerts.AT_RISK, m)).isEqualTo(1); // 20 of 120 behind: 16.67 %
    assertThat(env.count("SELECT count(*) FROM milestone WHERE id = ? AND overdue_alerted_at IS NOT NULL"
        + " AND at_risk_since IS NOT NULL AND completed_alerted_at IS NOT NULL", m)).isEqualTo(1);

    progress(env, "2030-03-02", m, new JsonObject().put("quantity", 120));
    check(env, "2030-03-10");
    assertThat(events(env, MilestoneAlerts.COMPLETED, m)).as("completed once").isEqualTo(1);
    assertThat(events(env, MilestoneAlerts.OVERDUE, m)).isEqualTo(1);
    assertThat(env.count("SELECT count(*) FROM milestone WHERE id = ? AND overdue_alerted_at IS NULL"
        + " AND at_risk_since IS NULL", m)).isEqualTo(1);
  }

  @Test
  void twoWatchersAtOnceEmitOnce(TestEnvironment env) {
    UUID m = milestone(env, 100, "2030-01-01", "2030-01-11");
    Clock later = on("2030-01-20");
    for (int round = 0; round < 3; round++) {
      await(Future.all(watch(env, later).check(), watch(env, later).check(), watch(env, later).check()));
    }
    assertThat(events(env, MilestoneAlerts.OVERDUE, m)).isEqualTo(1);
    assertThat(events(env, MilestoneAlerts.AT_RISK, m)).isEqualTo(1);
  }

  @Test
  void aServiceRequestPastItsSlaAlertsOnceUnlessResolvedInTime(TestEnvironment env) {
    String hanjiang = token(env, "supervisor.hanjiang");
    JsonObject enterprise = ok(call(env, hanjiang, HttpMethod.POST, "/v1/enterprises",
        EnterprisesApiTestAccess.enterprise(HUAISI)), 201);
    String path = "/v1/enterprises/" + enterprise.getString("id") + "/service-requests";
    JsonObject request = new JsonObject().put("category", "APPROVAL").put("description", "Workshop permit")
        .put("responsibleOfficerId", account("officer.xu").toString());
    JsonObject open = ok(call(env, hanjiang, HttpMethod.POST, path, request), 201);
    JsonObject resolved = ok(call(env, hanjiang, HttpMethod.POST, path, request), 201);
    UUID openId = UUID.fromString(open.getString("id"));
    UUID resolvedId = UUID.fromString(resolved.getString("id"));
    String moves = "/v1/service-requests/" + resolvedId + "/transitions";
    ok(call(env, hanjiang, HttpMethod.POST, moves, new JsonObject().put("to", "COORDINATING")
        .put("department", "Housing bureau")), 200);
    ok(call(env, hanjiang, HttpMethod.POST, moves, new JsonObject().put("to", "RESOLVED")
        .put("evidence", "Permit issued")), 200);

    OffsetDateTime due = OffsetDateTime.parse(open.getString("dueAt"));
    Clock before = Clock.fixed(due.minusSeconds(1).toInstant(), ZoneOffset.UTC);
    Clock after = Clock.fixed(due.plusSeconds(1).toInstant(), ZoneOffset.UTC);
    await(watch(env, before).check());
    assertThat(events(env, RecordWatch.REQUEST_OVERDUE, openId)).isZero();
    await(Future.all(watch(env, after).check(), watch(env, after).check()));
    assertThat(events(env, RecordWatch.REQUEST_OVERDUE, openId)).isEqualTo(1);
    await(watch(env, Clock.offset(after, Duration.ofDays(3))).check());
    assertThat(events(env, RecordWatch.REQUEST_OVERDUE, openId)).isEqualTo(1);
    assertThat(events(env, RecordWatch.REQUEST_OVERDUE, resolvedId)).isZero();
    JsonObject payload = new JsonObject(env.string("SELECT payload::text FROM outbox WHERE aggregate_id = ?"
        + " AND event_type = 'service-request.overdue'", openId));
    assertThat(payload.getString("enterpriseId")).isEqualTo(enterprise.getString("id"));
    assertThat(payload.getString("unitId")).isEqualTo(HUAISI.toString());
    assertThat(payload.getString("category")).isEqualTo("APPROVAL");
    assertThat(env.string("SELECT unit_id::text FROM outbox WHERE aggregate_id = ?", openId))
        .isEqualTo(HUAISI.toString());
  }
}
