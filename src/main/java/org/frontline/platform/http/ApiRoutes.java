package org.frontline.platform.http;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.openapi.router.RouterBuilder;
import io.vertx.openapi.validation.RequestParameter;
import io.vertx.openapi.validation.ValidatedRequest;

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
   * What may answer a refused request of an operation instead of its problem, by operationId: called when the
   * request was refused with a 400 or 422 problem (by the contract's validation or by the operation's handler).
   */
  default Map<String, RefusalAnswer> refusalAnswers() {
    return Map.of();
  }

  /** See {@link #refusalAnswers}. */
  @FunctionalInterface
  interface RefusalAnswer {
    /**
     * True once it has answered the request itself; false lets the refusal be answered. A failure is answered as
     * its own problem (a 503 when the database is down), not as the refusal it could not judge.
     */
    Future<Boolean> answer(RoutingContext rc);
  }

  /**
   * Routes the feature serves itself, ahead of the contract's root handlers (request ids, timeout, the body held back)
   * and its validator: for streamed bodies and protocols the validator cannot describe (tus). Such routes must add
   * their own request ids, authentication and problem handler; their paths are marked
   * {@code x-frontline-raw-route: true} in the contract, which documents them but does not route them.
   */
  default void mountRaw(io.vertx.ext.web.Router router) {
  }

  /**
   * A boolean query parameter as the contract's validation read it, null when absent. The validation reads the value
   * as JSON, so {@code %20true} passes as true; comparing the raw value with "true" again took it for false.
   */
  static Boolean queryBoolean(RoutingContext rc, String name) {
    ValidatedRequest validated = rc.get(RouterBuilder.KEY_META_DATA_VALIDATED_REQUEST);
    RequestParameter value = validated.getQuery().get(name);
    return value == null || value.isNull() ? null : value.getBoolean();
  }
}
