package org.frontline.notify;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
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

  /**
   * A claimed push delivery; {@code notLive} is null when it may be sent, else why not: its recipient's account was
   * disabled, its device was retired or moved to another account, its recipient no longer holds the role the alert
   * was for, or no longer covers the alert's unit, since it was written. {@code deviceThrottles}: how many times FCM
   * refused it for its device's own message rate (see {@link Cost#DEVICE_THROTTLE}).
   */
  public record Due(long id, String token, String notLive, String title, String body, JsonObject data,
      String collapseKey, int attempts, int deviceThrottles) {
    public boolean live() {
      return notLive == null;
    }
  }

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

  /**
   * Runs a rule's recipients query for many events in one statement: the query, with {@code $1}/{@code $2} read as
   * each event's unit id and payload, joined laterally to the events. Event id -> its recipients (every event of
   * {@code events} has an entry). One statement instead of one per event: the event stage's round trips and
   * statement overheads competed with FCM sending for the CPU (bench/push).
   */
  public Future<java.util.Map<Long, List<Recipient>>> recipients(SqlClient client, String sql,
      List<OutboxEvent> events) {
    Long[] ids = new Long[events.size()];
    UUID[] units = new UUID[events.size()];
    JsonObject[] payloads = new JsonObject[events.size()];
    java.util.Map<Long, List<Recipient>> out = new java.util.HashMap<>();
    for (int i = 0; i < events.size(); i++) {
      OutboxEvent e = events.get(i);
      ids[i] = e.id();
      units[i] = e.unitId() == null ? null : UUID.fromString(e.unitId());
      payloads[i] = e.payload();
      out.put(e.id(), new ArrayList<>());
    }
    String perEvent = sql.replace("$1", "e.unit_id").replace("$2", "e.payload");
    return client.preparedQuery("SELECT e.event_id, r.account_id, r.locale, r.subject"
            + " FROM unnest($1::bigint[], $2::uuid[], $3::jsonb[]) AS e(event_id, unit_id, payload)"
            + " CROSS JOIN LATERAL (" + perEvent + ") r")
        .execute(Tuple.of(ids, units, payloads))
        .map(rows -> {
          rows.forEach(r -> out.get(r.getLong("event_id")).add(new Recipient(r.getUUID("account_id"),
              r.getString("locale"), r.getString("subject"))));
          return out;
        });
  }

  /** An alert for one recipient of one event, ready to be written. */
  public record Alert(long eventId, String eventType, UUID accountId, String title, String body, JsonObject data,
      String collapseKey, String locale) {}

  /** The alerts of one claimed event (none: the event alerts nobody, it is only marked dispatched). */
  public record EventAlerts(long eventId, List<Alert> alerts) {}

  /** Runs {@code work} in one transaction on one connection. */
  /**
   * Sets a claimed event aside (dispatched, with the reason) when it has been claimed at least {@code claims}
   * times and this instance still holds it; whether it was.
   */
  public Future<Boolean> setAside(long eventId, String instance, int claims, String reason) {
    return pool.preparedQuery("UPDATE outbox SET dispatched_at = now(), dispatch_error = $4, claimed_by = NULL,"
            + " lease_until = NULL WHERE id = $1 AND claimed_by = $2 AND claims >= $3 AND dispatched_at IS NULL")
        .execute(Tuple.of(eventId, instance, claims, reason.length() > 500 ? reason.substring(0, 500) : reason))
        .map(rows -> rows.rowCount() > 0);
  }

  public <T> Future<T> inTransaction(java.util.function.Function<SqlConnection, Future<T>> work) {
    return pool.withTransaction(work::apply);
  }

  /** {@link #writeAlerts(SqlConnection, List, FloodControl)} of one event in its own transaction. */
  public Future<Void> writeAlerts(long eventId, List<Alert> alerts) {
    return writeAlerts(eventId, alerts, FloodControl.OFF);
  }

  public Future<Void> writeAlerts(long eventId, List<Alert> alerts, FloodControl flood) {
    return pool.withTransaction(conn -> writeAlerts(conn, List.of(new EventAlerts(eventId, alerts)), flood));
  }

  /**
   * Inside the caller's transaction, for a batch of events: the inbox notification of each alert, a push delivery
   * per live device of its recipient (both deduplicated by their unique keys, so doing it twice is harmless), then
   * the events marked dispatched. The rows are written in event id order and each notification takes
   * {@code clock_timestamp()} (not the transaction's {@code now()}), so the inbox keeps event order within a batch.
   *
   * <p>With {@link FloodControl}, each recipient's push is decided by their notifications within the window (under a
   * per-recipient transaction lock, so concurrent dispatchers count alike): their own push, one digest push
   * instead, or none. The inbox notification is written in every case. All the batch's recipients are locked first,
   * in one order (account id), so two instances' batches cannot deadlock.
   */
  public Future<Void> writeAlerts(SqlConnection conn, List<EventAlerts> events, FloodControl flood) {
    List<EventAlerts> ordered = new ArrayList<>(events);
    ordered.sort(java.util.Comparator.comparingLong(EventAlerts::eventId));
    List<Alert> alerts = ordered.stream().flatMap(e -> e.alerts().stream()).toList();
    Future<?> written;
    if (alerts.isEmpty()) {
      written = Future.succeededFuture();
    } else if (flood.enabled()) {
      written = lockRecipients(conn, alerts).compose(v -> {
        Future<Void> chain = Future.succeededFuture();
        for (Alert a : alerts) {
          chain = chain.compose(x -> writeLimited(conn, a, flood));
        }
        return chain;
      });
    } else {
      List<Tuple> notifications = new ArrayList<>(alerts.size());
      for (Alert a : alerts) {
        notifications.add(Tuple.of(UUID.randomUUID(), a.eventId(), a.accountId(), a.eventType(), a.title(),
            a.body(), a.data()));
      }
      // Both batches go out at once (the connection pipelines them; PostgreSQL runs them in order).
      Future<?> n = conn.preparedQuery("INSERT INTO notification (id, event_id, account_id, event_type, title, body,"
              + " data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, clock_timestamp())"
              + " ON CONFLICT (event_id, account_id) DO NOTHING")
          .executeBatch(notifications);
      Future<?> d = insertDeliveries(conn, alerts);
      written = Future.all(n, d);
    }
    Long[] ids = ordered.stream().map(EventAlerts::eventId).toArray(Long[]::new);
    return written.compose(v -> conn.preparedQuery("UPDATE outbox SET dispatched_at = now(), lease_until = NULL"
            + " WHERE id = ANY ($1) AND dispatched_at IS NULL")
        .execute(Tuple.of((Object) ids))).mapEmpty();
  }

  /**
   * The push deliveries of many alerts in one statement (a delivery per live device of each recipient), in event
   * order; already written ones are left as they are.
   */
  private static Future<?> insertDeliveries(SqlConnection conn, List<Alert> alerts) {
    int n = alerts.size();
    Long[] events = new Long[n];
    UUID[] accounts = new UUID[n];
    String[] titles = new String[n];
    String[] bodies = new String[n];
    JsonObject[] data = new JsonObject[n];
    String[] collapseKeys = new String[n];
    for (int i = 0; i < n; i++) {
      Alert a = alerts.get(i);
      events[i] = a.eventId();
      accounts[i] = a.accountId();
      titles[i] = a.title();
      bodies[i] = a.body();
      data[i] = a.data();
      collapseKeys[i] = a.collapseKey();
    }
    return conn.preparedQuery("INSERT INTO push_delivery (event_id, account_id, device_id, title, body, data,"
            + " collapse_key) SELECT a.event_id, a.account_id, d.id, a.title, a.body, a.data, a.collapse_key"
            + " FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::text[], $5::jsonb[], $6::text[])"
            + " WITH ORDINALITY AS a(event_id, account_id, title, body, data, collapse_key, n)"
            + " JOIN device d ON d.account_id = a.account_id AND d.retired_at IS NULL ORDER BY a.n, d.id"
            + " ON CONFLICT (event_id, account_id, device_id) DO NOTHING")
        .execute(Tuple.of(events, accounts, titles, bodies, data, collapseKeys));
  }

  /** Every recipient's flood lock, taken in account id order (the same order in every instance: no deadlocks). */
  private static Future<Void> lockRecipients(SqlConnection conn, List<Alert> alerts) {
    List<UUID> accounts = alerts.stream().map(Alert::accountId).distinct().sorted().toList();
    List<Future<?>> locks = new ArrayList<>(accounts.size());
    for (UUID account : accounts) {
      // Sent together; PostgreSQL runs pipelined statements one after another, so the order holds.
      locks.add(conn.preparedQuery("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 6))")
          .execute(Tuple.of(account.toString())));
    }
    return Future.all(locks).mapEmpty();
  }

  private static final String INSERT_DELIVERY = "INSERT INTO push_delivery (event_id, account_id, device_id, title,"
      + " body, data, collapse_key) SELECT $1, $2, d.id, $3, $4, $5, $6 FROM device d"
      + " WHERE d.account_id = $2 AND d.retired_at IS NULL ON CONFLICT (event_id, account_id, device_id) DO NOTHING";

  /** One alert under flood control; the recipient's lock is already held. */
  private Future<Void> writeLimited(SqlConnection conn, Alert a, FloodControl flood) {
    // Only the recipient's pushes in the window (notification_pushes_idx: at most the limit plus one digest), not
    // every notification of the window; all of them are counted only for a digest's text, once per window.
    return conn.preparedQuery("SELECT count(*) FILTER (WHERE push = 'ALERT') AS own,"
                + " count(*) FILTER (WHERE push = 'DIGEST') AS digests FROM notification"
                + " WHERE account_id = $1 AND created_at > now() - $2 * interval '1 millisecond' AND push <> 'NONE'")
            .execute(Tuple.of(a.accountId(), flood.window().toMillis()))
        .compose(rows -> {
          Row r = rows.iterator().next();
          FloodControl.Push push = flood.decide(a.eventType(), r.getLong("own"), r.getLong("digests") > 0);
          return (push != FloodControl.Push.DIGEST ? Future.succeededFuture(0L)
              : conn.preparedQuery("SELECT count(*) FROM notification WHERE account_id = $1"
                      + " AND created_at > now() - $2 * interval '1 millisecond'")
                  .execute(Tuple.of(a.accountId(), flood.window().toMillis()))
                  .map(all -> all.iterator().next().getLong(0) + 1))
              .compose(count -> write(conn, a, push, count));
        });
  }

  /** Writes the alert's notification and, unless flood control says none, its push (a digest carries count). */
  private Future<Void> write(SqlConnection conn, Alert a, FloodControl.Push push, long count) {
    return conn.preparedQuery("INSERT INTO notification (id, event_id, account_id, event_type, title, body,"
            + " data, push, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, clock_timestamp())"
            + " ON CONFLICT (event_id, account_id) DO NOTHING RETURNING id")
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
  }

  /**
   * {pending outbox events, age of the oldest in ms (0 when none), pending push deliveries, age in ms of the oldest
   * open transaction holding a transaction id (0 when none): the partner feed serves no event committed after it
   * started}. Sessions of other database roles show no transaction start without pg_read_all_stats.
   */
  public Future<long[]> queueDepth() {
    return pool.query("SELECT (SELECT count(*) FROM outbox WHERE dispatched_at IS NULL) AS events,"
            + " coalesce((SELECT (extract(epoch FROM now() - created_at) * 1000)::bigint FROM outbox"
            + " WHERE dispatched_at IS NULL ORDER BY id LIMIT 1), 0) AS oldest,"
            + " (SELECT count(*) FROM push_delivery WHERE status = 'PENDING') AS deliveries,"
            + " coalesce((SELECT (extract(epoch FROM now() - min(xact_start)) * 1000)::bigint FROM pg_stat_activity"
            + " WHERE backend_xid IS NOT NULL AND datname = current_database()), 0) AS horizon")
        .execute()
        .map(rows -> {
          Row r = rows.iterator().next();
          return new long[] {r.getLong("events"), r.getLong("oldest"), r.getLong("deliveries"), r.getLong("horizon")};
        });
  }

  /**
   * The delivery's event (outbox {@code o}) has a unit that its recipient's scope no longer holds (the recipient was
   * moved since the alert was written): as in the inbox (NotificationsApi), the alert is no longer theirs, so a retry
   * or an admin's re-drive must not push it.
   */
  private static final String NO_LONGER_COVERED = "EXISTS (SELECT 1 FROM org_unit u WHERE u.id = o.unit_id"
      + " AND NOT EXISTS (SELECT 1 FROM account_scope s JOIN org_unit cover"
      + " ON cover.id = s.unit_id WHERE s.account_id = p.account_id AND "
      + org.frontline.identity.Scope.within("u.path", "cover.path") + "))";

  /** {@link AlertRules#recipientRoles()}, passed to the claim as two parallel arrays (event types, their roles). */
  private static final java.util.Map<String, String> RECIPIENT_ROLES = AlertRules.recipientRoles();
  private static final String[] ROLE_EVENT_TYPES = RECIPIENT_ROLES.keySet().toArray(String[]::new);
  private static final String[] ROLES = RECIPIENT_ROLES.values().toArray(String[]::new);

  /**
   * Claims up to {@code limit} pending deliveries that are due, with the token of their device, under {@code claim}:
   * a token of this one batch (not shared with any other batch, even of the same instance), which {@link #record}
   * must be given back. Each is judged again as it is claimed (its recipient, device and event read in the same
   * statement): one whose recipient was disabled, no longer holds the role its rule chose them for (a supervisor
   * made an officer), or no longer covers the alert's unit, or whose device was retired or moved, is not live.
   */
  public Future<List<Due>> claimDeliveries(String claim, int limit, Duration lease) {
    return pool.preparedQuery("WITH c AS (SELECT id FROM push_delivery WHERE status = 'PENDING'"
            + " AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())"
            + " ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)"
            + " UPDATE push_delivery p SET claimed_by = $2, lease_until = now() + $3 * interval '1 millisecond'"
            + " FROM c, device d, account a, outbox o"
            + " LEFT JOIN unnest($4::text[], $5::text[]) AS r(event_type, role) ON r.event_type = o.event_type"
            + " WHERE p.id = c.id AND d.id = p.device_id AND a.id = p.account_id AND o.id = p.event_id"
            + " RETURNING p.id, d.token, CASE WHEN a.disabled_at IS NOT NULL THEN 'recipient account disabled'"
            + " WHEN d.account_id <> p.account_id OR d.retired_at IS NOT NULL"
            + " THEN 'device retired or moved to another account'"
            + " WHEN r.role <> ALL (a.roles) THEN 'recipient no longer holds the ' || r.role || ' role'"
            + " WHEN " + NO_LONGER_COVERED + " THEN 'recipient no longer covers the alert''s unit' END AS not_live,"
            + " p.title,"
            + " p.body, p.data, p.collapse_key, p.attempts, p.device_throttles")
        .execute(Tuple.of(limit, claim, lease.toMillis(), ROLE_EVENT_TYPES, ROLES))
        .map(rows -> {
          List<Due> out = new ArrayList<>();
          for (Row r : rows) {
            Object data = r.getValue("data");
            out.add(new Due(r.getLong("id"), r.getString("token"), r.getString("not_live"), r.getString("title"),
                r.getString("body"), data instanceof JsonObject j ? j : new JsonObject(), r.getString("collapse_key"),
                r.getInteger("attempts"), r.getInteger("device_throttles")));
          }
          return out;
        });
  }

  /**
   * Moves the lease of a claimed batch's deliveries {@code lease} ahead, for those still held under {@code claim}
   * (by id: the primary key, never a scan of the table); how many.
   */
  public Future<Integer> renewDeliveries(String claim, Long[] ids, Duration lease) {
    return pool.preparedQuery("UPDATE push_delivery SET lease_until = now() + $3 * interval '1 millisecond'"
            + " WHERE id = ANY ($1) AND claimed_by = $2 AND status = 'PENDING'")
        .execute(Tuple.of(ids, claim, lease.toMillis()))
        .map(rows -> rows.rowCount());
  }

  /** What one outcome costs its delivery. */
  public enum Cost {
    /** One of its attempts (it is dead-lettered once they run out). */
    ATTEMPT,
    /** Nothing: FCM's project-wide quota refused or held it back. */
    NONE,
    /** No attempt but one more device throttle: FCM refused it for its device's own message rate (its backoff). */
    DEVICE_THROTTLE
  }

  /** What to record for one sent (or not sent) delivery, and what that costs it. */
  public record Outcome(long id, String status, Duration retryIn, String error, String messageId, Cost cost) {
    public Outcome(long id, String status, Duration retryIn, String error, String messageId) {
      this(id, status, retryIn, error, messageId, Cost.ATTEMPT);
    }
  }

  /**
   * Records outcomes, only for rows still held under {@code claim} (the batch's token from {@link #claimDeliveries}:
   * a late answer of a batch whose lease expired and whose rows were claimed again is dropped), and retires the
   * tokens FCM called dead.
   */
  public Future<Void> record(String claim, List<Outcome> outcomes, List<String> deadTokens) {
    if (outcomes.isEmpty()) {
      return Future.succeededFuture();
    }
    int n = outcomes.size();
    Long[] ids = new Long[n];
    String[] statuses = new String[n];
    Long[] retryMs = new Long[n];
    String[] errors = new String[n];
    String[] messageIds = new String[n];
    String[] costs = new String[n];
    for (int i = 0; i < n; i++) {
      Outcome o = outcomes.get(i);
      costs[i] = o.cost().name();
      ids[i] = o.id();
      statuses[i] = o.status();
      retryMs[i] = o.retryIn() == null ? 0L : o.retryIn().toMillis();
      errors[i] = o.error();
      messageIds[i] = o.messageId();
    }
    // One statement for the whole batch: a thousand single-row updates cost seconds of round trips on a busy machine.
    return pool.withTransaction(conn -> conn.preparedQuery("UPDATE push_delivery p SET status = o.status,"
                + " attempts = p.attempts + CASE WHEN o.cost = 'ATTEMPT' THEN 1 ELSE 0 END,"
                + " device_throttles = p.device_throttles + CASE WHEN o.cost = 'DEVICE_THROTTLE' THEN 1 ELSE 0 END,"
                + " next_attempt_at = now() + o.retry_ms * interval '1 millisecond',"
                + " last_error = o.error, message_id = o.message_id,"
                + " delivered_at = CASE WHEN o.status = 'SENT' THEN now() END, claimed_by = NULL, lease_until = NULL"
                + " FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], $7::text[])"
                + " AS o(id, status, retry_ms, error, message_id, cost)"
                + " WHERE p.id = o.id AND p.claimed_by = $6 AND p.status = 'PENDING'")
            .execute(Tuple.of(ids, statuses, retryMs, errors, messageIds, claim, costs))
            .compose(v -> deadTokens.isEmpty() ? Future.succeededFuture() : conn.preparedQuery("UPDATE device"
                    + " SET retired_at = now(), retired_reason = 'UNREGISTERED' WHERE token = ANY ($1)"
                    + " AND retired_at IS NULL")
                .execute(Tuple.of(deadTokens.toArray(String[]::new)))))
        .mapEmpty();
  }
}
