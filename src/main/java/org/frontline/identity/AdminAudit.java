package org.frontline.identity;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import org.frontline.audit.AuditEvent;
import org.frontline.audit.AuditLog;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
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

  /** One successful action of an actor, for {@link #successes}. */
  public record Action(Actor actor, String action, String objectType, UUID objectId, UUID unitId,
                       JsonObject details) {}

  /** Several actions in one append to the chain (one lock, one read of the actors' names). */
  public Future<Void> successes(SqlConnection conn, List<Action> actions) {
    UUID[] accounts = actions.stream().map(a -> a.actor().accountId()).filter(Objects::nonNull).distinct()
        .toArray(UUID[]::new);
    return conn.preparedQuery("SELECT id, username FROM account WHERE id = ANY ($1)").execute(Tuple.of(accounts))
        .compose(rows -> {
          Map<UUID, String> names = new HashMap<>();
          rows.forEach(r -> names.put(r.getUUID(0), r.getString(1)));
          List<AuditEvent> events = new ArrayList<>(actions.size());
          for (Action a : actions) {
            Actor actor = a.actor();
            String name = actor.isSystem() ? "system"
                : names.getOrDefault(actor.accountId(), actor.accountId().toString());
            events.add(new AuditEvent(actor.accountId(), name, a.action(), a.objectType(),
                a.objectId() == null ? null : a.objectId().toString(), a.unitId(), actor.clientAddress(),
                actor.requestId(), AuditEvent.Outcome.SUCCESS, a.details()));
          }
          return log.recordAll(conn, events);
        });
  }
}
