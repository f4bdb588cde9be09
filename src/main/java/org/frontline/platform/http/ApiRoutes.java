package org.frontline.platform.http;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;

import java.util.Map;

/** A feature's contribution to the API: a handler for each of its contract operations, by operationId. */
public interface ApiRoutes {
  Map<String, Handler<RoutingContext>> handlers();

  /**
   * Handlers for contract security schemes, by scheme name (e.g. "bearerAuth"). The router runs the scheme's
   * handler before the operation handler of every operation whose contract declares that scheme.
   */
  default Map<String, Handler<RoutingContext>> securityHandlers() {
    return Map.of();
  }

  /**
   * Routes the feature serves itself, ahead of the contract's root handlers (request ids, timeout, the body held back)
   * and its validator: for streamed bodies and protocols the validator cannot describe (tus). Such routes must add
   * their own request ids, authentication and problem handler; their paths are marked
   * {@code x-frontline-raw-route: true} in the contract, which documents them but does not route them.
   */
  default void mountRaw(io.vertx.ext.web.Router router) {
  }
}
