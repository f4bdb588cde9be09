package org.frontline.platform;

import io.vertx.core.Future;
import org.frontline.testing.LogCapture;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/** The timing of {@link RoundFailures}'s lines, on a clock the test moves. */
class RoundFailuresTest {
  private static final Exception DOWN = new IllegalStateException("database down");
  private final AtomicLong now = new AtomicLong(1_000_000_000L);
  private final RoundFailures rounds = new RoundFailures(LoggerFactory.getLogger(RoundFailuresTest.class),
      "test round", now::get);

  /** Moves the clock on by {@code by}, then ends one round as {@code outcome}. */
  private void after(Duration by, Future<?> outcome) {
    now.addAndGet(by.toNanos());
    rounds.record(outcome);
  }

  /** The repeated warning, {@code after} the first failure. */
  private static String stillFailing(String after, int failed, int sinceWarned, String cause) {
    return "WARN test round still failing after " + after + "; failed rounds: " + failed + ", " + sinceWarned
        + " of them since the last warning; the last: java.lang.IllegalStateException: " + cause;
  }

  @Test
  void aRunOfFailuresIsSaidOnceThenOnceAMinuteThenItsEndOnce() {
    try (LogCapture log = LogCapture.of(RoundFailuresTest.class, "%level %msg%n")) {
      after(Duration.ZERO, Future.succeededFuture());
      assertThat(log.text()).as("rounds that succeed say nothing").isEmpty();

      after(Duration.ZERO, Future.failedFuture(DOWN));
      for (int i = 0; i < 119; i++) {
        after(Duration.ofMillis(500), Future.failedFuture(DOWN));
      }
      assertThat(log.text()).isEqualTo("WARN test round failed: java.lang.IllegalStateException: database down"
          + " (said again at most once every 1m while its rounds keep failing)\n");

      // A minute after the first line: once more, with the rounds failed since.
      after(Duration.ofMillis(500), Future.failedFuture(new IllegalStateException("still down")));
      for (int i = 0; i < 119; i++) {
        after(Duration.ofMillis(500), Future.failedFuture(DOWN));
      }
      after(Duration.ofMillis(500), Future.failedFuture(DOWN));
      after(Duration.ofMillis(500), Future.failedFuture(DOWN));
      assertThat(log.text().lines().skip(1)).containsExactly(stillFailing("1m", 121, 120, "still down"),
          stillFailing("2m", 241, 120, "database down"));

      after(Duration.ofMillis(4_500), Future.succeededFuture());
      after(Duration.ofMillis(500), Future.succeededFuture());
      assertThat(log.text().lines().skip(3)).containsExactly(
          "INFO test round succeeded again after failing for 2m5s; failed rounds: 242");

      // The next outage is a new run: said at once, its own count and time.
      after(Duration.ofMinutes(10), Future.failedFuture(DOWN));
      after(Duration.ofMillis(1_250), Future.succeededFuture());
      assertThat(log.text().lines().skip(4)).containsExactly(
          "WARN test round failed: java.lang.IllegalStateException: database down"
              + " (said again at most once every 1m while its rounds keep failing)",
          "INFO test round succeeded again after failing for 1.25s; failed rounds: 1");
    }
  }

  @Test
  void roundsFarApartAreEachSaidWhileTheyKeepFailing() {
    // A loop with rounds a minute or more apart (the upload sweep) still says each failure.
    try (LogCapture log = LogCapture.of(RoundFailuresTest.class, "%level %msg%n")) {
      after(Duration.ZERO, Future.failedFuture(DOWN));
      after(Duration.ofMinutes(1), Future.failedFuture(DOWN));
      after(Duration.ofMinutes(1), Future.failedFuture(DOWN));
      assertThat(log.text().lines().skip(1)).containsExactly(stillFailing("1m", 2, 1, "database down"),
          stillFailing("2m", 3, 1, "database down"));
    }
  }
}
