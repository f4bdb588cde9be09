package org.frontline.identity;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import org.frontline.audit.AuditEvent;
import org.frontline.audit.AuditLog;
import org.frontline.platform.http.AddressKeys;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The audit entries of refusals that anyone can cause at line rate without credentials: refused bearer tokens
 * ({@code auth.token.rejected}) and throttled logins ({@code auth.login.throttled}); and those any account can cause:
 * operations refused to a valid token ({@code access.denied}: a role not held, an organisation-wide operation).
 * Each appended an entry to the audit chain, whose lock serialises every audited write, so one client could grow the
 * log and slow every other writer as fast as it could send.
 *
 * <p>Per client address, action and reason (and for access.denied per account and operation too: the summary names
 * them), the first refusal is audited at once (as before, with its request id)
 * and opens a window of {@code interval}; the refusals within it are only counted. When the window ends with some
 * counted, one summary entry (same action, {@code details.summary = true}) carries their number in
 * {@code details.refusals} with the window's bounds, and a new window opens, so a steady stream costs one entry per
 * interval; a window that ends with none counted closes. Every entry says in {@code details.refusals} how many
 * refusals it stands for (1 for one written at the refusal), so the entries add up to every refusal, and the
 * counters {@code frontline.auth.refusals} (all) and {@code frontline.auth.refusals.folded} (those only counted)
 * show them too. The log says the same: a line per audited refusal and per summary, none per counted refusal.
 *
 * <p>Kept in memory per process (so N API processes may each write their own entries), for at most
 * {@link #MAX_TRACKED} windows: beyond, a new address's refusals share one window per action and reason whose
 * entries have no address ({@code details.addresses = "others"}), so a client that rotates addresses cannot
 * make the log grow by more than that many entries per interval either. Windows still open at shutdown are written
 * by {@link #flush}; a crash loses their counts (the metrics are per process too).
 */
public final class RefusalAudit {
  private static final Logger log = LoggerFactory.getLogger(RefusalAudit.class);
  /** Windows (address, action, reason) followed at once; further addresses share one per action and reason. */
  public static final int MAX_TRACKED = 10_000;
  private static final String OTHERS = "others";
  private static final String UNKNOWN = "unknown";

  /**
   * A window's key. {@code subject}: for a refusal of an account (an object named: access.denied of an operation),
   * that account and object, so that two people behind one office address are never folded into one entry, and
   * the summary names them; null for anonymous refusals.
   */
  private record Key(String action, String address, String reason, String subject) {}

  /**
   * A window: when it opened, the refusals counted in it since (not audited one by one), and the first one's event
   * (whose actor and object a summary of a subject repeats).
   */
  private static final class Window {
    final Instant opened;
    final AuditEvent first;
    long folded;

    Window(Instant opened, AuditEvent first) {
      this.opened = opened;
      this.first = first;
    }
  }

  private final Vertx vertx;
  private final Pool pool;
  private final AuditLog audit;
  private final Duration interval;
  private final Clock clock;
  private final MeterRegistry registry;
  private final Map<Key, Window> windows = new ConcurrentHashMap<>();
  private final Map<String, Counter> refusals = new ConcurrentHashMap<>();
  private final Map<String, Counter> folded = new ConcurrentHashMap<>();
  private long timer = -1;

  /**
   * @param interval the window per address, action and reason; zero: every refusal audited (no window, no timer)
   */
  public RefusalAudit(Vertx vertx, Pool pool, AuditLog audit, Duration interval, MeterRegistry registry, Clock clock) {
    this.vertx = vertx;
    this.pool = pool;
    this.audit = audit;
    this.interval = interval;
    this.registry = registry;
    this.clock = clock;
    Gauge.builder("frontline.auth.refusal.windows", windows, Map::size)
        .description("Client addresses (per action and reason) whose refusals are being counted into one audit entry")
        .register(registry);
    if (!interval.isZero()) {
      long period = Math.max(50, Math.min(1_000, interval.toMillis() / 4));
      timer = vertx.setPeriodic(period, id -> closeEnded(false));
    }
  }

  /** Every refusal audited, one entry each (tests that need no window; nothing to flush). */
  public static RefusalAudit everyRefusal(Pool pool, AuditLog audit) {
    return new RefusalAudit(null, pool, audit, Duration.ZERO,
        new io.micrometer.core.instrument.simple.SimpleMeterRegistry(), Clock.systemUTC());
  }

  /**
   * A refusal: audited now when it is the first of its window ({@code event} with {@code details.refusals = 1}),
   * else counted. {@code reason} is one of a fixed set of short texts (never what the client sent). The future
   * fails only when the audit entry could not be written.
   */
  public Future<Void> refused(AuditEvent event, String reason) {
    counter(refusals, "frontline.auth.refusals", "Refused bearer tokens, throttled logins and operations denied to a valid token", event.action())
        .increment();
    if (!interval.isZero()) {
      // Counted per address as the throttles count it (an IPv6 one under its /64: AddressKeys), so a client that
      // rotates through its prefix has one window, not one audited entry per address.
      String address = event.clientAddress() == null ? UNKNOWN : AddressKeys.of(event.clientAddress());
      String subject = event.objectType() == null ? null
          : event.actorId() + " " + event.objectType() + " " + event.objectId();
      Key key = new Key(event.action(), address, reason, subject);
      if (!windows.containsKey(key) && windows.size() >= MAX_TRACKED) {
        key = new Key(event.action(), OTHERS, reason, null);
      }
      boolean[] first = {false};
      Instant now = clock.instant();
      windows.compute(key, (k, w) -> {
        if (w == null) {
          first[0] = true;
          return new Window(now, event);
        }
        w.folded++;
        return w;
      });
      if (!first[0]) {
        counter(folded, "frontline.auth.refusals.folded",
            "Refusals counted into a summary audit entry rather than audited one by one", event.action()).increment();
        return Future.succeededFuture();
      }
    }
    JsonObject details = event.details() == null ? new JsonObject() : event.details().copy();
    details.put("reason", reason).put("refusals", 1);
    // Logged as audited: once per window, not per refusal (a flood must not fill the disk with log lines either).
    log.info("{} from {} ({}{}): {} {}", event.action(), event.clientAddress(), event.actorLabel(),
        event.objectId() == null ? "" : " on " + event.objectId(), reason,
        event.details() == null ? "" : event.details().encode());
    return audit.record(pool, new AuditEvent(event.actorId(), event.actorLabel(), event.action(), event.objectType(),
        event.objectId(), event.unitId(), event.clientAddress(), event.requestId(), event.outcome(), details));
  }

  /** Writes the summary of every window that has counted refusals, at once (shutdown). */
  public Future<Void> flush() {
    if (timer != -1) {
      vertx.cancelTimer(timer);
      timer = -1;
    }
    return closeEnded(true);
  }

  /** Closes the windows whose interval has passed ({@code all}: every one), writing a summary for each that counted. */
  private Future<Void> closeEnded(boolean all) {
    Instant now = clock.instant();
    List<Future<Void>> written = new ArrayList<>();
    for (Key key : List.copyOf(windows.keySet())) {
      Window[] ended = {null};
      windows.computeIfPresent(key, (k, w) -> {
        if (!all && w.opened.plus(interval).isAfter(now)) {
          return w;
        }
        ended[0] = w;
        // A steady stream keeps a window open: its next summary comes one interval later, not its next refusal.
        return w.folded > 0 && !all ? new Window(now, w.first) : null;
      });
      if (ended[0] != null && ended[0].folded > 0) {
        written.add(summary(key, ended[0], now));
      }
    }
    return Future.join(written).<Void>mapEmpty().recover(e -> Future.succeededFuture());
  }

  private Future<Void> summary(Key key, Window w, Instant closed) {
    boolean others = OTHERS.equals(key.address());
    JsonObject details = new JsonObject().put("reason", key.reason()).put("refusals", w.folded).put("summary", true)
        .put("from", w.opened.toString()).put("to", closed.toString());
    if (others) {
      details.put("addresses", OTHERS);
    }
    log.info("{} from {}{}: {} more refusals ({}) from {} to {}", key.action(), key.address(),
        key.subject() == null ? "" : " (" + w.first.actorLabel() + " on " + w.first.objectId() + ")", w.folded,
        key.reason(), w.opened, closed);
    AuditEvent of = w.first;
    boolean subject = key.subject() != null;
    return audit.record(pool, new AuditEvent(subject ? of.actorId() : null, subject ? of.actorLabel() : "anonymous",
            key.action(), subject ? of.objectType() : null, subject ? of.objectId() : null, null,
            others || UNKNOWN.equals(key.address()) ? null : key.address(), null, AuditEvent.Outcome.DENIED, details))
        .onFailure(e -> log.warn("cannot audit {} {} refusals from {}: {}", w.folded, key.action(), key.address(),
            e.toString()));
  }

  private Counter counter(Map<String, Counter> counters, String name, String description, String action) {
    return counters.computeIfAbsent(action, a -> Counter.builder(name).description(description).tag("action", a)
        .register(registry));
  }
}
