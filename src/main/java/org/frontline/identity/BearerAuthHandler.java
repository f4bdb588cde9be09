package org.frontline.identity;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import org.frontline.audit.AuditEvent;
import org.frontline.audit.AuditLog;
import org.frontline.platform.http.PerOperationSecurity;
import org.frontline.platform.http.RequestIds;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemType;
import org.frontline.platform.http.Problems;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Optional;
import java.util.Set;

/**
 * Authenticates an operation that declares {@code bearerAuth}: verifies the access token, then loads the account
 * (a disabled or deleted account is rejected at once, whatever its tokens say, and so is a token issued before a
 * password reset or a disable ended the account's sessions, or one of a session ended since: {@link EndedSessions};
 * a partner token through {@link ClientCallers}, refused once its client is disabled or its credential removed)
 * and attaches the {@link Caller}.
 * Every rejection is the same 401 problem; the reason goes to the log only. Per operation ({@link #forOperation}),
 * it then enforces the roles {@link AccessRules} requires: 403 forbidden when the caller holds none of them, and
 * also when an organisation-wide operation ({@link AccessRules#organisationWide}) is called by a caller whose scope
 * covers no root unit.
 */
public final class BearerAuthHandler implements PerOperationSecurity {
  private static final Logger log = LoggerFactory.getLogger(BearerAuthHandler.class);
  /** The detail of every 401 for a refused access token (whatever the reason, which goes to the log only). */
  public static final String INVALID = "The access token is invalid or expired.";
  /** The reason on record for a token of a session ended since (a logout, a reuse), wherever it is found ended. */
  public static final String SESSION_ENDED = "session ended";

  private final TokenService tokens;
  private final IdentityRepository repository;
  private final ClientCallers clients;
  private final RefusalAudit refusals;

  /** Without partner clients; every refused token audited (tests). */
  public BearerAuthHandler(TokenService tokens, IdentityRepository repository, AuditLog audit) {
    this(tokens, repository, audit, ClientCallers.NONE,
        RefusalAudit.everyRefusal(repository == null ? null : repository.database().pool(), audit));
  }

  /**
   * With partner clients: their tokens are resolved by {@code clients} (the client must still be enabled). Refused
   * tokens go on record through {@code refusals} (shared by every handler of the process: one window per address).
   */
  public BearerAuthHandler(TokenService tokens, IdentityRepository repository, AuditLog audit, ClientCallers clients,
                           RefusalAudit refusals) {
    this.tokens = tokens;
    this.repository = repository;
    this.clients = clients;
    this.refusals = refusals;
  }

  /** Authentication, then the operation's role rule; throws (refusing the start) when the rule is missing. */
  @Override
  public Handler<RoutingContext> forOperation(String operationId) {
    return withRule(operationId, AccessRules.rolesFor(operationId));
  }

  /**
   * Authentication, then the rule of people's operations open to any account ({@link AccessRules#ANY_AUTHENTICATED}),
   * for a raw route that has no operationId (tus): a partner client's token is 403 there, as on every people's
   * endpoint. {@code route} names it in the log and the audit entry of a refusal.
   */
  public Handler<RoutingContext> forAnyAccount(String route) {
    return withRule(route, AccessRules.ANY_AUTHENTICATED);
  }

  private Handler<RoutingContext> withRule(String operationId, Set<String> roles) {
    boolean organisationWide = AccessRules.organisationWide(operationId);
    return rc -> authenticate(rc, caller -> {
      if (!AccessRules.allows(roles, caller)) {
        // An empty rule is "any account": only a partner client is refused it, and no role would help.
        deny(rc, caller, operationId, roles.isEmpty() ? "people-only" : "role-not-held", roles.isEmpty()
            ? "This operation is for people's accounts; a partner client's token cannot call it."
            : "This operation needs one of the roles " + roles + ".");
      } else if (organisationWide) {
        // Read now, not from the token: the account's scope may have changed since login.
        repository.coversRoot(caller.scopeUnitIds()).onComplete(covers -> {
          if (covers.failed()) {
            rc.fail(covers.cause());
          } else if (covers.result()) {
            rc.next();
          } else {
            deny(rc, caller, operationId, "scope-not-organisation-wide", "This operation acts on the whole "
                + "organisation: only an administrator whose scope covers its root unit may call it.");
          }
        });
      } else {
        rc.next();
      }
    });
  }

  /**
   * The one 403 for a caller not allowed an operation, put on record first ({@code reason}: one of a fixed set): audited,
   * or counted into the summary entry of that account, operation and reason when one was audited within the interval
   * ({@link RefusalAudit}: any account can repeat a forbidden call at line rate).
   */
  private void deny(RoutingContext rc, Caller caller, String operationId, String reason, String detail) {
    refusals.refused(new AuditEvent(caller.accountId(), caller.accountId().toString(), "access.denied", "operation",
            operationId, null, clientAddress(rc), RequestIds.of(rc), AuditEvent.Outcome.DENIED, null), reason)
        .onComplete(recorded -> {
          // Answer once the attempt is on record (a failure to record is logged, never hidden from the caller).
          if (recorded.failed()) {
            log.warn("cannot audit a denied {}: {}", operationId, recorded.cause().toString());
          }
          rc.fail(Problem.of(ProblemType.FORBIDDEN, detail).toException());
        });
  }

  /** Authentication only (no role rule). */
  @Override
  public void handle(RoutingContext rc) {
    authenticate(rc, caller -> rc.next());
  }

  private void authenticate(RoutingContext rc, Handler<Caller> then) {
    String authorization = rc.request().getHeader("Authorization");
    if (authorization == null || authorization.isBlank()) {
      // RFC 6750 section 3.1: no error code when the request carried no credentials at all.
      rc.fail(Problem.of(ProblemType.UNAUTHORIZED, "A bearer access token is required.")
          .withHeader("WWW-Authenticate", "Bearer").toException());
      return;
    }
    if (rc.request().headers().getAll("Authorization").size() > 1) {
      // Which one counts would depend on who reads the request (a proxy, a log, us): refuse the ambiguity.
      reject(rc, null, "more than one Authorization header");
      return;
    }
    if (authorization.length() < 8 || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      rc.fail(Problems.unauthorized("Send the access token as 'Authorization: Bearer <token>'.").toException());
      return;
    }
    tokens.verifyAsync(authorization.substring(7).trim()).onComplete(verified -> {
      if (verified.failed()) {
        rejectOrFail(rc, null, verified.cause());
        return;
      }
      authenticate(rc, verified.result(), then);
    });
  }

  /** A token found invalid is the one 401; anything else (a bug, the database down) is the failure handler's. */
  private void rejectOrFail(RoutingContext rc, java.util.UUID accountId, Throwable failure) {
    if (failure instanceof TokenService.InvalidTokenException) {
      reject(rc, accountId, failure.getMessage());
    } else {
      rc.fail(failure);
    }
  }

  private void authenticate(RoutingContext rc, TokenService.AccessToken token, Handler<Caller> then) {
    if (token.client() != null) {
      clients.callerFor(token).onComplete(ar -> {
        if (ar.failed()) {
          rejectOrFail(rc, token.accountId(), ar.cause());
        } else if (ar.result().isEmpty()) {
          reject(rc, token.accountId(), "unknown or disabled client");
        } else {
          ar.result().get().attachTo(rc);
          then.handle(ar.result().get());
        }
      });
      return;
    }
    Future<Optional<AccountCache.CallerAccount>> read = repository.callerAccount(token.accountId());
    Future<Boolean> sessionEnded = repository.sessionEnded(token.sessionId());
    Future.all(read, sessionEnded).onComplete(ar -> {
      if (ar.failed()) {
        rc.fail(ar.cause());
        return;
      }
      Optional<AccountCache.CallerAccount> account = read.result();
      if (account.isEmpty() || account.get().disabled()) {
        reject(rc, token.accountId(), account.isEmpty() ? "unknown account" : "account disabled");
      } else if (account.get().endedSessionOf(token.issuedAt())) {
        // A password reset or a disable since: the session this token belongs to has ended, whoever holds it.
        reject(rc, token.accountId(), "issued before the account's sessions were ended");
      } else if (sessionEnded.result()) {
        // Its refresh-token family was revoked since (a logout, a reuse): this session's tokens end with it.
        reject(rc, token.accountId(), SESSION_ENDED);
      } else {
        Caller caller = new Caller(account.get().id(), account.get().roles(), account.get().scope());
        caller.attachTo(rc);
        Caller.attachSession(rc, token.sessionId());
        then.handle(caller);
      }
    });
  }

  private static String clientAddress(RoutingContext rc) {
    return rc.request().remoteAddress() == null ? null : rc.request().remoteAddress().hostAddress();
  }

  private static String truncate(String s, int max) {
    return s == null || s.length() <= max ? s : s.substring(0, max);
  }

  private void reject(RoutingContext rc, java.util.UUID accountId, String reason) {
    reject(refusals, rc, accountId, reason);
  }

  /**
   * The one 401 for a bad token, put on record (the reason names the rule broken, never the token) first: audited,
   * or counted into the summary entry of its address and reason when one of those was audited within the interval
   * ({@link RefusalAudit}: anyone can send refused tokens at line rate). Also for a token found bad after
   * authentication let its request through (DevicesApi: its session ended meanwhile), so that refusal is on record
   * as this handler's own are.
   */
  public static void reject(RefusalAudit refusals, RoutingContext rc, java.util.UUID accountId, String reason) {
    refusals.refused(new AuditEvent(accountId,
            accountId == null ? "anonymous" : accountId.toString(), "auth.token.rejected", null, null, null,
            clientAddress(rc), RequestIds.of(rc), AuditEvent.Outcome.DENIED,
            new io.vertx.core.json.JsonObject().put("operation", truncate(rc.request().method() + " "
                + rc.request().path(), 300))), truncate(reason, 200))
        .onComplete(recorded -> {
          if (recorded.failed()) {
            log.warn("cannot audit a rejected token: {}", recorded.cause().toString());
          }
          rc.fail(Problems.unauthorized(INVALID).toException());
        });
  }
}
