package org.frontline.identity;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import org.frontline.audit.AuditEvent;
import org.frontline.audit.AuditLog;
import org.frontline.identity.SigningKeys.SigningKey;
import org.frontline.platform.db.Transaction;
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
 * verifies only); a new P-256 key becomes current. Audited in the same transaction.
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
    OffsetDateTime at = OffsetDateTime.ofInstant(now, ZoneOffset.UTC);
    OffsetDateTime cutoff = OffsetDateTime.ofInstant(now.minus(OVERLAP), ZoneOffset.UTC);
    SigningKey key = SigningKeys.generate(now);
    List<String> retired = new ArrayList<>();
    List<String> superseded = new ArrayList<>();
    return tx.run(c -> SigningKeyStore.lock(c)
        .compose(v -> c.preparedQuery("UPDATE signing_key SET state = 'retired', retired_at = $1, private_key_enc = NULL "
            + "WHERE state = 'previous' AND superseded_at <= $2 RETURNING kid").execute(Tuple.of(at, cutoff)))
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
        .compose(v -> store.list(c))
        .map(keys -> {
          log.info("signing keys rotated by {}: {} is current; superseded {}; retired {}", actor.label(), key.kid(),
              superseded, retired);
          return KeysApi.rotationJson(new Rotation(key.kid(), List.copyOf(superseded), List.copyOf(retired)), keys);
        }));
  }
}
