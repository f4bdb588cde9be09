package org.frontline.partners;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import org.frontline.identity.Page;
import org.frontline.identity.Actor;
import org.frontline.identity.Caller;
import org.frontline.platform.http.ApiRoutes;
import org.frontline.platform.http.IdempotencyKeys;

import java.util.Map;
import java.util.UUID;

/** Partner integration: client administration (contract operations) and the token endpoint (a raw route). */
public final class PartnersApi implements ApiRoutes {
  private final PartnerClientService clients;
  private final TokenEndpoint tokenEndpoint;
  private final EventFeed events;
  private final PartnerReports reports;
  private final PartnerFigures figures;

  public PartnersApi(PartnerClientService clients, TokenEndpoint tokenEndpoint, EventFeed events, PartnerReports reports,
                     PartnerFigures figures) {
    this.clients = clients;
    this.tokenEndpoint = tokenEndpoint;
    this.events = events;
    this.reports = reports;
    this.figures = figures;
  }

  /** A refused repeat of a figure already submitted under its key is answered as the repeat (PartnerFigures.replay). */
  @Override
  public Map<String, RefusalAnswer> refusalAnswers() {
    return Map.of("submitPartnerFigure", figures.replay());
  }

  @Override
  public Map<String, Handler<RoutingContext>> handlers() {
    return Map.ofEntries(
        Map.entry("getPartnerReport", rc -> send(rc, 200, reports.get(Caller.of(rc), id(rc, "id")))),
        Map.entry("listPartnerReports", rc -> send(rc, 200, reports.list(Caller.of(rc), rc.queryParams().get("cursor"),
            Page.requested(rc.queryParams().get("limit"))))),
        Map.entry("getPartnerAttachmentContent", rc -> reports.photoLink(Caller.of(rc), id(rc, "id"),
                rc.queryParams().get("variant") == null ? "display" : rc.queryParams().get("variant"))
            .onSuccess(url -> rc.response().setStatusCode(303).putHeader("Location", url)
                .putHeader("Cache-Control", "no-store").end())
            .onFailure(rc::fail)),
        Map.entry("listPartnerEvents", rc -> send(rc, 200, events.page(Caller.of(rc), rc.queryParams().get("after"),
            Page.requested(rc.queryParams().get("limit"))))),
        Map.entry("submitPartnerFigure", rc -> figures.submit(Actor.of(rc), IdempotencyKeys.header(rc.request()),
                rc.body().asJsonObject())
            .onSuccess(answer -> answer.send(rc))
            .onFailure(rc::fail)),
        Map.entry("createPartnerClient", rc -> send(rc, 201, clients.create(Actor.of(rc), rc.body().asJsonObject()))),
        Map.entry("listPartnerClients", rc -> send(rc, 200, clients.list(Actor.of(rc), rc.queryParams().get("cursor"),
            Page.requested(rc.queryParams().get("limit"))))),
        Map.entry("getPartnerClient", rc -> send(rc, 200, clients.get(Actor.of(rc), id(rc, "id")))),
        Map.entry("addPartnerClientCredential", rc -> send(rc, 200, clients.addCredential(Actor.of(rc), id(rc, "id"),
            rc.body().asJsonObject()))),
        Map.entry("removePartnerClientCredential", rc -> send(rc, 200, clients.removeCredential(Actor.of(rc),
            id(rc, "id"), id(rc, "credentialId")))),
        Map.entry("changePartnerClientGrant", rc -> send(rc, 200, clients.changeGrant(Actor.of(rc), id(rc, "id"),
            rc.body().asJsonObject()))),
        Map.entry("disablePartnerClient", rc -> send(rc, 200, clients.disable(Actor.of(rc), id(rc, "id")))));
  }

  @Override
  public void mountRaw(Router router) {
    tokenEndpoint.mount(router);
  }

  /** The contract has checked it is an integer >= 1; beyond int it is capped like any large limit. */
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
