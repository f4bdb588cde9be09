package org.frontline.identity;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import org.frontline.platform.http.ProblemException;

import java.util.List;
import java.util.UUID;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The hand-over of a record held by a unit (a project, an enterprise) to another live unit, when units are merged
 * or abolished: what the record's own move operation (admins) shares. The record keeps its id, and with it all that
 * hangs off it (milestones, service requests, their history); only its unit_id changes, so whatever reads the unit
 * through it (scope, the read-only rule of a retired unit, figures, alerts) reads the new unit from then on.
 */
public final class RecordHandOver {
  /** The field naming the unit a record is handed over to (as moveOrgUnit's newParentId). */
  public static final String FIELD = "body/newUnitId";

  private final AdminAudit audit;

  public RecordHandOver(AdminAudit audit) {
    this.audit = audit;
  }

  /**
   * Hands the record {@code id} of {@code table} ("project" or "enterprise": a row with a unit_id) over to the unit
   * {@code to}, in the caller's transaction. The locks come first, then the scope: the record's row FOR UPDATE by key
   * in a statement of its own (writes on what hangs off it share-lock it, and reports linking it lock it or the
   * milestone first, so they finish first or see the new unit), which reads the unit it is at (fixed while the row
   * is locked); then both units FOR SHARE by key in one statement
   * ({@link OrgUnitRepository#lockShared}, id order), so neither is retired, moved or deleted before the hand-over
   * commits; only then the caller's scope, against the tree as it is once the locks are granted (a move of one of
   * the units, or of a unit the caller covers, committed while a lock was waited for is seen). The order is every
   * write's: its record, then units; a unit move or retirement locks units only, so none can deadlock with it.
   * Out of the caller's scope the record is {@code notFound} (404); then {@code writable} may refuse the record as it
   * is (a closed project: 409); {@code to} must be live and in scope
   * ({@link OrgUnitRepository#requireHandOverTarget}: else 422 naming {@link #FIELD}). At the unit it is at already
   * (a repeat), nothing is written or audited. Else {@code follow} is given the unit it leaves and does what else the
   * record's kind changes with it, answering details for the one audit entry ({@code <table>.move}, at the new unit,
   * with fromUnitId and toUnitId).
   */
  public Future<Void> move(SqlClient conn, Actor actor, String table, UUID id, UUID to,
                           Supplier<ProblemException> notFound, Supplier<Future<Void>> writable,
                           Function<UUID, Future<JsonObject>> follow) {
    return conn.preparedQuery("SELECT unit_id FROM " + table + " WHERE id = $1 FOR UPDATE").execute(Tuple.of(id))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.failedFuture(notFound.get());
          }
          UUID from = rows.iterator().next().getUUID(0);
          return OrgUnitRepository.lockShared(conn, List.of(from, to))
              .compose(locked -> actor.scope(conn))
              .compose(scope -> conn.preparedQuery("SELECT 1 FROM org_unit u WHERE u.id = $1 AND "
                      + Scope.sql("u.path", 2)).execute(Tuple.of(from, (Object) scope.paths()))
                  .compose(inScope -> inScope.size() == 0 ? Future.failedFuture(notFound.get()) : writable.get())
                  .compose(v -> OrgUnitRepository.requireHandOverTarget(conn, scope, to, FIELD)))
              .compose(v -> from.equals(to) ? Future.succeededFuture()
                  : conn.preparedQuery("UPDATE " + table + " SET unit_id = $2 WHERE id = $1")
                      .execute(Tuple.of(id, to))
                      .compose(updated -> follow.apply(from))
                      .compose(details -> audit.success(conn, actor, table + ".move", table, id, to,
                          details.put("fromUnitId", from.toString()).put("toUnitId", to.toString()))));
        });
  }
}
