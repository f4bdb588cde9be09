package org.frontline.platform.http;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.PlatformHandler;
import io.vertx.openapi.contract.Operation;
import io.vertx.openapi.validation.impl.RequestValidatorImpl;

/**
 * When the body of a contract route's request is read: only once the request has passed every check that needs no
 * body (authentication, the role, the route and method, Content-Type, the parameters), so that
 * {@code Expect: 100-continue} is answered with 100 only then. A root handler ({@link #HOLD}) pauses a request that
 * announces a body; the route's body step ({@link #read}), after its security handler, runs the last checks and
 * hands the request to the {@link BodyHandler}, which sends the 100 and reads. A request refused before that has its
 * body unread: {@link Problems} closes the connection after the answer when the client is waiting for a 100 it never
 * got, and otherwise reads and drops the rest for at most the request timeout.
 */
public final class RequestBodies {
  /** Set on a request paused by {@link #HOLD}: false until its body step hands it to the BodyHandler. */
  private static final String HELD = "frontline.body.held";

  private RequestBodies() {}

  /** Root handler (and the token endpoint's first): pauses a request announcing a body until its route reads it. */
  public static final PlatformHandler HOLD = rc -> {
    HttpServerRequest request = rc.request();
    if (!request.isEnded() && announcesBody(request) && rc.get(HELD) == null) {
      request.pause();
      rc.put(HELD, true);
    }
    rc.next();
  };

  /**
   * The route's body step, after authentication and before validation: the checks that need no body (an Expect
   * other than 100-continue 417, a Content-Encoding 415, a Content-Length past {@code limit} 413, a Content-Type
   * the operation does not take 415, a path, query or header parameter the contract refuses 400) refuse the request
   * with its body unread; then the BodyHandler sends the 100 when one is expected, and reads the body.
   */
  static Handler<RoutingContext> read(BodyHandler bodies, long limit, RequestValidation.Refusals refusals,
                                      RequestValidatorImpl validator) {
    return held(bodies, rc -> {
      check(rc, limit, refusals.operation());
      RequestValidation.checkParameters(validator, refusals, rc);
    });
  }

  /**
   * The body step of a raw route that answers its own refusals (the token endpoint), after its checks that need no
   * body: the BodyHandler's own checks of the head (an Expect other than 100-continue 417, a Content-Length past
   * {@code limit} 413) and the Content-Encoding 415 are made first, so that a request they refuse keeps its body
   * unread (see {@link #endRefusal}); then the BodyHandler sends the 100 when one is expected, and reads the body.
   */
  public static Handler<RoutingContext> read(BodyHandler bodies, long limit) {
    return held(bodies, rc -> {
      expectation(rc);
      coding(rc);
      length(rc, limit);
    });
  }

  /** Runs {@code checks} on a held request (a failure refuses it, body unread), then hands it to the BodyHandler. */
  private static Handler<RoutingContext> held(BodyHandler bodies, java.util.function.Consumer<RoutingContext> checks) {
    return rc -> {
      if (Boolean.TRUE.equals(rc.get(HELD))) {
        try {
          checks.accept(rc);
        } catch (RuntimeException e) {
          // A problem, the validator's refusal of a parameter, or vertx-web's 400 for a query it cannot decode.
          rc.fail(e);
          return;
        }
        rc.put(HELD, false);
      }
      bodies.handle(rc);
    };
  }

  private static void check(RoutingContext rc, long limit, Operation operation) {
    expectation(rc);
    coding(rc);
    length(rc, limit);
    if (operation.getRequestBody() != null) {
      RequestValidation.declaredMediaType(rc, operation);
    }
  }

  /** An Expect other than 100-continue: 417 (RFC 9110 10.1.1). */
  private static void expectation(RoutingContext rc) {
    String expect = rc.request().getHeader(HttpHeaders.EXPECT);
    if (expect != null && !"100-continue".equalsIgnoreCase(expect)) {
      throw new ProblemException(Problems.toProblem(null, 417, rc));
    }
  }

  /**
   * A Content-Encoding other than identity: 415 with {@code Accept-Encoding: identity} (RFC 9110 15.5.16, a content
   * coding the server does not decode). The server decodes none, so it was read as the body itself: gzip bytes a 400
   * not-JSON, a body labelled gzip but sent plain taken as it was.
   */
  private static void coding(RoutingContext rc) {
    String coding = rc.request().getHeader(HttpHeaders.CONTENT_ENCODING);
    if (coding != null && !"identity".equalsIgnoreCase(coding.strip())) {
      throw new ProblemException(Problem.of(ProblemType.UNSUPPORTED_MEDIA_TYPE, "Content-Encoding '" + coding
          + "' is not accepted here; send the body without a content coding.").withHeader("Accept-Encoding",
          "identity"));
    }
  }

  /** A Content-Length past {@code limit}: 413. */
  private static void length(RoutingContext rc, long limit) {
    String length = rc.request().getHeader(HttpHeaders.CONTENT_LENGTH);
    if (length != null && declaredLength(length) > limit) {
      throw new ProblemException(Problems.toProblem(null, 413, rc));
    }
  }

  /** A body held back and never read: the request was refused before its body step. */
  static boolean unread(RoutingContext rc) {
    return Boolean.TRUE.equals(rc.get(HELD)) && !rc.request().isEnded();
  }

  /** Unread, and its client waits for a 100 Continue before sending it (RFC 9110 10.1.1): it never got one. */
  static boolean continueWithheld(RoutingContext rc) {
    HttpServerRequest request = rc.request();
    return unread(rc) && request.version() != HttpVersion.HTTP_1_0
        && "100-continue".equalsIgnoreCase(request.getHeader(HttpHeaders.EXPECT));
  }

  /**
   * Ends the response with {@code answer}. When the client waits for a 100 Continue it never got (the body unread),
   * or with {@code close}, the connection ends with it: {@code Connection: close}, then closed once written.
   */
  static Future<Void> end(RoutingContext rc, String answer, boolean close) {
    boolean closing = close || continueWithheld(rc);
    if (closing) {
      rc.response().putHeader(HttpHeaders.CONNECTION, "close");
    }
    return rc.response().end(answer).onComplete(ended -> {
      if (closing) {
        rc.request().connection().close();
      }
    });
  }

  /**
   * Ends the answer to a refusal on a route that writes its own (the token endpoint's RFC 6749 errors) as
   * {@link Problems} ends a problem: a client waiting for a 100 Continue it never got has the connection closed
   * after it; any other unread body is read and dropped for at most {@code drain}, and so is the rest of a body
   * refused while it was read (the BodyHandler's 413 on a chunked body past the limit).
   */
  public static void endRefusal(RoutingContext rc, String answer, java.time.Duration drain) {
    end(rc, answer, false);
    if (unread(rc)) {
      dropUnread(rc, drain);
    } else if (!rc.request().isEnded()) {
      cutOff(rc, drain);
    }
  }

  /** An unread body a client sends anyway (it waits for no 100) is read and dropped for at most {@code max}. */
  static void dropUnread(RoutingContext rc, java.time.Duration max) {
    if (unread(rc) && !continueWithheld(rc) && !rc.response().closed()) {
      drop(rc, max);
    }
  }

  /** Reads and drops an unread body (the answer is out), closing the connection if it is not over within {@code max}. */
  static void drop(RoutingContext rc, java.time.Duration max) {
    HttpServerRequest request = rc.request();
    rc.put(HELD, false);
    request.handler(ignored -> {}).endHandler(ignored -> {}).resume();
    cutOff(rc, max);
  }

  /**
   * Closes the connection if the request's body is not over within {@code max} (the answer is out): vertx reads and
   * drops the rest of a body refused while it was read, which lets the client read the answer; but a chunked body
   * has no end, and a client streaming one held the connection (and our reading) for as long as it liked.
   */
  static void cutOff(RoutingContext rc, java.time.Duration max) {
    HttpServerRequest request = rc.request();
    io.vertx.core.http.HttpConnection connection = request.connection();
    rc.vertx().setTimer(max.toMillis(), t -> {
      if (!request.isEnded()) {
        connection.close();
      }
    });
  }

  /** The decoder lets through only lengths it could read; anything else is left to it (and to the BodyHandler). */
  private static long declaredLength(String length) {
    try {
      return Long.parseLong(length.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /**
   * Whether the BodyHandler will read the request: framed by Transfer-Encoding or any Content-Length, 0 included (a
   * POST without a body, read after an asynchronous authentication, would have ended by then: the BodyHandler
   * refuses a request that has, a 500). Without either it takes none and goes on at once.
   */
  private static boolean announcesBody(HttpServerRequest request) {
    return request.headers().contains(HttpHeaders.TRANSFER_ENCODING)
        || request.headers().contains(HttpHeaders.CONTENT_LENGTH);
  }
}
