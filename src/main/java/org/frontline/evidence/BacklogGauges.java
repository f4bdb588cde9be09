package org.frontline.evidence;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.slf4j.Logger;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * A worker's backlog as two gauges, {@code {prefix}.pending} (items waiting) and {@code {prefix}.oldest.pending.age}
 * (seconds the oldest has waited): set by the worker from one query every few seconds, never computed per scrape.
 * A second instance in the same registry (tests deploy more workers) finds the gauges registered and sets figures
 * nobody reads: the same query answers the same figures for every instance.
 */
final class BacklogGauges {
  private final AtomicLong pending = new AtomicLong();
  private final AtomicLong oldestPendingMillis = new AtomicLong();

  /** @param what what waits, for the descriptions ("Stored photos"), and for whom ("the media worker") */
  BacklogGauges(MeterRegistry registry, String prefix, String what, String worker) {
    Gauge.builder(prefix + ".pending", pending, AtomicLong::get)
        .description(what + " waiting for " + worker).register(registry);
    Gauge.builder(prefix + ".oldest.pending.age", oldestPendingMillis, v -> v.get() / 1000.0)
        .baseUnit("seconds").description("How long the oldest of the " + what.toLowerCase(java.util.Locale.ROOT)
            + " has waited for " + worker).register(registry);
  }

  void set(EvidenceRepository.Backlog backlog) {
    pending.set(backlog.count());
    oldestPendingMillis.set(backlog.oldestMillis());
  }

  /**
   * Reads a worker's backlog with {@code read} now and every {@code every} into {@code set} (whichever instances
   * run it, the same figures); a failed read is logged at debug level, naming {@code what}. Returns the periodic
   * timer, for the worker to cancel when it stops.
   */
  static long refreshEvery(Vertx vertx, Duration every, Supplier<Future<EvidenceRepository.Backlog>> read,
                           Consumer<EvidenceRepository.Backlog> set, Logger log, String what) {
    Runnable refresh = () -> read.get().onSuccess(set::accept)
        .onFailure(e -> log.debug("{} not read: {}", what, e.toString()));
    refresh.run();
    return vertx.setPeriodic(every.toMillis(), id -> refresh.run());
  }
}
