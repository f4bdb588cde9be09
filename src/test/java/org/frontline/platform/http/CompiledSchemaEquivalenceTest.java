package org.frontline.platform.http;

import io.vertx.core.Vertx;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.json.schema.Validator;
import io.vertx.openapi.contract.OpenAPIContract;
import io.vertx.openapi.contract.Operation;
import io.vertx.openapi.impl.Utils;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.testing.TestEnvironment.await;

/**
 * The compiled request-body schemas answer valid/invalid exactly as vertx-json-schema does, for every JSON request
 * body of the contract: valid documents (hand-written reports, generated ones for the other operations) and
 * systematic mutations of them (each field removed, unknown fields at each level, wrong types, null, boundary
 * numbers and lengths, bad formats, non-BMP characters, integers written 1.0...), plus seeded random combinations.
 * Every document goes through JSON text first, so both see the Java types Vert.x's decoder gives a request body.
 */
class CompiledSchemaEquivalenceTest {
  private static Vertx vertx;
  private static OpenAPIContract contract;
  private static JsonObject model;
  private static Map<String, CompiledSchema> compiled;

  @BeforeAll
  static void load() {
    vertx = Vertx.vertx();
    String raw = await(ApiVerticle.readContract(vertx, ApiVerticle.CONTRACT)).toString();
    JsonObject validated = ApiVerticle.forValidation(await(Utils.yamlStringToJson(raw)));
    model = validated.copy();
    compiled = CompiledSchema.requestBodies(model.copy());
    contract = await(OpenAPIContract.from(vertx, validated));
  }

  @AfterAll
  static void close() {
    await(vertx.close());
  }

  @Test
  void everyJsonRequestBodyOfTheContractCompiles() {
    List<String> withJsonBody = contract.operations().stream()
        .filter(op -> op.getRequestBody() != null && op.getRequestBody().getContent().containsKey("application/json"))
        .map(Operation::getOperationId).sorted().toList();
    assertThat(withJsonBody).hasSizeGreaterThan(20);
    assertThat(new TreeSet<>(compiled.keySet())).containsExactlyElementsOf(withJsonBody);
  }

  @Test
  void anUnknownKeywordLeavesTheSchemaToVertx() {
    JsonObject doc = new JsonObject().put("s", new JsonObject().put("type", "string").put("contains", true));
    assertThat(CompiledSchema.compile(new JsonObject().put("$ref", "#/s"), doc)).isEmpty();
    assertThat(CompiledSchema.compile(new JsonObject().put("type", "number").put("bogus key", "x"), doc)).isEmpty();
    assertThat(CompiledSchema.compile(new JsonObject().put("type", "string").put("maxLength", 2), doc)).isPresent();
  }

  @Test
  void compiledAndVertxAgreeOnEveryDocumentOfTheCorpus() {
    List<String> disagreements = new ArrayList<>();
    int documents = 0;
    int valid = 0;
    Map<String, Integer> validSeeds = new LinkedHashMap<>();
    Random random = new Random(20261126L);
    for (String operationId : new TreeSet<>(compiled.keySet())) {
      CompiledSchema ours = compiled.get(operationId);
      Validator reference = contract.getSchemaRepository().validator(contract.operation(operationId)
          .getRequestBody().getContent().get("application/json").getSchema());
      List<Object> seeds = seeds(operationId);
      seeds.stream().filter(seed -> Boolean.TRUE.equals(reference.validate(seed).getValid()))
          .forEach(seed -> validSeeds.merge(operationId, 1, Integer::sum));
      List<Object> corpus = new ArrayList<>();
      for (Object seed : seeds) {
        corpus.add(seed);
        mutations(seed, corpus::add);
        for (int k = 0; k < 40; k++) {
          corpus.add(randomMutation(seed, random, 1 + random.nextInt(3)));
        }
      }
      corpus.addAll(List.of(new JsonObject(), new JsonArray(), "x", 1));
      for (Object document : corpus) {
        Object decoded = Json.decodeValue(Json.encode(document));
        boolean expected = Boolean.TRUE.equals(reference.validate(decoded).getValid());
        boolean actual = ours.accepts(Json.decodeValue(Json.encode(document)));
        documents++;
        if (expected) {
          valid++;
        }
        if (expected != actual) {
          disagreements.add(operationId + ": vertx " + expected + ", compiled " + actual + ": " + Json.encode(document));
        }
      }
    }
    assertThat(disagreements).as("%d documents", documents).isEmpty();
    System.out.printf("compiled vs vertx: %d documents, %d valid; valid seeds %s%n", documents, valid, validSeeds);
    assertThat(documents).isGreaterThan(5000);
    assertThat(valid).isGreaterThan(300);
    assertThat(documents - valid).isGreaterThan(3000);
    // The valid path is exercised for the main operations, not only refusals.
    assertThat(validSeeds).containsKeys("createReport", "createReportBatch", "createProject", "createEnterprise",
        "createPartnerClient", "recordMilestoneProgress", "createAccount");
    assertThat(validSeeds.get("createReport")).isEqualTo(4);
  }

  // ---- valid documents ----

  private static int counter = 1;

  private static List<Object> seeds(String operationId) {
    if ("createReport".equals(operationId)) {
      return new ArrayList<>(reports());
    }
    if ("createReportBatch".equals(operationId)) {
      JsonArray items = new JsonArray();
      reports().forEach(items::add);
      return List.of(new JsonObject().put("reports", items),
          new JsonObject().put("reports", new JsonArray().add(reports().get(0)).add("not an envelope")));
    }
    JsonObject schema = bodySchema(operationId);
    return List.of(generate(schema, true), generate(schema, false));
  }

  private static JsonObject bodySchema(String operationId) {
    for (String p : model.getJsonObject("paths").fieldNames()) {
      JsonObject item = model.getJsonObject("paths").getJsonObject(p);
      for (String method : item.fieldNames()) {
        if (item.getValue(method) instanceof JsonObject op && operationId.equals(op.getString("operationId"))) {
          return op.getJsonObject("requestBody").getJsonObject("content").getJsonObject("application/json")
              .getJsonObject("schema");
        }
      }
    }
    throw new IllegalArgumentException(operationId);
  }

  private static List<JsonObject> reports() {
    JsonObject site = envelope("SITE", new JsonObject().put("observations", new JsonArray().add("Scaffolding up")))
        .put("attachments", new JsonArray()
            .add(attachment(1).put("filename", "IMG_1.jpg"))
            .add(attachment(2).put("contentType", "image/png")));
    JsonObject milestone = envelope("MILESTONE_PROGRESS", new JsonObject()
        .put("milestoneId", UUID.randomUUID().toString()).put("quantity", 12.5).put("unit", "m"))
        .put("attachments", new JsonArray().add(attachment(3)));
    JsonObject service = envelope("ENTERPRISE_SERVICE", new JsonObject()
        .put("enterpriseId", UUID.randomUUID().toString()).put("serviceRequestId", UUID.randomUUID().toString())
        .put("actionsTaken", new JsonArray().add("Visited").add("Explained the subsidy")))
        .put("attachments", new JsonArray().add(attachment(4).put("contentType", "image/heic")));
    JsonObject minimal = envelope("SITE", new JsonObject());
    minimal.remove("text");
    return List.of(site, milestone, service, minimal);
  }

  private static JsonObject envelope(String type, JsonObject body) {
    return new JsonObject()
        .put("id", "0b9c2a55-2a0e-4b8e-9a43-5d1c7e0f6a11")
        .put("type", type)
        .put("unitId", "6f1d3c1e-8a2b-4c6d-9e0f-1a2b3c4d5e6f")
        .put("capturedAt", "2026-11-20T08:30:00Z")
        .put("location", new JsonObject().put("lat", 32.45).put("lon", 119.43).put("accuracyM", 8.5)
            .put("provider", "gps").put("mock", false))
        .put("title", "Bridge repair at Huaisi")
        .put("text", "Work under way")
        .put("body", body);
  }

  private static JsonObject attachment(int n) {
    return new JsonObject().put("id", new UUID(0, n).toString()).put("sha256", String.format("%064x", n))
        .put("size", 1000 + n).put("contentType", "image/jpeg");
  }

  private static final List<String> STRING_CANDIDATES = List.of("abc", "Abc", "ab", "a1", "ABC_DEF", "123",
      "12.5", "-12.5", "91350100M000100Y43", "0".repeat(64), "abc-def", "a.b", "x");

  /** A document for {@code schema}: every property ({@code full}) or only the required ones. Often valid. */
  private static Object generate(Object schemaNode, boolean full) {
    if (!(schemaNode instanceof JsonObject schema)) {
      return "x";
    }
    if (schema.containsKey("$ref")) {
      return generate(resolve(schema.getString("$ref")), full);
    }
    if (schema.containsKey("const")) {
      return schema.getValue("const");
    }
    if (schema.containsKey("enum")) {
      JsonArray values = schema.getJsonArray("enum");
      return values.getValue(counter++ % values.size());
    }
    if (schema.containsKey("allOf") && !schema.containsKey("type")) {
      return generate(schema.getJsonArray("allOf").getValue(0), full);
    }
    switch (typeOf(schema)) {
      case "object": {
        JsonObject o = new JsonObject();
        JsonObject properties = schema.getJsonObject("properties", new JsonObject());
        List<Object> required = schema.getJsonArray("required", new JsonArray()).getList();
        for (String name : properties.fieldNames()) {
          if (full || required.contains(name)) {
            o.put(name, generate(properties.getValue(name), full));
          }
        }
        return o;
      }
      case "array": {
        JsonArray a = new JsonArray();
        int n = Math.max(schema.getInteger("minItems", 0), 1);
        for (int k = 0; k < n; k++) {
          a.add(generate(schema.getValue("items"), full));
        }
        return a;
      }
      case "integer":
        return Math.max(schema.getValue("minimum") instanceof Number m ? m.longValue() : 1, 1);
      case "number":
        return schema.getValue("maximum") instanceof Number m && m.doubleValue() < 2 ? m.doubleValue() / 2 : 1.5;
      case "boolean":
        return true;
      case "null":
        return null;
      default: {
        String format = schema.getString("format", "");
        switch (format) {
          case "uuid": return new UUID(7, counter++).toString();
          case "date-time": return "2026-11-20T08:30:00Z";
          case "date": return "2026-11-20";
          case "uri": return "https://partner.example.org/hooks/" + counter++;
          default: break;
        }
        Pattern pattern = schema.containsKey("pattern") ? Pattern.compile(schema.getString("pattern")) : null;
        int min = schema.getInteger("minLength", 0);
        int max = schema.getInteger("maxLength", Integer.MAX_VALUE);
        for (String candidate : STRING_CANDIDATES) {
          String s = candidate.length() < min ? candidate + "a".repeat(min - candidate.length()) : candidate;
          if (s.length() <= max && (pattern == null || pattern.matcher(s).find())) {
            return s;
          }
        }
        return "abc";
      }
    }
  }

  private static Object resolve(String pointer) {
    Object node = model;
    for (String token : pointer.substring(2).split("/")) {
      node = ((JsonObject) node).getValue(token);
    }
    return node;
  }

  // ---- mutations ----

  private static final List<Object> LEAVES = List.of(
      "", " ", "x", "a".repeat(32), "a".repeat(33), "a".repeat(200), "a".repeat(201), "a".repeat(500),
      "a".repeat(501), "a".repeat(1024), "a".repeat(1025), "a".repeat(2000), "a".repeat(2001),
      "\uD83D\uDE00".repeat(200), "\uD83D\uDE00".repeat(201), "\uD83D\uDE00".repeat(32), "\uD83D\uDE00".repeat(33),
      "\uD83D\uDE00", "\uD800", "é", "\t\n",
      "0b9c2a55-2a0e-4b8e-9a43-5d1c7e0f6a11", "0B9C2A55-2A0E-4B8E-9A43-5D1C7E0F6A11",
      "urn:uuid:0b9c2a55-2a0e-4b8e-9a43-5d1c7e0f6a11", "0b9c2a55-2a0e-4b8e-9a43-5d1c7e0f6a1", "0b9c2a552a0e4b8e9a435d1c7e0f6a11",
      "2026-11-20T08:30:00Z", "2026-11-20T08:30:00.123+01:00", "2026-11-20t08:30:00z", "2026-11-20T08:30:00",
      "2026-13-20T08:30:00Z", "2026-02-30T08:30:00Z", "2026-11-20T25:30:00Z", "2026-11-20 08:30:00Z",
      "2026-11-20", "2026-02-29", "2024-02-29", "2026-1-20", "20261120", "2026-11-20Z",
      "https://example.org/a?b=c", "http://localhost:8080/x", "mailto:a@b.c", "urn:isbn:123", "relative/path",
      "/abs/path", "http://exa mple.org", "://nope", "https://例子.测试/",
      "SITE", "ENTERPRISE_SERVICE", "MILESTONE_PROGRESS", "site", "image/jpeg", "image/gif",
      "0".repeat(64), "A".repeat(64), "0".repeat(63), "91350100M000100Y43", "abc-def", "ABC_DEF", "12.5", "-1",
      true, false,
      0, 1, -1, 2, 1.0, 0.0, -0.0, 1.5, -0.5, 2.5, 32, 50, 51, 90, 90.0000001, -90, -90.5, 180, 180.5, 100000,
      100000.5, 52428800, 52428801, 1.0e15, 1.0000001e15, 1.0e16, 2147483647, 2147483648L, 9223372036854775807L,
      new BigInteger("9223372036854775808"), new BigInteger("-99999999999999999999999"), 1.0e300, -1.0e-300,
      new JsonObject(), new JsonArray(), new JsonArray().add("x"), new JsonObject().put("zz", 1));

  /** Every single mutation of {@code seed}: each leaf replaced by each probe value, each field removed, etc. */
  private static void mutations(Object seed, Consumer<Object> out) {
    out.accept(null);
    for (List<Object> path : paths(seed)) {
      Object node = at(seed, path);
      if (!path.isEmpty()) {
        out.accept(replaced(seed, path, null));
        for (Object leaf : LEAVES) {
          if (!(node instanceof JsonObject) && !(node instanceof JsonArray) || leaf instanceof JsonObject
              || leaf instanceof JsonArray || leaf == null) {
            out.accept(replaced(seed, path, leaf));
          }
        }
      }
      if (node instanceof JsonObject o) {
        for (String name : o.fieldNames()) {
          Object copy = copy(seed);
          ((JsonObject) at(copy, path)).remove(name);
          out.accept(copy);
        }
        Object extra = copy(seed);
        ((JsonObject) at(extra, path)).put("unknownField", "x");
        out.accept(extra);
        Object emptied = replaced(seed, path, new JsonObject());
        out.accept(emptied);
      }
      if (node instanceof JsonArray a && !a.isEmpty()) {
        Object duplicated = copy(seed);
        ((JsonArray) at(duplicated, path)).add(copy(a.getValue(0)));
        out.accept(duplicated);
        Object many = copy(seed);
        for (int k = 0; k < 50; k++) {
          ((JsonArray) at(many, path)).add(copy(a.getValue(0)));
        }
        out.accept(many);
        Object emptied = copy(seed);
        ((JsonArray) at(emptied, path)).clear();
        out.accept(emptied);
      }
    }
  }

  private static Object randomMutation(Object seed, Random random, int times) {
    Object doc = copy(seed);
    for (int t = 0; t < times; t++) {
      List<List<Object>> paths = paths(doc);
      List<Object> path = paths.get(random.nextInt(paths.size()));
      if (path.isEmpty()) {
        continue;
      }
      Object node = at(doc, path);
      switch (random.nextInt(3)) {
        case 0 -> doc = replaced(doc, path, LEAVES.get(random.nextInt(LEAVES.size())));
        case 1 -> {
          Object parent = at(doc, path.subList(0, path.size() - 1));
          if (parent instanceof JsonObject p) {
            p.remove((String) path.get(path.size() - 1));
          }
        }
        default -> {
          if (node instanceof JsonObject o) {
            o.put("extra" + random.nextInt(3), LEAVES.get(random.nextInt(LEAVES.size())));
          } else {
            doc = replaced(doc, path, null);
          }
        }
      }
    }
    return doc;
  }

  private static List<List<Object>> paths(Object doc) {
    List<List<Object>> paths = new ArrayList<>();
    collect(doc, new ArrayList<>(), paths);
    return paths;
  }

  private static void collect(Object node, List<Object> path, List<List<Object>> out) {
    out.add(List.copyOf(path));
    if (node instanceof JsonObject o) {
      for (String name : o.fieldNames()) {
        path.add(name);
        collect(o.getValue(name), path, out);
        path.remove(path.size() - 1);
      }
    } else if (node instanceof JsonArray a) {
      for (int k = 0; k < a.size(); k++) {
        path.add(k);
        collect(a.getValue(k), path, out);
        path.remove(path.size() - 1);
      }
    }
  }

  private static Object at(Object doc, List<Object> path) {
    Object node = doc;
    for (Object step : path) {
      node = step instanceof String name ? ((JsonObject) node).getValue(name) : ((JsonArray) node).getValue((Integer) step);
    }
    return node;
  }

  private static Object replaced(Object seed, List<Object> path, Object value) {
    if (path.isEmpty()) {
      return copy(value);
    }
    Object doc = copy(seed);
    Object parent = at(doc, path.subList(0, path.size() - 1));
    Object last = path.get(path.size() - 1);
    if (parent instanceof JsonObject p) {
      p.put((String) last, copy(value));
    } else {
      ((JsonArray) parent).set((Integer) last, copy(value));
    }
    return doc;
  }

  private static Object copy(Object value) {
    if (value instanceof JsonObject o) {
      return o.copy();
    }
    if (value instanceof JsonArray a) {
      return a.copy();
    }
    return value;
  }

  /**
   * The one JSON type a generated value of {@code schema} takes: its {@code type}, the first non-null of a list of
   * types, or (none given) object when it has properties, else string. Shared with HostileInputSweepTest.
   */
  static String typeOf(JsonObject schema) {
    Object type = schema.getValue("type");
    if (type instanceof JsonArray types) {
      return types.stream().map(String.class::cast).filter(t -> !"null".equals(t)).findFirst().orElse("null");
    }
    return type != null ? (String) type : schema.containsKey("properties") ? "object" : "string";
  }
}
