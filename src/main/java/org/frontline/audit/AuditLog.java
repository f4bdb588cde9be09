package org.frontline.audit;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Arrays;

/**
 * The append-only, hash-chained audit log. {@code record} writes with the given client, so an entry written with a
 * transaction's connection commits or rolls back with the change it describes; with a pool (or a connection outside
 * a transaction) the entry is written in a transaction of its own, and stays even when the request then fails (a
 * failed login answers 401, its entry is kept).
 *
 * <p>Appends are serialised: the writer takes a transaction-scoped advisory lock on {@link #LOCK_KEY}, then reads
 * the last entry (in READ COMMITTED, the default, that statement sees every entry committed before the lock was
 * granted; the two are pipelined, and PostgreSQL starts the read, and takes its snapshot, only once the lock is held), then inserts seq + 1 with the hash of the last entry as prev_hash. The lock is held until the writing
 * transaction ends, so concurrent writers form one gap-free chain. Keep transactions that record short.
 */
public final class AuditLog {
  /** The advisory lock key that serialises appends ("FLAUDIT\0" as a bigint). */
  public static final long LOCK_KEY = 0x464C415544495400L;

  public Future<Void> record(SqlClient client, AuditEvent event) {
    if (event == null || event.action() == null || event.action().isBlank() || event.outcome() == null) {
      return Future.failedFuture(new IllegalArgumentException("an audit event needs an action and an outcome"));
    }
    if (client instanceof SqlConnection conn) {
      if (conn.transaction() != null) {
        return append(conn, event);
      }
      return conn.begin().compose(tx -> append(conn, event).transform(ar -> ar.succeeded()
          ? tx.commit() : tx.rollback().transform(x -> Future.<Void>failedFuture(ar.cause()))));
    }
    if (client instanceof Pool pool) {
      return pool.withTransaction(conn -> append(conn, event));
    }
    return Future.failedFuture(new IllegalArgumentException("record with a Pool or an SqlConnection"));
  }

  private Future<Void> append(SqlConnection conn, AuditEvent event) {
    // Both statements are sent at once (the connection pipelines them): PostgreSQL runs the read only after the lock
    // is granted, with a snapshot taken then, so the lock is not held across a client round trip for nothing.
    Future<?> locked = conn.preparedQuery("SELECT pg_advisory_xact_lock($1)").execute(Tuple.of(LOCK_KEY));
    Future<io.vertx.sqlclient.RowSet<Row>> lastRows = conn.preparedQuery("""
                SELECT last.seq, last.hash, clock_timestamp() AS at,
                       (SELECT u.path FROM org_unit u WHERE u.id = $1::uuid) AS unit_path
                FROM (SELECT 1) AS one
                LEFT JOIN LATERAL (SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1) AS last ON true""")
        .execute(Tuple.of(event.unitId()));
    return Future.all(locked, lastRows).map(v -> lastRows.result())
        .compose(rows -> {
          Row last = rows.iterator().next();
          Long lastSeq = last.getLong("seq");
          byte[] prevHash = lastSeq == null ? AuditChain.genesis() : last.getBuffer("hash").getBytes();
          OffsetDateTime at = last.getOffsetDateTime("at").withOffsetSameInstant(ZoneOffset.UTC);
          // Round-trip the details through JSON text, so what is hashed is what a reader of the jsonb gets back.
          JsonObject details = event.details() == null ? null : new JsonObject(event.details().encode());
          AuditEntry entry = new AuditEntry(lastSeq == null ? 1 : lastSeq + 1, at.toInstant(), event.actorId(),
              event.actorLabel() == null ? "anonymous" : event.actorLabel(), event.action(), event.objectType(),
              event.objectId(), event.unitId(), last.getString("unit_path"), event.clientAddress(),
              event.requestId(), event.outcome().name(), details, prevHash, null);
          entry = entry.withHash(AuditChain.hash(entry));
          return conn.preparedQuery("""
                  INSERT INTO audit_log (seq, at, actor_id, actor_label, action, object_type, object_id, unit_id,
                    unit_path, client_address, request_id, outcome, details, prev_hash, hash)
                  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::text::jsonb, $14, $15)""")
              .execute(Tuple.from(Arrays.asList(entry.seq(), at, entry.actorId(), entry.actorLabel(),
                  entry.action(), entry.objectType(), entry.objectId(), entry.unitId(), entry.unitPath(),
                  entry.clientAddress(), entry.requestId(), entry.outcome(),
                  details == null ? null : AuditChain.canonicalJson(details),
                  Buffer.buffer(entry.prevHash()), Buffer.buffer(entry.hash()))));
        })
        .mapEmpty();
  }
}
