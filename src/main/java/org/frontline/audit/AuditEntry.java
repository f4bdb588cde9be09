package org.frontline.audit;

import io.vertx.core.json.JsonObject;
import org.frontline.platform.http.ExactNumbers;

import java.io.IOException;
import java.time.Instant;
import java.util.UUID;

/**
 * One stored entry of the audit log, as written and as read back: the content of an {@link AuditEvent} plus its
 * place in the chain (seq, time, the unit's path at that time, prev_hash) and its own hash.
 *
 * @param at              microsecond precision (PostgreSQL timestamptz)
 * @param unitPath        the org unit's materialized path when the entry was written, or null
 * @param details         null or a JSON object of JSON-native values (numbers read back exactly, see fromColumns)
 * @param hash            null until computed
 * @param detailsReadable false when the stored details are not a JSON object (no writer stores that: the row was
 *                        changed); {@code details} is then null and the verifier names the entry
 */
public record AuditEntry(long seq, Instant at, UUID actorId, String actorLabel, String action, String objectType,
                         String objectId, UUID unitId, String unitPath, String clientAddress, String requestId,
                         String outcome, JsonObject details, byte[] prevHash, byte[] hash, boolean detailsReadable) {

  public AuditEntry(long seq, Instant at, UUID actorId, String actorLabel, String action, String objectType,
                    String objectId, UUID unitId, String unitPath, String clientAddress, String requestId,
                    String outcome, JsonObject details, byte[] prevHash, byte[] hash) {
    this(seq, at, actorId, actorLabel, action, objectType, objectId, unitId, unitPath, clientAddress, requestId,
        outcome, details, prevHash, hash, true);
  }

  public AuditEntry withHash(byte[] newHash) {
    return new AuditEntry(seq, at, actorId, actorLabel, action, objectType, objectId, unitId, unitPath,
        clientAddress, requestId, outcome, details, prevHash, newHash, detailsReadable);
  }

  /** The columns {@link #fromColumns} expects, in this order (details as text, so both drivers read it alike). */
  static final String COLUMNS = "seq, at, actor_id, actor_label, action, object_type, object_id, unit_id, unit_path, "
      + "client_address, request_id, outcome, details::text AS details, prev_hash, hash";

  /**
   * An entry from its stored columns. The details are read with every number as its exact stored decimal (a double
   * would take 1.50000000000000000001 for 1.5, and an edited number would hash as the original), and a value that
   * is not a JSON object is kept as unreadable rather than thrown on (it would stop the verification with a 500).
   */
  static AuditEntry fromColumns(long seq, Instant at, UUID actorId, String actorLabel, String action,
                                String objectType, String objectId, UUID unitId, String unitPath,
                                String clientAddress, String requestId, String outcome, String detailsText,
                                byte[] prevHash, byte[] hash) {
    Object parsed;
    try {
      parsed = detailsText == null ? null : ExactNumbers.value(detailsText);
    } catch (IOException e) {
      parsed = null; // PostgreSQL wrote it from a jsonb: not reached
    }
    JsonObject details = parsed instanceof JsonObject object ? object : null;
    return new AuditEntry(seq, at, actorId, actorLabel, action, objectType, objectId, unitId, unitPath,
        clientAddress, requestId, outcome, details, prevHash, hash, detailsText == null || details != null);
  }
}
