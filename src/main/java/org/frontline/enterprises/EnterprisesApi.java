package org.frontline.enterprises;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.frontline.identity.Page;
import org.frontline.identity.Actor;
import org.frontline.platform.http.ApiRoutes;
import org.frontline.platform.http.IdempotentWrites;

import java.time.LocalDate;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** Enterprises and their service requests (the contract's "enterprises" and "service requests" operations). */
public final class EnterprisesApi implements ApiRoutes {
  private final EnterpriseService enterprises;
  private final ServiceRequestService requests;
  private final IdempotentWrites writes;

  public EnterprisesApi(EnterpriseService enterprises, ServiceRequestService requests, IdempotentWrites writes) {
    this.enterprises = enterprises;
    this.requests = requests;
    this.writes = writes;
  }


  /** A refused repeat of a keyed write already done is answered as the repeat (IdempotentWrites#replayOf). */
  @Override
  public Map<String, RefusalAnswer> refusalAnswers() {
    return writes.replaysOf("createEnterprise", "moveEnterprise", "createServiceRequest", "transitionServiceRequest");
  }
  @Override
  public Map<String, Handler<RoutingContext>> handlers() {
    return Map.of(
        "createEnterprise", this::createEnterprise,
        "getEnterprise", rc -> respond(rc, 200, enterprises.get(Actor.of(rc), id(rc))),
        "listEnterprises", rc -> respond(rc, 200, enterprises.list(Actor.of(rc), rc.queryParams().get("cursor"),
            Page.requested(rc.queryParams().get("limit"))).map(EnterprisesApi::page)),
        "moveEnterprise", rc -> writes.answer(rc, "moveEnterprise", 200, null, tx -> enterprises.move(Actor.of(rc),
            id(rc), UUID.fromString(rc.body().asJsonObject().getString("newUnitId")), tx)),
        "createServiceRequest", this::createServiceRequest,
        "listServiceRequests", this::listServiceRequests,
        "getServiceRequest", rc -> respond(rc, 200, requests.get(Actor.of(rc), id(rc))),
        "transitionServiceRequest", this::transition);
  }

  private void createEnterprise(RoutingContext rc) {
    JsonObject b = rc.body().asJsonObject();
    JsonArray designations = b.getJsonArray("designations", new JsonArray());
    List<EnterpriseService.Designation> list = designations.stream().map(JsonObject.class::cast)
        .map(d -> new EnterpriseService.Designation(d.getString("kind"), LocalDate.parse(d.getString("awardedOn"))))
        .toList();
    writes.answer(rc, "createEnterprise", 201, json -> "/v1/enterprises/" + json.getString("id"),
        tx -> enterprises.create(Actor.of(rc), new EnterpriseService.NewEnterprise(b.getString("name"),
            b.getString("uscc"), b.getString("industry"), UUID.fromString(b.getString("unitId")), list), tx));
  }

  private void createServiceRequest(RoutingContext rc) {
    JsonObject b = rc.body().asJsonObject();
    writes.answer(rc, "createServiceRequest", 201, json -> "/v1/service-requests/" + json.getString("id"),
        tx -> requests.create(Actor.of(rc), id(rc), new ServiceRequestService.NewRequest(b.getString("category"),
            b.getString("description"), UUID.fromString(b.getString("responsibleOfficerId"))), tx));
  }

  private void listServiceRequests(RoutingContext rc) {
    String enterprise = rc.queryParams().get("enterpriseId");
    respond(rc, 200, requests.list(Actor.of(rc), rc.queryParams().get("status"),
        enterprise == null ? null : UUID.fromString(enterprise), rc.queryParams().get("cursor"),
        Page.requested(rc.queryParams().get("limit"))).map(EnterprisesApi::page));
  }

  private static JsonObject page(Page<JsonObject> page) {
    return new JsonObject().put("items", new JsonArray(page.items())).put("nextCursor", page.nextCursor());
  }

  private void transition(RoutingContext rc) {
    writes.answer(rc, "transitionServiceRequest", 200, null, tx -> requests.transition(Actor.of(rc), id(rc),
        ServiceRequestService.Transition.from(rc.body().asJsonObject()), tx));
  }

  private static void respond(RoutingContext rc, int status, Future<JsonObject> result) {
    result.onSuccess(json -> rc.response().setStatusCode(status).putHeader("Content-Type", "application/json")
            .putHeader("Cache-Control", "no-store").end(json.encode()))
        .onFailure(rc::fail);
  }

  private static UUID id(RoutingContext rc) {
    return UUID.fromString(rc.pathParam("id"));
  }

}
