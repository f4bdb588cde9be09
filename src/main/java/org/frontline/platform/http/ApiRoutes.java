package org.frontline.platform.http;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;

import java.util.Map;

/** A feature's contribution to the API: a handler for each of its contract operations, by operationId. */
public interface ApiRoutes {
  Map<String, Handler<RoutingContext>> handlers();
}
