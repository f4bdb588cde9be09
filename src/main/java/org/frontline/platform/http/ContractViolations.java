package org.frontline.platform.http;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.json.schema.JsonSchema;
import io.vertx.json.schema.OutputUnit;
import org.frontline.platform.http.Problem.FieldError;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The field errors of a value that a schema of the contract refused, worded for the client author: each names the
 * field by JSON pointer and says what the contract expects there and what was sent ("At most 50 items, 51 sent.").
 * vertx-json-schema's own texts ("Array has too many items ( + 51 > 50)", "String does not match pattern") said
 * neither. Built only for a refusal: the accepted path never gets here.
 *
 * <p>Each leaf of the validator's output is read by its keyword (the last segment of its keyword location); the
 * limit, enum, format or description comes from the schema node the keyword location leads to (through the
 * contract's {@code $ref}s), the sent size or value from the instance at the leaf's instance location. A leaf whose
 * schema node cannot be found keeps the validator's text (shortened).
 */
final class ContractViolations {
  /** What a refused value is shown as at most, in code points: enough to recognise it, never a huge echo. */
  static final int SHOWN = 40;
  /** Field errors listed in a problem at most; the detail counts them all. */
  static final int LISTED = 100;
  private static final Pattern REQUIRED = Pattern.compile("required property \"([^\"]+)\"");
  private static final Pattern DUPLICATES = Pattern.compile("indexes (\\d+) and (\\d+)");
  private static final Pattern MATCHES = Pattern.compile("\\((\\d+) matches\\)");
  /** Keywords whose error only says that something inside failed (dropped when that something is reported). */
  private static final Set<String> WRAPPERS = Set.of("properties", "patternProperties", "$ref",
      "items", "prefixItems", "additionalItems", "allOf", "if", "then", "else", "dependentSchemas",
      "additionalProperties");
  private static final Map<String, String> FORMATS = Map.of(
      "uuid", "a UUID (8-4-4-4-12 hex digits)",
      "date-time", "an RFC 3339 date-time (2026-11-27T08:30:00Z)",
      "date", "an RFC 3339 date (2026-11-27)",
      "time", "an RFC 3339 time (08:30:00Z)",
      "email", "an email address",
      "uri", "an absolute URI",
      "int32", "a 32-bit integer",
      "int64", "a 64-bit integer");
  /** What {@link #get} answers for a key or index that is not there. */
  static final Object ABSENT = new Object();

  private final JsonObject document;
  private final Object schema;
  private final Object instance;

  /**
   * @param schema   the schema that was validated (a JsonSchema or JsonObject of the contract)
   * @param document the contract, for {@code $ref}s ({@code #/components/...})
   * @param instance the value that was validated (the body, or a parameter as sent); absent values are not shown
   */
  private ContractViolations(Object schema, JsonObject document, Object instance) {
    this.schema = schema;
    this.document = document;
    this.instance = instance;
  }

  /**
   * The field errors of {@code result}, each field prefixed with {@code prefix} ("body", "query/limit"): at most
   * {@link #LISTED}, in the validator's order, and how many there are in all.
   */
  static Errors errors(OutputUnit result, String prefix, Object schema, JsonObject document, Object instance) {
    List<Leaf> leaves = new ArrayList<>();
    collect(result, leaves);
    ContractViolations v = new ContractViolations(schema, document, instance);
    LinkedHashSet<FieldError> all = new LinkedHashSet<>();
    for (Leaf leaf : specific(leaves)) {
      all.add(v.error(leaf, prefix));
    }
    if (all.isEmpty()) {
      all.add(new FieldError(prefix, result.getError() == null ? "Does not match the contract."
          : shorten(result.getError())));
    }
    return new Errors(all.stream().limit(LISTED).toList(), all.size());
  }

  /** Field errors as listed in a problem, and how many were found in all (more than listed beyond LISTED). */
  record Errors(List<FieldError> listed, int total) {
    static Errors of(FieldError error) {
      return new Errors(List.of(error), 1);
    }
  }

  /** The problem for a value refused as a whole while a part of it, its RefusalSample, passed. */
  static Problem refusedAsAWhole() {
    return problem(Errors.of(new FieldError("body", "Does not match the contract.")));
  }

  /** The problem for these field errors: the detail names the first (a client may show only the detail). */
  static Problem problem(Errors errors) {
    FieldError first = errors.listed().get(0);
    String reason = first.reason();
    if (reason.length() > 1 && Character.isUpperCase(reason.charAt(0)) && Character.isLowerCase(reason.charAt(1))) {
      reason = Character.toLowerCase(reason.charAt(0)) + reason.substring(1);
    }
    int more = errors.total() - 1;
    String others = more == 0 ? ""
        : errors.total() > errors.listed().size() ? " (and " + more + " more; the first " + errors.listed().size()
        + " are in errors)"
        : " (and " + more + " more in errors)";
    return Problem.of(ProblemType.VALIDATION_FAILED, "The request does not match the contract at " + first.field()
        + ": " + reason + others).withErrors(errors.listed());
  }

  /** One leaf of the validator's output: where in the instance, which keyword of the schema, the validator's text. */
  private record Leaf(String pointer, String keywordLocation, String message) {
    String keyword() {
      int slash = keywordLocation.lastIndexOf('/');
      return slash < 0 ? "" : keywordLocation.substring(slash + 1);
    }

    boolean wrapper() {
      return WRAPPERS.contains(keyword());
    }

    /** Inside one branch of a oneOf/anyOf: an alternative that was not taken, not something to fix. */
    boolean inBranch() {
      return keywordLocation.matches(".*/(oneOf|anyOf)/\\d+(/.*)?");
    }
  }

  private static void collect(OutputUnit unit, List<Leaf> into) {
    List<OutputUnit> children = unit.getErrors();
    if (children == null || children.isEmpty()) {
      if (unit.getError() != null) {
        String location = unit.getInstanceLocation() == null ? "" : unit.getInstanceLocation();
        into.add(new Leaf(location.startsWith("#") ? location.substring(1) : location,
            unit.getKeywordLocation() == null ? "" : unit.getKeywordLocation(), unit.getError()));
      }
      return;
    }
    for (OutputUnit child : children) {
      collect(child, into);
    }
  }

  /**
   * The leaves a client must act on: a wrapper (a property's, a $ref's, the items', an if/then's) is dropped when
   * its field, or one inside it, has a specific error; an additionalProperties wrapper left alone is an unknown
   * field; the branches of a failed oneOf/anyOf are dropped (its own error says what is wrong).
   */
  private static List<Leaf> specific(List<Leaf> leaves) {
    List<Leaf> named = new ArrayList<>();
    // Each field with a specific (non-wrapper) error, and every field that holds one: a set, so that the answer
    // stays linear in the number of leaves (a list scanned per leaf took hours for 100,000 refused items).
    Set<String> withSpecific = new HashSet<>();
    for (Leaf leaf : leaves) {
      Matcher required = REQUIRED.matcher(leaf.message());
      if ("required".equals(leaf.keyword()) && required.find()) {
        named.add(new Leaf(leaf.pointer() + "/" + escape(required.group(1)), leaf.keywordLocation(),
            leaf.message()));
      } else if (!leaf.inBranch()) {
        named.add(leaf);
      } else {
        continue;
      }
      Leaf added = named.get(named.size() - 1);
      if (!added.wrapper()) {
        for (String pointer = added.pointer(); withSpecific.add(pointer) && !pointer.isEmpty(); ) {
          pointer = pointer.substring(0, Math.max(pointer.lastIndexOf('/'), 0));
        }
      }
    }
    List<Leaf> out = new ArrayList<>();
    Set<String> listed = new HashSet<>();
    for (Leaf leaf : named) {
      if (leaf.wrapper() && (withSpecific.contains(leaf.pointer()) || listed.contains(leaf.pointer()))) {
        continue;
      }
      out.add(leaf);
      listed.add(leaf.pointer());
    }
    return out;
  }

  private FieldError error(Leaf leaf, String prefix) {
    String field = prefix + leaf.pointer();
    if ("required".equals(leaf.keyword())) {
      return new FieldError(field, withCondition("Required field is missing.", leaf));
    }
    if ("additionalProperties".equals(leaf.keyword())) {
      return new FieldError(field, "Unknown field; the contract does not define it.");
    }
    Object node = walk(leaf.keywordLocation(), true);
    Object value = at(leaf.pointer());
    String reason = node == ABSENT ? null : reason(leaf, node, value);
    return new FieldError(field, reason == null ? shorten(leaf.message()) : withCondition(reason, leaf));
  }

  /** The reason for {@code leaf}, whose keyword sits in schema {@code node}; null for a keyword not worded here. */
  private static String reason(Leaf leaf, Object node, Object value) {
    Object limit = get(node, leaf.keyword());
    if (limit == ABSENT) {
      return null; // not the schema the validator read: its own text is the better answer
    }
    return switch (leaf.keyword()) {
      case "maxItems" -> "At most " + count(limit, "item") + sentSize(value);
      case "minItems" -> "At least " + count(limit, "item") + sentSize(value);
      case "maxLength" -> "At most " + count(limit, "character") + sentSize(value);
      case "minLength" -> "At least " + count(limit, "character") + sentSize(value);
      case "maxProperties" -> "At most " + count(limit, "field") + sentSize(value);
      case "minProperties" -> "At least " + count(limit, "field") + sentSize(value);
      case "minimum" -> "Must be at least " + limit + sent(value);
      case "maximum" -> "Must be at most " + limit + sent(value);
      case "exclusiveMinimum" -> "Must be greater than " + limit + sent(value);
      case "exclusiveMaximum" -> "Must be less than " + limit + sent(value);
      case "multipleOf" -> "Must be a multiple of " + limit + sent(value);
      case "enum" -> "Must be one of " + (limit instanceof JsonArray values
          ? values.stream().map(ContractViolations::plain).collect(Collectors.joining(", ")) : limit)
          + sent(value).replaceFirst("^,", ";");
      case "const" -> "Must be " + plain(limit) + sent(value);
      case "type" -> "Must be " + typeNames(limit) + sent(value);
      case "format" -> "Must be " + formatName(String.valueOf(limit)) + sent(value);
      case "pattern" -> "Must " + expectedForm(node) + sent(value);
      case "uniqueItems" -> {
        Matcher m = DUPLICATES.matcher(leaf.message());
        yield m.find() ? "Items must all differ; items " + m.group(1) + " and " + m.group(2) + " are equal." : null;
      }
      case "oneOf" -> {
        Matcher m = MATCHES.matcher(leaf.message());
        int forms = limit instanceof JsonArray a ? a.size() : 0;
        yield m.find() && !"0".equals(m.group(1))
            ? "Must match exactly one of the " + forms + " allowed forms; matches " + m.group(1) + "."
            : "Matches none of the " + forms + " allowed forms.";
      }
      case "anyOf" -> "Matches none of the " + (limit instanceof JsonArray a ? a.size() : 0) + " allowed forms.";
      case "not" -> "Matches a form the contract excludes.";
      default -> null;
    };
  }

  /**
   * What a pattern expects: the format's name when the schema has one, else the pattern with the schema's
   * description; non-blank text says so.
   */
  private static String expectedForm(Object node) {
    Object format = get(node, "format");
    if (format instanceof String f) {
      return "be " + formatName(f);
    }
    // As the contract writes it: ApiVerticle.forValidation reads its $ as \z (ECMA-262 has no \z of its own) and
    // its \S as NOT_BLANK. Non-blank text is worded alike in every field, whatever its description.
    Object written = get(node, "pattern");
    if (ApiVerticle.NOT_BLANK.equals(written) || ApiVerticle.BLANK_RULE.equals(written)) {
      return "not be blank";
    }
    String pattern = String.valueOf(written).replace("\\z", "$");
    Object description = get(node, "description");
    if (description instanceof String d && !d.isBlank()) {
      return "match " + pattern + " (" + shorten(d.strip()) + ")";
    }
    return "match " + pattern;
  }

  private static String formatName(String format) {
    return FORMATS.getOrDefault(format, "of format " + format);
  }

  private static String typeNames(Object type) {
    if (type instanceof JsonArray types) {
      return types.stream().map(t -> typeName(String.valueOf(t))).collect(Collectors.joining(" or "));
    }
    return typeName(String.valueOf(type));
  }

  private static String typeName(String type) {
    return switch (type) {
      case "integer" -> "an integer";
      case "object" -> "an object";
      case "array" -> "an array";
      case "null" -> "null";
      case "boolean" -> "true or false";
      default -> "a " + type;
    };
  }

  /** The reason with the condition that applied it before its final full stop. */
  private String withCondition(String reason, Leaf leaf) {
    String condition = condition(leaf);
    return condition.isEmpty() ? reason : reason.substring(0, reason.length() - 1) + condition + ".";
  }

  /** " (for type MILESTONE_PROGRESS)" for a leaf that a then-schema's condition applied. */
  private String condition(Leaf leaf) {
    int then = leaf.keywordLocation().lastIndexOf("/then/");
    if (then < 0) {
      return "";
    }
    Object properties = get(walk(leaf.keywordLocation().substring(0, then) + "/if", false), "properties");
    if (!(properties instanceof JsonObject props)) {
      return "";
    }
    List<String> when = new ArrayList<>();
    for (String name : props.fieldNames()) {
      if (props.getValue(name) instanceof JsonObject p && p.containsKey("const")) {
        when.add(name + " " + plain(p.getValue("const")));
      }
    }
    return when.isEmpty() ? "" : " (for " + String.join(" and ", when) + ")";
  }

  /**
   * The schema node at a keyword location (the keyword's own schema when {@code parent}), following {@code $ref}
   * segments into the contract; a node holding only a $ref is followed when the next segment is not its own.
   */
  private Object walk(String keywordLocation, boolean parent) {
    String path = keywordLocation.startsWith("#") ? keywordLocation.substring(1) : keywordLocation;
    List<String> segments = path.isEmpty() ? List.of() : List.of(path.substring(1).split("/", -1));
    int end = parent ? segments.size() - 1 : segments.size();
    Object node = schema;
    for (int i = 0; i < end && node != ABSENT; i++) {
      String segment = unescape(segments.get(i));
      if ("$ref".equals(segment)) {
        // A schema vertx-openapi has resolved holds its target in place of the $ref.
        Object ref = get(node, "$ref");
        node = ref == ABSENT ? node : resolve(ref);
        continue;
      }
      Object child = get(node, segment);
      if (child == ABSENT && get(node, "$ref") != ABSENT) {
        child = get(resolve(get(node, "$ref")), segment);
      }
      node = child;
    }
    return node;
  }

  private Object resolve(Object ref) {
    return resolve(document, ref);
  }

  /** The node of {@code document} a {@code #/...} reference points at, or ABSENT. */
  static Object resolve(JsonObject document, Object ref) {
    if (!(ref instanceof String pointer) || !pointer.startsWith("#/")) {
      return ABSENT;
    }
    Object node = document;
    for (String segment : pointer.substring(2).split("/", -1)) {
      node = get(node, unescape(segment));
    }
    return node;
  }

  /** The instance's value at a JSON pointer, or ABSENT. */
  private Object at(String pointer) {
    Object node = instance;
    if (!pointer.isEmpty()) {
      for (String segment : pointer.substring(1).split("/", -1)) {
        node = get(node, unescape(segment));
      }
    }
    return node;
  }

  /** A member of a schema node or instance (JsonObject, vertx's JsonSchema, JsonArray index), or ABSENT. */
  static Object get(Object node, String key) {
    if (node instanceof JsonObject o) {
      return o.containsKey(key) ? o.getValue(key) : ABSENT;
    }
    if (node instanceof JsonSchema s) {
      return s.containsKey(key) ? s.get(key) : ABSENT;
    }
    if (node instanceof JsonArray a) {
      try {
        int i = Integer.parseInt(key);
        return i >= 0 && i < a.size() ? a.getValue(i) : ABSENT;
      } catch (NumberFormatException e) {
        return ABSENT;
      }
    }
    return ABSENT;
  }

  private static String count(Object limit, String noun) {
    return limit + " " + noun + (Integer.valueOf(1).equals(limit) ? "" : "s");
  }

  /** ", 51 sent." with the size of an array, string or object; "." when the value is not at hand. */
  private static String sentSize(Object value) {
    if (value instanceof JsonArray a) {
      return ", " + a.size() + " sent.";
    }
    if (value instanceof String s) {
      return ", " + CompiledSchema.codePoints(s) + " sent.";
    }
    if (value instanceof JsonObject o) {
      return ", " + o.size() + " sent.";
    }
    return ".";
  }

  /** ", -1 sent." / ", \"image/gif\" sent." / ", an array of 2 items sent."; "." when the value is not at hand. */
  private static String sent(Object value) {
    return value == ABSENT ? "." : ", " + shown(value) + " sent.";
  }

  /** A sent value as a client recognises it, at most {@link #SHOWN} code points of it. */
  static String shown(Object value) {
    if (value instanceof String s) {
      int length = CompiledSchema.codePoints(s);
      if (length <= SHOWN) {
        return io.vertx.core.json.Json.encode(s);
      }
      return io.vertx.core.json.Json.encode(s.substring(0, s.offsetByCodePoints(0, SHOWN)) + "…") + " ("
          + length + " characters)";
    }
    if (value instanceof JsonObject) {
      return "an object";
    }
    if (value instanceof JsonArray a) {
      return "an array of " + count(a.size(), "item");
    }
    String text = String.valueOf(value);
    return text.length() <= SHOWN ? text : text.substring(0, SHOWN) + "… (" + text.length() + " characters)";
  }

  /** An enum or const value as the contract writes it. */
  private static String plain(Object value) {
    return value instanceof String s ? s : String.valueOf(value);
  }

  /** A validator text shortened, in case one ever echoes a value. */
  private static String shorten(String text) {
    return text.length() <= 300 ? text : text.substring(0, 300) + "…";
  }

  private static String escape(String name) {
    return name.replace("~", "~0").replace("/", "~1");
  }

  private static String unescape(String segment) {
    return segment.replace("~1", "/").replace("~0", "~");
  }
}
