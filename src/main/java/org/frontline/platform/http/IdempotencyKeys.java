package org.frontline.platform.http;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.Function;

/**
 * Idempotent writes, per the IETF draft "The Idempotency-Key HTTP Header Field", of a partner client
 * ({@link #forPartners}: table partner_idempotency) or of a person's account ({@link #forAccounts}: table
 * account_idempotency, through {@link IdempotentWrites}): the first request with a key claims it (its own committed
 * insert, so a concurrent duplicate sees the claim at once); the write and the stored answer then commit together.
 * A later request with the same key and the same request (the fingerprint is the SHA-256 of its canonical JSON,
 * keys sorted) gets the stored status, body and Location replayed; with another request 422; while the first is in
 * flight 409. Keys are per owner (client or account), kept {@link #RETENTION_HOURS} hours (then the key is free
 * again) and swept on later writes. A write that fails frees its key, so the client may retry it (an error is not a
 * result to replay). A claim whose request died without an answer (a crash) is taken over after
 * {@link #ABANDONED_SECONDS} seconds, well past the request timeout; each claim has its own nonce ({@code claim}),
 * so the request that was taken over can neither store its answer nor free the new owner's key.
 */
public final class IdempotencyKeys {
  public static final String HEADER = "Idempotency-Key";
  public static final int RETENTION_HOURS = 24;
  public static final int ABANDONED_SECONDS = 120;
  private static final int SWEEP_BATCH = 100;

  /** A stored (or fresh) answer: status, JSON body (null: none, as for a 204) and Location (null: none). */
  public record Answer(int status, JsonObject body, String location) {
    public Answer(int status, JsonObject body) {
      this(status, body, null);
    }

    /** Answers {@code rc} with it (never cached: it is one account's or client's). */
    public void send(RoutingContext rc) {
      if (location != null) {
        rc.response().putHeader("Location", location);
      }
      rc.response().setStatusCode(status).putHeader("Cache-Control", "no-store");
      if (body == null) {
        rc.response().end();
      } else {
        rc.response().putHeader("Content-Type", "application/json").end(body.encode());
      }
    }
  }

  /** A key's row: the fingerprint of its request and, once its write committed, the answer (status null before). */
  private record Stored(byte[] fingerprint, Integer status, String response, String location) {
    Answer answer() {
      return new Answer(status, response == null ? null : new JsonObject(response), location);
    }
  }

  private final Pool pool;
  /** The table and its owner column: constants of this class, never input. */
  private final String table;
  private final String ownerColumn;

  private IdempotencyKeys(Pool pool, String table, String ownerColumn) {
    this.pool = pool;
    this.table = table;
    this.ownerColumn = ownerColumn;
  }

  /** Keys of partner clients (V85). */
  public static IdempotencyKeys forPartners(Pool pool) {
    return new IdempotencyKeys(pool, "partner_idempotency", "client_id");
  }

  /** Keys of people's accounts (V140). */
  public static IdempotencyKeys forAccounts(Pool pool) {
    return new IdempotencyKeys(pool, "account_idempotency", "account_id");
  }

  /**
   * Runs {@code work} once per (owner, key): in a transaction that also stores its answer. Replays, refuses or
   * reports a conflict otherwise (see the class comment). {@code request} is what is fingerprinted: the body, or
   * for people's writes the operation, path and body.
   */
  public Future<Answer> once(UUID owner, String rawKey, JsonObject request,
                             Function<SqlConnection, Future<Answer>> work) {
    String key;
    try {
      key = key(rawKey);
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
    byte[] fingerprint = sha256(canonical(request));
    UUID claim = UUID.randomUUID();
    return pool.preparedQuery(("""
            INSERT INTO %1$s (%2$s, key, request_sha256, claim) VALUES ($1, $2, $3, $6)
            ON CONFLICT (%2$s, key) DO UPDATE
              SET request_sha256 = EXCLUDED.request_sha256, status = NULL, response = NULL, location = NULL,
                  created_at = now(), claim = EXCLUDED.claim
              WHERE %1$s.created_at < now() - make_interval(hours => $4)
                 OR (%1$s.status IS NULL AND %1$s.created_at < now() - make_interval(secs => $5))
            RETURNING true""").formatted(table, ownerColumn))
        .execute(Tuple.of(owner, key, io.vertx.core.buffer.Buffer.buffer(fingerprint), RETENTION_HOURS,
            ABANDONED_SECONDS, claim))
        .compose(claimed -> claimed.size() == 1
            ? run(owner, key, claim, work)
            : existing(owner, key, fingerprint));
  }

  /**
   * The write and its answer in one transaction, under our {@code claim}: had the key been taken over meanwhile (we
   * were slower than {@link #ABANDONED_SECONDS}), the answer's update finds no row of ours and the write rolls back
   * (409; the new owner's write is the one that counts), and a failure deletes only our own claim, never the new
   * owner's (which would let a third request claim the key and write as well).
   */
  private Future<Answer> run(UUID owner, String key, UUID claim, Function<SqlConnection, Future<Answer>> work) {
    return pool.withTransaction(conn -> work.apply(conn).compose(answer -> conn.preparedQuery(
                "UPDATE " + table + " SET status = $3, response = $4, location = $6 WHERE " + ownerColumn + " = $1"
                    + " AND key = $2 AND claim = $5 AND status IS NULL")
            .execute(Tuple.of(owner, key, answer.status(), answer.body() == null ? null : answer.body().encode(), claim,
                answer.location()))
            .compose(updated -> updated.rowCount() == 1 ? Future.succeededFuture(answer)
                : Future.failedFuture(conflict(key)))))
        .compose(answer -> sweep().map(answer), failure -> pool.preparedQuery(
                "DELETE FROM " + table + " WHERE " + ownerColumn + " = $1 AND key = $2 AND claim = $3"
                    + " AND status IS NULL")
            .execute(Tuple.of(owner, key, claim))
            .transform(ignored -> Future.failedFuture(failure)));
  }

  private Future<Answer> existing(UUID owner, String key, byte[] fingerprint) {
    return stored(owner, key).compose(stored -> {
      if (stored.isEmpty()) { // freed by a failure between our claim and this read: the client may retry
        return Future.failedFuture(conflict(key));
      }
      if (!MessageDigest.isEqual(stored.get().fingerprint(), fingerprint)) {
        return Future.failedFuture(Problem.of(ProblemType.UNPROCESSABLE, "The " + HEADER + " " + key
                + " was used with another request body; use a new key for a new request.")
            .withErrors(List.of(new Problem.FieldError("header/" + HEADER, "already used with another body")))
            .toException());
      }
      if (stored.get().status() == null) {
        return Future.failedFuture(conflict(key));
      }
      return Future.succeededFuture(stored.get().answer());
    });
  }

  /**
   * The answer stored for exactly {@code request} under the owner's {@code key}, if its write committed; claims
   * nothing. For a request refused before its write could run: see {@link #replayOf}.
   */
  private Future<Optional<Answer>> answerTo(UUID owner, String key, JsonObject request) {
    byte[] fingerprint = sha256(canonical(request));
    return stored(owner, key).map(stored -> stored
        .filter(s -> s.status() != null && MessageDigest.isEqual(s.fingerprint(), fingerprint))
        .map(Stored::answer));
  }

  /**
   * A refusal answer (see {@link ApiRoutes#refusalAnswers}) that replays the stored answer of a request refused
   * (400, 422) before its write ran, when its key already holds the answer to this very request: a client retrying
   * a write that succeeded but whose answer it never got, refused now by a rule tightened since (a new release),
   * gets its first answer again, as a repeat, instead of a refusal of what was in fact done (the phone would drop it
   * or show it as failed). Anything else (no key, an invalid one, another request under it, none stored, a request
   * whose body was not read because its head was refused) leaves the refusal. {@code owner} and {@code request}
   * are those its write fingerprints; either may throw when the request cannot be judged (the refusal stands).
   */
  public ApiRoutes.RefusalAnswer replayOf(Function<RoutingContext, UUID> owner,
                                          Function<RoutingContext, JsonObject> request) {
    return rc -> {
      String key;
      UUID who;
      JsonObject fingerprinted;
      try {
        String raw = header(rc.request());
        if (raw == null) {
          return Future.succeededFuture(false);
        }
        key = key(raw);
        who = owner.apply(rc);
        fingerprinted = request.apply(rc);
      } catch (RuntimeException e) {
        return Future.succeededFuture(false);
      }
      return answerTo(who, key, fingerprinted).map(answer -> {
        answer.ifPresent(a -> a.send(rc));
        return answer.isPresent();
      });
    };
  }

  private Future<Optional<Stored>> stored(UUID owner, String key) {
    return pool.preparedQuery("SELECT request_sha256, status, response, location FROM " + table
            + " WHERE " + ownerColumn + " = $1 AND key = $2")
        .execute(Tuple.of(owner, key))
        .map(rows -> {
          if (rows.size() == 0) {
            return Optional.empty();
          }
          Row r = rows.iterator().next();
          return Optional.of(new Stored(r.getBuffer("request_sha256").getBytes(), r.getInteger("status"),
              r.getString("response"), r.getString("location")));
        });
  }

  /** Removes up to one batch of keys past their retention (on each completed write, so the table stays small). */
  private Future<Void> sweep() {
    return pool.preparedQuery(sweepSql(table)).execute(Tuple.of(RETENTION_HOURS, SWEEP_BATCH)).mapEmpty();
  }

  /**
   * The sweep of {@code table}: $1 the retention in hours, $2 the batch. The victims are an array, deleted by TID:
   * as {@code ctid IN (SELECT ...)} the generic plan hash-joined them to a sequential scan of the whole table, on
   * every completed write. The DELETE re-checks the age (a key taken over meanwhile is young again).
   */
  static String sweepSql(String table) {
    return "DELETE FROM " + table + " WHERE ctid = ANY (ARRAY(SELECT ctid FROM " + table
        + " WHERE created_at < now() - make_interval(hours => $1) LIMIT $2))"
        + " AND created_at < now() - make_interval(hours => $1)";
  }

  private static RuntimeException conflict(String key) {
    return Problem.of(ProblemType.CONFLICT, "A request with " + HEADER + " " + key
        + " is still being processed; retry once it has finished.").toException();
  }

  /**
   * The request's {@value #HEADER} field (null when absent). Sent more than once it names no one key (reading the
   * first took a request with two keys as one with the first): 400 naming the header.
   */
  public static String header(io.vertx.core.http.HttpServerRequest request) {
    List<String> fields = request.headers().getAll(HEADER);
    if (fields.size() > 1) {
      throw Problem.of(ProblemType.VALIDATION_FAILED, "The " + HEADER + " header is sent once, with one key.")
          .withErrors(List.of(new Problem.FieldError("header/" + HEADER, "sent more than once")))
          .toException();
    }
    return fields.isEmpty() ? null : fields.get(0);
  }

  /**
   * The key: an sf-string per the draft ({@code "abc"}); the bare form is taken too, as most clients send it.
   * Missing or empty: 400 naming the header.
   */
  public static String key(String raw) {
    String key = raw == null ? "" : raw.strip();
    if (key.length() >= 2 && key.startsWith("\"") && key.endsWith("\"")) {
      key = key.substring(1, key.length() - 1);
    }
    if (key.isEmpty() || key.length() > 255 || !key.chars().allMatch(c -> c >= 0x20 && c < 0x7f && c != '"' && c != '\\')) {
      throw Problem.of(ProblemType.VALIDATION_FAILED, "The " + HEADER
              + " header is a unique key of 1 to 255 visible ASCII characters per distinct request.")
          .withErrors(List.of(new Problem.FieldError("header/" + HEADER, raw == null ? "missing" : "invalid")))
          .toException();
    }
    return key;
  }

  /** JSON with object members sorted, so member order does not make two equal bodies different. */
  public static String canonical(Object value) {
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
