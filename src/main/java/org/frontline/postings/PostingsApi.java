package org.frontline.postings;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.frontline.identity.Actor;
import org.frontline.identity.Page;
import org.frontline.platform.http.ApiRoutes;
import org.frontline.platform.http.IdempotentWrites;

import java.util.Map;
import java.util.UUID;

/** Postings to the four front lines: the contract operations under /v1/postings. */
public final class PostingsApi implements ApiRoutes {
  private final PostingService service;
  private final IdempotentWrites writes;

  public PostingsApi(PostingService service, IdempotentWrites writes) {
    this.service = service;
    this.writes = writes;
  }


  /** A refused repeat of a keyed write already done is answered as the repeat (IdempotentWrites#replayOf). */
  @Override
  public Map<String, RefusalAnswer> refusalAnswers() {
    return writes.replaysOf("createPosting", "extendPosting");
  }
  @Override
  public Map<String, Handler<RoutingContext>> handlers() {
    return Map.of(
        "createPosting", rc -> writes.answer(rc, "createPosting", 201, p -> "/v1/postings/" + p.getString("id"),
            tx -> service.create(Actor.of(rc), rc.body().asJsonObject(), tx)),
        "getPosting", rc -> send(rc, 200, service.get(Actor.of(rc), id(rc))),
        "listPostings", this::list,
        "extendPosting", rc -> writes.answer(rc, "extendPosting", 200, null,
            tx -> service.extend(Actor.of(rc), id(rc), rc.body().asJsonObject(), tx)),
        "endPosting", rc -> send(rc, 200, service.end(Actor.of(rc), id(rc), rc.body().asJsonObject())),
        "cancelPosting", rc -> send(rc, 200, service.cancel(Actor.of(rc), id(rc))));
  }

  private void list(RoutingContext rc) {
    String officer = rc.queryParams().get("officerId");
    String unit = rc.queryParams().get("unitId");
    send(rc, 200, service.list(Actor.of(rc), officer == null ? null : UUID.fromString(officer),
            unit == null ? null : UUID.fromString(unit), Boolean.TRUE.equals(ApiRoutes.queryBoolean(rc, "current")),
            rc.queryParams().get("cursor"), Page.requested(rc.queryParams().get("limit")))
        .map(page -> new JsonObject().put("items", new JsonArray(page.items())).put("nextCursor", page.nextCursor())));
  }

  private static UUID id(RoutingContext rc) {
    return UUID.fromString(rc.pathParam("id"));
  }

  private static void send(RoutingContext rc, int status, Future<JsonObject> result) {
    result.onSuccess(json -> rc.response().setStatusCode(status).putHeader("Content-Type", "application/json")
            .putHeader("Cache-Control", "no-store").end(json.encode()))
        .onFailure(rc::fail);
  }
}
