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
}
