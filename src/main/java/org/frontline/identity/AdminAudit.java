package org.frontline.identity;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import org.frontline.audit.AuditEvent;
import org.frontline.audit.AuditLog;

import java.util.UUID;

/** Records an admin action in the audit log with the transaction's connection, so it commits with the change. */
public final class AdminAudit {
  private final AuditLog log;

  public AdminAudit(AuditLog log) {
    this.log = log;
  }

  public Future<Void> success(SqlClient conn, Actor actor, String action, String objectType, UUID objectId,
                              UUID unitId, JsonObject details) {
    Future<String> label = actor.isSystem() ? Future.succeededFuture("system")
        : conn.preparedQuery("SELECT username FROM account WHERE id = $1").execute(Tuple.of(actor.accountId()))
            .map(rows -> rows.size() == 0 ? actor.accountId().toString() : rows.iterator().next().getString(0));
    return label.compose(name -> log.record(conn, new AuditEvent(actor.accountId(), name, action, objectType,
        objectId == null ? null : objectId.toString(), unitId, actor.clientAddress(), actor.requestId(),
        AuditEvent.Outcome.SUCCESS, details)));
  }
}
