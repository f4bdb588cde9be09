package org.frontline.projects;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.frontline.identity.Actor;
import org.frontline.identity.Page;
import org.frontline.platform.http.ApiRoutes;
import org.frontline.platform.http.ExactNumbers;
import org.frontline.platform.http.IdempotentWrites;

import java.util.Map;
import java.util.UUID;

/** Major projects and milestones: the contract operations under /v1/projects and /v1/milestones. */
public final class ProjectsApi implements ApiRoutes {
  private final ProjectService service;
  private final IdempotentWrites writes;

  public ProjectsApi(ProjectService service, IdempotentWrites writes) {
    this.service = service;
    this.writes = writes;
  }


  /** A refused repeat of a keyed write already done is answered as the repeat (IdempotentWrites#replayOf). */
  @Override
  public Map<String, RefusalAnswer> refusalAnswers() {
    return writes.replaysOf("createProject", "createMilestone", "closeProject", "moveProject", "rebaselineMilestone", "recordMilestoneProgress");
  }
  @Override
  public Map<String, Handler<RoutingContext>> handlers() {
    return Map.of(
        "createProject", rc -> writes.answer(rc, "createProject", 201, p -> "/v1/projects/" + p.getString("id"),
            tx -> service.createProject(Actor.of(rc), exact(rc, "investmentYuan"), tx)),
        "getProject", rc -> ok(rc, service.getProject(Actor.of(rc), id(rc))),
        "listProjects", this::list,
        "getProjectSCurve", rc -> ok(rc, service.sCurve(Actor.of(rc), id(rc))),
        "createMilestone", rc -> writes.answer(rc, "createMilestone", 201, ProjectsApi::milestoneLocation,
            tx -> service.createMilestone(Actor.of(rc), id(rc), exact(rc, "plannedQuantity"), tx)),
        "closeProject", rc -> writes.answer(rc, "closeProject", 200, null, tx -> service.close(Actor.of(rc), id(rc),
            rc.body().asJsonObject(), tx)),
        "moveProject", rc -> writes.answer(rc, "moveProject", 200, null, tx -> service.move(Actor.of(rc), id(rc),
            UUID.fromString(rc.body().asJsonObject().getString("newUnitId")), tx)),
        "getMilestone", rc -> ok(rc, service.getMilestone(Actor.of(rc), id(rc))),
        "rebaselineMilestone", rc -> writes.answer(rc, "rebaselineMilestone", 201, ProjectsApi::milestoneLocation,
            tx -> service.rebaseline(Actor.of(rc), id(rc), exact(rc, "plannedQuantity"), tx)),
        "recordMilestoneProgress", rc -> writes.answer(rc, "recordMilestoneProgress", 201,
            ProjectsApi::milestoneLocation, tx -> service.recordProgress(Actor.of(rc), id(rc), exact(rc, "quantity"),
                tx)));
  }

  private static String milestoneLocation(JsonObject milestone) {
    return "/v1/milestones/" + milestone.getString("id");
  }

  private void list(RoutingContext rc) {
    String unit = rc.queryParams().get("unitId");
    ok(rc, service.listProjects(Actor.of(rc), unit == null ? null : UUID.fromString(unit),
            rc.queryParams().get("status"), rc.queryParams().get("cursor"), Page.requested(rc.queryParams().get("limit")))
        .map(page -> new JsonObject().put("items", new JsonArray(page.items())).put("nextCursor", page.nextCursor())));
  }

  /**
   * The (validated) body with the top-level number {@code field} as the exact decimal that was sent
   * ({@link ExactNumbers}): quantities keep 3 decimals and amounts in yuan 2 exactly, or are refused.
   */
  static JsonObject exact(RoutingContext rc, String field) {
    JsonObject body = rc.body().asJsonObject();
    java.math.BigDecimal sent = body.getValue(field) instanceof Number ? ExactNumbers.at(rc.body().buffer(), field) : null;
    return sent == null ? body : body.copy().put(field, sent);
  }

  private static UUID id(RoutingContext rc) {
    return UUID.fromString(rc.pathParam("id"));
  }

  private static void ok(RoutingContext rc, Future<JsonObject> result) {
    result.onSuccess(json -> rc.response().putHeader("Content-Type", "application/json")
            .putHeader("Cache-Control", "no-store").end(json.encode()))
        .onFailure(rc::fail);
  }
}
