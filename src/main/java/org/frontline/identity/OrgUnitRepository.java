package org.frontline.identity;

import io.vertx.core.Future;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemException;
import org.frontline.platform.http.ProblemType;

import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/** The SQL of org units. Every read and change of an existing unit is filtered by the actor's {@link Scope}. */
public final class OrgUnitRepository {

  public record OrgUnit(UUID id, UUID parentId, String name, String kind, String path, OffsetDateTime retiredAt,
                        OffsetDateTime createdAt, OffsetDateTime updatedAt) {
    public boolean retired() {
      return retiredAt != null;
    }

    /** True when {@code other} is this unit or lies below it. */
    public boolean contains(OrgUnit other) {
      return other.path.startsWith(path);
    }
  }

  private static final String COLUMNS = "u.id, u.parent_id, u.name, u.kind, u.path, u.retired_at, u.created_at, u.updated_at";

  /**
   * Serialises moves against everything that reads a path to write one (create, move): a move takes it
   * exclusively, a create shared. Moves are rare admin actions; creates do not wait for each other.
   */
  private static final long TREE_LOCK = 0x6f72675f756e6974L; // "org_unit"

  public Future<Void> lockTreeShared(SqlClient conn) {
    return conn.preparedQuery("SELECT pg_advisory_xact_lock_shared($1)").execute(Tuple.of(TREE_LOCK)).mapEmpty();
  }

  public Future<Void> lockTreeExclusive(SqlClient conn) {
    return conn.preparedQuery("SELECT pg_advisory_xact_lock($1)").execute(Tuple.of(TREE_LOCK)).mapEmpty();
  }

  /** Units in scope in tree order, after the given path (exclusive; null from the start), at most {@code limit}. */
  public Future<List<OrgUnit>> list(SqlClient conn, Scope scope, String afterPath, int limit) {
    return conn.preparedQuery("SELECT " + COLUMNS + " FROM org_unit u WHERE " + Scope.sql("u.path", 1)
            + " AND ($2::text IS NULL OR u.path > $2) ORDER BY u.path LIMIT $3")
        .execute(Tuple.of(scope.paths(), afterPath, limit))
        .map(OrgUnitRepository::units);
  }

  /**
   * The unit if it exists and is in scope (a write locks it first and reads its actor's scope after:
   * {@link Actor#scopeAfterLocking}).
   */
  public Future<Optional<OrgUnit>> find(SqlClient conn, Scope scope, UUID id) {
    return conn.preparedQuery("SELECT " + COLUMNS + " FROM org_unit u WHERE u.id = $2 AND " + Scope.sql("u.path", 1))
        .execute(Tuple.of(scope.paths(), id))
        .map(rows -> units(rows).stream().findFirst());
  }

  /**
   * Those of the given units that exist and are in the actor's scope, locked against retiring and moving (FOR SHARE)
   * first; the scope is read once the locks are granted (see {@link #lockShared}).
   */
  public Future<List<OrgUnit>> findAll(SqlClient conn, Actor actor, List<UUID> ids) {
    return lockShared(conn, ids)
        .compose(v -> actor.scope(conn))
        .compose(scope -> conn.preparedQuery("SELECT " + COLUMNS + " FROM org_unit u WHERE u.id = ANY ($2) AND "
                + Scope.sql("u.path", 1))
            .execute(Tuple.of(scope.paths(), (Object) ids.toArray(UUID[]::new))))
        .map(OrgUnitRepository::units);
  }

  /**
   * Refuses a write to a record at a retired unit: 409 {@code conflict} naming the unit ({@code retiredUnitId},
   * {@code retiredAt}), {@code refused} saying what the unit's records no longer take. The records stay readable; a
   * retired unit's records are what its history is judged on. The unit is locked FOR SHARE by its key alone (no
   * join, no scope: see docs/NOTES.md, PostgreSQL) until the transaction ends, so a retirement under way waits for
   * the write and then sees what it wrote, and a write that waited for a retirement sees it. Call it after the
   * caller's scope check: out of scope stays 404/422, never revealing the unit.
   */
  public static Future<Void> requireLive(SqlClient conn, UUID unitId, String refused) {
    return conn.preparedQuery("SELECT retired_at FROM org_unit WHERE id = $1 FOR SHARE").execute(Tuple.of(unitId))
        .compose(rows -> {
          OffsetDateTime retiredAt = rows.iterator().next().getOffsetDateTime(0);
          return retiredAt == null ? Future.succeededFuture() : Future.failedFuture(new ProblemException(Problem.of(
                  ProblemType.CONFLICT, "The org unit " + unitId + " is retired: " + refused)
              .with("retiredUnitId", unitId.toString())
              .with("retiredAt", DateTimeFormatter.ISO_INSTANT.format(retiredAt.toInstant()))));
        });
  }

  /**
   * Before a record (a project, an enterprise) is handed over to {@code to}: the unit must be live and in
   * {@code scope}, else 422 naming {@code field} (unknown, out of scope and retired alike, as a new record's unit).
   * The caller has locked both units ({@link #lockShared}) and read {@code scope} after the locks were granted
   * ({@link RecordHandOver#move}). The unit it leaves may be retired: handing its records over is what makes them
   * writable again.
   */
  public static Future<Void> requireHandOverTarget(SqlClient conn, Scope scope, UUID to, String field) {
    return conn.preparedQuery("SELECT 1 FROM org_unit u WHERE u.id = $1 AND u.retired_at IS NULL AND "
            + Scope.sql("u.path", 2))
        .execute(Tuple.of(to, (Object) scope.paths()))
        .compose(rows -> rows.size() > 0 ? Future.succeededFuture() : Future.failedFuture(new ProblemException(
            Problem.of(ProblemType.UNPROCESSABLE, "No live org unit " + to + " in your scope.")
                .withErrors(List.of(new Problem.FieldError(field, "No live org unit " + to + " in your scope."))))));
  }

  /**
   * Locks the units (those that exist) against retiring, moving and deleting until the transaction ends (FOR SHARE),
   * by key, in id order, in a statement of their own; the caller then reads its scope and the units
   * (and judges them against the scope) in statements after the locks are granted, against the tree as it is then:
   * a locked unit cannot move (nor can any unit above it: a move rewrites the paths of its whole subtree), so the
   * judgement holds until the transaction ends. Not with the scope check in one statement: a lock waited for while
   * a move commits re-checks the row's new path against the scope path the old one had matched, and a unit moved from
   * one of the caller's subtrees to another would be "not found". Nor against a scope read before the lock: a move of
   * a unit the caller covers, committed while the lock was waited for, leaves that scope's paths stale.
   */
  public static Future<Void> lockShared(SqlClient conn, List<UUID> ids) {
    return conn.preparedQuery("SELECT 1 FROM org_unit WHERE id = ANY ($1) ORDER BY id FOR SHARE")
        .execute(Tuple.of((Object) ids.toArray(UUID[]::new)))
        .mapEmpty();
  }


  /** A new unit under {@code parent} (null: a root). A live sibling with the same name fails with 23505. */
  public Future<OrgUnit> insert(SqlClient conn, UUID id, OrgUnit parent, String name, String kind) {
    String path = (parent == null ? "/" : parent.path()) + id + "/";
    return conn.preparedQuery("INSERT INTO org_unit AS u (id, parent_id, name, kind, path) VALUES ($1, $2, $3, $4, $5) RETURNING "
            + COLUMNS)
        .execute(Tuple.of(id, parent == null ? null : parent.id(), name, kind, path))
        .map(rows -> units(rows).get(0));
  }

  public Future<OrgUnit> rename(SqlClient conn, UUID id, String name) {
    return conn.preparedQuery("UPDATE org_unit u SET name = $2, updated_at = now() WHERE u.id = $1 RETURNING " + COLUMNS)
        .execute(Tuple.of(id, name))
        .map(rows -> units(rows).get(0));
  }

  /** Idempotent: a retired unit keeps its first retirement time. */
  public Future<OrgUnit> retire(SqlClient conn, UUID id) {
    return conn.preparedQuery("""
            UPDATE org_unit u SET retired_at = coalesce(retired_at, now()),
              updated_at = CASE WHEN retired_at IS NULL THEN now() ELSE updated_at END
            WHERE u.id = $1""" + " RETURNING " + COLUMNS)
        .execute(Tuple.of(id))
        .map(rows -> units(rows).get(0));
  }

  /**
   * Moves {@code unit} and its whole subtree under {@code newParent}, in one statement: every path that starts
   * with the unit's old path gets the new prefix. Returns how many units were moved (the unit included).
   */
  public Future<Integer> moveSubtree(SqlClient conn, OrgUnit unit, OrgUnit newParent) {
    String newPath = newParent.path() + unit.id() + "/";
    return conn.preparedQuery("""
            UPDATE org_unit SET path = $2 || substr(path, length($1) + 1),
              parent_id = CASE WHEN id = $3 THEN $4 ELSE parent_id END,
              updated_at = now()
            WHERE path >= $1 AND path < subtree_end($1)""")
        .execute(Tuple.of(unit.path(), newPath, unit.id(), newParent.id()))
        .map(RowSet::rowCount);
  }

  /**
   * What still refers to the unit, as "table.column" for each foreign key to org_unit with a row naming it (and
   * partner_client.unit_ids, a grant's array). The foreign keys are read from the catalog, so data of features
   * added later is counted without changing this.
   */
  public Future<List<String>> references(SqlClient conn, UUID id) {
    return conn.query("""
            SELECT c.conrelid::regclass::text AS tbl, a.attname AS col
            FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
            WHERE c.contype = 'f' AND c.confrelid = 'org_unit'::regclass AND cardinality(c.conkey) = 1
            ORDER BY 1, 2""")
        .execute()
        .compose(keys -> {
          List<String> checks = new ArrayList<>();
          for (Row key : keys) {
            String table = key.getString("tbl"); // regclass text: already quoted where needed
            String column = key.getString("col");
            String label = (table + "." + column).replace("'", "''");
            checks.add("SELECT '" + label + "' WHERE EXISTS (SELECT 1 FROM " + table + " WHERE "
                + quoteIdent(column) + " = $1)");
          }
          // A partner client's grant names its units in an array, which no foreign key covers: a unit deleted from
          // under it would leave an id no admin's scope holds, and no admin could manage the client any more.
          checks.add("SELECT 'partner_client.unit_ids' WHERE EXISTS (SELECT 1 FROM partner_client WHERE $1 = ANY "
              + "(unit_ids))");
          return conn.preparedQuery(String.join(" UNION ALL ", checks)).execute(Tuple.of(id))
              .map(rows -> {
                List<String> found = new ArrayList<>();
                rows.forEach(r -> found.add(r.getString(0)));
                return found;
              });
        });
  }

  /**
   * What keeps a unit from being retired, as "table.column" like {@link #references}: live child units
   * (org_unit.parent_id), postings at it not ended before today, China Standard Time, nor cancelled
   * (posting.unit_id), and service requests not yet closed of its enterprises (service_request.enterprise_id). Those
   * writes lock the unit (FOR SHARE), so none slips in once its row is locked for the retirement. A request moves
   * only towards CLOSED.
   */
  public Future<List<String>> liveReferences(SqlClient conn, UUID id) {
    return conn.preparedQuery("""
            SELECT 'org_unit.parent_id' WHERE EXISTS (SELECT 1 FROM org_unit c WHERE c.parent_id = $1
                                                                             AND c.retired_at IS NULL)
            UNION ALL
            SELECT 'posting.unit_id' WHERE EXISTS (SELECT 1 FROM posting p WHERE p.unit_id = $1
              AND p.cancelled_at IS NULL
              AND (p.ends_on IS NULL OR p.ends_on >= (now() AT TIME ZONE 'Asia/Shanghai')::date))
            UNION ALL
            SELECT 'service_request.enterprise_id' WHERE EXISTS (SELECT 1 FROM enterprise e
              JOIN service_request sr ON sr.enterprise_id = e.id WHERE e.unit_id = $1 AND sr.status <> 'CLOSED')""")
        .execute(Tuple.of(id))
        .map(rows -> {
          List<String> found = new ArrayList<>();
          rows.forEach(r -> found.add(r.getString(0)));
          return found;
        });
  }

  public Future<Void> delete(SqlClient conn, UUID id) {
    return conn.preparedQuery("DELETE FROM org_unit WHERE id = $1").execute(Tuple.of(id)).mapEmpty();
  }

  private static String quoteIdent(String identifier) {
    return "\"" + identifier.replace("\"", "\"\"") + "\"";
  }

  private static List<OrgUnit> units(RowSet<Row> rows) {
    List<OrgUnit> units = new ArrayList<>();
    for (Row r : rows) {
      units.add(new OrgUnit(r.getUUID("id"), r.getUUID("parent_id"), r.getString("name"), r.getString("kind"),
          r.getString("path"), r.getOffsetDateTime("retired_at"), r.getOffsetDateTime("created_at"),
          r.getOffsetDateTime("updated_at")));
    }
    return units;
  }
}
