package org.frontline.identity;

import io.vertx.core.Future;
import io.vertx.ext.web.RoutingContext;
import io.vertx.sqlclient.SqlClient;
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
}
