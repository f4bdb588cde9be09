package org.frontline.platform.http;

import io.vertx.core.Handler;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.openapi.router.RequestExtractor;
import io.vertx.ext.web.openapi.router.RouterBuilder;
import io.vertx.openapi.contract.MediaType;
import io.vertx.openapi.contract.Operation;
import io.vertx.openapi.contract.Parameter;
import io.vertx.openapi.validation.RequestParameter;
import io.vertx.openapi.validation.ValidatableRequest;
import io.vertx.openapi.validation.ValidatedRequest;
import io.vertx.openapi.validation.impl.RequestParameterImpl;
import io.vertx.openapi.validation.impl.RequestValidatorImpl;
import io.vertx.openapi.validation.impl.ValidatedRequestImpl;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The validation step of a route (handlers read the result under KEY_META_DATA_VALIDATED_REQUEST).
 *
 * <p>A JSON body whose schema compiled ({@link CompiledSchema}) and which that schema accepts is taken at once, on
 * the event loop: parsed once (by {@code rc.body().asJsonObject()}, which caches it, so handlers reading it get the
 * same object), its parameters validated by vertx-openapi as always. Anything else (no body, another media type,
 * malformed JSON, a body the compiled schema rejects, an operation whose schema did not compile) takes vertx's
 * whole validation, unchanged: vertx decides every refusal and the problem is written from its errors. Should vertx
 * accept a body the compiled schema refused, it is accepted (vertx is the reference) and a warning logged once.
 */
final class RequestValidation {
  private static final Logger log = LoggerFactory.getLogger(RequestValidation.class);

  private RequestValidation() {}

  static Handler<RoutingContext> of(RequestValidatorImpl validator, Operation operation,
                                    Optional<CompiledSchema> compiledBody) {
    RequestExtractor extractor = RequestExtractor.withBodyHandler();
    String operationId = operation.getOperationId();
    MediaType json = operation.getRequestBody() == null ? null
        : operation.getRequestBody().getContent().get(MediaType.APPLICATION_JSON);
    CompiledSchema body = json == null ? null : compiledBody.orElse(null);
    AtomicBoolean warned = new AtomicBoolean();
    return rc -> extractor.extractValidatableRequest(rc, operation).onComplete(extracted -> {
      if (extracted.failed()) {
        rc.fail(extracted.cause());
        return;
      }
      ValidatableRequest request = extracted.result();
      boolean rejected = false;
      if (body != null) {
        JsonObject parsed = jsonBody(rc, request, operation, json);
        if (parsed != null) {
          if (body.accepts(parsed)) {
            ValidatedRequest validated;
            try {
              validated = withParameters(validator, operation, request, parsed);
            } catch (RuntimeException e) {
              rc.fail(e);
              return;
            }
            rc.put(RouterBuilder.KEY_META_DATA_VALIDATED_REQUEST, validated);
            rc.next();
            return;
          }
          rejected = true;
        }
      }
      boolean compiledRejected = rejected;
      validator.validate(request, operationId)
          .onSuccess(validated -> {
            if (compiledRejected && warned.compareAndSet(false, true)) {
              log.warn("The compiled schema of {} refused a body vertx-json-schema accepts: the compiler and vertx "
                  + "disagree (vertx wins); see CompiledSchemaEquivalenceTest", operationId);
            }
            rc.put(RouterBuilder.KEY_META_DATA_VALIDATED_REQUEST, validated);
            rc.next();
          })
          .onFailure(rc::fail);
    });
  }

  /**
   * The body as a JsonObject when vertx would read it as this operation's application/json body; null when the
   * request is anything else (vertx then answers it exactly as before).
   */
  private static JsonObject jsonBody(RoutingContext rc, ValidatableRequest request, Operation operation,
                                     MediaType json) {
    if (request.getBody() == null || request.getBody().isEmpty() || rc.body().buffer() == null) {
      return null;
    }
    MediaType type = operation.getRequestBody().determineContentType(request.getContentType());
    if (type == null || !json.getIdentifier().equals(type.getIdentifier())) {
      return null;
    }
    try {
      // The same decoder vertx-openapi uses (Json.decodeValue); cached, so the handler's asJsonObject is free.
      return rc.body().asJsonObject();
    } catch (RuntimeException notAnObject) {
      return null;
    }
  }

  /** What RequestValidatorImpl.validate does, with the body already validated: each parameter, in contract order. */
  private static ValidatedRequest withParameters(RequestValidatorImpl validator, Operation operation,
                                                 ValidatableRequest request, JsonObject body) {
    Map<String, RequestParameter> cookies = new HashMap<>();
    Map<String, RequestParameter> headers = new HashMap<>();
    Map<String, RequestParameter> path = new HashMap<>();
    Map<String, RequestParameter> query = new HashMap<>();
    for (Parameter param : operation.getParameters()) {
      String name = param.getName();
      switch (param.getIn()) {
        case COOKIE -> cookies.put(name, validator.validateParameter(param, request.getCookies().get(name)));
        case HEADER -> headers.put(name, validator.validateParameter(param, request.getHeaders().get(name)));
        case PATH -> path.put(name, validator.validateParameter(param, request.getPathParameters().get(name)));
        case QUERY -> query.put(name, validator.validateParameter(param, request.getQuery().get(name)));
      }
    }
    return new ValidatedRequestImpl(cookies, headers, path, query, new RequestParameterImpl(body));
  }
}
