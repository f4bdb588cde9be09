package org.frontline.notify;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import org.frontline.config.FrontlineConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;

/**
 * Keeps the operational tables bounded: deletes push deliveries sent or dead-lettered longer ago than their window,
 * inbox notifications older than theirs (read or not; an event's alerts together), then dispatched outbox events
 * older than theirs that no notification or delivery refers to any more. Pending deliveries, undispatched events and
 * younger rows stay.
 *
 * <p>The victims are chosen as an array ({@code id = ANY (ARRAY(...))}), so each is deleted through its key: as
 * {@code IN (SELECT ...)}, the generic plan hash-joined them to a sequential scan of the whole table.
 *
 * <p>Each batch is one short statement of its own ({@link #BATCH} rows at most, no transaction around batches), and
 * batches follow one another until one is short. Rows are claimed with {@code FOR UPDATE SKIP LOCKED}, so any number
 * of processes may sweep at once: each row is deleted by one of them, and a row a writer holds (an admin's re-drive
 * of a dead delivery) is left for a later sweep. Runs on the workers' processes, every {@link #INTERVAL}.
 */
public final class Retention {
  private static final Logger log = LoggerFactory.getLogger(Retention.class);

  /** Rows per statement. */
  static final int BATCH = 1000;
  /** How often a process sweeps. */
  public static final Duration INTERVAL = Duration.ofMinutes(10);

  /**
   * The oldest push deliveries that are no longer pending. Ids follow creation (bigserial), so the scan is bounded
   * by the first id created within the window (found from the oldest row on: the rows before it are those still
   * kept, a handful): without a bound, a batch that found fewer than its limit read the whole table's id index.
   */
  static final String DELIVERIES = "DELETE FROM push_delivery WHERE id = ANY (ARRAY(SELECT id FROM push_delivery"
      + " WHERE id < coalesce((SELECT id FROM push_delivery WHERE created_at >= " + cutoff() + " ORDER BY id LIMIT 1),"
      + " 9223372036854775807) AND created_at < " + cutoff() + " AND status <> 'PENDING' ORDER BY id LIMIT $2"
      + " FOR UPDATE SKIP LOCKED)) AND status <> 'PENDING'";

  /**
   * The notifications of the oldest events whose notifications are past the window, all of each event's at once:
   * escalation reads "nobody opened it" over an event's alerts, so an event left with only its unopened alerts
   * would be escalated months late. By event id through the (event_id, account_id) key, up to the first event with
   * a notification inside the window (events are dispatched in id order). Not through an index on the time: with
   * one, the escalation check's generic plan walked it instead of notification_escalation_kind_idx (EscalationTest).
   */
  static final String NOTIFICATIONS = "DELETE FROM notification WHERE event_id = ANY (ARRAY(SELECT DISTINCT event_id"
      + " FROM (SELECT event_id FROM notification WHERE event_id < coalesce((SELECT event_id FROM notification"
      + " WHERE created_at >= " + cutoff() + " ORDER BY event_id LIMIT 1), 9223372036854775807)"
      + " AND created_at < " + cutoff() + " ORDER BY event_id LIMIT $2) old))";

  /**
   * Dispatched events past the window that nothing refers to any more; bounded by id like deliveries. "Nothing refers
   * to it" is a per-event subquery on each key (as in Escalations.DUE): written as NOT EXISTS, the generic plan
   * anti-joined the candidates to a sequential scan of every notification.
   */
  static final String EVENTS = "DELETE FROM outbox WHERE id = ANY (ARRAY(SELECT o.id FROM outbox o"
      + " WHERE o.id < coalesce((SELECT id FROM outbox WHERE created_at >= " + cutoff() + " ORDER BY id LIMIT 1),"
      + " 9223372036854775807) AND o.created_at < " + cutoff() + " AND o.dispatched_at IS NOT NULL"
      + " AND NOT (SELECT EXISTS (SELECT 1 FROM notification n WHERE n.event_id = o.id))"
      + " AND NOT (SELECT EXISTS (SELECT 1 FROM push_delivery p WHERE p.event_id = o.id))"
      + " ORDER BY o.id LIMIT $2 FOR UPDATE OF o SKIP LOCKED))";

  /** The start of the window, $1 its length in ms, by the database's clock. */
  private static String cutoff() {
    return "now() - $1 * interval '1 millisecond'";
  }

  /** Rows deleted by one sweep, per table. */
  public record Swept(long deliveries, long notifications, long events) {
    public long total() {
      return deliveries + notifications + events;
    }
  }

  private final Pool pool;
  private final FrontlineConfig.Retention windows;
  private long timer = -1;
  private boolean sweeping;

  public Retention(Pool pool, FrontlineConfig.Retention windows) {
    this.pool = pool;
    this.windows = windows;
  }

  /** Sweeps every {@code interval} (the first time after one interval). */
  public void start(Vertx vertx, Duration interval) {
    timer = vertx.setPeriodic(interval.toMillis(), id -> {
      if (sweeping) {
        return; // the previous sweep is still at work
      }
      sweeping = true;
      sweep().onComplete(done -> {
        sweeping = false;
        if (done.failed()) {
          log.warn("retention sweep failed (what it deleted stays deleted; the rest goes next time): {}",
              done.cause().toString());
        } else if (done.result().total() > 0) {
          Swept s = done.result();
          log.info("retention deleted {} push deliveries, {} notifications and {} outbox events past their windows",
              s.deliveries(), s.notifications(), s.events());
        }
      });
    });
  }

  public void stop(Vertx vertx) {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
  }

  /** Deletes everything past its window now: deliveries, then notifications, then the events they referred to. */
  public Future<Swept> sweep() {
    return drain(DELIVERIES, windows.deliveries())
        .compose(deliveries -> drain(NOTIFICATIONS, windows.notifications())
            .compose(notifications -> drain(EVENTS, windows.events())
                .map(events -> new Swept(deliveries, notifications, events))));
  }

  /**
   * Batch after batch of one statement until a batch deletes fewer than {@link #BATCH}; the rows deleted. Each batch
   * is started from the previous one's answer (not a chain of composed futures, whose completion would nest as deep
   * as there were batches).
   */
  private Future<Long> drain(String sql, Duration window) {
    io.vertx.core.Promise<Long> done = io.vertx.core.Promise.promise();
    batch(sql, window, 0, done);
    return done.future();
  }

  private void batch(String sql, Duration window, long sofar, io.vertx.core.Promise<Long> done) {
    pool.preparedQuery(sql).execute(Tuple.of(window.toMillis(), BATCH)).onComplete(ar -> {
      if (ar.failed()) {
        done.fail(ar.cause());
      } else if (ar.result().rowCount() < BATCH) {
        done.complete(sofar + ar.result().rowCount());
      } else {
        batch(sql, window, sofar + ar.result().rowCount(), done);
      }
    });
  }
}
