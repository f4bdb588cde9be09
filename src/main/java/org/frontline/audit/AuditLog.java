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
          int n = events.size();
          Long[] seqs = new Long[n];
          OffsetDateTime[] ats = new OffsetDateTime[n];
          UUID[] actorIds = new UUID[n], unitIdsOf = new UUID[n];
          String[] actorLabels = new String[n], actions = new String[n], objectTypes = new String[n],
              objectIds = new String[n], unitPathsOf = new String[n], clients = new String[n],
              requestIds = new String[n], outcomes = new String[n], detailsOf = new String[n];
          Buffer[] prevHashes = new Buffer[n], hashes = new Buffer[n];
          for (int i = 0; i < n; i++) {
            AuditEvent event = events.get(i);
            // Round-trip the details through JSON text, so what is hashed is what a reader of the jsonb gets back.
            JsonObject details = event.details() == null ? null : new JsonObject(event.details().encode());
            AuditEntry entry = new AuditEntry(++seq, at.toInstant(), event.actorId(),
                event.actorLabel() == null ? "anonymous" : event.actorLabel(), event.action(), event.objectType(),
                event.objectId(), event.unitId(), paths.get(event.unitId()), event.clientAddress(),
                event.requestId(), event.outcome().name(), details, prevHash, null);
            entry = entry.withHash(AuditChain.hash(entry));
            prevHash = entry.hash();
            seqs[i] = entry.seq();
            ats[i] = at;
            actorIds[i] = entry.actorId();
            actorLabels[i] = entry.actorLabel();
            actions[i] = entry.action();
            objectTypes[i] = entry.objectType();
            objectIds[i] = entry.objectId();
            unitIdsOf[i] = entry.unitId();
            unitPathsOf[i] = entry.unitPath();
            clients[i] = entry.clientAddress();
            requestIds[i] = entry.requestId();
            outcomes[i] = entry.outcome();
            detailsOf[i] = details == null ? null : AuditChain.canonicalJson(details);
            prevHashes[i] = Buffer.buffer(entry.prevHash());
            hashes[i] = Buffer.buffer(entry.hash());
          }
          // One statement for all the entries, whatever their number (a group commit appends one per report).
          return conn.preparedQuery("""
                  INSERT INTO audit_log (seq, at, actor_id, actor_label, action, object_type, object_id, unit_id,
                    unit_path, client_address, request_id, outcome, details, prev_hash, hash)
                  SELECT seq, at, actor_id, actor_label, action, object_type, object_id, unit_id, unit_path,
                         client_address, request_id, outcome, details::jsonb, prev_hash, hash
                  FROM unnest($1::bigint[], $2::timestamptz[], $3::uuid[], $4::text[], $5::text[], $6::text[],
                              $7::text[], $8::uuid[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
                              $14::bytea[], $15::bytea[])
                    AS e(seq, at, actor_id, actor_label, action, object_type, object_id, unit_id, unit_path,
                         client_address, request_id, outcome, details, prev_hash, hash)
                  ORDER BY seq""")
              .execute(Tuple.from(new Object[] {seqs, ats, actorIds, actorLabels, actions, objectTypes, objectIds,
                  unitIdsOf, unitPathsOf, clients, requestIds, outcomes, detailsOf, prevHashes, hashes}));
        })
        .mapEmpty();
  }
}
