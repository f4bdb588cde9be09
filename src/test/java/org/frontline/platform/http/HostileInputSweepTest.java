package org.frontline.platform.http;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.openapi.impl.Utils;
import org.frontline.dev.DemoOrganisation;
import org.frontline.identity.AccessRules;
import org.frontline.identity.AccountBootstrap.Account;
import org.frontline.identity.Caller;
import org.frontline.identity.ScopeMatrixTestAccess;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.math.BigInteger;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.testing.TestEnvironment.await;

/**
 * A hostile-input sweep over the whole contract: for every operation of api-spec/openapi.yaml, as a caller allowed
 * to call it, a set of hostile variants derived from the operation's schema (each body property mistyped, null,
 * empty, huge, holding a NUL or a lone surrogate, a far exponent, a huge integer, nested 10,000 deep, named twice;
 * an unknown property; the body unreadable, truncated, of the wrong top-level type, empty, of another media type,
 * over the limit; each parameter empty, huge, not its format, percent-encoded NUL or invalid, repeated; limits and
 * cursors out of range or of another list; Idempotency-Key empty, huge, non-ASCII). Every variant must get a 4xx
 * RFC 9457 problem of a {@link ProblemType}, never a 5xx, and change no row of the database. Driven by the contract:
 * a new operation is swept without editing this class.
 */
@FrontlineTest
class HostileInputSweepTest {
  private static final String PROBLEM = "application/problem+json";
  private static final Set<String> PROBLEM_TYPES = Arrays.stream(ProblemType.values()).map(ProblemType::uri)
      .collect(Collectors.toSet());
  private static final List<String> METHODS = List.of("get", "put", "post", "delete", "patch", "head", "options");
  /** What a JSON body's property is replaced with, when its schema refuses it or the platform must. */
  private static final String MARK = "\"hostile-sweep-mark\"";
  private static final String DEEP = "[".repeat(10_000) + "]".repeat(10_000);
  private static final String TWO_TO_THE_64 = BigInteger.TWO.pow(64).toString();
  /**
   * Tables a refused request does not write but the service may, at any moment: the audit head's checkpoint, the
   * feed clock's tick; and what counts a partner's calls.
   */
  private static final Set<String> BACKGROUND_TABLES = Set.of("flyway_schema_history", "audit_head", "feed_clock",
      // a partner client's calls are counted, whatever their answer, before its role is checked (PartnerCallers)
      "partner_rate");
  /** Body fields whose sample is an existing object (so a variant reaches as far as a real request would). */
  private static final Map<String, Object> SAMPLE_IDS = Map.ofEntries(
      Map.entry("unitId", DemoOrganisation.HUAISI), Map.entry("homeUnitId", DemoOrganisation.HUAISI),
      Map.entry("parentId", DemoOrganisation.HANJIANG), Map.entry("newParentId", DemoOrganisation.HANJIANG),
      Map.entry("newUnitId", DemoOrganisation.HANJIANG), Map.entry("unitIds", DemoOrganisation.HUAISI),
      Map.entry("coveredUnitIds", DemoOrganisation.HUAISI));

  private final TestEnvironment env;
  private final JsonObject model;
  /** The contract as the validators read it (ApiVerticle.forValidation). */
  private final JsonObject validationModel;
  private final Map<String, CompiledSchema> bodySchemas;
  private final Map<String, String> tokens = new HashMap<>();
  private final Map<String, Object> objects = ScopeMatrixTestAccess.objectsByCollection();
  private final Random random = new Random(20261128L);
  /** Requests sent by the sweep, for the log at its end. */
  private static final java.util.concurrent.atomic.LongAdder SENT = new java.util.concurrent.atomic.LongAdder();
  private String partnerToken;
  private Map<String, String> cursors;

  HostileInputSweepTest(TestEnvironment env) {
    this.env = env;
    String raw = await(ApiVerticle.readContract(env.app().vertx(), ApiVerticle.CONTRACT)).toString();
    this.model = await(Utils.yamlStringToJson(raw));
    this.validationModel = ApiVerticle.forValidation(model.copy());
    this.bodySchemas = CompiledSchema.requestBodies(validationModel.copy());
  }

  /** One operation of the contract: its method, path template, parameters (resolved) and JSON request body. */
  record Operation(String method, String template, String id, List<JsonObject> parameters, JsonObject content,
                   boolean bearer, JsonObject responses) {
    String name() {
      return (id == null ? "" : id + " ") + method.toUpperCase(Locale.ROOT) + " " + template;
    }
  }

  /**
   * One hostile request: what it changes of a valid one. {@code mayPass}: the contract accepts the value (a limit
   * the server caps, a filter of any text), so a 2xx answer is no fault; it must still change nothing.
   */
  record Variant(String what, String uri, MultiMap headers, Buffer body, boolean mayPass) {
    Variant passing() {
      return new Variant(what, uri, headers, body, true);
    }
  }

  @TestFactory
  Stream<DynamicTest> everyHostileRequestIsA4xxProblemAndChangesNothing() throws Exception {
    ScopeMatrixTestAccess.ensureObjects(env);
    partnerToken = partnerToken();
    cursors = cursors();
    settled();
    List<Operation> operations = operations();
    assertThat(operations).hasSizeGreaterThan(90);
    return Stream.concat(operations.stream().map(op -> DynamicTest.dynamicTest(op.name(), () -> sweep(op))),
        Stream.of(DynamicTest.dynamicTest("(count)", () -> System.out.printf("hostile-input sweep: %d requests to %d"
            + " operations%n", SENT.sum(), operations.size()))));
  }

  private void sweep(Operation op) throws SQLException {
    String token = callerToken(op);
    Map<String, String> before = snapshot();
    List<String> failures = new ArrayList<>();
    int sent = 0;
    for (Variant v : variants(op)) {
      HttpRequest<Buffer> request = env.client().request(HttpMethod.valueOf(op.method().toUpperCase(Locale.ROOT)),
          v.uri());
      request.headers().addAll(v.headers());
      if (token != null) {
        request.putHeader("Authorization", "Bearer " + token);
      }
      HttpResponse<Buffer> r = await(v.body() == null ? request.send() : request.sendBuffer(v.body()));
      sent++;
      SENT.increment();
      String fault = fault(op, v, r);
      if (fault != null) {
        failures.add(v.what() + " -> " + r.statusCode() + " " + fault + ": " + excerpt(r.bodyAsString()));
      }
    }
    Map<String, String> after = snapshot();
    List<String> changed = before.keySet().stream().filter(t -> !before.get(t).equals(after.get(t))).toList();
    assertThat(failures).as("%s: %d variants sent", op.name(), sent).isEmpty();
    assertThat(changed).as("%s: tables changed by refused requests", op.name()).isEmpty();
  }

  /**
   * What is wrong with an answer to a hostile request, or null. A refusal is a 4xx problem of a {@link ProblemType},
   * or of the media type the contract declares for that answer instead (the token endpoint's RFC 6749 errors); a
   * batch refuses item by item (a 200 in which every result is a refusal); OPTIONS on a tus path is discovery, which
   * reads no parameter (tus 1.0.0 5.2).
   */
  private String fault(Operation op, Variant v, HttpResponse<Buffer> r) {
    int status = r.statusCode();
    if (status >= 200 && status < 300 && (v.mayPass() || "options".equals(op.method()) || everyItemRefused(r))) {
      return null;
    }
    if (status < 400 || status > 499) {
      return "not a 4xx";
    }
    if ("head".equals(op.method())) {
      return null; // no body to read
    }
    String contentType = r.getHeader("Content-Type");
    List<String> declared = declaredMediaTypes(op, status);
    if (!declared.contains(PROBLEM)) {
      return contentType != null && declared.contains(contentType.split(";")[0]) ? null
          : "Content-Type " + contentType + ", declared " + declared;
    }
    if (contentType == null || !contentType.startsWith(PROBLEM)) {
      return "Content-Type " + contentType;
    }
    try {
      return problemFault(r.statusCode(), r.bodyAsJsonObject());
    } catch (RuntimeException e) {
      return "unreadable problem " + e;
    }
  }

  private static String problemFault(int status, JsonObject problem) {
    if (!PROBLEM_TYPES.contains(problem.getString("type"))) {
      return "problem type " + problem.getString("type");
    }
    if (!Integer.valueOf(status).equals(problem.getInteger("status"))) {
      return "problem status " + problem.getValue("status");
    }
    return null;
  }

  /** A batch's answer whose every result is a refused item: a 4xx problem. */
  private static boolean everyItemRefused(HttpResponse<Buffer> r) {
    try {
      JsonArray results = r.bodyAsJsonObject().getJsonArray("results");
      return results != null && !results.isEmpty() && results.stream().allMatch(item -> item instanceof JsonObject o
          && o.getInteger("httpStatus", 0) >= 400 && o.getInteger("httpStatus", 0) < 500
          && o.getJsonObject("problem") != null && problemFault(o.getInteger("httpStatus"), o.getJsonObject("problem")) == null);
    } catch (RuntimeException notABatch) {
      return false;
    }
  }

  /** The media types the contract declares for {@code status} of {@code op} (problem+json for an undeclared one). */
  private List<String> declaredMediaTypes(Operation op, int status) {
    JsonObject responses = op.responses();
    Object response = responses.getValue(String.valueOf(status), responses.getValue(status / 100 + "XX",
        responses.getValue("default")));
    JsonObject content = response == null ? null : ((JsonObject) resolve(response)).getJsonObject("content");
    return content == null ? List.of(PROBLEM) : List.copyOf(content.fieldNames());
  }

  private static String excerpt(String body) {
    return body == null ? "(no body)" : body.length() > 300 ? body.substring(0, 300) + "..." : body;
  }

  // ---- the contract ----

  private List<Operation> operations() {
    List<Operation> operations = new ArrayList<>();
    JsonArray global = model.getJsonArray("security", new JsonArray());
    JsonObject paths = model.getJsonObject("paths");
    for (String template : paths.fieldNames()) {
      JsonObject item = paths.getJsonObject(template);
      for (String method : METHODS) {
        if (!(item.getValue(method) instanceof JsonObject op)) {
          continue;
        }
        List<JsonObject> parameters = new ArrayList<>();
        Stream.concat(item.getJsonArray("parameters", new JsonArray()).stream(),
                op.getJsonArray("parameters", new JsonArray()).stream())
            .forEach(p -> parameters.add((JsonObject) resolve(p)));
        JsonObject content = op.getJsonObject("requestBody") == null ? null
            : ((JsonObject) resolve(op.getJsonObject("requestBody"))).getJsonObject("content");
        boolean bearer = op.getJsonArray("security", global).stream()
            .anyMatch(s -> s instanceof JsonObject o && o.containsKey("bearerAuth"));
        operations.add(new Operation(method, template, op.getString("operationId"), parameters, content, bearer,
            op.getJsonObject("responses", new JsonObject())));
      }
    }
    return operations;
  }

  private Object resolve(Object node) {
    while (node instanceof JsonObject o && o.getValue("$ref") instanceof String ref) {
      Object at = model;
      for (String token : ref.substring(2).split("/")) {
        at = ((JsonObject) at).getValue(token.replace("~1", "/").replace("~0", "~"));
      }
      node = at;
    }
    return node;
  }

  // ---- callers ----

  /** A token of a caller allowed to call {@code op}: the first demo account holding one of its roles, or a partner. */
  private String callerToken(Operation op) {
    if (!op.bearer()) {
      return null;
    }
    Set<String> roles = op.id() == null ? Set.of() : AccessRules.rolesFor(op.id());
    if (roles.stream().anyMatch(role -> role.startsWith(Caller.PARTNER_ROLE_PREFIX))) {
      return partnerToken;
    }
    // tus uploads (no operationId) are made by the reports' authors
    String username = op.id() == null ? "officer.xu" : DemoOrganisation.ACCOUNTS.stream()
        .filter(a -> roles.isEmpty() || a.roles().stream().anyMatch(roles::contains))
        .map(Account::username).findFirst().orElseThrow(() -> new AssertionError("no demo account may call " + op));
    return tokens.computeIfAbsent(username, this::login);
  }

  private String login(String username) {
    HttpResponse<Buffer> r = await(env.client().post("/v1/auth/login").sendJsonObject(new JsonObject()
        .put("username", username).put("password", DemoOrganisation.PASSWORD)));
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    return r.bodyAsJsonObject().getString("access_token");
  }

  /** A partner client granted every scope on Huaisi, with room in its rate limit for the whole sweep. */
  private String partnerToken() {
    JsonArray scopes = ((JsonObject) resolve(model.getJsonObject("components").getJsonObject("schemas")
        .getJsonObject("PartnerScope"))).getJsonArray("enum");
    HttpResponse<Buffer> created = await(env.client().post("/v1/partner-clients")
        .putHeader("Authorization", "Bearer " + tokens.computeIfAbsent("admin", this::login))
        .sendJsonObject(new JsonObject().put("name", "Hostile sweep").put("authMethod", "client_secret_basic")
            .put("scopes", scopes).put("unitIds", new JsonArray().add(DemoOrganisation.HUAISI.toString()))
            .put("reportTypes", new JsonArray().add("SITE")).put("rateLimitPerMinute", 100_000)));
    assertThat(created.statusCode()).as(created.bodyAsString()).isEqualTo(201);
    JsonObject client = created.bodyAsJsonObject();
    String basic = Base64.getEncoder().encodeToString((client.getString("id") + ":" + client.getString("clientSecret"))
        .getBytes(StandardCharsets.UTF_8));
    HttpResponse<Buffer> token = await(env.client().post("/oauth2/token").putHeader("Authorization", "Basic " + basic)
        .sendForm(MultiMap.caseInsensitiveMultiMap().add("grant_type", "client_credentials")));
    assertThat(token.statusCode()).as(token.bodyAsString()).isEqualTo(200);
    return token.bodyAsJsonObject().getString("access_token");
  }

  /** Real cursors of two lists, by path: for every list, a cursor of someone else's list. */
  private Map<String, String> cursors() {
    Map<String, String> cursors = new LinkedHashMap<>();
    for (String list : List.of("/v1/accounts", "/v1/org-units")) {
      HttpResponse<Buffer> page = await(env.client().get(list + "?limit=1")
          .putHeader("Authorization", "Bearer " + tokens.computeIfAbsent("admin", this::login)).send());
      cursors.put(list, page.bodyAsJsonObject().getString("nextCursor"));
      assertThat(cursors.get(list)).as(list).isNotNull();
    }
    return cursors;
  }

  // ---- variants ----

  private List<Variant> variants(Operation op) {
    Map<String, String> path = new LinkedHashMap<>();
    Map<String, String> query = new LinkedHashMap<>();
    Map<String, String> headers = new LinkedHashMap<>();
    for (JsonObject p : op.parameters()) {
      String in = p.getString("in");
      if ("path".equals(in)) {
        path.put(p.getString("name"), sampleOfPathParameter(op, p));
      } else if ("header".equals(in) && IdempotencyKeys.HEADER.equals(p.getString("name"))) {
        // a refusal of a keyed write looks for the write it repeats (IdempotentWrites.replayOf)
        headers.put(p.getString("name"), UUID.randomUUID().toString());
      } else if ("query".equals(in) && p.getBoolean("required", false)) {
        query.put(p.getString("name"), encoded(String.valueOf(sample(p.getString("name"), p.getValue("schema")))));
      }
    }
    String mediaType = op.content() == null ? null : op.content().fieldNames().iterator().next();
    Object body = "application/json".equals(mediaType)
        ? sample(null, resolve(op.content().getJsonObject(mediaType).getValue("schema"))) : null;
    Buffer validBody = body == null ? (mediaType == null ? null : Buffer.buffer("a=b")) : Buffer.buffer(Json.encode(body));

    List<Variant> out = new ArrayList<>();
    Request valid = new Request(op, path, query, headers, mediaType, validBody);
    // each parameter
    for (JsonObject p : op.parameters()) {
      String name = p.getString("name");
      Object schema = resolve(p.getValue("schema"));
      for (Map.Entry<String, String> value : hostileParameterValues(op, name, schema).entrySet()) {
        String what = p.getString("in") + " " + name + " " + value.getKey();
        Variant variant = switch (p.getString("in")) {
          case "path" -> valid.withPath(name, value.getValue()).variant(what);
          case "query" -> valid.withQuery(name, value.getValue()).variant(what);
          case "header" -> value.getKey().startsWith("%") ? null
              : valid.withHeader(name, decoded(value.getValue())).variant(what);
          default -> null;
        };
        if (variant != null) {
          out.add(accepts(p.getValue("schema"), value.getValue()) ? variant.passing() : variant);
        }
      }
      // a list parameter (form, exploded) is repeated by design
      boolean list = schema instanceof JsonObject o && "array".equals(o.getValue("type"));
      if ("query".equals(p.getString("in")) && !list) {
        String sample = query.getOrDefault(name, encoded(String.valueOf(sample(name, schema))));
        out.add(valid.withQuery(name, sample + "&" + name + "=" + sample).variant(
            "query " + name + " repeated"));
      }
    }
    if (mediaType == null) {
      return out;
    }
    // the body as a whole
    int limit = Integer.parseInt(env.settings().get("FRONTLINE_BODY_LIMIT_BYTES"));
    out.add(valid.withBody(mediaType, "{\"not json").variant("body not JSON"));
    out.add(valid.withBody(mediaType, validBody.toString().substring(0, validBody.length() / 2))
        .variant("body truncated"));
    out.add(valid.withBody(mediaType, "[]").variant("body an array"));
    out.add(valid.withBody(mediaType, "\"text\"").variant("body a string"));
    out.add(valid.withBody(mediaType, "42").variant("body a number"));
    out.add(valid.withBody(mediaType, "").variant("body empty"));
    out.add(valid.withBody("text/plain", validBody.toString()).variant("body as text/plain"));
    out.add(valid.withBody(mediaType, "{\"x\":\"" + "a".repeat(limit) + "\"}").variant("body over the limit"));
    if (body != null) {
      bodyPropertyVariants(op, valid, body, new ArrayList<>(), out);
    }
    return out;
  }

  /** Every hostile variant of each property (at any depth) of {@code body}, and an unknown property per object. */
  private void bodyPropertyVariants(Operation op, Request valid, Object body, List<Object> at, List<Variant> out) {
    Object node = at(body, at);
    if (!at.isEmpty()) {
      String where = at.stream().map(String::valueOf).collect(Collectors.joining("/", "body/", ""));
      Object last = at.get(at.size() - 1);
      String encodedWithMark = Json.encode(replaced(body, at));
      Map<String, String> values = new LinkedHashMap<>();
      values.put("of the wrong type", node instanceof String ? "12345" : "\"text\"");
      values.put("null", "null");
      values.put("empty", node instanceof JsonArray ? "[]" : node instanceof JsonObject ? "{}" : "\"\"");
      values.put("of 100,000 characters", "\"" + "a".repeat(100_000) + "\"");
      values.put("with U+0000", "\"a\\u0000b\"");
      values.put("with a lone surrogate", "\"a\\ud800b\"");
      values.put("1e400", "1e400");
      values.put("-1e400", "-1e400");
      values.put("2^64", TWO_TO_THE_64);
      values.put("nested 10,000 deep", DEEP);
      Set<String> benign = Set.of("of the wrong type", "null", "empty");
      CompiledSchema schema = op.id() == null ? null : bodySchemas.get(op.id());
      for (Map.Entry<String, String> value : values.entrySet()) {
        String text = encodedWithMark.replace(MARK, value.getValue());
        // a benign value the contract accepts (an optional list left empty) is no hostile input
        if (benign.contains(value.getKey()) && schema != null && schema.accepts(Json.decodeValue(text))) {
          continue;
        }
        out.add(valid.withBody(valid.mediaType(), text).variant(where + " " + value.getKey()));
      }
      if (last instanceof String name) {
        String twice = encodedWithMark.replace(MARK, Json.encode(node) + ",\"" + name + "\":" + Json.encode(node));
        out.add(valid.withBody(valid.mediaType(), twice).variant(where + " named twice"));
      }
    }
    if (node instanceof JsonObject o) {
      Object extra = copy(body);
      ((JsonObject) at(extra, at)).put("hostileSweepUnknown", "x");
      out.add(valid.withBody(valid.mediaType(), Json.encode(extra)).variant(
          (at.isEmpty() ? "body" : "body/" + at.stream().map(String::valueOf).collect(Collectors.joining("/")))
              + " with an unknown property"));
      for (String name : o.fieldNames()) {
        at.add(name);
        bodyPropertyVariants(op, valid, body, at, out);
        at.remove(at.size() - 1);
      }
    } else if (node instanceof JsonArray a && !a.isEmpty()) {
      at.add(0);
      bodyPropertyVariants(op, valid, body, at, out);
      at.remove(at.size() - 1);
    }
  }

  /** Hostile values of a parameter, already percent-encoded for a URI, by what they are. */
  /**
   * True when the parameter's schema takes {@code uriValue} (percent-decoded) and a handler may use it as sent: a
   * value no handler can store (a NUL) or that does not decode (%zz) is never accepted.
   */
  private boolean accepts(Object schemaNode, String uriValue) {
    String value;
    try {
      value = decoded(uriValue);
    } catch (IllegalArgumentException undecodable) {
      return false;
    }
    if (StorableStrings.unstorable(value) != null) {
      return false;
    }
    JsonObject schema = (JsonObject) resolve(schemaNode);
    Object typed = value;
    if (!"string".equals(schema.getValue("type"))) {
      try {
        typed = Json.decodeValue(value);
      } catch (RuntimeException notJson) {
        return false;
      }
    }
    Object sent = typed;
    return CompiledSchema.compile(schema, validationModel).map(c -> c.accepts(sent)).orElse(false);
  }

  private Map<String, String> hostileParameterValues(Operation op, String name, Object schemaNode) {
    JsonObject schema = schemaNode instanceof JsonObject o ? o : new JsonObject();
    Map<String, String> values = new LinkedHashMap<>();
    values.put("empty", "");
    values.put("of 10,000 characters", "a".repeat(10_000));
    values.put("of 1,000 characters", "a".repeat(1_000));
    if ("uuid".equals(schema.getString("format"))) {
      values.put("not a UUID", "not-a-uuid");
    }
    values.put("%00", "%00");
    values.put("%zz", "%zz");
    values.put("non-ASCII", encoded("ключ-é-\uD83D\uDE00"));
    if ("integer".equals(schema.getValue("type")) || "number".equals(schema.getValue("type"))) {
      values.put("negative", "-1");
      values.put("zero", "0");
      values.put("huge", TWO_TO_THE_64);
      values.put("1e400", "1e400");
    }
    if ("cursor".equals(name)) {
      byte[] bytes = new byte[24];
      random.nextBytes(bytes);
      values.put("random base64", Base64.getUrlEncoder().withoutPadding().encodeToString(bytes));
      values.put("of another list", encoded(cursors.entrySet().stream().filter(c -> !c.getKey().equals(op.template()))
          .findFirst().orElseThrow().getValue()));
    }
    return values;
  }

  private String sampleOfPathParameter(Operation op, JsonObject parameter) {
    String[] segments = op.template().split("/");
    for (int i = 1; i < segments.length; i++) {
      if (segments[i].equals("{" + parameter.getString("name") + "}") && objects.containsKey(segments[i - 1])) {
        return objects.get(segments[i - 1]).toString();
      }
    }
    return String.valueOf(sample(parameter.getString("name"), resolve(parameter.getValue("schema"))));
  }

  /** A value {@code schemaNode} accepts, every property included (known objects for ids named in SAMPLE_IDS). */
  private Object sample(String name, Object schemaNode) {
    JsonObject schema = (JsonObject) resolve(schemaNode);
    if (schema.containsKey("const")) {
      return schema.getValue("const");
    }
    if (schema.containsKey("default")) {
      return schema.getValue("default");
    }
    if (schema.containsKey("enum")) {
      return schema.getJsonArray("enum").getValue(0);
    }
    switch (CompiledSchemaEquivalenceTest.typeOf(schema)) {
      case "object" -> {
        JsonObject o = new JsonObject();
        JsonObject properties = schema.getJsonObject("properties", new JsonObject());
        properties.fieldNames().forEach(p -> o.put(p, sample(p, properties.getValue(p))));
        return o;
      }
      case "array" -> {
        JsonArray a = new JsonArray();
        Object items = schema.getValue("items");
        return items == null ? a : a.add(sample(name, items));
      }
      case "integer" -> {
        return Math.max(schema.getValue("minimum") instanceof Number m ? m.longValue() : 1, 1);
      }
      case "number" -> {
        return schema.getValue("maximum") instanceof Number m && m.doubleValue() < 2 ? m.doubleValue() / 2 : 1.5;
      }
      case "boolean" -> {
        return true;
      }
      default -> {
        switch (schema.getString("format", "")) {
          case "uuid" -> {
            return SAMPLE_IDS.getOrDefault(name, UUID.randomUUID()).toString();
          }
          case "date-time" -> {
            return "2026-11-20T08:30:00Z";
          }
          case "date" -> {
            return "2026-11-20";
          }
          case "uri" -> {
            return "https://partner.example.org/hooks";
          }
          default -> {
            int min = schema.getInteger("minLength", 1);
            return "Sweep" + "x".repeat(Math.max(0, min - 5));
          }
        }
      }
    }
  }

  /** A valid request of an operation, from which each variant changes one thing. */
  private record Request(Operation op, Map<String, String> path, Map<String, String> query, Map<String, String> headers,
                         String mediaType, Buffer body) {
    Request withPath(String name, String value) {
      Map<String, String> p = new LinkedHashMap<>(path);
      p.put(name, value);
      return new Request(op, p, query, headers, mediaType, body);
    }

    /** {@code value} as written in the URI (percent-encoded, as every value of {@code query}). */
    Request withQuery(String name, String value) {
      Map<String, String> q = new LinkedHashMap<>(query);
      q.put(name, value);
      return new Request(op, path, q, headers, mediaType, body);
    }

    Request withHeader(String name, String value) {
      Map<String, String> h = new LinkedHashMap<>(headers);
      h.put(name, value);
      return new Request(op, path, query, h, mediaType, body);
    }

    Request withBody(String type, String text) {
      return new Request(op, path, query, headers, type, Buffer.buffer(text));
    }

    Variant variant(String what) {
      String uri = op.template();
      for (Map.Entry<String, String> p : path.entrySet()) {
        uri = uri.replace("{" + p.getKey() + "}", p.getValue());
      }
      if (!query.isEmpty()) {
        uri += query.entrySet().stream().map(q -> q.getKey() + "=" + q.getValue()).collect(Collectors.joining("&", "?", ""));
      }
      MultiMap h = MultiMap.caseInsensitiveMultiMap();
      headers.forEach(h::add);
      if (body != null) {
        h.add("Content-Type", mediaType);
      }
      return new Variant(what, uri, h, body, false);
    }
  }

  private static String encoded(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private static String decoded(String value) {
    return java.net.URLDecoder.decode(value, StandardCharsets.UTF_8);
  }

  // ---- JSON paths ----

  private static Object at(Object doc, List<Object> path) {
    Object node = doc;
    for (Object step : path) {
      node = step instanceof String name ? ((JsonObject) node).getValue(name) : ((JsonArray) node).getValue((Integer) step);
    }
    return node;
  }

  /** A copy of {@code doc} with the value at {@code path} replaced by the mark. */
  private static Object replaced(Object doc, List<Object> path) {
    Object copy = copy(doc);
    Object parent = at(copy, path.subList(0, path.size() - 1));
    Object last = path.get(path.size() - 1);
    String mark = (String) Json.decodeValue(MARK);
    if (parent instanceof JsonObject p) {
      p.put((String) last, mark);
    } else {
      ((JsonArray) parent).set((Integer) last, mark);
    }
    return copy;
  }

  private static Object copy(Object value) {
    return value instanceof JsonObject o ? o.copy() : value instanceof JsonArray a ? a.copy() : value;
  }

  // ---- the database ----

  /**
   * Waits until what the setup wrote has been worked on in the background (the report-level checks of its reports,
   * the dispatch of their events to inboxes and phones): those writes are not the sweep's.
   */
  private void settled() throws InterruptedException {
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).until(() -> env.count(
        "SELECT count(*) FROM report WHERE status = 'COMPLETE' AND report_checks_due IS NOT FALSE") == 0);
    env.awaitEventsDispatched();
  }

  /** Per table: its row count and the newest transaction that wrote a row (an insert, update or delete shows). */
  private Map<String, String> snapshot() throws SQLException {
    Map<String, String> tables = new LinkedHashMap<>();
    try (Connection c = env.jdbc(); Statement st = c.createStatement()) {
      List<String> names = new ArrayList<>();
      try (ResultSet rs = st.executeQuery("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
          + " ORDER BY tablename")) {
        while (rs.next()) {
          if (!BACKGROUND_TABLES.contains(rs.getString(1))) {
            names.add(rs.getString(1));
          }
        }
      }
      String sql = names.stream().map(t -> "SELECT '" + t + "', count(*) || ':' || coalesce(max(xmin::text::bigint), 0)"
          + " FROM " + t).collect(Collectors.joining(" UNION ALL "));
      try (ResultSet rs = st.executeQuery(sql)) {
        while (rs.next()) {
          tables.put(rs.getString(1), rs.getString(2));
        }
      }
    }
    return tables;
  }
}
