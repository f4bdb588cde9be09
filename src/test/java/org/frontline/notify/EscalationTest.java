package org.frontline.notify;

import org.frontline.platform.push.FakeFcmServer;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HANJIANG;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.notify.Alerts.accountId;
import static org.frontline.notify.Alerts.awaitUntil;
import static org.frontline.notify.Alerts.count;
import static org.frontline.notify.Alerts.device;
import static org.frontline.notify.Alerts.reportCompleted;
import static org.frontline.testing.TestEnvironment.await;

/**
 * Escalation with controlled time (notification timestamps moved back in the database). report.completed is not
 * urgent in the service; this test's own (undeployed) dispatcher marks it urgent and runs the escalation check,
 * while the service's dispatcher does the ordinary dispatch of both the original and the escalation event.
 */
@FrontlineTest
class EscalationTest {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final UUID HUAISI_SUPERVISOR = UUID.fromString("00000000-0000-4000-8000-00000000e5c1");

  @Test
  void anUnopenedUrgentAlertGoesOneLevelUpOnceAndIsRecorded(TestEnvironment env) throws Exception {
    // A supervisor of Huaisi itself, below supervisor.hanjiang.
    Alerts.update(env, "INSERT INTO account (id, username, display_name, locale, password_hash, roles, home_unit_id)"
        + " VALUES (?, 'supervisor.huaisi', 'Huaisi supervisor', 'en', 'x', ARRAY['supervisor'], ?)"
        + " ON CONFLICT DO NOTHING", HUAISI_SUPERVISOR, HUAISI);
    Alerts.update(env, "INSERT INTO account_scope (account_id, unit_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
        HUAISI_SUPERVISOR, HUAISI);
    Alerts.update(env, "INSERT INTO device (id, account_id, token, platform) VALUES (?, ?, 'esc-huaisi', 'android')",
        UUID.randomUUID(), HUAISI_SUPERVISOR);
    device(env, "supervisor.hanjiang", "esc-hanjiang");
    device(env, "supervisor.tongzhou", "esc-tongzhou");
    UUID hanjiang = accountId("supervisor.hanjiang");

    OutboxDispatcherVerticle checker = new OutboxDispatcherVerticle(env.app().database(), env.app().push(),
        OutboxDispatcherVerticle.Settings.defaults().withEscalation(Duration.ofMinutes(30), Set.of("report.completed")));

    UUID report = reportCompleted(env, HUAISI);
    awaitUntil(WAIT, "both supervisors alerted", () -> env.fcm().requestsFor("esc-huaisi").size() == 1
        && env.fcm().requestsFor("esc-hanjiang").size() == 1);
    long event = count(env, "SELECT id FROM outbox WHERE aggregate_id = ? AND event_type = 'report.completed'", report);
    assertThat(count(env, "SELECT count(*) FROM notification WHERE event_id = ?", event)).isEqualTo(2);

    // Not yet due.
    assertThat(await(checker.escalateDue())).isZero();
    // 31 minutes later, nobody has opened it.
    Alerts.update(env, "UPDATE notification SET created_at = created_at - interval '31 minutes' WHERE event_id = ?",
        event);
    assertThat(await(checker.escalateDue())).isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM notification WHERE event_id = ? AND escalated_at IS NOT NULL", event))
        .isEqualTo(2);
    assertThat(count(env, "SELECT count(*) FROM outbox WHERE event_type = 'alert.escalated'"
        + " AND payload ->> 'escalatedEventId' = ? AND unit_id = ?", String.valueOf(event), HANJIANG)).isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'alert.escalate' AND object_id = ?"
        + " AND details ->> 'toUnitId' = ?", String.valueOf(event), HANJIANG.toString())).isEqualTo(1);

    // The escalation reaches the supervisors covering Hanjiang's subtree, not the one who covers only Huaisi.
    awaitUntil(WAIT, "escalation pushed", () -> env.fcm().requestsFor("esc-hanjiang").size() == 2);
    FakeFcmServer.Request escalation = env.fcm().requestsFor("esc-hanjiang").get(1);
    assertThat(escalation.data().getString("eventType")).isEqualTo("alert.escalated");
    assertThat(escalation.data().getString("escalatedType")).isEqualTo("report.completed");
    assertThat(escalation.data().getString("reportId")).isEqualTo(report.toString());
    assertThat(escalation.data().getString("unitId")).isEqualTo(HUAISI.toString());
    assertThat(escalation.notification().getString("body")).contains("槐泗镇");
    assertThat(escalation.android().getString("collapse_key")).isEqualTo(report.toString());
    assertThat(count(env, "SELECT count(*) FROM notification WHERE account_id = ? AND event_type = 'alert.escalated'",
        hanjiang)).isEqualTo(1);
    Thread.sleep(1500); // a dispatch round or two more
    assertThat(env.fcm().requestsFor("esc-huaisi")).hasSize(1);
    assertThat(env.fcm().requestsFor("esc-tongzhou")).isEmpty();
    assertThat(count(env, "SELECT count(*) FROM notification WHERE account_id = ? AND event_type = 'alert.escalated'",
        HUAISI_SUPERVISOR)).isZero();

    // Never twice.
    Alerts.update(env, "UPDATE notification SET created_at = created_at - interval '2 hours' WHERE event_id = ?", event);
    assertThat(await(checker.escalateDue())).isZero();
    assertThat(count(env, "SELECT count(*) FROM outbox WHERE event_type = 'alert.escalated'")).isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'alert.escalate'")).isEqualTo(1);

    // An alert that someone opened in time is not escalated.
    UUID opened = reportCompleted(env, HUAISI);
    awaitUntil(WAIT, "second report alerted", () -> env.fcm().requestsFor("esc-huaisi").size() == 2);
    long openedEvent = count(env, "SELECT id FROM outbox WHERE aggregate_id = ? AND event_type = 'report.completed'",
        opened);
    Alerts.update(env, "UPDATE notification SET opened_at = now(), created_at = created_at - interval '31 minutes'"
        + " WHERE event_id = ? AND account_id = ?", openedEvent, HUAISI_SUPERVISOR);
    Alerts.update(env, "UPDATE notification SET created_at = created_at - interval '31 minutes' WHERE event_id = ?",
        openedEvent);
    assertThat(await(checker.escalateDue())).isZero();
    assertThat(count(env, "SELECT count(*) FROM notification WHERE event_id = ? AND escalated_at IS NOT NULL",
        openedEvent)).isZero();
  }

  /**
   * An alert opened just as the check escalates it: the recipient's ack was already waiting on the notification's row
   * (here held by another transaction) when the check started. The check used to skip only that one notification and
   * escalate the event through the other, unopened one, so an alert that was opened went up a level all the same.
   */
  @Test
  void anAlertOpenedWhileTheCheckRunsIsNotEscalated(TestEnvironment env) throws Exception {
    Alerts.update(env, "INSERT INTO account (id, username, display_name, locale, password_hash, roles, home_unit_id)"
        + " VALUES (?, 'supervisor.huaisi', 'Huaisi supervisor', 'en', 'x', ARRAY['supervisor'], ?)"
        + " ON CONFLICT DO NOTHING", HUAISI_SUPERVISOR, HUAISI);
    Alerts.update(env, "INSERT INTO account_scope (account_id, unit_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
        HUAISI_SUPERVISOR, HUAISI);
    UUID hanjiang = accountId("supervisor.hanjiang");
    OutboxDispatcherVerticle checker = new OutboxDispatcherVerticle(env.app().database(), env.app().push(),
        OutboxDispatcherVerticle.Settings.defaults().withEscalation(Duration.ofMinutes(30), Set.of("report.completed")));
    UUID report = reportCompleted(env, HUAISI);
    long event = count(env, "SELECT id FROM outbox WHERE aggregate_id = ? AND event_type = 'report.completed'", report);
    awaitUntil(WAIT, "both supervisors' notifications",
        () -> count(env, "SELECT count(*) FROM notification WHERE event_id = ?", event) == 2);
    Alerts.update(env, "UPDATE notification SET created_at = created_at - interval '31 minutes' WHERE event_id = ?",
        event);
    String notification = env.string("SELECT id::text FROM notification WHERE event_id = ? AND account_id = ?",
        event, hanjiang);
    String at = Alerts.login(env, "supervisor.hanjiang");

    java.util.function.LongSupplier waiting = () -> count(env, "SELECT count(*) FROM pg_stat_activity"
        + " WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%notification%'");
    io.vertx.core.Future<io.vertx.ext.web.client.HttpResponse<io.vertx.core.buffer.Buffer>> ack;
    io.vertx.core.Future<Integer> escalated;
    try (java.sql.Connection holder = env.jdbc()) {
      holder.setAutoCommit(false);
      try (var ps = holder.prepareStatement("SELECT 1 FROM notification WHERE id = ?::uuid FOR UPDATE")) {
        ps.setString(1, notification);
        ps.executeQuery().close();
      }
      ack = env.client().post("/v1/notifications/" + notification + "/ack").putHeader("Authorization", "Bearer " + at)
          .sendJsonObject(new io.vertx.core.json.JsonObject().put("state", "opened"));
      awaitUntil(WAIT, "the ack waiting", () -> waiting.getAsLong() == 1);
      escalated = checker.escalateDue();
      awaitUntil(WAIT, "the check waiting behind it", () -> waiting.getAsLong() == 2);
      holder.commit();
    }
    assertThat(await(ack).statusCode()).isEqualTo(200);
    assertThat(await(escalated)).isZero();
    assertThat(count(env, "SELECT count(*) FROM notification WHERE event_id = ? AND opened_at IS NOT NULL", event))
        .isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM notification WHERE event_id = ? AND escalated_at IS NOT NULL", event))
        .isZero();
    assertThat(count(env, "SELECT count(*) FROM outbox WHERE event_type = 'alert.escalated'"
        + " AND payload ->> 'escalatedEventId' = ?", String.valueOf(event))).isZero();
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'alert.escalate' AND object_id = ?",
        String.valueOf(event))).isZero();
  }

  /**
   * The check runs every 5 s on every instance. Unopened alerts of kinds that are never escalated (report.completed:
   * most of them) stay unopened for good, and the check used to read every one of them (an index on created_at
   * alone, then a filter on the kind): its cost grew with all the unread history. It now reads the urgent kinds'
   * alerts only.
   */
  @Test
  void theCheckDoesNotReadTheUnopenedAlertsOfOtherKinds(TestEnvironment env) throws Exception {
    UUID hanjiang = accountId("supervisor.hanjiang");
    try (java.sql.Connection c = env.jdbc(); var st = c.createStatement()) {
      st.execute("WITH e AS (INSERT INTO outbox (event_type, aggregate_type, aggregate_id, unit_id, payload,"
          + " dispatched_at) SELECT 'report.completed', 'report', gen_random_uuid(), '" + HUAISI + "', '{}'::jsonb,"
          + " now() FROM generate_series(1, 5000) RETURNING id)"
          + " INSERT INTO notification (id, event_id, account_id, event_type, title, body, data, created_at)"
          + " SELECT gen_random_uuid(), e.id, '" + hanjiang + "', 'report.completed', 't', 'b', '{}'::jsonb,"
          + " now() - interval '2 hours' FROM e");
      // And three alerts of an urgent kind (one the service's own check does not escalate meanwhile), due.
      st.execute("WITH e AS (INSERT INTO outbox (event_type, aggregate_type, aggregate_id, unit_id, payload,"
          + " dispatched_at) SELECT 'test.urgent', 'report', gen_random_uuid(), '" + HUAISI + "', '{}'::jsonb,"
          + " now() FROM generate_series(1, 3) RETURNING id)"
          + " INSERT INTO notification (id, event_id, account_id, event_type, title, body, data, created_at)"
          + " SELECT gen_random_uuid(), e.id, '" + hanjiang + "', 'test.urgent', 't', 'b', '{}'::jsonb,"
          + " now() - interval '2 hours' FROM e");
      st.execute("ANALYZE notification");
      try {
        st.execute("SET plan_cache_mode = force_generic_plan");
        st.execute("PREPARE due(text[], bigint, int) AS " + Escalations.DUE);
        StringBuilder plan = new StringBuilder();
        try (java.sql.ResultSet rs = st.executeQuery("EXPLAIN (ANALYZE, COSTS OFF) EXECUTE due("
            + "'{test.urgent}', 1800000, " + Escalations.BATCH + ")")) {
          while (rs.next()) {
            plan.append(rs.getString(1)).append('\n');
          }
        }
        // The three are found; not one of the 5,000 report.completed alerts is read and thrown away.
        assertThat(plan.toString()).contains("Limit (actual time").containsPattern("HashAggregate|Unique");
        assertThat(plan.toString().lines().findFirst().orElseThrow()).as(plan.toString()).contains("rows=3 ");
        java.util.regex.Matcher removed = java.util.regex.Pattern.compile("Rows Removed by Filter: (\\d+)")
            .matcher(plan);
        while (removed.find()) {
          assertThat(Long.parseLong(removed.group(1))).as(plan.toString()).isLessThan(100);
        }
        assertThat(plan.toString()).contains("notification_escalation_kind_idx");
      } finally {
        st.execute("DELETE FROM notification WHERE account_id = '" + hanjiang + "' AND title = 't' AND body = 'b'");
        st.execute("DELETE FROM outbox o WHERE event_type IN ('report.completed', 'test.urgent')"
            + " AND payload = '{}'::jsonb"
            + " AND NOT EXISTS (SELECT 1 FROM notification n WHERE n.event_id = o.id)"
            + " AND NOT EXISTS (SELECT 1 FROM push_delivery p WHERE p.event_id = o.id)");
      }
    }
  }
}
