package org.frontline.platform.http;

import io.vertx.ext.web.handler.PlatformHandler;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import io.vertx.ext.web.RoutingContext;

import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Gives every request an id: the caller's {@code X-Request-Id} when it is sane, otherwise a new UUID. The id is
 * echoed in the response and kept in the request's (duplicated) Vert.x context, so every log line written while
 * serving that request, on the event loop or on a worker, carries it (see {@link RequestIdConverter}).
 */
public final class RequestIds implements PlatformHandler {
  public static final String HEADER = "X-Request-Id";
  private static final String KEY = "frontline.requestId";
  private static final Pattern SANE = Pattern.compile("[A-Za-z0-9._:-]{1,128}");

  @Override
  public void handle(RoutingContext rc) {
    String id = idFor(rc.request().getHeader(HEADER));
    rc.put(KEY, id);
    if (Vertx.currentContext() instanceof ContextInternal ctx) {
      ctx.localContextData().put(KEY, id);
    }
    rc.response().putHeader(HEADER, id);
    rc.next();
  }

  /** The caller's id when it is sane, otherwise a new one. */
  static String idFor(String given) {
    return given != null && SANE.matcher(given).matches() ? given : UUID.randomUUID().toString();
  }

  public static String of(RoutingContext rc) {
    return rc.get(KEY);
  }

  /** The request id of the request being served on the current thread, or null. */
  public static String current() {
    return Vertx.currentContext() instanceof ContextInternal ctx && ctx.isDuplicate()
        ? (String) ctx.localContextData().get(KEY) : null;
  }
}
