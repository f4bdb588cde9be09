package org.frontline.webhooks;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.frontline.identity.Actor;

import java.util.Map;
import java.util.UUID;

/** Webhook subscriptions (partner tokens with webhooks:manage) and an admin's view of a client's subscriptions. */
public final class WebhooksApi implements org.frontline.platform.http.ApiRoutes {
  private final WebhookService webhooks;

  public WebhooksApi(WebhookService webhooks) {
    this.webhooks = webhooks;
  }

  @Override
  public Map<String, Handler<RoutingContext>> handlers() {
    return Map.ofEntries(
        Map.entry("createWebhook", rc -> send(rc, 201, webhooks.create(Actor.of(rc), rc.body().asJsonObject()))),
        Map.entry("listWebhooks", rc -> send(rc, 200, webhooks.list(Actor.of(rc)))),
        Map.entry("getWebhook", rc -> send(rc, 200, webhooks.get(Actor.of(rc), id(rc, "id")))),
        Map.entry("deleteWebhook", rc -> webhooks.delete(Actor.of(rc), id(rc, "id"))
            .onSuccess(v -> rc.response().setStatusCode(204).end())
            .onFailure(rc::fail)),
        Map.entry("enableWebhook", rc -> send(rc, 200, webhooks.enable(Actor.of(rc), id(rc, "id")))),
        Map.entry("rotateWebhookSecret", rc -> send(rc, 200, webhooks.rotateSecret(Actor.of(rc), id(rc, "id"),
            rc.body() == null || rc.body().isEmpty() ? null : rc.body().asJsonObject()))),
        Map.entry("listWebhookDeliveries", rc -> {
          String before = rc.queryParams().get("before");
          send(rc, 200, webhooks.deliveries(Actor.of(rc), id(rc, "id"), before == null ? null : Long.valueOf(before)));
        }),
        Map.entry("replayWebhookDelivery", rc -> send(rc, 202, webhooks.replay(Actor.of(rc), id(rc, "id"),
            Long.parseLong(rc.pathParam("deliveryId"))))),
        Map.entry("listPartnerClientWebhooks", rc -> send(rc, 200, webhooks.listForClient(Actor.of(rc), id(rc, "id")))));
  }

  private static UUID id(RoutingContext rc, String name) {
    return UUID.fromString(rc.pathParam(name));
  }

  private static void send(RoutingContext rc, int status, Future<JsonObject> result) {
    result.onSuccess(json -> {
          if (status == 201) {
            rc.response().putHeader("Location", "/v1/webhooks/" + json.getString("id"));
          }
          rc.response().setStatusCode(status).putHeader("Content-Type", "application/json")
              .putHeader("Cache-Control", "no-store").end(json.encode());
        })
        .onFailure(rc::fail);
  }
}
