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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

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
    return recordAll(client, event == null ? null : List.of(event));
  }

  /**
   * Appends several events under one acquisition of the chain lock, with consecutive seqs, in the given order: what
   * a group of report submissions committed together writes.
   */
  public Future<Void> recordAll(SqlClient client, List<AuditEvent> events) {
    if (events == null || events.isEmpty()) {
      return Future.failedFuture(new IllegalArgumentException("nothing to audit"));
    }
    for (AuditEvent event : events) {
      if (event == null || event.action() == null || event.action().isBlank() || event.outcome() == null) {
        return Future.failedFuture(new IllegalArgumentException("an audit event needs an action and an outcome"));
      }
    }
    if (client instanceof SqlConnection conn) {
      if (conn.transaction() != null) {
        return append(conn, events);
      }
      return conn.begin().compose(tx -> append(conn, events).transform(ar -> ar.succeeded()
          ? tx.commit() : tx.rollback().transform(x -> Future.<Void>failedFuture(ar.cause()))));
    }
    if (client instanceof Pool pool) {
      return pool.withTransaction(conn -> append(conn, events));
    }
    return Future.failedFuture(new IllegalArgumentException("record with a Pool or an SqlConnection"));
  }

  private Future<Void> append(SqlConnection conn, List<AuditEvent> events) {
    UUID[] unitIds = events.stream().map(AuditEvent::unitId).filter(Objects::nonNull).distinct().toArray(UUID[]::new);
    // Both statements are sent at once (the connection pipelines them): PostgreSQL runs the read only after the lock
    // is granted, with a snapshot taken then, so the lock is not held across a client round trip for nothing.
    Future<?> locked = conn.preparedQuery("SELECT pg_advisory_xact_lock($1)").execute(Tuple.of(LOCK_KEY));
    Future<io.vertx.sqlclient.RowSet<Row>> lastRows = conn.preparedQuery("""
                SELECT last.seq, last.hash, clock_timestamp() AS at,
                       (SELECT array_agg(u.id ORDER BY u.id) FROM org_unit u WHERE u.id = ANY ($1)) AS unit_ids,
                       (SELECT array_agg(u.path ORDER BY u.id) FROM org_unit u WHERE u.id = ANY ($1)) AS unit_paths
                FROM (SELECT 1) AS one
                LEFT JOIN LATERAL (SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1) AS last ON true""")
        .execute(Tuple.of(unitIds));
    return Future.all(locked, lastRows).map(v -> lastRows.result())
        .compose(rows -> {
          Row last = rows.iterator().next();
          Map<UUID, String> paths = new HashMap<>();
          UUID[] ids = last.getArrayOfUUIDs("unit_ids");
          String[] unitPaths = last.getArrayOfStrings("unit_paths");
          for (int i = 0; ids != null && i < ids.length; i++) {
            paths.put(ids[i], unitPaths[i]);
          }
          Long lastSeq = last.getLong("seq");
          long seq = lastSeq == null ? 0 : lastSeq;
          byte[] prevHash = lastSeq == null ? AuditChain.genesis() : last.getBuffer("hash").getBytes();
          OffsetDateTime at = last.getOffsetDateTime("at").withOffsetSameInstant(ZoneOffset.UTC);
          List<Tuple> batch = new ArrayList<>(events.size());
          for (AuditEvent event : events) {
            // Round-trip the details through JSON text, so what is hashed is what a reader of the jsonb gets back.
            JsonObject details = event.details() == null ? null : new JsonObject(event.details().encode());
            AuditEntry entry = new AuditEntry(++seq, at.toInstant(), event.actorId(),
                event.actorLabel() == null ? "anonymous" : event.actorLabel(), event.action(), event.objectType(),
                event.objectId(), event.unitId(), paths.get(event.unitId()), event.clientAddress(),
                event.requestId(), event.outcome().name(), details, prevHash, null);
            entry = entry.withHash(AuditChain.hash(entry));
            prevHash = entry.hash();
            batch.add(Tuple.from(Arrays.asList(entry.seq(), at, entry.actorId(), entry.actorLabel(),
                entry.action(), entry.objectType(), entry.objectId(), entry.unitId(), entry.unitPath(),
                entry.clientAddress(), entry.requestId(), entry.outcome(),
                details == null ? null : AuditChain.canonicalJson(details),
                Buffer.buffer(entry.prevHash()), Buffer.buffer(entry.hash()))));
          }
          return conn.preparedQuery("""
                  INSERT INTO audit_log (seq, at, actor_id, actor_label, action, object_type, object_id, unit_id,
                    unit_path, client_address, request_id, outcome, details, prev_hash, hash)
                  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::text::jsonb, $14, $15)""")
              .executeBatch(batch);
        })
        .mapEmpty();
  }
}
