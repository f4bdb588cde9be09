package org.frontline.notify;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import org.frontline.identity.Caller;
import org.frontline.identity.Page;
import org.frontline.identity.Scope;
import org.frontline.platform.http.ApiRoutes;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.Problem.FieldError;
import org.frontline.platform.http.ProblemType;

import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The caller's inbox: unread first, then newest first, with cursor pagination and the unread count; and
 * acknowledging one notification as delivered or opened. Only the recipient sees or acknowledges a notification,
 * and only while its event's unit is in their scope and they hold the role its rule chose them for; anyone else gets
 * 404, as for a missing one.
 */
public final class NotificationsApi implements ApiRoutes {
  private static final String COLUMNS = "id, event_type, title, body, data, created_at, delivered_at, opened_at";

  /**
   * The notification's event concerns a unit in the caller's scope as it is now (its paths bound as {@code $param}),
   * or no unit: a supervisor moved to other units no longer reads, counts or opens the alerts of the old ones (an
   * opening would also have kept an urgent alert from being escalated to those now responsible).
   */
  private static String inScope(int param) {
    return "EXISTS (SELECT 1 FROM outbox o WHERE o.id = notification.event_id"
        + " AND (o.unit_id IS NULL OR " + Scope.sqlForUnitId("o.unit_id", param) + "))";
  }

  /**
   * The notification is not of a kind whose rule chose its recipients for a role the caller no longer holds (the
   * kinds bound as {@code $param}, {@link AlertRules#kindsNotFor}): a supervisor made an officer, scope kept, no longer
   * reads, counts or opens the alerts written while they supervised (an opening would have kept an urgent one from
   * being escalated to those who supervise now), as their pushes are no longer sent (DispatchRepository).
   */
  private static String roleHeld(int param) {
    return "notification.event_type <> ALL ($" + param + "::text[])";
  }

  /** The position after which the next page starts: (read?, created_at, id) in the inbox order. */
  record Cursor(boolean read, OffsetDateTime createdAt, UUID id) {}

  /** A page's rows ($1 the caller, $2 the page's size, $3 its scope's paths, $4 the kinds not for its roles). */
  static final String PAGE = "SELECT " + COLUMNS + " FROM notification WHERE account_id = $1 AND " + roleHeld(4)
      + " AND " + inScope(3);

  /**
   * The unread count ($1 the caller, $2 its scope's paths, $3 the kinds not for its roles). Counted per unit first,
   * then the units checked: one outbox lookup per unread alert, the scope once per unit (unread report.completed
   * alerts pile up for good).
   */
  static final String UNREAD = "SELECT coalesce(sum(c.n), 0)::bigint FROM"
      + " (SELECT o.unit_id, count(*) AS n FROM notification JOIN outbox o ON o.id = notification.event_id"
      + " WHERE notification.account_id = $1 AND notification.opened_at IS NULL AND " + roleHeld(3)
      + " GROUP BY o.unit_id) c WHERE c.unit_id IS NULL OR " + Scope.sqlForUnitId("c.unit_id", 2);

  private final Pool pool;

  public NotificationsApi(Pool pool) {
    this.pool = pool;
  }

  @Override
  public Map<String, Handler<RoutingContext>> handlers() {
    return Map.of("listNotifications", this::list, "ackNotification", this::ack);
  }

  private void list(RoutingContext rc) {
    UUID account = Caller.of(rc).accountId();
    Cursor cursor;
    try {
      String raw = rc.queryParams().get("cursor");
      cursor = raw == null || raw.isEmpty() ? null : decode(raw);
    } catch (RuntimeException e) {
      rc.fail(Problem.of(ProblemType.VALIDATION_FAILED, "The request does not match the contract.")
          .withErrors(List.of(new FieldError("query/cursor", "Not a cursor this service issued."))).toException());
      return;
    }
    int limit = Page.limit(Page.requested(rc.queryParams().get("limit")));
    Caller caller = Caller.of(rc);
    String[] notForRoles = AlertRules.kindsNotFor(caller.roles());
    Future<Scope> scope = Scope.of(pool, caller);
    Future<List<Row>> page = scope.compose(sc -> cursor == null
        ? pool.preparedQuery(PAGE + " ORDER BY (opened_at IS NOT NULL), created_at DESC, id DESC LIMIT $2")
            .execute(Tuple.of(account, limit + 1, sc.paths(), notForRoles)).map(NotificationsApi::rows)
        : pool.preparedQuery(PAGE
            + " AND ((opened_at IS NOT NULL) > $5 OR ((opened_at IS NOT NULL) = $5 AND (created_at, id) < ($6, $7)))"
            + " ORDER BY (opened_at IS NOT NULL), created_at DESC, id DESC LIMIT $2")
            .execute(Tuple.of(account, limit + 1, sc.paths(), notForRoles, cursor.read(), cursor.createdAt(),
                cursor.id()))
            .map(NotificationsApi::rows));
    Future<Long> unread = scope.compose(sc -> pool.preparedQuery(UNREAD)
        .execute(Tuple.of(account, sc.paths(), notForRoles)).map(rows -> rows.iterator().next().getLong(0)));
    Future.all(page, unread).onSuccess(v -> {
      // One row more than the page was read: only then does another page follow (a last page exactly full said so).
      Page<Row> rows = Page.of(page.result(), limit, NotificationsApi::sortKey);
      rc.response().putHeader("Content-Type", "application/json").putHeader("Cache-Control", "no-store")
          .end(new JsonObject()
              .put("items", new JsonArray(rows.items().stream().map(NotificationsApi::json).toList()))
              .put("unreadCount", unread.result())
              .put("nextCursor", rows.nextCursor())
              .encode());
    }).onFailure(rc::fail);
  }

  private void ack(RoutingContext rc) {
    UUID id = UUID.fromString(rc.pathParam("id"));
    boolean opened = "opened".equals(rc.body().asJsonObject().getString("state"));
    Caller caller = Caller.of(rc);
    // Acknowledgements only move forward: the first time of each state is kept; opened implies delivered.
    Scope.of(pool, caller).compose(scope -> pool.preparedQuery("UPDATE notification"
            + " SET delivered_at = coalesce(delivered_at, now()),"
            + " opened_at = CASE WHEN $4 THEN coalesce(opened_at, now()) ELSE opened_at END"
            + " WHERE id = $1 AND account_id = $2 AND " + roleHeld(5) + " AND " + inScope(3) + " RETURNING " + COLUMNS)
        .execute(Tuple.of(id, caller.accountId(), scope.paths(), opened, AlertRules.kindsNotFor(caller.roles()))))
        .onSuccess(rows -> {
          if (rows.rowCount() == 0) {
            rc.fail(Problem.of(ProblemType.NOT_FOUND, "No notification " + id + " of yours.").toException());
          } else {
            rc.response().putHeader("Content-Type", "application/json").putHeader("Cache-Control", "no-store")
                .end(json(rows.iterator().next()).encode());
          }
        })
        .onFailure(rc::fail);
  }

  private static List<Row> rows(io.vertx.sqlclient.RowSet<Row> rows) {
    List<Row> out = new ArrayList<>();
    rows.forEach(out::add);
    return out;
  }

  /** A row's place in the list, as its cursor says it ({@link #decode}; Page.of encodes it): read?, then a TimeId. */
  private static String sortKey(Row r) {
    return (r.getOffsetDateTime("opened_at") != null ? "1|" : "0|")
        + Page.TimeId.key(r.getOffsetDateTime("created_at"), r.getUUID("id"));
  }

  /**
   * The time and id are read as every list's (Page.TimeId.parse): a made-up time beyond PostgreSQL's timestamptz
   * (year 294277) failed the page's query, a 500.
   */
  static Cursor decode(String raw) {
    String key = new String(Base64.getUrlDecoder().decode(raw), StandardCharsets.UTF_8);
    if (!(key.startsWith("0|") || key.startsWith("1|"))) {
      throw new IllegalArgumentException("cursor");
    }
    Page.TimeId at = Page.TimeId.parse(key.substring(2));
    return new Cursor(key.charAt(0) == '1', at.at(), at.id());
  }

  static JsonObject json(Row r) {
    Object data = r.getValue("data");
    return new JsonObject()
        .put("id", r.getUUID("id").toString())
        .put("eventType", r.getString("event_type"))
        .put("title", r.getString("title"))
        .put("body", r.getString("body"))
        .put("data", data instanceof JsonObject j ? j : new JsonObject())
        .put("createdAt", DevicesApi.time(r.getOffsetDateTime("created_at")))
        .put("deliveredAt", DevicesApi.time(r.getOffsetDateTime("delivered_at")))
        .put("openedAt", DevicesApi.time(r.getOffsetDateTime("opened_at")));
  }
}
