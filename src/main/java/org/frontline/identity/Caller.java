package org.frontline.identity;

import io.vertx.ext.web.RoutingContext;

import java.util.List;
import java.util.UUID;

/**
 * The authenticated caller of a request, as {@link BearerAuthHandler} found it: roles and scope are read from the
 * account at request time, so a token never grants more than the account holds now.
 *
 * <p>A partner system (OAuth client) is a caller too: {@code accountId} is then the client id, {@code roles} are
 * its granted OAuth scopes prefixed {@link #PARTNER_ROLE_PREFIX} (so {@link AccessRules} names them like roles and
 * no person's rule ever admits a partner), {@code scopeUnitIds} its granted unit subtrees (so {@link Scope} applies
 * unchanged), and {@code client} what else the grant limits (report types).
 */
public record Caller(UUID accountId, List<String> roles, List<UUID> scopeUnitIds, ClientGrant client) {
  private static final String KEY = "frontline.caller";
  /** A partner's OAuth scope {@code events:read} is the role {@code partner:events:read}. */
  public static final String PARTNER_ROLE_PREFIX = "partner:";

  /** What a partner client's grant adds to its units: the report types it may see. */
  public record ClientGrant(List<String> reportTypes) {
    public ClientGrant {
      reportTypes = List.copyOf(reportTypes);
    }
  }

  public Caller {
    roles = List.copyOf(roles);
    scopeUnitIds = List.copyOf(scopeUnitIds);
  }

  /** A person (an account). */
  public Caller(UUID accountId, List<String> roles, List<UUID> scopeUnitIds) {
    this(accountId, roles, scopeUnitIds, null);
  }

  /** True for a partner system (an OAuth client), false for a person. */
  public boolean isPartner() {
    return client != null;
  }

  public boolean hasRole(String role) {
    return roles.contains(role);
  }

  void attachTo(RoutingContext rc) {
    rc.put(KEY, this);
  }

  private static final String SESSION_KEY = "frontline.session";

  /** Attaches the session (the access token's {@code sid}) the caller's request was made in; null: none named. */
  static void attachSession(RoutingContext rc, UUID session) {
    rc.put(SESSION_KEY, session);
  }

  /** The session the request was made in (the access token's {@code sid}); null when the token names none. */
  public static UUID session(RoutingContext rc) {
    return rc.get(SESSION_KEY);
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
