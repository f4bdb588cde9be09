package org.frontline.notify;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import org.frontline.notify.AlertRules.OutboxEvent;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The dispatcher's SQL. Work is claimed with {@code FOR UPDATE SKIP LOCKED} and a lease: concurrent instances
 * never claim the same rows, and rows of an instance that died are claimed again once its lease has expired.
 */
public final class DispatchRepository {

  /** One recipient of one event, as a rule's recipients query returned it. */
  public record Recipient(UUID accountId, String locale, String subject) {}

  /** A claimed push delivery; {@code live} is false when its device was retired or moved to another account. */
  public record Due(long id, String token, boolean live, String title, String body, JsonObject data,
      String collapseKey, int attempts) {}

  private final Pool pool;

  public DispatchRepository(Pool pool) {
    this.pool = pool;
  }

  /** Claims up to {@code limit} undispatched events, oldest first, whose lease (if any) has expired. */
  public Future<List<OutboxEvent>> claimEvents(String instance, int limit, Duration lease) {
    return pool.preparedQuery("WITH c AS (SELECT id FROM outbox WHERE dispatched_at IS NULL"
            + " AND (lease_until IS NULL OR lease_until < now()) ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)"
            + " UPDATE outbox o SET claimed_by = $2, lease_until = now() + $3 * interval '1 millisecond',"
            + " claims = claims + 1 FROM c WHERE o.id = c.id"
            + " RETURNING o.id, o.event_type, o.aggregate_type, o.aggregate_id::text, o.unit_id::text, o.payload")
        .execute(Tuple.of(limit, instance, lease.toMillis()))
        .map(rows -> {
          List<OutboxEvent> out = new ArrayList<>();
          for (Row r : rows) {
            Object payload = r.getValue("payload");
            out.add(new OutboxEvent(r.getLong("id"), r.getString("event_type"), r.getString("aggregate_type"),
                r.getString("aggregate_id"), r.getString("unit_id"),
                payload instanceof JsonObject j ? j : new JsonObject()));
          }
          out.sort(java.util.Comparator.comparingLong(OutboxEvent::id));
          return out;
        });
  }

  /** Runs a rule's recipients query for an event. */
  public Future<List<Recipient>> recipients(String sql, OutboxEvent event) {
    return pool.preparedQuery(sql)
        .execute(Tuple.of(event.unitId() == null ? null : UUID.fromString(event.unitId()), event.payload()))
        .map(rows -> {
          List<Recipient> out = new ArrayList<>();
          rows.forEach(r -> out.add(new Recipient(r.getUUID("account_id"), r.getString("locale"),
              r.getString("subject"))));
          return out;
        });
  }

  /** An alert for one recipient of one event, ready to be written. */
  public record Alert(long eventId, String eventType, UUID accountId, String title, String body, JsonObject data,
      String collapseKey, String locale) {}

  /**
   * In one transaction: the inbox notification of each alert, a push delivery per live device of its recipient
   * (both deduplicated by their unique keys, so doing it twice is harmless), then the event marked dispatched.
   */
  public Future<Void> writeAlerts(long eventId, List<Alert> alerts) {
    return writeAlerts(eventId, alerts, FloodControl.OFF);
  }

  /**
   * As {@link #writeAlerts(long, List)}, with {@link FloodControl}: each recipient's push is decided by their
   * notifications within the window (under a per-recipient transaction lock, so concurrent dispatchers count
   * alike): their own push, one digest push instead, or none. The inbox notification is written in every case.
   */
  public Future<Void> writeAlerts(long eventId, List<Alert> alerts, FloodControl flood) {
    return pool.withTransaction(conn -> {
      Future<?> f = Future.succeededFuture();
      if (!alerts.isEmpty() && flood.enabled()) {
        List<Alert> sorted = new ArrayList<>(alerts);
        sorted.sort(java.util.Comparator.comparing(Alert::accountId)); // one lock order: no deadlocks
        Future<Void> chain = Future.succeededFuture();
        for (Alert a : sorted) {
          chain = chain.compose(v -> writeLimited(conn, a, flood));
        }
        f = chain;
      } else if (!alerts.isEmpty()) {
        List<Tuple> notifications = new ArrayList<>();
        List<Tuple> deliveries = new ArrayList<>();
        for (Alert a : alerts) {
          notifications.add(Tuple.of(UUID.randomUUID(), a.eventId(), a.accountId(), a.eventType(), a.title(),
              a.body(), a.data()));
          deliveries.add(Tuple.of(a.eventId(), a.accountId(), a.title(), a.body(), a.data(), a.collapseKey()));
        }
        f = conn.preparedQuery("INSERT INTO notification (id, event_id, account_id, event_type, title, body, data)"
                + " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (event_id, account_id) DO NOTHING")
            .executeBatch(notifications)
            .compose(v -> conn.preparedQuery("INSERT INTO push_delivery (event_id, account_id, device_id, title, body,"
                    + " data, collapse_key) SELECT $1, $2, d.id, $3, $4, $5, $6 FROM device d"
                    + " WHERE d.account_id = $2 AND d.retired_at IS NULL"
                    + " ON CONFLICT (event_id, account_id, device_id) DO NOTHING")
                .executeBatch(deliveries));
      }
      return f.compose(v -> conn.preparedQuery("UPDATE outbox SET dispatched_at = now(), lease_until = NULL"
              + " WHERE id = $1 AND dispatched_at IS NULL")
          .execute(Tuple.of(eventId))).mapEmpty();
    });
  }

  private static final String INSERT_DELIVERY = "INSERT INTO push_delivery (event_id, account_id, device_id, title,"
      + " body, data, collapse_key) SELECT $1, $2, d.id, $3, $4, $5, $6 FROM device d"
      + " WHERE d.account_id = $2 AND d.retired_at IS NULL ON CONFLICT (event_id, account_id, device_id) DO NOTHING";

  private Future<Void> writeLimited(SqlConnection conn, Alert a, FloodControl flood) {
    return conn.preparedQuery("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 6))")
        .execute(Tuple.of(a.accountId().toString()))
        .compose(v -> conn.preparedQuery("SELECT count(*) FILTER (WHERE push = 'ALERT') AS own,"
                + " count(*) FILTER (WHERE push = 'DIGEST') AS digests, count(*) AS total FROM notification"
                + " WHERE account_id = $1 AND created_at > now() - $2 * interval '1 millisecond'")
            .execute(Tuple.of(a.accountId(), flood.window().toMillis())))
        .compose(rows -> {
          Row r = rows.iterator().next();
          FloodControl.Push push = flood.decide(r.getLong("own"), r.getLong("digests") > 0);
          long count = r.getLong("total") + 1;
          return conn.preparedQuery("INSERT INTO notification (id, event_id, account_id, event_type, title, body,"
                  + " data, push) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (event_id, account_id) DO NOTHING"
                  + " RETURNING id")
              .execute(Tuple.of(UUID.randomUUID(), a.eventId(), a.accountId(), a.eventType(), a.title(), a.body(),
                  a.data(), push.name()))
              .compose(inserted -> {
                if (inserted.rowCount() == 0 || push == FloodControl.Push.NONE) {
                  return Future.succeededFuture();
                }
                Tuple delivery;
                if (push == FloodControl.Push.ALERT) {
                  delivery = Tuple.of(a.eventId(), a.accountId(), a.title(), a.body(), a.data(), a.collapseKey());
                } else {
                  AlertRules.Text text = FloodControl.digestText(a.locale(), count);
                  delivery = Tuple.of(a.eventId(), a.accountId(), text.title(), text.body(),
                      new JsonObject().put("eventType", FloodControl.DIGEST_EVENT_TYPE).put("count", String.valueOf(count)),
                      FloodControl.DIGEST_COLLAPSE_KEY);
                }
                return conn.preparedQuery(INSERT_DELIVERY).execute(delivery).mapEmpty();
              });
        });
  }

  /** {pending outbox events, age of the oldest in ms (0 when none), pending push deliveries}. */
  public Future<long[]> queueDepth() {
    return pool.query("SELECT (SELECT count(*) FROM outbox WHERE dispatched_at IS NULL) AS events,"
            + " coalesce((SELECT (extract(epoch FROM now() - created_at) * 1000)::bigint FROM outbox"
            + " WHERE dispatched_at IS NULL ORDER BY id LIMIT 1), 0) AS oldest,"
            + " (SELECT count(*) FROM push_delivery WHERE status = 'PENDING') AS deliveries")
        .execute()
        .map(rows -> {
          Row r = rows.iterator().next();
          return new long[] {r.getLong("events"), r.getLong("oldest"), r.getLong("deliveries")};
        });
  }

  /** Claims up to {@code limit} pending deliveries that are due, with the token of their device. */
  public Future<List<Due>> claimDeliveries(String instance, int limit, Duration lease) {
    return pool.preparedQuery("WITH c AS (SELECT id FROM push_delivery WHERE status = 'PENDING'"
            + " AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())"
            + " ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)"
            + " UPDATE push_delivery p SET claimed_by = $2, lease_until = now() + $3 * interval '1 millisecond'"
            + " FROM c, device d WHERE p.id = c.id AND d.id = p.device_id"
            + " RETURNING p.id, d.token, (d.account_id = p.account_id AND d.retired_at IS NULL) AS live, p.title,"
            + " p.body, p.data, p.collapse_key, p.attempts")
        .execute(Tuple.of(limit, instance, lease.toMillis()))
        .map(rows -> {
          List<Due> out = new ArrayList<>();
          for (Row r : rows) {
            Object data = r.getValue("data");
            out.add(new Due(r.getLong("id"), r.getString("token"), r.getBoolean("live"), r.getString("title"),
                r.getString("body"), data instanceof JsonObject j ? j : new JsonObject(), r.getString("collapse_key"),
                r.getInteger("attempts")));
          }
          return out;
        });
  }

  /** What to record for one sent (or not sent) delivery. */
  public record Outcome(long id, String status, Duration retryIn, String error, String messageId) {}

  /** Records outcomes (only for rows this instance still holds) and retires the tokens FCM called dead. */
  public Future<Void> record(String instance, List<Outcome> outcomes, List<String> deadTokens) {
    if (outcomes.isEmpty()) {
      return Future.succeededFuture();
    }
    List<Tuple> rows = new ArrayList<>();
    for (Outcome o : outcomes) {
      rows.add(Tuple.of(o.id(), o.status(), o.retryIn() == null ? 0L : o.retryIn().toMillis(), o.error(),
          o.messageId(), instance));
    }
    return pool.withTransaction(conn -> conn.preparedQuery("UPDATE push_delivery SET status = $2,"
                + " attempts = attempts + 1, next_attempt_at = now() + $3 * interval '1 millisecond', last_error = $4,"
                + " message_id = $5, delivered_at = CASE WHEN $2 = 'SENT' THEN now() END,"
                + " claimed_by = NULL, lease_until = NULL WHERE id = $1 AND claimed_by = $6 AND status = 'PENDING'")
            .executeBatch(rows)
            .compose(v -> deadTokens.isEmpty() ? Future.succeededFuture() : conn.preparedQuery("UPDATE device"
                    + " SET retired_at = now(), retired_reason = 'UNREGISTERED' WHERE token = ANY ($1)"
                    + " AND retired_at IS NULL")
                .execute(Tuple.of(deadTokens.toArray(String[]::new)))))
        .mapEmpty();
  }
}
