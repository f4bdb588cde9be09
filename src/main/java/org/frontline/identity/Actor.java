package org.frontline.identity;

import io.vertx.core.Future;
import io.vertx.ext.web.RoutingContext;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import org.frontline.platform.http.RequestIds;

import java.util.UUID;

/**
 * Who acts, for the admin services: an authenticated caller (with where the request came from, for the audit
 * log), or the system itself (dev-mode seeding), whose scope is every unit.
 */
public record Actor(Caller caller, String clientAddress, String requestId) {

  public static Actor of(RoutingContext rc) {
    var remote = rc.request().remoteAddress();
    return new Actor(Caller.of(rc), remote == null ? null : remote.hostAddress(), RequestIds.of(rc));
  }

  public static Actor system() {
    return new Actor(null, null, null);
  }

  public boolean isSystem() {
    return caller == null;
  }

  /** The account acting, or null for the system. */
  public UUID accountId() {
    return caller == null ? null : caller.accountId();
  }

  /** The actor's scope, read with the given client (inside the transaction of a write). */
  public Future<Scope> scope(SqlClient client) {
    return isSystem() ? Future.succeededFuture(Scope.everything()) : Scope.of(client, caller);
  }

  /**
   * The actor's scope for a write on the row {@code id} of {@code table}, read once that row is locked (FOR UPDATE,
   * by key, in a statement of its own), so the row is judged against the tree as it is then: a lock taken in the
   * statement that joins the row's unit and checks the scope re-checks, after a wait, against the unit's row as it
   * first read it, and a scope read before the lock misses a move committed during the wait (docs/NOTES.md,
   * PostgreSQL).
   */
  public Future<Scope> scopeAfterLocking(SqlClient conn, String table, Object id) {
    return conn.preparedQuery("SELECT 1 FROM " + table + " WHERE id = $1 FOR UPDATE").execute(Tuple.of(id))
        .compose(locked -> scope(conn));
  }
}
