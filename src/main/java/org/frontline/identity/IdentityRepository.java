package org.frontline.identity;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import org.frontline.platform.db.Database;

import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/** The SQL of the identity feature: accounts as login and authentication see them, throttle counters, refresh tokens. */
public final class IdentityRepository {

  public record LoginAccount(UUID id, String passwordHash, boolean disabled, List<String> roles, List<UUID> scope,
                             UUID homeUnitId, String username) {}

  public record UnitRef(UUID id, String name) {}

  public record ScopeUnit(UUID id, String name, String path) {}

  public record Me(UUID id, String username, String displayName, String locale, List<String> roles, UnitRef homeUnit,
                   List<ScopeUnit> scope, List<CurrentPosting> postings) {}

  /** A posting of the caller running today (China Standard Time); endsOn and projectId may be null. */
  public record CurrentPosting(UUID id, String frontLine, UnitRef unit, LocalDate startsOn, LocalDate endsOn,
                               UUID projectId) {}

  /** A refresh token row: whose it is, its family, and whether it was already spent. */
  public record RefreshRow(UUID id, UUID accountId, UUID familyId, boolean used) {}

  /** What a revocation revoked: how many tokens, and their family (null when none). */
  public record Revoked(UUID familyId, int tokens) {}

  private static final String ACCOUNT_COLUMNS = """
      a.id, a.password_hash, a.disabled_at IS NOT NULL AS disabled, a.roles, a.home_unit_id, a.username,
      ARRAY(SELECT s.unit_id FROM account_scope s WHERE s.account_id = a.id ORDER BY s.unit_id) AS scope""";

  private final Database database;
  private final Pool pool;
  private final AccountCache callers;
  private final EndedSessions sessions;

  /** Without a listening cache: every authentication reads its account and its session. */
  public IdentityRepository(Database database) {
    this(database, new AccountCache(), new EndedSessions(null, database.pool()));
  }

  public IdentityRepository(Database database, AccountCache callers, EndedSessions sessions) {
    this.database = database;
    this.pool = database.pool();
    this.callers = callers;
    this.sessions = sessions;
  }

  public Database database() { return database; }

  public Future<Optional<LoginAccount>> accountByUsername(String username) {
    return pool.preparedQuery("SELECT " + ACCOUNT_COLUMNS + " FROM account a WHERE a.username = $1")
        .execute(Tuple.of(username))
        .map(rows -> rows.size() == 0 ? Optional.empty() : Optional.of(loginAccount(rows.iterator().next())));
  }

  public Future<Optional<LoginAccount>> accountById(SqlClient client, UUID id) {
    return client.preparedQuery("SELECT " + ACCOUNT_COLUMNS + " FROM account a WHERE a.id = $1")
        .execute(Tuple.of(id))
        .map(rows -> rows.size() == 0 ? Optional.empty() : Optional.of(loginAccount(rows.iterator().next())));
  }

  /**
   * The account, its row locked FOR SHARE until the transaction ends: a session is opened under this lock, so a
   * password reset or a disable (which lock the row FOR UPDATE before they revoke its sessions) either waits for it
   * or comes first and is then seen here.
   */
  public Future<Optional<LoginAccount>> lockForSession(SqlClient client, UUID id) {
    return client.preparedQuery("SELECT " + ACCOUNT_COLUMNS + " FROM account a WHERE a.id = $1 FOR SHARE OF a")
        .execute(Tuple.of(id))
        .map(rows -> rows.size() == 0 ? Optional.empty() : Optional.of(loginAccount(rows.iterator().next())));
  }

  /**
   * Locks (FOR SHARE) the account of a refresh token, when there is one, until the transaction ends: taken before the
   * token is spent, in the order of a password reset or a disable (the account FOR UPDATE, then its tokens).
   */
  public Future<Void> lockAccountOf(SqlClient client, byte[] refreshTokenHash) {
    return client.preparedQuery("""
            SELECT 1 FROM account WHERE id = (SELECT account_id FROM refresh_token WHERE token_hash = $1) FOR SHARE""")
        .execute(Tuple.of(Buffer.buffer(refreshTokenHash)))
        .mapEmpty();
  }

  /** The account of an authenticated request: from the cache of recent callers when it can be trusted. */
  public Future<Optional<AccountCache.CallerAccount>> callerAccount(UUID id) {
    return callers.get(id, this::readCallerAccount);
  }

  /**
   * Whether the session of an access token (its {@code sid}; null: a token of no session) has ended: from the
   * sessions ended lately when they can be trusted.
   */
  public Future<Boolean> sessionEnded(UUID sessionId) {
    return sessions.ended(sessionId);
  }

  /** A session this instance has just ended (committed): its access tokens are refused here from now on. */
  public void endedHere(UUID sessionId) {
    sessions.endedHere(sessionId);
  }

  private Future<Optional<AccountCache.CallerAccount>> readCallerAccount(UUID id) {
    return pool.preparedQuery("""
            SELECT a.id, a.disabled_at IS NOT NULL AS disabled, a.roles,
              ARRAY(SELECT s.unit_id FROM account_scope s WHERE s.account_id = a.id ORDER BY s.unit_id) AS scope,
              a.sessions_ended_at
            FROM account a WHERE a.id = $1""")
        .execute(Tuple.of(id))
        .map(rows -> {
          if (rows.size() == 0) {
            return Optional.<AccountCache.CallerAccount>empty();
          }
          Row r = rows.iterator().next();
          return Optional.of(new AccountCache.CallerAccount(r.getUUID("id"), r.getBoolean("disabled"),
              List.of(r.getArrayOfStrings("roles")), List.of(r.getArrayOfUUIDs("scope")),
              r.getOffsetDateTime("sessions_ended_at") == null ? null
                  : r.getOffsetDateTime("sessions_ended_at").toInstant()));
        });
  }

  /**
   * Whether one of these units is a root of the tree (parent-less, so its subtree is the whole organisation): the
   * rule for organisation-wide operations, the same as the audit log's for entries of no unit.
   */
  public Future<Boolean> coversRoot(List<UUID> unitIds) {
    return pool.preparedQuery("SELECT EXISTS (SELECT 1 FROM org_unit WHERE id = ANY ($1) AND parent_id IS NULL)")
        .execute(Tuple.of(unitIds.toArray(UUID[]::new)))
        .map(rows -> rows.iterator().next().getBoolean(0));
  }

  public Future<Optional<Me>> me(UUID accountId) {
    Future<Optional<Row>> account = pool.preparedQuery("""
            SELECT a.id, a.username, a.display_name, a.locale, a.roles, u.id AS unit_id, u.name AS unit_name
            FROM account a JOIN org_unit u ON u.id = a.home_unit_id WHERE a.id = $1""")
        .execute(Tuple.of(accountId))
        .map(rows -> rows.size() == 0 ? Optional.empty() : Optional.of(rows.iterator().next()));
    Future<List<ScopeUnit>> scope = pool.preparedQuery("""
            SELECT u.id, u.name, u.path FROM account_scope s JOIN org_unit u ON u.id = s.unit_id
            WHERE s.account_id = $1 ORDER BY u.path""")
        .execute(Tuple.of(accountId))
        .map(rows -> {
          List<ScopeUnit> units = new ArrayList<>();
          rows.forEach(r -> units.add(new ScopeUnit(r.getUUID("id"), r.getString("name"), r.getString("path"))));
          return units;
        });
    Future<List<CurrentPosting>> postings = pool.preparedQuery("""
            SELECT p.id, p.front_line, u.id AS unit_id, u.name AS unit_name, p.starts_on, p.ends_on, p.project_id
            FROM posting p JOIN org_unit u ON u.id = p.unit_id
            WHERE p.officer_id = $1 AND p.cancelled_at IS NULL
              AND p.starts_on <= (now() AT TIME ZONE 'Asia/Shanghai')::date
              AND (p.ends_on IS NULL OR p.ends_on >= (now() AT TIME ZONE 'Asia/Shanghai')::date)
            ORDER BY p.starts_on, p.id""")
        .execute(Tuple.of(accountId))
        .map(rows -> {
          List<CurrentPosting> list = new ArrayList<>();
          rows.forEach(r -> list.add(new CurrentPosting(r.getUUID("id"), r.getString("front_line"),
              new UnitRef(r.getUUID("unit_id"), r.getString("unit_name")), r.getLocalDate("starts_on"),
              r.getLocalDate("ends_on"), r.getUUID("project_id"))));
          return list;
        });
    return Future.all(account, scope, postings).map(v -> account.result().map(r -> new Me(r.getUUID("id"),
        r.getString("username"), r.getString("display_name"), r.getString("locale"),
        Arrays.asList(r.getArrayOfStrings("roles")), new UnitRef(r.getUUID("unit_id"), r.getString("unit_name")),
        List.copyOf(scope.result()), List.copyOf(postings.result()))));
  }

  /**
   * Counts one attempt against each of the given throttle keys before the password is checked (opening a new window
   * where the old one has passed), and answers the seconds until the earliest of them lets attempts through again:
   * 0 when every key is within its limit ({@code maxAttempts}, in the order of {@code keys}) in its window, counting
   * this attempt. Counting first, in one
   * statement (the upsert locks each key's row, always in the given order), is what makes the limit hold for
   * attempts sent at once: a check before the count let every concurrent guess through. A successful login gives
   * its count back ({@link #refundAttempt}).
   */
  public Future<Long> reserveAttempt(List<String> keys, List<Integer> maxAttempts, Duration window) {
    return pool.preparedQuery("""
            WITH counted AS (
              INSERT INTO login_throttle AS t (key, failures, window_start)
              SELECT k, 1, now() FROM unnest($1::text[]) WITH ORDINALITY AS u(k, n) ORDER BY n
              ON CONFLICT (key) DO UPDATE SET
                failures = CASE WHEN t.window_start > now() - make_interval(secs => $2) THEN t.failures + 1 ELSE 1 END,
                window_start = CASE WHEN t.window_start > now() - make_interval(secs => $2) THEN t.window_start ELSE now() END
              RETURNING key, failures, window_start)
            SELECT coalesce(max(ceil(extract(epoch FROM (c.window_start + make_interval(secs => $2) - now()))))
              FILTER (WHERE c.failures > l.max_attempts), 0)::bigint
            FROM counted c JOIN unnest($1::text[], $3::int[]) AS l(key, max_attempts) ON l.key = c.key""")
        .execute(Tuple.of(keys.toArray(String[]::new), (double) window.toSeconds(),
            maxAttempts.toArray(Integer[]::new)))
        .map(rows -> Math.max(0L, rows.iterator().next().getLong(0)));
  }

  /**
   * Gives back the attempt {@link #reserveAttempt} counted against the key (a login that succeeded): the row is
   * locked and read first, so refunds at once each lower the count they see. (A delete of a count of 1 beside an
   * update of a larger one, in one statement, lost a refund: the delete judged the snapshot, 2, and the update,
   * having waited for the other refund, re-checked its result, 1.)
   */
  public Future<Void> refundAttempt(String key) {
    return pool.withTransaction(conn -> conn.preparedQuery("SELECT failures FROM login_throttle WHERE key = $1 FOR UPDATE")
        .execute(Tuple.of(key))
        .compose(rows -> !rows.iterator().hasNext() ? Future.succeededFuture()
            : rows.iterator().next().getInteger(0) <= 1
                ? conn.preparedQuery("DELETE FROM login_throttle WHERE key = $1").execute(Tuple.of(key))
                : conn.preparedQuery("UPDATE login_throttle SET failures = failures - 1 WHERE key = $1")
                    .execute(Tuple.of(key))))
        .mapEmpty();
  }

  public Future<Void> clearThrottle(String key) {
    return pool.preparedQuery("DELETE FROM login_throttle WHERE key = $1").execute(Tuple.of(key)).mapEmpty();
  }

  public Future<Void> insertRefreshToken(SqlClient client, UUID accountId, UUID familyId, byte[] hash,
                                         Duration ttl) {
    return client.preparedQuery("""
            INSERT INTO refresh_token (id, account_id, family_id, token_hash, expires_at)
            VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))""")
        .execute(Tuple.of(UUID.randomUUID(), accountId, familyId, Buffer.buffer(hash), (double) ttl.toSeconds()))
        .mapEmpty();
  }

  /**
   * Spends a live refresh token: marks it used if, and only if, it is unused, unrevoked and unexpired and its family
   * (its session) has not ended, i.e. none of the family's tokens is revoked. Of two racing callers exactly one gets
   * the row back (the UPDATE locks it; the loser re-checks and finds used_at set). The family's check is what ends a
   * session whose revocation raced a refresh: the revoking UPDATE (logout, reuse) waited for the refresh's lock on
   * the token it spent and then revoked that token, but not the successor the refresh inserted, which its snapshot
   * did not hold.
   */
  public Future<Optional<RefreshRow>> spendRefreshToken(SqlClient client, byte[] hash) {
    return client.preparedQuery("""
            UPDATE refresh_token t SET used_at = now()
            WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > now()
              AND NOT EXISTS (SELECT 1 FROM refresh_token f WHERE f.family_id = t.family_id AND f.revoked_at IS NOT NULL)
            RETURNING t.id, t.account_id, t.family_id, true AS used""")
        .execute(Tuple.of(Buffer.buffer(hash)))
        .map(rows -> rows.size() == 0 ? Optional.empty() : Optional.of(spent(rows.iterator().next())));
  }

  /** The family of a refresh token whatever its state, or empty for a token we never issued. */
  public Future<Optional<RefreshRow>> findRefreshToken(SqlClient client, byte[] hash) {
    return client.preparedQuery("SELECT id, account_id, family_id, used_at IS NOT NULL AS used FROM refresh_token WHERE token_hash = $1")
        .execute(Tuple.of(Buffer.buffer(hash)))
        .map(rows -> rows.size() == 0 ? Optional.empty() : Optional.of(spent(rows.iterator().next())));
  }

  /**
   * Revokes the family of the token when the token belongs to the account (the family's sessions end at commit:
   * V193); returns what was revoked.
   */
  public Future<Revoked> revokeFamilyOf(SqlClient client, byte[] hash, UUID accountId) {
    return client.preparedQuery("""
            UPDATE refresh_token SET revoked_at = now()
            WHERE revoked_at IS NULL AND family_id = (
              SELECT family_id FROM refresh_token WHERE token_hash = $1 AND account_id = $2)
            RETURNING family_id""")
        .execute(Tuple.of(Buffer.buffer(hash), accountId))
        .map(rows -> new Revoked(rows.size() == 0 ? null : rows.iterator().next().getUUID(0), rows.rowCount()));
  }

  /**
   * Gives a token spent in this transaction its unspent state back: no successor was issued for it (its account was
   * disabled), so it stays its family's newest, unspent token, by which retention finds the ended family (and, spent,
   * presenting it again would have counted as reuse).
   */
  public Future<Void> unspend(SqlClient client, UUID tokenId) {
    return client.preparedQuery("UPDATE refresh_token SET used_at = NULL WHERE id = $1")
        .execute(Tuple.of(tokenId))
        .mapEmpty();
  }

  /** Revokes every live token of the family; returns how many were revoked. */
  public Future<Integer> revokeFamily(SqlClient client, UUID familyId) {
    return client.preparedQuery("UPDATE refresh_token SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL")
        .execute(Tuple.of(familyId))
        .map(rows -> rows.rowCount());
  }

  private static RefreshRow spent(Row r) {
    return new RefreshRow(r.getUUID("id"), r.getUUID("account_id"), r.getUUID("family_id"), r.getBoolean("used"));
  }

  private static LoginAccount loginAccount(Row r) {
    return new LoginAccount(r.getUUID("id"), r.getString("password_hash"), r.getBoolean("disabled"),
        Arrays.asList(r.getArrayOfStrings("roles")), Arrays.asList(r.getArrayOfUUIDs("scope")),
        r.getUUID("home_unit_id"), r.getString("username"));
  }

}
