package org.frontline.notify;

import io.vertx.core.json.JsonObject;
import org.frontline.platform.push.FakeFcmServer;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.notify.Alerts.accountId;
import static org.frontline.notify.Alerts.awaitUntil;
import static org.frontline.notify.Alerts.count;
import static org.frontline.notify.Alerts.device;
import static org.frontline.testing.TestEnvironment.await;

/**
 * Flood control with the window driven by timestamps in the database. The shared service runs with flood control
 * off (the harness sets FRONTLINE_ALERT_DIGEST_AFTER=0), so the alerts here are written by the repository with the
 * rule on, for events already marked dispatched; the service's dispatcher then sends the resulting deliveries
 * through the real SDK to the fake FCM.
 */
@FrontlineTest
class FloodControlTest {
  private static final FloodControl RULE = new FloodControl(10, Duration.ofMinutes(10));

  @Test
  void theRuleItself() {
    assertThat(RULE.decide("report.completed", 0, false)).isEqualTo(FloodControl.Push.ALERT);
    assertThat(RULE.decide("report.completed", 9, false)).isEqualTo(FloodControl.Push.ALERT);
    assertThat(RULE.decide("report.completed", 10, false)).isEqualTo(FloodControl.Push.DIGEST);
    assertThat(RULE.decide("report.completed", 10, true)).isEqualTo(FloodControl.Push.NONE);
    assertThat(RULE.decide("report.completed", 9, true)).isEqualTo(FloodControl.Push.ALERT);
    assertThat(FloodControl.OFF.decide("report.completed", 1_000_000, true)).isEqualTo(FloodControl.Push.ALERT);
    assertThat(RULE.decide("report.evidence-flagged", 10, true)).isEqualTo(FloodControl.Push.ALERT);
    assertThat(FloodControl.digestText("en", 11).title()).isEqualTo("11 new alerts");
    assertThat(FloodControl.digestText("zh-CN", 11).title()).isEqualTo("11 条新提醒");
  }

  @Test
  void beyondTheLimitOneDigestThenInboxOnlyUntilTheWindowMovesOn(TestEnvironment env) throws Exception {
    UUID supervisor = accountId("supervisor.hanjiang");
    device(env, "supervisor.hanjiang", "flood-phone");
    DispatchRepository repository = new DispatchRepository(env.app().database().pool());
    for (int i = 0; i < 12; i++) {
      alert(env, repository, supervisor);
    }
    assertThat(count(env, "SELECT count(*) FROM notification WHERE account_id = ?", supervisor)).isEqualTo(12);
    assertThat(count(env, "SELECT count(*) FROM notification WHERE account_id = ? AND push = 'ALERT'", supervisor))
        .isEqualTo(10);
    assertThat(count(env, "SELECT count(*) FROM notification WHERE account_id = ? AND push = 'DIGEST'", supervisor))
        .isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM notification WHERE account_id = ? AND push = 'NONE'", supervisor))
        .isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM push_delivery WHERE account_id = ?", supervisor)).isEqualTo(11);
    awaitUntil(Duration.ofSeconds(20), "11 pushes", () -> env.fcm().requestsFor("flood-phone").size() == 11
        && count(env, "SELECT count(*) FROM push_delivery WHERE status = 'SENT' AND account_id = ?", supervisor) == 11);
    List<FakeFcmServer.Request> pushes = env.fcm().requestsFor("flood-phone");
    List<FakeFcmServer.Request> digests = pushes.stream()
        .filter(r -> "alert.digest".equals(r.data().getString("eventType"))).toList();
    assertThat(digests).hasSize(1);
    assertThat(digests.get(0).notification().getString("title")).isEqualTo("11 条新提醒");
    assertThat(digests.get(0).data().getString("count")).isEqualTo("11");
    assertThat(digests.get(0).android().getString("collapse_key")).isEqualTo("digest");
    // The inbox still lists every alert.
    assertThat(count(env, "SELECT count(*) FROM notification WHERE account_id = ? AND event_type = 'report.completed'",
        supervisor)).isEqualTo(12);

    // The window moves on (the alerts are 11 minutes old now): the next alert is pushed on its own again.
    Alerts.update(env, "UPDATE notification SET created_at = created_at - interval '11 minutes' WHERE account_id = ?",
        supervisor);
    long event = alert(env, repository, supervisor);
    assertThat(count(env, "SELECT count(*) FROM notification WHERE event_id = ? AND push = 'ALERT'", event))
        .isEqualTo(1);
    awaitUntil(Duration.ofSeconds(20), "the 12th push", () -> env.fcm().requestsFor("flood-phone").size() == 12);

    // Another recipient is counted on their own: the Tongzhou supervisor's first alert is pushed.
    UUID other = accountId("supervisor.tongzhou");
    long otherEvent = alert(env, repository, other);
    assertThat(count(env, "SELECT count(*) FROM notification WHERE event_id = ? AND push = 'ALERT'", otherEvent))
        .isEqualTo(1);
  }

  /**
   * An urgent alert (a report's evidence flagged) is pushed on its own whatever routine alerts filled the window: an
   * officer's offline batch of 30 reports made the next flag a silent NONE for up to 10 minutes (until the
   * escalation, to others, half an hour later). It still counts in the window.
   */
  @Test
  void anUrgentAlertIsPushedEvenAfterTheDigest(TestEnvironment env) throws Exception {
    // A supervisor of its own (the test above counts supervisor.hanjiang's alerts, and an alert is pushed only to a
    // recipient still holding the role its rule picked them for), on a unit it covers.
    UUID flood = UUID.fromString("00000000-0000-4000-8000-0000000f1d01");
    Alerts.update(env, "INSERT INTO account (id, username, display_name, locale, password_hash, roles, home_unit_id)"
        + " VALUES (?, 'supervisor.flood', 'Flood supervisor', 'en', 'x', ARRAY['supervisor'], ?)"
        + " ON CONFLICT DO NOTHING", flood, TONGZHOU);
    Alerts.update(env, "INSERT INTO account_scope (account_id, unit_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
        flood, TONGZHOU);
    Alerts.update(env, "INSERT INTO device (id, account_id, token, platform) VALUES (?, ?, 'flood-urgent-phone',"
        + " 'android') ON CONFLICT DO NOTHING", UUID.randomUUID(), flood);
    DispatchRepository repository = new DispatchRepository(env.app().database().pool());
    for (int i = 0; i < 12; i++) {
      alert(env, repository, flood, TONGZHOU, "report.completed");
    }
    assertThat(count(env, "SELECT count(*) FROM notification WHERE account_id = ? AND push = 'NONE'", flood))
        .isEqualTo(1);

    long urgent = alert(env, repository, flood, TONGZHOU, "report.evidence-flagged");

    assertThat(count(env, "SELECT count(*) FROM notification WHERE event_id = ? AND push = 'ALERT'", urgent))
        .isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM push_delivery WHERE event_id = ?", urgent)).isEqualTo(1);
    awaitUntil(Duration.ofSeconds(20), "the urgent push", () -> env.fcm().requestsFor("flood-urgent-phone").stream()
        .anyMatch(r -> "report.evidence-flagged".equals(r.data().getString("eventType"))));
    // A routine alert after it is still inbox-only: the window is as full as before.
    long routine = alert(env, repository, flood, TONGZHOU, "report.completed");
    assertThat(count(env, "SELECT count(*) FROM notification WHERE event_id = ? AND push = 'NONE'", routine))
        .isEqualTo(1);
  }

  private static long alert(TestEnvironment env, DispatchRepository repository, UUID account) throws Exception {
    return alert(env, repository, account, HUAISI, "report.completed");
  }

  /** An outbox event already marked dispatched, and its alert written with the flood rule on; the event id. */
  private static long alert(TestEnvironment env, DispatchRepository repository, UUID account, UUID unit,
                            String eventType) throws Exception {
    UUID reportId = UUID.randomUUID();
    long eventId;
    try (Connection c = env.jdbc(); PreparedStatement ps = c.prepareStatement("INSERT INTO outbox (event_type,"
        + " aggregate_type, aggregate_id, unit_id, payload, dispatched_at) VALUES (?, 'report', ?, ?,"
        + " '{}'::jsonb, now()) RETURNING id")) {
      ps.setString(1, eventType);
      ps.setObject(2, reportId);
      ps.setObject(3, unit);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        eventId = rs.getLong(1);
      }
    }
    JsonObject data = new JsonObject().put("eventType", eventType).put("reportId", reportId.toString());
    await(repository.writeAlerts(eventId, List.of(new DispatchRepository.Alert(eventId, eventType, account,
        "新的现场报告", "槐泗镇 提交了一份现场报告。", data, reportId.toString(), "zh-CN")), RULE));
    return eventId;
  }
}
