package org.frontline.platform;

import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.time.Duration;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * A background round every interval (the first after one interval), never two at once: a round still at work when
 * the next is due lets that one pass. Each outcome goes to the loop's {@link RoundFailures}, and a success's result
 * to {@code succeeded} (say what it did). Started and stopped on one event loop.
 */
public final class PeriodicRounds<T> {
  private final Supplier<Future<T>> round;
  private final RoundFailures failures;
  private final Consumer<T> succeeded;
  private final RoundsInFlight inFlight = new RoundsInFlight("periodic rounds");
  private long timer = -1;
  private boolean running;

  public PeriodicRounds(Supplier<Future<T>> round, RoundFailures failures, Consumer<T> succeeded) {
    this.round = round;
    this.failures = failures;
    this.succeeded = succeeded;
  }

  public void start(Vertx vertx, Duration interval) {
    timer = vertx.setPeriodic(interval.toMillis(), id -> {
      if (running) {
        return; // the previous round is still at work
      }
      running = true;
      Future<T> started;
      try {
        started = round.get();
      } catch (RuntimeException e) {
        started = Future.failedFuture(e);
      }
      inFlight.track(started).onComplete(done -> {
        running = false;
        failures.record(done);
        if (done.succeeded()) {
          succeeded.accept(done.result());
        }
      });
    });
  }

  /**
   * No round starts any more; completes once the round at work (if any) has ended, so that the database and the
   * pools it uses are closed only after it.
   */
  public Future<Void> stop(Vertx vertx) {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
    return inFlight.idle(vertx);
  }
}
