package org.frontline.platform.push;

import io.vertx.core.Handler;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.util.List;

/**
 * Dev mode only: {@code GET /dev/pushes} on the management port lists what the {@link RecordingPushGateway} would
 * have pushed, newest first ({@code ?limit=}, default 50, at most the gateway's capacity). Never mounted in
 * production (see {@code Frontline}): it shows alert texts and (shortened) device tokens.
 */
public final class DevPushesHandler implements Handler<RoutingContext> {
  public static final String PATH = "/dev/pushes";

  private final RecordingPushGateway gateway;

  public DevPushesHandler(RecordingPushGateway gateway) {
    this.gateway = gateway;
  }

  @Override
  public void handle(RoutingContext rc) {
    int limit = 50;
    String param = rc.request().getParam("limit");
    if (param != null) {
      try {
        limit = Math.max(1, Integer.parseInt(param));
      } catch (NumberFormatException e) {
        rc.response().setStatusCode(400).putHeader("Content-Type", "text/plain").end("limit must be an integer");
        return;
      }
    }
    List<RecordingPushGateway.Recorded> all = gateway.recorded();
    JsonArray pushes = new JsonArray();
    for (int i = all.size() - 1; i >= 0 && pushes.size() < limit; i--) {
      RecordingPushGateway.Recorded r = all.get(i);
      PushMessage m = r.message();
      pushes.add(new JsonObject()
          .put("id", r.id())
          .put("at", r.at().toString())
          .put("token", RecordingPushGateway.shorten(m.token()))
          .put("title", m.title())
          .put("body", m.body())
          .put("data", new JsonObject(new java.util.HashMap<>(m.data())))
          .put("collapseKey", m.collapseKey())
          .put("highPriority", m.highPriority()));
    }
    rc.response().putHeader("Content-Type", "application/json")
        .end(new JsonObject().put("gateway", gateway.name()).put("total", all.size()).put("pushes", pushes).encode());
  }
}
