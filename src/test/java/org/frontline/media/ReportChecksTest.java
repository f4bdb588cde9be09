package org.frontline.media;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.dev.DemoOrganisation;
import org.frontline.evidence.ReportChecksVerticle;
import org.frontline.notify.AlertMetricsTest;
import org.frontline.testing.Waits;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.StoreHttp;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.testing.TestEnvironment.await;

/**
 * The report-level evidence checks (mock location, capturedAt vs receipt) of reports without photos, run by the
 * workers deployed in the service (ReportChecksVerticle): recorded, flagged, alerted and listed as for a report's
 * first photo, once per report whatever retries and workers race; reports with photos keep getting them with
 * their first photo.
 */
@FrontlineTest
class ReportChecksTest {
  private static final double LAT = 32.45;
  private static final double LON = 119.43;

  @Test
  void aReportWithoutPhotosFromAMockedLocationIsFlaggedAlertedAndListed(TestEnvironment env) throws Exception {
    device(env, "supervisor.hanjiang", "reportchecks-hanjiang");
    UUID report = UUID.randomUUID();
    Instant captured = Instant.now().minus(2, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.SECONDS);
    created(post(env, "officer.xu", "/v1/reports", site(report, captured, true)));

    awaitChecked(env, report);
    assertThat(reportChecks(env, report)).isEqualTo("CAPTURE_RECEIPT_SKEW PASSED,MOCK_LOCATION FLAGGED");
    assertThat(env.string("SELECT threshold::text FROM evidence_check WHERE report_id = ?"
        + " AND code = 'CAPTURE_RECEIPT_SKEW'", report)).isEqualTo("259200");
    assertThat(env.string("SELECT flagged::text FROM report WHERE id = ?", report)).isEqualTo("true");
    assertThat(env.count("SELECT count(*) FROM outbox WHERE event_type = 'report.evidence-flagged'"
        + " AND aggregate_id = ?", report)).isEqualTo(1);
    JsonObject payload = new JsonObject(env.string("SELECT payload::text FROM outbox"
        + " WHERE event_type = 'report.evidence-flagged' AND aggregate_id = ?", report));
    assertThat(payload.getJsonArray("flags")).containsExactly("MOCK_LOCATION");
    assertThat(payload.getValue("attachmentId")).isNull();
    assertThat(payload.getString("authorId")).isEqualTo(account("officer.xu").toString());

    // The alert, as for a photo's flag: marked as needing attention.
    Waits.until(java.time.Duration.ofSeconds(20), "the flagged alert pushed", () -> env.fcm().requestsFor("reportchecks-hanjiang").stream()
        .anyMatch(r -> "report.evidence-flagged".equals(r.data().getString("eventType"))
            && report.toString().equals(r.data().getString("reportId"))));
    var push = env.fcm().requestsFor("reportchecks-hanjiang").stream()
        .filter(r -> "report.evidence-flagged".equals(r.data().getString("eventType"))
            && report.toString().equals(r.data().getString("reportId"))).toList();
    assertThat(push).hasSize(1);
    assertThat(push.get(0).data().getMap()).containsEntry("attention", "true").containsEntry("flags", "MOCK_LOCATION");

    // Readers see the checks and the flag, and the filter lists it; its author sees neither.
    JsonObject seen = ok(get(env, "supervisor.hanjiang", "/v1/reports/" + report));
    assertThat(seen.getBoolean("flagged")).isTrue();
    JsonObject mock = find(seen.getJsonArray("evidence"), "MOCK_LOCATION");
    assertThat(mock.getString("outcome")).isEqualTo("FLAGGED");
    assertThat(mock.getValue("attachmentId")).isNull();
    assertThat(find(seen.getJsonArray("evidence"), "CAPTURE_RECEIPT_SKEW").getString("outcome")).isEqualTo("PASSED");
    assertThat(ids(get(env, "supervisor.hanjiang", "/v1/reports?hasEvidenceFlags=true&limit=200"))).contains(report);
    assertThat(ids(get(env, "supervisor.hanjiang", "/v1/reports?hasEvidenceFlags=false&limit=200")))
        .doesNotContain(report);
    JsonObject own = ok(get(env, "officer.xu", "/v1/reports/" + report));
    assertThat(own.getJsonArray("evidence")).isEmpty();
    assertThat(own.containsKey("flagged")).isFalse();
  }

  @Test
  void aCleanReportWithoutPhotosGetsPassingChecksAndOneCapturedDaysAgoIsFlagged(TestEnvironment env)
      throws Exception {
    UUID clean = UUID.randomUUID();
    Instant now = Instant.now().minus(1, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.SECONDS);
    created(post(env, "officer.xu", "/v1/reports", site(clean, now, false)));
    UUID old = UUID.randomUUID();
    created(post(env, "officer.xu", "/v1/reports", site(old, now.minus(Duration.ofDays(5)), false)));

    awaitChecked(env, clean);
    assertThat(reportChecks(env, clean)).isEqualTo("CAPTURE_RECEIPT_SKEW PASSED,MOCK_LOCATION PASSED");
    assertThat(env.string("SELECT flagged::text FROM report WHERE id = ?", clean)).isEqualTo("false");
    assertThat(env.count("SELECT count(*) FROM outbox WHERE event_type = 'report.evidence-flagged'"
        + " AND aggregate_id = ?", clean)).isZero();
    JsonObject seen = ok(get(env, "supervisor.hanjiang", "/v1/reports/" + clean));
    assertThat(seen.getBoolean("flagged")).isFalse();
    assertThat(seen.getJsonArray("evidence")).hasSize(2);
    assertThat(ids(get(env, "supervisor.hanjiang", "/v1/reports?hasEvidenceFlags=false&limit=200"))).contains(clean);

    awaitChecked(env, old);
    assertThat(reportChecks(env, old)).isEqualTo("CAPTURE_RECEIPT_SKEW FLAGGED,MOCK_LOCATION PASSED");
    assertThat(Double.parseDouble(env.string("SELECT measured FROM evidence_check WHERE report_id = ?"
        + " AND code = 'CAPTURE_RECEIPT_SKEW'", old))).isGreaterThan(4 * 86_400.0);
    assertThat(env.string("SELECT flagged::text FROM report WHERE id = ?", old)).isEqualTo("true");
    assertThat(env.string("SELECT payload->>'flags' FROM outbox WHERE event_type = 'report.evidence-flagged'"
        + " AND aggregate_id = ?", old)).isEqualTo("[\"CAPTURE_RECEIPT_SKEW\"]");
  }

  @Test
  void aReportWithoutPhotosReadsPendingUntilTheCheckerRanAndIsListedAsCleanOnlyThen(TestEnvironment env)
      throws Exception {
    Workers.stopReportChecker(env);
    boolean started = false;
    try {
      UUID report = UUID.randomUUID();
      JsonObject answered = created(post(env, "supervisor.hanjiang", "/v1/reports",
          site(report, Instant.now().minus(1, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.SECONDS), false)));
      // Its author is a reader in scope: the 201 says what a read says, nothing checked yet.
      assertThat(answered.getString("evidenceChecks")).isEqualTo("PENDING");

      JsonObject before = ok(get(env, "supervisor.hanjiang", "/v1/reports/" + report));
      assertThat(before.getJsonArray("evidence")).isEmpty();
      assertThat(before.getBoolean("flagged")).isFalse();
      assertThat(before.getString("evidenceChecks")).isEqualTo("PENDING");
      assertThat(listed(env, "supervisor.hanjiang", "/v1/reports?limit=200", report).getString("evidenceChecks"))
          .isEqualTo("PENDING");
      // Not checked is not clean: in neither filtered list.
      assertThat(ids(get(env, "supervisor.hanjiang", "/v1/reports?hasEvidenceFlags=false&limit=200")))
          .doesNotContain(report);
      assertThat(ids(get(env, "supervisor.hanjiang", "/v1/reports?hasEvidenceFlags=true&limit=200")))
          .doesNotContain(report);
      assertThat(env.string("SELECT report_checks_due::text FROM report WHERE id = ?", report)).isEqualTo("true");

      Workers.startReportChecker(env);
      started = true;
      awaitChecked(env, report);
      JsonObject after = ok(get(env, "supervisor.hanjiang", "/v1/reports/" + report));
      assertThat(after.getString("evidenceChecks")).isEqualTo("DONE");
      assertThat(after.getJsonArray("evidence")).hasSize(2);
      assertThat(after.getBoolean("flagged")).isFalse();
      assertThat(ids(get(env, "supervisor.hanjiang", "/v1/reports?hasEvidenceFlags=false&limit=200")))
          .contains(report);
      assertThat(listed(env, "supervisor.hanjiang", "/v1/reports?limit=200", report).getString("evidenceChecks"))
          .isEqualTo("DONE");
      // An officer reading their own report is told nothing of the checks.
      UUID own = UUID.randomUUID();
      created(post(env, "officer.xu", "/v1/reports", site(own, Instant.now().minus(1, ChronoUnit.MINUTES)
          .truncatedTo(ChronoUnit.SECONDS), false)));
      assertThat(ok(get(env, "officer.xu", "/v1/reports/" + own)).containsKey("evidenceChecks")).isFalse();
    } finally {
      if (!started) {
        Workers.startReportChecker(env);
      }
    }
  }

  @Test
  void twoMoreWorkersAtOnceAndARepeatedSubmissionRecordEachReportsChecksOnce(TestEnvironment env) throws Exception {
    List<String> deployed = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      deployed.add(await(env.app().vertx().deployVerticle(new ReportChecksVerticle(env.app().database(),
          new ReportChecksVerticle.Settings(3, Duration.ofMillis(1), Duration.ofMillis(5)), env.app().registry()),
          new DeploymentOptions())));
    }
    try {
      Instant captured = Instant.now().minus(1, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.SECONDS);
      List<UUID> reports = new ArrayList<>();
      JsonArray items = new JsonArray();
      for (int i = 0; i < 40; i++) {
        UUID id = UUID.randomUUID();
        reports.add(id);
        items.add(site(id, captured, i % 2 == 0));
      }
      // The phone's queue flushed, then flushed again (its first answer lost).
      for (int round = 0; round < 2; round++) {
        HttpResponse<Buffer> batch = post(env, "officer.xu", "/v1/reports/batch", new JsonObject().put("reports", items));
        assertThat(batch.statusCode()).as(batch.bodyAsString()).isEqualTo(200);
      }
      for (UUID id : reports) {
        awaitChecked(env, id);
      }
      for (int i = 0; i < reports.size(); i++) {
        UUID id = reports.get(i);
        assertThat(reportChecks(env, id)).isEqualTo("CAPTURE_RECEIPT_SKEW PASSED,MOCK_LOCATION "
            + (i % 2 == 0 ? "FLAGGED" : "PASSED"));
        assertThat(env.count("SELECT count(*) FROM outbox WHERE event_type = 'report.evidence-flagged'"
            + " AND aggregate_id = ?", id)).isEqualTo(i % 2 == 0 ? 1 : 0);
      }
    } finally {
      for (String id : deployed) {
        await(env.app().vertx().undeploy(id));
      }
    }
  }

  @Test
  void aReportWithAPhotoGetsItsReportChecksOnceWithThatPhoto(TestEnvironment env) throws Exception {
    Instant captured = Instant.now().minus(2, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.SECONDS);
    byte[] photo = new ExifSegment().make("Huawei").model("P60")
        .dateTimeOriginal(LocalDateTime.ofInstant(captured, ZoneOffset.ofHours(8))
            .format(DateTimeFormatter.ofPattern("yyyy:MM:dd HH:mm:ss")))
        .offsetTimeOriginal("+08:00").gps(LAT, LON)
        .spliceInto(TestImages.jpeg(TestImages.scene(320, 240, 171), 0.9f));
    UUID report = UUID.randomUUID();
    UUID attachment = UUID.randomUUID();
    created(post(env, "officer.xu", "/v1/reports", site(report, captured, true).put("attachments", new JsonArray()
        .add(new JsonObject().put("id", attachment.toString())
            .put("sha256", HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(photo)))
            .put("size", photo.length).put("contentType", "image/jpeg").put("filename", "IMG")))));
    HttpResponse<Buffer> url = post(env, "officer.xu", "/v1/attachments/" + attachment + "/upload-url", null);
    assertThat(url.statusCode()).as(url.bodyAsString()).isEqualTo(200);
    assertThat(StoreHttp.put(url.bodyAsJsonObject().getString("url"), photo).statusCode()).isEqualTo(200);
    HttpResponse<Buffer> done = post(env, "officer.xu", "/v1/attachments/" + attachment + "/complete", null);
    assertThat(done.statusCode()).as(done.bodyAsString()).isEqualTo(200);

    Waits.until(java.time.Duration.ofSeconds(20), "the photo processed", () -> "DONE".equals(env.string("SELECT media_status FROM attachment"
        + " WHERE id = ?", attachment)));
    assertThat(env.string("SELECT report_checks_due::text FROM report WHERE id = ?", report)).isEqualTo("false");
    assertThat(reportChecks(env, report)).isEqualTo("CAPTURE_RECEIPT_SKEW PASSED,MOCK_LOCATION FLAGGED");
    // Recorded with the photo: the event names it, and there is one.
    assertThat(env.count("SELECT count(*) FROM outbox WHERE event_type = 'report.evidence-flagged'"
        + " AND aggregate_id = ?", report)).isEqualTo(1);
    assertThat(env.string("SELECT payload->>'attachmentId' FROM outbox WHERE event_type = 'report.evidence-flagged'"
        + " AND aggregate_id = ?", report)).isEqualTo(attachment.toString());
  }

  @Test
  void reportsWrittenBeforeTheMigrationAreTakenToo(TestEnvironment env) throws Exception {
    UUID without = UUID.randomUUID();
    UUID with = UUID.randomUUID();
    UUID attachment = UUID.randomUUID();
    UUID failed = UUID.randomUUID();
    UUID failedPhoto = UUID.randomUUID();
    // As V170 leaves older rows (report_checks_due NULL): one without photos, one complete with a photo already
    // processed, whose report-level check was recorded with it, and one whose only photo V162 found FAILED (flagged
    // PHOTO_CHECKS_UNAVAILABLE, no report-level checks). Written directly, in one transaction.
    try (Connection c = env.jdbc()) {
      c.setAutoCommit(false);
      for (UUID id : List.of(without, with, failed)) {
        update(c, "INSERT INTO report (id, author_id, unit_id, type, status, title, captured_at, completed_at, lat,"
            + " lon, location_mock, body, request, request_sha256, response, report_checks_due) SELECT ?,"
            + " (SELECT id FROM account WHERE username = 'officer.xu'), '" + DemoOrganisation.HUAISI + "', 'SITE',"
            + " 'COMPLETE', 'Older', now() - interval '1 minute', now(), " + LAT + ", " + LON + ", true, '{}', '{}',"
            + " sha256('older'::bytea), '{}', NULL", id);
      }
      update(c, "INSERT INTO attachment (id, report_id, ordinal, declared_sha256, declared_size,"
          + " declared_content_type, status, object_key, stored_at, media_status) VALUES ('" + attachment + "', ?, 0,"
          + " sha256('photo'::bytea), 10, 'image/jpeg', 'STORED', 'reportchecks/" + attachment + "', now(), 'DONE')",
          with);
      update(c, "INSERT INTO evidence_check (report_id, code, outcome, detail) VALUES (?, 'MOCK_LOCATION', 'FLAGGED',"
          + " 'the phone reported a mock (simulated) location')", with);
      update(c, "INSERT INTO attachment (id, report_id, ordinal, declared_sha256, declared_size,"
          + " declared_content_type, status, object_key, stored_at, media_status) VALUES ('" + failedPhoto + "', ?, 0,"
          + " sha256('failed'::bytea), 10, 'image/jpeg', 'STORED', 'reportchecks/" + failedPhoto + "', now(), 'FAILED')",
          failed);
      update(c, "INSERT INTO evidence_check (report_id, attachment_id, code, outcome, detail) VALUES (?, '" + failedPhoto
          + "', 'PHOTO_CHECKS_UNAVAILABLE', 'FLAGGED', 'the evidence checks of this photo could not run')", failed);
      update(c, "UPDATE report SET flagged = true WHERE id = ?", failed);
      c.commit();
    }
    awaitChecked(env, without);
    awaitChecked(env, with);
    awaitChecked(env, failed);
    // Flagged and listed, without an alert: older reports checked late are not urgent news (as V162 did).
    assertThat(reportChecks(env, without)).isEqualTo("CAPTURE_RECEIPT_SKEW PASSED,MOCK_LOCATION FLAGGED");
    assertThat(env.string("SELECT flagged::text FROM report WHERE id = ?", without)).isEqualTo("true");
    assertThat(env.count("SELECT count(*) FROM outbox WHERE event_type = 'report.evidence-flagged'"
        + " AND aggregate_id = ?", without)).isZero();
    assertThat(ids(get(env, "supervisor.hanjiang", "/v1/reports?hasEvidenceFlags=true&limit=200"))).contains(without);
    // The one whose photo failed before V162 could compute its report-level checks gets them now.
    assertThat(reportChecks(env, failed)).isEqualTo("CAPTURE_RECEIPT_SKEW PASSED,MOCK_LOCATION FLAGGED");
    assertThat(env.count("SELECT count(*) FROM outbox WHERE event_type = 'report.evidence-flagged'"
        + " AND aggregate_id = ?", failed)).isZero();
    // The one with a photo is left to its photo: nothing added.
    assertThat(reportChecks(env, with)).isEqualTo("MOCK_LOCATION FLAGGED");
    assertThat(env.count("SELECT count(*) FROM outbox WHERE event_type = 'report.evidence-flagged'"
        + " AND aggregate_id = ?", with)).isZero();
  }

  @Test
  void theBacklogGaugesCountTheReportsWaitingForTheChecker(TestEnvironment env) throws Exception {
    Workers.stopReportChecker(env);
    boolean started = false;
    try {
      Instant captured = Instant.now().minus(1, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.SECONDS);
      UUID[] reports = new UUID[3];
      for (int i = 0; i < reports.length; i++) {
        reports[i] = UUID.randomUUID();
        created(post(env, "officer.xu", "/v1/reports", site(reports[i], captured, false)));
      }
      try (Connection c = env.jdbc(); PreparedStatement lock = c.prepareStatement(
          "SELECT id FROM report WHERE id = ANY (?) FOR UPDATE")) {
        // Held by this transaction, the three stay due while a checker runs: its claim skips locked reports.
        c.setAutoCommit(false);
        lock.setArray(1, c.createArrayOf("uuid", reports));
        lock.executeQuery().close();
        Workers.startReportChecker(env);
        started = true;
        // Any other report due is checked at once: the gauges settle on these three.
        Waits.until(java.time.Duration.ofSeconds(20), "the gauge counts the three reports", () -> gauge(env, "frontline.report.checks.pending") == 3);
        assertThat(env.count("SELECT count(*) FROM report WHERE status = 'COMPLETE'"
            + " AND report_checks_due IS NOT FALSE")).isEqualTo(3);
        String metrics = AlertMetricsTest.scrape(env);
        assertThat(metrics).contains("# TYPE frontline_report_checks_pending gauge")
            .contains("# TYPE frontline_report_checks_oldest_pending_age_seconds gauge");
        assertThat(AlertMetricsTest.value(metrics, "frontline_report_checks_pending")).isEqualTo(3);
        assertThat(AlertMetricsTest.value(metrics, "frontline_report_checks_oldest_pending_age_seconds"))
            .isGreaterThan(0);
        c.rollback();
      }
      for (UUID id : reports) {
        awaitChecked(env, id);
      }
      Waits.until(java.time.Duration.ofSeconds(20), "the gauges back to none", () -> gauge(env, "frontline.report.checks.pending") == 0
          && gauge(env, "frontline.report.checks.oldest.pending.age") == 0);
    } finally {
      if (!started) {
        Workers.startReportChecker(env);
      }
    }
  }

  @Test
  void theClaimIsServedFromItsPartialIndex(TestEnvironment env) throws Exception {
    try (Connection c = env.jdbc(); var st = c.createStatement()) {
      st.execute("SET enable_seqscan = off");
      // The generic plan, as the worker's prepared statement gets it.
      st.execute("SET plan_cache_mode = force_generic_plan");
      st.execute("PREPARE due(int) AS SELECT r.id FROM report r WHERE r.status = 'COMPLETE'"
          + " AND r.report_checks_due IS NOT FALSE ORDER BY r.received_at LIMIT $1 FOR NO KEY UPDATE OF r SKIP LOCKED");
      StringBuilder plan = new StringBuilder();
      try (var rs = st.executeQuery("EXPLAIN EXECUTE due(100)")) {
        while (rs.next()) {
          plan.append(rs.getString(1)).append('\n');
        }
      }
      assertThat(plan.toString()).contains("report_checks_due_idx");
    }
  }

  // ---- helpers ----

  private static JsonObject site(UUID id, Instant captured, boolean mock) {
    return new JsonObject().put("id", id.toString()).put("type", "SITE")
        .put("unitId", DemoOrganisation.HUAISI.toString()).put("capturedAt", captured.toString())
        .put("location", new JsonObject().put("lat", LAT).put("lon", LON).put("accuracyM", 10)
            .put("provider", "gps").put("mock", mock))
        .put("title", "Report checks").put("body", new JsonObject());
  }

  /** Waits until a worker has looked at the report (report_checks_due false). */
  private static void awaitChecked(TestEnvironment env, UUID report) throws Exception {
    Waits.until(java.time.Duration.ofSeconds(20), "report " + report + " checked", () -> "false".equals(env.string(
        "SELECT report_checks_due::text FROM report WHERE id = ?", report)));
  }

  /** The report-level checks, "CODE OUTCOME" by code. */
  private static String reportChecks(TestEnvironment env, UUID report) {
    return env.string("SELECT coalesce(string_agg(code || ' ' || outcome, ',' ORDER BY code), '')"
        + " FROM evidence_check WHERE report_id = ? AND attachment_id IS NULL", report);
  }

  private static double gauge(TestEnvironment env, String name) {
    return env.app().registry().get(name).gauge().value();
  }

  private static JsonObject find(JsonArray evidence, String code) {
    return evidence.stream().map(o -> (JsonObject) o).filter(c -> code.equals(c.getString("code"))).findFirst()
        .orElseThrow(() -> new AssertionError("no " + code + " in " + evidence.encode()));
  }

  private static List<UUID> ids(HttpResponse<Buffer> page) {
    JsonObject body = ok(page);
    return body.getJsonArray("items").stream().map(o -> UUID.fromString(((JsonObject) o).getString("id"))).toList();
  }

  private static JsonObject ok(HttpResponse<Buffer> r) {
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    return r.bodyAsJsonObject();
  }

  private static JsonObject created(HttpResponse<Buffer> r) {
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(201);
    return r.bodyAsJsonObject();
  }

  /** The report as a page of the list represents it (following no cursor: it is among the newest). */
  private static JsonObject listed(TestEnvironment env, String username, String path, UUID report) {
    return ok(get(env, username, path)).getJsonArray("items").stream().map(o -> (JsonObject) o)
        .filter(r -> report.toString().equals(r.getString("id"))).findFirst()
        .orElseThrow(() -> new AssertionError("report " + report + " not listed"));
  }

  private static void device(TestEnvironment env, String username, String token) throws Exception {
    env.awaitEventsDispatched();
    HttpResponse<Buffer> r = post(env, username, "/v1/devices",
        new JsonObject().put("token", token).put("platform", "android").put("appVersion", "1.0.0"));
    assertThat(r.statusCode()).as(r.bodyAsString()).isIn(200, 201);
  }

  private static final java.util.Map<String, String> TOKENS = new java.util.concurrent.ConcurrentHashMap<>();

  private static String token(TestEnvironment env, String username) {
    return TOKENS.computeIfAbsent(username + "@" + env.app().config().http().port(), k -> {
      HttpResponse<Buffer> r = await(env.client().post("/v1/auth/login").sendJsonObject(new JsonObject()
          .put("username", username).put("password", DemoOrganisation.PASSWORD)));
      assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
      return r.bodyAsJsonObject().getString("access_token");
    });
  }

  private static HttpResponse<Buffer> get(TestEnvironment env, String username, String path) {
    return await(env.client().get(path).putHeader("Authorization", "Bearer " + token(env, username)).send());
  }

  private static HttpResponse<Buffer> post(TestEnvironment env, String username, String path, JsonObject body) {
    var request = env.client().post(path).putHeader("Authorization", "Bearer " + token(env, username));
    return await(body == null ? request.send() : request.sendJsonObject(body));
  }

  private static UUID account(String username) {
    return UUID.nameUUIDFromBytes(("frontline-demo:account:" + username).getBytes(StandardCharsets.UTF_8));
  }

  private static void update(Connection c, String sql, Object param) throws Exception {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setObject(1, param);
      ps.executeUpdate();
    }
  }
}
