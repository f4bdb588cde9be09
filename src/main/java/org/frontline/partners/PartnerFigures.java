package org.frontline.partners;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import org.frontline.audit.AuditEvent;
import org.frontline.audit.AuditLog;
import org.frontline.identity.Actor;
import org.frontline.identity.OrgUnitRepository;
import org.frontline.identity.Scope;
import org.frontline.platform.db.Database;
import org.frontline.platform.http.ApiRoutes;
import org.frontline.platform.http.IdempotencyKeys;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemType;

import java.math.BigDecimal;
import java.time.LocalDate;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.UUID;

/**
 * Figures a partner sends in (scope figures:write): a value of a metric for a unit of its grant and a period
 * [from, to). One value per client, unit, metric and period: a later write replaces it (200; the first 201). Every
 * write is idempotent under its {@code Idempotency-Key} ({@link IdempotencyKeys}) and audited in its transaction.
 * A unit outside the grant is 422 naming body/unitId, as every body reference to a unit outside the caller's scope
 * is (a 404 would say the figures resource itself is missing).
 */
public final class PartnerFigures {
  private final Database database;
  private final AuditLog audit;
  private final IdempotencyKeys keys;

  public PartnerFigures(Database database, AuditLog audit) {
    this.database = database;
    this.audit = audit;
    this.keys = IdempotencyKeys.forPartners(database.pool());
  }

  /**
   * The refusal answer of {@code POST /v1/partner/figures}: a refused request whose key holds the answer to this very
   * body gets that answer again (IdempotencyKeys#replayOf).
   */
  public ApiRoutes.RefusalAnswer replay() {
    return keys.replayOf(rc -> Actor.of(rc).accountId(), rc -> rc.body().asJsonObject());
  }

  /** The answer to {@code POST /v1/partner/figures}: its status and body (fresh or replayed). */
  public Future<IdempotencyKeys.Answer> submit(Actor actor, String idempotencyKey, JsonObject body) {
    UUID unitId = UUID.fromString(body.getString("unitId"));
    JsonObject period = body.getJsonObject("period");
    LocalDate from = LocalDate.parse(period.getString("from"));
    LocalDate to = LocalDate.parse(period.getString("to"));
    BigDecimal value = new BigDecimal(body.getString("value"));
    String metric = body.getString("metric");
    String uom = body.getString("unitOfMeasure");
    if (!to.isAfter(from)) {
      return Future.failedFuture(unprocessable("body/period/to", "The period is [from, to): to must be after from."));
    }
    UUID clientId = actor.accountId();
    return keys.once(clientId, idempotencyKey, body, conn -> actor.scope(conn)
        .compose(scope -> conn.preparedQuery("SELECT c.name FROM partner_client c, org_unit u WHERE c.id = $1 "
                + "AND u.id = $2 AND " + Scope.sql("u.path", 3))
            .execute(Tuple.of(clientId, unitId, scope.paths())))
        .compose(rows -> rows.size() == 0
            ? Future.failedFuture(unprocessable("body/unitId", "No org unit " + unitId + " in your grant."))
            : OrgUnitRepository.requireLive(conn, unitId, "it takes no more figures.")
                .compose(live -> write(conn, actor, rows.iterator().next().getString(0), unitId, metric, from, to,
                    value, uom))));
  }

  private Future<IdempotencyKeys.Answer> write(SqlConnection conn, Actor actor, String clientName, UUID unitId,
                                               String metric, LocalDate from, LocalDate to, BigDecimal value,
                                               String uom) {
    return conn.preparedQuery("""
            INSERT INTO partner_figure (id, client_id, unit_id, metric, period_from, period_to, value, unit_of_measure)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (client_id, unit_id, metric, period_from, period_to)
              DO UPDATE SET value = EXCLUDED.value, unit_of_measure = EXCLUDED.unit_of_measure, updated_at = now()
            RETURNING id, xmax = 0 AS created, value::text, updated_at""")
        .execute(Tuple.from(List.of(UUID.randomUUID(), actor.accountId(), unitId, metric, from, to, value, uom)))
        .compose(rows -> {
          Row r = rows.iterator().next();
          boolean created = r.getBoolean("created");
          JsonObject figure = new JsonObject()
              .put("id", r.getUUID("id").toString())
              .put("clientId", actor.accountId().toString())
              .put("unitId", unitId.toString())
              .put("metric", metric)
              .put("period", new JsonObject().put("from", from.toString()).put("to", to.toString()))
              .put("value", new BigDecimal(r.getString("value")).stripTrailingZeros().toPlainString())
              .put("unitOfMeasure", uom)
              .put("recordedAt", DateTimeFormatter.ISO_INSTANT.format(r.getOffsetDateTime("updated_at").toInstant()));
          return audit.record(conn, new AuditEvent(actor.accountId(), "partner:" + clientName,
                  created ? "partner-figure.create" : "partner-figure.replace", "partner_figure",
                  r.getUUID("id").toString(), unitId, actor.clientAddress(), actor.requestId(),
                  AuditEvent.Outcome.SUCCESS, figure.copy().put("created", created)))
              .map(v -> new IdempotencyKeys.Answer(created ? 201 : 200, figure));
        });
  }

  private static RuntimeException unprocessable(String field, String detail) {
    return Problem.of(ProblemType.UNPROCESSABLE, detail)
        .withErrors(List.of(new Problem.FieldError(field, detail))).toException();
  }
}
