package org.frontline.projects;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.ScopeMoves;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HANJIANG;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.projects.ProjectsApiTest.call;
import static org.frontline.projects.ProjectsApiTest.count;
import static org.frontline.projects.ProjectsApiTest.fields;
import static org.frontline.projects.ProjectsApiTest.jianghai;
import static org.frontline.projects.ProjectsApiTest.ok;
import static org.frontline.projects.ProjectsApiTest.records;
import static org.frontline.projects.ProjectsApiTest.token;
import static org.frontline.testing.TestEnvironment.await;

/**
 * Closing a project (POST /v1/projects/{id}/close): COMPLETED or CANCELLED, once, with its reason, audited; then
 * read-only, and no longer alerted on. Each project is made at a unit of its own under Tongzhou, so lists and
 * alerts are the test's alone.
 */
@FrontlineTest
class ProjectClosingTest {
  static final String CONFLICT = "urn:frontline:problem:conflict";
  static final String UNPROCESSABLE = "urn:frontline:problem:unprocessable";
  static final String BAD_REQUEST = "urn:frontline:problem:validation-failed";
  /** Past the milestones' due date (2026-05-31). */
  static final Clock LATE = Clock.fixed(Instant.parse("2026-08-01T04:00:00Z"), ZoneOffset.UTC);

  static HttpResponse<Buffer> close(TestEnvironment env, String token, String project, JsonObject body, String key) {
    var request = env.client().request(HttpMethod.POST, "/v1/projects/" + project + "/close")
        .putHeader("Authorization", "Bearer " + token);
    if (key != null) {
      request.putHeader("Idempotency-Key", key);
    }
    return await(request.sendJsonObject(body));
  }

  static JsonObject outcome(String outcome, String reason) {
    JsonObject body = new JsonObject().put("outcome", outcome);
    return reason == null ? body : body.put("reason", reason);
  }

  /** A project at a new unit under Tongzhou with a milestone of 10,000 trees (2026-03-01 to 2026-05-31): [project, milestone]. */
  static JsonObject[] projectWithTrees(TestEnvironment env, String supervisor) {
    UUID unit = ScopeMoves.unit(env, TONGZHOU);
    JsonObject project = ok(call(env, supervisor, HttpMethod.POST, "/v1/projects", jianghai(unit)), 201);
    JsonObject trees = ok(call(env, supervisor, HttpMethod.POST, "/v1/projects/" + project.getString("id")
        + "/milestones", new JsonObject().put("name", "Relocate 10,000 trees").put("plannedQuantity", 10000)
        .put("unit", "trees").put("plannedStart", "2026-03-01").put("plannedDue", "2026-05-31")), 201);
    return new JsonObject[] {project, trees};
  }

  static String row(TestEnvironment env, String project) {
    return env.string("SELECT row_to_json(p)::text FROM project p WHERE id = ?::uuid", project);
  }

  static long closings(TestEnvironment env, String project) throws Exception {
    return count(env, "SELECT count(*) FROM audit_log WHERE action = 'project.close' AND object_id = ?", project);
  }

  /** The 409 of a closed project: naming it, its outcome and when it was closed. */
  static JsonObject closed(HttpResponse<Buffer> r, String project, String outcome, String closedAt) {
    JsonObject p = assertProblem(r, 409, CONFLICT);
    assertThat(p.getString("projectId")).isEqualTo(project);
    assertThat(p.getString("outcome")).isEqualTo(outcome);
    assertThat(p.getString("projectStatus")).isEqualTo(outcome);
    assertThat(p.getString("closedAt")).isEqualTo(closedAt);
    assertThat(p.getString("detail")).contains(project, outcome);
    return p;
  }

  /**
   * A cancellation: without a reason 422, with a blank, overlong or unknown field 400, nothing stored. Then closed
   * once (the reason stored stripped, one audit entry with outcome, reason and previous status); the
   * Idempotency-Key's repeat answers the same, a repeat with the same outcome (another reason) too, writing
   * nothing; the other outcome is 409 naming closedAt and outcome. Reads and the list's status filter show it.
   */
  @Test
  void aProjectIsCancelledOnceWithItsReasonAndAudited(TestEnvironment env) throws Exception {
    String supervisor = token(env, "supervisor.tongzhou");
    String project = projectWithTrees(env, supervisor)[0].getString("id");
    String before = row(env, project);

    JsonObject p = assertProblem(close(env, supervisor, project, outcome("CANCELLED", null), null), 422,
        UNPROCESSABLE);
    assertThat(fields(p)).containsExactly("body/reason");
    // Blank text, an ideographic space (U+3000) as white space: the contract's 400 (U+3000 was a 422, stripped).
    for (String blank : List.of("\u3000", " \t")) {
      assertThat(fields(assertProblem(close(env, supervisor, project, outcome("CANCELLED", blank), null), 400,
          BAD_REQUEST))).containsExactly("body/reason");
    }
    assertThat(fields(assertProblem(close(env, supervisor, project, outcome("CANCELLED", "x".repeat(1001)), null),
        400, BAD_REQUEST))).containsExactly("body/reason");
    assertThat(fields(assertProblem(close(env, supervisor, project, outcome("ABANDONED", "Gone"), null), 400,
        BAD_REQUEST))).containsExactly("body/outcome");
    assertThat(fields(assertProblem(close(env, supervisor, project, outcome("CANCELLED", "Gone").put("closedAt",
        "2026-01-01T00:00:00Z"), null), 400, BAD_REQUEST))).containsExactly("body/closedAt");
    assertThat(row(env, project)).isEqualTo(before);
    assertThat(closings(env, project)).isZero();

    String key = UUID.randomUUID().toString();
    String reason = "x".repeat(990) + " funds";
    JsonObject closed = ok(close(env, supervisor, project, outcome("CANCELLED", "  " + reason + "  "), key), 200);
    assertThat(closed.getString("status")).isEqualTo("CANCELLED");
    assertThat(closed.getString("outcome")).isEqualTo("CANCELLED");
    assertThat(closed.getString("closeReason")).isEqualTo(reason);
    String closedAt = closed.getString("closedAt");
    assertThat(OffsetDateTime.parse(closedAt)).isAfter(OffsetDateTime.now().minusMinutes(1));
    assertThat(closed.getJsonArray("milestones")).hasSize(1);
    assertThat(env.string("SELECT status || '|' || close_reason FROM project WHERE id = ?::uuid", project))
        .isEqualTo("CANCELLED|" + reason);
    assertThat(closings(env, project)).isEqualTo(1);
    JsonObject details = new JsonObject(env.string("SELECT details::text FROM audit_log WHERE action = "
        + "'project.close' AND object_id = ?", project));
    assertThat(details.getString("outcome")).isEqualTo("CANCELLED");
    assertThat(details.getString("reason")).isEqualTo(reason);
    assertThat(details.getString("previousStatus")).isEqualTo("IN_PROGRESS");
    assertThat(details.getString("closedAt")).isEqualTo(closedAt);
    assertThat(env.string("SELECT unit_id::text FROM audit_log WHERE action = 'project.close' AND object_id = ?",
        project)).isEqualTo(closed.getString("unitId"));

    assertThat(ok(close(env, supervisor, project, outcome("CANCELLED", "  " + reason + "  "), key), 200))
        .isEqualTo(closed);
    assertThat(ok(close(env, supervisor, project, outcome("CANCELLED", "Said again"), null), 200)).isEqualTo(closed);
    String stored = row(env, project);
    closed(close(env, supervisor, project, outcome("COMPLETED", "Finished after all"), null), project, "CANCELLED",
        closedAt);
    assertThat(row(env, project)).isEqualTo(stored);
    assertThat(closings(env, project)).isEqualTo(1);

    JsonObject read = ok(call(env, token(env, "officer.zhang"), HttpMethod.GET, "/v1/projects/" + project, null), 200);
    assertThat(read.getString("status")).isEqualTo("CANCELLED");
    assertThat(read.getString("outcome")).isEqualTo("CANCELLED");
    assertThat(read.getString("closedAt")).isEqualTo(closedAt);
    assertThat(read.getString("closeReason")).isEqualTo(reason);
    String unit = closed.getString("unitId");
    String open = ok(call(env, supervisor, HttpMethod.POST, "/v1/projects", jianghai(UUID.fromString(unit))), 201)
        .getString("id");
    JsonArray cancelled = ok(call(env, supervisor, HttpMethod.GET, "/v1/projects?unitId=" + unit
        + "&status=CANCELLED", null), 200).getJsonArray("items");
    assertThat(cancelled).hasSize(1);
    assertThat(cancelled.getJsonObject(0).getString("id")).isEqualTo(project);
    assertThat(cancelled.getJsonObject(0).getString("closeReason")).isEqualTo(reason);
    JsonArray inProgress = ok(call(env, supervisor, HttpMethod.GET, "/v1/projects?unitId=" + unit
        + "&status=IN_PROGRESS", null), 200).getJsonArray("items");
    assertThat(inProgress).hasSize(1);
    assertThat(inProgress.getJsonObject(0).getString("id")).isEqualTo(open);
    assertThat(inProgress.getJsonObject(0).getValue("closedAt", "absent")).isNull();
    assertThat(inProgress.getJsonObject(0).getValue("outcome", "absent")).isNull();
    assertProblem(call(env, supervisor, HttpMethod.GET, "/v1/projects?status=DONE", null), 400, BAD_REQUEST);
  }

  /**
   * COMPLETED: with every milestone at its plan (or beyond) no reason is needed; with one short of it the reason is
   * 422 until given, and the audit entry names the milestone short of its plan. A project is closed by this
   * operation alone: creating one COMPLETED is 400 naming body/status.
   */
  @Test
  void aProjectIsCompletedWithAReasonWhenAMilestoneIsShortOfItsPlan(TestEnvironment env) throws Exception {
    String supervisor = token(env, "supervisor.tongzhou");
    String officer = token(env, "officer.zhang");
    JsonObject[] done = projectWithTrees(env, supervisor);
    String project = done[0].getString("id");
    String trees = "/v1/milestones/" + done[1].getString("id") + "/progress";
    ok(call(env, officer, HttpMethod.POST, trees, new JsonObject().put("quantity", 10200)
        .put("measuredOn", "2026-05-30")), 201);
    JsonObject completed = ok(close(env, supervisor, project, outcome("COMPLETED", null), null), 200);
    assertThat(completed.getString("outcome")).isEqualTo("COMPLETED");
    assertThat(completed.getValue("closeReason", "absent")).isNull();
    assertThat(env.string("SELECT details->>'milestonesShortOfPlan' FROM audit_log WHERE action = 'project.close'"
        + " AND object_id = ?", project)).isEqualTo("[]");

    JsonObject[] short_ = projectWithTrees(env, supervisor);
    String shortProject = short_[0].getString("id");
    String milestone = short_[1].getString("id");
    ok(call(env, officer, HttpMethod.POST, "/v1/milestones/" + milestone + "/progress", new JsonObject()
        .put("quantity", 9950).put("measuredOn", "2026-05-30")), 201);
    String before = row(env, shortProject);
    JsonObject p = assertProblem(close(env, supervisor, shortProject, outcome("COMPLETED", null), null), 422,
        UNPROCESSABLE);
    assertThat(fields(p)).containsExactly("body/reason");
    assertThat(p.getString("detail")).contains(milestone);
    assertThat(row(env, shortProject)).isEqualTo(before);
    assertThat(closings(env, shortProject)).isZero();
    ok(close(env, supervisor, shortProject, outcome("COMPLETED", "50 trees kept in place by the design change"), null),
        200);
    assertThat(env.string("SELECT status FROM project WHERE id = ?::uuid", shortProject)).isEqualTo("COMPLETED");
    assertThat(env.string("SELECT details->>'milestonesShortOfPlan' FROM audit_log WHERE action = 'project.close'"
        + " AND object_id = ?", shortProject)).isEqualTo("[\"" + milestone + "\"]");

    assertThat(fields(assertProblem(call(env, supervisor, HttpMethod.POST, "/v1/projects",
        jianghai(TONGZHOU).put("status", "COMPLETED")), 400, BAD_REQUEST))).containsExactly("body/status");
  }

  /**
   * A closed project is read-only: progress, a correction, a re-baseline, a new milestone, a MILESTONE_PROGRESS
   * report and a hand-over are each 409 naming closedAt and outcome, and nothing of the project changes. Out of
   * scope stays 404.
   */
  @Test
  void aClosedProjectTakesNoMoreWrites(TestEnvironment env) throws Exception {
    String supervisor = token(env, "supervisor.tongzhou");
    String officer = token(env, "officer.zhang");
    JsonObject[] created = projectWithTrees(env, supervisor);
    String project = created[0].getString("id");
    String milestone = created[1].getString("id");
    String progress = "/v1/milestones/" + milestone + "/progress";
    ok(call(env, officer, HttpMethod.POST, progress, new JsonObject().put("quantity", 3000)
        .put("measuredOn", "2026-04-01")), 201);
    String closedAt = ok(close(env, supervisor, project, outcome("CANCELLED", "Route changed"), null), 200)
        .getString("closedAt");
    String stored = records(env, project, milestone);
    String projectRow = row(env, project);
    UUID report = UUID.randomUUID();
    for (Object[] write : List.of(
        new Object[] {officer, progress, new JsonObject().put("quantity", 4200).put("measuredOn", "2026-04-15")},
        new Object[] {supervisor, progress, new JsonObject().put("quantity", 2900).put("measuredOn", "2026-04-01")
            .put("correction", true).put("reason", "Recounted")},
        new Object[] {supervisor, "/v1/milestones/" + milestone + "/baselines", new JsonObject()
            .put("plannedQuantity", 10500).put("plannedStart", "2026-03-01").put("plannedDue", "2026-06-30")
            .put("reason", "500 more trees")},
        new Object[] {supervisor, "/v1/projects/" + project + "/milestones", new JsonObject().put("name", "Benches")
            .put("plannedQuantity", 10).put("unit", "items").put("plannedStart", "2026-03-01")
            .put("plannedDue", "2026-05-31")},
        new Object[] {officer, "/v1/reports", new JsonObject().put("id", report.toString())
            .put("type", "MILESTONE_PROGRESS").put("unitId", created[0].getString("unitId"))
            .put("capturedAt", "2026-11-20T08:30:00Z")
            .put("location", new JsonObject().put("lat", 32.06).put("lon", 121.07).put("accuracyM", 8.5)
                .put("provider", "gps").put("mock", false))
            .put("title", "Trees moved").put("body", new JsonObject().put("milestoneId", milestone)
                .put("quantity", 5000))},
        new Object[] {token(env, "admin"), "/v1/projects/" + project + "/move",
            new JsonObject().put("newUnitId", TONGZHOU.toString())})) {
      closed(call(env, (String) write[0], HttpMethod.POST, (String) write[1], (JsonObject) write[2]), project,
          "CANCELLED", closedAt);
    }
    assertThat(records(env, project, milestone)).isEqualTo(stored);
    assertThat(row(env, project)).isEqualTo(projectRow);
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?::uuid", report.toString())).isZero();
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'project.move' AND object_id = ?", project))
        .isZero();
    assertProblem(call(env, token(env, "supervisor.hanjiang"), HttpMethod.POST, progress,
        new JsonObject().put("quantity", 4200)), 404, "urn:frontline:problem:not-found");
  }

  /**
   * Supervisors and admins close, as they create and plan projects: an officer and an assessor are 403, another
   * unit's supervisor and admin 404 (as for a project that does not exist); nothing changes. The province admin
   * closes it.
   */
  @Test
  void onlySupervisorsAndAdminsInScopeClose(TestEnvironment env) throws Exception {
    String project = projectWithTrees(env, token(env, "supervisor.tongzhou"))[0].getString("id");
    String before = row(env, project);
    JsonObject body = outcome("CANCELLED", "Merged into another project");
    for (String username : List.of("officer.zhang", "assessor.tongzhou")) {
      assertProblem(close(env, token(env, username), project, body, null), 403, "urn:frontline:problem:forbidden");
    }
    assertProblem(close(env, token(env, "supervisor.hanjiang"), project, body, null), 404,
        "urn:frontline:problem:not-found");
    assertProblem(close(env, otherUnitsAdmin(env), project, body, null), 404, "urn:frontline:problem:not-found");
    assertProblem(close(env, token(env, "admin"), UUID.randomUUID().toString(), body, null), 404,
        "urn:frontline:problem:not-found");
    assertThat(row(env, project)).isEqualTo(before);
    assertThat(closings(env, project)).isZero();
    ok(close(env, token(env, "admin"), project, body, null), 200);
    assertThat(closings(env, project)).isEqualTo(1);
  }

  /** An admin of a new unit under Hanjiang: another unit's admin, whose scope holds none of the test's projects. */
  static String otherUnitsAdmin(TestEnvironment env) {
    UUID unit = ScopeMoves.unit(env, HANJIANG);
    return ScopeMoves.caller(env, unit, "admin").token();
  }

  /** A project at a retired unit is kept as it is: closing it is the retired unit's 409, nothing changed. */
  @Test
  void aProjectAtARetiredUnitIsNotClosed(TestEnvironment env) throws Exception {
    String supervisor = token(env, "supervisor.tongzhou");
    JsonObject project = projectWithTrees(env, supervisor)[0];
    String id = project.getString("id");
    try (var c = env.jdbc(); var st = c.prepareStatement("UPDATE org_unit SET retired_at = now() WHERE id = ?::uuid")) {
      st.setString(1, project.getString("unitId"));
      assertThat(st.executeUpdate()).isEqualTo(1);
    }
    String before = row(env, id);
    JsonObject p = assertProblem(close(env, supervisor, id, outcome("CANCELLED", "Unit abolished"), null), 409,
        CONFLICT);
    assertThat(p.getString("retiredUnitId")).isEqualTo(project.getString("unitId"));
    assertThat(row(env, id)).isEqualTo(before);
    assertThat(closings(env, id)).isZero();
  }

  /**
   * A closed project raises no more alerts: the record watch, past the due date, alerts the open project's overdue
   * milestone and not the closed one's; and a judgement of the closed one's milestone (as a watcher that listed it
   * before the closing makes) writes nothing.
   */
  @Test
  void aClosedProjectsMilestonesRaiseNoAlerts(TestEnvironment env) throws Exception {
    String supervisor = token(env, "supervisor.tongzhou");
    String open = projectWithTrees(env, supervisor)[1].getString("id");
    JsonObject[] closedOne = projectWithTrees(env, supervisor);
    String closed = closedOne[1].getString("id");
    ok(close(env, supervisor, closedOne[0].getString("id"), outcome("CANCELLED", "Route changed"), null), 200);

    MilestoneAlerts alerts = new MilestoneAlerts(10);
    await(new RecordWatch(env.app().database().pool(), alerts, LATE).check());
    String overdue = "SELECT count(*) FROM outbox WHERE aggregate_id = ?::uuid AND event_type = ?";
    assertThat(count(env, overdue, open, MilestoneAlerts.OVERDUE)).isEqualTo(1);
    assertThat(count(env, overdue, closed, MilestoneAlerts.OVERDUE)).isZero();

    List<String> emitted = await(env.app().database().pool().withTransaction(conn -> alerts.judge(conn,
        UUID.fromString(closed), LocalDate.of(2026, 8, 1), OffsetDateTime.now(LATE), false)));
    assertThat(emitted).isEmpty();
    assertThat(count(env, "SELECT count(*) FROM outbox WHERE aggregate_id = ?::uuid", closed)).isZero();
    assertThat(env.string("SELECT coalesce(overdue_alerted_at::text, 'none') || '|' || coalesce(at_risk_since::text,"
        + " 'none') FROM milestone WHERE id = ?::uuid", closed)).isEqualTo("none|none");
  }
}
