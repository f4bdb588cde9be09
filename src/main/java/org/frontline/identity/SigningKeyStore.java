package org.frontline.identity;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import org.frontline.identity.SigningKeys.SigningKey;
import org.frontline.identity.TokenService.KeySet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The signing keys in PostgreSQL (table signing_key), shared by every instance: the private keys encrypted under
 * the key-encryption key. Changes of state run under one transaction-scoped advisory lock, so two instances (or an
 * instance and the CLI) never both create a current key.
 */
public final class SigningKeyStore {
  private static final Logger log = LoggerFactory.getLogger(SigningKeyStore.class);
  /** pg_advisory_xact_lock key serializing every change of signing-key state. */
  private static final long LOCK = 0x6b6579726f746174L; // "keyrotat"

  public enum State {
    NEXT, CURRENT, PREVIOUS, RETIRED;

    public String sql() { return name().toLowerCase(Locale.ROOT); }

    static State of(String s) { return valueOf(s.toUpperCase(Locale.ROOT)); }
  }

  /** What an admin may see of a key: never private material. */
  public record KeyInfo(String kid, State state, Instant createdAt, Instant activatedAt, Instant supersededAt,
                        Instant retiredAt) {
    public JsonObject toJson() {
      return new JsonObject().put("kid", kid).put("state", state.sql())
          .put("createdAt", text(createdAt)).put("activatedAt", text(activatedAt))
          .put("supersededAt", text(supersededAt)).put("retiredAt", text(retiredAt));
    }

    private static String text(Instant i) {
      return i == null ? null : i.toString();
    }
  }

  private final Pool pool;
  private final KeyEncryption encryption;
  private final Clock clock;

  public SigningKeyStore(Pool pool, KeyEncryption encryption, Clock clock) {
    this.pool = pool;
    this.encryption = encryption;
    this.clock = clock;
  }

  public Pool pool() { return pool; }

  public Clock clock() { return clock; }

  /**
   * The published keys, decrypted: next, current, and previous keys within their overlap
   * ({@link RotationService#OVERLAP} since they were superseded); the current one is null when there is none. A
   * previous key past its overlap can have signed nothing still valid: it is neither published nor trusted any more
   * (a leaked key, rotated out, stops verifying forged tokens then), though only the next rotation marks it retired
   * and erases its private key. Also the kids of retired keys (one a rotation, a few bytes each), so that a token
   * of one is refused as such.
   */
  public Future<KeySet> loadPublished() {
    OffsetDateTime overlapStart = OffsetDateTime.ofInstant(clock.instant().minus(RotationService.OVERLAP),
        ZoneOffset.UTC);
    return pool.preparedQuery("SELECT kid, state, public_jwk, private_key_enc FROM signing_key "
            + "WHERE state IN ('next', 'current', 'retired') OR (state = 'previous' AND superseded_at > $1) "
            + "ORDER BY created_at, kid")
        .execute(Tuple.of(overlapStart))
        .map(rows -> {
          Map<String, SigningKey> published = new LinkedHashMap<>();
          Set<String> retired = new HashSet<>();
          SigningKey current = null;
          for (Row row : rows) {
            String kid = row.getString("kid");
            if (State.of(row.getString("state")) == State.RETIRED) {
              retired.add(kid);
              continue;
            }
            byte[] pkcs8 = encryption.decrypt(kid, row.getBuffer("private_key_enc").getBytes());
            JsonObject jwk = jsonOf(row.getValue("public_jwk"));
            SigningKey key = new SigningKey(kid, SigningKeys.privateKey(pkcs8), SigningKeys.publicKey(jwk));
            published.put(kid, key);
            if (State.of(row.getString("state")) == State.CURRENT) {
              current = key;
            }
          }
          return new KeySet(published, current, retired);
        });
  }

  /** Generates a current key when there is none (first start of an installation). True when one was created. */
  public Future<Boolean> ensureCurrent() {
    return pool.withTransaction(c -> lock(c)
        .compose(v -> c.query("SELECT 1 FROM signing_key WHERE state = 'current'").execute())
        .compose(rows -> {
          if (rows.size() > 0) {
            return Future.succeededFuture(false);
          }
          SigningKey key = SigningKeys.generate(clock.instant());
          log.info("no current signing key: generated {}", key.kid());
          return insertCurrent(c, key, clock.instant()).map(true);
        }));
  }

  /** Every key, newest first, without private material. */
  public Future<List<KeyInfo>> list() {
    return list(pool);
  }

  /** Every key, newest first, as {@code client} (a rotation's transaction) sees them. */
  Future<List<KeyInfo>> list(SqlClient client) {
    return client.query("SELECT kid, state, created_at, activated_at, superseded_at, retired_at FROM signing_key "
        + "ORDER BY created_at DESC, kid DESC").execute().map(rows -> {
          List<KeyInfo> out = new ArrayList<>();
          for (Row r : rows) {
            out.add(new KeyInfo(r.getString("kid"), State.of(r.getString("state")), instant(r, "created_at"),
                instant(r, "activated_at"), instant(r, "superseded_at"), instant(r, "retired_at")));
          }
          return out;
        });
  }

  /** Takes the lock that serializes changes of key state, until the transaction of {@code c} ends. */
  static Future<Void> lock(SqlConnection c) {
    return c.preparedQuery("SELECT pg_advisory_xact_lock($1)").execute(Tuple.of(LOCK)).mapEmpty();
  }

  /** Stores {@code key} as the current key, activated at {@code now}. */
  Future<Void> insertCurrent(SqlClient c, SigningKey key, Instant now) {
    byte[] sealed = encryption.encrypt(key.kid(), key.privateKey().getEncoded());
    OffsetDateTime at = OffsetDateTime.ofInstant(now, ZoneOffset.UTC);
    return c.preparedQuery("INSERT INTO signing_key (kid, state, public_jwk, private_key_enc, created_at, activated_at) "
            + "VALUES ($1, 'current', $2, $3, $4, $4)")
        .execute(Tuple.of(key.kid(), SigningKeys.publicJwk(key.kid(), key.publicKey()), Buffer.buffer(sealed), at))
        .mapEmpty();
  }

  private static JsonObject jsonOf(Object value) {
    return value instanceof JsonObject j ? j : new JsonObject(String.valueOf(value));
  }

  private static Instant instant(Row r, String column) {
    OffsetDateTime t = r.getOffsetDateTime(column);
    return t == null ? null : t.toInstant();
  }
}
