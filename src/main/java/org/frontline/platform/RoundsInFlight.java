package org.frontline.platform;

import io.vertx.core.Future;
import io.vertx.core.Promise;

/**
 * The rounds of a worker's loops (or the upload PATCHes) still at work, so that a stop can wait for them before the
 * service closes the database pool and the blocking pool beneath them. A stop that only cancelled the loops' timers let a round in
 * flight go on into closed pools: its next step was refused ("Pool closed", a RejectedExecutionException from the
 * blocking pool), the round failed in the log, and its claimed work stayed leased with an attempt used.
 *
 * <p>Its methods may be called from any thread; {@link #idle()}'s future belongs to no context.
 */
public final class RoundsInFlight {
  private int running;
  private Promise<Void> idle;

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

  /** Completes once no round tracked so far is in flight (at once when none is). */
  public synchronized Future<Void> idle() {
    if (running == 0) {
      return Future.succeededFuture();
    }
    if (idle == null) {
      idle = Promise.promise();
    }
    return idle.future();
  }
}
