package org.frontline.evidence;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The media worker's meters (Prometheus names in brackets): photos processed by outcome
 * ({@code frontline_media_processed_total{outcome}}: {@code done}; {@code not_decoded}, done without dHash and copies;
 * {@code retried}, an attempt failed and the photo waits for the next; {@code failed}, its last attempt failed;
 * {@code abandoned}, its last attempt never finished), the time of one photo from its claim to its recorded checks
 * ({@code frontline_media_processing_seconds}), and gauges refreshed by the worker every few seconds, never per
 * scrape: stored photos waiting for processing ({@code frontline_media_pending}) and how long the oldest has
 * waited ({@code frontline_media_oldest_pending_age_seconds}): the backlog to alert on.
 */
final class MediaMetrics {
  private final MeterRegistry registry;
  private final Timer processing;
  private final AtomicLong pending = new AtomicLong();
  private final AtomicLong oldestPendingMillis = new AtomicLong();

  MediaMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.processing = Timer.builder("frontline.media.processing")
        .description("One photo, from its claim to its recorded checks").register(registry);
    Gauge.builder("frontline.media.pending", pending, AtomicLong::get)
        .description("Stored photos waiting for the media worker").register(registry);
    Gauge.builder("frontline.media.oldest.pending.age", oldestPendingMillis, v -> v.get() / 1000.0)
        .baseUnit("seconds").description("How long the oldest stored photo has waited for the media worker")
        .register(registry);
  }

  void processed(String outcome, long nanos) {
    outcome(outcome);
    processing.record(nanos, TimeUnit.NANOSECONDS);
  }

  void outcome(String outcome) {
    Counter.builder("frontline.media.processed").description("Photos processed by the media worker, by outcome")
        .tag("outcome", outcome).register(registry).increment();
  }

  void backlog(long photos, long oldestMillis) {
    pending.set(photos);
    oldestPendingMillis.set(oldestMillis);
  }
}
