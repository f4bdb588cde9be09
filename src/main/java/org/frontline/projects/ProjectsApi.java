package org.frontline.projects;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.frontline.identity.Actor;
import org.frontline.platform.http.ApiRoutes;

import java.util.Map;
import java.util.UUID;
import java.util.function.Function;

/** Major projects and milestones: the contract operations under /v1/projects and /v1/milestones. */
public final class ProjectsApi implements ApiRoutes {
  private final ProjectService service;

  public ProjectsApi(ProjectService service) {
    this.service = service;
  }

  @Override
  public Map<String, Handler<RoutingContext>> handlers() {
    return Map.of(
        "createProject", rc -> created(rc, service.createProject(Actor.of(rc), rc.body().asJsonObject()),
            p -> "/v1/projects/" + p.getString("id")),
        "getProject", rc -> ok(rc, service.getProject(Actor.of(rc), id(rc))),
        "listProjects", this::list,
        "getProjectSCurve", rc -> ok(rc, service.sCurve(Actor.of(rc), id(rc))),
        "createMilestone", rc -> created(rc, service.createMilestone(Actor.of(rc), id(rc), rc.body().asJsonObject()),
            m -> "/v1/milestones/" + m.getString("id")),
        "getMilestone", rc -> ok(rc, service.getMilestone(Actor.of(rc), id(rc))),
        "rebaselineMilestone", rc -> created(rc, service.rebaseline(Actor.of(rc), id(rc), rc.body().asJsonObject()),
            m -> "/v1/milestones/" + m.getString("id")),
        "recordMilestoneProgress", rc -> created(rc,
            service.recordProgress(Actor.of(rc), id(rc), rc.body().asJsonObject()),
            m -> "/v1/milestones/" + m.getString("id")));
  }

  private void list(RoutingContext rc) {
    String unit = rc.queryParams().get("unitId");
    String limit = rc.queryParams().get("limit");
    ok(rc, service.listProjects(Actor.of(rc), unit == null ? null : UUID.fromString(unit), rc.queryParams().get("cursor"),
            limit == null ? null : Integer.valueOf(limit))
        .map(page -> new JsonObject().put("items", new JsonArray(page.items())).put("nextCursor", page.nextCursor())));
  }

  private static UUID id(RoutingContext rc) {
    return UUID.fromString(rc.pathParam("id"));
  }

  private static void ok(RoutingContext rc, Future<JsonObject> result) {
    result.onSuccess(json -> rc.response().putHeader("Content-Type", "application/json")
            .putHeader("Cache-Control", "no-store").end(json.encode()))
        .onFailure(rc::fail);
  }

  private static void created(RoutingContext rc, Future<JsonObject> result, Function<JsonObject, String> location) {
    result.onSuccess(json -> rc.response().setStatusCode(201).putHeader("Location", location.apply(json))
            .putHeader("Content-Type", "application/json").putHeader("Cache-Control", "no-store").end(json.encode()))
        .onFailure(rc::fail);
  }
}
