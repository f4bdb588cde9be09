package org.frontline.partners;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import org.frontline.identity.Actor;
import org.frontline.identity.Caller;
import org.frontline.platform.http.ApiRoutes;

import java.util.Map;
import java.util.UUID;

/** Partner integration: client administration (contract operations) and the token endpoint (a raw route). */
public final class PartnersApi implements ApiRoutes {
  private final PartnerClientService clients;
  private final TokenEndpoint tokenEndpoint;
  private final EventFeed events;

  public PartnersApi(PartnerClientService clients, TokenEndpoint tokenEndpoint, EventFeed events) {
    this.clients = clients;
    this.tokenEndpoint = tokenEndpoint;
    this.events = events;
  }

  @Override
  public Map<String, Handler<RoutingContext>> handlers() {
    return Map.of(
        "createPartnerClient", rc -> send(rc, 201, clients.create(Actor.of(rc), rc.body().asJsonObject())),
        "getPartnerClient", rc -> send(rc, 200, clients.get(Actor.of(rc), id(rc, "id"))),
        "addPartnerClientCredential", rc -> send(rc, 200, clients.addCredential(Actor.of(rc), id(rc, "id"),
            rc.body().asJsonObject())),
        "removePartnerClientCredential", rc -> send(rc, 200, clients.removeCredential(Actor.of(rc), id(rc, "id"),
            id(rc, "credentialId"))),
        "disablePartnerClient", rc -> send(rc, 200, clients.disable(Actor.of(rc), id(rc, "id"))),
        "listPartnerEvents", rc -> {
          String limit = rc.queryParams().get("limit");
          send(rc, 200, events.page(Caller.of(rc), rc.queryParams().get("after"),
              limit == null ? null : limit.length() > 9 ? Integer.MAX_VALUE : Integer.valueOf(limit)));
        });
  }

  @Override
  public void mountRaw(Router router) {
    tokenEndpoint.mount(router);
  }

  private static UUID id(RoutingContext rc, String name) {
    return UUID.fromString(rc.pathParam(name));
  }

  private static void send(RoutingContext rc, int status, Future<JsonObject> result) {
    result.onSuccess(json -> {
          if (status == 201) {
            rc.response().putHeader("Location", "/v1/partner-clients/" + json.getString("id"));
          }
          rc.response().setStatusCode(status).putHeader("Content-Type", "application/json")
              .putHeader("Cache-Control", "no-store").end(json.encode());
        })
        .onFailure(rc::fail);
  }
}
