package org.frontline;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * SIGTERM and Ctrl-C (SIGINT) run the graceful stop once, then exit 0. The JVM's own handling would exit 143/130
 * and run hooks in no particular order; an orchestrator reads a clean stop as exit 0.
 */
final class Shutdown {
  private static final Logger log = LoggerFactory.getLogger(Shutdown.class);

  /** Something to stop; {@code done} is called when stopping finished (successfully or not). */
  interface Stoppable {
    void stop(Runnable done);
  }

  private Shutdown() {}

  static void onSignal(Duration bound, Stoppable stoppable) {
    AtomicBoolean started = new AtomicBoolean();
    Runnable graceful = () -> {
      if (!started.compareAndSet(false, true)) {
        return;
      }
      long t0 = System.nanoTime();
      log.info("stopping: no new connections; in-flight requests get up to {} s", bound.toSeconds());
      CountDownLatch stopped = new CountDownLatch(1);
      stoppable.stop(stopped::countDown);
      try {
        if (!stopped.await(bound.toMillis() + 5_000, TimeUnit.MILLISECONDS)) {
          log.warn("stop did not finish in time; exiting anyway");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      log.info("stopped in {} ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
    };
    for (String name : new String[] {"TERM", "INT"}) {
      Signal.handle(new Signal(name), signal -> new Thread(() -> {
        graceful.run();
        System.exit(0);
      }, "frontline-shutdown").start());
    }
    // Any other way out (System.exit elsewhere, SIGHUP) still stops gracefully.
    Runtime.getRuntime().addShutdownHook(new Thread(graceful, "frontline-shutdown-hook"));
  }
}
