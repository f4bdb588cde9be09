package org.frontline.partners;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemType;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.Function;

/**
 * Idempotent writes of a partner client, per the IETF draft "The Idempotency-Key HTTP Header Field": the first
 * request with a key claims it (its own committed insert, so a concurrent duplicate sees the claim at once); the
 * write and the stored answer then commit together. A later request with the same key and the same body (the
 * fingerprint is the SHA-256 of the body's canonical JSON, keys sorted) gets the stored status and body replayed;
 * with another body 422; while the first is in flight 409. Keys are per client, kept {@link #RETENTION_HOURS}
 * hours (then the key is free again) and swept on later writes. A write that fails frees its key, so the client
 * may retry it (an error is not a result to replay). A claim whose request died without an answer (a crash) is
 * taken over after {@link #ABANDONED_SECONDS} seconds, well past the request timeout; each claim has its own nonce
 * ({@code claim}), so the request that was taken over can neither store its answer nor free the new owner's key.
 */
final class IdempotencyKeys {
  static final String HEADER = "Idempotency-Key";
  static final int RETENTION_HOURS = 24;
  static final int ABANDONED_SECONDS = 120;
  private static final int SWEEP_BATCH = 100;

  /** A stored (or fresh) answer: status and JSON body. */
  record Answer(int status, JsonObject body) {}

  private final Pool pool;

  IdempotencyKeys(Pool pool) {
    this.pool = pool;
  }

  /**
   * Runs {@code work} once per (client, key): in a transaction that also stores its answer. Replays, refuses or
   * reports a conflict otherwise (see the class comment).
   */
  Future<Answer> once(UUID clientId, String rawKey, JsonObject body, Function<SqlConnection, Future<Answer>> work) {
    String key;
    try {
      key = key(rawKey);
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
    byte[] fingerprint = sha256(canonical(body));
    UUID claim = UUID.randomUUID();
    return pool.preparedQuery("""
            INSERT INTO partner_idempotency (client_id, key, request_sha256, claim) VALUES ($1, $2, $3, $6)
            ON CONFLICT (client_id, key) DO UPDATE
              SET request_sha256 = EXCLUDED.request_sha256, status = NULL, response = NULL, created_at = now(),
                  claim = EXCLUDED.claim
              WHERE partner_idempotency.created_at < now() - make_interval(hours => $4)
                 OR (partner_idempotency.status IS NULL
                     AND partner_idempotency.created_at < now() - make_interval(secs => $5))
            RETURNING true""")
        .execute(Tuple.of(clientId, key, io.vertx.core.buffer.Buffer.buffer(fingerprint), RETENTION_HOURS,
            ABANDONED_SECONDS, claim))
        .compose(claimed -> claimed.size() == 1
            ? run(clientId, key, claim, work)
            : existing(clientId, key, fingerprint));
  }

  /**
   * The write and its answer in one transaction, under our {@code claim}: had the key been taken over meanwhile (we
   * were slower than {@link #ABANDONED_SECONDS}), the answer's update finds no row of ours and the write rolls back
   * (409; the new owner's write is the one that counts), and a failure deletes only our own claim, never the new
   * owner's (which would let a third request claim the key and write as well).
   */
  private Future<Answer> run(UUID clientId, String key, UUID claim, Function<SqlConnection, Future<Answer>> work) {
    return pool.withTransaction(conn -> work.apply(conn).compose(answer -> conn.preparedQuery(
                "UPDATE partner_idempotency SET status = $3, response = $4 WHERE client_id = $1 AND key = $2"
                    + " AND claim = $5 AND status IS NULL")
            .execute(Tuple.of(clientId, key, answer.status(), answer.body().encode(), claim))
            .compose(updated -> updated.rowCount() == 1 ? Future.succeededFuture(answer)
                : Future.failedFuture(conflict(key)))))
        .compose(answer -> sweep().map(answer), failure -> pool.preparedQuery(
                "DELETE FROM partner_idempotency WHERE client_id = $1 AND key = $2 AND claim = $3 AND status IS NULL")
            .execute(Tuple.of(clientId, key, claim))
            .transform(ignored -> Future.failedFuture(failure)));
  }

  private Future<Answer> existing(UUID clientId, String key, byte[] fingerprint) {
    return pool.preparedQuery("SELECT request_sha256, status, response FROM partner_idempotency "
            + "WHERE client_id = $1 AND key = $2")
        .execute(Tuple.of(clientId, key))
        .compose(rows -> {
          if (rows.size() == 0) { // freed by a failure between our claim and this read: the client may retry
            return Future.failedFuture(conflict(key));
          }
          Row r = rows.iterator().next();
          if (!MessageDigest.isEqual(r.getBuffer("request_sha256").getBytes(), fingerprint)) {
            return Future.failedFuture(Problem.of(ProblemType.UNPROCESSABLE, "The " + HEADER + " " + key
                    + " was used with another request body; use a new key for a new request.")
                .withErrors(List.of(new Problem.FieldError("header/" + HEADER, "already used with another body")))
                .toException());
          }
          if (r.getInteger("status") == null) {
            return Future.failedFuture(conflict(key));
          }
          return Future.succeededFuture(new Answer(r.getInteger("status"), new JsonObject(r.getString("response"))));
        });
  }

  /** Removes up to one batch of keys past their retention (on each completed write, so the table stays small). */
  private Future<Void> sweep() {
    return pool.preparedQuery("DELETE FROM partner_idempotency WHERE ctid IN (SELECT ctid FROM partner_idempotency "
            + "WHERE created_at < now() - make_interval(hours => $1) LIMIT $2)")
        .execute(Tuple.of(RETENTION_HOURS, SWEEP_BATCH)).mapEmpty();
  }

  private static RuntimeException conflict(String key) {
    return Problem.of(ProblemType.CONFLICT, "A request with " + HEADER + " " + key
        + " is still being processed; retry once it has finished.").toException();
  }

  /**
   * The key: an sf-string per the draft ({@code "abc"}); the bare form is taken too, as most clients send it.
   * Missing or empty: 400 naming the header.
   */
  static String key(String raw) {
    String key = raw == null ? "" : raw.strip();
    if (key.length() >= 2 && key.startsWith("\"") && key.endsWith("\"")) {
      key = key.substring(1, key.length() - 1);
    }
    if (key.isEmpty() || key.length() > 255 || !key.chars().allMatch(c -> c >= 0x20 && c < 0x7f && c != '"' && c != '\\')) {
      throw Problem.of(ProblemType.VALIDATION_FAILED, "This operation needs an " + HEADER
              + " header: a unique key of 1 to 255 visible ASCII characters per distinct request.")
          .withErrors(List.of(new Problem.FieldError("header/" + HEADER, raw == null ? "missing" : "invalid")))
          .toException();
    }
    return key;
  }

  /** JSON with object members sorted, so member order does not make two equal bodies different. */
  static String canonical(Object value) {
    if (value instanceof JsonObject o) {
      Map<String, Object> sorted = new TreeMap<>();
      o.forEach(e -> sorted.put(e.getKey(), e.getValue()));
      StringBuilder sb = new StringBuilder("{");
      sorted.forEach((k, v) -> sb.append(sb.length() > 1 ? "," : "").append(JsonArray.of(k).encode(), 1,
          JsonArray.of(k).encode().length() - 1).append(':').append(canonical(v)));
      return sb.append('}').toString();
    }
    if (value instanceof JsonArray a) {
      StringBuilder sb = new StringBuilder("[");
      for (int i = 0; i < a.size(); i++) {
        sb.append(i > 0 ? "," : "").append(canonical(a.getValue(i)));
      }
      return sb.append(']').toString();
    }
    String encoded = JsonArray.of(value).encode();
    return encoded.substring(1, encoded.length() - 1);
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
