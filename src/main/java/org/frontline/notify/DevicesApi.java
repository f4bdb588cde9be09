package org.frontline.notify;

import io.vertx.core.Handler;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.frontline.identity.BearerAuthHandler;
import org.frontline.identity.Caller;
import org.frontline.identity.RefusalAudit;
import org.frontline.platform.http.ApiRoutes;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemType;

import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Map;
import java.util.UUID;

/** The caller's own devices: register or refresh, list, remove. Another account's device answers 404. */
public final class DevicesApi implements ApiRoutes {
  private final DeviceRepository devices;
  private final RefusalAudit refusals;

  /** {@code refusals}: where a registration refused for its ended session goes on record (auth.token.rejected). */
  public DevicesApi(DeviceRepository devices, RefusalAudit refusals) {
    this.devices = devices;
    this.refusals = refusals;
  }

  @Override
  public Map<String, Handler<RoutingContext>> handlers() {
    return Map.of(
        "registerDevice", this::register,
        "listDevices", this::list,
        "deleteDevice", this::delete);
  }

  private void register(RoutingContext rc) {
    JsonObject b = rc.body().asJsonObject();
    devices.register(Caller.of(rc).accountId(), Caller.session(rc), new DeviceRepository.NewDevice(
            b.getString("token"), b.getString("platform"), b.getString("appVersion"), b.getString("locale")))
        .onSuccess(r -> {
          if (r.sessionEnded()) {
            // Ended after authentication let the request through: refused, and audited, as authentication
            // refuses it now.
            BearerAuthHandler.reject(refusals, rc, Caller.of(rc).accountId(), BearerAuthHandler.SESSION_ENDED);
            return;
          }
          rc.response().setStatusCode(r.created() ? 201 : 200);
          if (r.created()) {
            rc.response().putHeader("Location", "/v1/devices/" + r.device().id());
          }
          rc.response().putHeader("Content-Type", "application/json").putHeader("Cache-Control", "no-store")
              .end(json(r.device()).encode());
        })
        .onFailure(rc::fail);
  }

  private void list(RoutingContext rc) {
    devices.list(Caller.of(rc).accountId())
        .onSuccess(list -> rc.response().putHeader("Content-Type", "application/json")
            .putHeader("Cache-Control", "no-store")
            .end(new JsonObject().put("items", new JsonArray(list.stream().map(DevicesApi::json).toList())).encode()))
        .onFailure(rc::fail);
  }

  private void delete(RoutingContext rc) {
    UUID id = UUID.fromString(rc.pathParam("id"));
    devices.remove(Caller.of(rc).accountId(), id)
        .onSuccess(removed -> {
          if (removed.isEmpty()) {
            rc.fail(Problem.of(ProblemType.NOT_FOUND, "No device " + id + " of yours.").toException());
          } else {
            rc.response().setStatusCode(204).end();
          }
        })
        .onFailure(rc::fail);
  }

  static JsonObject json(DeviceRepository.Device d) {
    // The token is the caller's own; echoed so the app can tell which registration is this phone.
    return new JsonObject()
        .put("id", d.id().toString())
        .put("token", d.token())
        .put("platform", d.platform())
        .put("appVersion", d.appVersion())
        .put("locale", d.locale())
        .put("createdAt", time(d.createdAt()))
        .put("lastSeenAt", time(d.lastSeenAt()));
  }

  static String time(OffsetDateTime t) {
    return t == null ? null : DateTimeFormatter.ISO_INSTANT.format(t.toInstant());
  }
}
