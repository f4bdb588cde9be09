package org.frontline.webhooks;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import org.frontline.identity.Caller;
import org.frontline.identity.KeyEncryption;
import org.frontline.partners.EventFeed;
import org.frontline.platform.RoundFailures;
import org.frontline.platform.RoundsInFlight;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Delivers webhooks, in two independent loops that any number of instances (here or in other processes) may run
 * side by side, sharing work through the database only:
 * Only subscriptions of clients that are enabled and still hold {@code webhooks:manage} are served.
 * <ul>
 *   <li>fan-out: each live subscription in turn (row lock, {@code SKIP LOCKED}) reads the partner event feed as its
 *   client from its own cursor ({@link EventFeed#page}: the feed's grant filter and commit-safe order) and writes
 *   one delivery per event of a subscribed kind, then moves its cursor, in one transaction;</li>
 *   <li>send: claims due deliveries (lease, {@code SKIP LOCKED}) that have no older pending delivery of the same
 *   subscription and report (per-report order), checks the target after DNS resolution and POSTs to the checked
 *   address, signed with every live secret. A round claims only as many as this instance has free slots
 *   ({@link Settings#batch} in flight at most) and does not wait for its sends: the next round claims meanwhile,
 *   and a subscription has at most {@link #MAX_IN_FLIGHT_PER_SUBSCRIPTION} deliveries in flight, so a receiver that
 *   hangs until the timeout delays only its own deliveries. 2xx: delivered. Anything else (redirects included: never followed),
 *   a timeout or a refused target: retried after exponential backoff with jitter, failed once 3 days have passed.
 *   A subscription failing {@link Settings#disableAfterFailures} times in a row for {@link Settings#disableAfter}
 *   is disabled and the admins who manage its client are alerted ({@code webhook.disabled} in the outbox).</li>
 * </ul>
 */
public final class WebhookDeliveryVerticle extends VerticleBase {
  private static final Logger log = LoggerFactory.getLogger(WebhookDeliveryVerticle.class);
  private static final UUID NO_ID = new UUID(0, 0);

  /** Tuning; {@link #defaults(Duration)} for the service. */
  public record Settings(Duration retryBase, Duration retryCap, Duration maxAge, Duration timeout, Duration lease,
      int batch, int disableAfterFailures, Duration disableAfter, Duration idleDelay) {
    public static Settings defaults(Duration retryBase) {
      Duration idle = retryBase.compareTo(Duration.ofSeconds(1)) < 0 ? retryBase : Duration.ofSeconds(1);
      return new Settings(retryBase, Duration.ofHours(6), Duration.ofDays(3), Duration.ofSeconds(10),
          Duration.ofSeconds(60), 50, 10, Duration.ofDays(1), idle);
    }
  }

  /** A claimed delivery. */
  private record Due(long id, UUID subscriptionId, String url, String messageId, String body, int attempts) {}

  /**
   * Deliveries of one subscription in flight at once: a claim takes at most this many less those already leased
   * by any instance (two instances claiming at the same instant may each take this many), so a receiver that hangs
   * until the timeout holds only a few of an instance's {@link Settings#batch} slots. Also the HTTP client's
   * connections per receiver address (Vert.x's default pool size): more would only queue there. Several
   * subscriptions aimed at one host do queue there; the send timeout covers that wait too ({@link #send}).
   */
  static final int MAX_IN_FLIGHT_PER_SUBSCRIPTION = 5;
  /** How long the body of an answer is drained after its status before the connection is reset. */
  static final Duration BODY_GRACE = Duration.ofSeconds(1);

  private final Pool pool;
  private final KeyEncryption sealing;
  private final WebhookTargets targets;
  private final WorkerExecutor blocking;
  private final Settings settings;
  private final String instance = "webhooks-" + UUID.randomUUID();
  private final io.vertx.core.net.TrustOptions trust;
  private HttpClient http;
  private volatile boolean stopping;
  /** Deliveries claimed by this instance and not yet recorded (event-loop confined, like the flags below). */
  private int inFlight;
  /** A send round is claiming. */
  private boolean roundRunning;
  /** A send ended while a round was claiming. */
  private boolean slotFreedMeanwhile;
  /**
   * The last round claimed something, or claimed nothing while sends were in flight (capped work may wait for
   * them): an ended send starts the next round at once.
   */
  private boolean foundWork;
  private final RoundFailures fanOutRounds = new RoundFailures(log, "webhook fan-out");
  private final RoundFailures sendRounds = new RoundFailures(log, "webhook send round");
  /** The rounds and sends at work, which {@link #stop} waits for before closing the client. */
  private final RoundsInFlight working = new RoundsInFlight("webhook sends");
  private long fanOutTimer = -1;
  private long sendTimer = -1;

  public WebhookDeliveryVerticle(Pool pool, KeyEncryption sealing, WebhookTargets targets, WorkerExecutor blocking,
      Settings settings) {
    this(pool, sealing, targets, blocking, settings, null);
  }

  /** With {@code trust}: the certificates a receiver's TLS server may present (tests); null: the JDK's trust store. */
  public WebhookDeliveryVerticle(Pool pool, KeyEncryption sealing, WebhookTargets targets, WorkerExecutor blocking,
      Settings settings, io.vertx.core.net.TrustOptions trust) {
    this.trust = trust;
    this.pool = pool;
    this.sealing = sealing;
    this.targets = targets;
    this.blocking = blocking;
    this.settings = settings;
  }

  @Override
  public Future<?> start() {
    HttpClientOptions options = new HttpClientOptions()
        .setConnectTimeout((int) settings.timeout().toMillis())
        .setKeepAlive(false)
        .setMaxRedirects(0)
        // The certificate must name the URL's host, although the connection goes to the checked address.
        .setVerifyHost(true);
    if (trust != null) {
      options.setTrustOptions(trust);
    }
    http = vertx.createHttpClient(options);
    scheduleFanOut(Duration.ofMillis(10));
    scheduleSend(Duration.ofMillis(10));
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    vertx.cancelTimer(fanOutTimer);
    vertx.cancelTimer(sendTimer);
    // The sends at work end (each within the timeout) and are recorded while the client and the pool are open.
    return working.idle(vertx).compose(v -> http == null ? Future.succeededFuture() : http.close());
  }

  private void scheduleFanOut(Duration delay) {
    if (!stopping) {
      fanOutTimer = vertx.setTimer(Math.max(1, delay.toMillis()), id -> working.track(fanOutAll()).onComplete(ar -> {
        fanOutRounds.record(ar);
        scheduleFanOut(ar.succeeded() && ar.result() > 0 ? Duration.ZERO : settings.idleDelay());
      }));
    }
  }

  private void scheduleSend(Duration delay) {
    if (!stopping) {
      sendTimer = vertx.setTimer(Math.max(1, delay.toMillis()), id -> {
        sendTimer = -1;
        roundRunning = true;
        int room = settings.batch() - inFlight;
        working.track(sendDue()).onComplete(ar -> {
          roundRunning = false;
          // A failed round: what was claimed stays leased and is claimed again when the lease expires (nothing lost).
          sendRounds.record(ar);
          // Work may remain when the round claimed some, and also when it claimed none while sends are in flight:
          // their subscriptions may be at their cap (or this instance at its batch), so the round saw nothing it
          // could take although deliveries are due; the end of one of those sends must wake the loop, not the
          // idle delay (with a receiver slower than that delay, every end was lost).
          foundWork = ar.succeeded() && (ar.result() > 0 || inFlight > 0);
          // Again at once after a full claim (more may be due) or when a send ended meanwhile (a slot is free);
          // otherwise, or with every slot in flight, after the idle delay (a send that ends wakes the loop).
          boolean again = foundWork && (ar.result() >= room || slotFreedMeanwhile) && inFlight < settings.batch();
          slotFreedMeanwhile = false;
          scheduleSend(again ? Duration.ZERO : settings.idleDelay());
        });
      });
    }
  }

  /**
   * A send has ended: its slot (and its subscription's) is free. While there is work (the last round claimed some),
   * the next round starts now rather than after the idle delay: with a few deliveries in flight per subscription, a
   * backlog of one subscription drains as fast as its receiver answers.
   */
  private void slotFreed() {
    if (stopping) {
      return;
    }
    if (roundRunning) {
      slotFreedMeanwhile = true;
    } else if (foundWork && sendTimer != -1 && vertx.cancelTimer(sendTimer)) {
      // The waiting round is cancelled (never run): one loop goes on, from now.
      scheduleSend(Duration.ZERO);
    }
  }

  /** Fans out every live subscription once (each in its own transaction); the number of deliveries written. */
  Future<Integer> fanOutAll() {
    return fanOutAfter(NO_ID, 0);
  }

  private Future<Integer> fanOutAfter(UUID last, int written) {
    if (stopping) {
      return Future.succeededFuture(written);
    }
    return pool.withTransaction(conn -> conn.preparedQuery("SELECT s.id, s.feed_cursor, s.event_types, s.client_id, "
                + "c.unit_ids, c.report_types FROM webhook_subscription s JOIN partner_client c ON c.id = s.client_id "
                + "WHERE s.deleted_at IS NULL AND s.disabled_at IS NULL AND c.disabled_at IS NULL AND s.id > $1 "
                + "AND 'webhooks:manage' = ANY (c.scopes) "
                + "ORDER BY s.id LIMIT 1 FOR UPDATE OF s SKIP LOCKED")
            .execute(Tuple.of(last))
            .compose(rows -> rows.size() == 0 ? Future.succeededFuture((Object[]) null)
                : fanOut(conn, rows.iterator().next())))
        .compose(result -> result == null ? Future.succeededFuture(written)
            : fanOutAfter((UUID) result[0], written + (Integer) result[1]));
  }

  /** {subscription id, deliveries written}. */
  private Future<Object[]> fanOut(SqlConnection conn, Row s) {
    UUID subscriptionId = s.getUUID("id");
    List<String> kinds = List.of(s.getArrayOfStrings("event_types"));
    Caller client = new Caller(s.getUUID("client_id"), List.of(), List.of(s.getArrayOfUUIDs("unit_ids")),
        new Caller.ClientGrant(List.of(s.getArrayOfStrings("report_types"))));
    return EventFeed.page(conn, client, s.getString("feed_cursor"), settings.batch() * 2).compose(page -> {
      List<Tuple> deliveries = new ArrayList<>();
      for (Object o : page.getJsonArray("items")) {
        JsonObject event = (JsonObject) o;
        if (!kinds.contains(event.getString("type"))) {
          continue;
        }
        long eventId = Long.parseLong(event.getString("id"));
        JsonObject data = event.getJsonObject("data").copy().put("eventId", event.getString("id"));
        String body = new JsonObject().put("type", event.getString("type"))
            .put("timestamp", event.getString("occurredAt")).put("data", data).encode();
        String messageId = "msg_" + UUID.nameUUIDFromBytes((subscriptionId + ":" + eventId)
            .getBytes(StandardCharsets.UTF_8)).toString().replace("-", "");
        deliveries.add(Tuple.of(subscriptionId, eventId, event.getString("type"), messageId,
            data.getString("reportId", event.getString("id")), body));
      }
      Future<?> inserted = deliveries.isEmpty() ? Future.succeededFuture()
          : conn.preparedQuery("INSERT INTO webhook_delivery (subscription_id, event_id, event_type, message_id, "
                  + "order_key, body) VALUES ($1, $2, $3, $4, $5, $6) "
                  + "ON CONFLICT (subscription_id, event_id) WHERE replay_of IS NULL DO NOTHING")
              .executeBatch(deliveries);
      String next = page.getString("nextCursor");
      return inserted
          .compose(v -> next == null || next.equals(s.getString("feed_cursor")) ? Future.succeededFuture()
              : conn.preparedQuery("UPDATE webhook_subscription SET feed_cursor = $2 WHERE id = $1")
                  .execute(Tuple.of(subscriptionId, next)))
          .map(v -> new Object[] {subscriptionId, deliveries.size()});
    });
  }

  /**
   * Claims the due deliveries and sends them (concurrently; one per report at most); the number claimed. A due
   * delivery whose report the client's current grant no longer covers (narrowed since fan-out) is failed for good
   * in the same statement, never sent, with {@link WebhookService#OUTSIDE_GRANT} as its last error.
   */
  Future<Integer> sendDue() {
    int room = settings.batch() - inFlight;
    if (room <= 0) {
      return Future.succeededFuture(0);
    }
    return pool.preparedQuery("""
            WITH busy AS (
              SELECT subscription_id, count(*) AS n FROM webhook_delivery
              WHERE status = 'PENDING' AND lease_until >= now() GROUP BY subscription_id),
            ready AS (
              SELECT d.id, row_number() OVER (PARTITION BY d.subscription_id ORDER BY d.next_attempt_at, d.id)
                       + coalesce(b.n, 0) AS slot
              FROM webhook_delivery d
              JOIN webhook_subscription s ON s.id = d.subscription_id
              JOIN partner_client pc ON pc.id = s.client_id
              LEFT JOIN busy b ON b.subscription_id = d.subscription_id
              WHERE d.status = 'PENDING' AND d.next_attempt_at <= now()
                AND (d.lease_until IS NULL OR d.lease_until < now())
                AND s.deleted_at IS NULL AND s.disabled_at IS NULL AND pc.disabled_at IS NULL
                AND 'webhooks:manage' = ANY (pc.scopes)
                AND NOT EXISTS (SELECT 1 FROM webhook_delivery e WHERE e.subscription_id = d.subscription_id
                                AND e.order_key = d.order_key AND e.status = 'PENDING' AND e.id < d.id)),
            c AS (
              SELECT d.id, """ + WebhookService.IN_GRANT + """
               AS granted FROM webhook_delivery d
              JOIN webhook_subscription s ON s.id = d.subscription_id
              JOIN partner_client pc ON pc.id = s.client_id
              WHERE d.id IN (SELECT id FROM ready WHERE slot <= $5)
                AND d.status = 'PENDING' AND d.next_attempt_at <= now()
                AND (d.lease_until IS NULL OR d.lease_until < now())
              ORDER BY d.next_attempt_at, d.id LIMIT $1 FOR UPDATE OF d SKIP LOCKED)
            UPDATE webhook_delivery d SET
              claimed_by = CASE WHEN c.granted THEN $2 END,
              lease_until = CASE WHEN c.granted THEN now() + $3 * interval '1 millisecond' END,
              status = CASE WHEN c.granted THEN 'PENDING' ELSE 'FAILED' END,
              finished_at = CASE WHEN c.granted THEN NULL ELSE now() END,
              last_error = CASE WHEN c.granted THEN d.last_error ELSE $4 END
            FROM c, webhook_subscription s WHERE d.id = c.id AND s.id = d.subscription_id
            RETURNING d.id, d.subscription_id, s.url, d.message_id, d.body, d.attempts, c.granted""")
        .execute(Tuple.of(room, instance, settings.lease().toMillis(), WebhookService.OUTSIDE_GRANT,
            MAX_IN_FLIGHT_PER_SUBSCRIPTION))
        .compose(rows -> {
          List<Due> due = new ArrayList<>();
          for (Row r : rows) {
            if (r.getBoolean("granted")) {
              due.add(new Due(r.getLong("id"), r.getUUID("subscription_id"), r.getString("url"),
                  r.getString("message_id"), r.getString("body"), r.getInteger("attempts")));
            }
          }
          if (due.isEmpty()) {
            return Future.succeededFuture(rows.rowCount());
          }
          // The sends are not awaited: the next round claims as soon as this one has claimed, so a receiver that
          // answers slowly (or never, until the timeout) holds only its own deliveries' slots, not everyone's.
          inFlight += due.size();
          return secrets(due.stream().map(Due::subscriptionId).distinct().toList())
              .onFailure(e -> inFlight -= due.size())
              .map(keys -> {
                for (Due d : due) {
                  List<byte[]> live = keys.getOrDefault(d.subscriptionId(), List.of());
                  // Never sent unsigned: a subscription none of whose secrets opens fails the attempt instead.
                  working.track(live.isEmpty() && keys.containsKey(d.subscriptionId())
                      ? recordFailed(d, null, SECRET_UNOPENED) : send(d, live))
                      .onComplete(ar -> {
                        inFlight--;
                        if (ar.failed()) {
                          log.warn("webhook delivery {} not recorded: {}", d.id(), ar.cause().toString());
                        }
                        slotFreed();
                      });
                }
                return rows.rowCount();
              });
        });
  }

  /** The error of an attempt not made: none of the subscription's live secrets opens. */
  static final String SECRET_UNOPENED = "no webhook secret of the subscription opens under the key-encryption key";

  /**
   * The live secrets of each subscription, opened; a subscription some of whose secrets do not open has an entry
   * with the others (empty when none opens).
   */
  private Future<Map<UUID, List<byte[]>>> secrets(List<UUID> subscriptions) {
    return pool.preparedQuery("SELECT id, subscription_id, secret_sealed FROM webhook_secret "
            + "WHERE subscription_id = ANY ($1) AND (expires_at IS NULL OR expires_at > now()) ORDER BY created_at, id")
        .execute(Tuple.of(subscriptions.toArray(UUID[]::new)))
        .map(rows -> {
          Map<UUID, List<byte[]>> keys = new HashMap<>();
          for (Row r : rows) {
            List<byte[]> live = keys.computeIfAbsent(r.getUUID("subscription_id"), k -> new ArrayList<>());
            try {
              live.add(sealing.decrypt(WebhookService.sealKid(r.getUUID("id")), r.getBuffer("secret_sealed").getBytes()));
            } catch (KeyEncryption.WrongKeyException e) {
              // One secret that does not open (sealed under another key-encryption key, altered) must not stop
              // the deliveries of every subscription claimed with it: left out, signed with the others.
              log.error("webhook secret {} of subscription {} does not open under FRONTLINE_KEY_ENCRYPTION_KEY",
                  r.getUUID("id"), r.getUUID("subscription_id"));
            }
          }
          return keys;
        });
  }

  /**
   * One attempt. {@link Settings#timeout} bounds all of it, from its start (just after the claim) to the receiver's
   * status: the wait for a worker thread and the DNS resolution, the wait for one of the HTTP client's pooled
   * connections to the address (5 per address, shared by every subscription aimed at it: sends queue there behind
   * hanging ones), the connection, and the exchange. Each step gets what is left of the one deadline, so an attempt always ends (and
   * is recorded) well within the lease, and no other round or instance claims the delivery while it is in flight.
   */
  private Future<Void> send(Due d, List<byte[]> keys) {
    long deadline = System.nanoTime() + settings.timeout().toNanos();
    // DNS resolution blocks: on the worker pool. The connection then goes to the address checked there. The task
    // cannot be stopped; past the deadline its answer is ignored.
    return blocking.<WebhookTargets.Target>executeBlocking(() -> targets.resolve(d.url()), false)
        .timeout(left(deadline), java.util.concurrent.TimeUnit.MILLISECONDS)
        .compose(target -> post(target, d, keys, deadline))
        .transform(ar -> {
          if (ar.succeeded() && ar.result() / 100 == 2) {
            return recordDelivered(d, ar.result());
          }
          Integer status = ar.succeeded() ? ar.result() : null;
          String error = ar.succeeded() ? "HTTP " + ar.result()
              : ar.cause() instanceof WebhookTargets.RefusedTarget refused ? "refused target: " + refused.getMessage()
              : timedOut(ar.cause()) ? noAnswer()
              : ar.cause().toString();
          return recordFailed(d, status, error);
        });
  }

  private Future<Integer> post(WebhookTargets.Target target, Due d, List<byte[]> keys, long deadline) {
    long left = left(deadline);
    if (left <= 0) {
      return Future.failedFuture(new java.util.concurrent.TimeoutException(noAnswer()));
    }
    long timestamp = System.currentTimeMillis() / 1000;
    RequestOptions options = new RequestOptions()
        .setMethod(HttpMethod.POST)
        .setHost(target.host())
        .setPort(target.port())
        .setSsl(target.tls())
        .setURI(target.requestUri())
        .setServer(SocketAddress.inetSocketAddress(target.port(), target.address().getHostAddress()))
        .setFollowRedirects(false)
        // Obtaining the request: the wait for a pooled connection (others to the same address may all be busy)
        // and the connection itself. Vert.x fails the request's future when it runs out (HttpConnectOptions).
        .setConnectTimeout(left)
        .setIdleTimeout(left)
        .putHeader("Content-Type", "application/json")
        .putHeader("User-Agent", "Frontline-Webhooks/1")
        .putHeader("webhook-id", d.messageId())
        .putHeader("webhook-timestamp", Long.toString(timestamp))
        .putHeader("webhook-signature", WebhookSignatures.header(keys, d.messageId(), timestamp, d.body()));
    return http.request(options).compose(request -> {
      // The idle timeout bounds each silence, not the whole exchange: a receiver trickling its answer is cut off
      // here, at the attempt's deadline.
      long timer = vertx.setTimer(Math.max(1, left(deadline)), id -> request.reset(0,
          new java.util.concurrent.TimeoutException(noAnswer())));
      return request.send(Buffer.buffer(d.body()))
          .map(response -> {
            // The status is the receiver's answer: recorded at once. The body is drained, never kept (it could be
            // of any size), for at most BODY_GRACE; a body that has not ended by then is cut (the connection is
            // reset), so an endless or slow body neither turns a 2xx into a failure nor holds the connection.
            vertx.cancelTimer(timer);
            long grace = vertx.setTimer(BODY_GRACE.toMillis(), id -> request.reset(0));
            response.handler(ignored -> { }).end().onComplete(ended -> vertx.cancelTimer(grace));
            return response.statusCode();
          })
          .onFailure(e -> vertx.cancelTimer(timer));
    });
  }

  /** Milliseconds left until {@code deadline} ({@link System#nanoTime}); 0 or less when it has passed. */
  private static long left(long deadline) {
    return java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
  }

  /** The one error recorded for an attempt that ran out of time, whichever step it was in. */
  private String noAnswer() {
    return "no answer within " + settings.timeout().toMillis() + " ms";
  }

  /** A timeout of ours or of Vert.x (pool wait, connection, idle), possibly as the cause of a reset. */
  private static boolean timedOut(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof java.util.concurrent.TimeoutException) {
        return true;
      }
    }
    return false;
  }

  private Future<Void> recordDelivered(Due d, int status) {
    return pool.withTransaction(conn -> lockSubscription(conn, d)
        .compose(locked -> conn.preparedQuery("UPDATE webhook_delivery SET status = 'DELIVERED', "
                + "attempts = attempts + 1, last_status = $2, last_error = NULL, finished_at = now(), claimed_by = NULL, "
                + "lease_until = NULL WHERE id = $1 AND claimed_by = $3 AND status = 'PENDING'")
            .execute(Tuple.of(d.id(), status, instance)))
            .compose(rows -> rows.rowCount() == 0 ? Future.succeededFuture()
                : conn.preparedQuery("UPDATE webhook_subscription SET failing_since = NULL, consecutive_failures = 0 "
                    + "WHERE id = $1").execute(Tuple.of(d.subscriptionId()))))
        .mapEmpty();
  }

  /**
   * Every transaction that changes both a subscription and its deliveries (fan-out, delete, replay, these records)
   * locks the subscription row first: a record that updated the delivery first and then the subscription could
   * deadlock with a delete, which holds the subscription and waits for the deliveries.
   */
  private static Future<?> lockSubscription(SqlConnection conn, Due d) {
    return conn.preparedQuery("SELECT 1 FROM webhook_subscription WHERE id = $1 FOR UPDATE")
        .execute(Tuple.of(d.subscriptionId()));
  }

  /**
   * A failed attempt: retried after the backoff, or failed for good when the retry would come later than
   * {@link Settings#maxAge} after the delivery was written; then the subscription's failure count, and its disable
   * (with the admins' alert in the same transaction) once it has failed long and often enough.
   */
  private Future<Void> recordFailed(Due d, Integer status, String error) {
    long delay = retryDelay(d.attempts() + 1).toMillis();
    String reason = "failed " + settings.disableAfterFailures() + "+ times in a row for over "
        + settings.disableAfter().toHours() + " h; last: " + error;
    return pool.withTransaction(conn -> lockSubscription(conn, d).compose(locked -> conn.preparedQuery("""
                UPDATE webhook_delivery SET attempts = attempts + 1, last_status = $2, last_error = $3,
                  status = CASE WHEN created_at + $5 * interval '1 millisecond' < now() + $4 * interval '1 millisecond'
                                THEN 'FAILED' ELSE 'PENDING' END,
                  finished_at = CASE WHEN created_at + $5 * interval '1 millisecond' < now() + $4 * interval '1 millisecond'
                                THEN now() END,
                  next_attempt_at = now() + $4 * interval '1 millisecond', claimed_by = NULL, lease_until = NULL
                WHERE id = $1 AND claimed_by = $6 AND status = 'PENDING'""")
            .execute(Tuple.of(d.id(), status, truncate(error), delay, settings.maxAge().toMillis(), instance)))
            .compose(rows -> rows.rowCount() == 0 ? Future.succeededFuture()
                : conn.preparedQuery("UPDATE webhook_subscription SET consecutive_failures = consecutive_failures + 1, "
                        + "failing_since = coalesce(failing_since, now()) WHERE id = $1")
                    .execute(Tuple.of(d.subscriptionId()))
                    .compose(v -> conn.preparedQuery("""
                            WITH d AS (
                              UPDATE webhook_subscription SET disabled_at = now(), disabled_reason = $2
                              WHERE id = $1 AND disabled_at IS NULL AND deleted_at IS NULL
                                AND consecutive_failures >= $3 AND failing_since <= now() - $4 * interval '1 millisecond'
                              RETURNING id, client_id, url)
                            INSERT INTO outbox (event_type, aggregate_type, aggregate_id, unit_id, payload)
                            SELECT 'webhook.disabled', 'webhook_subscription', d.id, c.unit_ids[1],
                                   jsonb_build_object('subscriptionId', d.id, 'clientId', c.id, 'clientName', c.name,
                                                      'url', d.url, 'reason', $2::text)
                            FROM d JOIN partner_client c ON c.id = d.client_id
                            RETURNING aggregate_id""")
                        .execute(Tuple.of(d.subscriptionId(), truncate(reason), settings.disableAfterFailures(),
                            settings.disableAfter().toMillis())))
                    .onSuccess(disabled -> {
                      if (disabled.rowCount() > 0) {
                        log.warn("webhook subscription {} disabled: {}", d.subscriptionId(), reason);
                      }
                    })))
        .mapEmpty();
  }

  /** Exponential backoff (base * 2^(attempt-1), capped) with equal jitter: half fixed, half random. */
  Duration retryDelay(int attempt) {
    long base = settings.retryBase().toMillis();
    long exp = Math.min(settings.retryCap().toMillis(), base << Math.min(30, Math.max(0, attempt - 1)));
    return Duration.ofMillis(exp / 2 + ThreadLocalRandom.current().nextLong(exp / 2 + 1));
  }

  private static String truncate(String s) {
    return s == null || s.length() <= 500 ? s : s.substring(0, 500);
  }
}
