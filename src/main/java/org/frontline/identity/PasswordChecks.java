package org.frontline.identity;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;

import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Login's password checks (Argon2id: about 85 ms of a core and 19 MiB each) on a named pool of their own, with a
 * bound on how many may be admitted at once (running or waiting for a thread). They ran on Vert.x's default worker
 * pool, whose queue has no bound and which other work shares: attempts from many addresses (each within its
 * throttle) queued without end, held both cores and 20 x 19 MiB, and made everything else on that pool wait.
 * Beyond the bound a check is not admitted: the caller answers 503 and the attempt is given back.
 */
public final class PasswordChecks {
  public static final String POOL = "frontline-passwords";
  /** Half the cores (at least one): a flood of wrong passwords leaves the rest of the processor to everything else. */
  public static final int THREADS = Math.max(1, Runtime.getRuntime().availableProcessors() / 2);
  /** Checks admitted at once: a waiting one starts within about this many checks' time (16 x 85 ms per thread). */
  public static final int MAX_ADMITTED = 16 * THREADS;

  private final WorkerExecutor executor;
  private final int maxAdmitted;
  private final AtomicInteger admitted = new AtomicInteger();

  public PasswordChecks(Vertx vertx) {
    this(vertx.createSharedWorkerExecutor(POOL, THREADS, 1, TimeUnit.MINUTES), MAX_ADMITTED);
  }

  PasswordChecks(WorkerExecutor executor, int maxAdmitted) {
    this.executor = executor;
    this.maxAdmitted = maxAdmitted;
  }

  /** A check not admitted (nothing was run). */
  public static final class Full extends RuntimeException {
    Full() {
      super("as many password checks as allowed are under way", null, false, false);
    }
  }

  /** Runs {@code check} on the pool; fails with {@link Full} when as many checks as allowed are admitted already. */
  public <T> Future<T> admit(Callable<T> check) {
    if (admitted.incrementAndGet() > maxAdmitted) {
      admitted.decrementAndGet();
      return Future.failedFuture(new Full());
    }
    return executor.executeBlocking(check, false).andThen(done -> admitted.decrementAndGet());
  }

  /** Runs {@code work} on the pool whatever the number admitted (the dummy hash, computed once). */
  <T> Future<T> run(Callable<T> work) {
    return executor.executeBlocking(work, false);
  }

  public Future<Void> close() {
    return executor.close();
  }
}
