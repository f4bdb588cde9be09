package org.frontline.platform.http;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.healthchecks.HealthChecks;
import io.vertx.ext.healthchecks.Status;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.healthchecks.HealthCheckHandler;
import io.vertx.micrometer.PrometheusScrapingHandler;
import io.vertx.core.json.JsonObject;

import java.time.Duration;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The management port, kept off the public API: liveness (the process answers), readiness (each dependency
 * answers, reported separately, 503 naming the one that does not) and Prometheus metrics.
 */
public final class ManagementVerticle extends VerticleBase {
  private static final Duration CHECK_TIMEOUT = Duration.ofSeconds(3);

  private final String host;
  private final int port;
  private final PrometheusMeterRegistry registry;
  private final Map<String, Supplier<Future<Void>>> readinessChecks;
  private final Map<String, io.vertx.core.Handler<io.vertx.ext.web.RoutingContext>> extraGets;
  private HttpServer server;

  public ManagementVerticle(String host, int port, PrometheusMeterRegistry registry,
                            Map<String, Supplier<Future<Void>>> readinessChecks) {
    this(host, port, registry, readinessChecks, Map.of());
  }

  /**
   * @param readinessChecks dependency name (e.g. "database", "object-store") to a check that fails when it is down
   * @param extraGets       further GET routes by path (dev mode's views; none in production)
   */
  public ManagementVerticle(String host, int port, PrometheusMeterRegistry registry,
                            Map<String, Supplier<Future<Void>>> readinessChecks,
                            Map<String, io.vertx.core.Handler<io.vertx.ext.web.RoutingContext>> extraGets) {
    this.host = host;
    this.port = port;
    this.registry = registry;
    this.readinessChecks = readinessChecks;
    this.extraGets = Map.copyOf(extraGets);
  }


  @Override
  public Future<?> start() {
    HealthChecks ready = HealthChecks.create(vertx);
    // A check that does not answer in time is DOWN like one that fails (503): the health checks' own timeout
    // (later, as a backstop) would answer 500, "procedure-execution-failure".
    readinessChecks.forEach((name, check) -> ready.register(name, CHECK_TIMEOUT.toMillis() + 1_000,
        promise -> check.get().timeout(CHECK_TIMEOUT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
            .onComplete(ar -> promise.complete(ar.succeeded() ? Status.OK()
                : Status.KO(new JsonObject().put("error", ar.cause() instanceof java.util.concurrent.TimeoutException
                    ? "no answer within " + CHECK_TIMEOUT.toSeconds() + " s"
                    : String.valueOf(ar.cause().getMessage())))))));
    Router router = Router.router(vertx);
    router.get("/health/live").handler(rc -> rc.response()
        .putHeader("Content-Type", "application/json").end("{\"status\":\"UP\"}"));
    router.get("/health/ready").handler(HealthCheckHandler.createWithHealthChecks(ready));
    router.get("/metrics").handler(PrometheusScrapingHandler.create(registry));
    extraGets.forEach((path, handler) -> router.get(path).handler(handler));
    // No h2c: with it (Vert.x's default) the HTTP/1.1 handler of a connection is set up only once its first bytes
    // arrive, so a probe that connected while the server was binding (before Vert.x had created the server's
    // metrics) had no connection metric but request metrics, and its request hit a NullPointerException in the
    // Micrometer metrics: never answered (ManagementStartTest). The API server has no h2c either.
    return vertx.createHttpServer(new HttpServerOptions().setHttp2ClearTextEnabled(false))
        .requestHandler(router).listen(port, host)
        .recover(e -> Future.failedFuture(ApiVerticle.cannotListen(org.frontline.config.Setting.MANAGEMENT_HOST,
            org.frontline.config.Setting.MANAGEMENT_PORT, host, port, e)))
        .onSuccess(s -> server = s);
  }

  @Override
  public Future<?> stop() {
    return server == null ? Future.succeededFuture() : server.close();
  }

  public int actualPort() {
    return server.actualPort();
  }
}
