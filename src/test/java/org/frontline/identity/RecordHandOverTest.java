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
import org.frontline.testing.ScopeMoves;
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
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.identity.Admin.call;
import static org.frontline.identity.Admin.count;
import static org.frontline.identity.Admin.get;
import static org.frontline.identity.Admin.ok;
import static org.frontline.identity.Admin.post;
import static org.frontline.identity.Admin.string;
import static org.frontline.identity.RetiredUnitRecordsTest.audited;
import static org.frontline.identity.RetiredUnitRecordsTest.milestone;
import static org.frontline.identity.RetiredUnitRecordsTest.project;
import static org.frontline.identity.RetiredUnitRecordsTest.refused;
import static org.frontline.identity.RetiredUnitRecordsTest.retire;
import static org.frontline.identity.RetiredUnitRecordsTest.serviceRequest;
import static org.frontline.identity.RetiredUnitRecordsTest.unit;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.testing.TestEnvironment.await;

/**
 * The hand-over of a project or an enterprise to another live unit (POST /v1/projects/{id}/move,
 * /v1/enterprises/{id}/move), when units are merged or abolished: admins whose scope covers both units; the record
 * keeps what hangs off it, is writable again when it leaves a retired unit, and is figured and alerted at the new
 * unit. The units are made under Hanjiang (the province admin covers them; so does Hanjiang's supervisor, who is no
 * admin); Nantong's admin stands for the admins of other units.
 */
@FrontlineTest
class RecordHandOverTest {
  static final String UNPROCESSABLE = "urn:frontline:problem:unprocessable";
  static final String FORBIDDEN = "urn:frontline:problem:forbidden";
  /** Past the milestones' due date (2027-06-30) and any request's SLA. */
  static final Clock LATE = Clock.fixed(Instant.parse("2027-08-01T04:00:00Z"), ZoneOffset.UTC);

  static JsonObject to(UUID unit) {
    return new JsonObject().put("newUnitId", unit.toString());
  }

  static HttpResponse<Buffer> move(TestEnvironment env, String token, String path, UUID unit, String key) {
    var request = env.client().request(HttpMethod.POST, path).putHeader("Authorization", "Bearer " + token);
    if (key != null) {
      request.putHeader("Idempotency-Key", key);
    }
    return await(request.sendJsonObject(to(unit)));
  }

  static void watch(TestEnvironment env) {
    await(new RecordWatch(env.app().database().pool(), new MilestoneAlerts(10), LATE).check());
  }

  static long alerts(TestEnvironment env, Object aggregate, String eventType, UUID unit) throws Exception {
    return count(env, "SELECT count(*) FROM outbox WHERE aggregate_id = ?::uuid AND event_type = ? AND unit_id = ?",
        aggregate.toString(), eventType, unit);
  }

  /** The 422 naming body/newUnitId. */
  static void badTarget(HttpResponse<Buffer> r) {
    JsonObject p = assertProblem(r, 422, UNPROCESSABLE);
    assertThat(p.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/newUnitId");
  }

  /**
   * The design gap: a project at a retired unit could never progress again. An admin hands it over to a live unit:
   * once (an Idempotency-Key's repeat answers the same, a move to where it is writes nothing), audited once with
   * from and to; its milestone follows and takes progress and new milestones again; the new unit's figures count
   * it and the watcher alerts the new unit of the overdue milestone, though the old unit had been told before. A
   * supervisor, an officer, another unit's admin, a retired target and the retired unit itself are refused with
   * nothing changed.
   */
  @Test
  void aRetiredUnitsProjectIsHandedOverAndProgressesAgain(TestEnvironment env) throws Exception {
    String hanjiang = Admin.token(env, "supervisor.hanjiang");
    String admin = Admin.token(env, "admin");
    UUID from = unit(env, "Abolished park");
    UUID target = unit(env, "Merged park");
    UUID gone = unit(env, "Also abolished");
    String projectId = project(env, hanjiang, from).getString("id");
    String m = ok(post(env, hanjiang, "/v1/projects/" + projectId + "/milestones", milestone("Utility lines")), 201)
        .getString("id");
    ok(post(env, hanjiang, "/v1/milestones/" + m + "/progress", new JsonObject().put("quantity", 4)), 201);
    watch(env);
    assertThat(alerts(env, m, MilestoneAlerts.OVERDUE, from)).isEqualTo(1);
    retire(env, from);
    retire(env, gone);
    refused(post(env, hanjiang, "/v1/milestones/" + m + "/progress", new JsonObject().put("quantity", 5)), from);
    String path = "/v1/projects/" + projectId + "/move";
    String projectRow = Admin.row(env, "project", UUID.fromString(projectId));

    assertProblem(move(env, hanjiang, path, target, null), 403, FORBIDDEN);
    assertProblem(move(env, Admin.token(env, "officer.xu"), path, target, null), 403, FORBIDDEN);
    assertProblem(move(env, Admin.nantongAdmin(env), path, TONGZHOU, null), 404, RetiredUnitRecordsTest.NOT_FOUND);
    badTarget(move(env, admin, path, gone, null));
    badTarget(move(env, admin, path, from, null));
    badTarget(move(env, admin, path, UUID.randomUUID(), null));
    assertThat(Admin.row(env, "project", UUID.fromString(projectId))).isEqualTo(projectRow);
    assertThat(audited(env, "project.move", projectId)).isZero();

    String key = UUID.randomUUID().toString();
    JsonObject moved = ok(move(env, admin, path, target, key), 200);
    assertThat(moved.getString("unitId")).isEqualTo(target.toString());
    assertThat(moved.getJsonArray("milestones").getJsonObject(0).getString("id")).isEqualTo(m);
    assertThat(ok(move(env, admin, path, target, key), 200)).isEqualTo(moved);
    ok(move(env, admin, path, target, null), 200);
    assertThat(string(env, "SELECT unit_id::text FROM project WHERE id = ?::uuid", projectId))
        .isEqualTo(target.toString());
    assertThat(audited(env, "project.move", projectId)).isEqualTo(1);
    JsonObject details = new JsonObject(string(env, "SELECT details::text FROM audit_log WHERE action = "
        + "'project.move' AND object_id = ?", projectId));
    assertThat(details.getString("fromUnitId")).isEqualTo(from.toString());
    assertThat(details.getString("toUnitId")).isEqualTo(target.toString());
    assertThat(string(env, "SELECT unit_id::text FROM audit_log WHERE action = 'project.move' AND object_id = ?",
        projectId)).isEqualTo(target.toString());
    assertThat(string(env, "SELECT overdue_alerted_at::text FROM milestone WHERE id = ?::uuid", m)).isNull();

    // Writable again, at the new unit: progress and a new milestone.
    ok(post(env, hanjiang, "/v1/milestones/" + m + "/progress", new JsonObject().put("quantity", 6)), 201);
    ok(post(env, hanjiang, "/v1/projects/" + projectId + "/milestones", milestone("Trees")), 201);
    assertThat(string(env, "SELECT string_agg(quantity::text, ',' ORDER BY seq) FROM milestone_progress"
        + " WHERE milestone_id = ?::uuid", m)).isEqualTo("4.000,6.000");
    assertThat(audited(env, "milestone.progress", m)).isEqualTo(2);

    // Alerted and figured at the new unit, no longer at the old one.
    watch(env);
    assertThat(alerts(env, m, MilestoneAlerts.OVERDUE, target)).isEqualTo(1);
    assertThat(alerts(env, m, MilestoneAlerts.OVERDUE, from)).isEqualTo(1);
    String figures = "&from=2026-01-01&to=2027-12-31&include=projects";
    assertThat(ok(get(env, admin, "/v1/figures?unitId=" + target + figures), 200).getJsonObject("projects")
        .getInteger("total")).isEqualTo(1);
    assertThat(ok(get(env, admin, "/v1/figures?unitId=" + from + figures), 200).getJsonObject("projects")
        .getInteger("total")).isZero();
  }

  /**
   * An enterprise of a unit retired before the rule (its request still open) is handed over: not to a unit its
   * open request's responsible officer cannot read (409 naming the reference, nothing changed), nor by Nantong's
   * admin (404 for Hanjiang's enterprise; 422 taking Tongzhou's to Hanjiang); then to a unit of Hanjiang, audited
   * once; its request moves again, it takes new requests, the new unit's figures count them and the watcher
   * alerts the new unit of the overdue request.
   */
  @Test
  void anEnterpriseIsHandedOverWithItsRequests(TestEnvironment env) throws Exception {
    String hanjiang = Admin.token(env, "supervisor.hanjiang");
    String admin = Admin.token(env, "admin");
    String nantong = Admin.nantongAdmin(env);
    UUID from = unit(env, "Old town");
    UUID target = unit(env, "New town");
    String enterprise = ok(post(env, hanjiang, "/v1/enterprises", EnterprisesApiTestAccess.enterprise(from)), 201)
        .getString("id");
    String request = ok(post(env, hanjiang, "/v1/enterprises/" + enterprise + "/service-requests", serviceRequest()),
        201).getString("id");
    watch(env);
    assertThat(alerts(env, request, "service-request.overdue", from)).isEqualTo(1);
    try (var c = env.jdbc(); var st = c.prepareStatement("UPDATE org_unit SET retired_at = now() WHERE id = ?")) {
      st.setObject(1, from);
      assertThat(st.executeUpdate()).isEqualTo(1);
    }
    String path = "/v1/enterprises/" + enterprise + "/move";
    String enterpriseRow = Admin.row(env, "enterprise", UUID.fromString(enterprise));
    String requestRow = Admin.row(env, "service_request", UUID.fromString(request));

    JsonObject p = assertProblem(move(env, admin, path, TONGZHOU, null), 409, RetiredUnitRecordsTest.CONFLICT);
    assertThat(p.getJsonArray("references"))
        .isEqualTo(new JsonArray().add("service_request.responsible_officer_id"));
    assertThat(p.getString("detail")).contains(request);
    assertProblem(move(env, nantong, path, TONGZHOU, null), 404, RetiredUnitRecordsTest.NOT_FOUND);
    String tongzhouEnterprise = ok(post(env, Admin.token(env, "supervisor.tongzhou"), "/v1/enterprises",
        EnterprisesApiTestAccess.enterprise(TONGZHOU)), 201).getString("id");
    badTarget(move(env, nantong, "/v1/enterprises/" + tongzhouEnterprise + "/move", target, null));
    assertProblem(move(env, hanjiang, path, target, null), 403, FORBIDDEN);
    assertThat(string(env, "SELECT unit_id::text FROM enterprise WHERE id = ?::uuid", tongzhouEnterprise))
        .isEqualTo(TONGZHOU.toString());
    assertThat(Admin.row(env, "enterprise", UUID.fromString(enterprise))).isEqualTo(enterpriseRow);
    assertThat(Admin.row(env, "service_request", UUID.fromString(request))).isEqualTo(requestRow);
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'enterprise.move'"
        + " AND object_id IN (?, ?)", enterprise, tongzhouEnterprise)).isZero();

    String key = UUID.randomUUID().toString();
    JsonObject moved = ok(move(env, admin, path, target, key), 200);
    assertThat(moved.getString("unitId")).isEqualTo(target.toString());
    assertThat(ok(move(env, admin, path, target, key), 200)).isEqualTo(moved);
    assertThat(audited(env, "enterprise.move", enterprise)).isEqualTo(1);
    JsonObject details = new JsonObject(string(env, "SELECT details::text FROM audit_log WHERE action = "
        + "'enterprise.move' AND object_id = ?", enterprise));
    assertThat(details.getString("fromUnitId")).isEqualTo(from.toString());
    assertThat(details.getString("toUnitId")).isEqualTo(target.toString());
    assertThat(string(env, "SELECT unit_id::text FROM enterprise WHERE id = ?::uuid", enterprise))
        .isEqualTo(target.toString());
    assertThat(string(env, "SELECT overdue_alerted_at::text FROM service_request WHERE id = ?::uuid", request))
        .isNull();

    // Writable again: the request moves on, a new one is recorded; both figured and alerted at the new unit.
    ok(post(env, hanjiang, "/v1/service-requests/" + request + "/transitions", new JsonObject()
        .put("to", "COORDINATING").put("department", "Natural resources bureau")), 200);
    ok(post(env, hanjiang, "/v1/enterprises/" + enterprise + "/service-requests", serviceRequest()), 201);
    assertThat(count(env, "SELECT count(*) FROM service_request WHERE enterprise_id = ?::uuid", enterprise))
        .isEqualTo(2);
    watch(env);
    assertThat(alerts(env, request, "service-request.overdue", target)).isEqualTo(1);
    String figures = "&from=2026-01-01&to=2027-12-31&include=requests";
    assertThat(ok(get(env, admin, "/v1/figures?unitId=" + target + figures), 200).getJsonObject("requests")
        .getLong("received")).isEqualTo(2);
    assertThat(ok(get(env, admin, "/v1/figures?unitId=" + from + figures), 200).getJsonObject("requests")
        .getLong("received")).isZero();
  }

  /**
   * A new milestone waiting for the project's hand-over (its row locked and moved, not yet committed) is stored at
   * the new unit once it commits, for a caller covering both units: before, the milestone's statement locked the
   * project with its scope join, and PostgreSQL re-checked the moved row against the old unit's row: 404.
   */
  @Test
  void aMilestoneWaitingForItsProjectsHandOverIsStored(TestEnvironment env) throws Exception {
    String hanjiang = Admin.token(env, "supervisor.hanjiang");
    UUID from = unit(env, "Leaving park");
    UUID target = unit(env, "Receiving park");
    String projectId = project(env, hanjiang, from).getString("id");
    try (var moving = env.jdbc(); var s = moving.createStatement()) {
      moving.setAutoCommit(false);
      // What POST /v1/projects/{id}/move writes, not yet committed.
      s.execute("SELECT 1 FROM project WHERE id = '" + projectId + "' FOR UPDATE");
      s.executeUpdate("UPDATE project SET unit_id = '" + target + "' WHERE id = '" + projectId + "'");
      CompletableFuture<HttpResponse<Buffer>> created = CompletableFuture.supplyAsync(() -> call(env, hanjiang,
          HttpMethod.POST, "/v1/projects/" + projectId + "/milestones", milestone("Utility lines")));
      env.awaitLockWait("%FROM project%FOR UPDATE%", created);
      moving.commit();
      ok(created.get(20, TimeUnit.SECONDS), 201);
    }
    assertThat(count(env, "SELECT count(*) FROM milestone WHERE project_id = ?::uuid", projectId)).isEqualTo(1);
    assertThat(string(env, "SELECT unit_id::text FROM audit_log WHERE action = 'milestone.create'"
        + " AND details->>'projectId' = ?", projectId)).isEqualTo(target.toString());
  }

  /** The lock the hand-over waits for while a unit's move or retirement is held open: its two units' share lock. */
  static final String UNITS_LOCK = "%FROM org_unit WHERE id = ANY ($1) ORDER BY id FOR SHARE%";

  /** A hand-over by {@code admin} of the project to {@code target}, sent while {@code hold} is held open. */
  static HttpResponse<Buffer> handOverWhileHeld(TestEnvironment env, ScopeMoves.ScopedCaller admin, String project,
                                                UUID target, TestEnvironment.SqlWork hold) throws Exception {
    return ScopeMoves.whileHeld(env, hold, UNITS_LOCK,
        () -> move(env, admin.token(), "/v1/projects/" + project + "/move", target, null));
  }

  /**
   * A hand-over waiting for the units' locks while a move commits is judged on the tree as it is once the locks are
   * granted: a target moved into the admin's scope is taken; so is one that moved with the admin's own unit (before,
   * the scope was read before the units were locked, and its stale path refused the target: 422). The same for an
   * enterprise. Each audited once at the new unit.
   */
  @Test
  void aHandOverWaitingWhileItsTargetMovesIntoTheCallersScopeIsApplied(TestEnvironment env) throws Exception {
    UUID covered = ScopeMoves.unit(env, TONGZHOU);
    ScopeMoves.ScopedCaller admin = ScopeMoves.caller(env, covered, "admin");
    UUID from = ScopeMoves.unit(env, covered);
    String projectId = project(env, admin.token(), from).getString("id");

    UUID outside = ScopeMoves.unit(env, HANJIANG);
    ok(handOverWhileHeld(env, admin, projectId, outside, st -> ScopeMoves.move(st, outside, covered)), 200);
    assertThat(string(env, "SELECT unit_id::text FROM project WHERE id = ?::uuid", projectId))
        .isEqualTo(outside.toString());

    UUID inside = ScopeMoves.unit(env, covered);
    ok(handOverWhileHeld(env, admin, projectId, inside,
        st -> ScopeMoves.move(st, covered, HANJIANG)), 200);
    assertThat(string(env, "SELECT unit_id::text FROM project WHERE id = ?::uuid", projectId))
        .isEqualTo(inside.toString());
    assertThat(audited(env, "project.move", projectId)).isEqualTo(2);
    assertThat(string(env, "SELECT string_agg(details->>'toUnitId', ',' ORDER BY seq) FROM audit_log"
        + " WHERE action = 'project.move' AND object_id = ?", projectId)).isEqualTo(outside + "," + inside);

    String enterprise = ok(post(env, admin.token(), "/v1/enterprises", EnterprisesApiTestAccess.enterprise(inside)),
        201).getString("id");
    ok(ScopeMoves.whileHeld(env, st -> ScopeMoves.move(st, covered, TONGZHOU), UNITS_LOCK,
        () -> move(env, admin.token(), "/v1/enterprises/" + enterprise + "/move", from, null)), 200);
    assertThat(string(env, "SELECT unit_id::text FROM enterprise WHERE id = ?::uuid", enterprise))
        .isEqualTo(from.toString());
    assertThat(audited(env, "enterprise.move", enterprise)).isEqualTo(1);
  }

  /**
   * The other way: a target moved out of the admin's scope while the hand-over waited is 422 naming newUnitId, one
   * retired meanwhile the same 422 (as a retired target always is), and a project whose own unit moved out of the
   * scope is 404 (before, the project was judged before the units were locked, and handed over though the admin no
   * longer saw it). Nothing changed, nothing audited.
   */
  @Test
  void aHandOverWaitingWhileItsUnitsMoveOutOfTheCallersScopeOrRetireIsRefused(TestEnvironment env) throws Exception {
    UUID covered = ScopeMoves.unit(env, TONGZHOU);
    ScopeMoves.ScopedCaller admin = ScopeMoves.caller(env, covered, "admin");
    UUID from = ScopeMoves.unit(env, covered);
    String projectId = project(env, admin.token(), from).getString("id");
    String projectRow = Admin.row(env, "project", UUID.fromString(projectId));

    UUID leaving = ScopeMoves.unit(env, covered);
    badTarget(handOverWhileHeld(env, admin, projectId, leaving,
        st -> ScopeMoves.move(st, leaving, HANJIANG)));
    UUID retiring = ScopeMoves.unit(env, covered);
    badTarget(handOverWhileHeld(env, admin, projectId, retiring,
        st -> st.executeUpdate("UPDATE org_unit SET retired_at = now() WHERE id = '" + retiring + "'")));
    UUID target = ScopeMoves.unit(env, covered);
    assertProblem(handOverWhileHeld(env, admin, projectId, target,
        st -> ScopeMoves.move(st, from, HANJIANG)), 404,
        RetiredUnitRecordsTest.NOT_FOUND);

    assertThat(Admin.row(env, "project", UUID.fromString(projectId))).isEqualTo(projectRow);
    assertThat(audited(env, "project.move", projectId)).isZero();
  }
}
