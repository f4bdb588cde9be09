package org.frontline.platform;

import org.frontline.evidence.MediaWorkerVerticle;
import org.frontline.evidence.ReportChecksVerticle;
import org.frontline.notify.OutboxDispatcherVerticle;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.LogCapture;
import org.frontline.testing.TestEnvironment;
import org.frontline.webhooks.WebhookDeliveryVerticle;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * The service's own workers with PostgreSQL stopped for a few seconds: their loops fail a round every 0.5 s, and
 * each says so once (a warning a round buried everything else), then once that it works again.
 */
@FrontlineTest
class WorkerOutageLogTest {
  private static final Duration OUTAGE = Duration.ofSeconds(4);
  private static final Pattern RECOVERED = Pattern.compile(
      "INFO report checks round succeeded again after failing for [0-9hms.]+; failed rounds: (\\d+)");

  private static List<String> warnings(LogCapture log) {
    return log.text().lines().filter(l -> l.startsWith("WARN ")).toList();
  }

  /** One warning per loop, with its cause, although every loop failed round after round. */
  private static void assertEachLoopWarnedOnce(LogCapture checks, LogCapture media, LogCapture webhooks,
      LogCapture dispatcher) {
    assertThat(warnings(checks)).singleElement().asString()
        .startsWith("WARN report checks round failed: ").contains("said again at most once every 1m");
    assertThat(warnings(media)).singleElement().asString().startsWith("WARN media round failed: ");
    assertThat(warnings(webhooks)).hasSize(2).anyMatch(l -> l.startsWith("WARN webhook fan-out failed: "))
        .anyMatch(l -> l.startsWith("WARN webhook send round failed: "));
    // Each of the dispatcher's loops (events, the send lanes, the 5-second check) once at the most.
    assertThat(warnings(dispatcher).stream().map(l -> l.replaceFirst(" failed: .*", "")))
        .contains("WARN dispatch round (events)").doesNotHaveDuplicates()
        .allMatch(round -> round.matches("WARN (dispatch round \\((events|sends, lane \\d)\\)|escalation check"
            + "|queue gauge refresh)"));
  }

  @Test
  void eachLoopWarnsOnceDuringAnOutageAndSaysWhenItWorksAgain(TestEnvironment env) throws Exception {
    assumeThat(env.postgres()).as("needs the embedded PostgreSQL, which the test can stop").isNotNull();
    try (LogCapture checks = LogCapture.of(ReportChecksVerticle.class, "%level %msg%n");
         LogCapture media = LogCapture.of(MediaWorkerVerticle.class, "%level %msg%n");
         LogCapture webhooks = LogCapture.of(WebhookDeliveryVerticle.class, "%level %msg%n");
         LogCapture dispatcher = LogCapture.of(OutboxDispatcherVerticle.class, "%level %msg%n")) {
      env.stopPostgres();
      try {
        Thread.sleep(OUTAGE.toMillis());
      } finally {
        env.restartPostgres();
      }
      assertEachLoopWarnedOnce(checks, media, webhooks, dispatcher);

      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> RECOVERED.matcher(checks.text())
          .find() && media.text().contains("INFO media round succeeded again")
          && webhooks.text().contains("INFO webhook fan-out succeeded again")
          && webhooks.text().contains("INFO webhook send round succeeded again")
          && dispatcher.text().contains("INFO dispatch round (events) succeeded again"));
      assertEachLoopWarnedOnce(checks, media, webhooks, dispatcher);
      // The recovery, once, with the rounds that failed unsaid (one every 0.5 s).
      Matcher recovered = RECOVERED.matcher(checks.text());
      assertThat(recovered.find()).isTrue();
      assertThat(Integer.parseInt(recovered.group(1))).as(checks.text()).isGreaterThanOrEqualTo(4);
      assertThat(checks.text().lines().filter(l -> l.startsWith("INFO report checks round succeeded"))).hasSize(1);
    }
  }
}
