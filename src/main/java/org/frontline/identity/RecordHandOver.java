package org.frontline.identity;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import org.frontline.platform.http.ProblemException;

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
   * {@code to}, in the caller's transaction. The record's row is locked FOR UPDATE by key in a statement of its own
   * (writes on what hangs off it share-lock it, so they finish first or see the new unit), then read with the
   * scope check: out of the caller's scope it is {@code notFound} (404). Both units are then locked and {@code to}
   * checked live and in scope ({@link OrgUnitRepository#requireHandOverTarget}: else 422 naming {@link #FIELD}).
   * At the unit it is at already (a repeat), nothing is written or audited. Else {@code follow} is given the unit
   * it leaves and does what else the record's kind changes with it, answering details for the one audit entry
   * ({@code <table>.move}, at the new unit, with fromUnitId and toUnitId).
   */
  public Future<Void> move(SqlClient conn, Actor actor, String table, UUID id, UUID to,
                           Supplier<ProblemException> notFound, Function<UUID, Future<JsonObject>> follow) {
    return actor.scopeAfterLocking(conn, table, id)
        .compose(scope -> conn.preparedQuery("SELECT r.unit_id FROM " + table + " r JOIN org_unit u ON u.id = "
                + "r.unit_id WHERE r.id = $1 AND " + Scope.sql("u.path", 2))
            .execute(Tuple.of(id, (Object) scope.paths()))
            .compose(rows -> {
              if (rows.size() == 0) {
                return Future.failedFuture(notFound.get());
              }
              UUID from = rows.iterator().next().getUUID(0);
              return OrgUnitRepository.requireHandOverTarget(conn, scope, from, to, FIELD)
                  .compose(v -> from.equals(to) ? Future.succeededFuture()
                      : conn.preparedQuery("UPDATE " + table + " SET unit_id = $2 WHERE id = $1")
                          .execute(Tuple.of(id, to))
                          .compose(updated -> follow.apply(from))
                          .compose(details -> audit.success(conn, actor, table + ".move", table, id, to,
                              details.put("fromUnitId", from.toString()).put("toUnitId", to.toString()))));
            }));
  }
}
