package org.frontline.notify;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import org.frontline.audit.AuditEvent;
import org.frontline.audit.AuditLog;
import org.frontline.identity.Actor;
import org.frontline.identity.Caller;
import org.frontline.identity.Page;
import org.frontline.identity.Scope;
import org.frontline.platform.http.ApiRoutes;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemType;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The admins' view of push deliveries, dead letters first of all, and the re-drive of a dead one. An admin sees the
 * deliveries whose recipient's home unit lies in the admin's scope (as for accounts); any other delivery answers
 * 404, as a missing one. A re-drive puts the delivery back to PENDING with a fresh set of attempts, due now: the
 * dispatcher sends it like any other (same dedup key, same device: a device retired since is dead-lettered again).
 */
public final class DeliveriesAdminApi implements ApiRoutes {
  private static final String COLUMNS = "p.id, p.event_id, o.event_type, p.account_id, a.username, p.device_id,"
      + " d.platform, p.status, p.attempts, p.last_error, p.title, p.created_at, p.next_attempt_at, p.delivered_at";
  private static final String FROM = " FROM push_delivery p JOIN outbox o ON o.id = p.event_id"
      + " JOIN account a ON a.id = p.account_id JOIN device d ON d.id = p.device_id";

  private final Pool pool;
  private final AuditLog audit;

  public DeliveriesAdminApi(Pool pool, AuditLog audit) {
    this.pool = pool;
    this.audit = audit;
  }

  @Override
  public Map<String, Handler<RoutingContext>> handlers() {
    return Map.of("listDeliveries", this::list, "redriveDelivery", this::redrive);
  }

  private void list(RoutingContext rc) {
    Caller caller = Caller.of(rc);
    String state = rc.queryParams().get("state") == null ? "DEAD" : rc.queryParams().get("state");
    String filters = Page.filters("deliveries", state);
    String key;
    try {
      key = Page.decode(rc.queryParams().get("cursor"), DeliveriesAdminApi::deliveryId, filters);
    } catch (RuntimeException e) {
      rc.fail(e);
      return;
    }
    int limit = Page.limit(Page.requested(rc.queryParams().get("limit")));
    Long after = key == null ? null : Long.valueOf(key);
    // Newest first by id; the cursor is the id of the last delivery of the page.
    Scope.of(pool, caller)
        .compose(scope -> pool.preparedQuery("SELECT " + COLUMNS + FROM + " WHERE p.status = $2"
                + " AND ($3::bigint IS NULL OR p.id < $3) AND " + Scope.sqlForUnitId("a.home_unit_id", 1)
                + " ORDER BY p.id DESC LIMIT $4")
            .execute(Tuple.of(scope.paths(), state, after, limit + 1)))
        .onSuccess(rows -> {
          List<JsonObject> items = new ArrayList<>();
          rows.forEach(r -> items.add(json(r)));
          Page<JsonObject> page = Page.of(items, limit, j -> String.valueOf(j.getLong("id")), filters);
          rc.response().putHeader("Content-Type", "application/json").putHeader("Cache-Control", "no-store")
              .end(new JsonObject().put("items", new JsonArray(page.items())).put("nextCursor", page.nextCursor())
                  .encode());
        })
        .onFailure(rc::fail);
  }

  private void redrive(RoutingContext rc) {
    long id = Long.parseLong(rc.pathParam("id"));
    Actor actor = Actor.of(rc);
    // The delivery is locked by key, then the scope read and the delivery judged: one statement locking it joined to
    // its account with the scope check re-checked, after a wait (a dispatcher's claim), the delivery's new version
    // against the account and home unit as they were when the statement began (a unit moved out of the scope
    // meanwhile still passed), and a scope read before the lock misses a move committed during the wait.
    pool.withTransaction(conn -> actor.scopeAfterLocking(conn, "push_delivery", id)
        .compose(scope -> conn.preparedQuery("SELECT p.status,"
                + " p.attempts, p.last_error, p.device_id, a.home_unit_id,"
                + " (SELECT username FROM account WHERE id = $3) AS actor FROM push_delivery p"
                + " JOIN account a ON a.id = p.account_id WHERE p.id = $2 AND "
                + Scope.sqlForUnitId("a.home_unit_id", 1))
            .execute(Tuple.of(scope.paths(), id, actor.accountId())))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.failedFuture(Problem.of(ProblemType.NOT_FOUND, "No delivery " + id + ".").toException());
          }
          Row before = rows.iterator().next();
          String status = before.getString("status");
          if (!"DEAD".equals(status)) {
            return Future.failedFuture(Problem.of(ProblemType.CONFLICT, "Delivery " + id + " is " + status
                + "; only a dead delivery can be re-driven.").with("currentStatus", status).toException());
          }
          return conn.preparedQuery("UPDATE push_delivery SET status = 'PENDING', attempts = 0,"
                  + " device_throttles = 0, next_attempt_at = now(), last_error = NULL, message_id = NULL,"
                  + " claimed_by = NULL, lease_until = NULL WHERE id = $1")
              .execute(Tuple.of(id))
              .compose(v -> record(conn, actor, id, before))
              .compose(v -> conn.preparedQuery("SELECT " + COLUMNS + FROM + " WHERE p.id = $1")
                  .execute(Tuple.of(id)))
              .map(after -> json(after.iterator().next()));
        }))
        .onSuccess(json -> rc.response().putHeader("Content-Type", "application/json")
            .putHeader("Cache-Control", "no-store").end(json.encode()))
        .onFailure(rc::fail);
  }

  /**
   * Whether a cursor's key is a delivery id: digits that fit a bigint. Nineteen digits alone could exceed it, and
   * {@code Long.valueOf} then threw outside the cursor check (a 500 for a forged cursor).
   */
  private static boolean deliveryId(String key) {
    if (!key.matches("[0-9]{1,19}")) {
      return false;
    }
    try {
      Long.parseLong(key);
      return true;
    } catch (NumberFormatException e) {
      return false;
    }
  }


  /** The re-drive in the audit log, in the same transaction: what the delivery was before. */
  private Future<Void> record(SqlConnection conn, Actor actor, long id, Row before) {
    UUID actorId = actor.accountId();
    String label = before.getString("actor") == null ? String.valueOf(actorId) : before.getString("actor");
    JsonObject details = new JsonObject()
        .put("previousAttempts", before.getInteger("attempts"))
        .put("previousError", before.getString("last_error"))
        .put("deviceId", before.getUUID("device_id").toString());
    return audit.record(conn, new AuditEvent(actorId, label, "push-delivery.redrive", "push-delivery",
        String.valueOf(id), before.getUUID("home_unit_id"), actor.clientAddress(), actor.requestId(),
        AuditEvent.Outcome.SUCCESS, details));
  }

  static JsonObject json(Row r) {
    return new JsonObject()
        .put("id", r.getLong("id"))
        .put("eventId", r.getLong("event_id"))
        .put("eventType", r.getString("event_type"))
        .put("accountId", r.getUUID("account_id").toString())
        .put("username", r.getString("username"))
        .put("deviceId", r.getUUID("device_id").toString())
        .put("platform", r.getString("platform"))
        .put("status", r.getString("status"))
        .put("attempts", r.getInteger("attempts"))
        .put("lastError", r.getString("last_error"))
        .put("title", r.getString("title"))
        .put("createdAt", DevicesApi.time(r.getOffsetDateTime("created_at")))
        .put("nextAttemptAt", DevicesApi.time(r.getOffsetDateTime("next_attempt_at")))
        .put("deliveredAt", DevicesApi.time(r.getOffsetDateTime("delivered_at")));
  }
}
