package org.frontline.platform.http;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The part of a refused JSON value that vertx-json-schema is given to word the refusal: every array cut to one item
 * more than its schema's {@code maxItems}, and at most {@link #UNKNOWN_MEMBERS} undeclared members kept per object
 * whose schema forbids them. vertx validates every item and member, about 15-45 us each, and wrote a field error for
 * each: a 1 MB body of 300,000 short refused items cost a worker thread seconds and a 20 MB problem. The sample is
 * still refused for the same reasons (an array cut to maxItems + 1 still breaks maxItems; the kept undeclared
 * members still break additionalProperties), and it is only ever used to word a refusal the compiled schema
 * already made (a sample vertx accepts is no licence to accept the value).
 *
 * <p>Schemas are read as ContractViolations reads them (JsonObject or vertx's JsonSchema; {@code $ref}s into the
 * contract); where several apply (allOf, the branches of oneOf/anyOf, then/else), the largest maxItems and the
 * union of the declared members count, so nothing a branch could need is cut.
 */
final class RefusalSample {
  /** Undeclared members kept per object whose schema has {@code additionalProperties: false}. */
  static final int UNKNOWN_MEMBERS = 10;

  private final JsonObject document;
  private boolean changed;

  private RefusalSample(JsonObject document) {
    this.document = document;
  }

  /** The sample of {@code value} under {@code schema}; {@code value} itself when nothing needed cutting. */
  static Object of(Object value, Object schema, JsonObject document) {
    RefusalSample sample = new RefusalSample(document);
    Object out = sample.cut(value, sample.applying(List.of(schema)));
    return sample.changed ? out : value;
  }

  private Object cut(Object value, List<Object> schemas) {
    if (schemas.isEmpty()) {
      return value; // nothing validates inside it
    }
    if (value instanceof JsonObject object) {
      return cutObject(object, schemas);
    }
    if (value instanceof JsonArray array) {
      return cutArray(array, schemas);
    }
    return value;
  }

  private JsonObject cutObject(JsonObject object, List<Object> schemas) {
    boolean closed = schemas.stream().anyMatch(s -> Boolean.FALSE.equals(ContractViolations.get(s,
        "additionalProperties")));
    JsonObject out = new JsonObject();
    int unknown = 0;
    for (Map.Entry<String, Object> member : object) {
      List<Object> declared = new ArrayList<>();
      List<Object> additional = new ArrayList<>();
      for (Object s : schemas) {
        Object property = ContractViolations.get(ContractViolations.get(s, "properties"), member.getKey());
        if (property != ContractViolations.ABSENT) {
          declared.add(property);
        }
        Object more = ContractViolations.get(s, "additionalProperties");
        if (more instanceof JsonObject || more instanceof io.vertx.json.schema.JsonSchema) {
          additional.add(more);
        }
      }
      if (declared.isEmpty() && closed && ++unknown > UNKNOWN_MEMBERS) {
        changed = true;
        continue;
      }
      declared.addAll(additional);
      out.put(member.getKey(), cut(member.getValue(), applying(declared)));
    }
    return out;
  }

  private JsonArray cutArray(JsonArray array, List<Object> schemas) {
    long limit = -1;
    List<Object> items = new ArrayList<>();
    for (Object s : schemas) {
      if (ContractViolations.get(s, "maxItems") instanceof Number max) {
        limit = Math.max(limit, max.longValue());
      }
      Object item = ContractViolations.get(s, "items");
      if (item != ContractViolations.ABSENT) {
        items.add(item);
      }
    }
    if (limit < 0) {
      return array; // no bound known here: left whole
    }
    List<Object> itemSchemas = applying(items);
    JsonArray out = new JsonArray();
    for (int i = 0; i < array.size(); i++) {
      if (i > limit) {
        changed = true;
        break;
      }
      out.add(cut(array.getValue(i), itemSchemas));
    }
    return out;
  }

  /** These schemas with every schema that applies with them ($ref targets, allOf, oneOf/anyOf, then/else). */
  private List<Object> applying(List<Object> schemas) {
    Map<Object, Boolean> seen = new IdentityHashMap<>();
    List<Object> out = new ArrayList<>();
    for (Object s : schemas) {
      add(s, seen, out);
    }
    return out;
  }

  private void add(Object schema, Map<Object, Boolean> seen, List<Object> out) {
    if (!(schema instanceof JsonObject || schema instanceof io.vertx.json.schema.JsonSchema)
        || seen.put(schema, Boolean.TRUE) != null) {
      return;
    }
    out.add(schema);
    if (ContractViolations.get(schema, "$ref") instanceof String ref) {
      add(ContractViolations.resolve(document, ref), seen, out);
    }
    for (String key : List.of("allOf", "oneOf", "anyOf")) {
      if (ContractViolations.get(schema, key) instanceof JsonArray all) {
        all.forEach(s -> add(s, seen, out));
      }
    }
    add(ContractViolations.get(schema, "then"), seen, out);
    add(ContractViolations.get(schema, "else"), seen, out);
  }
}
