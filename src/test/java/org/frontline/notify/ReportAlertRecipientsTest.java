package org.frontline.notify;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.Set;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.dev.DemoOrganisation.YANGZHOU;
import static org.frontline.notify.Alerts.accountId;
import static org.frontline.notify.Alerts.awaitUntil;
import static org.frontline.notify.Alerts.count;
import static org.frontline.notify.Alerts.device;
import static org.frontline.notify.Alerts.login;
import static org.frontline.testing.TestEnvironment.await;

/**
 * Supervisors file reports too (on their own field visits). A report's alerts go to the supervisors covering its
 * unit other than its author: the author has nothing to review in their own report, and an author who opened the
 * urgent alert about their own flagged evidence kept it from being escalated to the level above.
 */
@FrontlineTest
class ReportAlertRecipientsTest {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final String YANGZHOU_PASSWORD = "Yangzhou-Supervisor-2026";

  /** A supervisor covering the Yangzhou city (so above supervisor.hanjiang), with a device. */
  private static void yangzhouSupervisor(TestEnvironment env) throws Exception {
    HttpResponse<Buffer> r = await(env.client().post("/v1/accounts")
        .putHeader("Authorization", "Bearer " + login(env, "admin"))
        .sendJsonObject(new JsonObject().put("username", "supervisor.yangzhou").put("displayName", "扬州督导")
            .put("roles", new JsonArray().add("supervisor")).put("homeUnitId", YANGZHOU.toString())
            .put("coveredUnitIds", new JsonArray().add(YANGZHOU.toString())).put("password", YANGZHOU_PASSWORD)));
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(201);
    String token = await(env.client().post("/v1/auth/login").sendJsonObject(new JsonObject()
        .put("username", "supervisor.yangzhou").put("password", YANGZHOU_PASSWORD)))
        .bodyAsJsonObject().getString("access_token");
    env.awaitEventsDispatched();
    assertThat(Alerts.registerDevice(env, token, new JsonObject().put("token", "author-yangzhou")
        .put("platform", "android")).statusCode()).isEqualTo(201);
  }

  @Test
  void aSupervisorsOwnReportAlertsTheOtherSupervisorsOnly(TestEnvironment env) throws Exception {
    yangzhouSupervisor(env);
    device(env, "supervisor.hanjiang", "author-hanjiang");
    UUID hanjiang = accountId("supervisor.hanjiang");

    // supervisor.hanjiang files a report in Huaisi (in their scope) through the API: complete at once.
    UUID report = UUID.randomUUID();
    HttpResponse<Buffer> created = await(env.client().post("/v1/reports")
        .putHeader("Authorization", "Bearer " + login(env, "supervisor.hanjiang"))
        .sendJsonObject(new JsonObject().put("id", report.toString()).put("type", "SITE")
            .put("unitId", HUAISI.toString())
            // Recent and not mocked: its own report-level checks pass (the flag below is written by the test).
            .put("capturedAt", java.time.Instant.now().minusSeconds(60).truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                .toString())
            .put("location", new JsonObject().put("lat", 32.45).put("lon", 119.43).put("accuracyM", 8.5)
                .put("provider", "gps").put("mock", false))
            .put("title", "Site visit at Huaisi").put("body", new JsonObject()
                .put("observations", new JsonArray().add("Scaffolding up")))));
    assertThat(created.statusCode()).as(created.bodyAsString()).isEqualTo(201);
    awaitUntil(WAIT, "the report's alert pushed to the Yangzhou supervisor",
        () -> env.fcm().requestsFor("author-yangzhou").size() == 1);

    // Its evidence flagged (the event as the media worker writes it): the same.
    long flagged = evidenceFlagged(env, report, hanjiang);
    awaitUntil(WAIT, "the flagged evidence pushed to the Yangzhou supervisor",
        () -> env.fcm().requestsFor("author-yangzhou").size() == 2);
    Thread.sleep(1500); // another dispatch round or two: nothing goes to the author

    assertThat(env.fcm().requestsFor("author-yangzhou")).extracting(r -> r.data().getString("eventType"))
        .containsExactly("report.completed", "report.evidence-flagged");
    assertThat(env.fcm().requestsFor("author-hanjiang")).isEmpty();
    assertThat(count(env, "SELECT count(*) FROM notification n JOIN outbox o ON o.id = n.event_id"
        + " WHERE o.aggregate_id = ? AND n.account_id = ?", report, hanjiang)).isZero();
    assertThat(count(env, "SELECT count(*) FROM notification n JOIN outbox o ON o.id = n.event_id"
        + " WHERE o.aggregate_id = ? AND o.event_type IN ('report.completed', 'report.evidence-flagged')"
        + " AND n.account_id = (SELECT id FROM account WHERE username = 'supervisor.yangzhou')", report))
        .isEqualTo(2);

    // Unopened by the Yangzhou supervisor, it is escalated (to Hanjiang's level): still not to its author.
    OutboxDispatcherVerticle checker = new OutboxDispatcherVerticle(env.app().database(), env.app().push(),
        OutboxDispatcherVerticle.Settings.defaults().withEscalation(Duration.ofMinutes(30),
            Set.of("report.evidence-flagged")));
    Alerts.update(env, "UPDATE notification SET created_at = created_at - interval '31 minutes' WHERE event_id = ?",
        flagged);
    assertThat(await(checker.escalateDue())).isEqualTo(1);
    awaitUntil(WAIT, "the escalation pushed to the Yangzhou supervisor",
        () -> env.fcm().requestsFor("author-yangzhou").size() == 3);
    Thread.sleep(1500);
    assertThat(env.fcm().requestsFor("author-yangzhou").get(2).data().getString("eventType"))
        .isEqualTo("alert.escalated");
    assertThat(env.fcm().requestsFor("author-hanjiang")).isEmpty();
    assertThat(count(env, "SELECT count(*) FROM notification WHERE account_id = ?", hanjiang)).isZero();
  }

  /** A report.evidence-flagged event with the payload EvidenceRepository writes; its id. */
  private static long evidenceFlagged(TestEnvironment env, UUID report, UUID author) throws Exception {
    try (Connection c = env.jdbc(); PreparedStatement ps = c.prepareStatement("INSERT INTO outbox (event_type,"
        + " aggregate_type, aggregate_id, unit_id, payload) VALUES ('report.evidence-flagged', 'report', ?, ?,"
        + " jsonb_build_object('reportId', ?::text, 'unitId', ?::text, 'authorId', ?::text, 'type', 'SITE',"
        + " 'attachmentId', gen_random_uuid()::text, 'flags', '[\"EXIF_TIME_MISMATCH\"]'::jsonb)) RETURNING id")) {
      ps.setObject(1, report);
      ps.setObject(2, HUAISI);
      ps.setString(3, report.toString());
      ps.setString(4, HUAISI.toString());
      ps.setString(5, author.toString());
      try (var rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }
}
