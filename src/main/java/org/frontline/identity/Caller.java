package org.frontline.identity;

import io.vertx.ext.web.RoutingContext;

import java.util.List;
import java.util.UUID;

/**
 * The authenticated caller of a request, as {@link BearerAuthHandler} found it: roles and scope are read from the
 * account at request time, so a token never grants more than the account holds now.
 */
public record Caller(UUID accountId, List<String> roles, List<UUID> scopeUnitIds) {
  private static final String KEY = "frontline.caller";

  public Caller {
    roles = List.copyOf(roles);
    scopeUnitIds = List.copyOf(scopeUnitIds);
  }

  public boolean hasRole(String role) {
    return roles.contains(role);
  }

  void attachTo(RoutingContext rc) {
    rc.put(KEY, this);
  }

  /** The caller of an operation that declares bearerAuth; never null there (the handler ran first). */
  public static Caller of(RoutingContext rc) {
    Caller caller = rc.get(KEY);
    if (caller == null) {
      throw new IllegalStateException("no authenticated caller: does the operation declare bearerAuth?");
    }
    return caller;
  }
}
