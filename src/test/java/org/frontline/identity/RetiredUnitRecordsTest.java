package org.frontline.identity;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.enterprises.EnterprisesApiTestAccess;
import org.frontline.projects.MilestoneAlerts;
import org.frontline.projects.RecordWatch;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HANJIANG;
import static org.frontline.identity.Admin.account;
import static org.frontline.identity.Admin.call;
import static org.frontline.identity.Admin.count;
import static org.frontline.identity.Admin.get;
import static org.frontline.identity.Admin.ok;
import static org.frontline.identity.Admin.post;
import static org.frontline.identity.Admin.string;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.testing.TestEnvironment.await;

/**
 * The records at a retired unit: kept as they are and read as before (records, figures, audit), while every write to
 * them is 409 naming the retired unit; a unit whose enterprises still have service requests not closed is not
 * retired. The units are made under Hanjiang, written by its supervisor; Tongzhou's supervisor and Nantong's admin
 * stand for the people of other units, to whom the records stay 404.
 */
@FrontlineTest
class RetiredUnitRecordsTest {
  static final String CONFLICT = "urn:frontline:problem:conflict";
  static final String NOT_FOUND = "urn:frontline:problem:not-found";

  static UUID unit(TestEnvironment env, String name) {
    return UUID.fromString(ok(post(env, Admin.token(env, "admin"), "/v1/org-units", new JsonObject()
        .put("parentId", HANJIANG.toString()).put("name", name + " " + UUID.randomUUID()).put("kind", "PARK")), 201)
        .getString("id"));
  }

  static void retire(TestEnvironment env, UUID unit) {
    ok(post(env, Admin.token(env, "admin"), "/v1/org-units/" + unit + "/retire", null), 200);
  }

  /** A 409 naming the retired unit. */
  static JsonObject refused(HttpResponse<Buffer> r, UUID unit) {
    JsonObject p = assertProblem(r, 409, CONFLICT);
    assertThat(p.getString("retiredUnitId")).isEqualTo(unit.toString());
    assertThat(p.getString("retiredAt")).isNotNull();
    assertThat(p.getString("detail")).contains(unit.toString()).contains("retired");
    return p;
  }

  static JsonObject project(TestEnvironment env, String token, UUID unit) {
    return ok(post(env, token, "/v1/projects", new JsonObject().put("unitId", unit.toString())
        .put("name", "Workshop road").put("investmentYuan", 1000)
        .put("site", new JsonObject().put("lat", 32.39).put("lon", 119.43).put("radiusM", 800))
        .put("status", "IN_PROGRESS")), 201);
  }

  static JsonObject milestone(String name) {
    return new JsonObject().put("name", name).put("plannedQuantity", 10).put("unit", "lines")
        .put("plannedStart", "2027-01-01").put("plannedDue", "2027-06-30");
  }

  static JsonObject report(UUID id, UUID unit, String type, JsonObject body) {
    return new JsonObject().put("id", id.toString()).put("type", type).put("unitId", unit.toString())
        .put("capturedAt", "2026-11-20T08:30:00Z")
        .put("location", new JsonObject().put("lat", 32.39).put("lon", 119.43).put("accuracyM", 8.5)
            .put("provider", "gps").put("mock", false))
        .put("title", "Site visit").put("body", body);
  }

  static JsonObject serviceRequest() {
    return new JsonObject().put("category", "LAND").put("description", "Land for a workshop")
        .put("responsibleOfficerId", account("supervisor.hanjiang").toString());
  }

  static JsonObject posting(UUID unit) {
    return new JsonObject().put("officerId", account("officer.xu").toString()).put("frontLine", "MAJOR_PROJECT")
        .put("unitId", unit.toString()).put("startsOn", "2026-12-01").put("allowOverlap", true);
  }

  static long audited(TestEnvironment env, String action, Object objectId) throws Exception {
    return count(env, "SELECT count(*) FROM audit_log WHERE action = ? AND object_id = ?", action,
        objectId.toString());
  }

  /**
   * The design gap: a project at a retired unit still took new milestones, progress (from the endpoint and from a
   * MILESTONE_PROGRESS report of a live unit above it), corrections and re-baselines, and new postings attached to
   * it. Each is 409 naming the unit now, nothing stored or audited; reads, figures and the audit log are as before,
   * and to a supervisor or admin of another unit the project is still 404, never the retired unit's 409.
   */
  @Test
  void aRetiredUnitsProjectsAreReadOnlyAndStillRead(TestEnvironment env) throws Exception {
    String hanjiang = Admin.token(env, "supervisor.hanjiang");
    UUID unit = unit(env, "Retiring park");
    String projectId = project(env, hanjiang, unit).getString("id");
    String m = ok(post(env, hanjiang, "/v1/projects/" + projectId + "/milestones", milestone("Utility lines")), 201)
        .getString("id");
    ok(post(env, hanjiang, "/v1/milestones/" + m + "/progress", new JsonObject().put("quantity", 4)), 201);
    String tongzhou = Admin.token(env, "supervisor.tongzhou");
    assertProblem(post(env, Admin.nantongAdmin(env), "/v1/org-units/" + unit + "/retire", null), 404, NOT_FOUND);
    assertThat(count(env, "SELECT count(*) FROM org_unit WHERE id = ? AND retired_at IS NULL", unit)).isEqualTo(1);

    retire(env, unit);
    assertThat(audited(env, "org-unit.retire", unit)).isEqualTo(1);
    String progressRows = "SELECT string_agg(quantity::text, ',' ORDER BY seq) FROM milestone_progress"
        + " WHERE milestone_id = ?::uuid";
    String milestoneRow = Admin.row(env, "milestone", UUID.fromString(m));

    refused(post(env, hanjiang, "/v1/projects/" + projectId + "/milestones", milestone("Trees")), unit);
    refused(post(env, hanjiang, "/v1/milestones/" + m + "/progress", new JsonObject().put("quantity", 6)), unit);
    refused(post(env, hanjiang, "/v1/milestones/" + m + "/progress", new JsonObject().put("quantity", 3)
        .put("correction", true).put("reason", "Miscounted")), unit);
    refused(post(env, hanjiang, "/v1/milestones/" + m + "/baselines", new JsonObject().put("plannedQuantity", 12)
        .put("plannedStart", "2027-01-01").put("plannedDue", "2027-09-30").put("reason", "Two lines added")), unit);
    UUID report = UUID.randomUUID();
    refused(post(env, hanjiang, "/v1/reports", report(report, HANJIANG, "MILESTONE_PROGRESS",
        new JsonObject().put("milestoneId", m).put("quantity", 7))), unit);
    refused(post(env, hanjiang, "/v1/postings", posting(HANJIANG).put("projectId", projectId)), unit);
    // In a batch: the same 409 as the item's result, the report not stored.
    UUID batched = UUID.randomUUID();
    JsonObject item = ok(post(env, hanjiang, "/v1/reports/batch", new JsonObject().put("reports", new JsonArray()
        .add(report(batched, HANJIANG, "MILESTONE_PROGRESS", new JsonObject().put("milestoneId", m)
            .put("quantity", 8))))), 200).getJsonArray("results").getJsonObject(0);
    assertThat(item.getInteger("httpStatus")).isEqualTo(409);
    assertThat(item.getJsonObject("problem").getString("retiredUnitId")).isEqualTo(unit.toString());
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?", batched)).isZero();
    // Another unit's supervisor: 404, as before the retirement; the unit is not revealed.
    assertProblem(post(env, tongzhou, "/v1/milestones/" + m + "/progress", new JsonObject().put("quantity", 6)),
        404, NOT_FOUND);
    assertProblem(get(env, tongzhou, "/v1/projects/" + projectId), 404, NOT_FOUND);

    assertThat(count(env, "SELECT count(*) FROM milestone WHERE project_id = ?::uuid", projectId)).isEqualTo(1);
    assertThat(Admin.row(env, "milestone", UUID.fromString(m))).isEqualTo(milestoneRow);
    assertThat(count(env, "SELECT count(*) FROM milestone_baseline WHERE milestone_id = ?::uuid", m)).isEqualTo(1);
    assertThat(string(env, progressRows, m)).isEqualTo("4.000");
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?", report)).isZero();
    assertThat(count(env, "SELECT count(*) FROM posting WHERE project_id = ?::uuid", projectId)).isZero();
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action LIKE 'milestone.%' AND object_id = ?", m))
        .isEqualTo(2); // milestone.create and the first milestone.progress
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action IN ('milestone.create', 'posting.create')"
        + " AND details->>'projectId' = ?", projectId)).isEqualTo(1);

    // Read as before: the project, the milestone and its figures, the S-curve, the unit's figures, the audit log.
    JsonObject read = ok(get(env, hanjiang, "/v1/projects/" + projectId), 200);
    assertThat(read.getJsonArray("milestones")).hasSize(1);
    assertThat(read.getJsonArray("milestones").getJsonObject(0).getJsonObject("figures").getValue("actualQuantity")
        .toString()).isIn("4", "4.0", "4.000");
    ok(get(env, hanjiang, "/v1/milestones/" + m), 200);
    ok(get(env, hanjiang, "/v1/projects/" + projectId + "/s-curve"), 200);
    JsonObject figures = ok(get(env, hanjiang, "/v1/figures?unitId=" + unit + "&from=2026-01-01&to=2027-12-31"
        + "&include=projects"), 200);
    assertThat(figures.getJsonObject("projects").getInteger("total")).isEqualTo(1);
    JsonArray entries = ok(get(env, Admin.token(env, "admin"), "/v1/audit?action=milestone.progress&limit=200"), 200)
        .getJsonArray("items");
    assertThat(entries.stream().filter(e -> m.equals(((JsonObject) e).getString("objectId")))).hasSize(1);

    // A new project at the retired unit stays the 422 naming the unit it was.
    assertProblem(post(env, hanjiang, "/v1/projects", new JsonObject().put("unitId", unit.toString())
        .put("name", "Too late").put("investmentYuan", 1)
        .put("site", new JsonObject().put("lat", 32.39).put("lon", 119.43).put("radiusM", 800))), 422,
        "urn:frontline:problem:unprocessable");
    assertThat(count(env, "SELECT count(*) FROM project WHERE unit_id = ?", unit)).isEqualTo(1);
  }

  /**
   * Retirement is refused (409, `references` naming service_request.enterprise_id) while an enterprise of the unit
   * has a service request not yet closed: the enterprise's request would be left unanswered. Once it is closed the
   * unit is retired; its enterprise then takes no new request, report or posting (409 naming the unit), and is read
   * as before.
   */
  @Test
  void aUnitWithServiceRequestsNotYetClosedIsNotRetiredAndItsEnterprisesAreReadOnlyOnceItIs(TestEnvironment env)
      throws Exception {
    String hanjiang = Admin.token(env, "supervisor.hanjiang");
    String admin = Admin.token(env, "admin");
    UUID unit = unit(env, "Merged town");
    String enterprise = ok(post(env, hanjiang, "/v1/enterprises", EnterprisesApiTestAccess.enterprise(unit)), 201)
        .getString("id");
    String request = ok(post(env, hanjiang, "/v1/enterprises/" + enterprise + "/service-requests", serviceRequest()),
        201).getString("id");
    String moves = "/v1/service-requests/" + request + "/transitions";
    String unitBefore = Admin.row(env, "org_unit", unit);

    for (JsonObject move : new JsonObject[] {null, new JsonObject().put("to", "COORDINATING")
        .put("department", "Natural resources bureau"), new JsonObject().put("to", "RESOLVED")
        .put("evidence", "Allocation notice 2026-118")}) {
      if (move != null) {
        ok(post(env, hanjiang, moves, move), 200);
      }
      JsonObject p = assertProblem(post(env, admin, "/v1/org-units/" + unit + "/retire", null), 409, CONFLICT);
      assertThat(p.getJsonArray("references")).isEqualTo(new JsonArray().add("service_request.enterprise_id"));
      assertThat(p.getString("detail")).contains("service requests");
      assertThat(Admin.row(env, "org_unit", unit)).isEqualTo(unitBefore);
    }
    assertThat(audited(env, "org-unit.retire", unit)).isZero();
    ok(post(env, hanjiang, moves, new JsonObject().put("to", "CLOSED").put("satisfaction", 5)), 200);
    retire(env, unit);
    assertThat(audited(env, "org-unit.retire", unit)).isEqualTo(1);

    String requestRow = Admin.row(env, "service_request", UUID.fromString(request));
    refused(post(env, hanjiang, "/v1/enterprises/" + enterprise + "/service-requests", serviceRequest()), unit);
    refused(post(env, hanjiang, "/v1/postings", posting(HANJIANG).put("enterpriseIds",
        new JsonArray().add(enterprise))), unit);
    assertProblem(post(env, Admin.token(env, "supervisor.tongzhou"), "/v1/enterprises/" + enterprise
        + "/service-requests", serviceRequest()), 404, NOT_FOUND);
    assertThat(count(env, "SELECT count(*) FROM service_request WHERE enterprise_id = ?::uuid", enterprise))
        .isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'service-request.create'"
        + " AND details->>'enterpriseId' = ?", enterprise)).isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM posting WHERE ?::uuid = ANY (enterprise_ids)", enterprise)).isZero();
    assertThat(Admin.row(env, "service_request", UUID.fromString(request))).isEqualTo(requestRow);

    ok(get(env, hanjiang, "/v1/enterprises/" + enterprise), 200);
    assertThat(ok(get(env, hanjiang, "/v1/service-requests/" + request), 200).getString("status"))
        .isEqualTo("CLOSED");
    assertThat(ok(get(env, hanjiang, "/v1/figures?unitId=" + unit + "&from=2026-01-01&to=2027-12-31"
        + "&include=satisfaction"), 200).getJsonObject("satisfaction").getInteger("rated")).isEqualTo(1);
  }

  /**
   * A unit retired before the rule above may still hold open requests: they take no move nor report (409 naming the
   * unit), and the record watch no longer alerts on them, nor on the milestones of the unit's projects: nobody could
   * act on the alert.
   */
  @Test
  void openRecordsAtAUnitRetiredBeforeTheRuleTakeNoWritesAndRaiseNoAlerts(TestEnvironment env) throws Exception {
    String hanjiang = Admin.token(env, "supervisor.hanjiang");
    UUID unit = unit(env, "Old park");
    String enterprise = ok(post(env, hanjiang, "/v1/enterprises", EnterprisesApiTestAccess.enterprise(unit)), 201)
        .getString("id");
    String request = ok(post(env, hanjiang, "/v1/enterprises/" + enterprise + "/service-requests", serviceRequest()),
        201).getString("id");
    String projectId = project(env, hanjiang, unit).getString("id");
    String m = ok(post(env, hanjiang, "/v1/projects/" + projectId + "/milestones", milestone("Utility lines")), 201)
        .getString("id");
    try (var c = env.jdbc(); var st = c.prepareStatement("UPDATE org_unit SET retired_at = now() WHERE id = ?")) {
      st.setObject(1, unit);
      assertThat(st.executeUpdate()).isEqualTo(1);
    }
    String requestRow = Admin.row(env, "service_request", UUID.fromString(request));

    refused(post(env, hanjiang, "/v1/service-requests/" + request + "/transitions", new JsonObject()
        .put("to", "COORDINATING").put("department", "Natural resources bureau")), unit);
    UUID report = UUID.randomUUID();
    refused(post(env, hanjiang, "/v1/reports", report(report, HANJIANG, "ENTERPRISE_SERVICE", new JsonObject()
        .put("enterpriseId", enterprise).put("serviceRequestId", request)
        .put("actionsTaken", new JsonArray().add("Met the land bureau")))), unit);
    assertThat(Admin.row(env, "service_request", UUID.fromString(request))).isEqualTo(requestRow);
    assertThat(count(env, "SELECT count(*) FROM service_request_step WHERE service_request_id = ?::uuid", request))
        .isZero();
    assertThat(count(env, "SELECT count(*) FROM service_request_action WHERE service_request_id = ?::uuid", request))
        .isZero();
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?", report)).isZero();
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action LIKE 'service-request.%' AND object_id = ?",
        request)).isEqualTo(1); // its creation

    // Past the request's SLA and the milestone's due date: no alert for either.
    Clock late = Clock.fixed(Instant.parse("2027-08-01T04:00:00Z"), ZoneOffset.UTC);
    await(new RecordWatch(env.app().database().pool(), new MilestoneAlerts(10), late).check());
    assertThat(count(env, "SELECT count(*) FROM outbox WHERE aggregate_id IN (?::uuid, ?::uuid)", request, m))
        .isZero();
    assertThat(string(env, "SELECT overdue_alerted_at::text FROM service_request WHERE id = ?::uuid", request))
        .isNull();
  }

  /**
   * The race: progress recorded and a service request created while the unit is being retired (its row locked and
   * updated, not yet committed) wait for the retirement and are then refused. Neither looked at the unit before: the
   * progress was recorded at a unit retired the same instant, and the request left open at it, past the rule that a
   * unit is retired only once its requests are closed.
   */
  @Test
  void writesWaitingForTheRetirementOfTheirUnitAreRefusedOnceItCommits(TestEnvironment env) throws Exception {
    String hanjiang = Admin.token(env, "supervisor.hanjiang");
    UUID unit = unit(env, "Closing park");
    String projectId = project(env, hanjiang, unit).getString("id");
    String m = ok(post(env, hanjiang, "/v1/projects/" + projectId + "/milestones", milestone("Utility lines")), 201)
        .getString("id");
    String enterprise = ok(post(env, hanjiang, "/v1/enterprises", EnterprisesApiTestAccess.enterprise(unit)), 201)
        .getString("id");
    try (var retiring = env.jdbc(); var s = retiring.createStatement()) {
      retiring.setAutoCommit(false);
      // What POST /v1/org-units/{id}/retire writes, not yet committed.
      s.execute("SELECT 1 FROM org_unit WHERE id = '" + unit + "' FOR UPDATE");
      s.executeUpdate("UPDATE org_unit SET retired_at = now(), updated_at = now() WHERE id = '" + unit + "'");
      CompletableFuture<HttpResponse<Buffer>> progress = CompletableFuture.supplyAsync(() -> call(env, hanjiang,
          HttpMethod.POST, "/v1/milestones/" + m + "/progress", new JsonObject().put("quantity", 2)));
      CompletableFuture<HttpResponse<Buffer>> request = CompletableFuture.supplyAsync(() -> call(env, hanjiang,
          HttpMethod.POST, "/v1/enterprises/" + enterprise + "/service-requests", serviceRequest()));
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).until(() -> progress.isDone()
          || request.isDone() || count(env, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
          + " AND query LIKE '%FROM org_unit WHERE id = $1 FOR SHARE%'") == 2);
      assertThat(progress).as("the progress waits for the retirement").isNotDone();
      assertThat(request).as("the request waits for the retirement").isNotDone();
      retiring.commit();
      refused(progress.get(20, TimeUnit.SECONDS), unit);
      refused(request.get(20, TimeUnit.SECONDS), unit);
    }
    assertThat(count(env, "SELECT count(*) FROM milestone_progress WHERE milestone_id = ?::uuid", m)).isZero();
    assertThat(audited(env, "milestone.progress", m)).isZero();
    assertThat(count(env, "SELECT count(*) FROM service_request WHERE enterprise_id = ?::uuid", enterprise)).isZero();
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'service-request.create'"
        + " AND details->>'enterpriseId' = ?", enterprise)).isZero();
  }
}
