package org.frontline.uploads;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClosedException;

import java.util.ArrayDeque;

/**
 * Bounds the memory of all PATCH bodies being received at once: a receiver holds one permit (room for one part
 * plus a chunk) from the moment it starts reading a body until the body is dealt with. Bodies beyond the permits
 * stay paused (TCP pushes back on their clients) until a permit is free, first come first served. Without it, 200
 * concurrent uploads would each hold a 5 MiB part: 1 GiB of heap.
 */
final class PartBudget {
  /** Heap per permit: the part, its copy handed to the S3 client while it is sent, and headroom. */
  static final long BYTES_PER_PERMIT = 4L * ChunkReceiver.PART_SIZE;

  private final int permits;
  private int available;
  private final ArrayDeque<Runnable> waiting = new ArrayDeque<>();

  PartBudget(int permits) {
    if (permits < 1) {
      throw new IllegalArgumentException("permits must be positive");
    }
    this.permits = permits;
    this.available = permits;
  }

  /** Permits from the heap this JVM may use: a quarter of it in part buffers, between 2 and 64. */
  static PartBudget fromHeap() {
    long max = Runtime.getRuntime().maxMemory();
    return new PartBudget((int) Math.max(2, Math.min(64, max / 4 / (ChunkReceiver.PART_SIZE + 64 * 1024))));
  }

  int permits() {
    return permits;
  }

  /** A permit, on the caller's context once granted. */
  Future<Void> acquire() {
    return acquire(Promise.<Void>promise().future());
  }

  /**
   * A permit, on the caller's context once granted; or, when {@code gone} completes first (the client's connection
   * closed while its body waits), a failure and no permit: the waiter leaves the queue. A waiter is either granted
   * (taken from the queue by {@link #release}) or leaves it, never both, so each permit granted is released once.
   */
  Future<Void> acquire(Future<?> gone) {
    Context context = Vertx.currentContext();
    Promise<Void> promise = Promise.promise();
    Runnable grant = () -> {
      if (context == null) {
        promise.complete();
      } else {
        context.runOnContext(v -> promise.complete());
      }
    };
    synchronized (this) {
      if (available > 0) {
        available--;
        return Future.succeededFuture();
      }
      waiting.add(grant);
    }
    gone.onComplete(ignored -> {
      boolean left;
      synchronized (this) {
        left = waiting.remove(grant);
      }
      if (left) {
        promise.fail(new HttpClosedException("the connection was closed while the body waited for a part permit"));
      }
    });
    return promise.future();
  }

  /** Bodies waiting for a permit now. */
  synchronized int waiting() {
    return waiting.size();
  }

  /** Permits free now. */
  synchronized int available() {
    return available;
  }

  void release() {
    Runnable next;
    synchronized (this) {
      next = waiting.poll();
      if (next == null) {
        available = Math.min(permits, available + 1);
        return;
      }
    }
    next.run(); // the permit passes straight to the next waiter
  }
}
