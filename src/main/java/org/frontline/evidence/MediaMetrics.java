package org.frontline.evidence;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.util.concurrent.TimeUnit;

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
  private final BacklogGauges backlog;

  MediaMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.processing = Timer.builder("frontline.media.processing")
        .description("One photo, from its claim to its recorded checks").register(registry);
    this.backlog = new BacklogGauges(registry, "frontline.media", "Stored photos", "the media worker");
  }

  void processed(String outcome, long nanos) {
    outcome(outcome);
    processing.record(nanos, TimeUnit.NANOSECONDS);
  }

  void outcome(String outcome) {
    Counter.builder("frontline.media.processed").description("Photos processed by the media worker, by outcome")
        .tag("outcome", outcome).register(registry).increment();
  }

  void backlog(EvidenceRepository.Backlog photos) {
    backlog.set(photos);
  }
}
