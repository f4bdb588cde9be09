package org.frontline.reports;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import org.frontline.enterprises.ServiceRequestService;
import org.frontline.identity.Actor;
import org.frontline.identity.Scope;
import org.frontline.projects.ProjectService;

import java.math.BigDecimal;
import java.util.UUID;

/**
 * THE place where a report's links are checked to exist and to be in the author's scope, and where the linked
 * record is then updated, both inside the report's creating transaction (after its row is written, only when it was
 * created now: a repeat never reaches here, so progress is never recorded twice; any failure here rolls the report
 * back).
 *
 * <ul>
 *   <li>MILESTONE_PROGRESS: the milestone exists in scope, its project is of the report's unit or one below it
 *       (else 422 {@code body/body/milestoneId}) and its project is not closed (COMPLETED or CANCELLED: the progress endpoint's own 409 naming the project's
 *       status); the cumulative quantity becomes a progress entry linked to the report (a lower one is 422
 *       {@code body/body/quantity}); the milestone's alerts are judged.</li>
 *   <li>ENTERPRISE_SERVICE: the enterprise and the request exist in scope, the enterprise is of the report's unit
 *       or one below it, and the request is the enterprise's (else 422 naming the field); the actions are appended to the request, which moves on when
 *       {@code advanceTo} asks (an illegal move is 409 with the allowed ones, like the transitions endpoint; so is
 *       any report on a CLOSED request).</li>
 * </ul>
 */
public final class LinkedRecords {
  private static final String BODY = "body/body/";

  private final ProjectService projects;
  private final ServiceRequestService requests;

  public LinkedRecords(ProjectService projects, ServiceRequestService requests) {
    this.projects = projects;
    this.requests = requests;
  }

  /** Whether the envelope links other records (then it is written alone, in a transaction with its links). */
  static boolean hasLinks(Envelope envelope) {
    return hasLinks(envelope.type());
  }

  /** Whether a report of this type (as sent; anything else links nothing) links other records. */
  static boolean hasLinks(Object type) {
    return "MILESTONE_PROGRESS".equals(type) || "ENTERPRISE_SERVICE".equals(type);
  }

  Future<Void> check(SqlConnection conn, Actor actor, Scope scope, Envelope envelope) {
    JsonObject body = envelope.body();
    return switch (envelope.type()) {
      case "MILESTONE_PROGRESS" -> milestoneProgress(conn, actor, scope, envelope, body);
      case "ENTERPRISE_SERVICE" -> enterpriseService(conn, actor, scope, envelope, body);
      default -> Future.succeededFuture();
    };
  }

  private Future<Void> milestoneProgress(SqlConnection conn, Actor actor, Scope scope, Envelope envelope,
                                         JsonObject body) {
    UUID milestoneId = UUID.fromString(body.getString("milestoneId"));
    BigDecimal quantity;
    try {
      quantity = ProjectService.quantity(body.getValue("quantity"), BODY + "quantity");
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
    // The project must be of the report's unit or one below it, as an ENTERPRISE_SERVICE report's enterprise:
    // whoever reads the report (its unit in their scope) then covers the project whose figures it moves. Judged once
    // the milestone is locked: a project's hand-over locks its milestones first, so its unit stays as read here
    // until the report commits (read before the lock, a hand-over committed meanwhile was missed).
    return ProjectService.lockMilestone(conn, milestoneId).compose(locked -> conn.preparedQuery("SELECT "
            + Scope.within("u.path", "r.path") + " FROM milestone m"
            + " JOIN project p ON p.id = m.project_id JOIN org_unit u ON u.id = p.unit_id JOIN org_unit r ON r.id = $3"
            + " WHERE m.id = $1 AND " + Scope.sql("u.path", 2))
        .execute(Tuple.of(milestoneId, (Object) scope.paths(), envelope.unitId())))
        .compose(found -> found.size() == 0 ? Future.failedFuture(ReportService.unprocessable(BODY + "milestoneId",
                "No milestone " + milestoneId + " in your scope."))
            : !found.iterator().next().getBoolean(0) ? Future.failedFuture(ReportService.unprocessable(
                BODY + "milestoneId", "The milestone " + milestoneId + " is of a project not of the report's unit "
                    + envelope.unitId() + " or one below it."))
            : projects.recordFromReport(conn, actor, milestoneId, quantity, body.getString("unit"),
                envelope.capturedAt(), envelope.id(), BODY));
  }

  private Future<Void> enterpriseService(SqlConnection conn, Actor actor, Scope scope, Envelope envelope,
                                         JsonObject body) {
    UUID enterpriseId = UUID.fromString(body.getString("enterpriseId"));
    UUID requestId = UUID.fromString(body.getString("serviceRequestId"));
    // The enterprise must be of the report's unit or one below it: whoever reads the report (its unit in their
    // scope) then covers the enterprise too. An author covering two units could file, under one, a report about
    // the other's enterprise, whose actions and advanceTo (evidence included) that unit's readers and partners then
    // read, though the request itself is 404 to them. Judged once the enterprise is share-locked (by key, in a
    // statement of its own): its hand-over locks it FOR UPDATE, so its unit stays as read here until the report
    // commits (read before, a hand-over committed meanwhile was missed).
    return ServiceRequestService.lockEnterprise(conn, enterpriseId)
        .compose(locked -> conn.preparedQuery("SELECT " + Scope.within("u.path", "r.path") + " FROM enterprise e"
                + " JOIN org_unit u ON u.id = e.unit_id JOIN org_unit r ON r.id = $3 WHERE e.id = $1 AND "
                + Scope.sql("u.path", 2))
            .execute(Tuple.of(enterpriseId, (Object) scope.paths(), envelope.unitId())))
        .compose(found -> found.size() == 0 ? Future.failedFuture(ReportService.unprocessable(BODY + "enterpriseId",
                "No enterprise " + enterpriseId + " in your scope."))
            : !found.iterator().next().getBoolean(0) ? Future.failedFuture(ReportService.unprocessable(
                BODY + "enterpriseId", "The enterprise " + enterpriseId + " is not of the report's unit "
                    + envelope.unitId() + " or one below it."))
            : conn.preparedQuery("SELECT sr.enterprise_id FROM service_request sr"
                + " JOIN enterprise e ON e.id = sr.enterprise_id JOIN org_unit u ON u.id = e.unit_id"
                + " WHERE sr.id = $1 AND " + Scope.sql("u.path", 2))
            .execute(Tuple.of(requestId, (Object) scope.paths())))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.failedFuture(ReportService.unprocessable(BODY + "serviceRequestId",
                "No service request " + requestId + " in your scope."));
          }
          if (!enterpriseId.equals(rows.iterator().next().getUUID(0))) {
            return Future.failedFuture(ReportService.unprocessable(BODY + "serviceRequestId",
                "The service request " + requestId + " is not one of enterprise " + enterpriseId + "."));
          }
          JsonArray actions = body.getJsonArray("actionsTaken");
          JsonObject advance = body.getJsonObject("advanceTo");
          return requests.recordFromReport(conn, actor, requestId, envelope.id(), envelope.capturedAt(),
              actions.stream().map(String::valueOf).toList(),
              advance == null ? null : ServiceRequestService.Transition.from(advance),
              BODY);
        });
  }
}
