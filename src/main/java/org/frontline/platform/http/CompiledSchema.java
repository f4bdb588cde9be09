package org.frontline.platform.http;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.json.schema.JsonFormatValidator;
import io.vertx.json.schema.impl.Format;
import io.vertx.openapi.impl.OpenAPIFormatValidator;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A JSON Schema of the contract turned once into a tree of plain Java checks: a yes/no answer with none of the
 * interpreter's work per request (wrapping objects, building locations, collecting output units).
 *
 * <p>It knows exactly the keywords the contract uses, with vertx-json-schema 5.0.7's semantics (which is the
 * reference: same type rules, integer = a number with no fraction, lengths in code points, unanchored
 * {@code java.util.regex} patterns, vertx's own format checks). A schema with any other keyword, or a keyword with
 * a value of an unexpected shape, is not compiled at all ({@link #compile} answers empty): its operation keeps
 * vertx's validation. Only "valid" is trusted: a rejected document goes to vertx, which decides and words the problem.
 */
public final class CompiledSchema {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(CompiledSchema.class);
  /** Keywords that never affect validity (annotations). */
  private static final Set<String> ANNOTATIONS = Set.of(
      "description", "title", "default", "example", "examples", "$comment", "deprecated", "readOnly", "writeOnly");
  /** The same format checks vertx applies on top of the draft's (int32, int64, float, double on numbers). */
  private static final JsonFormatValidator OPENAPI_FORMATS = new OpenAPIFormatValidator();

  private final Check root;

  private CompiledSchema(Check root) {
    this.root = root;
  }

  /**
   * True when vertx-json-schema would find {@code instance} valid (as decoded by Vert.x's Jackson codec). A check
   * that throws (it should not) counts as a refusal: callers then let vertx-json-schema judge the instance.
   */
  public boolean accepts(Object instance) {
    try {
      return root.test(jsonify(instance));
    } catch (RuntimeException e) {
      log.warn("A compiled schema failed on an instance; counted as a refusal", e);
      return false;
    }
  }

  /**
   * Compiles {@code schema} (a JsonObject or a Boolean); {@code $ref}s are JSON pointers into {@code document}.
   * Empty when the schema uses anything this compiler does not know.
   */
  public static Optional<CompiledSchema> compile(Object schema, JsonObject document) {
    try {
      return Optional.of(new CompiledSchema(new Compiler(document).compile(schema)));
    } catch (Unsupported e) {
      return Optional.empty();
    }
  }

  /**
   * The compiled application/json request body schema of each operation of {@code model} whose schema compiles.
   */
  public static Map<String, CompiledSchema> requestBodies(JsonObject model) {
    Map<String, CompiledSchema> compiled = new HashMap<>();
    JsonObject paths = model.getJsonObject("paths", new JsonObject());
    for (String p : paths.fieldNames()) {
      if (!(paths.getValue(p) instanceof JsonObject item)) {
        continue;
      }
      for (String method : item.fieldNames()) {
        if (item.getValue(method) instanceof JsonObject op && op.getValue("operationId") instanceof String id
            && op.getValue("requestBody") instanceof JsonObject rb
            && rb.getValue("content") instanceof JsonObject content
            && content.getValue("application/json") instanceof JsonObject media
            && media.containsKey("schema")) {
          compile(media.getValue("schema"), model).ifPresent(c -> compiled.put(id, c));
        }
      }
    }
    return compiled;
  }

  @FunctionalInterface
  private interface Check {
    boolean test(Object instance);
  }

  private static final class Unsupported extends RuntimeException {
    Unsupported(String what) {
      super(what, null, false, false);
    }
  }

  /** A {@code $ref} target, filled in after compiling it, so recursive schemas terminate. */
  private static final class Ref implements Check {
    Check target;

    @Override public boolean test(Object instance) {
      return target.test(instance);
    }
  }

  private static final class Compiler {
    private final JsonObject document;
    private final Map<String, Ref> refs = new HashMap<>();

    Compiler(JsonObject document) {
      this.document = document;
    }

    Check compile(Object schema) {
      if (schema instanceof Boolean b) {
        return b ? i -> true : i -> false;
      }
      if (!(schema instanceof JsonObject s)) {
        throw new Unsupported("schema " + schema);
      }
      List<Check> checks = new ArrayList<>();
      for (String key : s.fieldNames()) {
        Object value = s.getValue(key);
        switch (key) {
          case "type" -> checks.add(type(value));
          case "format" -> checks.add(format(string(value)));
          case "enum" -> {
            JsonArray values = array(value);
            checks.add(i -> values.stream().anyMatch(v -> Json.equal(i, v)));
          }
          case "const" -> checks.add(i -> Json.equal(i, value));
          case "$ref" -> checks.add(ref(string(value)));
          case "allOf" -> {
            List<Check> all = new ArrayList<>();
            array(value).forEach(sub -> all.add(compile(sub)));
            checks.add(i -> {
              for (Check c : all) {
                if (!c.test(i)) {
                  return false;
                }
              }
              return true;
            });
          }
          case "if" -> checks.add(conditional(s));
          case "then", "else" -> {
            if (!s.containsKey("if")) {
              compile(value); // ignored by vertx without "if", but must still be a known schema
            }
          }
          case "properties", "required", "additionalProperties", "minProperties" -> {
            if (!checks.contains(OBJECT_MARK)) {
              checks.add(OBJECT_MARK);
              checks.add(objectChecks(s));
            }
          }
          case "items", "minItems", "maxItems", "uniqueItems" -> {
            if (!checks.contains(ARRAY_MARK)) {
              checks.add(ARRAY_MARK);
              checks.add(arrayChecks(s));
            }
          }
          case "minLength", "maxLength", "pattern" -> {
            if (!checks.contains(STRING_MARK)) {
              checks.add(STRING_MARK);
              checks.add(stringChecks(s));
            }
          }
          case "minimum", "maximum", "exclusiveMinimum" -> {
            Number bound = number(value);
            checks.add(numberCheck(key, bound));
          }
          default -> {
            if (!ANNOTATIONS.contains(key) && !key.startsWith("x-")) {
              throw new Unsupported(key);
            }
          }
        }
      }
      checks.removeIf(c -> c == OBJECT_MARK || c == ARRAY_MARK || c == STRING_MARK);
      Check[] all = checks.toArray(Check[]::new);
      return switch (all.length) {
        case 0 -> i -> true;
        case 1 -> all[0];
        default -> i -> {
          for (Check c : all) {
            if (!c.test(i)) {
              return false;
            }
          }
          return true;
        };
      };
    }

    private static final Check OBJECT_MARK = i -> true;
    private static final Check ARRAY_MARK = i -> true;
    private static final Check STRING_MARK = i -> true;

    private Check ref(String pointer) {
      Ref ref = refs.get(pointer);
      if (ref == null) {
        ref = new Ref();
        refs.put(pointer, ref);
        ref.target = compile(resolve(pointer));
      }
      return ref;
    }

    private Object resolve(String pointer) {
      if (!pointer.startsWith("#/")) {
        throw new Unsupported("$ref " + pointer);
      }
      Object node = document;
      for (String token : pointer.substring(2).split("/", -1)) {
        String name = token.replace("~1", "/").replace("~0", "~");
        if (!(node instanceof JsonObject o) || !o.containsKey(name) || name.contains("%")) {
          throw new Unsupported("$ref " + pointer);
        }
        node = o.getValue(name);
      }
      return node;
    }

    private static Check type(Object value) {
      if (value instanceof String t) {
        return typeCheck(t);
      }
      if (value instanceof JsonArray types && !types.isEmpty()) {
        Check[] any = types.stream().map(t -> typeCheck(string(t))).toArray(Check[]::new);
        return i -> {
          for (Check c : any) {
            if (c.test(i)) {
              return true;
            }
          }
          return false;
        };
      }
      throw new Unsupported("type " + value);
    }

    private static Check typeCheck(String type) {
      return switch (type) {
        case "integer" -> i -> i instanceof Number n && Numbers.isInteger(n);
        case "number" -> i -> i instanceof Number;
        case "string" -> i -> i instanceof String;
        case "boolean" -> i -> i instanceof Boolean;
        case "null" -> i -> i == null;
        case "object" -> i -> i instanceof JsonObject;
        case "array" -> i -> i instanceof JsonArray;
        default -> throw new Unsupported("type " + type);
      };
    }

    /**
     * vertx checks a string's format with its draft table, then any instance with the OpenAPI number formats. A
     * date-time of the common shape is accepted without the table's regular expression and parse (Rfc3339).
     */
    private static Check format(String format) {
      boolean dateTime = "date-time".equals(format);
      return i -> (!(i instanceof String s) || dateTime && Rfc3339.parseCommon(s) != null
              || Format.fastFormat(format, s))
          && OPENAPI_FORMATS.validateFormat(Json.typeOf(i), format, i) == null;
    }

    private Check conditional(JsonObject s) {
      Check condition = compile(s.getValue("if"));
      Check then = s.containsKey("then") ? compile(s.getValue("then")) : i -> true;
      Check otherwise = s.containsKey("else") ? compile(s.getValue("else")) : i -> true;
      return i -> condition.test(i) ? then.test(i) : otherwise.test(i);
    }

    private Check objectChecks(JsonObject s) {
      Map<String, Check> properties = new HashMap<>();
      if (s.containsKey("properties")) {
        if (!(s.getValue("properties") instanceof JsonObject props)) {
          throw new Unsupported("properties");
        }
        props.forEach(e -> properties.put(e.getKey(), compile(e.getValue())));
      }
      String[] required = s.containsKey("required")
          ? array(s.getValue("required")).stream().map(Compiler::string).toArray(String[]::new) : new String[0];
      Check additional = s.containsKey("additionalProperties") ? compile(s.getValue("additionalProperties")) : null;
      int minProperties = s.containsKey("minProperties") ? integer(s.getValue("minProperties")) : 0;
      return i -> {
        if (!(i instanceof JsonObject o)) {
          return true;
        }
        for (String name : required) {
          if (!o.containsKey(name)) {
            return false;
          }
        }
        if (o.size() < minProperties) {
          return false;
        }
        for (Map.Entry<String, Object> field : o) {
          Check property = properties.get(field.getKey());
          Check check = property != null ? property : additional;
          if (check != null && !check.test(jsonify(field.getValue()))) {
            return false;
          }
        }
        return true;
      };
    }

    private Check arrayChecks(JsonObject s) {
      Object itemsSchema = s.getValue("items");
      if (itemsSchema instanceof JsonArray) {
        throw new Unsupported("items as an array");
      }
      Check items = s.containsKey("items") ? compile(itemsSchema) : null;
      int minItems = s.containsKey("minItems") ? integer(s.getValue("minItems")) : 0;
      int maxItems = s.containsKey("maxItems") ? integer(s.getValue("maxItems")) : Integer.MAX_VALUE;
      Object unique = s.getValue("uniqueItems");
      if (unique != null && !(unique instanceof Boolean)) {
        throw new Unsupported("uniqueItems " + unique);
      }
      boolean uniqueItems = Boolean.TRUE.equals(unique);
      return i -> {
        if (!(i instanceof JsonArray a)) {
          return true;
        }
        int size = a.size();
        if (size < minItems || size > maxItems) {
          return false;
        }
        if (items != null) {
          for (int k = 0; k < size; k++) {
            if (!items.test(jsonify(a.getValue(k)))) {
              return false;
            }
          }
        }
        if (uniqueItems) {
          for (int j = 0; j < size; j++) {
            for (int k = j + 1; k < size; k++) {
              if (Json.equal(jsonify(a.getValue(j)), jsonify(a.getValue(k)))) {
                return false;
              }
            }
          }
        }
        return true;
      };
    }

    private static Check stringChecks(JsonObject s) {
      int minLength = s.containsKey("minLength") ? integer(s.getValue("minLength")) : 0;
      int maxLength = s.containsKey("maxLength") ? integer(s.getValue("maxLength")) : Integer.MAX_VALUE;
      Pattern pattern = s.containsKey("pattern") ? Pattern.compile(string(s.getValue("pattern"))) : null;
      boolean lengths = s.containsKey("minLength") || s.containsKey("maxLength");
      return i -> {
        if (!(i instanceof String str)) {
          return true;
        }
        if (lengths) {
          int length = codePoints(str);
          if (length < minLength || length > maxLength) {
            return false;
          }
        }
        return pattern == null || pattern.matcher(str).find();
      };
    }

    private static Check numberCheck(String keyword, Number bound) {
      return switch (keyword) {
        case "minimum" -> i -> !(i instanceof Number n) || !Numbers.lt(n, bound);
        case "maximum" -> i -> !(i instanceof Number n) || !Numbers.gt(n, bound);
        default -> i -> !(i instanceof Number n) || !Numbers.lte(n, bound);
      };
    }

    private static String string(Object value) {
      if (value instanceof String s) {
        return s;
      }
      throw new Unsupported("not a string: " + value);
    }

    private static JsonArray array(Object value) {
      if (value instanceof JsonArray a) {
        return a;
      }
      throw new Unsupported("not an array: " + value);
    }

    /** vertx reads these as {@code Integer} (a cast): any other number would fail there, so it is not ours. */
    private static int integer(Object value) {
      if (value instanceof Integer n && n >= 0) {
        return n;
      }
      throw new Unsupported("not a non-negative int: " + value);
    }

    private static Number number(Object value) {
      if (value instanceof Number n) {
        return n;
      }
      throw new Unsupported("not a number: " + value);
    }
  }

  /** Code points, counting a lone surrogate as one (vertx's {@code ucs2length}). */
  static int codePoints(String s) {
    return s.codePointCount(0, s.length());
  }

  /** Maps and lists (as Jackson may nest them) become JsonObject/JsonArray, as vertx's {@code jsonify} does. */
  @SuppressWarnings("unchecked")
  private static Object jsonify(Object value) {
    if (value instanceof Map<?, ?> m) {
      return new JsonObject((Map<String, Object>) m);
    }
    if (value instanceof List<?> l) {
      return new JsonArray((List<Object>) l);
    }
    return value;
  }

  /** vertx-json-schema's number rules: exact for big numbers, doubles otherwise. */
  private static final class Numbers {
    static boolean isInteger(Number n) {
      if (n instanceof Byte || n instanceof Short || n instanceof Integer || n instanceof Long || n instanceof BigInteger) {
        return true;
      }
      if (n instanceof Float f) {
        return f % 1 == 0.0f;
      }
      if (n instanceof Double d) {
        return d % 1 == 0.0;
      }
      if (n instanceof BigDecimal d) {
        return d.remainder(BigDecimal.ONE).equals(BigDecimal.ZERO);
      }
      return false;
    }

    static boolean big(Number n) {
      return n instanceof BigDecimal || n instanceof BigInteger;
    }

    static BigDecimal decimal(Number n) {
      if (n instanceof BigDecimal d) {
        return d;
      }
      if (n instanceof BigInteger i) {
        return new BigDecimal(i);
      }
      if (n instanceof Float || n instanceof Double) {
        return BigDecimal.valueOf(n.doubleValue());
      }
      return BigDecimal.valueOf(n.longValue());
    }

    // Primitive comparisons, as vertx's: -0.0 is not below 0, and NaN is below nothing.
    static boolean lt(Number a, Number b) {
      return big(a) || big(b) ? decimal(a).compareTo(decimal(b)) < 0 : a.doubleValue() < b.doubleValue();
    }

    static boolean lte(Number a, Number b) {
      return big(a) || big(b) ? decimal(a).compareTo(decimal(b)) <= 0 : a.doubleValue() <= b.doubleValue();
    }

    static boolean gt(Number a, Number b) {
      return big(a) || big(b) ? decimal(a).compareTo(decimal(b)) > 0 : a.doubleValue() > b.doubleValue();
    }

    static boolean equal(Number a, Number b) {
      if (isInteger(a) && isInteger(b)) {
        return a instanceof BigInteger || b instanceof BigInteger ? decimal(a).equals(decimal(b))
            : a.longValue() == b.longValue();
      }
      if (a instanceof BigDecimal || b instanceof BigDecimal) {
        return decimal(a).equals(decimal(b));
      }
      return a.doubleValue() == b.doubleValue();
    }
  }

  /** vertx-json-schema's equality for const, enum and uniqueItems. */
  private static final class Json {
    static String typeOf(Object i) {
      if (i == null) {
        return "null";
      }
      if (i instanceof Boolean) {
        return "boolean";
      }
      if (i instanceof Number) {
        return "number";
      }
      if (i instanceof String) {
        return "string";
      }
      if (i instanceof JsonObject) {
        return "object";
      }
      if (i instanceof JsonArray) {
        return "array";
      }
      return "unknown";
    }

    static boolean equal(Object a, Object b) {
      a = jsonify(a);
      b = jsonify(b);
      if (a instanceof JsonObject x && b instanceof JsonObject y) {
        if (x.size() != y.size()) {
          return false;
        }
        for (String k : x.fieldNames()) {
          if (!equal(x.getValue(k), y.getValue(k))) {
            return false;
          }
        }
        return true;
      }
      if (a instanceof JsonArray x && b instanceof JsonArray y) {
        if (x.size() != y.size()) {
          return false;
        }
        for (int k = 0; k < x.size(); k++) {
          if (!equal(x.getValue(k), y.getValue(k))) {
            return false;
          }
        }
        return true;
      }
      if (a == null || b == null) {
        return a == b;
      }
      if (a instanceof Number x && b instanceof Number y) {
        return Numbers.equal(x, y);
      }
      return a.equals(b);
    }
  }
}
