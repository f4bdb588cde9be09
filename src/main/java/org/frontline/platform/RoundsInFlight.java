package org.frontline.platform;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;

/**
 * The rounds of a worker's loops (or the upload PATCHes) still at work, so that a stop can wait for them before the
 * service closes the database pool and the blocking pool beneath them. A stop that only cancelled the loops' timers let a round in
 * flight go on into closed pools: its next step was refused ("Pool closed", a RejectedExecutionException from the
 * blocking pool), the round failed in the log, and its claimed work stayed leased with an attempt used.
 *
 * <p>The wait is bounded ({@link #STOP_WAIT}): work stuck beyond it (a peer that never answers, past its own timeout)
 * is left to its lease, as a crash would leave it, rather than holding the stop for ever.
 *
 * <p>Its methods may be called from any thread; {@link #idle}'s future belongs to no context.
 */
public final class RoundsInFlight {
  private static final Logger LOG = LoggerFactory.getLogger(RoundsInFlight.class);
  /** How long a stop waits for the work in flight. */
  public static final Duration STOP_WAIT = Duration.ofSeconds(10);

  private final String what;
  private int running;
  private Promise<Void> idle;

  /** {@code what}: the work tracked, for the log (e.g. "media rounds"). */
  public RoundsInFlight(String what) {
    this.what = what;
  }

  /** Counts {@code round} as in flight until it completes; returns it. */
  public synchronized <T> Future<T> track(Future<T> round) {
    running++;
    return round.onComplete(done -> ended());
  }

  private void ended() {
    Promise<Void> waiting;
    synchronized (this) {
      if (--running > 0 || idle == null) {
        return;
      }
      waiting = idle;
      idle = null;
    }
    waiting.complete();
  }

  /**
   * Completes once no round tracked so far is in flight (at once when none is), or after {@link #STOP_WAIT} with the
   * rest left to its lease (logged).
   */
  public Future<Void> idle(Vertx vertx) {
    return idle(vertx, STOP_WAIT);
  }

  Future<Void> idle(Vertx vertx, Duration atMost) {
    Future<Void> idle = idle();
    if (idle.isComplete()) {
      return idle;
    }
    Promise<Void> bounded = Promise.promise();
    long timer = vertx.setTimer(atMost.toMillis(), t -> {
      // Said before the stop goes on (a completion first let the stop, and a test reading the log, run ahead of it).
      if (!bounded.future().isComplete()) {
        LOG.warn("Stopping with {} still at work after {} ms: left to their leases", what, atMost.toMillis());
      }
      bounded.tryComplete();
    });
    idle.onComplete(done -> {
      vertx.cancelTimer(timer);
      bounded.tryComplete();
    });
    return bounded.future();
  }

  private synchronized Future<Void> idle() {
    if (running == 0) {
      return Future.succeededFuture();
    }
    if (idle == null) {
      idle = Promise.promise();
    }
    return idle.future();
  }
}
