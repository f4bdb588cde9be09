package org.frontline.notify;

import org.frontline.platform.push.FakeFcmServer;
import org.frontline.platform.push.FakeFcmServer.Outcome;
import org.frontline.platform.push.FirebasePushGateway;
import org.frontline.platform.push.PushGateway;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.LogCapture;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.notify.Alerts.awaitUntil;
import static org.frontline.notify.Alerts.count;
import static org.frontline.notify.Alerts.device;
import static org.frontline.testing.TestEnvironment.await;

/**
 * FCM says the project's quota is exhausted (429 RESOURCE_EXHAUSTED / QUOTA_EXCEEDED with Retry-After): the service's
 * dispatcher, through the real firebase-admin SDK and the fake FCM endpoint, sends nothing more until Retry-After has
 * passed, then sends everything it held back; no delivery spends an attempt on the quota.
 */
@FrontlineTest
class PushQuotaPauseTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  /** A Prometheus sample of the service's /metrics (0 when absent). */
  private static double metric(TestEnvironment env, String sample) {
    String text = await(env.client().get(env.app().config().http().managementPort(), "127.0.0.1", "/metrics")
        .send()).bodyAsString();
    return text.lines().filter(l -> l.startsWith(sample + " ")).mapToDouble(l -> Double.parseDouble(
        l.substring(l.lastIndexOf(' ') + 1))).findFirst().orElse(0);
  }

  private static long deliveries(TestEnvironment env, List<UUID> reports, String condition) {
    return count(env, "SELECT count(*) FROM push_delivery p JOIN outbox o ON o.id = p.event_id"
        + " WHERE o.aggregate_id = ANY (string_to_array(?, ',')::uuid[]) AND " + condition,
        String.join(",", reports.stream().map(UUID::toString).toList()));
  }

  @Test
  void aQuotaAnswerPausesEverySendUntilRetryAfterAndNothingIsLostOrDeadLettered(TestEnvironment env)
      throws Exception {
    FakeFcmServer fcm = env.fcm();
    PushGateway push = env.app().push();
    assertThat(push).isInstanceOf(FirebasePushGateway.class);
    for (String token : List.of("quota-a", "quota-b", "quota-c")) {
      device(env, "supervisor.hanjiang", token);
    }
    fcm.respond("quota-a", Outcome.quotaExceeded("4"), Outcome.success());
    fcm.respond("quota-b", Outcome.quotaExceeded("4"), Outcome.success());
    double pausesBefore = metric(env, "frontline_push_pauses_total");

    try (LogCapture logged = LogCapture.of(FirebasePushGateway.class, "%msg%n")) {
      List<UUID> first = List.of(Alerts.reportCompleted(env, HUAISI));
      awaitUntil(WAIT, "the quota answers", () -> fcm.requestsFor("quota-a").size() == 1
          && fcm.requestsFor("quota-b").size() == 1 && fcm.requestsFor("quota-c").size() == 1);
      awaitUntil(WAIT, "the pause", () -> !push.paused().isZero());
      int seen = fcm.requests().size();
      assertThat(metric(env, "frontline_push_pause_remaining_seconds")).isPositive();
      assertThat(metric(env, "frontline_push_pauses_total")).isEqualTo(pausesBefore + 1);

      // Alerts written during the pause wait for its end: FCM hears nothing, their deliveries stay pending.
      List<UUID> during = Alerts.reportsCompleted(env, HUAISI, 2);
      boolean heldBackSeen = false;
      while (true) {
        int requests = fcm.requests().size();
        boolean held = deliveries(env, during, "p.status = 'PENDING' AND p.attempts = 0") == 6;
        if (push.paused().isZero()) {
          break;
        }
        // Both read while the pause still held.
        assertThat(requests).as("requests FCM received during the pause").isEqualTo(seen);
        heldBackSeen |= held;
        Thread.sleep(50);
      }
      assertThat(heldBackSeen).as("the alerts written during the pause were seen held back").isTrue();

      // After it, everything goes: the two refused pushes again, the held-back ones for the first time.
      List<UUID> all = List.of(first.get(0), during.get(0), during.get(1));
      awaitUntil(WAIT, "every delivery sent", () -> deliveries(env, all, "p.status = 'SENT'") == 9);
      assertThat(deliveries(env, all, "p.attempts = 1")).as("no attempt spent on the quota").isEqualTo(9);
      assertThat(fcm.requestsFor("quota-a")).extracting(FakeFcmServer.Request::status).containsExactly(429, 200,
          200, 200);
      assertThat(fcm.requestsFor("quota-b")).extracting(FakeFcmServer.Request::status).containsExactly(429, 200,
          200, 200);
      assertThat(fcm.requestsFor("quota-c")).extracting(FakeFcmServer.Request::status).containsExactly(200, 200,
          200);
      assertThat(logged.text().lines().filter(l -> l.startsWith("FCM quota exhausted")).count())
          .as("one log line for the pause, not one per refused push").isEqualTo(1);
      assertThat(metric(env, "frontline_push_pause_remaining_seconds")).isZero();
    }
  }
}
