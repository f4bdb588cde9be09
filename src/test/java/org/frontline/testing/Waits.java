package org.frontline.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Waiting in a test for what the service does in the background. */
public final class Waits {
  private Waits() {}

  /** Returns once {@code condition} holds (checked every 20 ms); an AssertionError naming {@code what} after timeout. */
  public static void until(Duration timeout, String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("not within " + timeout.toSeconds() + " s: " + what);
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }
}
