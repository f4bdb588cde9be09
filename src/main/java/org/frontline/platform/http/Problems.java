package org.frontline.platform.http;

import io.netty.channel.ConnectTimeoutException;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.VertxException;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.HttpException;
import io.vertx.json.schema.OutputUnit;
import io.vertx.openapi.validation.SchemaValidationException;
import io.vertx.openapi.validation.ValidatorErrorType;
import io.vertx.openapi.validation.ValidatorException;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.ClosedConnectionException;
import org.frontline.platform.http.Problem.FieldError;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.ConnectException;
import java.nio.channels.ClosedChannelException;
import java.util.List;
import java.util.concurrent.TimeoutException;

/**
 * The one place where failures become HTTP answers. Every failure, from a handler, the contract validator, the
 * body handler, the router (404/405) or a dependency, leaves as an RFC 9457 problem; internals never do.
 */
public final class Problems implements Handler<RoutingContext> {
  private static final Logger log = LoggerFactory.getLogger(Problems.class);
  public static final String RETRY_AFTER_SECONDS = "5";
  private static final java.util.regex.Pattern PARAMETER =
      java.util.regex.Pattern.compile("\\b(path|query|header|cookie) parameter ([^\\s.]+)");

  /**
   * How long the rest of a body refused as too large (413, the body limit) is still read, and dropped, before the
   * connection is closed; null: for as long as the client sends it (tus drains its refusals on purpose).
   */
  private final java.time.Duration tooLargeDrain;

  public Problems() {
    this(null);
  }

  /** For the contract's routes and the token endpoint, whose bodies are small: see {@link #tooLargeDrain}. */
  public Problems(java.time.Duration tooLargeDrain) {
    this.tooLargeDrain = tooLargeDrain;
  }

  @Override
  public void handle(RoutingContext rc) {
    if (clientGone(rc)) {
      // The client closed its connection mid-request (a phone losing its network during an upload): nobody is
      // left to answer, and no dependency is unavailable.
      log.debug("the client closed the connection during {} {}: {}", rc.request().method(), rc.request().path(),
          rc.failure().toString());
      return;
    }
    Problem problem = toProblem(rc.failure(), rc.statusCode(), rc);
    logged(rc, problem, rc.failure(), "");
    send(rc, problem);
    if (tooLargeDrain != null && RequestBodies.unread(rc)) {
      // Refused before its route read the body (RequestBodies): a client that waits for a 100 Continue has had its
      // connection closed by send; any other is sending its body, read and dropped for at most the same time.
      RequestBodies.dropUnread(rc, tooLargeDrain);
    } else if (tooLargeDrain != null && problem.status() == 413 && !rc.request().isEnded()) {
      // The rest of a body refused while it was read: at most the same time (a chunked body has no end).
      RequestBodies.cutOff(rc, tooLargeDrain);
    }
  }

  /**
   * A failure handler ahead of the problem handler that lets {@code answer} answer a refusal (a 400 or 422 problem)
   * otherwise; any other failure, and a refusal it leaves, go on to be answered as a problem. When {@code answer}
   * fails, that failure is answered (the refusal could not be judged, and a client drops what was refused).
   */
  static Handler<RoutingContext> unlessAnswered(ApiRoutes.RefusalAnswer answer) {
    return rc -> {
      int status = clientGone(rc) ? 0 : toProblem(rc.failure(), rc.statusCode(), rc).status();
      if (status != 400 && status != 422) {
        rc.next();
        return;
      }
      Future<Boolean> answered;
      try {
        answered = answer.answer(rc);
      } catch (RuntimeException e) {
        answered = Future.failedFuture(e);
      }
      answered.onComplete(a -> {
        if (a.failed()) {
          Problem problem = toProblem(a.cause(), -1, rc);
          logged(rc, problem, a.cause(), " while judging its refusal");
          send(rc, problem);
        } else if (!a.result()) {
          rc.next();
        }
      });
    };
  }

  /**
   * Logs a failure answered with a server error: an internal one with its stack trace, any other (a dependency
   * unavailable, a timeout) in one line, as during an outage every request meets it. {@code during}: what the
   * failure interrupted, appended to the request ("" for the request itself).
   */
  private static void logged(RoutingContext rc, Problem problem, Throwable failure, String during) {
    if (problem.status() >= 500 && problem.type() == ProblemType.INTERNAL) {
      log.error("unhandled failure on {} {}{}", rc.request().method(), rc.request().path(), during, failure);
    } else if (problem.status() >= 500) {
      log.warn("{} on {} {}{}: {}", problem.status(), rc.request().method(), rc.request().path(), during,
          problem.detail());
    }
  }

  /**
   * The router's error handler for {@code status}. vertx-web calls it without failing the context when no route's
   * failure handler took the failure: e.g. a 400 when matching a route with path parameters throws because the
   * query cannot be decoded ("?q=%"); the context then has neither status nor failure, which alone reads as a 500.
   */
  Handler<RoutingContext> forStatus(int status) {
    return rc -> {
      if (rc.failure() != null || rc.statusCode() != -1 || status >= 500) {
        handle(rc);
        return;
      }
      send(rc, toProblem(null, status, rc));
    };
  }

  /**
   * The answer to a request the HTTP decoder could not read ({@code HttpServer.invalidRequestHandler}), before any
   * route: a request line past the server's limit is 414, header fields past theirs 431, anything else unreadable
   * (a header line without a colon, a NUL in a value, a repeated Content-Length) 400, each a problem with a request
   * id like every other refusal. Vert.x's own handler answered with an empty body, no request id. The
   * server closes the connection once the answer is written: nothing after an unreadable head can be framed.
   */
  static void invalidRequest(HttpServerRequest request) {
    Throwable cause = request.decoderResult().cause();
    Problem problem;
    if (cause instanceof TooLongHttpLineException) {
      problem = Problem.of(ProblemType.URI_TOO_LONG, "The request line is longer than the server reads.");
    } else if (cause instanceof TooLongHttpHeaderException) {
      problem = Problem.of(ProblemType.HEADER_FIELDS_TOO_LARGE, "The request's header fields are larger than the "
          + "server reads.");
    } else {
      problem = Problem.of(ProblemType.MALFORMED_REQUEST, "The request is not valid HTTP.");
    }
    log.debug("unreadable request: {}", String.valueOf(cause));
    HttpServerResponse response = request.response();
    if (response.headWritten()) {
      request.connection().close();
      return;
    }
    String id = RequestIds.idFor(request.getHeader(RequestIds.HEADER));
    response.setStatusCode(problem.status()).putHeader(RequestIds.HEADER, id)
        .putHeader("Content-Type", Problem.MEDIA_TYPE).putHeader("Connection", "close")
        // The path of a request that could not be read is no resource of ours: no instance.
        .end(problem.toJson(null, id).encode());
  }

  /**
   * Answers, before any route, a request whose {@code Transfer-Encoding} is anything but {@code chunked} alone: 501
   * (RFC 9112 6.1: a transfer coding the server does not understand). Netty reads any list ending in chunked
   * ({@code gzip, chunked}) as plain chunked, so the handler got the coded bytes as the body, or stored a body that
   * was sent uncoded after all. The body is not read; the connection is closed after the answer. False when the
   * request is framed as the server reads it.
   */
  static boolean refusedTransferCoding(HttpServerRequest request) {
    List<String> codings = request.headers().getAll("Transfer-Encoding");
    if (codings.isEmpty() || codings.size() == 1 && "chunked".equalsIgnoreCase(codings.get(0).strip())) {
      return false;
    }
    Problem problem = Problem.of(ProblemType.NOT_IMPLEMENTED, "Transfer-Encoding '" + String.join(", ", codings)
        + "' is not supported: send the body with Content-Length, or chunked alone.");
    String id = RequestIds.idFor(request.getHeader(RequestIds.HEADER));
    request.response().setStatusCode(problem.status()).putHeader(RequestIds.HEADER, id)
        .putHeader("Content-Type", Problem.MEDIA_TYPE).putHeader("Connection", "close")
        .end(problem.toJson(request.path(), id).encode())
        .onComplete(ended -> request.connection().close());
    return true;
  }

  /** Writes a problem as the response, unless a response is already under way (then the connection is reset). */
  public static void send(RoutingContext rc, Problem problem) {
    HttpServerResponse response = rc.response();
    if (response.headWritten()) {
      rc.request().connection().close();
      return;
    }
    String requestId = RequestIds.of(rc);
    if (requestId == null) {
      // Refused before the root handlers ran: the router's own 400 for a path or query it cannot decode.
      requestId = RequestIds.idFor(rc.request().getHeader(RequestIds.HEADER));
      response.putHeader(RequestIds.HEADER, requestId);
    }
    // A request past its time whose body is still trickling in: vertx kept the connection and went on reading the
    // rest (Connection: close alone waits for it), so a client sending a byte now and then held it for as long as its
    // declared length lasted. The connection ends with this answer. (Other refusals before the body is read keep
    // theirs: tus drains the rest so that the client reads the answer on a usable connection.)
    // So does a refusal of a request whose client waits for a 100 Continue before it sends its body (RFC 9110
    // 10.1.1): it never got one, and the body it may or may not send is not read (RequestBodies.end).
    response.setStatusCode(problem.status()).putHeader("Content-Type", Problem.MEDIA_TYPE);
    problem.headers().forEach(response::putHeader);
    RequestBodies.end(rc, problem.toJson(rc.request().path(), requestId).encode(),
        problem.type() == ProblemType.TIMEOUT && !rc.request().isEnded());
  }

  static Problem toProblem(Throwable failure, int status, RoutingContext rc) {
    if (failure instanceof ProblemException pe) {
      return pe.problem();
    }
    Throwable validation = findCause(failure, ValidatorException.class);
    if (validation != null) {
      return fromValidation((ValidatorException) validation, rc);
    }
    DependencyUnavailableException dependency = (DependencyUnavailableException) findCause(failure,
        DependencyUnavailableException.class);
    if (dependency != null) {
      return unavailable(dependency.dependency());
    }
    if (isConnectionFailure(failure)) {
      // Only the database pool is used directly by handlers; other dependencies wrap their failures.
      return unavailable("database");
    }
    if (failure instanceof HttpException he) {
      status = he.getStatusCode();
    }
    return switch (status) {
      case 400 -> Problem.of(ProblemType.MALFORMED_REQUEST, "The request could not be read.");
      case 401 -> unauthorized("A valid bearer access token is required.");
      case 403 -> Problem.of(ProblemType.FORBIDDEN, "You are not allowed to do this.");
      case 404 -> Problem.of(ProblemType.NOT_FOUND, "No resource at " + rc.request().path() + ".");
      case 405 -> Problem.of(ProblemType.METHOD_NOT_ALLOWED,
          rc.request().method() + " is not allowed on " + rc.request().path() + ".");
      case 406 -> Problem.of(ProblemType.NOT_ACCEPTABLE, "The requested media type cannot be produced.");
      case 413 -> Problem.of(ProblemType.PAYLOAD_TOO_LARGE, "The request body is larger than allowed.");
      case 415 -> Problem.of(ProblemType.UNSUPPORTED_MEDIA_TYPE, contentTypeOf(rc) + " is not accepted here.");
      // An Expect other than 100-continue (RFC 9110 10.1.1; RequestBodies): the BodyHandler's 417 was a 500.
      case 417 -> Problem.of(ProblemType.EXPECTATION_FAILED, "Expect: '" + rc.request().getHeader("Expect")
          + "' is not supported; the only expectation is 100-continue.");
      case 503 -> Problem.of(ProblemType.TIMEOUT, "The request took too long; try again.")
          .withHeader("Retry-After", RETRY_AFTER_SECONDS);
      default -> Problem.of(ProblemType.INTERNAL, "An internal error occurred; quote the request id when reporting it.");
    };
  }

  /** The request's Content-Type as a 415's detail names it ("Content-Type 'null'" said nothing to a client). */
  private static String contentTypeOf(RoutingContext rc) {
    String type = rc.request().getHeader("Content-Type");
    return type == null ? "A body without Content-Type" : "Content-Type '" + type + "'";
  }

    public static Problem unauthorized(String detail) {
    return Problem.of(ProblemType.UNAUTHORIZED, detail)
        .withHeader("WWW-Authenticate", "Bearer error=\"invalid_token\"");
  }

  public static Problem unavailable(String dependency) {
    return Problem.of(ProblemType.DEPENDENCY_UNAVAILABLE, "The " + dependency + " is unavailable; try again shortly.")
        .with("dependency", dependency)
        .withHeader("Retry-After", RETRY_AFTER_SECONDS);
  }

  private static Problem fromValidation(ValidatorException e, RoutingContext rc) {
    if (e.type() == ValidatorErrorType.MISSING_OPERATION) {
      return Problem.of(ProblemType.NOT_FOUND, "No resource at " + rc.request().path() + ".");
    }
    String message = e.getMessage() == null ? "invalid request" : e.getMessage();
    // vertx-openapi 5.0: "The format of the request body is not supported" (a media type the operation does not
    // declare) and "The request body can't be decoded" (not JSON) are a 415 and a malformed request, not field errors.
    if (e.type() == ValidatorErrorType.UNSUPPORTED_VALUE_FORMAT
        && (message.contains("content type") || message.contains("body is not supported"))) {
      return Problem.of(ProblemType.UNSUPPORTED_MEDIA_TYPE, contentTypeOf(rc)
          + " is not accepted here; send application/json.");
    }
    if (e instanceof SchemaValidationException sve && sve.getOutputUnit() != null) {
      String prefix = prefixOf(message);
      RequestValidation.Refusals refusals = rc == null ? null : rc.get(RequestValidation.Refusals.KEY);
      Object schema = refusals == null ? null : schemaAt(refusals.operation(), prefix);
      return ContractViolations.problem(ContractViolations.errors(sve.getOutputUnit(), prefix, schema,
          refusals == null ? null : refusals.document(), sent(rc, prefix)));
    }
    if (e.type() == ValidatorErrorType.MISSING_REQUIRED_PARAMETER) {
      return ContractViolations.problem(ContractViolations.Errors.of(new FieldError(prefixOf(message),
          "Required parameter is missing.")));
    }
    if (e.type() == ValidatorErrorType.INVALID_VALUE_FORMAT
        || e.type() == ValidatorErrorType.UNSUPPORTED_VALUE_FORMAT || e.type() == ValidatorErrorType.ILLEGAL_VALUE) {
      if (message.contains("body") && (e.type() == ValidatorErrorType.INVALID_VALUE_FORMAT
          || e.type() == ValidatorErrorType.ILLEGAL_VALUE && message.contains("decoded"))) {
        return Problem.of(ProblemType.MALFORMED_REQUEST, "The request body is not valid JSON.");
      }
      return ContractViolations.problem(ContractViolations.Errors.of(new FieldError(prefixOf(message), message)));
    }
    return Problem.of(ProblemType.VALIDATION_FAILED, message);
  }

  /**
   * The problem for a JSON value that a compiled schema refused, with the same field errors as the contract's own
   * validation (used where a part of a request is validated on its own, e.g. each item of a report batch): worded
   * from {@code validator}'s answer for the value's RefusalSample. Empty when {@code validator} accepts the whole
   * value (vertx is the reference). Blocking work for a large value: call it on a worker.
   */
  public static java.util.Optional<Problem> refusal(io.vertx.json.schema.Validator validator, Object schema,
                                                    io.vertx.core.json.JsonObject document, Object instance) {
    Object sample = RefusalSample.of(instance, schema, document);
    OutputUnit result = validator.validate(sample);
    if (Boolean.TRUE.equals(result.getValid())) {
      return sample == instance ? java.util.Optional.empty()
          : java.util.Optional.of(ContractViolations.refusedAsAWhole());
    }
    return java.util.Optional.of(ContractViolations.problem(ContractViolations.errors(result, "body", schema,
        document, instance)));
  }

  /** The schema validated at {@code prefix}: the JSON body's, or a parameter's ("query/limit"); null if none. */
  private static Object schemaAt(io.vertx.openapi.contract.Operation operation, String prefix) {
    if ("body".equals(prefix)) {
      var json = operation.getRequestBody() == null ? null
          : operation.getRequestBody().getContent().get(io.vertx.openapi.contract.MediaType.APPLICATION_JSON);
      return json == null ? null : json.getSchema();
    }
    String[] at = prefix.split("/", 2);
    return operation.getParameters().stream()
        .filter(p -> p.getIn().name().equalsIgnoreCase(at[0]) && p.getName().equals(at[1]))
        .map(io.vertx.openapi.contract.Parameter::getSchema).findFirst().orElse(null);
  }

  /** What the client sent at {@code prefix}: the body as JSON, or a parameter as the handlers read it. */
  private static Object sent(RoutingContext rc, String prefix) {
    if (rc == null) {
      return null;
    }
    String[] at = prefix.split("/", 2);
    try {
      return switch (at[0]) {
        case "body" -> rc.body() == null || rc.body().buffer() == null ? null
            : io.vertx.core.json.Json.decodeValue(rc.body().buffer());
        case "query" -> rc.queryParams().get(at[1]);
        case "path" -> rc.pathParam(at[1]);
        case "header" -> rc.request().getHeader(at[1]);
        default -> null;
      };
    } catch (RuntimeException unreadable) {
      return null;
    }
  }

  /** "body" for body problems, "query/x", "path/x", "header/x" for parameters, from the validator's message. */
  private static String prefixOf(String message) {
    // vertx-openapi 5.0 words these "The value of query parameter ms is invalid...", "... the required query
    // parameter ms", "The value of path parameter id can't be decoded."
    var m = PARAMETER.matcher(message);
    return m.find() ? m.group(1).toLowerCase(java.util.Locale.ROOT) + "/" + m.group(2) : "body";
  }



  /**
   * The request failed because the client's own connection went away (closed or reset while its body was read),
   * not because of anything on our side.
   */
  static boolean clientGone(RoutingContext rc) {
    Throwable failure = rc.failure();
    return failure != null && (rc.response().closed() || Boolean.TRUE.equals(rc.get(CLIENT_GONE)))
        && (findCause(failure, HttpClosedException.class) != null || failure instanceof IOException);
  }

  /**
   * Set on a routing context by a handler that saw its client's connection end (a reset can be reported before the
   * response counts as closed): a failure of that request is the client's own disconnect.
   */
  public static final String CLIENT_GONE = "frontline.client.gone";

  static boolean isConnectionFailure(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof HttpClosedException) {
        continue; // an HTTP connection (a client's or the store's), never the database pool's
      }
      if (c instanceof ConnectException || c instanceof ConnectTimeoutException || c instanceof ClosedChannelException
          || c instanceof ClosedConnectionException || c instanceof TimeoutException) {
        return true;
      }
      if (c instanceof java.net.SocketException) {
        return true; // "Connection reset": the database's session ended under a query (a restart, a terminated backend)
      }
      if (c instanceof PgException pg && org.frontline.platform.db.Database.FEED_CLOCK_BEHIND.equals(pg.getSqlState())) {
        return true; // a restored database not ready for events yet: FeedClock raises its clock within a minute
      }
      if (c instanceof PgException pg && org.frontline.platform.db.Database.notServing(pg.getSqlState())) {
        return true; // restarting ("the database system is shutting down", "... is starting up"), full, ...
      }
      if (c instanceof VertxException ve && ve.getMessage() != null
          && (ve.getMessage().contains("Timeout") || ve.getMessage().contains("closed")
              || ve.getMessage().startsWith(org.frontline.platform.db.Database.CONNECTION_NOT_ACTIVE))) {
        return true;
      }
    }
    return false;
  }

  /** The first of {@code t} and its causes that is a {@code type}, or null. */
  public static Throwable findCause(Throwable t, Class<? extends Throwable> type) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (type.isInstance(c)) {
        return c;
      }
    }
    return null;
  }

}
