package org.frontline.identity;

import io.vertx.core.Future;

import java.util.Optional;

/**
 * Turns a verified partner-client access token into its {@link Caller}, from the client as it is now: a disabled
 * client is empty (401), a token refused for another reason (its credential removed) fails with a
 * {@link TokenService.InvalidTokenException} naming it (401), and the grant is what both the token and the client's
 * current grant allow. Implemented by the partners feature; {@link BearerAuthHandler} without one rejects every
 * client token.
 */
@FunctionalInterface
public interface ClientCallers {
  ClientCallers NONE = token -> Future.succeededFuture(Optional.empty());

  Future<Optional<Caller>> callerFor(TokenService.AccessToken token);
}
