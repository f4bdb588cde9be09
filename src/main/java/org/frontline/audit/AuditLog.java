package org.frontline.audit;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;

import java.util.List;
import java.util.UUID;

/**
 * The append-only, hash-chained audit log. {@code record} writes with the given client, so an entry written with a
 * transaction's connection commits or rolls back with the change it describes; with a pool (or a connection outside
 * a transaction) the entry is written in a transaction of its own (one statement), and stays even when the request
 * then fails (a failed login answers 401, its entry is kept).
 *
 * <p>Appends are serialised by the database function {@code audit_append} (V94, V148), one statement: it takes a
 * transaction-scoped advisory lock on {@link #LOCK_KEY}, then reads the chain's head, the last entry appended (with a
 * snapshot taken once the lock is held, so it sees every entry committed before), hashes the new entries as
 * {@link AuditChain} defines and inserts them from seq + 1. The lock is held until the writing transaction ends, so
 * concurrent writers form one gap-free chain. Keep transactions that record short, and record last.
 *
 * <p>The head (V148, table {@code audit_head}) is moved to the newest committed entry every {@link #HEAD_INTERVAL}
 * by {@link #checkpoint} (each process runs it), not by every append: one row updated under the chain's lock by
 * every group of reports cost the report path a sixth of its rate. The verifier names a tail deleted up to the head.
 */
public final class AuditLog {
  /** The advisory lock key that serialises appends ("FLAUDIT\0" as a bigint), taken by {@code audit_append}. */
  public static final long LOCK_KEY = 0x464C415544495400L;
  /** How often each process moves the chain's head forward ({@link #checkpoint}). */
  public static final java.time.Duration HEAD_INTERVAL = java.time.Duration.ofSeconds(1);

  /** Moves the chain's head to the newest committed entry (forward only; V148 audit_checkpoint). */
  public static Future<Void> checkpoint(SqlClient client) {
    return client.query("SELECT audit_checkpoint()").execute().mapEmpty();
  }

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
    // In a transaction, the entries commit with it; otherwise the one statement is a transaction of its own.
    return client.preparedQuery(APPEND).execute(appendArguments(events)).mapEmpty();
  }

  /**
   * The call that appends entries (the database function {@code audit_append}, V94): the chain's lock, the read of
   * the last entry, the hashing and the insert in one statement, so the lock is not held across a round trip. Its
   * ten arguments are those of {@link #appendArguments}.
   */
  public static final String APPEND = "SELECT audit_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

  /** The arguments of {@link #APPEND} for these events, in this order. */
  public static Tuple appendArguments(List<AuditEvent> events) {
    int n = events.size();
    UUID[] actorIds = new UUID[n], unitIds = new UUID[n];
    String[] actorLabels = new String[n], actions = new String[n], objectTypes = new String[n],
        objectIds = new String[n], clients = new String[n], requestIds = new String[n], outcomes = new String[n],
        details = new String[n];
    for (int i = 0; i < n; i++) {
      AuditEvent event = events.get(i);
      actorIds[i] = event.actorId();
      actorLabels[i] = event.actorLabel() == null ? "anonymous" : event.actorLabel();
      actions[i] = event.action();
      objectTypes[i] = event.objectType();
      objectIds[i] = event.objectId();
      unitIds[i] = event.unitId();
      clients[i] = event.clientAddress();
      requestIds[i] = event.requestId();
      outcomes[i] = event.outcome().name();
      // What is hashed is this text, and the jsonb column is parsed from it: a reader gets back the same value.
      // (Round-tripped through JSON text first, so values JSON has no type for are hashed as a reader gets them.)
      details[i] = event.details() == null ? null
          : AuditChain.canonicalJson(new JsonObject(event.details().encode()));
    }
    return Tuple.from(new Object[] {actorIds, actorLabels, actions, objectTypes, objectIds, unitIds, clients,
        requestIds, outcomes, details});
  }
}
