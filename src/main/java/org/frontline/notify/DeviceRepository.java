package org.frontline.notify;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;

import java.time.OffsetDateTime;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/** The device registry: one row per FCM token, owned by one account at a time. */
public final class DeviceRepository {
  /** A token not seen for this long is retired by {@link #retireIdle}. */
  public static final int IDLE_DAYS = 270;
  /**
   * Live devices an account may have: registering one more retires the least recently seen (REPLACED). A phone
   * reinstalled or a browser whose storage was cleared gets a new token and leaves the old one live until FCM calls
   * it dead on the next push; without a bound, a buggy app or a stolen login registering tokens in a loop would make
   * every alert of that account one send per token.
   */
  public static final int MAX_LIVE_PER_ACCOUNT = 10;

  public record Device(UUID id, UUID accountId, String token, String platform, String appVersion, String locale,
      OffsetDateTime createdAt, OffsetDateTime lastSeenAt) {}

  /**
   * A registration and whether it created the row (201) or refreshed an existing one (200); {@code device} null when
   * nothing was registered because the registering session had ended (see {@link #register}).
   */
  public record Registration(Device device, boolean created) {
    static final Registration SESSION_ENDED = new Registration(null, false);

    public boolean sessionEnded() {
      return device == null;
    }
  }

  public record NewDevice(String token, String platform, String appVersion, String locale) {}

  private static final String COLUMNS = "id, account_id, token, platform, app_version, locale, created_at, last_seen_at";

  private final Pool pool;

  public DeviceRepository(Pool pool) {
    this.pool = pool;
  }

  /**
   * Registers or refreshes the token for {@code accountId}: idempotent by token; a token registered by another
   * account moves to this one (keeping its id); a retired token comes back to life (once Retention has deleted the
   * retired row, as a new device). Beyond
   * {@link #MAX_LIVE_PER_ACCOUNT} live devices, the least recently seen others are retired (REPLACED). The device
   * belongs to {@code session} (the registering access token's sid; null: none named) from then on: when that
   * session ends (logout, reuse, password reset, disable), V207's trigger retires it (SIGNED_OUT). A session that
   * has ended by the time the registration holds its lock registers nothing ({@link Registration#SESSION_ENDED}).
   */
  public Future<Registration> register(UUID accountId, UUID session, NewDevice d) {
    // The account's row locked (not its key: the devices' foreign key checks go on) so that two registrations of
    // one account count its live devices one after the other: never more than MAX_LIVE_PER_ACCOUNT. Taken before
    // the session's lock, in the order of a refresh, a password reset and a disable (account, then its tokens).
    return pool.withTransaction(conn -> conn.preparedQuery("SELECT 1 FROM account WHERE id = $1 FOR NO KEY UPDATE")
        .execute(Tuple.of(accountId))
        .compose(locked -> session == null ? Future.succeededFuture(false) : conn.preparedQuery(SESSION_ENDED)
            .execute(Tuple.of(session)).map(rows -> rows.size() > 0 && rows.iterator().next().getBoolean(0)))
        .compose(ended -> ended ? Future.succeededFuture(Registration.SESSION_ENDED) : insert(conn, accountId,
            session, d)));
  }

  /**
   * Whether the session (a refresh-token family) has ended, with its newest token locked FOR SHARE until the
   * registration commits: a revocation (logout, reuse, password reset, disable) updates every live token of the
   * family, so it either ran first (this waits for its commit and reads the token revoked) or waits for this
   * registration and then retires its device (V207's trigger). Checked at authentication only, a registration whose
   * session ended just after the check wrote a live device once the revocation had retired the session's others.
   * Ended: any token of the family revoked, as {@code EndedSessions} judges it. No row (no such family): not ended.
   */
  private static final String SESSION_ENDED = "SELECT newest.revoked_at IS NOT NULL OR EXISTS (SELECT 1"
      + " FROM refresh_token WHERE family_id = $1 AND revoked_at IS NOT NULL) FROM (SELECT revoked_at"
      + " FROM refresh_token WHERE family_id = $1 ORDER BY issued_at DESC, id LIMIT 1 FOR SHARE) newest";

  private static Future<Registration> insert(io.vertx.sqlclient.SqlConnection conn, UUID accountId, UUID session,
      NewDevice d) {
    return conn.preparedQuery("INSERT INTO device (id, account_id, token, platform, app_version,"
            + " locale, session_id) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            + " ON CONFLICT (token) DO UPDATE SET account_id = EXCLUDED.account_id, platform = EXCLUDED.platform,"
            + " app_version = EXCLUDED.app_version, locale = EXCLUDED.locale, last_seen_at = now(),"
            + " session_id = EXCLUDED.session_id, retired_at = NULL, retired_reason = NULL"
            + " RETURNING " + COLUMNS + ", (xmax = 0) AS inserted")
        .execute(Tuple.from(java.util.Arrays.asList(UUID.randomUUID(), accountId, d.token(), d.platform(),
            d.appVersion(), d.locale(), session)))
        .compose(rows -> {
          Row row = rows.iterator().next();
          Registration registration = new Registration(device(row), row.getBoolean("inserted"));
          return conn.preparedQuery("UPDATE device SET retired_at = now(), retired_reason = 'REPLACED'"
                  + " WHERE id IN (SELECT id FROM device WHERE account_id = $1 AND retired_at IS NULL AND id <> $2"
                  + " ORDER BY last_seen_at DESC, id OFFSET $3)")
              .execute(Tuple.of(accountId, registration.device().id(), MAX_LIVE_PER_ACCOUNT - 1))
              .map(registration);
        });
  }

  /** The account's live devices, most recently seen first. */
  public Future<List<Device>> list(UUID accountId) {
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM device WHERE account_id = $1 AND retired_at IS NULL"
            + " ORDER BY last_seen_at DESC, id")
        .execute(Tuple.of(accountId))
        .map(rows -> {
          List<Device> out = new java.util.ArrayList<>();
          rows.forEach(r -> out.add(device(r)));
          return out;
        });
  }

  /** Retires one of the account's own live devices; empty when it has no such device (another's: the same). */
  public Future<Optional<UUID>> remove(UUID accountId, UUID deviceId) {
    return pool.preparedQuery("UPDATE device SET retired_at = now(), retired_reason = 'DELETED'"
            + " WHERE id = $1 AND account_id = $2 AND retired_at IS NULL RETURNING id")
        .execute(Tuple.of(deviceId, accountId))
        .map(rows -> rows.rowCount() == 0 ? Optional.empty() : Optional.of(deviceId));
  }

  /** Devices retired per statement of {@link #retireIdle}. */
  static final int RETIRE_BATCH = 1000;

  /**
   * The oldest idle live tokens, {@link #RETIRE_BATCH} at most, through device_last_seen_idx; a row a writer holds (a
   * registration seeing the token again) is skipped, and re-checked by the update if it was not.
   */
  static final String RETIRE_IDLE = "UPDATE device SET retired_at = now(), retired_reason = 'IDLE'"
      + " WHERE id = ANY (ARRAY(SELECT id FROM device WHERE retired_at IS NULL"
      + " AND last_seen_at < now() - make_interval(days => $1) ORDER BY last_seen_at LIMIT $2 FOR UPDATE SKIP LOCKED))"
      + " AND retired_at IS NULL AND last_seen_at < now() - make_interval(days => $1)";

  /**
   * The sweep: retires every live token not seen for {@link #IDLE_DAYS} days; returns how many. In short statements
   * of {@link #RETIRE_BATCH} (one unbounded UPDATE held every idle row's lock, and waited on any a registration
   * held, for as long as it took), batch after batch until one is short; several processes may sweep at once.
   */
  public Future<Integer> retireIdle() {
    io.vertx.core.Promise<Integer> done = io.vertx.core.Promise.promise();
    retireIdle(0, done);
    return done.future();
  }

  private void retireIdle(int sofar, io.vertx.core.Promise<Integer> done) {
    pool.preparedQuery(RETIRE_IDLE).execute(Tuple.of(IDLE_DAYS, RETIRE_BATCH)).onComplete(ar -> {
      if (ar.failed()) {
        done.fail(ar.cause());
      } else if (ar.result().rowCount() < RETIRE_BATCH) {
        done.complete(sofar + ar.result().rowCount());
      } else {
        retireIdle(sofar + ar.result().rowCount(), done);
      }
    });
  }

  private static Device device(Row r) {
    return new Device(r.getUUID("id"), r.getUUID("account_id"), r.getString("token"), r.getString("platform"),
        r.getString("app_version"), r.getString("locale"), r.getOffsetDateTime("created_at"),
        r.getOffsetDateTime("last_seen_at"));
  }
}
