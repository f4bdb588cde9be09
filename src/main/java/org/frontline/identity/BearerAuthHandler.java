package org.frontline.identity;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemType;
import org.frontline.platform.http.Problems;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Authenticates an operation that declares {@code bearerAuth}: verifies the access token, then loads the account
 * (a disabled or deleted account is rejected at once, whatever its tokens say) and attaches the {@link Caller}.
 * Every rejection is the same 401 problem; the reason goes to the log only.
 */
public final class BearerAuthHandler implements Handler<RoutingContext> {
  private static final Logger log = LoggerFactory.getLogger(BearerAuthHandler.class);
  private static final String INVALID = "The access token is invalid or expired.";

  private final TokenService tokens;
  private final IdentityRepository repository;

  public BearerAuthHandler(TokenService tokens, IdentityRepository repository) {
    this.tokens = tokens;
    this.repository = repository;
  }

  @Override
  public void handle(RoutingContext rc) {
    String authorization = rc.request().getHeader("Authorization");
    if (authorization == null || authorization.isBlank()) {
      // RFC 6750 section 3.1: no error code when the request carried no credentials at all.
      rc.fail(Problem.of(ProblemType.UNAUTHORIZED, "A bearer access token is required.")
          .withHeader("WWW-Authenticate", "Bearer").toException());
      return;
    }
    if (authorization.length() < 8 || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      rc.fail(Problems.unauthorized("Send the access token as 'Authorization: Bearer <token>'.").toException());
      return;
    }
    tokens.verifyAsync(authorization.substring(7).trim()).onComplete(verified -> {
      if (verified.failed()) {
        if (verified.cause() instanceof TokenService.InvalidTokenException) {
          log.info("rejected access token on {} {}: {}", rc.request().method(), rc.request().path(),
              verified.cause().getMessage());
          rc.fail(Problems.unauthorized(INVALID).toException());
        } else {
          rc.fail(verified.cause());
        }
        return;
      }
      authenticate(rc, verified.result());
    });
  }

  private void authenticate(RoutingContext rc, TokenService.AccessToken token) {
    repository.accountById(token.accountId()).onComplete(ar -> {
      if (ar.failed()) {
        rc.fail(ar.cause());
      } else if (ar.result().isEmpty() || ar.result().get().disabled()) {
        log.info("rejected access token of {} account {}", ar.result().isEmpty() ? "unknown" : "disabled",
            token.accountId());
        rc.fail(Problems.unauthorized(INVALID).toException());
      } else {
        var account = ar.result().get();
        new Caller(account.id(), account.roles(), account.scope()).attachTo(rc);
        rc.next();
      }
    });
  }
}
