package org.frontline.platform.http;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.Map;

/**
 * An RFC 9457 problem. The {@code type} is a stable URN per cause (see {@link ProblemType}); {@code errors} names
 * each invalid field for validation problems; {@code headers} are sent with it (WWW-Authenticate, Retry-After...).
 */
public record Problem(ProblemType type, String title, int status, String detail, List<FieldError> errors,
                      Map<String, String> headers, Map<String, Object> extensions) {

  public static final String MEDIA_TYPE = "application/problem+json";

  /** One invalid input: where it is (a JSON pointer into the body, or "query/limit", "header/X-..."), and why. */
  public record FieldError(String field, String reason) {
    public JsonObject toJson() {
      return new JsonObject().put("field", field).put("reason", reason);
    }
  }

  public Problem {
    errors = errors == null ? List.of() : List.copyOf(errors);
    headers = headers == null ? Map.of() : Map.copyOf(headers);
    extensions = extensions == null ? Map.of() : Map.copyOf(extensions);
  }

  public static Problem of(ProblemType type, String detail) {
    return new Problem(type, type.title(), type.status(), detail, List.of(), Map.of(), Map.of());
  }

  public Problem withErrors(List<FieldError> fieldErrors) {
    return new Problem(type, title, status, detail, fieldErrors, headers, extensions);
  }

  public Problem withHeader(String name, String value) {
    Map<String, String> h = new java.util.LinkedHashMap<>(headers);
    h.put(name, value);
    return new Problem(type, title, status, detail, errors, h, extensions);
  }

  public Problem with(String extension, Object value) {
    Map<String, Object> e = new java.util.LinkedHashMap<>(extensions);
    e.put(extension, value);
    return new Problem(type, title, status, detail, errors, headers, e);
  }

  public ProblemException toException() {
    return new ProblemException(this);
  }

  public JsonObject toJson(String instance, String requestId) {
    JsonObject json = new JsonObject()
        .put("type", type.uri())
        .put("title", title)
        .put("status", status)
        .put("detail", detail);
    if (instance != null) {
      json.put("instance", instance);
    }
    if (!errors.isEmpty()) {
      json.put("errors", new JsonArray(errors.stream().map(FieldError::toJson).toList()));
    }
    extensions.forEach(json::put);
    if (requestId != null) {
      json.put("requestId", requestId);
    }
    return json;
  }
}
