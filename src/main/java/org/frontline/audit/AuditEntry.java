package org.frontline.audit;

import io.vertx.core.json.JsonObject;

import java.time.Instant;
import java.util.UUID;

/**
 * One stored entry of the audit log, as written and as read back: the content of an {@link AuditEvent} plus its
 * place in the chain (seq, time, the unit's path at that time, prev_hash) and its own hash.
 *
 * @param at        microsecond precision (PostgreSQL timestamptz)
 * @param unitPath  the org unit's materialized path when the entry was written, or null
 * @param details   null or a JSON object of JSON-native values
 * @param hash      null until computed
 */
public record AuditEntry(long seq, Instant at, UUID actorId, String actorLabel, String action, String objectType,
                         String objectId, UUID unitId, String unitPath, String clientAddress, String requestId,
                         String outcome, JsonObject details, byte[] prevHash, byte[] hash) {

  public AuditEntry withHash(byte[] newHash) {
    return new AuditEntry(seq, at, actorId, actorLabel, action, objectType, objectId, unitId, unitPath,
        clientAddress, requestId, outcome, details, prevHash, newHash);
  }

  /** The columns {@link #fromColumns} expects, in this order (details as text, so both drivers read it alike). */
  static final String COLUMNS = "seq, at, actor_id, actor_label, action, object_type, object_id, unit_id, unit_path, "
      + "client_address, request_id, outcome, details::text AS details, prev_hash, hash";

  static AuditEntry fromColumns(long seq, Instant at, UUID actorId, String actorLabel, String action,
                                String objectType, String objectId, UUID unitId, String unitPath,
                                String clientAddress, String requestId, String outcome, String detailsText,
                                byte[] prevHash, byte[] hash) {
    return new AuditEntry(seq, at, actorId, actorLabel, action, objectType, objectId, unitId, unitPath,
        clientAddress, requestId, outcome, detailsText == null ? null : new JsonObject(detailsText), prevHash, hash);
  }
}
