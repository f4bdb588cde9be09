package org.frontline.identity;

import io.vertx.core.Future;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;

import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * The SQL of accounts as admins manage them. An account is in a scope when its home unit is; every read and
 * change of an existing account goes through {@link Scope}.
 */
public final class AccountRepository {

  public record Account(UUID id, String username, String displayName, String locale, List<String> roles,
                        UUID homeUnitId, List<UUID> coveredUnitIds, OffsetDateTime disabledAt,
                        OffsetDateTime createdAt, OffsetDateTime updatedAt) {}

  /** The changes of an update; null fields stay as they are. */
  public record Changes(String displayName, String locale, List<String> roles, UUID homeUnitId) {}

  private static final String COLUMNS = """
      a.id, a.username, a.display_name, a.locale, a.roles, a.home_unit_id,
      ARRAY(SELECT s.unit_id FROM account_scope s WHERE s.account_id = a.id ORDER BY s.unit_id) AS covered,
      a.disabled_at, a.created_at, a.updated_at""";

  private static final String IN_SCOPE = Scope.sqlForUnitId("a.home_unit_id", 1);

  public Future<List<Account>> list(SqlClient conn, Scope scope, String afterUsername, int limit) {
    return conn.preparedQuery("SELECT " + COLUMNS + " FROM account a WHERE " + IN_SCOPE
            + " AND ($2::text IS NULL OR a.username > $2) ORDER BY a.username LIMIT $3")
        .execute(Tuple.of(scope.paths(), afterUsername, limit))
        .map(AccountRepository::accounts);
  }

  /**
   * The account if it is in scope (a write locks it first and reads its actor's scope after:
   * {@link Actor#scopeAfterLocking}).
   */
  public Future<Optional<Account>> find(SqlClient conn, Scope scope, UUID id) {
    return conn.preparedQuery("SELECT " + COLUMNS + " FROM account a WHERE a.id = $2 AND " + IN_SCOPE)
        .execute(Tuple.of(scope.paths(), id))
        .map(rows -> accounts(rows).stream().findFirst());
  }

  /** A new account; a taken username fails with 23505 on account_username_idx. */
  public Future<Void> insert(SqlClient conn, UUID id, String username, String displayName, String locale,
                             String passwordHash, List<String> roles, UUID homeUnitId) {
    return conn.preparedQuery("""
            INSERT INTO account (id, username, display_name, locale, password_hash, roles, home_unit_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7)""")
        .execute(Tuple.of(id, username, displayName, locale, passwordHash, roles.toArray(String[]::new), homeUnitId))
        .mapEmpty();
  }

  public Future<Void> update(SqlClient conn, UUID id, Changes changes) {
    return conn.preparedQuery("""
            UPDATE account SET display_name = coalesce($2, display_name), locale = coalesce($3, locale),
              roles = coalesce($4, roles), home_unit_id = coalesce($5, home_unit_id), updated_at = now()
            WHERE id = $1""")
        .execute(Tuple.of(id, changes.displayName(), changes.locale(),
            changes.roles() == null ? null : changes.roles().toArray(String[]::new), changes.homeUnitId()))
        .mapEmpty();
  }

  /** Adds covered units (already covered ones are left as they are). */
  public Future<Void> cover(SqlClient conn, UUID accountId, Collection<UUID> unitIds) {
    return conn.preparedQuery("""
            INSERT INTO account_scope (account_id, unit_id) SELECT $1, u FROM unnest($2::uuid[]) AS u
            ON CONFLICT DO NOTHING""")
        .execute(Tuple.of(accountId, (Object) unitIds.toArray(UUID[]::new)))
        .mapEmpty();
  }

  /** Drops the covered units inside {@code scope} that are not in {@code keep}; those outside the scope stay. */
  public Future<Void> uncoverInScope(SqlClient conn, Scope scope, UUID accountId, Collection<UUID> keep) {
    return conn.preparedQuery("DELETE FROM account_scope s WHERE s.account_id = $2 AND s.unit_id <> ALL ($3) AND "
            + Scope.sqlForUnitId("s.unit_id", 1))
        .execute(Tuple.of(scope.paths(), accountId, keep.toArray(UUID[]::new)))
        .mapEmpty();
  }

  /**
   * Sets or clears disabled_at (and who disabled it: {@code by}, null for the system); a disabled account keeps its
   * first disabling time and disabler.
   */
  public Future<Void> setDisabled(SqlClient conn, UUID id, boolean disabled, UUID by) {
    return (disabled
        ? conn.preparedQuery("UPDATE account SET disabled_at = now(), disabled_by = $2, updated_at = now() "
            + "WHERE id = $1 AND disabled_at IS NULL").execute(Tuple.of(id, by))
        : conn.preparedQuery("UPDATE account SET disabled_at = NULL, disabled_by = NULL, updated_at = now() "
            + "WHERE id = $1 AND disabled_at IS NOT NULL").execute(Tuple.of(id)))
        .mapEmpty();
  }

  /** The units covered (now) by the admin who disabled the account; empty when it is enabled or no admin did. */
  public Future<List<UUID>> disablerCoverage(SqlClient conn, UUID id) {
    return conn.preparedQuery("""
            SELECT ARRAY(SELECT s.unit_id FROM account_scope s WHERE s.account_id = a.disabled_by ORDER BY s.unit_id)
            FROM account a WHERE a.id = $1""")
        .execute(Tuple.of(id))
        .map(rows -> Arrays.asList(rows.iterator().next().getArrayOfUUIDs(0)));
  }

  public Future<Void> setPasswordHash(SqlClient conn, UUID id, String hash) {
    return conn.preparedQuery("UPDATE account SET password_hash = $2, updated_at = now() WHERE id = $1")
        .execute(Tuple.of(id, hash))
        .mapEmpty();
  }

  /**
   * Ends every session of the account: revokes every live refresh token (every family), and records the moment so
   * that its access tokens issued until then are refused too ({@code sessions_ended_at}, read by authentication).
   * Returns how many refresh tokens were revoked.
   */
  public Future<Integer> endSessions(SqlClient conn, UUID accountId) {
    return conn.preparedQuery("""
            WITH ended AS (UPDATE account SET sessions_ended_at = now() WHERE id = $1)
            UPDATE refresh_token SET revoked_at = now() WHERE account_id = $1 AND revoked_at IS NULL""")
        .execute(Tuple.of(accountId))
        .map(RowSet::rowCount);
  }

  /**
   * Whether an enabled admin account covers a root unit (can act on the whole organisation), as this transaction
   * sees it, when the account changed covered one before the change ({@code coveredBefore}); true otherwise (its
   * change took no such admin away). Takes a transaction lock first, so two changes that each take an admin away
   * queue here and the second sees the first committed (each could otherwise count the other as still there).
   */
  public Future<Boolean> organisationAdminRemains(SqlClient conn, Collection<UUID> coveredBefore) {
    return conn.preparedQuery("SELECT pg_advisory_xact_lock($1)").execute(Tuple.of(ORGANISATION_ADMINS_LOCK))
        .compose(v -> conn.preparedQuery("""
            SELECT NOT EXISTS (SELECT 1 FROM org_unit WHERE id = ANY ($1) AND parent_id IS NULL)
                   OR EXISTS (SELECT 1 FROM account a JOIN account_scope s ON s.account_id = a.id
                              JOIN org_unit u ON u.id = s.unit_id
                              WHERE 'admin' = ANY (a.roles) AND a.disabled_at IS NULL AND u.parent_id IS NULL)""")
            .execute(Tuple.of((Object) coveredBefore.toArray(UUID[]::new))))
        .map(rows -> rows.iterator().next().getBoolean(0));
  }

  private static final long ORGANISATION_ADMINS_LOCK = 0x6f72675f61646d6eL; // "org_admn"

  public Future<Boolean> usernameExists(SqlClient conn, String username) {
    return conn.preparedQuery("SELECT 1 FROM account WHERE username = $1").execute(Tuple.of(username))
        .map(rows -> rows.size() > 0);
  }

  private static List<Account> accounts(RowSet<Row> rows) {
    List<Account> out = new ArrayList<>();
    for (Row r : rows) {
      out.add(new Account(r.getUUID("id"), r.getString("username"), r.getString("display_name"),
          r.getString("locale"), Arrays.asList(r.getArrayOfStrings("roles")), r.getUUID("home_unit_id"),
          Arrays.asList(r.getArrayOfUUIDs("covered")), r.getOffsetDateTime("disabled_at"),
          r.getOffsetDateTime("created_at"), r.getOffsetDateTime("updated_at")));
    }
    return out;
  }
}
