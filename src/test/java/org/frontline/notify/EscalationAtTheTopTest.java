package org.frontline.notify;

import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Set;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.JIANGSU;
import static org.frontline.notify.Alerts.awaitUntil;
import static org.frontline.notify.Alerts.count;
import static org.frontline.notify.Alerts.reportCompleted;
import static org.frontline.testing.TestEnvironment.await;

/**
 * An unopened urgent alert of the root unit: nobody is above, so it is marked and audited, nothing is sent, and it
 * is not counted as escalated (the check's result, the metric and the log line said it went one level up).
 */
@FrontlineTest
class EscalationAtTheTopTest {
  private static final UUID PROVINCE_SUPERVISOR = UUID.fromString("00000000-0000-4000-8000-0000000e5c10");

  @Test
  void anAlertOfTheRootUnitIsMarkedAndAuditedButNotCountedAsEscalated(TestEnvironment env) throws Exception {
    Alerts.update(env, "INSERT INTO account (id, username, display_name, locale, password_hash, roles, home_unit_id)"
        + " VALUES (?, 'supervisor.jiangsu', 'Province supervisor', 'en', 'x', ARRAY['supervisor'], ?)",
        PROVINCE_SUPERVISOR, JIANGSU);
    Alerts.update(env, "INSERT INTO account_scope (account_id, unit_id) VALUES (?, ?)", PROVINCE_SUPERVISOR, JIANGSU);
    OutboxDispatcherVerticle checker = new OutboxDispatcherVerticle(env.app().database(), env.app().push(),
        OutboxDispatcherVerticle.Settings.defaults().withEscalation(Duration.ofMinutes(30), Set.of("report.completed")));
    UUID report = reportCompleted(env, JIANGSU);
    long event = count(env, "SELECT id FROM outbox WHERE aggregate_id = ? AND event_type = 'report.completed'", report);
    awaitUntil(Duration.ofSeconds(20), "the province supervisor's notification",
        () -> count(env, "SELECT count(*) FROM notification WHERE event_id = ?", event) == 1);
    Alerts.update(env, "UPDATE notification SET created_at = created_at - interval '31 minutes' WHERE event_id = ?",
        event);

    assertThat(await(checker.escalateDue())).isZero();
    assertThat(count(env, "SELECT count(*) FROM notification WHERE event_id = ? AND escalated_at IS NOT NULL", event))
        .isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM outbox WHERE event_type = 'alert.escalated'")).isZero();
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'alert.escalate' AND object_id = ?"
        + " AND details ->> 'toUnitId' IS NULL", String.valueOf(event))).isEqualTo(1);
    // Once only, as any other.
    assertThat(await(checker.escalateDue())).isZero();
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'alert.escalate'")).isEqualTo(1);
  }
}
