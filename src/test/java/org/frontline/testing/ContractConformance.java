package org.frontline.testing;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.json.schema.Draft;
import io.vertx.json.schema.JsonSchema;
import io.vertx.json.schema.JsonSchemaOptions;
import io.vertx.json.schema.OutputFormat;
import io.vertx.json.schema.OutputUnit;
import io.vertx.json.schema.SchemaRepository;
import io.vertx.json.schema.Validator;
import io.vertx.openapi.impl.OpenAPIFormatValidator;
import org.frontline.platform.http.CompiledSchema;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Checks answers of the API against the contract, the whole served file (raw routes and problem media types
 * included): for a request to an operation of the contract, the status must be declared for that operation (or
 * covered by {@code NXX} or {@code default}), every header the response declares {@code required} present and every
 * declared header that is present valid against its schema, the Content-Type one of the response's media types, a
 * JSON body valid against that media type's schema (a problem's {@code status} equal to the HTTP status), and no
 * body where the response declares none; also (stricter than JSON Schema) no object member the schema does not
 * name, unless it allows additional properties, and every date-time in UTC (API.md). HEAD answers are checked for status and headers only. The contract also
 * promises that every response carries {@code X-Request-Id}, and that every error is a problem: a 500 (a bug, which
 * no operation declares; some tests provoke one on purpose), a 414 or a 431 (a request line or header fields too
 * long) and a 400 to a request-target that does not decode (%zz), refused before any operation as the contract's
 * description says, need not be declared but must be a valid problem. Requests to anything else (the contract file itself,
 * unknown paths, methods a path does not declare, the object store) are not checked.
 *
 * <p>Schemas are checked with {@link CompiledSchema} first (the request validator's own compiler); a document it does
 * not accept, and a schema it cannot compile, go to vertx-json-schema (2020-12, with vertx-openapi's formats), which
 * decides and words the violation, as for requests.
 */
public final class ContractConformance {
  private static final String BASE = "app:///openapi.yaml";
  private static final String PROBLEM = "application/problem+json";
  private static final Pattern TEMPLATE = Pattern.compile("\\{[^}/]+}");

  /** What an undeclared 500 must be: "Every error is an RFC 9457 problem" (the contract's description). */
  private static final JsonObject INTERNAL_ERROR = new JsonObject().put("content", new JsonObject()
      .put(PROBLEM, new JsonObject().put("schema", new JsonObject().put("$ref", "#/components/schemas/Problem"))));

  /** Answers to requests the server cannot read as HTTP, refused before any operation: declared once, for all. */
  private static final java.util.Set<Integer> BEFORE_ANY_OPERATION = java.util.Set.of(414, 431);

  private record PathEntry(String template, Pattern pattern, int templated, JsonObject item, String pointer) {}

  private record Resolved(JsonObject value, String pointer) {}

  private record SchemaCheck(Optional<CompiledSchema> compiled, Validator validator) {}

  private final JsonObject model;
  private final List<PathEntry> paths = new ArrayList<>();
  private final SchemaRepository repository;
  private final Map<String, SchemaCheck> checks = new ConcurrentHashMap<>();
  private final Queue<String> violations = new ConcurrentLinkedQueue<>();
  private final java.util.concurrent.atomic.LongAdder answers = new java.util.concurrent.atomic.LongAdder();
  private final java.util.concurrent.atomic.LongAdder nanos = new java.util.concurrent.atomic.LongAdder();

  /** {@code model}: the contract as JSON (the served YAML, parsed); it is not changed. */
  public ContractConformance(JsonObject model) {
    this.model = model.copy();
    JsonObject all = this.model.getJsonObject("paths", new JsonObject());
    for (String template : all.fieldNames()) {
      StringBuilder regex = new StringBuilder("^");
      Matcher m = TEMPLATE.matcher(template);
      int at = 0;
      int templated = 0;
      while (m.find()) {
        regex.append(Pattern.quote(template.substring(at, m.start()))).append("[^/]+");
        at = m.end();
        templated++;
      }
      regex.append(Pattern.quote(template.substring(at))).append('$');
      paths.add(new PathEntry(template, Pattern.compile(regex.toString()), templated, all.getJsonObject(template),
          "/paths/" + escape(template)));
    }
    // OpenAPI: a concrete path wins over a templated one of the same shape (/v1/reports/batch over /v1/reports/{id}).
    paths.sort(Comparator.comparingInt(PathEntry::templated));
    repository = SchemaRepository.create(new JsonSchemaOptions().setDraft(Draft.DRAFT202012).setBaseUri(BASE)
        .setOutputFormat(OutputFormat.Basic), new OpenAPIFormatValidator());
    repository.dereference(BASE, JsonSchema.of(model.copy()));
  }

  /**
   * Checks one answer and keeps its violations (see {@link #drain}); answers the violations found.
   *
   * @param uri    the request's path and query, as sent
   * @param header the answer's header of a name (case-insensitive), or null
   * @param body   the answer's body, or null when it had none
   */
  public List<String> check(String method, String uri, int status, Function<String, String> header, Buffer body) {
    return check(method, uri, status, header, body, true);
  }

  /** As {@link #check(String, String, int, Function, Buffer)}; {@code bodyRead} false: the body is unknown. */
  public List<String> check(String method, String uri, int status, Function<String, String> header, Buffer body,
                            boolean bodyRead) {
    long t0 = System.nanoTime();
    try {
      return checked(method, uri, status, header, body, bodyRead);
    } finally {
      answers.increment();
      nanos.add(System.nanoTime() - t0);
    }
  }

  /** How many answers were checked and the time it took, for the log at the end of a run. */
  public String summary() {
    return String.format("contract check: %d answers in %d ms", answers.sum(), nanos.sum() / 1_000_000);
  }

  private List<String> checked(String method, String uri, int status, Function<String, String> header,
                               Buffer body, boolean bodyRead) {
    List<String> found = new ArrayList<>();
    String path = uri.indexOf('?') < 0 ? uri : uri.substring(0, uri.indexOf('?'));
    String verb = method.toLowerCase(Locale.ROOT);
    PathEntry entry = paths.stream().filter(p -> p.pattern().matcher(path).matches()).findFirst().orElse(null);
    if (entry == null || !(entry.item().getValue(verb) instanceof JsonObject operation)) {
      return found;
    }
    String name = operation.getString("operationId", entry.template());
    try {
      checkOperation(operation, entry.pointer() + "/" + verb, method, uri, status, header, body, bodyRead, found);
    } catch (RuntimeException e) {
      found.add("the conformance check itself failed: " + e);
    }
    List<String> described = found.stream()
        .map(v -> name + ": " + method + " " + uri + " -> " + status + ": " + v).toList();
    violations.addAll(described);
    return described;
  }

  /** False when {@code uri} holds a percent sign not followed by two hex digits (RFC 3986 2.1). */
  private static boolean decodes(String uri) {
    return !Pattern.compile("%(?![0-9a-fA-F]{2})").matcher(uri).find();
  }

  /** The violations kept since the last call, oldest first; forgets them. */
  public List<String> drain() {
    List<String> all = new ArrayList<>();
    for (String v; (v = violations.poll()) != null; ) {
      all.add(v);
    }
    return all;
  }

  private void checkOperation(JsonObject operation, String pointer, String method, String uri, int status,
                              Function<String, String> header, Buffer body, boolean bodyRead,
                              List<String> found) {
    JsonObject responses = operation.getJsonObject("responses", new JsonObject());
    String key = String.valueOf(status);
    if (!responses.containsKey(key)) {
      key = responses.containsKey(status / 100 + "XX") ? status / 100 + "XX" : "default";
    }
    // A request line or header fields too long to read, or a request-target whose percent-encoding does not decode
    // (%zz), are refused before any operation (the contract's description: 414, 431, 400 on any path), so without
    // the headers an operation's answers carry (a tus route's Tus-Resumable).
    boolean beforeAnyOperation = BEFORE_ANY_OPERATION.contains(status) || status == 400 && !decodes(uri);
    Resolved response;
    if (!beforeAnyOperation && responses.containsKey(key)) {
      response = resolve(responses.getValue(key), pointer + "/responses/" + escape(key));
    } else if (status == 500 || beforeAnyOperation) {
      // An internal error is a bug, which no operation declares (tests provoke some on purpose, e.g. a corrupted
      // row). The contract still promises that each of these is a problem like every other error.
      response = new Resolved(INTERNAL_ERROR, "/x-internal-error");
    } else {
      found.add("status " + status + " is not declared (declared: "
          + String.join(", ", responses.fieldNames()) + ")" + excerpt(body));
      return;
    }
    if (header.apply("X-Request-Id") == null) {
      found.add("no X-Request-Id (the contract: every response carries one)");
    }
    checkHeaders(response, header, found);
    boolean head = "HEAD".equalsIgnoreCase(method) || !bodyRead;
    JsonObject content = response.value().getJsonObject("content");
    boolean hasBody = body != null && body.length() > 0;
    if (content == null || content.isEmpty()) {
      if (hasBody && !head) {
        found.add("a body (" + header.apply("Content-Type") + ") where the contract declares none" + excerpt(body));
      }
      return;
    }
    if (head) {
      return;
    }
    String contentType = header.apply("Content-Type");
    if (contentType == null) {
      found.add("no Content-Type (declared: " + String.join(", ", content.fieldNames()) + ")" + excerpt(body));
      return;
    }
    String type = contentType.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
    String declared = content.fieldNames().stream().filter(d -> matches(d, type)).findFirst().orElse(null);
    if (declared == null) {
      found.add("Content-Type " + contentType + " is not declared (declared: "
          + String.join(", ", content.fieldNames()) + ")" + excerpt(body));
      return;
    }
    if (!(type.equals("application/json") || type.endsWith("+json"))) {
      return;
    }
    Object document;
    try {
      document = hasBody ? Json.decodeValue(body) : null;
    } catch (DecodeException e) {
      found.add("the " + type + " body is not JSON: " + e.getMessage() + excerpt(body));
      return;
    }
    if (!hasBody) {
      found.add("no body, where the contract declares " + declared);
      return;
    }
    JsonObject media = content.getJsonObject(declared);
    if (media != null && media.containsKey("schema")) {
      String schemaPointer = response.pointer() + "/content/" + escape(declared) + "/schema";
      List<String> errors = validate(schemaPointer, media.getValue("schema"), document);
      if (!errors.isEmpty()) {
        found.add("the body does not match " + describe(media.getValue("schema")) + ": "
            + String.join("; ", errors) + excerpt(body));
      }
    }
    if (media != null && media.containsKey("schema")) {
      List<String> extra = new ArrayList<>();
      List<String> local = new ArrayList<>();
      undeclared(media.getValue("schema"), document, "", extra, local, 0);
      if (!extra.isEmpty()) {
        found.add("fields the contract does not declare (a renamed or undocumented field): "
            + String.join(", ", extra.stream().limit(8).toList()) + excerpt(body));
      }
      if (!local.isEmpty()) {
        found.add("date-times not in UTC (API.md: RFC 3339 in UTC): "
            + String.join(", ", local.stream().limit(8).toList()) + excerpt(body));
      }
    }
    if (type.equals(PROBLEM) && document instanceof JsonObject problem && problem.getValue("status") != null
        && !(problem.getValue("status") instanceof Number n && n.doubleValue() == status)) {
      found.add("the problem's status " + problem.getValue("status") + " is not the HTTP status (RFC 9457)");
    }
  }

  private void checkHeaders(Resolved response, Function<String, String> header, List<String> found) {
    JsonObject headers = response.value().getJsonObject("headers");
    if (headers == null) {
      return;
    }
    for (String name : headers.fieldNames()) {
      if (name.equalsIgnoreCase("Content-Type")) {
        continue; // OpenAPI: ignored when declared as a header
      }
      Resolved declared = resolve(headers.getValue(name), response.pointer() + "/headers/" + escape(name));
      String value = header.apply(name);
      if (value == null) {
        if (declared.value().getBoolean("required", false)) {
          found.add("no " + name + " header, which the contract requires");
        }
        continue;
      }
      Object schema = declared.value().getValue("schema");
      if (!(schema instanceof JsonObject s)) {
        continue;
      }
      Resolved target = resolveSchema(s, declared.pointer() + "/schema");
      Object typed = value;
      String t = target.value().getString("type");
      try {
        if ("integer".equals(t)) {
          typed = Long.parseLong(value.trim());
        } else if ("number".equals(t)) {
          typed = Double.parseDouble(value.trim());
        } else if ("boolean".equals(t) && (value.equals("true") || value.equals("false"))) {
          typed = Boolean.parseBoolean(value);
        }
      } catch (NumberFormatException e) {
        found.add(name + " header \"" + value + "\" is not " + t);
        continue;
      }
      List<String> errors = validate(declared.pointer() + "/schema", schema, typed);
      if (!errors.isEmpty()) {
        found.add(name + " header \"" + value + "\": " + String.join("; ", errors));
      }
    }
  }

  /** The errors of {@code document} against the schema at {@code pointer} (empty: valid). */
  private List<String> validate(String pointer, Object schema, Object document) {
    if (schema instanceof JsonObject s && s.size() == 1 && s.getValue("$ref") instanceof String ref
        && ref.startsWith("#/")) {
      pointer = ref.substring(1); // one check per named schema, however many responses refer to it
    }
    SchemaCheck check = checks.computeIfAbsent(pointer, p -> new SchemaCheck(
        CompiledSchema.compile(schema, model),
        // By its place in the contract registered at BASE (as the repository names it: braces percent-encoded).
        repository.validator(JsonSchema.of(new JsonObject()
            .put("$ref", BASE + "#" + p.replace("{", "%7B").replace("}", "%7D"))))));
    if (check.compiled().isPresent() && check.compiled().get().accepts(document)) {
      return List.of();
    }
    OutputUnit result = check.validator().validate(document);
    if (Boolean.TRUE.equals(result.getValid())) {
      return List.of();
    }
    List<OutputUnit> errors = result.getErrors() == null ? List.of() : result.getErrors();
    List<String> leaves = errors.stream()
        .filter(e -> e.getError() != null && !e.getError().startsWith("A subschema had errors")
            && !e.getError().contains("does not match schema") && !e.getError().startsWith("Item at index"))
        .map(e -> e.getInstanceLocation() + ": " + e.getError())
        .distinct().limit(6).collect(Collectors.toList());
    if (leaves.isEmpty()) {
      leaves = errors.stream().map(e -> e.getInstanceLocation() + ": " + e.getError()).distinct().limit(6).toList();
    }
    return leaves.isEmpty() ? List.of(String.valueOf(result)) : leaves;
  }

  /**
   * The members of {@code instance} that its schema does not name, as JSON pointers. Stricter than JSON Schema,
   * which lets an object without {@code additionalProperties} carry anything: an answer's field the contract does not
   * name is a field clients were never told of, or one renamed on one side only. An object whose schema says
   * {@code additionalProperties} (anything, or a schema), or names no properties at all, or combines schemas with
   * anyOf/oneOf, is left alone. Also collects into {@code local} the date-times not in UTC ("Z"), which API.md
   * fixes for every timestamp (JSON Schema's date-time takes any offset).
   */
  private void undeclared(Object schema, Object instance, String at, List<String> out, List<String> local,
                          int depth) {
    if (depth > 32 || out.size() > 8 || local.size() > 8) {
      return;
    }
    List<JsonObject> schemas = new ArrayList<>();
    gather(schema, schemas, 0);
    if (instance instanceof String text) {
      if (!text.endsWith("Z") && schemas.stream().anyMatch(s -> "date-time".equals(s.getValue("format")))) {
        local.add((at.isEmpty() ? "/" : at) + " " + text);
      }
    } else if (instance instanceof JsonObject object) {
      Map<String, Object> declared = new java.util.LinkedHashMap<>();
      boolean open = false;
      for (JsonObject s : schemas) {
        open |= s.containsKey("additionalProperties") || s.containsKey("anyOf") || s.containsKey("oneOf");
        JsonObject properties = s.getJsonObject("properties");
        if (properties != null) {
          properties.forEach(p -> declared.putIfAbsent(p.getKey(), p.getValue()));
        }
      }
      for (String key : object.fieldNames()) {
        String where = at + "/" + key.replace("~", "~0").replace("/", "~1");
        if (declared.containsKey(key)) {
          undeclared(declared.get(key), object.getValue(key), where, out, local, depth + 1);
        } else if (!open && !declared.isEmpty()) {
          out.add(where);
        }
      }
    } else if (instance instanceof JsonArray array) {
      for (JsonObject s : schemas) {
        if (s.containsKey("items")) {
          for (int i = 0; i < array.size(); i++) {
            undeclared(s.getValue("items"), array.getValue(i), at + "/" + i, out, local, depth + 1);
          }
          return;
        }
      }
    }
  }

  /** {@code schema} and what it brings in through $ref and allOf, resolved. */
  private void gather(Object schema, List<JsonObject> into, int hops) {
    if (!(schema instanceof JsonObject s) || hops > 32) {
      return;
    }
    into.add(s);
    if (s.getValue("$ref") instanceof String ref && ref.startsWith("#/")) {
      gather(at(ref.substring(1)), into, hops + 1);
    }
    if (s.getValue("allOf") instanceof JsonArray all) {
      all.forEach(sub -> gather(sub, into, hops + 1));
    }
  }

  private Resolved resolve(Object value, String pointer) {
    Object current = value;
    String at = pointer;
    for (int hops = 0; current instanceof JsonObject o && o.getValue("$ref") instanceof String ref; hops++) {
      if (!ref.startsWith("#/") || hops > 20) {
        throw new IllegalStateException("cannot follow $ref " + ref);
      }
      at = ref.substring(1);
      current = at(at);
    }
    if (!(current instanceof JsonObject resolved)) {
      throw new IllegalStateException("not an object at " + at);
    }
    return new Resolved(resolved, at);
  }

  private Resolved resolveSchema(JsonObject schema, String pointer) {
    return schema.getValue("$ref") instanceof String ? resolve(schema, pointer) : new Resolved(schema, pointer);
  }

  private Object at(String pointer) {
    Object current = model;
    for (String token : pointer.substring(1).split("/")) {
      String key = token.replace("~1", "/").replace("~0", "~");
      current = current instanceof JsonObject o ? o.getValue(key)
          : current instanceof JsonArray a ? a.getValue(Integer.parseInt(key)) : null;
    }
    return current;
  }

  private static boolean matches(String declared, String type) {
    String d = declared.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
    if (d.equals(type) || d.equals("*/*")) {
      return true;
    }
    return d.endsWith("/*") && type.startsWith(d.substring(0, d.length() - 1));
  }

  private static String describe(Object schema) {
    return schema instanceof JsonObject s && s.getValue("$ref") instanceof String ref
        ? ref.substring(ref.lastIndexOf('/') + 1) : "its schema";
  }

  private static String excerpt(Buffer body) {
    if (body == null || body.length() == 0) {
      return "";
    }
    String text = body.toString();
    return " [body: " + (text.length() > 400 ? text.substring(0, 400) + "..." : text) + "]";
  }

  private static String escape(String token) {
    return token.replace("~", "~0").replace("/", "~1");
  }
}
