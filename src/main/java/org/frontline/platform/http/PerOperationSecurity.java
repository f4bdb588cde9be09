package org.frontline.platform.http;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;

/**
 * A security-scheme handler that specialises itself for each operation when the router is built, e.g. to enforce
 * the roles an operation needs after authenticating. {@link #forOperation} may throw to refuse the start (an
 * operation it has no rule for).
 */
public interface PerOperationSecurity extends Handler<RoutingContext> {
  Handler<RoutingContext> forOperation(String operationId);
}
