package org.frontline.platform.http;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.Json;
import io.vertx.json.schema.common.dsl.SchemaType;
import io.vertx.ext.web.openapi.router.RouterBuilder;
import io.vertx.openapi.contract.Location;
import io.vertx.openapi.contract.MediaType;
import io.vertx.openapi.contract.Operation;
import io.vertx.openapi.contract.Parameter;
import io.vertx.openapi.validation.RequestParameter;
import io.vertx.openapi.validation.ValidatableRequest;
import io.vertx.openapi.validation.ValidatedRequest;
import io.vertx.openapi.validation.impl.RequestParameterImpl;
import io.vertx.openapi.validation.impl.RequestValidatorImpl;
import io.vertx.openapi.validation.impl.ValidatableRequestImpl;
import io.vertx.openapi.validation.impl.ValidatedRequestImpl;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

/**
 * The validation step of a route (handlers read the result under KEY_META_DATA_VALIDATED_REQUEST).
 *
 * <p>A JSON body whose schema compiled ({@link CompiledSchema}) and which that schema accepts is taken at once, on
 * the event loop: parsed once (by {@code rc.body().asJsonObject()}, which caches it, so handlers reading it get the
 * same object), its parameters validated by vertx-openapi as always. Anything else (no body, another media type,
 * malformed JSON, a body the compiled schema rejects, an operation whose schema did not compile) takes vertx's
 * whole validation, unchanged: vertx decides every refusal and the problem is written from its errors. Should vertx
 * accept a body the compiled schema refused, it is accepted (vertx is the reference) and a warning logged once.
 *
 * <p>The parameters are handed to the validator as the handlers read them ({@link #validatable}), not through
 * vertx-openapi's RequestUtils (RequestExtractor), which URL-decodes values vertx has already decoded.
 */
final class RequestValidation {
  private static final Logger log = LoggerFactory.getLogger(RequestValidation.class);

  private RequestValidation() {}

  /**
   * An operation and the contract it is in: what a refusal's field errors are worded from (ContractViolations),
   * put on the context only when the validator refuses a request.
   */
  record Refusals(Operation operation, JsonObject document) {
    static final String KEY = "frontline.validation.refused";

    /** Fails {@code rc} with {@code e}, leaving this for the problem's wording. */
    void fail(RoutingContext rc, Throwable e) {
      rc.put(KEY, this);
      rc.fail(e);
    }
  }

  static Handler<RoutingContext> of(RequestValidatorImpl validator, Refusals refusals,
                                    Optional<CompiledSchema> compiledBody) {
    Operation operation = refusals.operation();
    String operationId = operation.getOperationId();
    for (Parameter param : operation.getParameters()) {
      if (param.getIn() == Location.COOKIE) {
        // validatable() hands the validator no cookie: refuse at start rather than skip a declared check.
        throw new IllegalStateException("operation " + operationId + ": cookie parameters are not supported");
      }
    }
    MediaType json = operation.getRequestBody() == null ? null
        : operation.getRequestBody().getContent().get(MediaType.APPLICATION_JSON);
    CompiledSchema body = json == null ? null : compiledBody.orElse(null);
    boolean checkStrings = json != null && !StorableStrings.SELF_CHECKED.contains(operationId);
    AtomicBoolean warned = new AtomicBoolean();
    return rc -> {
      ValidatableRequest request;
      try {
        request = validatable(rc, operation);
      } catch (RuntimeException e) {
        // A query string that cannot be decoded at all (a lone "%" or "%zz"): vertx-web's 400; a Content-Type the
        // operation does not declare: 415.
        rc.fail(e);
        return;
      }
      boolean rejected = false;
      boolean sampled = false;
      if (body != null) {
        JsonObject parsed = jsonBody(rc, request, operation, json);
        if (parsed != null) {
          if (body.accepts(parsed)) {
            ValidatedRequest validated;
            try {
              validated = withParameters(validator, operation, rc, request, parsed);
            } catch (RuntimeException e) {
              refusals.fail(rc, e);
              return;
            }
            ProblemException unstorable = StrictJson.check(rc.body().buffer());
            if (unstorable == null && checkStrings) {
              unstorable = StorableStrings.check(parsed, "body");
            }
            if (unstorable != null) {
              rc.fail(unstorable);
              return;
            }
            rc.put(RouterBuilder.KEY_META_DATA_VALIDATED_REQUEST, validated);
            rc.next();
            return;
          }
          rejected = true;
          Object sample = RefusalSample.of(parsed, json.getSchema(), refusals.document());
          if (sample != parsed) {
            request = withBody(request, Buffer.buffer(Json.encode(sample)));
            sampled = true;
          }
        }
      }
      boolean compiledRejected = rejected;
      boolean wordedFromSample = sampled;
      validator.validate(request, operationId)
          .onSuccess(validated -> {
            if (wordedFromSample) {
              // The whole body was refused; a part of it passing says nothing (see RefusalSample).
              rc.fail(new ProblemException(ContractViolations.refusedAsAWhole()));
              return;
            }
            if (compiledRejected && warned.compareAndSet(false, true)) {
              log.warn("The compiled schema of {} refused a body vertx-json-schema accepts: the compiler and vertx "
                  + "disagree (vertx wins); see CompiledSchemaEquivalenceTest", operationId);
            }
            RequestParameter validBody = validated.getBody();
            boolean jsonBody = json != null && validBody != null && !validBody.isNull();
            ProblemException unstorable = jsonBody ? StrictJson.check(rc.body().buffer()) : null;
            if (unstorable == null && checkStrings && jsonBody) {
              unstorable = StorableStrings.check(validBody.get(), "body");
            }
            if (unstorable != null) {
              rc.fail(unstorable);
              return;
            }
            rc.put(RouterBuilder.KEY_META_DATA_VALIDATED_REQUEST, validated);
            rc.next();
          })
          .onFailure(e -> refusals.fail(rc, e));
    };
  }

  /**
   * The request as vertx-openapi's validator reads it, each parameter as the handlers read it: the query decoded
   * once as form data ({@code rc.queryParams()}: "%2B" is "+", "%25" is "%", a bare "+" is a space), path
   * parameters as the router decoded them ({@code rc.pathParam}, RFC 3986: "+" stays "+"), header values as sent.
   * vertx-openapi 5.0's own extraction (RequestUtils, behind RequestExtractor) URL-decodes the values again, after
   * vertx has decoded them (eclipse-vertx/vertx-openapi#117, #124): "%2B08:00" became " 08:00" (not a date-time)
   * and "%25" a lone "%" ("Can't decode URL value", a 400 naming no parameter). Headers were decoded too, though
   * nothing encodes them. Values are laid out as its form transformer expects them: the first value, or
   * "name=v1&amp;name=v2" for an exploded array (an exploded object: every query pair).
   */
  static ValidatableRequest validatable(RoutingContext rc, Operation operation) {
    Parameters p = parameters(rc, operation);
    if (operation.getRequestBody() == null) {
      return new ValidatableRequestImpl(Map.of(), p.headers(), p.path(), p.query());
    }
    // The route's body step (RequestBodies) has read the body, as with RequestExtractor.withBodyHandler().
    return new ValidatableRequestImpl(Map.of(), p.headers(), p.path(), p.query(),
        new RequestParameterImpl(rc.body().buffer()), declaredMediaType(rc, operation));
  }

  /** {@code request} with another body (same media type). */
  private static ValidatableRequest withBody(ValidatableRequest request, Buffer body) {
    return new ValidatableRequestImpl(Map.of(), request.getHeaders(), request.getPathParameters(),
        request.getQuery(), new RequestParameterImpl(body), request.getContentType());
  }

  /** A request's header, path and query parameters by name (as sent, or as validated). */
  private record Parameters(Map<String, RequestParameter> headers, Map<String, RequestParameter> path,
                            Map<String, RequestParameter> query) {}

  /** The operation's parameters as the handlers read them (see {@link #validatable}). */
  private static Parameters parameters(RoutingContext rc, Operation operation) {
    Map<String, RequestParameter> headers = new HashMap<>();
    Map<String, RequestParameter> path = new HashMap<>();
    Map<String, RequestParameter> query = new HashMap<>();
    MultiMap queryParams = null;
    for (Parameter param : operation.getParameters()) {
      String name = param.getName();
      switch (param.getIn()) {
        case HEADER -> headers.put(name, sent(param, storable("header/" + name, rc.request().getHeader(name))));
        case PATH -> path.put(name, sent(param, storable("path/" + name, rc.pathParam(name))));
        case QUERY -> {
          queryParams = queryParams == null ? rc.queryParams() : queryParams;
          query.put(name, sent(param, formValue(param, queryParams)));
        }
        case COOKIE -> { } // refused when the route is built (of)
      }
    }
    return new Parameters(headers, path, query);
  }

  /**
   * {@code value}, or a 400 naming {@code field} when it holds a string no handler could use as sent: a NUL
   * ({@code %00}; PostgreSQL takes none in text: a filter on it was a 500) or a lone surrogate (see StorableStrings).
   */
  private static String storable(String field, String value) {
    ProblemException unstorable = value == null ? null : StorableStrings.check(value, field);
    if (unstorable != null) {
      throw unstorable;
    }
    return value;
  }

  /**
   * A parameter's value as the validator's transformer must be given it to read what the handler reads. vertx-openapi
   * 5.0.7's {@code ParameterTransformer.transformPrimitive} reads a string parameter as JSON unless it is a plain word
   * (later versions take it as it is): a quoted id ({@code %22<uuid>%22}) passed validation as the bare id while the
   * handler read the quotes (UUID.fromString threw: a 500 on every path id), {@code null} passed as absent, and
   * {@code -1} failed as a number. A string parameter is handed over as a JSON string, which decodes to exactly the
   * handler's value. None of the contract's parameters is an array or object of strings.
   */
  private static RequestParameter sent(Parameter param, String value) {
    boolean string = value != null && param.getSchemaType() == SchemaType.STRING;
    return new RequestParameterImpl(string ? Json.encode(value) : value);
  }

  /**
   * The body step's check of the parameters (RequestBodies), before the body is read: none of them needs it, so a
   * bad path id or query value is refused (400, a {@code ValidatorException} thrown) before a 100 Continue, its
   * body unread; it came after the 100 and the whole body. The validated parameters are kept for the validation
   * step, which takes them as they are.
   */
  static void checkParameters(RequestValidatorImpl validator, Refusals refusals, RoutingContext rc) {
    Operation operation = refusals.operation();
    try {
      rc.put(VALIDATED_PARAMETERS, validate(validator, operation, parameters(rc, operation)));
    } catch (RuntimeException e) {
      rc.put(Refusals.KEY, refusals);
      throw e;
    }
  }

  /** The parameters {@link #checkParameters} validated before the body was read. */
  private static final String VALIDATED_PARAMETERS = "frontline.parameters.validated";

  /**
   * The request's Content-Type as the media type the operation declares, or a 415 problem when it declares none
   * such. vertx-openapi 5.0 ({@code RequestBodyImpl.determineContentType}) compares case-sensitively and then by
   * prefix: {@code APPLICATION/JSON} was a 415 though media types are case-insensitive (RFC 9110 8.3.1), and
   * {@code application/jsonfoo} or {@code application/json-patch+json} were taken as JSON. Parameters (a charset)
   * are dropped, as before: a JSON body is read as UTF-8 whatever it says (RFC 8259 8.1). No Content-Type is left
   * for vertx to judge.
   */
  static String declaredMediaType(RoutingContext rc, Operation operation) {
    String header = rc.request().getHeader(HttpHeaders.CONTENT_TYPE);
    if (header == null) {
      return null;
    }
    String essence = header.split(";", 2)[0].strip().toLowerCase(java.util.Locale.ROOT);
    if (operation.getRequestBody().getContent().containsKey(essence)) {
      return essence;
    }
    throw new ProblemException(Problem.of(ProblemType.UNSUPPORTED_MEDIA_TYPE, "Content-Type '" + header
        + "' is not accepted here; send " + String.join(" or ", operation.getRequestBody().getContent().keySet())
        + "."));
  }

  /**
   * A query parameter's decoded values as one string for the form transformer; null when absent. A parameter that
   * takes one value (all but an exploded array or object) sent more than once is a 400 naming it.
   */
  private static String formValue(Parameter param, MultiMap queryParams) {
    List<String> values = queryParams.getAll(param.getName());
    if (values.isEmpty()) {
      return null;
    }
    String field = "query/" + param.getName();
    values.forEach(v -> storable(field, v));
    boolean exploded = param.isExplode() && (param.getSchemaType() == SchemaType.ARRAY
        || param.getSchemaType() == SchemaType.OBJECT);
    if (values.size() > 1 && !exploded) {
      // Only the first was read: ?unitId=A&unitId=B listed A's alone, as if B had not been asked for.
      throw new ProblemException(Problem.of(ProblemType.VALIDATION_FAILED, "The request does not match the contract.")
          .withErrors(List.of(new Problem.FieldError(field, "sent more than once"))));
    }
    return switch (param.getSchemaType()) {
      case ARRAY -> exploded
          ? values.stream().map(v -> param.getName() + "=" + v).collect(Collectors.joining("&"))
          : values.get(0);
      case OBJECT -> exploded
          ? queryParams.entries().stream().map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining("&"))
          : values.get(0);
      default -> values.get(0);
    };
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

  /**
   * What RequestValidatorImpl.validate does, with the body already validated: each parameter, in contract order
   * (already done when the body step checked them before reading the body).
   */
  private static ValidatedRequest withParameters(RequestValidatorImpl validator, Operation operation,
                                                 RoutingContext rc, ValidatableRequest request, JsonObject body) {
    Parameters validated = rc.get(VALIDATED_PARAMETERS);
    if (validated == null) {
      validated = validate(validator, operation, new Parameters(request.getHeaders(), request.getPathParameters(),
          request.getQuery()));
    }
    return new ValidatedRequestImpl(Map.of(), validated.headers(), validated.path(), validated.query(),
        new RequestParameterImpl(body));
  }

  /** Each of the operation's parameters validated, in contract order; the first invalid one throws. */
  private static Parameters validate(RequestValidatorImpl validator, Operation operation, Parameters sent) {
    Map<String, RequestParameter> headers = new HashMap<>();
    Map<String, RequestParameter> path = new HashMap<>();
    Map<String, RequestParameter> query = new HashMap<>();
    for (Parameter param : operation.getParameters()) {
      String name = param.getName();
      switch (param.getIn()) {
        case HEADER -> headers.put(name, validator.validateParameter(param, sent.headers().get(name)));
        case PATH -> path.put(name, validator.validateParameter(param, sent.path().get(name)));
        case QUERY -> query.put(name, validator.validateParameter(param, sent.query().get(name)));
        case COOKIE -> { } // refused when the route is built (of)
      }
    }
    return new Parameters(headers, path, query);
  }
}
