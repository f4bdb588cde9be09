package org.frontline.platform.http;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.Handler;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.TimeoutHandler;
import io.vertx.ext.web.openapi.router.OpenAPIRoute;
import io.vertx.ext.web.openapi.router.RequestExtractor;
import io.vertx.ext.web.openapi.router.RouterBuilder;
import io.vertx.openapi.contract.OpenAPIContract;
import io.vertx.openapi.validation.impl.RequestValidatorImpl;
import io.vertx.openapi.impl.Utils;
import org.frontline.config.FrontlineConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The public API server. Its router is built from the contract, which validates every request before a handler
 * sees it; each operationId maps to exactly one handler. Several instances share the port, one per event loop.
 */
public final class ApiVerticle extends VerticleBase {
  private static final Logger log = LoggerFactory.getLogger(ApiVerticle.class);
  /** Classpath location of the contract (inside the jar). */
  public static final String CONTRACT = "api-spec/openapi.yaml";

  private final String contractPath;
  private final FrontlineConfig.Http http;
  private final List<ApiRoutes> features;
  private HttpServer server;

  public ApiVerticle(FrontlineConfig.Http http, List<ApiRoutes> features) {
    this(CONTRACT, http, features);
  }

  /**
   * The contract the service was built with: read from the classpath only. Vert.x's file system would look in the
   * working directory first, so a server started from a checkout (or any folder holding an api-spec/openapi.yaml)
   * would route by that file instead of its own.
   */
  public static Future<Buffer> readContract(Vertx vertx, String path) {
    return vertx.executeBlocking(() -> {
      ClassLoader loader = ApiVerticle.class.getClassLoader();
      try (var in = loader.getResourceAsStream(path)) {
        if (in == null) {
          throw new IllegalStateException("the contract " + path + " is not on the classpath");
        }
        return Buffer.buffer(in.readAllBytes());
      }
    }, false);
  }

  /** A contract as the service uses it: the file as served, the validator's contract, its bodies compiled. */
  public record LoadedContract(Buffer raw, OpenAPIContract contract, Map<String, CompiledSchema> compiledBodies) {}

  /** Reads the contract at {@code path} (see {@link #readContract}) and builds what validating requests needs. */
  public static Future<LoadedContract> loadContract(Vertx vertx, String path) {
    return readContract(vertx, path).compose(raw -> Utils.yamlStringToJson(raw.toString()).compose(model -> {
      JsonObject validated = forValidation(model);
      // Compiled from a copy: building the contract annotates its schema objects in place.
      Map<String, CompiledSchema> bodies = CompiledSchema.requestBodies(validated.copy());
      return OpenAPIContract.from(vertx, validated).map(contract -> new LoadedContract(raw, contract, bodies));
    }));
  }

  /** With another contract: the platform's own tests serve a small one of their own. */
  public ApiVerticle(String contractPath, FrontlineConfig.Http http, List<ApiRoutes> features) {
    this.contractPath = contractPath;
    this.http = http;
    this.features = features;
  }

  @Override
  public Future<?> start() {
    return loadContract(vertx, contractPath)
        .map(loaded -> router(loaded.contract(), loaded.raw(), loaded.compiledBodies()))
        .compose(router -> vertx.createHttpServer(new HttpServerOptions()
                .setHost(http.host())
                .setPort(http.port())
                .setCompressionSupported(true)
                // No h2c upgrade: the JDK HttpClient's upgrade of GET /openapi.yaml (a compressed 40 kB answer)
                // received bytes it could not parse as HTTP/2 frames. Clear-text clients stay on HTTP/1.1.
                .setHttp2ClearTextEnabled(false)
                .setIdleTimeout(120)
                .setIdleTimeoutUnit(TimeUnit.SECONDS))
            .invalidRequestHandler(Problems::invalidRequest)
            // A request head must arrive whole within the request timeout, as its answer must within it after.
            .connectionHandler(connection -> RequestHeadDeadline.watch(connection, http.requestTimeout().toMillis()))
            // A transfer coding other than chunked is refused before any route (tus and the token endpoint too).
            .requestHandler(request -> {
              if (!Problems.refusedTransferCoding(request)) {
                router.handle(request);
              }
            })
            .listen()
            .recover(e -> Future.failedFuture(cannotListen(org.frontline.config.Setting.HTTP_HOST,
                org.frontline.config.Setting.HTTP_PORT, http.host(), http.port(), e))))
        .onSuccess(s -> server = s);
  }

  /**
   * The contract as the validator reads it (here and wherever else a schema of it is used): without the problem
   * media type and without the raw routes (tus), which vertx-openapi cannot load. vertx-openapi 5.0 refuses a
   * contract that declares a response media type it cannot validate, and {@code application/problem+json} is one;
   * responses are not validated here, so this copy drops those entries while the served contract keeps documenting
   * every problem response.
   */
  public static JsonObject forValidation(JsonObject model) {
    return withoutRawRoutes(withoutProblemMediaType(withEcmaPatterns(model)));
  }

  /**
   * JSON Schema's {@code pattern} is an ECMA-262 regular expression, whose {@code $} matches only at the end of the
   * string; both validators compile it with java.util.regex, whose {@code $} also matches before a final line
   * break. So {@code "<uuid>\n"} passed every {@code ^...$} pattern of the contract (and then UUID.fromString threw:
   * a 500), and a code or kind with a line break reached the database. Every {@code $} outside a character class
   * is read as {@code \z} (the end of the input) here, in the copy the validators compile; the served file is
   * unchanged. The contract's non-blank text, {@code pattern: '\S'}, is read as {@link #NOT_BLANK}.
   */
  static JsonObject withEcmaPatterns(JsonObject model) {
    for (String field : model.fieldNames()) {
      Object value = model.getValue(field);
      if ("pattern".equals(field) && value instanceof String pattern) {
        model.put(field, BLANK_RULE.equals(pattern) ? NOT_BLANK : ecmaDollar(pattern));
      } else if (value instanceof JsonObject child) {
        withEcmaPatterns(child);
      } else if (value instanceof JsonArray array) {
        for (Object item : array) {
          if (item instanceof JsonObject o) {
            withEcmaPatterns(o);
          }
        }
      }
    }
    return model;
  }

  /** How the contract says "not blank": a character that is not white space (a regex, the same for every client). */
  static final String BLANK_RULE = "\\S";

  /**
   * What the validators read the contract's {@code \S} as: a character that is neither a space separator, nor a
   * format character, nor a control character (white space is made of those). java.util.regex's {@code \S} takes an
   * ideographic space (U+3000, a Chinese keyboard's space), a no-break or a zero-width space for a character, so a
   * name, title, comment or reason of only those was stored and shown blank. One rule for every non-blank field of
   * every body (batch items too: their schema is read from this copy), refused with the contract's wording of
   * {@code \S} (ContractViolations: "Must not be blank").
   */
  static final String NOT_BLANK = "[^\\p{Z}\\p{Cf}\\p{Cc}]";

  /** {@code pattern} with each unescaped {@code $} outside a character class as {@code \z}. */
  static String ecmaDollar(String pattern) {
    StringBuilder out = new StringBuilder(pattern.length() + 4);
    boolean inClass = false;
    for (int i = 0; i < pattern.length(); i++) {
      char c = pattern.charAt(i);
      if (c == '\\' && i + 1 < pattern.length()) {
        out.append(c).append(pattern.charAt(++i));
      } else if (c == '[') {
        inClass = true;
        out.append(c);
      } else if (c == ']') {
        inClass = false;
        out.append(c);
      } else if (c == '$' && !inClass) {
        out.append("\\z");
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  static JsonObject withoutProblemMediaType(JsonObject model) {
    for (String field : model.fieldNames()) {
      Object value = model.getValue(field);
      if (value instanceof JsonObject child) {
        if ("content".equals(field)) {
          child.remove(Problem.MEDIA_TYPE);
        }
        withoutProblemMediaType(child);
      } else if (value instanceof JsonArray array) {
        for (Object item : array) {
          if (item instanceof JsonObject o) {
            withoutProblemMediaType(o);
          }
        }
      }
    }
    model.fieldNames().removeIf(f -> "content".equals(f) && model.getValue(f) instanceof JsonObject c && c.isEmpty());
    return model;
  }

  /** Marks a path item the feature routes itself ({@link ApiRoutes#mountRaw}): documented, not routed here. */
  static final String RAW_ROUTE = "x-frontline-raw-route";

  /** The contract as the router reads it: without the paths features route themselves. */
  static JsonObject withoutRawRoutes(JsonObject model) {
    JsonObject paths = model.getJsonObject("paths");
    if (paths != null) {
      paths.fieldNames().removeIf(p -> paths.getValue(p) instanceof JsonObject item && item.getBoolean(RAW_ROUTE, false));
    }
    return model;
  }

  /** A port in use or an address not of this machine: a problem of the settings naming them, not a stack trace. */
  static org.frontline.config.ConfigException cannotListen(org.frontline.config.Setting host,
                                                           org.frontline.config.Setting port, String hostValue,
                                                           int portValue, Throwable cause) {
    return new org.frontline.config.ConfigException(List.of(host.env() + "/" + port.env() + ": cannot listen on "
        + hostValue + ":" + portValue + " (" + cause.getMessage() + ")"));
  }

  /** Stops accepting, lets in-flight requests finish within the grace period, then closes what is left. */
  @Override
  public Future<?> stop() {
    return server == null ? Future.succeededFuture()
        : server.shutdown(http.shutdownGrace().toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * The handlers that authenticate an operation, from the security requirements its contract declares. Only the
   * simple form is supported (one requirement naming one scheme); anything else is refused at start rather than
   * served unauthenticated.
   */
  private static List<Handler<RoutingContext>> securityOf(OpenAPIRoute route,
                                                          Map<String, Handler<RoutingContext>> schemes) {
    var requirements = route.getOperation().getSecurityRequirements();
    if (requirements == null || requirements.isEmpty()) {
      return List.of();
    }
    String operationId = route.getOperation().getOperationId();
    if (requirements.size() != 1 || requirements.get(0).getNames().size() != 1) {
      throw new IllegalStateException("operation " + operationId + ": only one security scheme per operation is supported");
    }
    String scheme = requirements.get(0).getNames().iterator().next();
    Handler<RoutingContext> handler = schemes.get(scheme);
    if (handler == null) {
      throw new IllegalStateException("operation " + operationId + ": no handler for security scheme " + scheme);
    }
    return List.of(handler instanceof PerOperationSecurity perOperation ? perOperation.forOperation(operationId) : handler);
  }

  private Router router(OpenAPIContract contract, Buffer rawContract, Map<String, CompiledSchema> compiledBodies) {
    Map<String, Handler<RoutingContext>> handlers = new HashMap<>();
    Map<String, Handler<RoutingContext>> securityHandlers = new HashMap<>();
    Map<String, ApiRoutes.RefusalAnswer> refusalAnswers = new HashMap<>();
    for (ApiRoutes feature : features) {
      refusalAnswers.putAll(feature.refusalAnswers());
      feature.securityHandlers().forEach((scheme, handler) -> {
        if (securityHandlers.putIfAbsent(scheme, handler) != null) {
          throw new IllegalStateException("two handlers for security scheme " + scheme);
        }
      });
      feature.handlers().forEach((operationId, handler) -> {
        if (handlers.putIfAbsent(operationId, handler) != null) {
          throw new IllegalStateException("two handlers for operation " + operationId);
        }
      });
    }
    // The rest of a body over the limit is read (and dropped) for at most the request timeout.
    Problems problems = new Problems(http.requestTimeout());
    // withBodyHandler: each route's body step has read the body; the default extractor would read it again.
    RouterBuilder builder = RouterBuilder.create(vertx, contract, RequestExtractor.withBodyHandler())
        .rootHandler(new RequestIds())
        .rootHandler(TimeoutHandler.create(http.requestTimeout().toMillis()))
        // A body is read only once the request has passed its route's security and the checks that need no body:
        // Expect: 100-continue gets its 100 only then (RequestBodies).
        .rootHandler(RequestBodies.HOLD);
    BodyHandler bodies = BodyHandler.create(false).setBodyLimit(http.bodyLimitBytes());
    // Security runs before validation, so a caller who may not use an operation learns nothing from it, not even
    // what a valid request looks like (RouterBuilder would validate first); validation is therefore ours too.
    RequestValidatorImpl validator = new RequestValidatorImpl(vertx, CachedValidators.of(contract));
    for (OpenAPIRoute route : builder.getRoutes()) {
      String operationId = route.getOperation().getOperationId();
      Handler<RoutingContext> handler = handlers.remove(operationId);
      if (handler == null) {
        // A contract operation without a handler is a build mistake: refuse to start rather than serve 500s.
        throw new IllegalStateException("no handler for contract operation " + operationId);
      }
      // Authentication is ours (securityOf), not RouterBuilder.security(), which only takes vertx-auth handlers.
      route.setDoSecurity(false).setDoValidation(false);
      for (Handler<RoutingContext> security : securityOf(route, securityHandlers)) {
        route.addHandler(security);
      }
      RequestValidation.Refusals refusals = new RequestValidation.Refusals(route.getOperation(),
          contract.getRawContract());
      Handler<RoutingContext> validation = RequestValidation.of(validator, refusals,
          Optional.ofNullable(compiledBodies.get(operationId)));
      route.addHandler(RequestBodies.read(bodies, http.bodyLimitBytes(), refusals, validator))
          .addHandler(validation).addHandler(handler);
      ApiRoutes.RefusalAnswer refusalAnswer = refusalAnswers.get(operationId);
      if (refusalAnswer == null && route.getOperation().getParameters().stream().anyMatch(p ->
          p.getIn() == io.vertx.openapi.contract.Location.HEADER && p.getName().equalsIgnoreCase(IdempotencyKeys.HEADER))) {
        // A keyed write refused on a retry after its answer was lost would tell the client it was not done.
        throw new IllegalStateException("operation " + operationId + " takes an " + IdempotencyKeys.HEADER
            + " but no refusal answer replays what its keys stored (IdempotencyKeys.replayOf)");
      }
      if (refusalAnswer != null) {
        route.addFailureHandler(Problems.unlessAnswered(refusalAnswer));
      }
      route.addFailureHandler(problems);
    }
    if (!handlers.isEmpty()) {
      throw new IllegalStateException("handlers for operations missing from the contract: " + handlers.keySet());
    }
    Router router = builder.createRouter();
    // vertx-web routes a path with a trailing slash, or an empty segment, as the path without it (/v1/me/ and
    // /v1//me were /v1/me): no path of the contract has either, so such a path is no resource (404), tus's too.
    router.route().order(-100).handler(rc -> {
      String path = rc.request().path(); // as sent: one the router cannot decode (%zz) is its own 400
      if (path != null && (path.length() > 1 && path.endsWith("/") || path.contains("//"))) {
        rc.fail(404);
      } else {
        rc.next();
      }
    });
    // Routes features serve themselves (streamed bodies such as tus PATCH): ahead of the root handlers.
    features.forEach(feature -> feature.mountRaw(router));
    // The contract itself; outside its own paths because the validator knows no YAML media type.
    router.get("/openapi.yaml").order(-1).handler(new RequestIds()).handler(rc -> rc.response()
        .putHeader("Content-Type", "application/yaml; charset=utf-8")
        .putHeader("Cache-Control", "no-cache")
        .end(rawContract));
    // Nothing matched: 405 with Allow when the path exists under other methods, else 404. (The root handlers
    // match every request, so the router's own 405 detection never triggers.) HEAD is served wherever GET is
    // (RFC 9110 9.1: every general-purpose server supports both): routed again as the GET, whose answer goes out
    // without its body (vertx writes none for a HEAD request), so status and headers are the GET's.
    router.route().last().handler(rc -> {
      String path = rc.request().path();
      io.vertx.openapi.contract.Path known = "/openapi.yaml".equals(path) ? null : contract.findPath(path);
      if ("/openapi.yaml".equals(path) || known != null) {
        java.util.SortedSet<String> methods = new java.util.TreeSet<>();
        if (known == null) {
          methods.add("GET");
        } else {
          known.getOperations().forEach(o -> methods.add(o.getHttpMethod().name()));
        }
        if (methods.contains("GET")) {
          if (rc.request().method() == HttpMethod.HEAD) {
            // The path and query, not uri(): a request target in absolute form (http://host/path) is no route.
            String query = rc.request().query();
            rc.reroute(HttpMethod.GET, query == null ? path : path + "?" + query);
            return;
          }
          methods.add("HEAD");
        }
        rc.response().putHeader("Allow", String.join(", ", methods));
        rc.fail(405);
      } else {
        rc.fail(404);
      }
    });
    router.route().failureHandler(problems);
    for (int status : new int[] {400, 401, 403, 404, 405, 406, 413, 415, 417, 500, 503}) {
      router.errorHandler(status, problems.forStatus(status));
    }
    log.debug("API router built from {} with {} operations, {} request bodies compiled", contractPath,
        builder.getRoutes().size(), compiledBodies.size());
    return router;
  }
}
