package org.frontline.identity;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import org.frontline.audit.AuditEvent;
import org.frontline.audit.AuditLog;
import org.frontline.identity.SigningKeys.SigningKey;
import org.frontline.platform.db.Transaction;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Key rotation, in one transaction under the key-state lock: previous keys superseded longer ago than
 * {@link #OVERLAP} are retired (unpublished, private key erased); the current key becomes previous (still published,
 * verifies only); a new P-256 key becomes current. Audited in the same transaction. A key that leaked is retired
 * at once instead ({@link #retire}), the current one with a successor made current in the same transaction.
 */
public final class RotationService {
  private static final Logger log = LoggerFactory.getLogger(RotationService.class);

  /**
   * How long a superseded key stays published: the access-token lifetime, plus the clock leeway of verification,
   * plus the refresh interval during which another instance may still sign with it before it learns of the rotation.
   */
  public static final Duration OVERLAP = TokenService.ACCESS_TOKEN_TTL.plus(TokenService.LEEWAY)
      .plus(KeyRing.REFRESH_INTERVAL);

  /** Who asked for the rotation, for the audit log. */
  public record Actor(UUID accountId, String label, String clientAddress, String requestId) {}

  /** What a rotation did. */
  public record Rotation(String activated, List<String> superseded, List<String> retired) {
    static Rotation of(JsonObject json) {
      return new Rotation(json.getString("activated"), strings(json.getJsonArray("superseded")),
          strings(json.getJsonArray("retired")));
    }

    private static List<String> strings(JsonArray array) {
      return array.stream().map(String.class::cast).toList();
    }
  }

  /** What a retirement did: the key retired, and the key made current in its place (null: it was not current). */
  public record Retirement(String retired, String replacedBy) {
    static Retirement of(JsonObject json) {
      return new Retirement(json.getString("retired"), json.getString("replacedBy"));
    }
  }

  private final SigningKeyStore store;
  private final AuditLog audit;

  public RotationService(SigningKeyStore store, AuditLog audit) {
    this.store = store;
    this.audit = audit;
  }

  /** Rotates in a transaction of its own ({@code admin rotate-keys}). */
  public Future<Rotation> rotate(Actor actor) {
    return rotate(actor, work -> store.pool().withTransaction(work)).map(Rotation::of);
  }

  /**
   * Rotates in {@code tx} (the API's: under an Idempotency-Key, the answer is stored with the rotation), whose answer
   * is the rotation's JSON with every key after it ({@link KeysApi#rotationJson}).
   */
  public <R> Future<R> rotate(Actor actor, Transaction<R> tx) {
    Instant now = store.clock().instant();
    return tx.run(c -> SigningKeyStore.lock(c)
        .compose(v -> rotate(c, actor, now))
        .compose(done -> store.list(c).map(keys -> KeysApi.rotationJson(done, keys))));
  }

  /** Retires {@code kid} at once in a transaction of its own ({@code admin retire-key}). */
  public Future<Retirement> retire(Actor actor, String kid) {
    return retire(actor, kid, work -> store.pool().withTransaction(work)).map(Retirement::of);
  }

  /**
   * Retires {@code kid} at once, in {@code tx} (see {@link #rotate(Actor, Transaction)}): it is unpublished, its
   * private key erased, and no instance verifies its tokens any more once it has heard (the table's notice, V197).
   * The current key is never left without a successor: retiring it first rotates, in the same transaction, so a
   * new key signs from then on. A key already retired is answered as it is (nothing changes, nothing audited); an
   * unknown kid is 404. The answer is {@link KeysApi#retirementJson} with every key after it.
   */
  public <R> Future<R> retire(Actor actor, String kid, Transaction<R> tx) {
    Instant now = store.clock().instant();
    return tx.run(c -> SigningKeyStore.lock(c)
        .compose(v -> c.preparedQuery("SELECT state FROM signing_key WHERE kid = $1").execute(Tuple.of(kid)))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.failedFuture(Problem.of(ProblemType.NOT_FOUND, "No signing key " + kid + ".").toException());
          }
          SigningKeyStore.State state = SigningKeyStore.State.of(rows.iterator().next().getString("state"));
          if (state == SigningKeyStore.State.RETIRED) {
            return Future.succeededFuture(new Retirement(kid, null));
          }
          Future<String> successor = state == SigningKeyStore.State.CURRENT
              ? rotate(c, actor, now).map(Rotation::activated) : Future.succeededFuture(null);
          return successor.compose(next -> c.preparedQuery("UPDATE signing_key SET state = 'retired', retired_at = $2, "
                      + "private_key_enc = NULL WHERE kid = $1").execute(Tuple.of(kid, utc(now)))
                  .compose(r -> audit.record(c, new AuditEvent(actor.accountId(), actor.label(), "signing-key.retire",
                      "signing-key", kid, null, actor.clientAddress(), actor.requestId(), AuditEvent.Outcome.SUCCESS,
                      new JsonObject().put("state", state.sql()).put("replacedBy", next))))
                  .map(r -> {
                    log.warn("signing key {} ({}) retired at once by {}{}", kid, state.sql(), actor.label(),
                        next == null ? "" : "; " + next + " is current");
                    return new Retirement(kid, next);
                  }));
        })
        .compose(done -> store.list(c).map(keys -> KeysApi.retirementJson(done, keys))));
  }

  /**
   * The rotation itself, under the key-state lock taken by the caller: previous keys past the overlap retired, the
   * current key superseded, a new key current, audited.
   */
  private Future<Rotation> rotate(SqlConnection c, Actor actor, Instant now) {
    OffsetDateTime at = utc(now);
    OffsetDateTime cutoff = utc(now.minus(OVERLAP));
    SigningKey key = SigningKeys.generate(now);
    List<String> retired = new ArrayList<>();
    List<String> superseded = new ArrayList<>();
    return c.preparedQuery("UPDATE signing_key SET state = 'retired', retired_at = $1, private_key_enc = NULL "
            + "WHERE state = 'previous' AND superseded_at <= $2 RETURNING kid").execute(Tuple.of(at, cutoff))
        .compose(rows -> {
          rows.forEach(r -> retired.add(r.getString("kid")));
          return c.preparedQuery("UPDATE signing_key SET state = 'previous', superseded_at = $1 "
              + "WHERE state = 'current' RETURNING kid").execute(Tuple.of(at));
        })
        .compose(rows -> {
          for (Row r : rows) {
            superseded.add(r.getString("kid"));
          }
          return store.insertCurrent(c, key, now);
        })
        .compose(v -> audit.record(c, new AuditEvent(actor.accountId(), actor.label(), "signing-key.rotate",
            "signing-key", key.kid(), null, actor.clientAddress(), actor.requestId(), AuditEvent.Outcome.SUCCESS,
            new JsonObject().put("superseded", new JsonArray(superseded)).put("retired", new JsonArray(retired)))))
        .map(v -> {
          log.info("signing keys rotated by {}: {} is current; superseded {}; retired {}", actor.label(), key.kid(),
              superseded, retired);
          return new Rotation(key.kid(), List.copyOf(superseded), List.copyOf(retired));
        });
  }

  private static OffsetDateTime utc(Instant instant) {
    return OffsetDateTime.ofInstant(instant, ZoneOffset.UTC);
  }
}
