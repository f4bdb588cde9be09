package org.frontline.notify;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import org.frontline.audit.AuditEvent;
import org.frontline.audit.AuditLog;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Escalation: an event of an urgent kind ({@link AlertRules#urgentKinds()}) whose alerts none of its recipients
 * opened within the configured time is re-sent once to the supervisors one level up. In one transaction: its
 * unopened notifications get {@code escalated_at} (so it is never picked again), an {@code alert.escalated} outbox
 * event is written for the parent of the event's unit (its recipients: the supervisors covering the parent unit's
 * subtree; those who cover only the unit itself are not among them), and an audit entry. The
 * {@code alert.escalated} event then goes through the ordinary dispatch (inbox, push, flood control); a unique index
 * makes a second escalation of the same event impossible even across racing instances. An event of the root unit
 * has nobody above: it is marked and audited, nothing is sent, and it is not counted as escalated.
 */
final class Escalations {
  static final String EVENT_TYPE = "alert.escalated";
  /** At most the events of this many unopened alerts escalated per check. */
  static final int BATCH = 100;

  private final Pool pool;
  private final AuditLog audit;

  Escalations(Pool pool, AuditLog audit) {
    this.pool = pool;
    this.audit = audit;
  }

  /**
   * The events due for escalation ($1 the urgent kinds, $2 the delay in ms; the events of at most $3 alerts, oldest
   * first). Through notification_escalation_kind_idx (V141, kind first): the check reads the unopened alerts of the
   * urgent kinds only. It read every unopened alert of every kind before (a DISTINCT over LIMIT walked the
   * (event_id, account_id) key, or the time index, filtering the kind), and most alerts are of kinds never
   * escalated and stay unopened for good: its cost grew with the whole unread history, every 5 s on every instance.
   * "None of the event's alerts opened" is a per-candidate subquery on the event's alerts (the (event_id,
   * account_id) key): written as NOT EXISTS, the planner turned it into an anti join that read every opened
   * notification of the table whenever there was a candidate.
   */
  static final String DUE = "SELECT DISTINCT d.event_id FROM (SELECT n.event_id"
      + " FROM notification n WHERE n.event_type = ANY ($1) AND n.opened_at IS NULL AND n.escalated_at IS NULL"
      + " AND n.created_at < now() - $2 * interval '1 millisecond'"
      + " AND NOT (SELECT bool_or(o.opened_at IS NOT NULL) FROM notification o WHERE o.event_id = n.event_id)"
      + " ORDER BY n.created_at LIMIT $3) d";

  /**
   * First every alert of the due events is locked (in one order: no deadlock between instances), then, in a statement
   * whose snapshot is taken once those locks are held, the events that still nobody opened are marked. An ack
   * (ackNotification: one row) that was under way when the check started has committed by then, so it counts: one
   * statement marking the due events' unopened alerts skipped only the alert just opened, and escalated the event
   * through the others. An ack that comes later waits for the check and is too late, as it would be a moment after.
   */
  Future<Integer> escalateDue(Set<String> urgentKinds, Duration after) {
    return pool.withTransaction(conn -> conn.preparedQuery(DUE)
            .execute(Tuple.of(urgentKinds.toArray(String[]::new), after.toMillis(), BATCH))
            .compose(candidates -> {
              List<Long> due = new ArrayList<>();
              candidates.forEach(r -> due.add(r.getLong("event_id")));
              // Through the (event_id, account_id) key; DUE alone keeps the plan it was tuned for (V141).
              return due.isEmpty() ? Future.succeededFuture(due) : conn.preparedQuery("SELECT 1 FROM notification"
                      + " WHERE event_id = ANY ($1) ORDER BY event_id, account_id FOR UPDATE")
                  .execute(Tuple.of((Object) due.toArray(Long[]::new))).map(due);
            })
            .compose(due -> due.isEmpty() ? Future.succeededFuture(null) : conn.preparedQuery("WITH marked AS ("
                    + "UPDATE notification n SET escalated_at = now() WHERE n.event_id = ANY ($1)"
                    + " AND n.escalated_at IS NULL AND n.opened_at IS NULL"
                    + " AND NOT (SELECT bool_or(o.opened_at IS NOT NULL) FROM notification o"
                    + " WHERE o.event_id = n.event_id) RETURNING n.event_id)"
                    + " SELECT event_id, count(*) AS unopened FROM marked GROUP BY event_id ORDER BY event_id")
                .execute(Tuple.of((Object) due.toArray(Long[]::new))))
            .compose(rows -> {
              if (rows == null || rows.rowCount() == 0) {
                return Future.succeededFuture(0);
              }
              Map<Long, Long> unopened = new HashMap<>();
              rows.forEach(r -> unopened.put(r.getLong("event_id"), r.getLong("unopened")));
              return escalate(conn, unopened);
            }));
  }

  /**
   * The escalation events of the marked events, and their audit entries; how many were sent one level up (not an
   * event of the root unit: it was counted, and logged, as escalated although nobody above was told).
   */
  private Future<Integer> escalate(SqlConnection conn, Map<Long, Long> unopened) {
    Long[] ids = unopened.keySet().toArray(Long[]::new);
    return conn.preparedQuery("SELECT o.id, o.event_type, o.unit_id, u.parent_id, u.name FROM outbox o"
            + " LEFT JOIN org_unit u ON u.id = o.unit_id WHERE o.id = ANY ($1) ORDER BY o.id")
        .execute(Tuple.of((Object) ids))
        .compose(events -> conn.preparedQuery("INSERT INTO outbox (event_type, aggregate_type, aggregate_id, unit_id,"
                + " payload) SELECT $2, o.aggregate_type, o.aggregate_id, u.parent_id, o.payload"
                + " || jsonb_build_object('escalatedEventId', o.id::text, 'escalatedType', o.event_type,"
                + " 'unitId', coalesce(o.payload ->> 'unitId', o.unit_id::text), 'unitName', u.name)"
                + " FROM outbox o JOIN org_unit u ON u.id = o.unit_id WHERE o.id = ANY ($1) AND u.parent_id IS NOT NULL"
                + " ON CONFLICT ((payload ->> 'escalatedEventId')) WHERE event_type = 'alert.escalated' DO NOTHING"
                + " RETURNING id, payload ->> 'escalatedEventId' AS escalated")
            .execute(Tuple.of((Object) ids, EVENT_TYPE))
            .compose(inserted -> {
              Map<Long, Long> escalationIds = new HashMap<>();
              inserted.forEach(r -> escalationIds.put(Long.parseLong(r.getString("escalated")), r.getLong("id")));
              List<Row> list = new ArrayList<>();
              events.forEach(list::add);
              Future<Void> chain = Future.succeededFuture();
              for (Row e : list) {
                long id = e.getLong("id");
                UUID unit = e.getUUID("unit_id");
                UUID parent = e.getUUID("parent_id");
                JsonObject details = new JsonObject().put("eventType", e.getString("event_type"))
                    .put("unopenedNotifications", unopened.get(id))
                    .put("escalationEventId", escalationIds.get(id))
                    .put("toUnitId", parent == null ? null : parent.toString());
                chain = chain.compose(v -> audit.record(conn, new AuditEvent(null, "system", "alert.escalate",
                    "outbox-event", String.valueOf(id), unit, null, null, AuditEvent.Outcome.SUCCESS, details)));
              }
              return chain.map(escalationIds.size());
            }));
  }
}
