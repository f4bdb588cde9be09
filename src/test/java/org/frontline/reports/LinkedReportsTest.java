package org.frontline.reports;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.enterprises.EnterprisesApiTestAccess;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.ScopeMoves;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HANJIANG;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.reports.ReportFixtures.account;
import static org.frontline.reports.ReportFixtures.forgetTokens;
import static org.frontline.reports.ReportFixtures.post;
import static org.frontline.reports.ReportFixtures.postText;
import static org.frontline.reports.ReportFixtures.token;
import static org.frontline.testing.TestEnvironment.await;

/**
 * Reports about work records: the links are checked (exist, in scope, belong together) and the record is updated
 * in the report's creating transaction, once, whether sent alone or in a batch.
 */
@FrontlineTest
class LinkedReportsTest {
  static final String UNPROCESSABLE = "urn:frontline:problem:unprocessable";
  static final String CONFLICT = "urn:frontline:problem:conflict";

  @BeforeAll
  static void freshTokens() {
    forgetTokens();
  }

  static JsonObject envelope(UUID id, String type, UUID unit, JsonObject body) {
    return new JsonObject().put("id", id.toString()).put("type", type).put("unitId", unit.toString())
        .put("capturedAt", "2026-11-20T08:30:00Z")
        .put("location", new JsonObject().put("lat", 32.06).put("lon", 121.07).put("accuracyM", 8.5)
            .put("provider", "gps").put("mock", false))
        .put("title", type.equals("MILESTONE_PROGRESS") ? "Utility lines laid" : "Permit visit")
        .put("body", body);
  }

  static JsonObject progress(UUID id, UUID milestone, Object quantity) {
    return envelope(id, "MILESTONE_PROGRESS", TONGZHOU, new JsonObject().put("milestoneId", milestone.toString())
        .put("quantity", quantity));
  }

  static JsonObject ok(HttpResponse<Buffer> r, int status) {
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(status);
    return r.bodyAsJsonObject();
  }

  static HttpResponse<Buffer> get(TestEnvironment env, String username, String path) {
    return await(env.client().get(path).putHeader("Authorization", "Bearer " + token(env, username)).send());
  }

  static String field(JsonObject problem) {
    return problem.getJsonArray("errors").getJsonObject(0).getString("field");
  }

  /** A Tongzhou milestone: 10 utility lines from 2026-11-01 to 2027-03-01. */
  static UUID milestone(TestEnvironment env) {
    JsonObject project = ok(post(env, "supervisor.tongzhou", "/v1/projects", new JsonObject()
        .put("unitId", TONGZHOU.toString()).put("name", "Jianghai Avenue east extension").put("investmentYuan", 1000)
        .put("site", new JsonObject().put("lat", 32.06).put("lon", 121.07).put("radiusM", 2500))
        .put("status", "IN_PROGRESS")), 201);
    JsonObject m = ok(post(env, "supervisor.tongzhou", "/v1/projects/" + project.getString("id") + "/milestones",
        new JsonObject().put("name", "Utility lines").put("plannedQuantity", 10).put("unit", "lines")
            .put("plannedStart", "2026-11-01").put("plannedDue", "2027-03-01")), 201);
    return UUID.fromString(m.getString("id"));
  }

  @Test
  void aProgressReportRecordsItsQuantityOnceAndNeverDownwards(TestEnvironment env) {
    UUID m = milestone(env);
    UUID first = UUID.randomUUID();
    ok(post(env, "officer.zhang", "/v1/reports", progress(first, m, 4)), 201);
    assertThat(env.string("SELECT quantity::text || '|' || measured_on || '|' || report_id || '|' || recorded_by"
        + " || '|' || correction FROM milestone_progress WHERE milestone_id = ?", m))
        .isEqualTo("4.000|2026-11-20|" + first + "|" + account("officer.zhang") + "|false");
    JsonObject figures = ok(get(env, "supervisor.tongzhou", "/v1/milestones/" + m), 200).getJsonObject("figures");
    assertThat(new java.math.BigDecimal(figures.getValue("actualQuantity").toString())).isEqualByComparingTo("4");
    assertThat(new java.math.BigDecimal(figures.getValue("percentComplete").toString())).isEqualByComparingTo("40");

    // The same report again: the stored answer, nothing recorded twice.
    HttpResponse<Buffer> repeat = post(env, "officer.zhang", "/v1/reports", progress(first, m, 4));
    assertThat(repeat.statusCode()).as(repeat.bodyAsString()).isEqualTo(200);
    assertThat(env.count("SELECT count(*) FROM milestone_progress WHERE milestone_id = ?", m)).isEqualTo(1);
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'milestone.progress' AND object_id = ?",
        m.toString())).isEqualTo(1);

    // Lower than the latest: 422 naming the field, the report not stored.
    UUID lower = UUID.randomUUID();
    JsonObject p = assertProblem(post(env, "officer.zhang", "/v1/reports", progress(lower, m, 3.5)), 422,
        UNPROCESSABLE);
    assertThat(field(p)).isEqualTo("body/body/quantity");
    assertThat(env.count("SELECT count(*) FROM report WHERE id = ?", lower)).isZero();
    // Another unit than the milestone's: 422 naming body/body/unit.
    UUID km = UUID.randomUUID();
    p = assertProblem(post(env, "officer.zhang", "/v1/reports", progress(km, m, 5).put("body",
        new JsonObject().put("milestoneId", m.toString()).put("quantity", 5).put("unit", "km"))), 422, UNPROCESSABLE);
    assertThat(field(p)).isEqualTo("body/body/unit");

    // Reaching the planned quantity completes the milestone: its event written with the report.
    ok(post(env, "officer.zhang", "/v1/reports", progress(UUID.randomUUID(), m, 10)), 201);
    assertThat(env.count("SELECT count(*) FROM outbox WHERE event_type = 'milestone.completed' AND aggregate_id = ?",
        m)).isEqualTo(1);
    assertThat(env.count("SELECT count(*) FROM milestone_progress WHERE milestone_id = ?", m)).isEqualTo(2);
    assertThat(ok(get(env, "supervisor.tongzhou", "/v1/milestones/" + m), 200).getJsonObject("figures")
        .getBoolean("completed")).isTrue();
  }

  /**
   * A progress report that reaches the server after a later measurement (its phone was offline) is recorded on its
   * capture day when its quantity fits there: it was moved up to the latest measurement's day, where 4 lines were
   * "fewer than the latest 6", so the report and its evidence were refused (422) however often the phone resent it.
   * One that fits nowhere in the history is still refused; one above the latest is still recorded on its day.
   */
  @Test
  void aProgressReportArrivingAfterALaterMeasurementIsRecordedOnItsCaptureDay(TestEnvironment env) {
    UUID m = milestone(env);
    ok(post(env, "officer.zhang", "/v1/reports", progress(UUID.randomUUID(), m, 6)
        .put("capturedAt", "2026-11-22T08:30:00Z")), 201);
    UUID offline = UUID.randomUUID();
    ok(post(env, "officer.zhang", "/v1/reports", progress(offline, m, 4)), 201); // captured on 2026-11-20
    assertThat(env.count("SELECT count(*) FROM report WHERE id = ?", offline)).isEqualTo(1);
    assertThat(env.string("SELECT string_agg(quantity::text || '@' || measured_on, ' ' ORDER BY measured_on, seq)"
        + " FROM milestone_progress WHERE milestone_id = ?", m)).isEqualTo("4.000@2026-11-20 6.000@2026-11-22");
    assertThat(env.string("SELECT details ->> 'previousQuantity' FROM audit_log WHERE action = 'milestone.progress'"
        + " AND details ->> 'reportId' = ?", offline.toString())).isNull();
    JsonObject figures = ok(get(env, "supervisor.tongzhou", "/v1/milestones/" + m), 200).getJsonObject("figures");
    assertThat(new java.math.BigDecimal(figures.getValue("actualQuantity").toString())).isEqualByComparingTo("6");

    // 5 on 2026-11-19, before the 4 of 2026-11-20: it fits nowhere, refused as a decrease, not stored.
    UUID misfit = UUID.randomUUID();
    JsonObject p = assertProblem(post(env, "officer.zhang", "/v1/reports", progress(misfit, m, 5)
        .put("capturedAt", "2026-11-19T08:30:00Z")), 422, UNPROCESSABLE);
    assertThat(field(p)).isEqualTo("body/body/quantity");
    assertThat(env.count("SELECT count(*) FROM report WHERE id = ?", misfit)).isZero();
    // 7 on 2026-11-21, above the 6 measured after it: recorded on the latest day, as before.
    ok(post(env, "officer.zhang", "/v1/reports", progress(UUID.randomUUID(), m, 7)
        .put("capturedAt", "2026-11-21T08:30:00Z")), 201);
    assertThat(env.string("SELECT string_agg(quantity::text || '@' || measured_on, ' ' ORDER BY measured_on, seq)"
        + " FROM milestone_progress WHERE milestone_id = ?", m))
        .isEqualTo("4.000@2026-11-20 6.000@2026-11-22 7.000@2026-11-22");
  }

  @Test
  void aProgressReportOnAClosedProjectIs409AloneAndInABatchWhileARepeatAnswersAsBefore(TestEnvironment env)
      throws Exception {
    UUID m = milestone(env);
    UUID first = UUID.randomUUID();
    HttpResponse<Buffer> created = post(env, "officer.zhang", "/v1/reports", progress(first, m, 4));
    assertThat(created.statusCode()).as(created.bodyAsString()).isEqualTo(201);
    String project = env.string("SELECT project_id::text FROM milestone WHERE id = ?", m);
    try (var c = env.jdbc(); var st = c.prepareStatement("UPDATE project SET status = 'COMPLETED', closed_at = now()"
        + " WHERE id = ?::uuid")) {
      st.setString(1, project);
      assertThat(st.executeUpdate()).isEqualTo(1);
    }
    String progressRows = "SELECT string_agg(quantity::text || ':' || report_id, ',') FROM milestone_progress"
        + " WHERE milestone_id = ?";

    // The phone whose first answer was lost sends it again: the stored answer, byte for byte, as before.
    HttpResponse<Buffer> repeat = post(env, "officer.zhang", "/v1/reports", progress(first, m, 4));
    assertThat(repeat.statusCode()).as(repeat.bodyAsString()).isEqualTo(200);
    assertThat(repeat.bodyAsString()).isEqualTo(created.bodyAsString());

    // A new report on the completed project's milestone: 409 naming the project's status; nothing stored.
    UUID late = UUID.randomUUID();
    JsonObject p = assertProblem(post(env, "officer.zhang", "/v1/reports", progress(late, m, 6)), 409, CONFLICT);
    assertThat(p.getString("projectId")).isEqualTo(project);
    assertThat(p.getString("projectStatus")).isEqualTo("COMPLETED");
    assertThat(env.count("SELECT count(*) FROM report WHERE id = ?", late)).isZero();
    assertThat(env.string(progressRows, m)).isEqualTo("4.000:" + first);

    // In a batch: the repeat answered as before, the new one the same 409, as a conflict item.
    UUID batched = UUID.randomUUID();
    JsonArray results = ok(post(env, "officer.zhang", "/v1/reports/batch", new JsonObject().put("reports",
        new JsonArray().add(progress(first, m, 4)).add(progress(batched, m, 7)))), 200).getJsonArray("results");
    assertThat(results.getJsonObject(0).getInteger("httpStatus")).isEqualTo(200);
    assertThat(results.getJsonObject(0).getJsonObject("report")).isEqualTo(created.bodyAsJsonObject());
    assertThat(results.getJsonObject(1).getInteger("httpStatus")).isEqualTo(409);
    assertThat(results.getJsonObject(1).getString("status")).isEqualTo("conflict");
    assertThat(results.getJsonObject(1).getJsonObject("problem").getString("projectStatus")).isEqualTo("COMPLETED");
    assertThat(env.count("SELECT count(*) FROM report WHERE id = ?", batched)).isZero();
    assertThat(env.string(progressRows, m)).isEqualTo("4.000:" + first);
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'milestone.progress' AND object_id = ?",
        m.toString())).isEqualTo(1);
  }

  @Test
  void aProgressReportCapturedBeforeTheRecordYearsIs422NamingCapturedAt(TestEnvironment env) {
    // capturedAt may be any year 0001-9999 (a phone's clock is evidence to judge), but a progress report's capture
    // day becomes the measurement day: year 0001 was recorded as a measurement of the milestone in year 1.
    UUID m = milestone(env);
    UUID ancient = UUID.randomUUID();
    JsonObject p = assertProblem(post(env, "officer.zhang", "/v1/reports", progress(ancient, m, 2)
        .put("capturedAt", "0001-01-01T00:00:00Z")), 422, UNPROCESSABLE);
    assertThat(field(p)).isEqualTo("body/capturedAt");
    assertThat(env.count("SELECT count(*) FROM report WHERE id = ?", ancient)).isZero();
    assertThat(env.count("SELECT count(*) FROM milestone_progress WHERE milestone_id = ?", m)).isZero();
    // The first day of the range is one: measured on it (nothing measured later yet).
    UUID first = UUID.randomUUID();
    ok(post(env, "officer.zhang", "/v1/reports", progress(first, m, 2).put("capturedAt", "1900-01-01T00:00:00+08:00")),
        201);
    assertThat(env.string("SELECT measured_on::text FROM milestone_progress WHERE report_id = ?", first))
        .isEqualTo("1900-01-01");
  }

  @Test
  void aMissingOrOutOfScopeMilestoneIs422NamingTheFieldAloneAndInABatch(TestEnvironment env) {
    UUID m = milestone(env);
    UUID missing = UUID.randomUUID();
    JsonObject p = assertProblem(post(env, "officer.zhang", "/v1/reports", progress(missing, UUID.randomUUID(), 1)),
        422, UNPROCESSABLE);
    assertThat(field(p)).isEqualTo("body/body/milestoneId");
    // officer.xu (Huaisi, under Hanjiang) reporting on a Tongzhou milestone from his own unit.
    UUID outOfScope = UUID.randomUUID();
    p = assertProblem(post(env, "officer.xu", "/v1/reports", progress(outOfScope, m, 1).put("unitId",
        HUAISI.toString())), 422, UNPROCESSABLE);
    assertThat(field(p)).isEqualTo("body/body/milestoneId");
    assertThat(env.count("SELECT count(*) FROM report WHERE id IN (?, ?)", missing, outOfScope)).isZero();
    assertThat(env.count("SELECT count(*) FROM milestone_progress WHERE milestone_id = ?", m)).isZero();

    UUID good = UUID.randomUUID();
    UUID bad = UUID.randomUUID();
    JsonArray items = new JsonArray().add(progress(good, m, 2)).add(progress(bad, UUID.randomUUID(), 3))
        .add(progress(good, m, 2));
    JsonArray results = ok(post(env, "officer.zhang", "/v1/reports/batch", new JsonObject().put("reports", items)),
        200).getJsonArray("results");
    assertThat(results.getJsonObject(0).getInteger("httpStatus")).isEqualTo(201);
    assertThat(results.getJsonObject(1).getInteger("httpStatus")).isEqualTo(422);
    assertThat(field(results.getJsonObject(1).getJsonObject("problem"))).isEqualTo("body/body/milestoneId");
    assertThat(results.getJsonObject(2).getInteger("httpStatus")).isEqualTo(200);
    assertThat(env.string("SELECT string_agg(quantity::text || ':' || report_id, ',') FROM milestone_progress"
        + " WHERE milestone_id = ?", m)).isEqualTo("2.000:" + good);
  }

  @Test
  void aReportedQuantityIsReadAsTheExactDecimalSentAloneAndInABatch(TestEnvironment env) {
    // Review: the milestone operations read quantities exactly, but a MILESTONE_PROGRESS report still went through
    // a double: 12345678901234.567 was stored as .566, and 12345678901234.5678 passed as .568 (a 4th decimal hidden).
    UUID m = milestone(env);
    UUID exact = UUID.randomUUID();
    String one = progress(exact, m, 7).encode().replace("\"quantity\":7", "\"quantity\":12345678901234.567");
    ok(postText(env, "officer.zhang", "/v1/reports", one), 201);
    assertThat(env.string("SELECT quantity::text FROM milestone_progress WHERE report_id = ?", exact))
        .isEqualTo("12345678901234.567");
    UUID fourth = UUID.randomUUID();
    String four = progress(fourth, m, 7).encode().replace("\"quantity\":7", "\"quantity\":12345678901234.5678");
    assertThat(field(assertProblem(postText(env, "officer.zhang", "/v1/reports", four), 422, UNPROCESSABLE)))
        .isEqualTo("body/body/quantity");
    assertThat(env.count("SELECT count(*) FROM report WHERE id = ?", fourth)).isZero();

    UUID later = UUID.randomUUID();
    UUID hidden = UUID.randomUUID();
    String batch = "{\"reports\":[" + progress(later, m, 7).encode().replace("\"quantity\":7",
        "\"quantity\":12345678901234.569") + "," + progress(hidden, m, 7).encode().replace("\"quantity\":7",
        "\"quantity\":12345678901234.5699") + "]}";
    JsonArray results = ok(postText(env, "officer.zhang", "/v1/reports/batch", batch), 200).getJsonArray("results");
    assertThat(results.getJsonObject(0).getInteger("httpStatus")).isEqualTo(201);
    assertThat(env.string("SELECT quantity::text FROM milestone_progress WHERE report_id = ?", later))
        .isEqualTo("12345678901234.569");
    assertThat(results.getJsonObject(1).getInteger("httpStatus")).isEqualTo(422);
    assertThat(field(results.getJsonObject(1).getJsonObject("problem"))).isEqualTo("body/body/quantity");
  }

  @Test
  void aReportedQuantityIsAnsweredAsTheExactDecimalByReadsListsAndBatchAnswers(TestEnvironment env) {
    // The 201 said 12345678901234.567 and the progress row holds it; a read of the report, a list and a batch's
    // answers parsed the stored body into a double: 1.2345678901234568E13 (.568), and .600 became 1.23456789012346E13.
    UUID m = milestone(env);
    UUID single = UUID.randomUUID();
    String one = progress(single, m, 7).encode().replace("\"quantity\":7", "\"quantity\":12345678901234.567");
    HttpResponse<Buffer> created = postText(env, "officer.zhang", "/v1/reports", one);
    assertThat(created.statusCode()).as(created.bodyAsString()).isEqualTo(201);
    assertThat(created.bodyAsString()).contains("\"quantity\":12345678901234.567");
    assertThat(get(env, "officer.zhang", "/v1/reports/" + single).bodyAsString())
        .contains("\"quantity\":12345678901234.567");
    assertThat(get(env, "supervisor.tongzhou", "/v1/reports?type=MILESTONE_PROGRESS&authorId="
        + account("officer.zhang") + "&unitId=" + TONGZHOU + "&limit=200").bodyAsString())
        .contains("\"quantity\":12345678901234.567");

    UUID batched = UUID.randomUUID();
    String two = progress(batched, m, 7).encode().replace("\"quantity\":7", "\"quantity\":12345678901234.600");
    HttpResponse<Buffer> batch = postText(env, "officer.zhang", "/v1/reports/batch",
        "{\"reports\":[" + one + "," + two + "," + two + "]}");
    assertThat(batch.statusCode()).as(batch.bodyAsString()).isEqualTo(200);
    JsonArray results = batch.bodyAsJsonObject().getJsonArray("results");
    assertThat(results.stream().map(r -> ((JsonObject) r).getString("status")))
        .containsExactly("duplicate", "created", "duplicate");
    assertThat(batch.bodyAsString()).contains("\"quantity\":12345678901234.567")
        .contains("\"quantity\":12345678901234.600").doesNotContain("E13");
    assertThat(env.string("SELECT string_agg(quantity::text, ',' ORDER BY quantity) FROM milestone_progress"
        + " WHERE milestone_id = ?", m)).isEqualTo("12345678901234.567,12345678901234.600");
    // Whole numbers stay whole numbers.
    UUID whole = UUID.randomUUID();
    ok(post(env, "officer.zhang", "/v1/reports", progress(whole, m, 12345678901235L)), 201);
    assertThat(get(env, "officer.zhang", "/v1/reports/" + whole).bodyAsString())
        .contains("\"quantity\":12345678901235");
  }

  @Test
  void aRepeatWritingAnExactQuantityOtherwiseIsARepeatAloneAndInABatch(TestEnvironment env) {
    // The same JSON value written otherwise is a repeat; the stored envelope was read back through a double, so
    // 12345678901234.5670 differed from the stored 12345678901234.567 (read as ...4568E13): a 409 naming
    // /body/quantity for the phone's own report.
    UUID m = milestone(env);
    UUID id = UUID.randomUUID();
    String sent = progress(id, m, 7).encode().replace("\"quantity\":7", "\"quantity\":12345678901234.567");
    HttpResponse<Buffer> created = postText(env, "officer.zhang", "/v1/reports", sent);
    assertThat(created.statusCode()).as(created.bodyAsString()).isEqualTo(201);
    String otherwise = sent.replace("12345678901234.567", "12345678901234.5670");
    HttpResponse<Buffer> repeat = postText(env, "officer.zhang", "/v1/reports", otherwise);
    assertThat(repeat.statusCode()).as(repeat.bodyAsString()).isEqualTo(200);
    assertThat(repeat.bodyAsString()).isEqualTo(created.bodyAsString());
    JsonObject item = ok(postText(env, "officer.zhang", "/v1/reports/batch", "{\"reports\":[" + otherwise + "]}"),
        200).getJsonArray("results").getJsonObject(0);
    assertThat(item.getString("status")).as(item.encode()).isEqualTo("duplicate");
    // A different quantity is still a conflict naming it.
    JsonObject p = assertProblem(postText(env, "officer.zhang", "/v1/reports",
        sent.replace("12345678901234.567", "12345678901234.568")), 409, CONFLICT);
    assertThat(p.getJsonArray("differences")).containsExactly("/body/quantity");
    assertThat(env.count("SELECT count(*) FROM milestone_progress WHERE milestone_id = ?", m)).isEqualTo(1);
  }

  @Test
  void aQuantityBeyondWhatIsStoredIs400NamingItAloneAndInABatch(TestEnvironment env) throws Exception {
    UUID m = milestone(env);
    String tooLarge = progress(UUID.randomUUID(), m, 7).encode().replace("\"quantity\":7", "\"quantity\":%s");
    for (String q : List.of("1e300", "1e400", "99999999999999999999", "1.0e16")) {
      UUID id = UUID.randomUUID();
      String json = String.format(tooLarge, q).replaceFirst("\"id\":\"[^\"]+\"", "\"id\":\"" + id + "\"");
      JsonObject p = assertProblem(postText(env, "officer.zhang", "/v1/reports", json), 400,
          "urn:frontline:problem:validation-failed");
      assertThat(p.getJsonArray("errors").stream().map(e -> ((JsonObject) e).getString("field"))).as(q)
          .contains("body/body/quantity");
      assertThat(env.count("SELECT count(*) FROM report WHERE id = ?", id)).isZero();
    }
    UUID precise = UUID.randomUUID();
    JsonObject p = assertProblem(post(env, "officer.zhang", "/v1/reports", progress(precise, m, 2.0001)), 422,
        UNPROCESSABLE);
    assertThat(field(p)).isEqualTo("body/body/quantity");
    assertThat(env.count("SELECT count(*) FROM report WHERE id = ?", precise)).isZero();
    UUID before = UUID.randomUUID();
    UUID after = UUID.randomUUID();
    String batch = "{\"reports\":[" + progress(before, m, 2).encode() + "," + String.format(tooLarge, "1e300") + ","
        + progress(after, m, 3).encode() + "]}";
    JsonArray results = ok(postText(env, "officer.zhang", "/v1/reports/batch", batch), 200).getJsonArray("results");
    assertThat(results.stream().map(r -> ((JsonObject) r).getInteger("httpStatus")).toList())
        .containsExactly(201, 400, 201);
    assertThat(results.getJsonObject(1).getJsonObject("problem").getJsonArray("errors").encode())
        .contains("\"field\":\"body/body/quantity\"");
    assertThat(env.string("SELECT string_agg(quantity::text, ',' ORDER BY quantity) FROM milestone_progress"
        + " WHERE milestone_id = ?", m)).isEqualTo("2.000,3.000");
  }

  @Test
  void aServiceReportResolvingAnApprovalRecordsTheDaysSavedAsTheTransitionEndpointDoes(TestEnvironment env) {
    UUID[] approval = huaisiRequest(env, "APPROVAL");
    ok(post(env, "supervisor.hanjiang", "/v1/service-requests/" + approval[1] + "/transitions",
        new JsonObject().put("to", "COORDINATING").put("department", "Administrative approval bureau")), 200);
    ok(post(env, "officer.xu", "/v1/reports", service(UUID.randomUUID(), approval[0], approval[1],
        List.of("Licence issued"), new JsonObject().put("to", "RESOLVED").put("evidence", "Licence 2026-77")
            .put("approvalDaysSaved", 13))), 201);
    assertThat(env.string("SELECT status || '|' || approval_days_saved FROM service_request WHERE id = ?",
        approval[1])).isEqualTo("RESOLVED|13");
    assertThat(ok(get(env, "officer.xu", "/v1/service-requests/" + approval[1]), 200)
        .getInteger("approvalDaysSaved")).isEqualTo(13);

    // Not an APPROVAL request: 422 naming the field, as the transitions endpoint answers; nothing stored.
    UUID[] land = huaisiRequest(env);
    ok(post(env, "supervisor.hanjiang", "/v1/service-requests/" + land[1] + "/transitions",
        new JsonObject().put("to", "COORDINATING").put("department", "Natural resources bureau")), 200);
    UUID report = UUID.randomUUID();
    JsonObject p = assertProblem(post(env, "officer.xu", "/v1/reports", service(report, land[0], land[1],
        List.of("Land allocated"), new JsonObject().put("to", "RESOLVED").put("evidence", "Notice 2026-118")
            .put("approvalDaysSaved", 13))), 422, UNPROCESSABLE);
    assertThat(field(p)).isEqualTo("body/body/advanceTo/approvalDaysSaved");
    assertThat(env.count("SELECT count(*) FROM report WHERE id = ?", report)).isZero();
    assertThat(env.string("SELECT status FROM service_request WHERE id = ?", land[1])).isEqualTo("COORDINATING");
  }

  /** A Huaisi enterprise with one RECEIVED LAND request; returns {enterprise, request}. */
  static UUID[] huaisiRequest(TestEnvironment env) {
    return huaisiRequest(env, "LAND");
  }

  static UUID[] huaisiRequest(TestEnvironment env, String category) {
    JsonObject enterprise = ok(post(env, "supervisor.hanjiang", "/v1/enterprises",
        EnterprisesApiTestAccess.enterprise(HUAISI)), 201);
    JsonObject request = ok(post(env, "supervisor.hanjiang", "/v1/enterprises/" + enterprise.getString("id")
        + "/service-requests", new JsonObject().put("category", category).put("description", "Land for a workshop")
        .put("responsibleOfficerId", account("officer.xu").toString())), 201);
    return new UUID[] {UUID.fromString(enterprise.getString("id")), UUID.fromString(request.getString("id"))};
  }

  static JsonObject service(UUID id, UUID enterprise, UUID request, List<String> actions, JsonObject advance) {
    JsonObject body = new JsonObject().put("enterpriseId", enterprise.toString())
        .put("serviceRequestId", request.toString()).put("actionsTaken", new JsonArray(actions));
    if (advance != null) {
      body.put("advanceTo", advance);
    }
    return envelope(id, "ENTERPRISE_SERVICE", HUAISI, body);
  }

  @Test
  void aServiceReportAppendsItsActionsAndMovesTheRequestOnOnce(TestEnvironment env) {
    UUID[] er = huaisiRequest(env);
    UUID report = UUID.randomUUID();
    JsonObject envelope = service(report, er[0], er[1], List.of("Met the land bureau", "Site survey booked"),
        new JsonObject().put("to", "COORDINATING").put("department", "Natural resources bureau"));
    ok(post(env, "officer.xu", "/v1/reports", envelope), 201);
    JsonObject request = ok(get(env, "officer.xu", "/v1/service-requests/" + er[1]), 200);
    assertThat(request.getString("status")).isEqualTo("COORDINATING");
    assertThat(request.getJsonArray("steps")).hasSize(1);
    assertThat(request.getJsonArray("steps").getJsonObject(0).getString("department"))
        .isEqualTo("Natural resources bureau");
    assertThat(request.getJsonArray("actions").stream().map(a -> ((JsonObject) a).getString("action")).toList())
        .containsExactly("Met the land bureau", "Site survey booked");
    assertThat(request.getJsonArray("actions").getJsonObject(0).getString("reportId")).isEqualTo(report.toString());

    // The repeat changes nothing.
    assertThat(post(env, "officer.xu", "/v1/reports", envelope).statusCode()).isEqualTo(200);
    assertThat(env.count("SELECT count(*) FROM service_request_action WHERE service_request_id = ?", er[1]))
        .isEqualTo(2);
    assertThat(env.count("SELECT count(*) FROM service_request_step WHERE service_request_id = ?", er[1]))
        .isEqualTo(1);

    // Actions alone leave the status as it is.
    ok(post(env, "officer.xu", "/v1/reports", service(UUID.randomUUID(), er[0], er[1], List.of("Called back"),
        null)), 201);
    assertThat(env.string("SELECT status FROM service_request WHERE id = ?", er[1])).isEqualTo("COORDINATING");
    assertThat(env.count("SELECT count(*) FROM service_request_action WHERE service_request_id = ?", er[1]))
        .isEqualTo(3);

    // An illegal move: 409 listing the allowed ones, nothing stored.
    String before = env.string("SELECT row_to_json(t)::text FROM service_request t WHERE id = ?", er[1]);
    UUID illegal = UUID.randomUUID();
    JsonObject p = assertProblem(post(env, "officer.xu", "/v1/reports", service(illegal, er[0], er[1],
        List.of("Asked for a rating"), new JsonObject().put("to", "CLOSED").put("satisfaction", 5))), 409, CONFLICT);
    assertThat(p.getString("currentStatus")).isEqualTo("COORDINATING");
    assertThat(p.getJsonArray("allowed")).isEqualTo(new JsonArray().add("COORDINATING").add("RESOLVED"));
    assertThat(env.count("SELECT count(*) FROM report WHERE id = ?", illegal)).isZero();
    assertThat(env.count("SELECT count(*) FROM service_request_action WHERE report_id = ?", illegal)).isZero();
    assertThat(env.string("SELECT row_to_json(t)::text FROM service_request t WHERE id = ?", er[1])).isEqualTo(before);

    // A move without its field: 422 naming it under advanceTo.
    p = assertProblem(post(env, "officer.xu", "/v1/reports", service(UUID.randomUUID(), er[0], er[1],
        List.of("Resolved"), new JsonObject().put("to", "RESOLVED"))), 422, UNPROCESSABLE);
    assertThat(field(p)).isEqualTo("body/body/advanceTo/evidence");

    ok(post(env, "officer.xu", "/v1/reports", service(UUID.randomUUID(), er[0], er[1], List.of("Land allocated"),
        new JsonObject().put("to", "RESOLVED").put("evidence", "Allocation notice 2026-118"))), 201);
    assertThat(env.string("SELECT status || '|' || evidence FROM service_request WHERE id = ?", er[1]))
        .isEqualTo("RESOLVED|Allocation notice 2026-118");
  }

  /**
   * A service report queued offline records its actions and its move at the time the officer did them (its
   * capture), not at its receipt days later, so the request's time to resolution is its own. A capture before what
   * the request already records is recorded just after it (the history stays in the order it was recorded); one
   * ahead of the server's clock, at its receipt.
   */
  @Test
  void aServiceReportQueuedOfflineRecordsItsActionsAndMoveAtItsCaptureTime(TestEnvironment env) throws Exception {
    UUID[] er = huaisiRequest(env);
    try (var c = env.jdbc(); var st = c.prepareStatement(
        "UPDATE service_request SET received_at = now() - interval '7 days' WHERE id = ?")) {
      st.setObject(1, er[1]);
      assertThat(st.executeUpdate()).isEqualTo(1); // received a week ago
    }
    java.time.Instant now = java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    UUID coordinated = UUID.randomUUID();
    JsonObject first = service(coordinated, er[0], er[1], List.of("Met the land bureau"),
        new JsonObject().put("to", "COORDINATING").put("department", "Natural resources bureau"));
    String threeDaysAgo = now.minus(java.time.Duration.ofDays(3)).toString();
    ok(post(env, "officer.xu", "/v1/reports", first.put("capturedAt", threeDaysAgo)), 201);
    String sql = "SELECT count(*) FROM service_request_action WHERE report_id = ? AND at = ?::timestamptz";
    assertThat(env.count(sql, coordinated, threeDaysAgo)).isEqualTo(1);
    assertThat(env.count("SELECT count(*) FROM service_request_step WHERE service_request_id = ? AND seq = 1"
        + " AND at = ?::timestamptz", er[1], threeDaysAgo)).isEqualTo(1);

    // Captured before the step just recorded (queued longer, or a clock behind): recorded right after it.
    UUID behind = UUID.randomUUID();
    ok(post(env, "officer.xu", "/v1/reports", service(behind, er[0], er[1], List.of("Called back"), null)
        .put("capturedAt", now.minus(java.time.Duration.ofDays(5)).toString())), 201);
    assertThat(env.count(sql, behind, now.minus(java.time.Duration.ofDays(3)).plusNanos(1_000).toString()))
        .isEqualTo(1);

    // Captured two days ahead of the server (a clock ahead): resolved at its receipt.
    java.time.Instant sent = java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MICROS);
    UUID resolved = UUID.randomUUID();
    ok(post(env, "officer.xu", "/v1/reports", service(resolved, er[0], er[1], List.of("Land allocated"),
        new JsonObject().put("to", "RESOLVED").put("evidence", "Allocation notice 2026-119"))
        .put("capturedAt", now.plus(java.time.Duration.ofDays(2)).toString())), 201);
    assertThat(env.count("SELECT count(*) FROM service_request WHERE id = ? AND resolved_at >= ?::timestamptz"
        + " AND resolved_at <= now()", er[1], sent.toString())).isEqualTo(1);
    assertThat(env.count("SELECT count(*) FROM service_request_action a JOIN service_request r"
        + " ON r.id = a.service_request_id WHERE a.report_id = ? AND a.at = r.resolved_at", resolved)).isEqualTo(1);

    JsonObject request = ok(get(env, "officer.xu", "/v1/service-requests/" + er[1]), 200);
    assertThat(request.getJsonArray("actions").stream().map(a -> ((JsonObject) a).getString("action")).toList())
        .containsExactly("Met the land bureau", "Called back", "Land allocated");
    assertThat(java.time.Instant.parse(request.getJsonArray("steps").getJsonObject(0).getString("at")))
        .isEqualTo(java.time.Instant.parse(threeDaysAgo));
    // Their audit entries record those times, not the entries' own (the report's receipt).
    assertThat(env.string("SELECT string_agg(e.action || '@' || ((e.details ->> 'at')::timestamptz"
        + " IN (SELECT at FROM service_request_step WHERE service_request_id = ? UNION"
        + " SELECT at FROM service_request_action WHERE service_request_id = ?)), ',' ORDER BY e.seq)"
        + " FROM audit_log e WHERE e.object_id = ? AND e.action IN ('service-request.actions',"
        + " 'service-request.transition')", er[1], er[1], er[1].toString()))
        .isEqualTo("service-request.actions@true,service-request.transition@true,service-request.actions@true,"
            + "service-request.actions@true,service-request.transition@true");
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE object_id = ? AND action = 'service-request.transition'"
        + " AND (details ->> 'at')::timestamptz = ?::timestamptz", er[1].toString(), threeDaysAgo)).isEqualTo(1);
  }

  @Test
  void aServiceReportBringingInADepartmentAlreadyInIs409AndNotStored(TestEnvironment env) {
    UUID[] er = huaisiRequest(env);
    JsonObject land = new JsonObject().put("to", "COORDINATING").put("department", "Natural resources bureau");
    ok(post(env, "supervisor.hanjiang", "/v1/service-requests/" + er[1] + "/transitions", land), 200);
    UUID report = UUID.randomUUID();
    JsonObject p = assertProblem(post(env, "officer.xu", "/v1/reports", service(report, er[0], er[1],
        List.of("Met the land bureau again"), land)), 409, CONFLICT);
    assertThat(p.getString("currentStatus")).isEqualTo("COORDINATING");
    assertThat(env.count("SELECT count(*) FROM report WHERE id = ?", report)).isZero();
    assertThat(env.count("SELECT count(*) FROM service_request_action WHERE service_request_id = ?", er[1])).isZero();
    assertThat(env.count("SELECT count(*) FROM service_request_step WHERE service_request_id = ?", er[1]))
        .isEqualTo(1);
  }

  @Test
  void aServiceReportOnAClosedRequestIs409AloneAndInABatchWhileARepeatAnswersAsBefore(TestEnvironment env) {
    UUID[] er = huaisiRequest(env);
    String path = "/v1/service-requests/" + er[1] + "/transitions";
    ok(post(env, "officer.xu", path, new JsonObject().put("to", "COORDINATING").put("department", "Land bureau")), 200);
    ok(post(env, "officer.xu", path, new JsonObject().put("to", "RESOLVED").put("evidence", "Notice 2026-118")), 200);
    // Resolved, not closed: actions (e.g. asking for the rating) are still taken.
    UUID beforeClosing = UUID.randomUUID();
    JsonObject stored = service(beforeClosing, er[0], er[1], List.of("Asked for a rating"), null);
    ok(post(env, "officer.xu", "/v1/reports", stored), 201);
    ok(post(env, "officer.xu", path, new JsonObject().put("to", "CLOSED").put("satisfaction", 4)), 200);
    String closed = env.string("SELECT row_to_json(t)::text FROM service_request t WHERE id = ?", er[1]);

    // Appended after the enterprise rated it: the record changed after the fact (201 before).
    UUID after = UUID.randomUUID();
    JsonObject p = assertProblem(post(env, "officer.xu", "/v1/reports", service(after, er[0], er[1],
        List.of("Followed up"), null)), 409, CONFLICT);
    assertThat(p.getString("currentStatus")).isEqualTo("CLOSED");
    assertThat(p.getJsonArray("allowed")).isEmpty();
    JsonArray results = ok(post(env, "officer.xu", "/v1/reports/batch", new JsonObject().put("reports",
        new JsonArray().add(service(UUID.randomUUID(), er[0], er[1], List.of("Followed up"), null)))), 200)
        .getJsonArray("results");
    assertThat(results.getJsonObject(0).getInteger("httpStatus")).isEqualTo(409);
    assertThat(results.getJsonObject(0).getJsonObject("problem").getString("currentStatus")).isEqualTo("CLOSED");
    assertThat(env.count("SELECT count(*) FROM report WHERE id = ?", after)).isZero();
    assertThat(env.count("SELECT count(*) FROM report r WHERE r.body ->> 'serviceRequestId' = ?", er[1].toString()))
        .isEqualTo(1);
    assertThat(env.count("SELECT count(*) FROM service_request_action WHERE service_request_id = ?", er[1]))
        .isEqualTo(1);
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'service-request.actions' AND object_id = ?",
        er[1].toString())).isEqualTo(1);
    assertThat(env.string("SELECT row_to_json(t)::text FROM service_request t WHERE id = ?", er[1])).isEqualTo(closed);

    // The report stored before the closing still answers its repeat as before.
    assertThat(post(env, "officer.xu", "/v1/reports", stored).statusCode()).isEqualTo(200);
  }

  @Test
  void aServiceReportAboutAnEnterpriseAboveOrBesideItsUnitIs422SoItsReadersCoverTheEnterprise(TestEnvironment env) {
    // A supervisor of Huaisi only: reads Huaisi's reports, not Hanjiang's enterprises.
    String username = "supervisor.huaisi." + Integer.toHexString(new java.util.Random().nextInt(1 << 24));
    ok(post(env, "admin", "/v1/accounts", new JsonObject().put("username", username).put("displayName", "槐泗 Huaisi")
        .put("roles", new JsonArray().add("supervisor")).put("homeUnitId", HUAISI.toString())
        .put("password", "Field-work-2026")), 201);
    String huaisiSupervisor = ok(await(env.client().post("/v1/auth/login").sendJsonObject(new JsonObject()
        .put("username", username).put("password", "Field-work-2026"))), 200).getString("access_token");

    // A Hanjiang (district) enterprise and request; supervisor.hanjiang covers Hanjiang and Huaisi below it.
    JsonObject enterprise = ok(post(env, "supervisor.hanjiang", "/v1/enterprises",
        EnterprisesApiTestAccess.enterprise(HANJIANG)), 201);
    UUID enterpriseId = UUID.fromString(enterprise.getString("id"));
    UUID requestId = UUID.fromString(ok(post(env, "supervisor.hanjiang", "/v1/enterprises/" + enterpriseId
        + "/service-requests", new JsonObject().put("category", "FINANCING").put("description", "Credit line")
        .put("responsibleOfficerId", account("supervisor.hanjiang").toString())), 201).getString("id"));
    assertThat(await(env.client().get("/v1/enterprises/" + enterpriseId)
        .putHeader("Authorization", "Bearer " + huaisiSupervisor).send()).statusCode()).isEqualTo(404);

    // Filed under Huaisi, the Huaisi supervisor would have read its actions and evidence (201 before).
    UUID report = UUID.randomUUID();
    JsonObject underHuaisi = service(report, enterpriseId, requestId, List.of("Bank meeting"),
        new JsonObject().put("to", "COORDINATING").put("department", "Financial office"));
    JsonObject p = assertProblem(post(env, "supervisor.hanjiang", "/v1/reports", underHuaisi), 422, UNPROCESSABLE);
    assertThat(field(p)).isEqualTo("body/body/enterpriseId");
    JsonArray results = ok(post(env, "supervisor.hanjiang", "/v1/reports/batch", new JsonObject().put("reports",
        new JsonArray().add(service(UUID.randomUUID(), enterpriseId, requestId, List.of("Bank meeting"), null)))),
        200).getJsonArray("results");
    assertThat(results.getJsonObject(0).getInteger("httpStatus")).isEqualTo(422);
    assertThat(field(results.getJsonObject(0).getJsonObject("problem"))).isEqualTo("body/body/enterpriseId");
    assertThat(env.count("SELECT count(*) FROM report WHERE id = ?", report)).isZero();
    assertThat(env.count("SELECT count(*) FROM service_request_action WHERE service_request_id = ?", requestId))
        .isZero();
    assertThat(env.string("SELECT status FROM service_request WHERE id = ?", requestId)).isEqualTo("RECEIVED");
    assertThat(await(env.client().get("/v1/reports/" + report)
        .putHeader("Authorization", "Bearer " + huaisiSupervisor).send()).statusCode()).isEqualTo(404);

    // Under the enterprise's own unit it is taken; so is a Huaisi enterprise's report filed under Hanjiang.
    ok(post(env, "supervisor.hanjiang", "/v1/reports", underHuaisi.copy().put("unitId", HANJIANG.toString())), 201);
    assertThat(env.string("SELECT status FROM service_request WHERE id = ?", requestId)).isEqualTo("COORDINATING");
    UUID[] er = huaisiRequest(env);
    ok(post(env, "supervisor.hanjiang", "/v1/reports", service(UUID.randomUUID(), er[0], er[1], List.of("Visited"),
        null).put("unitId", HANJIANG.toString())), 201);
    assertThat(env.count("SELECT count(*) FROM service_request_action WHERE service_request_id = ?", er[1]))
        .isEqualTo(1);
  }

  /** A milestone of a project of {@code unit}, made by supervisor.hanjiang (Hanjiang and Huaisi below it). */
  static UUID hanjiangMilestone(TestEnvironment env, UUID unit) {
    JsonObject project = ok(post(env, "supervisor.hanjiang", "/v1/projects", new JsonObject()
        .put("unitId", unit.toString()).put("name", "Canal embankment").put("investmentYuan", 1000)
        .put("site", new JsonObject().put("lat", 32.42).put("lon", 119.45).put("radiusM", 2500))
        .put("status", "IN_PROGRESS")), 201);
    return UUID.fromString(ok(post(env, "supervisor.hanjiang", "/v1/projects/" + project.getString("id")
        + "/milestones", new JsonObject().put("name", "Embankment").put("plannedQuantity", 10).put("unit", "km")
        .put("plannedStart", "2026-11-01").put("plannedDue", "2027-03-01")), 201).getString("id"));
  }

  @Test
  void aProgressReportOnAProjectAboveOrBesideItsUnitIs422SoItsReadersCoverTheProject(TestEnvironment env) {
    // A Hanjiang (district) project: filed under Huaisi (town), Huaisi's readers would have read the report that
    // moved the district project's figures, while the project was 404 to them (201 before).
    UUID m = hanjiangMilestone(env, HANJIANG);
    UUID report = UUID.randomUUID();
    JsonObject underHuaisi = progress(report, m, 3).put("unitId", HUAISI.toString());
    JsonObject p = assertProblem(post(env, "supervisor.hanjiang", "/v1/reports", underHuaisi), 422, UNPROCESSABLE);
    assertThat(field(p)).isEqualTo("body/body/milestoneId");
    UUID batched = UUID.randomUUID();
    JsonArray results = ok(post(env, "supervisor.hanjiang", "/v1/reports/batch", new JsonObject().put("reports",
        new JsonArray().add(progress(batched, m, 3).put("unitId", HUAISI.toString())))), 200)
        .getJsonArray("results");
    assertThat(results.getJsonObject(0).getInteger("httpStatus")).isEqualTo(422);
    assertThat(field(results.getJsonObject(0).getJsonObject("problem"))).isEqualTo("body/body/milestoneId");
    assertThat(env.count("SELECT count(*) FROM report WHERE id IN (?, ?)", report, batched)).isZero();
    assertThat(env.count("SELECT count(*) FROM milestone_progress WHERE milestone_id = ?", m)).isZero();

    // Under the project's own unit it is taken; so is a Huaisi project's report filed under Hanjiang.
    ok(post(env, "supervisor.hanjiang", "/v1/reports", underHuaisi.copy().put("unitId", HANJIANG.toString())), 201);
    assertThat(env.string("SELECT string_agg(quantity::text || ':' || report_id, ',') FROM milestone_progress"
        + " WHERE milestone_id = ?", m)).isEqualTo("3.000:" + report);
    UUID town = hanjiangMilestone(env, HUAISI);
    UUID above = UUID.randomUUID();
    ok(post(env, "supervisor.hanjiang", "/v1/reports", progress(above, town, 2).put("unitId", HANJIANG.toString())),
        201);
    assertThat(env.string("SELECT string_agg(quantity::text || ':' || report_id, ',') FROM milestone_progress"
        + " WHERE milestone_id = ?", town)).isEqualTo("2.000:" + above);
  }

  @Test
  void aLinkedIdEndingInALineBreakIs400NamingItAloneAndInABatchNever500(TestEnvironment env) {
    // "<uuid>\n" passes the contract's pattern and format (java.util.regex '$'); UUID.fromString threw: a 500.
    UUID[] er = huaisiRequest(env);
    UUID milestone = milestone(env);
    record Case(String user, JsonObject envelope, String field) {}
    List<Case> cases = List.of(
        new Case("officer.xu", service(UUID.randomUUID(), er[0], er[1], List.of("Visited"), null), "enterpriseId"),
        new Case("officer.xu", service(UUID.randomUUID(), er[0], er[1], List.of("Visited"), null), "serviceRequestId"),
        new Case("officer.zhang", progress(UUID.randomUUID(), milestone, 1), "milestoneId"));
    for (Case c : cases) {
      JsonObject body = c.envelope().getJsonObject("body");
      body.put(c.field(), body.getString(c.field()) + "\n");
      JsonObject p = assertProblem(post(env, c.user(), "/v1/reports", c.envelope()), 400,
          "urn:frontline:problem:validation-failed");
      assertThat(p.getJsonArray("errors").stream().map(e -> ((JsonObject) e).getString("field"))).as(p.encode())
          .contains("body/body/" + c.field());
      JsonObject item = ok(post(env, c.user(), "/v1/reports/batch", new JsonObject().put("reports",
          new JsonArray().add(c.envelope().copy().put("id", UUID.randomUUID().toString())))), 200)
          .getJsonArray("results").getJsonObject(0);
      assertThat(item.getInteger("httpStatus")).as(c.field()).isEqualTo(400);
      assertThat(item.getJsonObject("problem").getJsonArray("errors").stream()
          .map(e -> ((JsonObject) e).getString("field"))).contains("body/body/" + c.field());
      assertThat(env.count("SELECT count(*) FROM report WHERE id = ?", UUID.fromString(c.envelope().getString("id"))))
          .isZero();
    }
    assertThat(env.count("SELECT count(*) FROM service_request_action WHERE service_request_id = ?", er[1])).isZero();
    assertThat(env.count("SELECT count(*) FROM milestone_progress WHERE milestone_id = ?", milestone)).isZero();
  }

  /**
   * An action of only spaces (U+3000, a no-break space) is the schema's 400 naming it, alone and in a batch: no
   * report, nothing appended to the request, which stays where it was. It was appended to the request's actions
   * (201), a step of its handling that shows nothing.
   */
  @Test
  void aBlankActionIs400NamingItAloneAndInABatchAndAppendsNothing(TestEnvironment env) {
    UUID[] er = huaisiRequest(env);
    UUID id = UUID.randomUUID();
    JsonObject blank = service(id, er[0], er[1], List.of("Met the land bureau", "\u3000\u00a0"),
        new JsonObject().put("to", "COORDINATING").put("department", "Natural resources bureau"));
    JsonObject p = assertProblem(post(env, "officer.xu", "/v1/reports", blank), 400,
        "urn:frontline:problem:validation-failed");
    assertThat(p.getJsonArray("errors").stream().map(e -> ((JsonObject) e).getString("field")))
        .containsExactly("body/body/actionsTaken/1");
    UUID inBatch = UUID.randomUUID();
    JsonObject item = ok(post(env, "officer.xu", "/v1/reports/batch", new JsonObject().put("reports",
        new JsonArray().add(blank.copy().put("id", inBatch.toString())))), 200).getJsonArray("results")
        .getJsonObject(0);
    assertThat(item.getInteger("httpStatus")).isEqualTo(400);
    assertThat(field(item.getJsonObject("problem"))).isEqualTo("body/body/actionsTaken/1");
    assertThat(env.count("SELECT count(*) FROM report WHERE id IN (?, ?)", id, inBatch)).isZero();
    assertThat(env.count("SELECT count(*) FROM service_request_action WHERE service_request_id = ?", er[1]))
        .isZero();
    assertThat(env.string("SELECT status FROM service_request WHERE id = ?", er[1])).isEqualTo("RECEIVED");
  }

  @Test
  void wrongMissingOrOutOfScopeEnterpriseLinksAre422NamingTheField(TestEnvironment env) {
    UUID[] er = huaisiRequest(env);
    UUID[] other = huaisiRequest(env);
    JsonObject tongzhou = ok(post(env, "supervisor.tongzhou", "/v1/enterprises",
        EnterprisesApiTestAccess.enterprise(TONGZHOU)), 201);
    UUID tongzhouId = UUID.fromString(tongzhou.getString("id"));
    JsonObject tongzhouRequest = ok(post(env, "supervisor.tongzhou", "/v1/enterprises/" + tongzhouId
        + "/service-requests", new JsonObject().put("category", "OTHER").put("description", "Power supply")
        .put("responsibleOfficerId", account("officer.zhang").toString())), 201);
    UUID tongzhouRequestId = UUID.fromString(tongzhouRequest.getString("id"));

    record Case(UUID enterprise, UUID request, String field) {}
    List<Case> cases = List.of(
        new Case(UUID.randomUUID(), er[1], "body/body/enterpriseId"),
        new Case(er[0], UUID.randomUUID(), "body/body/serviceRequestId"),
        new Case(er[0], other[1], "body/body/serviceRequestId"),          // another enterprise's request
        new Case(tongzhouId, tongzhouRequestId, "body/body/enterpriseId"), // out of officer.xu's scope
        new Case(er[0], tongzhouRequestId, "body/body/serviceRequestId"));
    for (Case c : cases) {
      UUID id = UUID.randomUUID();
      JsonObject p = assertProblem(post(env, "officer.xu", "/v1/reports", service(id, c.enterprise(), c.request(),
          List.of("Visited"), null)), 422, UNPROCESSABLE);
      assertThat(field(p)).as(c.toString()).isEqualTo(c.field());
      assertThat(env.count("SELECT count(*) FROM report WHERE id = ?", id)).isZero();
    }
    assertThat(env.count("SELECT count(*) FROM service_request_action WHERE service_request_id IN (?, ?, ?)",
        er[1], other[1], tongzhouRequestId)).isZero();

    // In a batch, the same 422 per item.
    JsonArray results = ok(post(env, "officer.xu", "/v1/reports/batch", new JsonObject().put("reports",
        new JsonArray().add(service(UUID.randomUUID(), er[0], other[1], List.of("Visited"), null))
            .add(service(UUID.randomUUID(), er[0], er[1], List.of("Visited"), null)))), 200)
        .getJsonArray("results");
    assertThat(results.getJsonObject(0).getInteger("httpStatus")).isEqualTo(422);
    assertThat(field(results.getJsonObject(0).getJsonObject("problem"))).isEqualTo("body/body/serviceRequestId");
    assertThat(results.getJsonObject(1).getInteger("httpStatus")).isEqualTo(201);
    assertThat(env.count("SELECT count(*) FROM service_request_action WHERE service_request_id = ?", er[1]))
        .isEqualTo(1);
  }

  /**
   * A progress report by a supervisor whose scope is one unit, while that unit moves to another city (the report's
   * unit and the project's with it, below it), is stored with its progress. The report's insert waits for the move
   * (its foreign key share-locks the unit, whose unique path the move rewrites); its milestone was then judged against
   * the scope read before that wait, whose path the project's unit no longer matched (a 422 naming
   * body/body/milestoneId).
   */
  @Test
  void aProgressReportSentWhileTheAuthorsOwnUnitMovesIsStored(TestEnvironment env) throws Exception {
    UUID covered = ScopeMoves.unit(env, TONGZHOU);
    ScopeMoves.ScopedCaller supervisor = ScopeMoves.caller(env, covered, "supervisor");
    UUID unit = ScopeMoves.unit(env, covered);
    String project = ok(ScopeMoves.call(env, supervisor.token(), HttpMethod.POST, "/v1/projects", new JsonObject()
        .put("unitId", unit.toString()).put("name", "Moving site").put("investmentYuan", 1000)
        .put("site", new JsonObject().put("lat", 32.06).put("lon", 121.07).put("radiusM", 2500))
        .put("status", "IN_PROGRESS")), 201).getString("id");
    String milestone = ok(ScopeMoves.call(env, supervisor.token(), HttpMethod.POST, "/v1/projects/" + project
        + "/milestones", new JsonObject().put("name", "Utility lines").put("plannedQuantity", 10).put("unit", "lines")
        .put("plannedStart", "2026-11-01").put("plannedDue", "2027-03-01")), 201).getString("id");
    UUID report = UUID.randomUUID();
    ok(ScopeMoves.whileHeld(env, st -> ScopeMoves.move(st, covered, HANJIANG), "%INSERT INTO report%",
        () -> ScopeMoves.call(env, supervisor.token(), HttpMethod.POST, "/v1/reports", envelope(report,
            "MILESTONE_PROGRESS", unit, new JsonObject().put("milestoneId", milestone).put("quantity", 4)))), 201);
    assertThat(env.count("SELECT count(*) FROM milestone_progress WHERE milestone_id = ?::uuid AND report_id = ?",
        milestone, report)).isEqualTo(1);
    assertThat(env.count("SELECT count(*) FROM report WHERE id = ? AND unit_id = ?", report, unit)).isEqualTo(1);
  }

  /**
   * A project handed over, while a progress report about it is sent, to a unit above the report's (both in the
   * author's scope): the report is judged against the project's new unit, 422 naming body/body/milestoneId, nothing
   * stored. The check read the project's unit before the milestone's lock, which the hand-over held, so it passed on
   * the unit the project had left: the report was stored under Huaisi with its progress on a Hanjiang project
   * (201), which Huaisi's readers then read while the project was 404 to them.
   */
  @Test
  void aProgressReportSentWhileItsProjectIsHandedOverIsJudgedAtTheProjectsNewUnit(TestEnvironment env)
      throws Exception {
    UUID m = hanjiangMilestone(env, HUAISI);
    String project = env.string("SELECT project_id FROM milestone WHERE id = ?", m);
    String supervisor = token(env, "supervisor.hanjiang");
    UUID report = UUID.randomUUID();
    // What moveProject writes: the milestones locked first, then the project's unit.
    JsonObject p = assertProblem(ScopeMoves.whileHeld(env, st -> {
      st.execute("SELECT 1 FROM milestone WHERE project_id = '" + project + "' FOR UPDATE");
      st.executeUpdate("UPDATE project SET unit_id = '" + HANJIANG + "' WHERE id = '" + project + "'");
    }, "%FROM milestone WHERE id = $1 FOR UPDATE%", () -> ScopeMoves.call(env, supervisor, HttpMethod.POST,
        "/v1/reports", progress(report, m, 3).put("unitId", HUAISI.toString()))), 422, UNPROCESSABLE);
    assertThat(field(p)).isEqualTo("body/body/milestoneId");
    assertThat(env.count("SELECT count(*) FROM report WHERE id = ?", report)).isZero();
    assertThat(env.count("SELECT count(*) FROM milestone_progress WHERE milestone_id = ?", m)).isZero();
  }

  /**
   * Likewise an enterprise handed over, while a service report about it is sent, to a unit above the report's: 422
   * naming body/body/enterpriseId, no report, no action, the request unmoved. The check read the enterprise's unit
   * without a lock and passed on the unit it had left (201, the actions appended and the request moved on).
   */
  @Test
  void aServiceReportSentWhileItsEnterpriseIsHandedOverIsJudgedAtTheEnterprisesNewUnit(TestEnvironment env)
      throws Exception {
    UUID[] er = huaisiRequest(env);
    String supervisor = token(env, "supervisor.hanjiang");
    UUID report = UUID.randomUUID();
    // What moveEnterprise writes: the enterprise locked, its unit changed, its open requests' alert state cleared.
    JsonObject p = assertProblem(ScopeMoves.whileHeld(env, st -> {
      st.execute("SELECT 1 FROM enterprise WHERE id = '" + er[0] + "' FOR UPDATE");
      st.executeUpdate("UPDATE enterprise SET unit_id = '" + HANJIANG + "' WHERE id = '" + er[0] + "'");
      st.executeUpdate("UPDATE service_request SET overdue_alerted_at = NULL WHERE enterprise_id = '" + er[0] + "'");
    }, "%WHERE id = $1 FOR %", () -> ScopeMoves.call(env, supervisor, HttpMethod.POST, "/v1/reports",
        service(report, er[0], er[1], List.of("Land bureau visit"),
            new JsonObject().put("to", "COORDINATING").put("department", "Natural resources bureau")))),
        422, UNPROCESSABLE);
    assertThat(field(p)).isEqualTo("body/body/enterpriseId");
    assertThat(env.count("SELECT count(*) FROM report WHERE id = ?", report)).isZero();
    assertThat(env.count("SELECT count(*) FROM service_request_action WHERE service_request_id = ?", er[1]))
        .isZero();
    assertThat(env.string("SELECT status FROM service_request WHERE id = ?", er[1])).isEqualTo("RECEIVED");
  }
}
