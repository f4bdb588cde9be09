package org.frontline.notify;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import org.frontline.config.FrontlineConfig;
import org.frontline.identity.AuthService;
import org.frontline.platform.PeriodicRounds;
import org.frontline.platform.RoundFailures;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;

/**
 * Keeps the operational tables bounded: deletes push deliveries sent or dead-lettered longer ago than their window,
 * inbox notifications older than theirs (read or not; an event's alerts together), then dispatched outbox events
 * older than theirs that no notification or delivery refers to any more. Pending deliveries, undispatched events and
 * younger rows stay. Also devices retired longer ago than their window (with their deliveries), the refresh tokens
 * of families whose tokens have all expired, finished webhook deliveries older than their window, expired webhook
 * secrets, webhook subscriptions deleted before that window, ended uploads a week past their expiry that owe no
 * clean-up, login throttle counters whose window has passed, and the token endpoint's counters of past minutes.
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
   * Devices retired before the window, oldest retirement first, through device_retired_idx (V171); their push
   * deliveries go with them (ON DELETE CASCADE, through push_delivery_device_idx). Only a retired device is ever
   * deleted: nothing pushes to one, lists it or refers to it but its deliveries. A registration reviving the token
   * holds the row (skipped here, and re-checked by the DELETE); one after the deletion makes a new device.
   */
  public static final String DEVICES = "DELETE FROM device WHERE id = ANY (ARRAY(SELECT id FROM device"
      + " WHERE retired_at < " + cutoff() + " ORDER BY retired_at LIMIT $2 FOR UPDATE SKIP LOCKED))"
      + " AND retired_at < " + cutoff();

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

  /**
   * Webhook deliveries delivered or failed, created before the window, oldest first; bounded by id like push
   * deliveries. A delivery a kept replay refers to (replay_of, a foreign key) stays until the replay goes (its id is
   * larger: the next batch or sweep), checked per candidate through webhook_delivery_replay_of_idx (V166). Pending
   * ones (a disabled subscription's) stay. Fan-out never writes a deleted delivery again: the subscription's feed
   * cursor moved past its event in the transaction that wrote it.
   */
  public static final String WEBHOOK_DELIVERIES = "DELETE FROM webhook_delivery WHERE id = ANY (ARRAY(SELECT d.id"
      + " FROM webhook_delivery d WHERE d.id < coalesce((SELECT id FROM webhook_delivery WHERE created_at >= "
      + cutoff() + " ORDER BY id LIMIT 1), 9223372036854775807) AND d.created_at < " + cutoff()
      + " AND d.status <> 'PENDING'"
      + " AND NOT (SELECT EXISTS (SELECT 1 FROM webhook_delivery r WHERE r.replay_of = d.id))"
      + " ORDER BY d.id LIMIT $2 FOR UPDATE OF d SKIP LOCKED)) AND status <> 'PENDING'";

  /**
   * Webhook secrets past their expiry (a rotation ends the others after its overlap): nothing reads one any more (the
   * signer, the subscription's view and the rekey take live ones only, or lock the table). Through
   * webhook_secret_expiry_idx (V172); $1 is 0 (a secret is deleted once it has expired).
   */
  public static final String WEBHOOK_SECRETS = "DELETE FROM webhook_secret WHERE id = ANY (ARRAY(SELECT id"
      + " FROM webhook_secret WHERE expires_at < " + cutoff() + " ORDER BY expires_at LIMIT $2"
      + " FOR UPDATE SKIP LOCKED)) AND expires_at < " + cutoff();

  /**
   * Subscriptions deleted before the window (the webhook deliveries' one: their deliveries, all finished at the
   * deletion, went before them), with their secrets (live ones too: a deleted subscription's never expire). Through
   * webhook_subscription_deleted_idx (V172); one a delivery still refers to (a foreign key) is skipped, checked per
   * candidate through webhook_delivery_list_idx, never left to fail the batch. The secrets' foreign key is checked at
   * the end of the statement, after both deletions.
   */
  public static final String WEBHOOK_SUBSCRIPTIONS = "WITH s AS (SELECT s.id FROM webhook_subscription s"
      + " WHERE s.deleted_at < " + cutoff()
      + " AND NOT (SELECT EXISTS (SELECT 1 FROM webhook_delivery d WHERE d.subscription_id = s.id))"
      + " ORDER BY s.deleted_at LIMIT $2 FOR UPDATE OF s SKIP LOCKED),"
      + " secrets AS (DELETE FROM webhook_secret WHERE subscription_id = ANY (ARRAY(SELECT id FROM s)))"
      + " DELETE FROM webhook_subscription WHERE id = ANY (ARRAY(SELECT id FROM s))";

  /**
   * How long an ended upload's row outlives its expiry: until then HEAD still answers what became of it (complete:
   * the offset at the length; expired: 410), so a phone resuming after days offline learns it; afterwards 404, on
   * which a tus client starts a new upload as it does on 410.
   */
  public static final Duration UPLOAD_KEPT_AFTER_EXPIRY = Duration.ofDays(7);

  /**
   * Ended uploads (never ACTIVE: the upload sweeper expires those) that owe the store no clean-up any more
   * (cleanup_after NULL; an owed one stays until the sweeper has done it), expired before the window, through
   * upload_ended_expiry_idx (V167).
   */
  public static final String UPLOADS = "DELETE FROM upload WHERE id = ANY (ARRAY(SELECT id FROM upload"
      + " WHERE status <> 'ACTIVE' AND cleanup_after IS NULL AND expires_at < " + cutoff()
      + " ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)) AND status <> 'ACTIVE' AND cleanup_after IS NULL";

  /**
   * Login throttle counters whose window ($1, AuthService.THROTTLE_WINDOW) has passed: such a row counts for nothing
   * (reserveAttempt opens a new window over it), so deleting it changes no answer. Through login_throttle_window_idx
   * (V168); a row a login holds is skipped, and the DELETE re-checks the window (a login may have opened a new one).
   */
  public static final String LOGIN_THROTTLE = "DELETE FROM login_throttle WHERE key = ANY (ARRAY(SELECT key"
      + " FROM login_throttle WHERE window_start <= " + cutoff() + " ORDER BY window_start LIMIT $2"
      + " FOR UPDATE SKIP LOCKED)) AND window_start <= " + cutoff();

  /**
   * Token endpoint counters of past minutes: the endpoint sweeps them only after a token is issued, so requests
   * naming unregistered client ids from ever new addresses (IPv6 has plenty) grew the table while no partner got a
   * token. Through partner_token_rate_window_idx; $1 is 0 (a counter is live for its minute only). The DELETE
   * re-checks the minute: a request may have started a new one on the row meanwhile.
   */
  public static final String TOKEN_RATES = "DELETE FROM partner_token_rate WHERE key = ANY (ARRAY(SELECT key"
      + " FROM partner_token_rate WHERE window_start < date_trunc('minute', now()) - $1 * interval '1 millisecond'"
      + " ORDER BY window_start LIMIT $2 FOR UPDATE SKIP LOCKED))"
      + " AND window_start < date_trunc('minute', now()) - $1 * interval '1 millisecond'";

  /** Families of refresh tokens per statement (a family is one row per rotation: tens to hundreds of rows). */
  static final int FAMILIES = 100;

  /**
   * Refresh-token families whose tokens have all expired, $1 of them, all of each family's rows at once: reuse
   * detection (RFC 9700 section 4.14) revokes the family of a spent token presented again, so a spent token's row is
   * kept for as long as any token of its family could still be presented. A family's newest token is its only
   * unspent one (rotation spends one and issues the next), so an expired unspent token is an ended family; they are
   * found in the order they ended through refresh_token_unspent_expiry_idx (V165), never reading live families'
   * history. The per-family check is a guard (through the family index), not the rule.
   */
  public static final String REFRESH_TOKENS = "DELETE FROM refresh_token WHERE family_id = ANY (ARRAY(SELECT h.family_id"
      + " FROM refresh_token h WHERE h.used_at IS NULL AND h.expires_at < now()"
      + " AND NOT (SELECT EXISTS (SELECT 1 FROM refresh_token l WHERE l.family_id = h.family_id"
      + " AND l.expires_at >= now())) ORDER BY h.expires_at LIMIT $1 FOR UPDATE OF h SKIP LOCKED))";

  /** The start of the window, $1 its length in ms, by the database's clock. */
  private static String cutoff() {
    return "now() - $1 * interval '1 millisecond'";
  }

  /** Rows deleted by one sweep, per table. */
  public record Swept(long deliveries, long devices, long notifications, long events, long refreshTokens,
                      long webhookDeliveries, long webhookSecrets, long webhookSubscriptions, long uploads,
                      long loginThrottles, long tokenRates) {
    public long total() {
      return deliveries + devices + notifications + events + refreshTokens + webhookDeliveries + webhookSecrets
          + webhookSubscriptions + uploads + loginThrottles + tokenRates;
    }
  }

  private final Pool pool;
  private final FrontlineConfig.Retention windows;
  private final PeriodicRounds<Swept> periodic = new PeriodicRounds<>(this::sweep, new RoundFailures(log,
      "retention sweep (what it deleted stays deleted; the rest goes next time)"), Retention::logSwept);

  public Retention(Pool pool, FrontlineConfig.Retention windows) {
    this.pool = pool;
    this.windows = windows;
  }

  /** Sweeps every {@code interval} (the first time after one interval). */
  public void start(Vertx vertx, Duration interval) {
    periodic.start(vertx, interval);
  }

  public Future<Void> stop(Vertx vertx) {
    return periodic.stop(vertx);
  }

  private static void logSwept(Swept s) {
    if (s.total() > 0) {
      log.info("retention deleted {} push deliveries, {} retired devices, {} notifications, {} outbox events,"
          + " {} webhook deliveries, {} expired webhook secrets, {} deleted webhook subscriptions, {} uploads,"
          + " {} login throttle and {} token endpoint counters past their windows and {} refresh tokens of ended"
          + " families", s.deliveries(), s.devices(), s.notifications(), s.events(), s.webhookDeliveries(),
          s.webhookSecrets(), s.webhookSubscriptions(), s.uploads(), s.loginThrottles(), s.tokenRates(),
          s.refreshTokens());
    }
  }

  /**
   * Deletes everything past its window now: deliveries, then retired devices (with what deliveries they still have),
   * then notifications, then the events they referred to; the refresh tokens of families that have ended; finished
   * webhook deliveries, expired webhook secrets, then deleted subscriptions; ended uploads; passed throttle and token
   * rate windows.
   */
  public Future<Swept> sweep() {
    return drain(DELIVERIES, windows.deliveries())
        .compose(deliveries -> drain(DEVICES, windows.devices())
            .compose(devices -> drain(NOTIFICATIONS, windows.notifications())
                .compose(notifications -> drain(EVENTS, windows.events())
                    .compose(events -> drain(REFRESH_TOKENS, Tuple.of(FAMILIES), FAMILIES)
                        .compose(tokens -> drain(WEBHOOK_DELIVERIES, windows.webhookDeliveries())
                            .compose(webhooks -> drain(WEBHOOK_SECRETS, Duration.ZERO)
                                .compose(secrets -> drain(WEBHOOK_SUBSCRIPTIONS, windows.webhookDeliveries())
                                    .compose(subscriptions -> drain(UPLOADS, UPLOAD_KEPT_AFTER_EXPIRY)
                                        .compose(uploads -> drain(LOGIN_THROTTLE, AuthService.THROTTLE_WINDOW)
                                            .compose(throttles -> drain(TOKEN_RATES, Duration.ZERO)
                                                .map(rates -> new Swept(deliveries, devices, notifications, events,
                                                    tokens, webhooks, secrets, subscriptions, uploads, throttles,
                                                    rates))))))))))));
  }

  /**
   * Batch after batch of one statement until a batch deletes fewer than {@link #BATCH}; the rows deleted. Each batch
   * is started from the previous one's answer (not a chain of composed futures, whose completion would nest as deep
   * as there were batches).
   */
  private Future<Long> drain(String sql, Duration window) {
    return drain(sql, Tuple.of(window.toMillis(), BATCH), BATCH);
  }

  /**
   * As {@link #drain(String, Duration)} with the statement's own parameters, until a batch deletes fewer rows than
   * {@code limit} (a statement deleting whole groups, at least a row each, may take one batch more).
   */
  private Future<Long> drain(String sql, Tuple args, int limit) {
    io.vertx.core.Promise<Long> done = io.vertx.core.Promise.promise();
    batch(sql, args, limit, 0, done);
    return done.future();
  }

  private void batch(String sql, Tuple args, int limit, long sofar, io.vertx.core.Promise<Long> done) {
    pool.preparedQuery(sql).execute(args).onComplete(ar -> {
      if (ar.failed()) {
        done.fail(ar.cause());
      } else if (ar.result().rowCount() < limit) {
        done.complete(sofar + ar.result().rowCount());
      } else {
        batch(sql, args, limit, sofar + ar.result().rowCount(), done);
      }
    });
  }
}
