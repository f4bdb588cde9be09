package org.frontline.identity;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import org.frontline.audit.AuditEvent;
import org.frontline.audit.AuditLog;
import org.frontline.platform.db.Database;
import org.frontline.webhooks.WebhookService;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code admin rekey}: everything sealed under the key-encryption key (signing keys' private keys, webhook secrets)
 * re-encrypted under a new one, in one transaction: all or nothing. A value that already opens under the new key is
 * left as it is (a second run, or a run after one whose answer was lost, changes nothing); a value that opens under
 * neither key fails the whole re-key. One re-key of a database at a time: a second is refused at once, saying so.
 * Refused while an instance of the service is connected to the database: a running instance keeps the old key, and
 * what it sealed afterwards (a rotation, a new webhook secret) would open under no key of the new configuration.
 */
public final class KeyEncryptionRekey {

  /** The re-key was refused; nothing was changed. */
  public static final class RefusedException extends RuntimeException {
    RefusedException(String message) {
      super(message);
    }
  }

  /** What a re-key did: the signing keys and webhook secrets re-encrypted, and those already under the new key. */
  public record Result(List<String> signingKeys, int webhookSecrets, int alreadyUnderNewKey) {
    public int reencrypted() {
      return signingKeys.size() + webhookSecrets;
    }
  }

  /**
   * The application_name of a re-key's sessions: not the service's ({@link Database#APPLICATION_NAME}), so that a
   * second re-key connected meanwhile is not taken for a running instance.
   */
  public static final String APPLICATION_NAME = "frontline-rekey";

  /** Other sessions of the service (Database.connect names them) on this database. */
  private static final String INSTANCES = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
      + "AND application_name = '" + Database.APPLICATION_NAME + "' AND pid <> pg_backend_pid()";

  /** pg_try_advisory_xact_lock key held by a re-key for its transaction: one re-key of a database at a time. */
  private static final long REKEY_LOCK = 0x46524B454BL; // "FRKEK"

  private final Pool pool;
  private final KeyEncryption current;
  private final KeyEncryption next;
  private final AuditLog audit;

  public KeyEncryptionRekey(Pool pool, KeyEncryption current, KeyEncryption next, AuditLog audit) {
    this.pool = pool;
    this.current = current;
    this.next = next;
    this.audit = audit;
  }

  public Future<Result> rekey(RotationService.Actor actor) {
    List<Tuple> keys = new ArrayList<>();
    List<Tuple> secrets = new ArrayList<>();
    List<String> kids = new ArrayList<>();
    int[] already = {0};
    // The key-state lock first (as a rotation takes it), then the tables: an instance starting meanwhile reads the
    // signing keys only after the commit, and fails on them with the old key. A lock held elsewhere (an instance
    // still running) fails the re-key after 10 s rather than leaving it waiting.
    // A second re-key of the same database is refused at once, saying so: it waited on the key-state lock and
    // failed on its timeout, or its connection was counted by the first as a running instance's.
    return pool.withTransaction(c -> c.preparedQuery("SELECT pg_try_advisory_xact_lock($1)")
        .execute(Tuple.of(REKEY_LOCK))
        .compose(rows -> rows.iterator().next().getBoolean(0) ? Future.<Void>succeededFuture()
            : Future.failedFuture(new RefusedException("another admin rekey is already running on this database: "
                + "wait for it to end (run again after it, there is nothing left to do)")))
        .compose(v -> c.query("SET LOCAL lock_timeout = '10s'").execute())
        .compose(v -> SigningKeyStore.lock(c))
        .compose(v -> c.query("LOCK TABLE signing_key, webhook_secret IN ACCESS EXCLUSIVE MODE").execute())
        .compose(v -> c.query(INSTANCES).execute())
        .compose(rows -> {
          long instances = rows.iterator().next().getLong(0);
          return instances == 0 ? Future.<Void>succeededFuture() : Future.failedFuture(new RefusedException(
              instances + " connection(s) of a running instance of the service to this database: stop every "
                  + "instance first (they keep the old key until restarted)"));
        })
        .compose(v -> c.query("SELECT kid, private_key_enc FROM signing_key WHERE private_key_enc IS NOT NULL "
            + "ORDER BY kid").execute())
        .compose(rows -> {
          for (Row r : rows) {
            String kid = r.getString("kid");
            byte[] sealed = reseal(kid, "signing key " + kid, r.getBuffer("private_key_enc").getBytes());
            if (sealed == null) {
              already[0]++;
            } else {
              keys.add(Tuple.of(kid, Buffer.buffer(sealed)));
              kids.add(kid);
            }
          }
          return c.query("SELECT id, secret_sealed FROM webhook_secret ORDER BY id").execute();
        })
        .compose(rows -> {
          for (Row r : rows) {
            java.util.UUID id = r.getUUID("id");
            byte[] sealed = reseal(WebhookService.sealKid(id), "webhook secret " + id,
                r.getBuffer("secret_sealed").getBytes());
            if (sealed == null) {
              already[0]++;
            } else {
              secrets.add(Tuple.of(id, Buffer.buffer(sealed)));
            }
          }
          return update(c, "UPDATE signing_key SET private_key_enc = $2 WHERE kid = $1", keys);
        })
        .compose(v -> update(c, "UPDATE webhook_secret SET secret_sealed = $2 WHERE id = $1", secrets))
        .compose(v -> keys.isEmpty() && secrets.isEmpty() ? Future.<Void>succeededFuture()
            : audit.record(c, new AuditEvent(actor.accountId(), actor.label(), "key-encryption-key.rekey",
                "key-encryption-key", null, null, actor.clientAddress(), actor.requestId(),
                AuditEvent.Outcome.SUCCESS, new JsonObject().put("signingKeys", new JsonArray(kids))
                    .put("webhookSecrets", secrets.size()).put("alreadyUnderNewKey", already[0]))))
        .map(v -> new Result(List.copyOf(kids), secrets.size(), already[0])));
  }

  /** {@code stored} sealed under the new key; null when it is already; refused when neither key opens it. */
  private byte[] reseal(String kid, String what, byte[] stored) {
    byte[] plain;
    try {
      plain = current.decrypt(kid, stored);
    } catch (KeyEncryption.WrongKeyException notCurrent) {
      try {
        next.decrypt(kid, stored);
        return null;
      } catch (KeyEncryption.WrongKeyException neither) {
        throw new RefusedException("the " + what + " opens under neither FRONTLINE_KEY_ENCRYPTION_KEY nor "
            + "FRONTLINE_NEW_KEY_ENCRYPTION_KEY: is FRONTLINE_KEY_ENCRYPTION_KEY the key in force?");
      }
    }
    try {
      return next.encrypt(kid, plain);
    } finally {
      java.util.Arrays.fill(plain, (byte) 0);
    }
  }

  private static Future<Void> update(SqlConnection c, String sql, List<Tuple> rows) {
    return rows.isEmpty() ? Future.succeededFuture() : c.preparedQuery(sql).executeBatch(rows).mapEmpty();
  }
}
