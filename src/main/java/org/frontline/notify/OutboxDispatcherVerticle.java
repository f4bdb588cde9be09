package org.frontline.notify;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import org.frontline.notify.AlertRules.OutboxEvent;
import org.frontline.notify.AlertRules.Rule;
import org.frontline.notify.AlertRules.Text;
import org.frontline.notify.DispatchRepository.Alert;
import org.frontline.notify.DispatchRepository.Cost;
import org.frontline.notify.DispatchRepository.Due;
import org.frontline.notify.DispatchRepository.Outcome;
import org.frontline.audit.AuditLog;
import org.frontline.platform.RoundFailures;
import org.frontline.platform.RoundsInFlight;
import org.frontline.platform.db.Database;
import org.frontline.platform.push.PushGateway;
import org.frontline.platform.push.PushMessage;
import org.frontline.platform.push.PushResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Turns outbox events into alerts and pushes them, in independent loops: one claims a batch of events (lease)
 * and writes their notifications and push deliveries in one transaction as {@link AlertRules} says
 * ({@link FloodControl} deciding each recipient's push); {@link #SEND_LANES} others each claim a batch of due
 * deliveries (lease, one sendEach of 500) and send it through the {@link PushGateway}. A periodic check escalates unopened urgent alerts
 * ({@link Escalations}) and refreshes the queue gauges ({@link AlertMetrics}). Any number of instances, in this
 * process or others, may run side by side: they share work through the database only.
 *
 * <p>Delivery outcomes: Delivered -> SENT; TokenInvalid -> DEAD and the device retired; PermanentFailure -> DEAD
 * (dead letter, kept with its reason); RetryAfter -> retried no sooner than Retry-After nor the exponential backoff
 * with jitter, and DEAD after {@link Settings#maxAttempts} attempts; a project quota RetryAfter (FCM's quota
 * exhausted) -> retried after the pause, no attempt spent; a device quota RetryAfter (that device's own message rate)
 * -> that delivery alone retried after Retry-After or its own backoff ({@link #deviceThrottleDelay}), no attempt
 * spent, nothing paused. While the gateway pauses ({@link PushGateway#paused()}), no delivery is claimed.
 */
public final class OutboxDispatcherVerticle extends VerticleBase {
  private static final Logger log = LoggerFactory.getLogger(OutboxDispatcherVerticle.class);

  /**
   * Tuning; {@link #defaults()} suits production and tests. {@code flood}: see {@link FloodControl} (off in the
   * defaults; the service sets it from its configuration). {@code escalateAfter}/{@code urgentKinds}: an alert of an
   * urgent kind nobody opened within that time is escalated (see {@link #escalateDue()}). {@code checkInterval}:
   * how often escalations are looked for and the queue gauges refreshed.
   */
  public record Settings(Duration busyDelay, Duration idleDelay, int eventBatch, int deliveryBatch, Duration lease,
      int maxAttempts, Duration backoffBase, Duration backoffCap, Duration sweepInterval, FloodControl flood,
      Duration escalateAfter, java.util.Set<String> urgentKinds, Duration checkInterval) {
    public static Settings defaults() {
      return new Settings(Duration.ofMillis(200), Duration.ofMillis(250), 200, PushGateway.MAX_BATCH,
          Duration.ofSeconds(60), 8,
          Duration.ofSeconds(1), Duration.ofHours(1), Duration.ofHours(1), FloodControl.OFF,
          Duration.ofMinutes(30), AlertRules.urgentKinds(), Duration.ofSeconds(5));
    }

    public Settings withFlood(FloodControl flood) {
      return new Settings(busyDelay, idleDelay, eventBatch, deliveryBatch, lease, maxAttempts, backoffBase,
          backoffCap, sweepInterval, flood, escalateAfter, urgentKinds, checkInterval);
    }

    public Settings withEscalation(Duration escalateAfter, java.util.Set<String> urgentKinds) {
      return new Settings(busyDelay, idleDelay, eventBatch, deliveryBatch, lease, maxAttempts, backoffBase,
          backoffCap, sweepInterval, flood, escalateAfter, java.util.Set.copyOf(urgentKinds), checkInterval);
    }

    public Settings withLease(Duration lease) {
      return new Settings(busyDelay, idleDelay, eventBatch, deliveryBatch, lease, maxAttempts, backoffBase,
          backoffCap, sweepInterval, flood, escalateAfter, urgentKinds, checkInterval);
    }

    public Settings withCheckInterval(Duration checkInterval) {
      return new Settings(busyDelay, idleDelay, eventBatch, deliveryBatch, lease, maxAttempts, backoffBase,
          backoffCap, sweepInterval, flood, escalateAfter, urgentKinds, checkInterval);
    }
  }

  private final DispatchRepository repository;
  private final DeviceRepository devices;
  private final PushGateway push;
  private final Settings settings;
  private final Escalations escalations;
  private final AlertMetrics metrics;
  private long checkTimer = -1;
  private final String instance = "dispatcher-" + UUID.randomUUID();
  /** Numbers this instance's claimed delivery batches ({@link #nextClaim()}). */
  private final java.util.concurrent.atomic.AtomicLong claims = new java.util.concurrent.atomic.AtomicLong();
  private volatile boolean stopping;
  private long timer = -1;
  /**
   * Send loops side by side, each claiming its own batch of one sendEach: while one waits for FCM, the other claims
   * or records, so FCM is never idle for our database round trips (bench/push).
   */
  static final int SEND_LANES = 2;
  private final long[] sendTimers = java.util.stream.LongStream.generate(() -> -1).limit(SEND_LANES).toArray();
  private final RoundFailures eventRounds = new RoundFailures(log, "dispatch round (events)");
  private final RoundFailures[] sendRounds = java.util.stream.IntStream.range(0, SEND_LANES)
      .mapToObj(lane -> new RoundFailures(log, "dispatch round (sends, lane " + lane + ")"))
      .toArray(RoundFailures[]::new);
  private final RoundFailures sweepRounds = new RoundFailures(log, "idle device sweep");
  private final RoundFailures escalationRounds = new RoundFailures(log, "escalation check");
  private final RoundFailures gaugeRounds = new RoundFailures(log, "queue gauge refresh");
  /** The loops' rounds at work, which {@link #stop} waits for (MediaWorkerVerticle.stop). */
  private final RoundsInFlight working = new RoundsInFlight("dispatcher loops");
  private long sweepTimer = -1;

  /**
   * The name this instance claims events under ({@code outbox.claimed_by}); its delivery batches are claimed under
   * {@link #nextClaim()}, which starts with it.
   */
  String instance() {
    return instance;
  }

  /**
   * A new claim token for one batch of deliveries: the instance, then the batch's number. Not the instance alone:
   * the send lanes of one instance would share it, so when a lane's send outlived its lease and another lane claimed
   * the same deliveries again, the first lane's late outcome would pass {@code record}'s claim check, overwrite the
   * second's and release its claim (a third claim would then send again).
   */
  String nextClaim() {
    return instance + ":" + claims.incrementAndGet();
  }

  /** A dispatcher whose meters go nowhere (tests' extra instances). */
  public OutboxDispatcherVerticle(Database database, PushGateway push, Settings settings) {
    this(database, push, settings, new AuditLog(), new io.micrometer.core.instrument.simple.SimpleMeterRegistry());
  }

  public OutboxDispatcherVerticle(Database database, PushGateway push, Settings settings, AuditLog audit,
      io.micrometer.core.instrument.MeterRegistry registry) {
    this.repository = new DispatchRepository(database.pool());
    this.devices = new DeviceRepository(database.pool());
    this.escalations = new Escalations(database.pool(), audit);
    this.push = Objects.requireNonNull(push, "push");
    this.settings = Objects.requireNonNull(settings, "settings");
    this.metrics = new AlertMetrics(registry);
  }

  @Override
  public Future<?> start() {
    schedule(Duration.ofMillis(10));
    sweepTimer = vertx.setPeriodic(settings.sweepInterval().toMillis(), id -> working.track(devices.retireIdle())
        .onComplete(sweepRounds::record)
        .onSuccess(n -> {
          if (n > 0) {
            log.info("retired {} device tokens idle for over {} days", n, DeviceRepository.IDLE_DAYS);
          }
        }));
    checkTimer = vertx.setPeriodic(10, settings.checkInterval().toMillis(), id -> check());
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    vertx.cancelTimer(timer);
    for (long t : sendTimers) {
      vertx.cancelTimer(t);
    }
    vertx.cancelTimer(sweepTimer);
    vertx.cancelTimer(checkTimer);
    // The loops at work finish (a claimed batch's pushes sent and recorded) while the pools are open.
    return working.idle(vertx);
  }

  /**
   * Independent loops, each rescheduling itself: one turns events into deliveries, {@link #SEND_LANES} others send
   * the due deliveries, so database work overlaps the wait for FCM. A loop that found a full batch goes again at once (more
   * is waiting); one that found some work after {@code busyDelay}; an idle one after {@code idleDelay}.
   */
  private void schedule(Duration delay) {
    scheduleEvents(delay);
    for (int lane = 0; lane < SEND_LANES; lane++) {
      scheduleSends(lane, delay);
    }
  }

  private void scheduleEvents(Duration delay) {
    if (!stopping) {
      timer = vertx.setTimer(Math.max(1, delay.toMillis()), id -> loop(this::dispatchEvents, settings.eventBatch(),
          eventRounds, this::scheduleEvents));
    }
  }

  private void scheduleSends(int lane, Duration delay) {
    if (!stopping) {
      sendTimers[lane] = vertx.setTimer(Math.max(1, delay.toMillis()), id -> loop(this::sendDue,
          settings.deliveryBatch(), sendRounds[lane], next -> scheduleSends(lane, next)));
    }
  }

  /**
   * New deliveries were just written: send loops waiting out an idle or busy pause go at once instead (a loop that
   * is running has no pending timer, so cancelling fails and it is left alone). Runs on this verticle's context,
   * like the loops themselves.
   */
  private void wakeSends() {
    for (int lane = 0; lane < SEND_LANES; lane++) {
      if (vertx.cancelTimer(sendTimers[lane])) {
        scheduleSends(lane, Duration.ZERO);
      }
    }
  }

  private void loop(java.util.function.Supplier<Future<Integer>> work, int batch, RoundFailures rounds,
      java.util.function.Consumer<Duration> next) {
    working.track(work.get()).onComplete(ar -> {
      rounds.record(ar);
      if (ar.failed()) {
        // Whatever was claimed stays leased and is claimed again when the lease expires: nothing is lost.
        next.accept(settings.idleDelay());
      } else if (ar.result() >= batch) {
        next.accept(Duration.ZERO);
      } else {
        next.accept(ar.result() > 0 ? settings.busyDelay() : settings.idleDelay());
      }
    });
  }

  /** The periodic check: escalations due, then the queue gauges (one query, not one per scrape). */
  private void check() {
    working.track(escalateDue()
        .onComplete(escalationRounds::record)
        .eventually(() -> repository.queueDepth().onSuccess(q -> metrics.queue(q[0], q[1], q[2], q[3]))
            .onComplete(gaugeRounds::record)));
  }

  /**
   * Escalates the urgent events whose alerts nobody opened within {@link Settings#escalateAfter}, once each; the
   * number sent one level up (an event of the root unit is only marked and audited: not counted).
   */
  public Future<Integer> escalateDue() {
    if (settings.urgentKinds().isEmpty()) {
      return Future.succeededFuture(0);
    }
    return escalations.escalateDue(settings.urgentKinds(), settings.escalateAfter()).onSuccess(n -> {
      if (n > 0) {
        metrics.escalated(n);
        log.info("escalated {} unopened urgent alerts to the supervisors one level up", n);
      }
    });
  }

  /**
   * Claims a batch of events and dispatches them in one transaction: each rule's recipients query runs once for all
   * the batch's events of that rule, then the alerts of all of them are written in event id order
   * ({@link DispatchRepository#writeAlerts(io.vertx.sqlclient.SqlConnection, List, FloodControl)}). One transaction
   * per event cost about as much as FCM's whole fan-out (bench/push). The number handled.
   */
  Future<Integer> dispatchEvents() {
    return repository.claimEvents(instance, settings.eventBatch(), settings.lease())
        .compose(events -> events.isEmpty() ? Future.succeededFuture(0)
            : writeEvents(events).recover(e -> oneByOne(events, e)).onSuccess(v -> wakeSends()).map(events.size()));
  }

  /**
   * A batch failed as a whole: each event again in a transaction of its own, so one event its rule cannot handle
   * does not hold back the others. One that fails alone keeps its lease and is claimed again later; once it has
   * been claimed {@link #POISON_CLAIMS} times it is set aside with the reason (outbox.dispatch_error).
   */
  private Future<Void> oneByOne(List<OutboxEvent> events, Throwable batchFailure) {
    log.warn("an event batch failed ({}); dispatching its {} events one by one", batchFailure.toString(),
        events.size());
    Future<Void> chain = Future.succeededFuture();
    for (OutboxEvent event : events) {
      chain = chain.compose(v -> writeEvents(List.of(event)).recover(e -> repository
          .setAside(event.id(), instance, POISON_CLAIMS, e.toString())
          .map(setAside -> {
            log.warn("outbox event {} ({}) failed to dispatch{}: {}", event.id(), event.eventType(),
                setAside ? " and is set aside" : "", e.toString());
            return null;
          })));
    }
    return chain;
  }

  /** Claims after which an event that fails on its own is set aside. */
  static final int POISON_CLAIMS = 5;

  private Future<Void> writeEvents(List<OutboxEvent> events) {
    return repository.inTransaction(conn -> {
          // Events grouped by rule: one recipients statement per rule for the whole batch.
          Map<Rule, List<OutboxEvent>> byRule = new java.util.LinkedHashMap<>();
          for (OutboxEvent event : events) {
            AlertRules.forEvent(event.eventType())
                .ifPresent(rule -> byRule.computeIfAbsent(rule, r -> new ArrayList<>()).add(event));
          }
          List<Future<Map<Long, List<DispatchRepository.Recipient>>>> queries = new ArrayList<>();
          byRule.forEach((rule, ofRule) -> queries.add(repository.recipients(conn, rule.recipientsSql(), ofRule)));
          return Future.all(queries).compose(v -> {
            Map<Long, List<DispatchRepository.Recipient>> recipients = new HashMap<>();
            queries.forEach(q -> recipients.putAll(q.result()));
            List<DispatchRepository.EventAlerts> alerts = new ArrayList<>(events.size());
            for (OutboxEvent event : events) {
              alerts.add(alerts(event, recipients.getOrDefault(event.id(), List.of())));
            }
            return repository.writeAlerts(conn, alerts, settings.flood());
          });
        });
  }

  /** The alerts of one event to its recipients, as its rule says (none for an event no rule knows). */
  private static DispatchRepository.EventAlerts alerts(OutboxEvent event,
      List<DispatchRepository.Recipient> recipients) {
    Rule rule = AlertRules.forEvent(event.eventType()).orElse(null);
    if (rule == null) {
      return new DispatchRepository.EventAlerts(event.id(), List.of());
    }
    JsonObject data = new JsonObject(new HashMap<>(rule.data().data(event)));
    String collapseKey = rule.collapseKey().of(event);
    List<Alert> alerts = new ArrayList<>(recipients.size());
    for (DispatchRepository.Recipient r : recipients) {
      Text text = rule.message().format(event, r.locale(), r.subject());
      alerts.add(new Alert(event.id(), event.eventType(), r.accountId(), text.title(), text.body(), data,
          collapseKey, r.locale()));
    }
    return new DispatchRepository.EventAlerts(event.id(), alerts);
  }

  /** Claims the due deliveries, sends them, records each outcome; the number handled. */
  Future<Integer> sendDue() {
    if (!push.paused().isZero()) {
      // FCM's quota is exhausted (the gateway pauses the whole process): nothing is claimed, the due deliveries
      // stay pending with their attempts untouched, and the lane looks again after its idle pause (in memory).
      return Future.succeededFuture(0);
    }
    String claim = nextClaim();
    return repository.claimDeliveries(claim, settings.deliveryBatch(), settings.lease())
        .compose(due -> {
          if (due.isEmpty()) {
            return Future.succeededFuture(0);
          }
          List<Outcome> outcomes = new ArrayList<>(due.size());
          List<Due> live = new ArrayList<>(due.size());
          for (Due d : due) {
            if (d.live()) {
              live.add(d);
            } else {
              outcomes.add(new Outcome(d.id(), "DEAD", null, d.notLive(), null));
              metrics.failed(d.notLive());
            }
          }
          List<PushMessage> messages = live.stream().map(OutboxDispatcherVerticle::message).toList();
          Future<List<PushResult>> sent = messages.isEmpty()
              ? Future.succeededFuture(List.of()) : keepingLease(claim, due, push.send(messages));
          return sent.compose(results -> {
            List<String> deadTokens = new ArrayList<>();
            for (int i = 0; i < live.size(); i++) {
              outcomes.add(outcome(live.get(i), results.get(i), deadTokens));
            }
            return repository.record(claim, outcomes, deadTokens).onSuccess(v -> {
              for (Outcome o : outcomes) {
                switch (o.status()) {
                  case "SENT" -> metrics.sent();
                  case "PENDING" -> metrics.retried();
                  default -> metrics.deadLettered();
                }
              }
            });
          }).map(due.size());
        });
  }

  /** How long a batch's lease is renewed at most while its send is in flight (see {@link #keepingLease}). */
  static final Duration MAX_SEND = Duration.ofMinutes(15);

  /**
   * Renews the batch's lease every third of it while its send is in flight, for at most {@link #MAX_SEND}. One
   * sendEach can outlast the lease: the SDK retries a 503 itself up to 4 times, waiting out Retry-After (up to 60 s
   * each), and the lease is 60 s. Another lane or instance then claimed the same deliveries and pushed them again
   * while the first send was still going (both reached the phone once FCM recovered). A dead instance renews
   * nothing, so its claims still expire after one lease; the cap keeps a send that never ends from holding its
   * deliveries forever.
   */
  private <T> Future<T> keepingLease(String claim, List<Due> batch, Future<T> send) {
    if (send.isComplete()) {
      return send;
    }
    Long[] ids = batch.stream().map(Due::id).toArray(Long[]::new);
    long every = Math.max(1, settings.lease().toMillis() / 3);
    long giveUpAt = System.nanoTime() + MAX_SEND.toNanos();
    long timer = vertx.setPeriodic(every, id -> {
      if (System.nanoTime() - giveUpAt > 0) {
        vertx.cancelTimer(id);
        log.warn("a push batch has been sending for over {}: its lease is no longer renewed", MAX_SEND);
        return;
      }
      repository.renewDeliveries(claim, ids, settings.lease())
          .onFailure(e -> log.warn("push batch lease not renewed: {}", e.toString()));
    });
    return send.eventually(() -> {
      vertx.cancelTimer(timer);
      return Future.succeededFuture();
    });
  }

  private Outcome outcome(Due d, PushResult result, List<String> deadTokens) {
    if (result instanceof PushResult.TokenInvalid t) {
      metrics.failed(t.reason());
    } else if (result instanceof PushResult.RetryAfter r) {
      metrics.failed(r.reason());
    } else if (result instanceof PushResult.PermanentFailure p) {
      metrics.failed(p.reason());
    }
    if (result instanceof PushResult.Delivered ok) {
      return new Outcome(d.id(), "SENT", null, null, ok.messageId());
    }
    if (result instanceof PushResult.TokenInvalid t) {
      deadTokens.add(d.token());
      return new Outcome(d.id(), "DEAD", null, t.reason(), null);
    }
    if (result instanceof PushResult.RetryAfter r && r.quota() == PushResult.Quota.PROJECT) {
      // The project's quota, not this message: due again after the pause, and no attempt spent (never a dead letter
      // for it, however long the quota lasts).
      return new Outcome(d.id(), "PENDING", retryDelay(d.attempts() + 1, r.after()), r.reason(), null, Cost.NONE);
    }
    if (result instanceof PushResult.RetryAfter r && r.quota() == PushResult.Quota.DEVICE) {
      // The device's own message rate: only this delivery waits, by a backoff of its own, and no attempt spent
      // (a phone kept over its rate never makes a dead letter of it).
      return new Outcome(d.id(), "PENDING", deviceThrottleDelay(d.deviceThrottles() + 1, r.after()), r.reason(),
          null, Cost.DEVICE_THROTTLE);
    }
    if (result instanceof PushResult.RetryAfter r) {
      int attempt = d.attempts() + 1;
      return attempt >= settings.maxAttempts()
          ? new Outcome(d.id(), "DEAD", null, "gave up after " + attempt + " attempts: " + r.reason(), null)
          : new Outcome(d.id(), "PENDING", retryDelay(attempt, r.after()), r.reason(), null);
    }
    return new Outcome(d.id(), "DEAD", null, ((PushResult.PermanentFailure) result).reason(), null);
  }

  /**
   * Never sooner than Retry-After, counted up to the backoff cap; otherwise exponential backoff (base *
   * 2^(attempt-1), capped) with jitter. An uncapped Retry-After far enough ahead overflowed the milliseconds or the
   * timestamp: recording the batch failed, and after each lease the whole batch was pushed again.
   */
  Duration retryDelay(int attempt, Duration retryAfter) {
    return backoff(settings.backoffBase(), attempt, retryAfter);
  }

  /**
   * After the {@code throttle}th refusal of a delivery for its device's own message rate: FCM's Retry-After when it
   * gave one (counted up to the backoff cap), otherwise backoff from {@link #DEVICE_THROTTLE_BASE} (10 s, 20 s,
   * 40 s... up to the cap) with jitter. FCM limits a device by the minute and by the hour (240 and 5,000 messages to
   * an Android device), so the attempts' 1 s base would mostly be refused again.
   */
  Duration deviceThrottleDelay(int throttle, Duration retryAfter) {
    return retryAfter != null && retryAfter.compareTo(Duration.ZERO) > 0 ? Duration.ofMillis(cappedMillis(retryAfter))
        : backoff(DEVICE_THROTTLE_BASE, throttle, null);
  }

  /** The first wait of a delivery refused for its device's own message rate, when FCM gives no Retry-After. */
  static final Duration DEVICE_THROTTLE_BASE = Duration.ofSeconds(10);

  private Duration backoff(Duration first, int attempt, Duration retryAfter) {
    long base = first.toMillis();
    long exp = Math.min(settings.backoffCap().toMillis(), base << Math.min(30, Math.max(0, attempt - 1)));
    // "Equal jitter": half fixed, half random, so retries of a burst spread out but never collapse to zero.
    long jittered = exp / 2 + ThreadLocalRandom.current().nextLong(exp / 2 + 1);
    return Duration.ofMillis(Math.max(cappedMillis(retryAfter), jittered));
  }

  /** Retry-After in milliseconds, counted up to the backoff cap (0 when none). */
  private long cappedMillis(Duration retryAfter) {
    return retryAfter == null ? 0 : retryAfter.compareTo(settings.backoffCap()) > 0
        ? settings.backoffCap().toMillis() : retryAfter.toMillis();
  }

  private static PushMessage message(Due d) {
    Map<String, String> data = new HashMap<>();
    d.data().forEach(e -> data.put(e.getKey(), String.valueOf(e.getValue())));
    return new PushMessage(d.token(), d.title(), d.body(), data, d.collapseKey(), true, Duration.ofDays(1));
  }
}
