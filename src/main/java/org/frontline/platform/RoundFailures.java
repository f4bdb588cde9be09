package org.frontline.platform;

import io.vertx.core.AsyncResult;
import org.slf4j.Logger;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * The log of one worker loop's rounds. During an outage of the database or the object store a loop fails every
 * round (every 0.5 s for most): a warning each would bury everything else. This one warns when the rounds start
 * failing (with the cause), then at most once every {@link #REPEAT} while they keep failing (with how many failed),
 * and logs one INFO line when a round succeeds again (with how long the failures lasted).
 *
 * <p>One instance per loop, logging through the loop's own logger. Its methods may be called from any thread.
 */
public final class RoundFailures {
  /** How often a run of failures is told again while it lasts, at the most. */
  public static final Duration REPEAT = Duration.ofMinutes(1);

  private final Logger log;
  private final String round;
  private final LongSupplier nanoTime;
  /** Rounds failed in a row (0: the last round succeeded), since when, and when that was last said. */
  private long failed;
  private long since;
  private long warned;
  private long failedSinceWarned;

  /** {@code round} names the loop's round in the log lines, e.g. "media round". */
  public RoundFailures(Logger log, String round) {
    this(log, round, System::nanoTime);
  }

  /** {@code nanoTime}: the clock durations are read from ({@link System#nanoTime}, but in tests). */
  public RoundFailures(Logger log, String round, LongSupplier nanoTime) {
    this.log = Objects.requireNonNull(log, "log");
    this.round = Objects.requireNonNull(round, "round");
    this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
  }

  /** A round ended: {@link #failed} or {@link #succeeded}, as {@code outcome} did. */
  public void record(AsyncResult<?> outcome) {
    if (outcome.failed()) {
      failed(outcome.cause());
    } else {
      succeeded();
    }
  }

  /** A round failed: warned at once when it is the first of a run of failures, else at most every REPEAT. */
  public synchronized void failed(Throwable cause) {
    long now = nanoTime.getAsLong();
    failed++;
    if (failed == 1) {
      since = now;
      warned = now;
      failedSinceWarned = 0;
      log.warn("{} failed: {} (said again at most once every {} while its rounds keep failing)", round,
          cause.toString(), text(REPEAT));
      return;
    }
    failedSinceWarned++;
    if (now - warned >= REPEAT.toNanos()) {
      log.warn("{} still failing after {}; failed rounds: {}, {} of them since the last warning; the last: {}",
          round, elapsed(now), failed, failedSinceWarned, cause.toString());
      warned = now;
      failedSinceWarned = 0;
    }
  }

  /** A round succeeded: after failed ones, said once. */
  public synchronized void succeeded() {
    if (failed > 0) {
      log.info("{} succeeded again after failing for {}; failed rounds: {}", round, elapsed(nanoTime.getAsLong()),
          failed);
      failed = 0;
    }
  }

  private String elapsed(long now) {
    return text(Duration.ofNanos(now - since));
  }

  /** A duration as 1h2m3.456s (milliseconds at the most). */
  private static String text(Duration duration) {
    return duration.truncatedTo(ChronoUnit.MILLIS).toString().substring(2).toLowerCase(Locale.ROOT);
  }
}
