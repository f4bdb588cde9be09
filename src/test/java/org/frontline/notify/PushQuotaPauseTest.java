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
import static org.frontline.notify.Alerts.deliveryStatus;
import static org.frontline.notify.Alerts.device;
import static org.frontline.testing.TestEnvironment.await;

/**
 * FCM says the project's quota is exhausted (429 RESOURCE_EXHAUSTED / QUOTA_EXCEEDED with Retry-After, for every
 * message of a batch): the service's dispatcher, through the real firebase-admin SDK and the fake FCM endpoint, sends
 * nothing more until Retry-After has passed, then sends everything it held back; no delivery spends an attempt on the
 * quota. The same answer for one device while the others of its batch are delivered is that device's own message
 * rate: only its delivery waits, nothing is paused.
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
  void aQuotaAnswerForAWholeBatchPausesEverySendUntilRetryAfterAndNothingIsLostOrDeadLettered(TestEnvironment env)
      throws Exception {
    FakeFcmServer fcm = env.fcm();
    PushGateway push = env.app().push();
    assertThat(push).isInstanceOf(FirebasePushGateway.class);
    for (String token : List.of("quota-a", "quota-b", "quota-c")) {
      device(env, "supervisor.hanjiang", token);
    }
    fcm.respond("quota-a", Outcome.quotaExceeded("4"), Outcome.success());
    fcm.respond("quota-b", Outcome.quotaExceeded("4"), Outcome.success());
    fcm.respond("quota-c", Outcome.quotaExceeded("4"), Outcome.success());
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
      assertThat(fcm.requestsFor("quota-c")).extracting(FakeFcmServer.Request::status).containsExactly(429, 200,
          200, 200);
      assertThat(logged.text().lines().filter(l -> l.startsWith("FCM quota exhausted")).count())
          .as("one log line for the pause, not one per refused push").isEqualTo(1);
      assertThat(metric(env, "frontline_push_pause_remaining_seconds")).isZero();
    }
  }

  /** The delivery of the report's alert to the device with this token: a column's value, or an expression's. */
  private static long delivery(TestEnvironment env, UUID report, String token, String expression) {
    return count(env, "SELECT " + expression + " FROM push_delivery p JOIN outbox o ON o.id = p.event_id"
        + " JOIN device d ON d.id = p.device_id WHERE o.aggregate_id = ? AND d.token = ?", report, token);
  }

  private static final String DEVICE_QUOTA_FAILED =
      "frontline_push_failed_total\\{reason=\"DEVICE_QUOTA_EXCEEDED\",?\\}";
  private static final String QUOTA_FAILED = "frontline_push_failed_total\\{reason=\"QUOTA_EXCEEDED\",?\\}";

  /**
   * One supervisor's phone over its own message rate (FCM's QUOTA_EXCEEDED for it while the others of the batch are
   * delivered) holds back nobody else: no pause, the others' alerts go at once, and only its delivery waits, for
   * Retry-After, without spending an attempt; then it goes in a later round.
   */
  @Test
  void oneDeviceOverItsOwnRateWaitsAloneWhileEveryOtherPushGoes(TestEnvironment env) throws Exception {
    FakeFcmServer fcm = env.fcm();
    PushGateway push = env.app().push();
    device(env, "supervisor.hanjiang", "rate-b");
    device(env, "supervisor.hanjiang", "rate-c");
    // A delivery first: the gateway forgets any phone refused alone before (an earlier test's), so the busy phone's
    // refusal is judged its own even if the dispatcher's two send lanes claim it in a batch of its own.
    UUID primer = Alerts.reportCompleted(env, HUAISI);
    awaitUntil(WAIT, "a delivery before the test", () -> "SENT".equals(deliveryStatus(env, primer, "rate-b")));
    device(env, "supervisor.hanjiang", "rate-busy");
    fcm.respond("rate-busy", Outcome.quotaExceeded("5"), Outcome.success());
    String before = AlertMetricsTest.scrape(env);

    try (LogCapture logged = LogCapture.of(FirebasePushGateway.class, "%msg%n")) {
      UUID first = Alerts.reportCompleted(env, HUAISI);
      awaitUntil(WAIT, "the refusal recorded", () -> delivery(env, first, "rate-busy",
          "count(*) FILTER (WHERE p.claimed_by IS NULL AND p.device_throttles = 1)") == 1);
      // The others go in the same round, in the same batch or (the two send lanes claiming side by side) another.
      awaitUntil(WAIT, "the others delivered", () -> "SENT".equals(deliveryStatus(env, first, "rate-b"))
          && "SENT".equals(deliveryStatus(env, first, "rate-c")));
      assertThat(push.paused()).as("nothing paused").isZero();
      // Still within the 5 s: the phone's delivery waits, no attempt spent, due after its Retry-After.
      assertThat(delivery(env, first, "rate-busy", "count(*) FILTER (WHERE p.status = 'PENDING' AND p.attempts = 0"
          + " AND p.last_error LIKE 'DEVICE_QUOTA_EXCEEDED: QUOTA_EXCEEDED%'"
          + " AND p.next_attempt_at >= p.created_at + interval '5 seconds'"
          + " AND p.next_attempt_at > now() AND p.next_attempt_at <= now() + interval '5 seconds')")).isEqualTo(1);

      // A new alert meanwhile reaches the other phones at once.
      UUID during = Alerts.reportCompleted(env, HUAISI);
      awaitUntil(WAIT, "the next alert delivered", () -> delivery(env, during, "rate-b",
          "count(*) FILTER (WHERE p.status = 'SENT')") == 1 && delivery(env, during, "rate-c",
          "count(*) FILTER (WHERE p.status = 'SENT')") == 1);
      assertThat(delivery(env, first, "rate-busy", "count(*) FILTER (WHERE p.status = 'PENDING')"))
          .as("the refused one still waits").isEqualTo(1);

      // Then it goes, in a later round, no sooner than its Retry-After, with the one attempt that sent it.
      awaitUntil(WAIT, "the refused one delivered", () -> "SENT".equals(deliveryStatus(env, first, "rate-busy")));
      assertThat(delivery(env, first, "rate-busy", "count(*) FILTER (WHERE p.attempts = 1 AND p.device_throttles = 1"
          + " AND p.delivered_at >= p.created_at + interval '5 seconds')")).isEqualTo(1);
      assertThat(fcm.requestsFor("rate-busy")).extracting(FakeFcmServer.Request::status).containsExactly(429, 200,
          200);

      String after = AlertMetricsTest.scrape(env);
      assertThat(AlertMetricsTest.value(after, "frontline_push_pauses_total"))
          .isEqualTo(AlertMetricsTest.value(before, "frontline_push_pauses_total"));
      assertThat(AlertMetricsTest.value(after, DEVICE_QUOTA_FAILED))
          .isEqualTo(AlertMetricsTest.value(before, DEVICE_QUOTA_FAILED) + 1);
      assertThat(AlertMetricsTest.value(after, QUOTA_FAILED)).isEqualTo(AlertMetricsTest.value(before, QUOTA_FAILED));
      assertThat(logged.text()).contains("FCM device message rate exceeded (QUOTA_EXCEEDED) for 1 of ")
          .doesNotContain("FCM quota exhausted");
    } finally {
      retire(env, "rate-busy", "rate-b", "rate-c");
    }
  }

  /**
   * A phone kept over its rate (every answer QUOTA_EXCEEDED, alone in its batches once the others are delivered) is
   * never a dead letter for it, even on its last attempt, and waits longer each time when FCM gives no Retry-After.
   */
  @Test
  void aDeviceKeptOverItsRateBacksOffAndIsNeverDeadLettered(TestEnvironment env) throws Exception {
    device(env, "supervisor.hanjiang", "rate-always");
    device(env, "supervisor.hanjiang", "rate-fine");
    env.fcm().respond("rate-always", Outcome.quotaExceeded(null));
    long pauses = env.app().push().pauses();
    try {
      UUID report = Alerts.reportCompleted(env, HUAISI);
      awaitUntil(WAIT, "the first refusal recorded", () -> delivery(env, report, "rate-always",
          "count(*) FILTER (WHERE p.claimed_by IS NULL AND p.device_throttles = 1)") == 1);
      // One attempt left, as if it had failed seven times already: a refusal for the device's rate spends none.
      Alerts.update(env, "UPDATE push_delivery SET attempts = 7 WHERE device_id = (SELECT id FROM device"
          + " WHERE token = 'rate-always')");
      for (int throttles = 2; throttles <= 4; throttles++) {
        int n = throttles;
        Alerts.update(env, "UPDATE push_delivery SET next_attempt_at = now() WHERE device_id = (SELECT id FROM device"
            + " WHERE token = 'rate-always')");
        awaitUntil(WAIT, "refusal " + n + " recorded", () -> delivery(env, report, "rate-always",
            "count(*) FILTER (WHERE p.claimed_by IS NULL AND p.device_throttles = " + n + ")") == 1);
        // Backoff from 10 s, doubling, with equal jitter: refusal n waits 10 * 2^(n-1) s, half of it at least.
        long waitsMs = delivery(env, report, "rate-always",
            "(extract(epoch FROM p.next_attempt_at - now()) * 1000)::bigint");
        assertThat(waitsMs).as("wait after refusal " + n)
            .isBetween(5_000L * (1L << (n - 1)) - 2_000, 10_000L * (1L << (n - 1)));
      }
      assertThat(delivery(env, report, "rate-always", "count(*) FILTER (WHERE p.status = 'PENDING'"
          + " AND p.attempts = 7)")).isEqualTo(1);
      assertThat(env.fcm().requestsFor("rate-always")).hasSize(4);
      assertThat(env.app().push().pauses()).as("no pause at all").isEqualTo(pauses);
    } finally {
      retire(env, "rate-always", "rate-fine");
    }
  }

  /** The test's devices retired: the class's later tests alert the same supervisor and count their own pushes. */
  private static void retire(TestEnvironment env, String... tokens) throws java.sql.SQLException {
    Alerts.update(env, "UPDATE device SET retired_at = now(), retired_reason = 'DELETED' WHERE retired_at IS NULL"
        + " AND token = ANY (string_to_array(?, ','))", String.join(",", tokens));
  }
}
