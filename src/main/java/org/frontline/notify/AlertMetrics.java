package org.frontline.notify;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The dispatcher's meters (Prometheus names in brackets): pushes sent ({@code frontline_push_sent_total}), failed by
 * reason ({@code frontline_push_failed_total{reason}}: the FCM error code, e.g. UNREGISTERED, QUOTA_EXCEEDED (the
 * project's quota), or DEVICE_QUOTA_EXCEEDED (one device's own message rate), PAUSED (held back by a quota pause),
 * DEVICE_RETIRED, RECIPIENT_DISABLED, BATCH_FAILED, OTHER), retried ({@code frontline_push_retried_total}), dead-lettered
 * ({@code frontline_push_dead_lettered_total}), escalated events ({@code frontline_alerts_escalated_total}), and
 * gauges refreshed by a periodic query, never per scrape: pending outbox events ({@code frontline_outbox_pending}),
 * the age of the oldest one ({@code frontline_outbox_oldest_pending_age_seconds}), pending push deliveries
 * ({@code frontline_push_pending}) and how far the partner feed lags at most: the age of the oldest open
 * transaction holding a transaction id ({@code frontline_outbox_feed_horizon_age_seconds}).
 */
public final class AlertMetrics {
  private static final Pattern CODE = Pattern.compile("^([A-Z][A-Z_]{2,40})(:|$)");

  private final MeterRegistry registry;
  private final Counter sent;
  private final Counter retried;
  private final Counter deadLettered;
  private final Counter escalated;
  private final AtomicLong pendingEvents = new AtomicLong();
  private final AtomicLong oldestPendingMillis = new AtomicLong();
  private final AtomicLong pendingDeliveries = new AtomicLong();
  private final AtomicLong feedHorizonMillis = new AtomicLong();

  public AlertMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.sent = Counter.builder("frontline.push.sent").description("Pushes FCM accepted").register(registry);
    this.retried = Counter.builder("frontline.push.retried").description("Pushes rescheduled after a temporary failure")
        .register(registry);
    this.deadLettered = Counter.builder("frontline.push.dead.lettered")
        .description("Pushes given up (dead letters, kept with their reason)").register(registry);
    this.escalated = Counter.builder("frontline.alerts.escalated")
        .description("Urgent events re-sent to the supervisors one level up").register(registry);
    Gauge.builder("frontline.outbox.pending", pendingEvents, AtomicLong::get)
        .description("Outbox events not yet dispatched").register(registry);
    Gauge.builder("frontline.outbox.oldest.pending.age", oldestPendingMillis, v -> v.get() / 1000.0)
        .baseUnit("seconds").description("Age of the oldest outbox event not yet dispatched").register(registry);
    Gauge.builder("frontline.push.pending", pendingDeliveries, AtomicLong::get)
        .description("Push deliveries waiting to be sent or retried").register(registry);
    Gauge.builder("frontline.outbox.feed.horizon.age", feedHorizonMillis, v -> v.get() / 1000.0)
        .baseUnit("seconds").description("Age of the oldest open transaction holding a transaction id: the partner"
            + " event feed and webhooks serve no event committed after it started").register(registry);
  }

  void sent() { sent.increment(); }

  void retried() { retried.increment(); }

  void deadLettered() { deadLettered.increment(); }

  void escalated(int n) { escalated.increment(n); }

  /** A push that was not delivered (retried or not), by its reason's code. */
  void failed(String reason) {
    Counter.builder("frontline.push.failed").description("Pushes not delivered, by reason")
        .tag("reason", reasonCode(reason)).register(registry).increment();
  }

  void queue(long events, long oldestMillis, long deliveries, long feedHorizon) {
    pendingEvents.set(events);
    oldestPendingMillis.set(oldestMillis);
    pendingDeliveries.set(deliveries);
    feedHorizonMillis.set(feedHorizon);
  }

  /** A bounded label: the FCM/platform code at the start of a reason, or a fixed word. */
  static String reasonCode(String reason) {
    if (reason == null) {
      return "OTHER";
    }
    Matcher m = CODE.matcher(reason);
    if (m.find()) {
      return m.group(1);
    }
    String r = reason.toLowerCase(Locale.ROOT);
    if (r.startsWith("device retired")) {
      return "DEVICE_RETIRED";
    }
    if (r.startsWith("recipient account disabled")) {
      return "RECIPIENT_DISABLED";
    }
    if (r.startsWith("recipient no longer holds")) {
      return "RECIPIENT_ROLE_REMOVED";
    }
    if (r.startsWith("recipient no longer covers")) {
      return "RECIPIENT_OUT_OF_SCOPE";
    }
    if (r.startsWith("sendeach")) {
      return "BATCH_FAILED";
    }
    if (r.startsWith("invalid message")) {
      return "INVALID_MESSAGE";
    }
    if (r.startsWith("gave up")) {
      return "GAVE_UP";
    }
    return "OTHER";
  }
}
