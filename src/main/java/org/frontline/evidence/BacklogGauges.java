package org.frontline.evidence;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.concurrent.atomic.AtomicLong;

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
}
