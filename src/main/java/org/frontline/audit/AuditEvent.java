package org.frontline.audit;

import io.vertx.core.json.JsonObject;

import java.util.UUID;

/**
 * One thing that happened, for the audit log: who (actor), did what (action, e.g. "auth.login.failed",
 * "org-unit.move"), to which object, in which unit (for scoping reads of the log), from where, with what outcome.
 *
 * @param actorId      the account or partner client acting; null when unknown (e.g. a failed login of no account)
 * @param actorLabel   a readable name of the actor: username, client id, "anonymous", "system"
 * @param objectType   e.g. "account", "org-unit", "signing-key", "refresh-token-family"; may be null
 * @param objectId     id of that object; may be null
 * @param unitId       the org unit the object belongs to, so admins read only entries in their scope; may be null
 * @param details      small, non-secret facts (never passwords or tokens); may be null
 */
public record AuditEvent(UUID actorId, String actorLabel, String action, String objectType, String objectId,
                         UUID unitId, String clientAddress, String requestId, Outcome outcome, JsonObject details) {

  public enum Outcome { SUCCESS, FAILURE, DENIED }
}
