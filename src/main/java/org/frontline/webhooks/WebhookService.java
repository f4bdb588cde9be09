package org.frontline.webhooks;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import org.frontline.identity.Actor;
import org.frontline.identity.AdminAudit;
import org.frontline.identity.KeyEncryption;
import org.frontline.identity.Scope;
import org.frontline.partners.EventFeed;
import org.frontline.partners.PartnerClientService;
import org.frontline.platform.db.Database;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemException;
import org.frontline.platform.http.ProblemType;

import java.math.BigDecimal;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.stream.Collectors;

/**
 * Webhook subscriptions of a partner client: subscribe (the signing secret is in that answer only), list, read,
 * delete, enable again after a disable, rotate the secret with an overlap, list deliveries and replay one. A
 * partner sees only its own subscriptions (another's is 404 like a missing one); an admin lists the subscriptions
 * of a client it may manage. Every change is audited in its transaction.
 */
public final class WebhookService {
  /** Default and longest overlap of a rotated secret with its successor. */
  static final long DEFAULT_OVERLAP_SECONDS = 24 * 3600;
  static final long MAX_OVERLAP_SECONDS = 7 * 24 * 3600;
  static final int MAX_SUBSCRIPTIONS = 20;
  /**
   * Live secrets of a subscription at most (a rotation with an overlap beyond them is 409): each signs every
   * delivery, in one header (receivers behind nginx refuse a header line over 8 KB: about 170 signatures).
   */
  static final int MAX_LIVE_SECRETS = 10;
  /** last_error of a delivery given up because its report left the client's grant. */
  static final String OUTSIDE_GRANT = "outside the client's current grant (units or report types)";

  /**
   * The SQL condition "the delivery {@code d}'s report is within the current grant of the client {@code pc}" (its
   * report type granted, its unit in a granted subtree): fan-out filtered by the grant of its moment, but a grant
   * narrowed since must stop the retries and replays of what it no longer covers. The order key is the report id.
   */
  static final String IN_GRANT = "EXISTS (SELECT 1 FROM report gr JOIN org_unit gu ON gu.id = gr.unit_id "
      + "JOIN org_unit gg ON gg.id = ANY (pc.unit_ids) "
      + "WHERE gr.id = (CASE WHEN d.order_key ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' "
      + "THEN d.order_key::uuid END) AND gr.type = ANY (pc.report_types) AND "
      + Scope.within("gu.path", "gg.path") + ")";

  private final Database database;
  private final AdminAudit audit;
  private final KeyEncryption sealing;
  private final WebhookTargets targets;

  public WebhookService(Database database, AdminAudit audit, KeyEncryption sealing, WebhookTargets targets) {
    this.database = database;
    this.audit = audit;
    this.sealing = sealing;
    this.targets = targets;
  }

  /** A new subscription of the calling partner, starting with the events committed from now on. */
  public Future<JsonObject> create(Actor actor, JsonObject body) {
    String url = body.getString("url");
    try {
      targets.checkUrl(url);
    } catch (WebhookTargets.RefusedTarget e) {
      return Future.failedFuture(unprocessable("body/url", e.getMessage()));
    }
    List<String> types = body.getJsonArray("eventTypes").stream().map(String.class::cast).distinct().toList();
    for (int i = 0; i < types.size(); i++) {
      if (!EventFeed.KINDS.contains(types.get(i))) {
        // The contract's enum says the same; this keeps the worker's kinds and the feed's one list.
        return Future.failedFuture(unprocessable("body/eventTypes/" + i, "Not an event kind of the feed: "
            + EventFeed.KINDS + "."));
      }
    }
    UUID id = UUID.randomUUID();
    UUID clientId = actor.accountId();
    byte[] secret = WebhookSignatures.newSecret();
    // The client's row lock serialises its creates: two concurrent counts could otherwise both see 19.
    return database.inTransaction(conn -> conn.preparedQuery("SELECT 1 FROM partner_client WHERE id = $1 FOR UPDATE")
        .execute(Tuple.of(clientId))
        .compose(locked -> conn.preparedQuery("SELECT count(*) FROM webhook_subscription "
            + "WHERE client_id = $1 AND deleted_at IS NULL")
        .execute(Tuple.of(clientId)))
        .compose(rows -> rows.iterator().next().getLong(0) >= MAX_SUBSCRIPTIONS
            ? Future.failedFuture(Problem.of(ProblemType.CONFLICT, "A client may have " + MAX_SUBSCRIPTIONS
                + " subscriptions: delete one first.").toException())
            : EventFeed.now(conn))
        .compose(cursor -> conn.preparedQuery("INSERT INTO webhook_subscription (id, client_id, url, event_types, "
                + "feed_cursor) VALUES ($1, $2, $3, $4, $5)")
            .execute(Tuple.of(id, clientId, url, types.toArray(String[]::new), cursor)))
        .compose(v -> insertSecret(conn, id, secret))
        .compose(v -> audit.success(conn, actor, "webhook.create", "webhook_subscription", id, null,
            auditDetails(url, types)))
        .compose(v -> read(conn, id)))
        .map(json -> json.put("secret", WebhookSignatures.display(secret)));
  }

  /**
   * The webhook.create entry's details. The audit log keeps its entries for ever (append-only), while a receiver's
   * URL often carries a credential in its query (`?token=...`, `?code=...`) that the partner rotates or removes with
   * the subscription: the entry names the URL with each query value masked, and ties it to the exact URL given by
   * its SHA-256 (an inspector holding a candidate URL can check it).
   */
  static JsonObject auditDetails(String url, List<String> types) {
    URI uri = URI.create(url);
    String query = uri.getRawQuery();
    String shown = query == null ? url : url.substring(0, url.indexOf('?') + 1)
        + Arrays.stream(query.split("&", -1))
        .map(p -> p.indexOf('=') < 0 ? "***" : p.substring(0, p.indexOf('=') + 1) + "***")
        .collect(Collectors.joining("&"));
    return new JsonObject().put("url", shown).put("urlSha256", sha256Hex(url))
        .put("eventTypes", new JsonArray(types));
  }

  private static String sha256Hex(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  public Future<JsonObject> list(Actor actor) {
    return database.pool().preparedQuery("SELECT id FROM webhook_subscription WHERE client_id = $1 "
            + "AND deleted_at IS NULL ORDER BY created_at DESC, id DESC")
        .execute(Tuple.of(actor.accountId()))
        .compose(rows -> readAll(database.pool(), rows));
  }

  /** An admin's view: the subscriptions of a client the admin may manage (any other client is 404). */
  public Future<JsonObject> listForClient(Actor actor, UUID clientId) {
    return database.inTransaction(conn -> actor.scope(conn)
        .compose(scope -> conn.preparedQuery("SELECT c.id FROM partner_client c WHERE "
                + PartnerClientService.MANAGEABLE + " AND c.id = $2")
            .execute(Tuple.of(scope.paths(), clientId)))
        .compose(rows -> rows.size() == 0
            ? Future.failedFuture(Problem.of(ProblemType.NOT_FOUND, "No partner client " + clientId + ".").toException())
            : conn.preparedQuery("SELECT id FROM webhook_subscription WHERE client_id = $1 AND deleted_at IS NULL "
                    + "ORDER BY created_at DESC, id DESC").execute(Tuple.of(clientId)))
        .compose(rows -> readAll(conn, rows)));
  }

  public Future<JsonObject> get(Actor actor, UUID id) {
    return database.inTransaction(conn -> own(conn, actor, id).compose(v -> read(conn, id)));
  }

  /** Deletes the subscription; its pending deliveries are given up. */
  public Future<Void> delete(Actor actor, UUID id) {
    return database.inTransaction(conn -> own(conn, actor, id)
        .compose(v -> conn.preparedQuery("UPDATE webhook_subscription SET deleted_at = now() WHERE id = $1")
            .execute(Tuple.of(id)))
        .compose(v -> conn.preparedQuery("UPDATE webhook_delivery SET status = 'FAILED', finished_at = now(), "
                + "last_error = 'subscription deleted', claimed_by = NULL, lease_until = NULL "
                + "WHERE subscription_id = $1 AND status = 'PENDING'").execute(Tuple.of(id)))
        .compose(v -> audit.success(conn, actor, "webhook.delete", "webhook_subscription", id, null, null)));
  }

  /** Enables a disabled subscription again: its pending deliveries resume, the failure count starts over. */
  public Future<JsonObject> enable(Actor actor, UUID id) {
    return database.inTransaction(conn -> own(conn, actor, id)
        .compose(v -> conn.preparedQuery("UPDATE webhook_subscription SET disabled_at = NULL, disabled_reason = NULL, "
                + "failing_since = NULL, consecutive_failures = 0 WHERE id = $1 AND disabled_at IS NOT NULL")
            .execute(Tuple.of(id)))
        .compose(rows -> rows.rowCount() == 0 ? Future.<Void>succeededFuture()
            : audit.success(conn, actor, "webhook.enable", "webhook_subscription", id, null, null))
        .compose(v -> read(conn, id)));
  }

  /**
   * A new secret (in this answer only); every other live secret keeps signing for {@code previousExpireInSeconds}
   * (default a day), so a receiver can switch secrets without losing a delivery: meanwhile each delivery carries
   * one signature per live secret.
   */
  public Future<JsonObject> rotateSecret(Actor actor, UUID id, JsonObject body) {
    Number sent = body == null ? null : (Number) body.getValue("previousExpireInSeconds");
    // Judged as sent: a JSON integer has no bound, and Number.longValue() keeps the low 64 bits of a larger one, so
    // 2^64 seconds became an overlap of 0 (every other secret ended at once) instead of one out of range.
    long overlap = sent == null ? DEFAULT_OVERLAP_SECONDS
        : new BigDecimal(sent.toString()).compareTo(BigDecimal.valueOf(MAX_OVERLAP_SECONDS)) > 0 ? Long.MAX_VALUE
        : sent.longValue();
    if (overlap < 0 || overlap > MAX_OVERLAP_SECONDS) {
      return Future.failedFuture(unprocessable("body/previousExpireInSeconds", "From 0 to " + MAX_OVERLAP_SECONDS
          + " seconds."));
    }
    byte[] secret = WebhookSignatures.newSecret();
    return database.inTransaction(conn -> own(conn, actor, id)
        .compose(v -> overlap == 0 ? Future.<Void>succeededFuture()
            : conn.preparedQuery("SELECT count(*) FROM webhook_secret WHERE subscription_id = $1 "
                    + "AND (expires_at IS NULL OR expires_at > now())").execute(Tuple.of(id))
                .compose(rows -> rows.iterator().next().getLong(0) < MAX_LIVE_SECRETS ? Future.<Void>succeededFuture()
                    : Future.failedFuture(Problem.of(ProblemType.CONFLICT, "This subscription already has "
                        + MAX_LIVE_SECRETS + " live secrets, each signing every delivery: wait until one expires, or "
                        + "rotate with previousExpireInSeconds 0 (the new secret alone).").toException())))
        .compose(v -> conn.preparedQuery("UPDATE webhook_secret SET expires_at = least(coalesce(expires_at, "
                + "'infinity'), now() + make_interval(secs => $2)) WHERE subscription_id = $1 "
                + "AND (expires_at IS NULL OR expires_at > now())")
            .execute(Tuple.of(id, overlap)))
        .compose(v -> insertSecret(conn, id, secret))
        .compose(secretId -> audit.success(conn, actor, "webhook.secret.rotate", "webhook_subscription", id, null,
            new JsonObject().put("secretId", secretId.toString()).put("previousExpireInSeconds", overlap)))
        .compose(v -> read(conn, id)))
        .map(json -> json.put("secret", WebhookSignatures.display(secret)));
  }

  /** The subscription's deliveries, newest first (at most 100; {@code before}: older than that delivery id). */
  public Future<JsonObject> deliveries(Actor actor, UUID id, Long before) {
    return database.inTransaction(conn -> own(conn, actor, id)
        .compose(v -> conn.preparedQuery("SELECT * FROM webhook_delivery WHERE subscription_id = $1 "
                + "AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT 100")
            .execute(Tuple.of(id, before)))
        .map(rows -> {
          JsonArray items = new JsonArray();
          rows.forEach(r -> items.add(delivery(r)));
          return new JsonObject().put("items", items);
        }));
  }

  /**
   * Sends a delivery again: a new delivery row with the same message (id, body), queued behind any pending
   * delivery of the same report. Only while the report is within the client's current grant (else 404) and the
   * subscription is enabled (else 409). The receiver sees the same webhook-id (it may de-duplicate) with a new timestamp.
   */
  public Future<JsonObject> replay(Actor actor, UUID id, long deliveryId) {
    return database.inTransaction(conn -> own(conn, actor, id)
        .compose(disabled -> replayable(id, disabled))
        .compose(v -> conn.preparedQuery("INSERT INTO webhook_delivery (subscription_id, event_id, event_type, "
                + "message_id, order_key, body, replay_of) SELECT d.subscription_id, d.event_id, d.event_type, "
                + "d.message_id, d.order_key, d.body, d.id FROM webhook_delivery d "
                + "JOIN webhook_subscription s ON s.id = d.subscription_id JOIN partner_client pc ON pc.id = s.client_id "
                + "WHERE d.id = $1 AND d.subscription_id = $2 AND " + IN_GRANT + " RETURNING *")
            .execute(Tuple.of(deliveryId, id))
            // Deleted by retention (past its window) between this statement's read and its foreign-key check.
            .recover(e -> Future.failedFuture(e instanceof io.vertx.pgclient.PgException pg
                && "23503".equals(pg.getSqlState()) ? Problem.of(ProblemType.NOT_FOUND, "No delivery " + deliveryId
                + " of this subscription within the client's grant.").toException() : e)))
        .compose(rows -> rows.size() == 0
            // A delivery whose report the client's grant no longer covers is out of scope: 404 like a missing one.
            ? Future.failedFuture(Problem.of(ProblemType.NOT_FOUND, "No delivery " + deliveryId
                + " of this subscription within the client's grant.").toException())
            : audit.success(conn, actor, "webhook.delivery.replay", "webhook_subscription", id, null,
                    new JsonObject().put("deliveryId", deliveryId).put("replayId", rows.iterator().next().getLong("id")))
                .map(v -> delivery(rows.iterator().next()))));
  }

  /**
   * A disabled subscription takes no replay (409): nothing is sent to it, so replays only queued up (pending
   * deliveries are never deleted, and every replay is a new one) and all went out at once when it was enabled.
   */
  private static Future<Void> replayable(UUID id, boolean disabled) {
    return disabled ? Future.failedFuture(Problem.of(ProblemType.CONFLICT, "The webhook subscription " + id
        + " is disabled: enable it (POST /v1/webhooks/" + id + "/enable), then replay.").toException())
        : Future.succeededFuture();
  }

  /** The subscription is the caller's and not deleted; 404 otherwise. Locks it. Whether it is disabled. */
  private static Future<Boolean> own(SqlClient conn, Actor actor, UUID id) {
    return conn.preparedQuery("SELECT disabled_at IS NOT NULL AS disabled FROM webhook_subscription WHERE id = $1 "
            + "AND client_id = $2 AND deleted_at IS NULL FOR UPDATE")
        .execute(Tuple.of(id, actor.accountId()))
        .compose(rows -> rows.size() == 0
            ? Future.failedFuture(Problem.of(ProblemType.NOT_FOUND, "No webhook subscription " + id + ".").toException())
            : Future.succeededFuture(rows.iterator().next().getBoolean("disabled")));
  }

  private Future<UUID> insertSecret(SqlClient conn, UUID subscriptionId, byte[] secret) {
    UUID secretId = UUID.randomUUID();
    return conn.preparedQuery("INSERT INTO webhook_secret (id, subscription_id, secret_sealed) VALUES ($1, $2, $3)")
        .execute(Tuple.of(secretId, subscriptionId, Buffer.buffer(sealing.encrypt(sealKid(secretId), secret))))
        .map(secretId);
  }

  /** The associated data a secret is sealed under: a sealed secret moved to another row does not open. */
  public static String sealKid(UUID secretId) {
    return "webhook-secret:" + secretId;
  }

  private static Future<JsonObject> readAll(SqlClient conn, io.vertx.sqlclient.RowSet<Row> ids) {
    List<UUID> list = new ArrayList<>();
    ids.forEach(r -> list.add(r.getUUID(0)));
    Future<JsonArray> items = Future.succeededFuture(new JsonArray());
    for (UUID id : list) {
      items = items.compose(acc -> read(conn, id).map(acc::add));
    }
    return items.map(acc -> new JsonObject().put("items", acc));
  }

  /** The subscription with its live secrets' ids and expiries (never a secret). */
  static Future<JsonObject> read(SqlClient conn, UUID id) {
    return conn.preparedQuery("SELECT s.*, coalesce((SELECT jsonb_agg(jsonb_build_object('id', k.id, "
            + "'createdAt', k.created_at, 'expiresAt', k.expires_at) ORDER BY k.created_at, k.id) FROM webhook_secret k "
            + "WHERE k.subscription_id = s.id AND (k.expires_at IS NULL OR k.expires_at > now())), '[]'::jsonb)::text "
            + "AS secrets FROM webhook_subscription s WHERE s.id = $1")
        .execute(Tuple.of(id))
        .map(rows -> {
          Row r = rows.iterator().next();
          JsonArray secrets = new JsonArray(r.getString("secrets"));
          secrets.forEach(o -> {
            JsonObject k = (JsonObject) o;
            k.put("createdAt", jsonbInstant(k.getString("createdAt")));
            k.put("expiresAt", jsonbInstant(k.getString("expiresAt")));
          });
          return new JsonObject()
              .put("id", r.getUUID("id").toString())
              .put("clientId", r.getUUID("client_id").toString())
              .put("url", r.getString("url"))
              .put("eventTypes", new JsonArray(List.of(r.getArrayOfStrings("event_types"))))
              .put("status", r.getOffsetDateTime("disabled_at") == null ? "ACTIVE" : "DISABLED")
              .put("disabledAt", instant(r.getOffsetDateTime("disabled_at")))
              .put("disabledReason", r.getString("disabled_reason"))
              .put("secrets", secrets)
              .put("createdAt", instant(r.getOffsetDateTime("created_at")));
        });
  }

  static JsonObject delivery(Row r) {
    return new JsonObject()
        .put("id", Long.toString(r.getLong("id")))
        .put("eventId", Long.toString(r.getLong("event_id")))
        .put("eventType", r.getString("event_type"))
        .put("messageId", r.getString("message_id"))
        .put("replayOf", r.getLong("replay_of") == null ? null : Long.toString(r.getLong("replay_of")))
        .put("status", r.getString("status"))
        .put("attempts", r.getInteger("attempts"))
        .put("lastStatus", r.getInteger("last_status"))
        .put("lastError", r.getString("last_error"))
        .put("nextAttemptAt", "PENDING".equals(r.getString("status")) ? instant(r.getOffsetDateTime("next_attempt_at")) : null)
        .put("createdAt", instant(r.getOffsetDateTime("created_at")))
        .put("finishedAt", instant(r.getOffsetDateTime("finished_at")));
  }

  private static String instant(OffsetDateTime t) {
    return t == null ? null : DateTimeFormatter.ISO_INSTANT.format(t.withOffsetSameInstant(ZoneOffset.UTC));
  }

  private static String jsonbInstant(String t) {
    return t == null ? null : DateTimeFormatter.ISO_INSTANT.format(OffsetDateTime.parse(t).toInstant());
  }

  static ProblemException unprocessable(String field, String reason) {
    return Problem.of(ProblemType.UNPROCESSABLE, reason)
        .withErrors(List.of(new Problem.FieldError(field, reason))).toException();
  }
}
