package org.frontline.figures;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import org.frontline.identity.Actor;
import org.frontline.platform.http.ApiRoutes;

import java.time.LocalDate;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/** GET /v1/figures: the supervisors' figures of a unit subtree and period (the contract validated the query). */
public final class FiguresApi implements ApiRoutes {
  private final FiguresService service;

  public FiguresApi(FiguresService service) {
    this.service = service;
  }

  @Override
  public Map<String, Handler<RoutingContext>> handlers() {
    return Map.of("getFigures", this::figures);
  }

  private void figures(RoutingContext rc) {
    var q = rc.queryParams();
    String unit = q.get("unitId");
    Set<FiguresService.Group> groups = EnumSet.noneOf(FiguresService.Group.class);
    // The contract allows only the groups' names (include=requests&include=projects).
    for (String g : q.getAll("include")) {
      groups.add(FiguresService.Group.ofJson(g));
    }
    service.figures(Actor.of(rc), unit == null ? null : UUID.fromString(unit), LocalDate.parse(q.get("from")),
            LocalDate.parse(q.get("to")), groups)
        .onSuccess(json -> rc.response().putHeader("Content-Type", "application/json")
            .putHeader("Cache-Control", "no-store").end(json.encode()))
        .onFailure(rc::fail);
  }
}
