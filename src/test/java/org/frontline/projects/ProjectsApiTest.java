package org.frontline.projects;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.identity.Actor;
import org.frontline.identity.AdminAudit;
import org.frontline.identity.Caller;
import org.frontline.identity.Page;
import org.frontline.testing.Cursors;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.ScopeMoves;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HANJIANG;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.testing.TestEnvironment.await;

/** Projects and milestones through the API, on the Jianghai Avenue east extension (Tongzhou). */
@FrontlineTest
class ProjectsApiTest {

  static String token(TestEnvironment env, String username) {
    HttpResponse<Buffer> r = await(env.client().post("/v1/auth/login").sendJsonObject(
        new JsonObject().put("username", username).put("password", "frontline-dev")));
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    return r.bodyAsJsonObject().getString("access_token");
  }

  static HttpResponse<Buffer> call(TestEnvironment env, String token, HttpMethod method, String path, JsonObject body) {
    var request = env.client().request(method, path).putHeader("Authorization", "Bearer " + token);
    return await(body == null ? request.send() : request.sendJsonObject(body));
  }

  static JsonObject ok(HttpResponse<Buffer> r, int status) {
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(status);
    return r.bodyAsJsonObject();
  }

  static JsonObject jianghai(UUID unit) {
    return new JsonObject().put("unitId", unit.toString()).put("name", "江海大道东延 Jianghai Avenue east extension")
        .put("investmentYuan", 3_200_000_000L)
        .put("site", new JsonObject().put("lat", 32.0647).put("lon", 121.0756).put("radiusM", 2500))
        .put("bidSections", new JsonArray().add("Section 1").add("Section 2")).put("status", "IN_PROGRESS");
  }

  static List<String> fields(JsonObject problem) {
    return problem.getJsonArray("errors", new JsonArray()).stream().map(e -> ((JsonObject) e).getString("field"))
        .toList();
  }

  static long count(TestEnvironment env, String sql, Object... params) throws SQLException {
    return env.count(sql, params);
  }

  static UUID account(String username) {
    return UUID.nameUUIDFromBytes(("frontline-demo:account:" + username).getBytes(StandardCharsets.UTF_8));
  }

  /** Creates the project and a trees milestone (10,000 trees, 2026-03-01 to 2026-05-31) as supervisor.tongzhou. */
  static JsonObject[] projectWithTrees(TestEnvironment env) {
    String supervisor = token(env, "supervisor.tongzhou");
    JsonObject project = ok(call(env, supervisor, HttpMethod.POST, "/v1/projects", jianghai(TONGZHOU)), 201);
    JsonObject trees = ok(call(env, supervisor, HttpMethod.POST, "/v1/projects/" + project.getString("id")
        + "/milestones", new JsonObject().put("name", "Relocate 10,000 trees").put("plannedQuantity", 10000)
        .put("unit", "trees").put("plannedStart", "2026-03-01").put("plannedDue", "2026-05-31")), 201);
    return new JsonObject[] {project, trees};
  }

  @Test
  void aSupervisorCreatesAProjectThatOnlyItsScopeSees(TestEnvironment env) throws Exception {
    HttpResponse<Buffer> r = call(env, token(env, "supervisor.tongzhou"), HttpMethod.POST, "/v1/projects",
        jianghai(TONGZHOU));
    JsonObject project = ok(r, 201);
    String id = project.getString("id");
    assertThat(r.getHeader("Location")).isEqualTo("/v1/projects/" + id);
    assertThat(project.getString("unitId")).isEqualTo(TONGZHOU.toString());
    assertThat(project.getValue("investmentYuan").toString()).isIn("3200000000", "3.2E9", "3200000000.00");
    assertThat(project.getJsonObject("site")).isEqualTo(new JsonObject().put("lat", 32.0647).put("lon", 121.0756)
        .put("radiusM", 2500.0));
    assertThat(project.getJsonArray("bidSections")).containsExactly("Section 1", "Section 2");
    assertThat(project.getString("status")).isEqualTo("IN_PROGRESS");
    assertThat(project.getJsonArray("milestones")).isEmpty();
    assertThat(count(env, "SELECT count(*) FROM project WHERE id = ?::uuid AND unit_id = ?::uuid AND "
        + "investment_yuan = 3200000000 AND bid_sections = '{Section 1,Section 2}'", id, TONGZHOU.toString())).isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'project.create' AND object_id = ? "
        + "AND actor_id = ?::uuid", id, account("supervisor.tongzhou").toString())).isEqualTo(1);

    // Officers and assessors in scope read it; a Hanjiang supervisor gets 404, exactly as for a missing project.
    for (String reader : List.of("officer.zhang", "assessor.tongzhou", "admin")) {
      assertThat(ok(call(env, token(env, reader), HttpMethod.GET, "/v1/projects/" + id, null), 200)
          .getString("id")).isEqualTo(id);
    }
    String hanjiang = token(env, "supervisor.hanjiang");
    assertProblem(call(env, hanjiang, HttpMethod.GET, "/v1/projects/" + id, null), 404, "urn:frontline:problem:not-found");
    assertProblem(call(env, hanjiang, HttpMethod.GET, "/v1/projects/" + UUID.randomUUID(), null), 404,
        "urn:frontline:problem:not-found");
    assertThat(ok(call(env, hanjiang, HttpMethod.GET, "/v1/projects", null), 200).getJsonArray("items").stream()
        .map(p -> ((JsonObject) p).getString("id"))).doesNotContain(id);
  }

  /** A cursor pages on with its own filter only: with another (or none) and made up, the cursor's 400. */
  @Test
  void aCursorIsBoundToItsFilters(TestEnvironment env) {
    String supervisor = token(env, "supervisor.tongzhou");
    for (int i = 0; i < 2; i++) {
      ok(call(env, supervisor, HttpMethod.POST, "/v1/projects", jianghai(TONGZHOU).put("name", "C" + i)), 201);
    }
    JsonObject first = ok(call(env, supervisor, HttpMethod.GET, "/v1/projects?limit=1&unitId=" + TONGZHOU, null), 200);
    String cursor = first.getString("nextCursor");
    assertThat(cursor).isNotNull();
    JsonObject second = ok(call(env, supervisor, HttpMethod.GET, "/v1/projects?limit=1&unitId=" + TONGZHOU
        + "&cursor=" + cursor, null), 200);
    assertThat(second.getJsonArray("items").getJsonObject(0).getString("unitId")).isEqualTo(TONGZHOU.toString());
    assertThat(second.getJsonArray("items").getJsonObject(0).getString("id"))
        .isNotEqualTo(first.getJsonArray("items").getJsonObject(0).getString("id"));

    Cursors.assertOtherFilters(call(env, supervisor, HttpMethod.GET, "/v1/projects?cursor=" + cursor, null));
    Cursors.assertOtherFilters(call(env, supervisor, HttpMethod.GET, "/v1/projects?unitId=" + UUID.randomUUID()
        + "&cursor=" + cursor, null));
    for (String forged : Cursors.forgeries(cursor)) {
      Cursors.assertRefused(call(env, supervisor, HttpMethod.GET, "/v1/projects?unitId=" + TONGZHOU + "&cursor="
          + forged, null));
    }
  }

  @Test
  void theListIsScopedAndPaginated(TestEnvironment env) {
    String supervisor = token(env, "supervisor.tongzhou");
    List<String> ids = new java.util.ArrayList<>();
    for (int i = 0; i < 3; i++) {
      ids.add(ok(call(env, supervisor, HttpMethod.POST, "/v1/projects", jianghai(TONGZHOU).put("name", "P" + i)), 201)
          .getString("id"));
    }
    String officer = token(env, "officer.zhang");
    List<String> seen = new java.util.ArrayList<>();
    String cursor = null;
    do {
      JsonObject page = ok(call(env, officer, HttpMethod.GET, "/v1/projects?limit=2&unitId=" + TONGZHOU
          + (cursor == null ? "" : "&cursor=" + cursor), null), 200);
      assertThat(page.getJsonArray("items").size()).isLessThanOrEqualTo(2);
      page.getJsonArray("items").forEach(p -> seen.add(((JsonObject) p).getString("id")));
      cursor = page.getString("nextCursor");
    } while (cursor != null);
    assertThat(seen).containsAll(ids).doesNotHaveDuplicates();
    // Newest first.
    assertThat(seen.indexOf(ids.get(2))).isLessThan(seen.indexOf(ids.get(0)));
    assertProblem(call(env, officer, HttpMethod.GET, "/v1/projects?cursor=bm90LW91cnM", null), 400,
        "urn:frontline:problem:validation-failed");
    // A limit beyond an int is capped like any large one (Integer.valueOf threw: 500).
    assertThat(ok(call(env, officer, HttpMethod.GET, "/v1/projects?limit=99999999999", null), 200)
        .getJsonArray("items").size()).isBetween(3, Page.MAX_LIMIT);
  }

  @Test
  void anOfficerMayNotCreateAProject(TestEnvironment env) throws Exception {
    long before = count(env, "SELECT count(*) FROM project");
    assertProblem(call(env, token(env, "officer.zhang"), HttpMethod.POST, "/v1/projects", jianghai(TONGZHOU)), 403,
        "urn:frontline:problem:forbidden");
    assertThat(count(env, "SELECT count(*) FROM project")).isEqualTo(before);
  }

  /** A bid section of blanks only is no name, as a project's own name of blanks is not: 400 naming it, nothing stored. */
  @Test
  void aBlankBidSectionIs400NamingItAndStoresNothing(TestEnvironment env) throws Exception {
    String name = "Blank section " + UUID.randomUUID();
    for (String blank : List.of(" ", "\t\n")) {
      JsonObject problem = assertProblem(call(env, token(env, "supervisor.tongzhou"), HttpMethod.POST, "/v1/projects",
          jianghai(TONGZHOU).put("name", name).put("bidSections", new JsonArray().add("Section 1").add(blank))), 400,
          "urn:frontline:problem:validation-failed");
      assertThat(fields(problem)).contains("body/bidSections/1"); // (and the array, as the validator names it)
    }
    assertThat(count(env, "SELECT count(*) FROM project WHERE name = ?", name)).isZero();
    ok(call(env, token(env, "supervisor.tongzhou"), HttpMethod.POST, "/v1/projects",
        jianghai(TONGZHOU).put("name", name).put("bidSections", new JsonArray().add(" Section 1 "))), 201);
    assertThat(count(env, "SELECT count(*) FROM project WHERE name = ?", name)).isEqualTo(1);
  }

  @Test
  void aUnitOutsideTheScopeIs422NamingTheUnit(TestEnvironment env) throws Exception {
    long before = count(env, "SELECT count(*) FROM project");
    JsonObject problem = assertProblem(call(env, token(env, "supervisor.tongzhou"), HttpMethod.POST, "/v1/projects",
        jianghai(HANJIANG)), 422, "urn:frontline:problem:unprocessable");
    assertThat(fields(problem)).containsExactly("body/unitId");
    assertThat(count(env, "SELECT count(*) FROM project")).isEqualTo(before);
    // Unknown fields are refused by the contract.
    assertProblem(call(env, token(env, "supervisor.tongzhou"), HttpMethod.POST, "/v1/projects",
        jianghai(TONGZHOU).put("budget", 1)), 400, "urn:frontline:problem:validation-failed");
  }

  @Test
  void progressNeverDecreasesUnlessCorrectedWithAReason(TestEnvironment env) throws Exception {
    JsonObject[] created = projectWithTrees(env);
    String milestone = created[1].getString("id");
    assertThat(created[1].getJsonObject("baseline")).isEqualTo(new JsonObject().put("version", 1)
        .put("plannedQuantity", 10000.0).put("plannedStart", "2026-03-01").put("plannedDue", "2026-05-31"));
    String officer = token(env, "officer.zhang");
    String progress = "/v1/milestones/" + milestone + "/progress";
    ok(call(env, officer, HttpMethod.POST, progress, new JsonObject().put("quantity", 3000).put("measuredOn", "2026-04-01")), 201);
    JsonObject after = ok(call(env, officer, HttpMethod.POST, progress,
        new JsonObject().put("quantity", 4200).put("measuredOn", "2026-04-15")), 201);
    assertThat(after.getJsonObject("figures").getDouble("actualQuantity")).isEqualTo(4200.0);
    assertThat(after.getJsonObject("figures").getDouble("percentComplete")).isEqualTo(42.0);

    JsonObject problem = assertProblem(call(env, officer, HttpMethod.POST, progress,
        new JsonObject().put("quantity", 4100).put("measuredOn", "2026-04-16")), 422, "urn:frontline:problem:unprocessable");
    assertThat(fields(problem)).containsExactly("body/quantity");
    problem = assertProblem(call(env, officer, HttpMethod.POST, progress,
        new JsonObject().put("quantity", 4100).put("correction", true)), 422, "urn:frontline:problem:unprocessable");
    assertThat(fields(problem)).containsExactly("body/reason");
    problem = assertProblem(call(env, officer, HttpMethod.POST, progress,
        new JsonObject().put("quantity", 4300).put("measuredOn", "2026-04-10")), 422, "urn:frontline:problem:unprocessable");
    assertThat(fields(problem)).containsExactly("body/measuredOn");
    problem = assertProblem(call(env, officer, HttpMethod.POST, progress,
        new JsonObject().put("quantity", 4300).put("measuredOn", "2999-01-01")), 422, "urn:frontline:problem:unprocessable");
    assertThat(fields(problem)).containsExactly("body/measuredOn");
    // More decimals than are kept: refused, not rounded away.
    problem = assertProblem(call(env, officer, HttpMethod.POST, progress,
        new JsonObject().put("quantity", 4300.0001)), 422, "urn:frontline:problem:unprocessable");
    assertThat(fields(problem)).containsExactly("body/quantity");
    problem = assertProblem(call(env, token(env, "supervisor.tongzhou"), HttpMethod.POST, "/v1/projects/"
        + created[0].getString("id") + "/milestones", new JsonObject().put("name", "Benches").put("unit", "items")
        .put("plannedQuantity", 10.0005).put("plannedStart", "2026-03-01").put("plannedDue", "2026-05-31")), 422,
        "urn:frontline:problem:unprocessable");
    assertThat(fields(problem)).containsExactly("body/plannedQuantity");
    assertThat(count(env, "SELECT count(*) FROM milestone_progress WHERE milestone_id = ?::uuid", milestone)).isEqualTo(2);

    JsonObject corrected = ok(call(env, officer, HttpMethod.POST, progress, new JsonObject().put("quantity", 4100)
        .put("measuredOn", "2026-04-15").put("correction", true).put("reason", "100 trees counted twice")), 201);
    assertThat(corrected.getJsonObject("figures").getDouble("actualQuantity")).isEqualTo(4100.0);
    assertThat(count(env, "SELECT count(*) FROM milestone_progress WHERE milestone_id = ?::uuid AND correction "
        + "AND quantity = 4100 AND reason = '100 trees counted twice'", milestone)).isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'milestone.progress.correct' AND object_id = ? "
        + "AND details->>'previousQuantity' = '4200.000' AND details->>'reason' = '100 trees counted twice'",
        milestone)).isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'milestone.progress' AND object_id = ?",
        milestone)).isEqualTo(2);
    // A report outside the caller's scope (or none) cannot be the source of a measurement.
    problem = assertProblem(call(env, officer, HttpMethod.POST, progress, new JsonObject().put("quantity", 4300)
        .put("reportId", UUID.randomUUID().toString())), 422, "urn:frontline:problem:unprocessable");
    assertThat(fields(problem)).containsExactly("body/reportId");
    assertThat(count(env, "SELECT count(*) FROM milestone_progress WHERE milestone_id = ?::uuid", milestone)).isEqualTo(3);
    // Assessors read but do not record progress.
    assertProblem(call(env, token(env, "assessor.tongzhou"), HttpMethod.POST, progress,
        new JsonObject().put("quantity", 5000)), 403, "urn:frontline:problem:forbidden");
  }

  @Test
  void aProgressSoSlowItsForecastHasNoDateIsRecordedWithoutOne(TestEnvironment env) throws Exception {
    // The contract's largest plan and a thousandth of it done: the forecast lies past 9999-12-31. Recording it
    // answered 500 (the forecast overflowed) and nothing could be recorded on that milestone any more.
    String supervisor = token(env, "supervisor.tongzhou");
    JsonObject project = ok(call(env, supervisor, HttpMethod.POST, "/v1/projects", jianghai(TONGZHOU)), 201);
    LocalDate today = LocalDate.now(java.time.ZoneId.of("Asia/Shanghai"));
    JsonObject milestone = ok(call(env, supervisor, HttpMethod.POST, "/v1/projects/" + project.getString("id")
        + "/milestones", new JsonObject().put("name", "Road").put("plannedQuantity", 1.0e15).put("unit", "km")
        .put("plannedStart", today.minusDays(30).toString()).put("plannedDue", today.plusDays(300).toString())), 201);
    JsonObject recorded = ok(call(env, supervisor, HttpMethod.POST, "/v1/milestones/" + milestone.getString("id")
        + "/progress", new JsonObject().put("quantity", 0.001)), 201);
    assertThat(recorded.getJsonObject("figures").getValue("forecastFinish")).isNull();
    assertThat(recorded.getJsonObject("figures").getDouble("actualQuantity")).isEqualTo(0.001);
    ok(call(env, supervisor, HttpMethod.GET, "/v1/projects/" + project.getString("id"), null), 200);
  }

  @Test
  void aQuantityIsKeptExactlyAsSentEvenBeyondADoublesDigits(TestEnvironment env) throws Exception {
    // 17 significant digits: a double holds 12345678901234.566, which was stored (and answered) without a word.
    String supervisor = token(env, "supervisor.tongzhou");
    JsonObject project = ok(call(env, supervisor, HttpMethod.POST, "/v1/projects", jianghai(TONGZHOU)), 201);
    HttpResponse<Buffer> r = await(env.client().post("/v1/projects/" + project.getString("id") + "/milestones")
        .putHeader("Authorization", "Bearer " + supervisor).putHeader("Content-Type", "application/json")
        .sendBuffer(Buffer.buffer("{\"name\":\"Earth moved\",\"plannedQuantity\":12345678901234.567,\"unit\":\"m3\","
            + "\"plannedStart\":\"2026-03-01\",\"plannedDue\":\"2026-05-31\"}")));
    String milestone = ok(r, 201).getString("id");
    assertThat(env.string("SELECT planned_quantity::text FROM milestone_baseline WHERE milestone_id = ?::uuid",
        milestone)).isEqualTo("12345678901234.567");
    r = await(env.client().post("/v1/milestones/" + milestone + "/progress")
        .putHeader("Authorization", "Bearer " + supervisor).putHeader("Content-Type", "application/json")
        .sendBuffer(Buffer.buffer("{\"quantity\":1234567890123.457,\"measuredOn\":\"2026-04-01\"}")));
    ok(r, 201);
    assertThat(env.string("SELECT quantity::text FROM milestone_progress WHERE milestone_id = ?::uuid", milestone))
        .isEqualTo("1234567890123.457");
    // Beyond 3 decimals it is still refused, even where a double would have rounded the excess away.
    r = await(env.client().post("/v1/milestones/" + milestone + "/progress")
        .putHeader("Authorization", "Bearer " + supervisor).putHeader("Content-Type", "application/json")
        .sendBuffer(Buffer.buffer("{\"quantity\":1234567890124.0001}")));
    assertThat(fields(assertProblem(r, 422, "urn:frontline:problem:unprocessable"))).containsExactly("body/quantity");
  }

  /**
   * The figures of a quantity of 18 digits are exact too: planned to date and the rate were divided to 16 significant
   * digits (DECIMAL64), so half of 123456789012345.678 came out as .840 (not .839) and a rate of
   * 123456789012345.676 a day as 123456789012345.700, before the 3 decimals were even rounded.
   */
  @Test
  void theFiguresOfAQuantityBeyondSixteenDigitsAreExact(TestEnvironment env) throws Exception {
    String supervisor = token(env, "supervisor.tongzhou");
    JsonObject project = ok(call(env, supervisor, HttpMethod.POST, "/v1/projects", jianghai(TONGZHOU)), 201);
    HttpResponse<Buffer> r = await(env.client().post("/v1/projects/" + project.getString("id") + "/milestones")
        .putHeader("Authorization", "Bearer " + supervisor).putHeader("Content-Type", "application/json")
        .sendBuffer(Buffer.buffer("{\"name\":\"Earth moved\",\"plannedQuantity\":123456789012345.678,\"unit\":\"m3\","
            + "\"plannedStart\":\"2026-03-01\",\"plannedDue\":\"2026-03-03\"}")));
    String milestone = ok(r, 201).getString("id");
    for (String progress : List.of("{\"quantity\":0.001,\"measuredOn\":\"2026-03-01\"}",
        "{\"quantity\":123456789012345.677,\"measuredOn\":\"2026-03-02\"}")) {
      ok(await(env.client().post("/v1/milestones/" + milestone + "/progress")
          .putHeader("Authorization", "Bearer " + supervisor).putHeader("Content-Type", "application/json")
          .sendBuffer(Buffer.buffer(progress))), 201);
    }
    assertThat(count(env, "SELECT count(*) FROM milestone_progress WHERE milestone_id = ?::uuid", milestone)).isEqualTo(2);
    Actor actor = new Actor(new Caller(account("supervisor.tongzhou"), List.of("supervisor"), List.of(TONGZHOU)),
        "127.0.0.1", null);
    JsonObject figures = await(service(env, "2026-03-02T04:00:00Z").getMilestone(actor, UUID.fromString(milestone)))
        .getJsonObject("figures");
    assertThat(figures.getValue("plannedToDate").toString()).isEqualTo("61728394506172.839");
    assertThat(figures.getValue("slippage").toString()).isEqualTo("-61728394506172.838");
    assertThat(figures.getValue("ratePerDay").toString()).isEqualTo("123456789012345.676");
    assertThat(figures.getString("forecastFinish")).isEqualTo("2026-03-03");
  }

  /**
   * Progress sent while a re-baseline of its milestone is under way waits for it and is recorded against the new
   * baseline. The milestone was read and locked in one statement joined to its current baseline: once the
   * re-baseline committed, PostgreSQL re-checked the join on the locked row's new version against the old baseline
   * row, found no row, and the officer's measurement was a 404 "no milestone", not stored.
   */
  @Test
  void progressSentDuringAReBaselineIsRecordedOnTheNewBaseline(TestEnvironment env) throws Exception {
    String milestone = projectWithTrees(env)[1].getString("id");
    String officer = token(env, "officer.zhang");
    try (Connection rebaselining = env.jdbc(); java.sql.Statement s = rebaselining.createStatement()) {
      rebaselining.setAutoCommit(false);
      // What POST /v1/milestones/{id}/baselines writes, not yet committed.
      s.execute("SELECT id FROM milestone WHERE id = '" + milestone + "' FOR UPDATE");
      s.executeUpdate("INSERT INTO milestone_baseline (milestone_id, version, planned_quantity, planned_start, "
          + "planned_due, reason) VALUES ('" + milestone + "', 2, 10500, '2026-03-01', '2026-06-30', 'More trees')");
      s.executeUpdate("UPDATE milestone SET baseline_version = 2 WHERE id = '" + milestone + "'");
      java.util.concurrent.CompletableFuture<HttpResponse<Buffer>> progress = java.util.concurrent.CompletableFuture
          .supplyAsync(() -> call(env, officer, HttpMethod.POST, "/v1/milestones/" + milestone + "/progress",
              new JsonObject().put("quantity", 3000).put("measuredOn", "2026-04-01")));
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20))
          .until(() -> progress.isDone() || count(env, "SELECT count(*) FROM pg_stat_activity WHERE "
              + "wait_event_type = 'Lock' AND query LIKE '%FROM milestone%FOR UPDATE%'") == 1);
      assertThat(progress).isNotDone();
      rebaselining.commit();
      JsonObject recorded = ok(progress.get(20, java.util.concurrent.TimeUnit.SECONDS), 201);
      assertThat(recorded.getJsonObject("baseline").getInteger("version")).isEqualTo(2);
      assertThat(recorded.getJsonObject("figures").getValue("actualQuantity").toString()).isIn("3000", "3000.0");
    }
    assertThat(count(env, "SELECT count(*) FROM milestone_progress WHERE milestone_id = ?::uuid AND quantity = 3000 "
        + "AND measured_on = '2026-04-01'", milestone)).isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'milestone.progress' AND object_id = ?",
        milestone)).isEqualTo(1);
  }

  /**
   * The audit entry of a created project or milestone names it as stored: the name is kept without its surrounding
   * blanks, and the entry said it with them, so the log and the record disagreed on what was created.
   */
  @Test
  void theAuditedNameIsTheStoredName(TestEnvironment env) throws Exception {
    String supervisor = token(env, "supervisor.tongzhou");
    String project = ok(call(env, supervisor, HttpMethod.POST, "/v1/projects",
        jianghai(TONGZHOU).put("name", "  Jianghai east  ")), 201).getString("id");
    String milestone = ok(call(env, supervisor, HttpMethod.POST, "/v1/projects/" + project + "/milestones",
        new JsonObject().put("name", " Trees   ").put("plannedQuantity", 10).put("unit", "trees")
            .put("plannedStart", "2026-03-01").put("plannedDue", "2026-05-31")), 201).getString("id");
    assertThat(count(env, "SELECT count(*) FROM project WHERE id = ?::uuid AND name = 'Jianghai east'", project))
        .isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM milestone WHERE id = ?::uuid AND name = 'Trees'", milestone))
        .isEqualTo(1);
    assertThat(env.string("SELECT details ->> 'name' FROM audit_log WHERE action = 'project.create' AND object_id = ?",
        project)).isEqualTo("Jianghai east");
    assertThat(env.string("SELECT details ->> 'name' FROM audit_log WHERE action = 'milestone.create'"
        + " AND object_id = ?", milestone)).isEqualTo("Trees");
  }

  /**
   * A project's answer is of one day: its `asOf` and each milestone's figures were read from the clock separately,
   * so an answer made across midnight (China Standard Time) gave its milestones figures of another day than the
   * `asOf` it stated. Here a clock a day later at each reading.
   */
  @Test
  void aProjectsMilestonesAreJudgedOnTheDayItsAnswerStates(TestEnvironment env) {
    JsonObject[] created = projectWithTrees(env);
    ok(call(env, token(env, "supervisor.tongzhou"), HttpMethod.POST, "/v1/projects/" + created[0].getString("id")
        + "/milestones", new JsonObject().put("name", "Road").put("plannedQuantity", 2.98).put("unit", "km")
        .put("plannedStart", "2026-03-01").put("plannedDue", "2026-12-01")), 201);
    Clock ticking = new DayPerReading(Instant.parse("2026-04-15T04:00:00Z"), new java.util.concurrent.atomic.AtomicLong(),
        ZoneOffset.UTC);
    Actor actor = new Actor(new Caller(account("supervisor.tongzhou"), List.of("supervisor"), List.of(TONGZHOU)),
        "127.0.0.1", null);
    JsonObject project = await(new ProjectService(env.app().database(), new AdminAudit(env.app().audit()), ticking)
        .getProject(actor, UUID.fromString(created[0].getString("id"))));
    assertThat(project.getJsonArray("milestones")).hasSize(2);
    for (Object m : project.getJsonArray("milestones")) {
      assertThat(((JsonObject) m).getJsonObject("figures").getString("asOf")).isEqualTo(project.getString("asOf"));
    }
  }

  /** A clock a day later at each reading, in any zone. */
  private static final class DayPerReading extends Clock {
    private final Instant first;
    private final java.util.concurrent.atomic.AtomicLong readings;
    private final java.time.ZoneId zone;

    DayPerReading(Instant first, java.util.concurrent.atomic.AtomicLong readings, java.time.ZoneId zone) {
      this.first = first;
      this.readings = readings;
      this.zone = zone;
    }

    @Override
    public java.time.ZoneId getZone() {
      return zone;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return new DayPerReading(first, readings, zone);
    }

    @Override
    public Instant instant() {
      return first.plus(java.time.Duration.ofDays(readings.getAndIncrement()));
    }
  }

  @Test
  void reBaseliningKeepsHistory(TestEnvironment env) throws Exception {
    String milestone = projectWithTrees(env)[1].getString("id");
    String supervisor = token(env, "supervisor.tongzhou");
    JsonObject m = ok(call(env, supervisor, HttpMethod.POST, "/v1/milestones/" + milestone + "/baselines",
        new JsonObject().put("plannedQuantity", 10500).put("plannedStart", "2026-03-01").put("plannedDue", "2026-06-30")
            .put("reason", "500 more trees found on the alignment")), 201);
    assertThat(m.getJsonObject("baseline").getInteger("version")).isEqualTo(2);
    assertThat(m.getJsonArray("baselines").stream().map(b -> ((JsonObject) b).getString("plannedDue")))
        .containsExactly("2026-05-31", "2026-06-30");
    assertThat(count(env, "SELECT count(*) FROM milestone_baseline WHERE milestone_id = ?::uuid", milestone)).isEqualTo(2);
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'milestone.rebaseline' AND object_id = ?",
        milestone)).isEqualTo(1);
    JsonObject problem = assertProblem(call(env, supervisor, HttpMethod.POST, "/v1/milestones/" + milestone + "/baselines",
        new JsonObject().put("plannedQuantity", 1).put("plannedStart", "2026-03-01").put("plannedDue", "2026-03-01")
            .put("reason", "x")), 422, "urn:frontline:problem:unprocessable");
    assertThat(fields(problem)).containsExactly("body/plannedDue");
    assertProblem(call(env, token(env, "officer.zhang"), HttpMethod.POST, "/v1/milestones/" + milestone + "/baselines",
        new JsonObject().put("plannedQuantity", 1).put("plannedStart", "2026-03-01").put("plannedDue", "2026-04-01")
            .put("reason", "x")), 403, "urn:frontline:problem:forbidden");
  }

  @Test
  void aHanjiangSupervisorSeesNothingOfATongzhouProject(TestEnvironment env) throws Exception {
    JsonObject[] created = projectWithTrees(env);
    String project = created[0].getString("id");
    String milestone = created[1].getString("id");
    String hanjiang = token(env, "supervisor.hanjiang");
    for (var c : List.of(
        new Object[] {HttpMethod.GET, "/v1/projects/" + project, null},
        new Object[] {HttpMethod.GET, "/v1/projects/" + project + "/s-curve", null},
        new Object[] {HttpMethod.GET, "/v1/milestones/" + milestone, null},
        new Object[] {HttpMethod.POST, "/v1/projects/" + project + "/milestones", new JsonObject().put("name", "x")
            .put("plannedQuantity", 1).put("unit", "items").put("plannedStart", "2026-03-01").put("plannedDue", "2026-04-01")},
        new Object[] {HttpMethod.POST, "/v1/milestones/" + milestone + "/progress", new JsonObject().put("quantity", 1)},
        new Object[] {HttpMethod.POST, "/v1/milestones/" + milestone + "/baselines", new JsonObject()
            .put("plannedQuantity", 1).put("plannedStart", "2026-03-01").put("plannedDue", "2026-04-01").put("reason", "x")})) {
      assertProblem(call(env, hanjiang, (HttpMethod) c[0], (String) c[1], (JsonObject) c[2]), 404,
          "urn:frontline:problem:not-found");
    }
    assertThat(count(env, "SELECT count(*) FROM milestone WHERE project_id = ?::uuid", project)).isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM milestone_progress WHERE milestone_id = ?::uuid", milestone)).isEqualTo(0);
    assertThat(count(env, "SELECT count(*) FROM milestone_baseline WHERE milestone_id = ?::uuid", milestone)).isEqualTo(1);
  }

  @Test
  void theFiguresAndSCurveAreExactOnAFixedDay(TestEnvironment env) {
    JsonObject[] created = projectWithTrees(env);
    String project = created[0].getString("id");
    String supervisor = token(env, "supervisor.tongzhou");
    JsonObject road = ok(call(env, supervisor, HttpMethod.POST, "/v1/projects/" + project + "/milestones",
        new JsonObject().put("name", "Elevated road, 2.98 km").put("plannedQuantity", 2.98).put("unit", "km")
            .put("plannedStart", "2026-03-01").put("plannedDue", "2026-12-01")), 201);
    String officer = token(env, "officer.zhang");
    for (String[] p : new String[][] {{"3000", "2026-04-01"}, {"4200", "2026-04-15"}}) {
      ok(call(env, officer, HttpMethod.POST, "/v1/milestones/" + created[1].getString("id") + "/progress",
          new JsonObject().put("quantity", Integer.parseInt(p[0])).put("measuredOn", p[1])), 201);
    }
    for (String[] p : new String[][] {{"0.80", "2026-06-01"}, {"1.10", "2026-07-05"}, {"1.31", "2026-07-19"}}) {
      ok(call(env, officer, HttpMethod.POST, "/v1/milestones/" + road.getString("id") + "/progress",
          new JsonObject().put("quantity", Double.parseDouble(p[0])).put("measuredOn", p[1])), 201);
    }
    // The same service on the same database, its clock fixed: trees on 2026-04-15, road on 2026-07-19 (CST).
    Actor actor = new Actor(new Caller(account("supervisor.tongzhou"), List.of("supervisor"), List.of(TONGZHOU)),
        "127.0.0.1", null);
    ProjectService april = service(env, "2026-04-15T04:00:00Z");
    JsonObject trees = await(april.getMilestone(actor, UUID.fromString(created[1].getString("id"))));
    assertThat(trees.getJsonObject("figures")).isEqualTo(new JsonObject().put("asOf", "2026-04-15")
        .put("actualQuantity", new java.math.BigDecimal("4200.000")).put("percentComplete", new java.math.BigDecimal("42.00"))
        .put("plannedToDate", new java.math.BigDecimal("4945.055"))
        .put("plannedPercentToDate", new java.math.BigDecimal("49.45"))
        .put("slippage", new java.math.BigDecimal("745.055")).put("slippagePercent", new java.math.BigDecimal("7.45"))
        .put("ratePerDay", new java.math.BigDecimal("85.714")).put("forecastFinish", "2026-06-22")
        .put("completed", false).put("overdue", false));
    // 2026-07-18T20:00Z is already 2026-07-19 in China Standard Time.
    ProjectService july = service(env, "2026-07-18T20:00:00Z");
    JsonObject whole = await(july.getProject(actor, UUID.fromString(project)));
    assertThat(whole.getString("asOf")).isEqualTo("2026-07-19");
    JsonObject roadFigures = whole.getJsonArray("milestones").getJsonObject(1).getJsonObject("figures");
    assertThat(roadFigures.getValue("percentComplete").toString()).isEqualTo("43.96");
    assertThat(roadFigures.getValue("plannedToDate").toString()).isEqualTo("1.517");
    assertThat(roadFigures.getValue("slippage").toString()).isEqualTo("0.207");
    assertThat(roadFigures.getValue("slippagePercent").toString()).isEqualTo("6.95");
    assertThat(roadFigures.getValue("ratePerDay").toString()).isEqualTo("0.015");
    assertThat(roadFigures.getString("forecastFinish")).isEqualTo("2026-11-08");
    // The trees are overdue by July (due 2026-05-31, 4200 of 10000).
    JsonObject treeFigures = whole.getJsonArray("milestones").getJsonObject(0).getJsonObject("figures");
    assertThat(treeFigures.getBoolean("overdue")).isTrue();
    assertThat(treeFigures.getValue("slippage").toString()).isEqualTo("5800.000");

    JsonObject curve = await(april.sCurve(actor, UUID.fromString(project)));
    JsonArray weeks = curve.getJsonArray("milestones").getJsonObject(0).getJsonArray("weeks");
    assertThat(weeks).hasSize(14);
    assertThat(weeks.getJsonObject(5).encode()).isEqualTo(
        "{\"week\":\"2026-W14\",\"weekEnding\":\"2026-04-05\",\"planned\":3846.154,\"actual\":3000.000}");
    assertThat(weeks.getJsonObject(7).encode()).isEqualTo(
        "{\"week\":\"2026-W16\",\"weekEnding\":\"2026-04-19\",\"planned\":5384.615,\"actual\":4200.000}");
    assertThat(weeks.getJsonObject(8).getValue("actual")).isNull();
    // The road's curve runs from W09 to the week of 2026-12-01 (W49), with no actuals after 2026-04-15.
    JsonArray roadWeeks = curve.getJsonArray("milestones").getJsonObject(1).getJsonArray("weeks");
    assertThat(roadWeeks.getJsonObject(0).getString("week")).isEqualTo("2026-W09");
    assertThat(roadWeeks.getJsonObject(roadWeeks.size() - 1).encode()).isEqualTo(
        "{\"week\":\"2026-W49\",\"weekEnding\":\"2026-12-06\",\"planned\":2.980,\"actual\":null}");

    // Through HTTP (today's real clock) the s-curve is served to readers in scope.
    JsonObject served = ok(call(env, token(env, "assessor.tongzhou"), HttpMethod.GET, "/v1/projects/" + project
        + "/s-curve", null), 200);
    assertThat(served.getJsonArray("milestones")).hasSize(2);
  }

  @Test
  void plannedAndMeasuredDaysOutsideTheRecordYearsAre400NamingTheFieldAndStoreNothing(TestEnvironment env)
      throws Exception {
    // Year 0000 passed the contract's `format: date` and was stored by PostgreSQL as 1 BC (read back as
    // "0001-01-01 BC"); any year up to 9999 passed too. A work record's days lie in 1900-2999 (RecordDate).
    JsonObject[] created = projectWithTrees(env);
    String project = created[0].getString("id");
    String milestone = created[1].getString("id");
    String supervisor = token(env, "supervisor.tongzhou");
    String milestones = "/v1/projects/" + project + "/milestones";
    // A plan's days are narrower (PlanDate, 2000-2100): a plan from 1900 to 2999 had an S-curve of 57,000 weeks.
    for (String[] c : new String[][] {{"0000-03-01", "2026-05-31", "body/plannedStart"},
        {"1899-12-31", "2026-05-31", "body/plannedStart"}, {"2026-03-01", "3000-01-01", "body/plannedDue"},
        {"2026-03-01", "9999-12-31", "body/plannedDue"}, {"1999-12-31", "2003-01-01", "body/plannedStart"},
        {"2096-03-01", "2101-01-01", "body/plannedDue"}, {"1900-01-01", "2026-05-31", "body/plannedStart"}}) {
      JsonObject problem = assertProblem(call(env, supervisor, HttpMethod.POST, milestones, new JsonObject()
          .put("name", "Benches").put("plannedQuantity", 10).put("unit", "items").put("plannedStart", c[0])
          .put("plannedDue", c[1])), 400, "urn:frontline:problem:validation-failed");
      assertThat(fields(problem)).as(c[0] + ".." + c[1]).containsExactly(c[2]);
      problem = assertProblem(call(env, supervisor, HttpMethod.POST, "/v1/milestones/" + milestone + "/baselines",
          new JsonObject().put("plannedQuantity", 10500).put("plannedStart", c[0]).put("plannedDue", c[1])
              .put("reason", "Another alignment")), 400, "urn:frontline:problem:validation-failed");
      assertThat(fields(problem)).as(c[0] + ".." + c[1]).containsExactly(c[2]);
    }
    // A correction may go back in time, but not to 1 BC.
    JsonObject problem = assertProblem(call(env, token(env, "officer.zhang"), HttpMethod.POST, "/v1/milestones/"
        + milestone + "/progress", new JsonObject().put("quantity", 10).put("measuredOn", "0000-01-01")
        .put("correction", true).put("reason", "Counted in the wrong era")), 400,
        "urn:frontline:problem:validation-failed");
    assertThat(fields(problem)).containsExactly("body/measuredOn");
    assertThat(count(env, "SELECT count(*) FROM milestone WHERE project_id = ?::uuid", project)).isEqualTo(1);
    assertThat(env.string("SELECT string_agg(version || ':' || planned_start || '..' || planned_due, ',') FROM "
        + "milestone_baseline WHERE milestone_id = ?::uuid", milestone)).isEqualTo("1:2026-03-01..2026-05-31");
    assertThat(count(env, "SELECT count(*) FROM milestone_progress WHERE milestone_id = ?::uuid", milestone)).isZero();
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE object_id = ? AND action <> 'milestone.create'",
        milestone)).isZero();

    // Both ends of the range are days of a plan.
    for (String[] c : new String[][] {{"2000-01-01", "2010-01-01"}, {"2090-12-31", "2100-12-31"}}) {
      JsonObject widest = ok(call(env, supervisor, HttpMethod.POST, milestones, new JsonObject().put("name", "Archive")
          .put("plannedQuantity", 1).put("unit", "items").put("plannedStart", c[0]).put("plannedDue", c[1])), 201);
      assertThat(widest.getJsonObject("baseline").getString("plannedStart")).isEqualTo(c[0]);
      assertThat(env.string("SELECT planned_start || '..' || planned_due FROM milestone_baseline WHERE milestone_id = "
          + "?::uuid", widest.getString("id"))).isEqualTo(c[0] + ".." + c[1]);
    }
  }

  @Test
  void aPlanOverMoreThanTenYearsIs422NamingItsDueDateAndStoresNothing(TestEnvironment env) throws Exception {
    // A plan's span had no bound: 2000-01-01 to 2100-12-31 is an S-curve of 5,270 weeks per milestone.
    JsonObject[] created = projectWithTrees(env);
    String project = created[0].getString("id");
    String milestone = created[1].getString("id");
    String supervisor = token(env, "supervisor.tongzhou");
    for (String[] c : new String[][] {{"2026-03-01", "2036-03-02"}, {"2000-01-01", "2100-12-31"}}) {
      JsonObject problem = assertProblem(call(env, supervisor, HttpMethod.POST, "/v1/projects/" + project
          + "/milestones", new JsonObject().put("name", "Benches").put("plannedQuantity", 10).put("unit", "items")
          .put("plannedStart", c[0]).put("plannedDue", c[1])), 422, "urn:frontline:problem:unprocessable");
      assertThat(fields(problem)).as(c[0] + ".." + c[1]).containsExactly("body/plannedDue");
      assertThat(problem.getString("detail")).contains("at most 10 years", "plannedDue may be "
          + LocalDate.parse(c[0]).plusYears(10));
      problem = assertProblem(call(env, supervisor, HttpMethod.POST, "/v1/milestones/" + milestone + "/baselines",
          new JsonObject().put("plannedQuantity", 10500).put("plannedStart", c[0]).put("plannedDue", c[1])
              .put("reason", "Another alignment")), 422, "urn:frontline:problem:unprocessable");
      assertThat(fields(problem)).as(c[0] + ".." + c[1]).containsExactly("body/plannedDue");
    }
    assertThat(count(env, "SELECT count(*) FROM milestone WHERE project_id = ?::uuid", project)).isEqualTo(1);
    assertThat(env.string("SELECT string_agg(version || ':' || planned_start || '..' || planned_due, ',') FROM "
        + "milestone_baseline WHERE milestone_id = ?::uuid", milestone)).isEqualTo("1:2026-03-01..2026-05-31");
    assertThat(env.string("SELECT baseline_version::text FROM milestone WHERE id = ?::uuid", milestone)).isEqualTo("1");
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE object_id = ? AND action <> 'milestone.create'",
        milestone)).isZero();

    // Ten years to the day is a plan, re-baselined as well.
    JsonObject rebaselined = ok(call(env, supervisor, HttpMethod.POST, "/v1/milestones/" + milestone + "/baselines",
        new JsonObject().put("plannedQuantity", 10500).put("plannedStart", "2026-03-01")
            .put("plannedDue", "2036-03-01").put("reason", "Phased over ten years")), 201);
    assertThat(rebaselined.getJsonObject("baseline").getString("plannedDue")).isEqualTo("2036-03-01");
    assertThat(env.string("SELECT planned_due::text FROM milestone_baseline WHERE milestone_id = ?::uuid AND "
        + "version = 2", milestone)).isEqualTo("2036-03-01");
  }

  @Test
  void aProjectHoldsAtMostAHundredMilestonesAndTheHundredAndFirstIs409StoringNothing(TestEnvironment env)
      throws Exception {
    // A project took milestones without end, and its read and S-curve carry every one of them.
    JsonObject[] created = projectWithTrees(env);
    String project = created[0].getString("id");
    String supervisor = token(env, "supervisor.tongzhou");
    for (int i = 2; i <= ProjectService.MAX_MILESTONES; i++) {
      ok(call(env, supervisor, HttpMethod.POST, "/v1/projects/" + project + "/milestones", new JsonObject()
          .put("name", "Utility line " + i).put("plannedQuantity", i).put("unit", "utility_lines")
          .put("plannedStart", "2026-03-01").put("plannedDue", "2026-05-31")), 201);
    }
    long entries = count(env, "SELECT count(*) FROM audit_log WHERE action = 'milestone.create'");
    JsonObject problem = assertProblem(call(env, supervisor, HttpMethod.POST, "/v1/projects/" + project
        + "/milestones", new JsonObject().put("name", "One more").put("plannedQuantity", 1).put("unit", "items")
        .put("plannedStart", "2026-03-01").put("plannedDue", "2026-05-31")), 409, "urn:frontline:problem:conflict");
    assertThat(problem.getString("detail")).contains("already has 100 milestones");
    assertThat(count(env, "SELECT count(*) FROM milestone WHERE project_id = ?::uuid", project)).isEqualTo(100);
    assertThat(count(env, "SELECT count(*) FROM milestone WHERE name = 'One more'")).isZero();
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'milestone.create'")).isEqualTo(entries);

    // The project's read carries each of them with its own progress.
    ok(call(env, supervisor, HttpMethod.POST, "/v1/milestones/" + created[1].getString("id") + "/progress",
        new JsonObject().put("quantity", 2500).put("measuredOn", "2026-04-01")), 201);
    JsonArray milestones = ok(call(env, supervisor, HttpMethod.GET, "/v1/projects/" + project, null), 200)
        .getJsonArray("milestones");
    assertThat(milestones).hasSize(100);
    assertThat(milestones.getJsonObject(0).getJsonObject("figures").getDouble("actualQuantity")).isEqualTo(2500.0);
    assertThat(milestones.getJsonObject(1).getJsonObject("figures").getDouble("actualQuantity")).isZero();
  }

  @Test
  void plansStoredBeforeTheRuleAreAnsweredWithBoundedCurves(TestEnvironment env) throws Exception {
    // A milestone stored from 1900 to 2999 (before plans were bounded) had an S-curve of 57,000 weeks, built and
    // encoded on the event loop; a project of many such milestones answered megabytes. Each curve is sampled now,
    // and an answer's curves share a budget.
    JsonObject[] created = projectWithTrees(env);
    String project = created[0].getString("id");
    String milestone = created[1].getString("id");
    try (Connection c = env.jdbc(); PreparedStatement ps = c.prepareStatement("UPDATE milestone_baseline SET "
        + "planned_start = '1900-01-01', planned_due = '2999-12-31' WHERE milestone_id = ?::uuid")) {
      ps.setString(1, milestone);
      assertThat(ps.executeUpdate()).isEqualTo(1);
    }
    String officer = token(env, "officer.zhang");
    ok(call(env, officer, HttpMethod.POST, "/v1/milestones/" + milestone + "/progress",
        new JsonObject().put("quantity", 3000).put("measuredOn", "2026-04-01")), 201);
    String reader = token(env, "assessor.tongzhou");
    long started = System.nanoTime();
    HttpResponse<Buffer> r = call(env, reader, HttpMethod.GET, "/v1/projects/" + project + "/s-curve", null);
    JsonObject curve = ok(r, 200).getJsonArray("milestones").getJsonObject(0);
    JsonArray weeks = curve.getJsonArray("weeks");
    assertThat(curve.getInteger("everyWeeks")).isEqualTo(100); // 57,395 weeks after the first, in at most 579 steps
    assertThat(weeks).hasSize(575);
    assertThat(weeks.getJsonObject(0).getString("weekEnding")).isEqualTo("1900-01-07");
    assertThat(weeks.getJsonObject(1).getString("weekEnding")).isEqualTo("1901-12-08"); // 100 weeks on
    JsonObject last = weeks.getJsonObject(weeks.size() - 1);
    assertThat(last.getString("week")).isEqualTo("3000-W01"); // the week of 2999-12-31, a Tuesday
    assertThat(new java.math.BigDecimal(last.getValue("planned").toString())).isEqualByComparingTo("10000");
    assertThat(last.getValue("actual")).isNull();
    // The last sampled week begun by today carries the measurement.
    JsonObject measured = weeks.stream().map(JsonObject.class::cast).filter(w -> w.getValue("actual") != null)
        .reduce((a, b) -> b).orElseThrow();
    assertThat(new java.math.BigDecimal(measured.getValue("actual").toString())).isEqualByComparingTo("3000");
    assertThat(r.body().length()).isLessThan(80_000);
    // The milestone and the project are answered (no series in them) with their figures.
    assertThat(ok(call(env, reader, HttpMethod.GET, "/v1/milestones/" + milestone, null), 200)
        .getJsonObject("baseline").getString("plannedStart")).isEqualTo("1900-01-01");
    assertThat(ok(call(env, reader, HttpMethod.GET, "/v1/projects/" + project, null), 200)
        .getJsonArray("milestones").getJsonObject(0).getJsonObject("figures").getValue("actualQuantity").toString())
        .isIn("3000", "3000.0", "3000.000");

    // 60 such milestones (copies by SQL) share an answer's 5,800 points: 96 each, not 57,396 or 575.
    try (Connection c = env.jdbc(); PreparedStatement ps = c.prepareStatement("WITH m AS (INSERT INTO milestone "
        + "(id, project_id, name, unit, baseline_version, created_at) SELECT gen_random_uuid(), ?::uuid, 'Copy ' || i, "
        + "'trees', 1, now() + i * interval '1 second' FROM generate_series(1, 59) i RETURNING id) INSERT INTO "
        + "milestone_baseline (milestone_id, version, planned_quantity, planned_start, planned_due) SELECT id, 1, "
        + "10000, '1900-01-01', '2999-12-31' FROM m")) {
      ps.setString(1, project);
      assertThat(ps.executeUpdate()).isEqualTo(59);
    }
    r = call(env, reader, HttpMethod.GET, "/v1/projects/" + project + "/s-curve", null);
    JsonArray curves = ok(r, 200).getJsonArray("milestones");
    assertThat(curves).hasSize(60);
    for (Object each : curves) {
      assertThat(((JsonObject) each).getJsonArray("weeks")).hasSize(96);
      assertThat(((JsonObject) each).getInteger("everyWeeks")).isEqualTo(605); // 57,395 weeks in at most 95 steps
    }
    assertThat(r.body().length()).isLessThan(500_000);
    assertThat(System.nanoTime() - started).isLessThan(java.util.concurrent.TimeUnit.SECONDS.toNanos(10));
  }

  @Test
  void anInvestmentIsKeptToTheFenExactlyAndMoreDecimalsAreRefusedNotRounded(TestEnvironment env) throws Exception {
    // investmentYuan went through a double and numeric(20, 2): 3200000000.125 was stored as 3200000000.13 and
    // 12345678901234567.89 as 12345678901234568.00, without a word.
    String supervisor = token(env, "supervisor.tongzhou");
    long before = count(env, "SELECT count(*) FROM project");
    for (String sent : List.of("3200000000.125", "0.001", "12345678901234567.891", "1.0000001")) {
      String json = jianghai(TONGZHOU).encode().replace("\"investmentYuan\":3200000000", "\"investmentYuan\":" + sent);
      HttpResponse<Buffer> r = await(env.client().post("/v1/projects").putHeader("Authorization", "Bearer " + supervisor)
          .putHeader("Content-Type", "application/json").sendBuffer(Buffer.buffer(json)));
      JsonObject problem = assertProblem(r, 422, "urn:frontline:problem:unprocessable");
      assertThat(fields(problem)).as(sent).containsExactly("body/investmentYuan");
    }
    assertThat(count(env, "SELECT count(*) FROM project")).isEqualTo(before);

    // Fen are kept as sent, beyond a double's digits too; trailing zeros are no decimals.
    for (String[] c : new String[][] {{"12345678901234567.89", "12345678901234567.89"}, {"0.1", "0.10"},
        {"2500000.750", "2500000.75"}, {"100000000000000000", "100000000000000000.00"}}) {
      String json = jianghai(TONGZHOU).encode().replace("\"investmentYuan\":3200000000", "\"investmentYuan\":" + c[0]);
      HttpResponse<Buffer> r = await(env.client().post("/v1/projects").putHeader("Authorization", "Bearer " + supervisor)
          .putHeader("Content-Type", "application/json").sendBuffer(Buffer.buffer(json)));
      String id = ok(r, 201).getString("id");
      assertThat(env.string("SELECT investment_yuan::text FROM project WHERE id = ?::uuid", id)).as(c[0])
          .isEqualTo(c[1]);
      assertThat(r.bodyAsString()).as(c[0]).contains("\"investmentYuan\":" + c[1] + ",");
    }
  }

  @Test
  void progressBeyondThePlannedQuantityIsRecordedAsMeasured(TestEnvironment env) throws Exception {
    // Over-achievement is a fact of the site ("10,000+ trees", DOMAIN.md): the plan is a target, not a cap. The
    // measurement is kept as it was; percentComplete passes 100 and the slippage turns negative (ahead).
    String milestone = projectWithTrees(env)[1].getString("id");
    HttpResponse<Buffer> r = call(env, token(env, "officer.zhang"), HttpMethod.POST, "/v1/milestones/" + milestone
        + "/progress", new JsonObject().put("quantity", 10200).put("measuredOn", "2026-05-30"));
    JsonObject figures = ok(r, 201).getJsonObject("figures");
    assertThat(r.bodyAsString()).contains("\"actualQuantity\":10200.000,", "\"percentComplete\":102.00,",
        "\"slippage\":-200.000,", "\"slippagePercent\":-2.00,");
    assertThat(figures.getBoolean("completed")).isTrue();
    assertThat(figures.getBoolean("overdue")).isFalse();
    assertThat(figures.getString("forecastFinish")).isEqualTo("2026-05-30");
    assertThat(env.string("SELECT quantity::text FROM milestone_progress WHERE milestone_id = ?::uuid", milestone))
        .isEqualTo("10200.000");
    assertThat(count(env, "SELECT count(*) FROM outbox WHERE event_type = 'milestone.completed' AND aggregate_id = "
        + "?::uuid", milestone)).isEqualTo(1);
  }

  @Test
  void aCompletedOrCancelledProjectsMilestonesTakeNoMoreWrites(TestEnvironment env) throws Exception {
    String supervisor = token(env, "supervisor.tongzhou");
    String officer = token(env, "officer.zhang");
    JsonObject benches = new JsonObject().put("name", "Benches").put("plannedQuantity", 10).put("unit", "items")
        .put("plannedStart", "2026-03-01").put("plannedDue", "2026-05-31");
    // Closed as completed before any milestone: none can be planned on it.
    JsonObject done = ok(call(env, supervisor, HttpMethod.POST, "/v1/projects", jianghai(TONGZHOU)), 201);
    ok(call(env, supervisor, HttpMethod.POST, "/v1/projects/" + done.getString("id") + "/close",
        new JsonObject().put("outcome", "COMPLETED")), 200);
    JsonObject problem = assertProblem(call(env, supervisor, HttpMethod.POST, "/v1/projects/" + done.getString("id")
        + "/milestones", benches), 409, "urn:frontline:problem:conflict");
    assertThat(problem.getString("projectId")).isEqualTo(done.getString("id"));
    assertThat(problem.getString("projectStatus")).isEqualTo("COMPLETED");
    assertThat(count(env, "SELECT count(*) FROM milestone WHERE project_id = ?::uuid", done.getString("id"))).isZero();

    // A project closed after its milestones were planned (set by SQL, so both outcomes are tried on one project;
    // closing through the API is ProjectClosingTest).
    JsonObject[] created = projectWithTrees(env);
    String project = created[0].getString("id");
    String milestone = created[1].getString("id");
    String progress = "/v1/milestones/" + milestone + "/progress";
    ok(call(env, officer, HttpMethod.POST, progress, new JsonObject().put("quantity", 3000)
        .put("measuredOn", "2026-04-01")), 201);
    for (String status : List.of("CANCELLED", "COMPLETED")) {
      setStatus(env, project, status);
      String stored = records(env, project, milestone);
      for (Object[] write : List.of(
          new Object[] {officer, progress, new JsonObject().put("quantity", 4200).put("measuredOn", "2026-04-15")},
          new Object[] {supervisor, progress, new JsonObject().put("quantity", 2900).put("measuredOn", "2026-04-01")
              .put("correction", true).put("reason", "Recounted")},
          new Object[] {supervisor, "/v1/milestones/" + milestone + "/baselines", new JsonObject()
              .put("plannedQuantity", 10500).put("plannedStart", "2026-03-01").put("plannedDue", "2026-06-30")
              .put("reason", "500 more trees")},
          new Object[] {supervisor, "/v1/projects/" + project + "/milestones", benches})) {
        problem = assertProblem(call(env, (String) write[0], HttpMethod.POST, (String) write[1], (JsonObject) write[2]),
            409, "urn:frontline:problem:conflict");
        assertThat(problem.getString("projectId")).as(status + " " + write[1]).isEqualTo(project);
        assertThat(problem.getString("projectStatus")).as(status + " " + write[1]).isEqualTo(status);
        assertThat(problem.getString("detail")).contains(status);
      }
      assertThat(records(env, project, milestone)).as(status).isEqualTo(stored);
    }
    // Scope still comes first: out of scope is 404 whatever the status.
    assertProblem(call(env, token(env, "supervisor.hanjiang"), HttpMethod.POST, progress,
        new JsonObject().put("quantity", 4200)), 404, "urn:frontline:problem:not-found");

    // A suspended project is not closed: its measurements are still recorded.
    setStatus(env, project, "SUSPENDED");
    ok(call(env, officer, HttpMethod.POST, progress, new JsonObject().put("quantity", 4200)
        .put("measuredOn", "2026-04-15")), 201);
    assertThat(count(env, "SELECT count(*) FROM milestone_progress WHERE milestone_id = ?::uuid", milestone))
        .isEqualTo(2);
  }

  static void setStatus(TestEnvironment env, String project, String status) throws SQLException {
    try (Connection c = env.jdbc();
         PreparedStatement st = c.prepareStatement("UPDATE project SET status = ?, closed_at = CASE WHEN ? IN "
             + "('COMPLETED', 'CANCELLED') THEN now() END WHERE id = ?::uuid")) {
      st.setString(1, status);
      st.setString(2, status);
      st.setString(3, project);
      assertThat(st.executeUpdate()).isEqualTo(1);
    }
  }

  /** Everything stored about a project's milestones, and their audit entries, as one text. */
  static String records(TestEnvironment env, String project, String milestone) {
    return env.string("SELECT (SELECT count(*) FROM milestone WHERE project_id = ?::uuid) || '|' || "
        + "(SELECT string_agg(version || ':' || planned_quantity || ':' || planned_due, ',' ORDER BY version) "
        + "FROM milestone_baseline WHERE milestone_id = ?::uuid) || '|' || "
        + "(SELECT baseline_version FROM milestone WHERE id = ?::uuid) || '|' || "
        + "(SELECT string_agg(seq || ':' || quantity || ':' || measured_on, ',' ORDER BY seq) FROM milestone_progress "
        + "WHERE milestone_id = ?::uuid) || '|' || (SELECT count(*) FROM audit_log WHERE object_id IN (?, ?))",
        project, milestone, milestone, milestone, project, milestone);
  }

  static ProjectService service(TestEnvironment env, String instant) {
    return new ProjectService(env.app().database(), new AdminAudit(env.app().audit()),
        Clock.fixed(Instant.parse(instant), ZoneOffset.UTC));
  }

  @Test
  void aUuidEndingInALineBreakIsRefusedByTheContractNotA500(TestEnvironment env) throws Exception {
    // JSON Schema's '$' is the end of the string; java.util.regex's also matched before a final line break, so
    // "<uuid>\n" passed the contract's uuid pattern and UUID.fromString threw (a 500).
    String supervisor = token(env, "supervisor.tongzhou");
    long before = count(env, "SELECT count(*) FROM project");
    for (String id : List.of(TONGZHOU + "\n", TONGZHOU + "\r\n", TONGZHOU + "\u2028")) {
      JsonObject body = jianghai(TONGZHOU).put("unitId", id);
      JsonObject problem = assertProblem(call(env, supervisor, HttpMethod.POST, "/v1/projects", body), 400,
          "urn:frontline:problem:validation-failed");
      assertThat(fields(problem)).as(id).contains("body/unitId");
    }
    assertThat(count(env, "SELECT count(*) FROM project")).isEqualTo(before);
    // A query parameter too.
    JsonObject problem = assertProblem(await(env.client().get("/v1/projects?unitId=" + TONGZHOU + "%0A")
        .putHeader("Authorization", "Bearer " + supervisor).send()), 400, "urn:frontline:problem:validation-failed");
    assertThat(fields(problem)).contains("query/unitId");
  }

  /** A project at {@code unit} with a trees milestone, made by {@code token}; the milestone's id. */
  private static String milestoneAt(TestEnvironment env, String token, UUID unit) {
    String project = ok(call(env, token, HttpMethod.POST, "/v1/projects", jianghai(unit)), 201).getString("id");
    return ok(call(env, token, HttpMethod.POST, "/v1/projects/" + project + "/milestones", new JsonObject()
        .put("name", "Relocate trees").put("plannedQuantity", 10000).put("unit", "trees")
        .put("plannedStart", "2026-03-01").put("plannedDue", "2026-05-31")), 201).getString("id");
  }

  private static final JsonObject PROGRESS = new JsonObject().put("quantity", 3000).put("measuredOn", "2026-04-01");

  /**
   * Progress recorded by an admin whose scope is one unit, waiting for the milestone's lock (another write of it under
   * way) while that unit moves to another city (the project's unit with it, below it), is recorded: the admin's
   * scope had been read before the lock, the milestone after it at its unit's new path, which the old scope path no
   * longer matched (a 404).
   */
  @Test
  void progressWaitingWhileTheCallersOwnUnitMovesIsRecorded(TestEnvironment env) throws Exception {
    UUID covered = ScopeMoves.unit(env, TONGZHOU);
    ScopeMoves.ScopedCaller admin = ScopeMoves.caller(env, covered, "admin");
    String milestone = milestoneAt(env, admin.token(), ScopeMoves.unit(env, covered));
    ok(ScopeMoves.whileHeld(env, st -> {
      st.execute("SELECT 1 FROM milestone WHERE id = '" + milestone + "' FOR UPDATE");
      ScopeMoves.move(st, covered, HANJIANG);
    }, "%FROM milestone WHERE id = $1 FOR UPDATE%", () -> call(env, admin.token(), HttpMethod.POST,
        "/v1/milestones/" + milestone + "/progress", PROGRESS)), 201);
    assertThat(count(env, "SELECT count(*) FROM milestone_progress WHERE milestone_id = ?::uuid AND quantity = 3000",
        milestone)).isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'milestone.progress' AND object_id = ?",
        milestone)).isEqualTo(1);
  }

  /** The other way: a milestone whose project's unit left the scope while the progress waited is 404, none stored. */
  @Test
  void progressWaitingWhileTheProjectsUnitMovesOutOfTheCallersScopeIs404(TestEnvironment env) throws Exception {
    UUID covered = ScopeMoves.unit(env, TONGZHOU);
    ScopeMoves.ScopedCaller admin = ScopeMoves.caller(env, covered, "admin");
    UUID unit = ScopeMoves.unit(env, covered);
    String milestone = milestoneAt(env, admin.token(), unit);
    assertProblem(ScopeMoves.whileHeld(env, st -> {
      st.execute("SELECT 1 FROM milestone WHERE id = '" + milestone + "' FOR UPDATE");
      ScopeMoves.move(st, unit, HANJIANG);
    }, "%FROM milestone WHERE id = $1 FOR UPDATE%", () -> call(env, admin.token(), HttpMethod.POST,
        "/v1/milestones/" + milestone + "/progress", PROGRESS)), 404, "urn:frontline:problem:not-found");
    assertThat(count(env, "SELECT count(*) FROM milestone_progress WHERE milestone_id = ?::uuid", milestone)).isZero();
  }

  /**
   * A milestone added by an admin whose scope is one unit, waiting for the project's lock while the project's unit
   * moves into that scope, is stored. The project was locked by a statement that joined its unit and checked the
   * scope: the unit, outside the scope as that statement first saw it, kept the project from being found (a 404 at
   * once).
   */
  @Test
  void aMilestoneAddedWhileTheProjectsUnitMovesIntoTheCallersScopeIsStored(TestEnvironment env) throws Exception {
    UUID covered = ScopeMoves.unit(env, TONGZHOU);
    ScopeMoves.ScopedCaller admin = ScopeMoves.caller(env, covered, "admin");
    UUID unit = ScopeMoves.unit(env, HANJIANG);
    String project = ok(call(env, ScopeMoves.provinceAdmin(env), HttpMethod.POST, "/v1/projects", jianghai(unit)), 201)
        .getString("id");
    ok(ScopeMoves.whileHeld(env, st -> {
      st.execute("SELECT 1 FROM project WHERE id = '" + project + "' FOR UPDATE");
      ScopeMoves.move(st, unit, covered);
    }, "%FROM project%FOR UPDATE%", () -> call(env, admin.token(), HttpMethod.POST, "/v1/projects/" + project
        + "/milestones", new JsonObject().put("name", "Lay pipes").put("plannedQuantity", 800).put("unit", "m")
        .put("plannedStart", "2026-03-01").put("plannedDue", "2026-05-31"))), 201);
    assertThat(count(env, "SELECT count(*) FROM milestone WHERE project_id = ?::uuid AND name = 'Lay pipes'", project))
        .isEqualTo(1);
  }

  /**
   * The other way: a milestone added while the project's unit moves out of the admin's scope is 404, none stored. The
   * locking statement re-checked the project's row against its unit's row as it had first read it, still in the
   * scope, and added a milestone to a project the admin no longer sees.
   */
  @Test
  void aMilestoneAddedWhileTheProjectsUnitMovesOutOfTheCallersScopeIs404(TestEnvironment env) throws Exception {
    UUID covered = ScopeMoves.unit(env, TONGZHOU);
    ScopeMoves.ScopedCaller admin = ScopeMoves.caller(env, covered, "admin");
    UUID unit = ScopeMoves.unit(env, covered);
    String project = ok(call(env, admin.token(), HttpMethod.POST, "/v1/projects", jianghai(unit)), 201).getString("id");
    assertProblem(ScopeMoves.whileHeld(env, st -> {
      st.execute("SELECT 1 FROM project WHERE id = '" + project + "' FOR UPDATE");
      ScopeMoves.move(st, unit, HANJIANG);
    }, "%FROM project%FOR UPDATE%", () -> call(env, admin.token(), HttpMethod.POST, "/v1/projects/" + project
        + "/milestones", new JsonObject().put("name", "Lay pipes").put("plannedQuantity", 800).put("unit", "m")
        .put("plannedStart", "2026-03-01").put("plannedDue", "2026-05-31"))), 404, "urn:frontline:problem:not-found");
    assertThat(count(env, "SELECT count(*) FROM milestone WHERE project_id = ?::uuid", project)).isZero();
  }
}
