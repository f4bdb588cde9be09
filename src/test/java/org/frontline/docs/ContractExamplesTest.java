package org.frontline.docs;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.json.schema.Draft;
import io.vertx.json.schema.JsonSchema;
import io.vertx.json.schema.JsonSchemaOptions;
import io.vertx.json.schema.OutputFormat;
import io.vertx.json.schema.SchemaRepository;
import io.vertx.json.schema.Validator;
import io.vertx.openapi.impl.OpenAPIFormatValidator;
import io.vertx.openapi.impl.Utils;
import org.frontline.platform.http.ApiVerticle;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.testing.TestEnvironment.await;

/**
 * Every value the contract shows as an example or a default ({@code default}, {@code example}, {@code examples} of a
 * schema; {@code example}, {@code examples[*].value} of a parameter or media type) is valid under the schema it
 * belongs to: clients and generated code copy them as they are. (The contract has defaults and no examples yet.)
 */
class ContractExamplesTest {
  private static final String BASE = "app:///openapi.yaml";

  private record Shown(String where, JsonObject schema, Object value) {}

  @Test
  void everyExampleAndDefaultIsValidUnderItsSchema() {
    Vertx vertx = Vertx.vertx();
    try {
      JsonObject model = await(Utils.yamlStringToJson(
          await(ApiVerticle.readContract(vertx, ApiVerticle.CONTRACT)).toString()));
      SchemaRepository repository = SchemaRepository.create(new JsonSchemaOptions().setDraft(Draft.DRAFT202012)
          .setBaseUri(BASE).setOutputFormat(OutputFormat.Basic), new OpenAPIFormatValidator());
      repository.dereference(BASE, JsonSchema.of(model.copy()));
      List<Shown> shown = new ArrayList<>();
      collect(model, "", shown);
      assertThat(shown).as("the walk finds the contract's defaults").isNotEmpty();
      List<String> invalid = new ArrayList<>();
      for (Shown s : shown) {
        if (!Boolean.TRUE.equals(validator(repository, s.schema()).validate(s.value()).getValid())) {
          invalid.add(s.where() + ": " + s.value());
        }
      }
      assertThat(invalid).as("examples and defaults their schema refuses").isEmpty();
      // The check itself refuses a bad value: 0 where the schema of a page size says at least 1.
      Shown limit = shown.stream().filter(s -> s.where().contains("/parameters/") && s.value().equals(50))
          .findFirst().orElseThrow();
      assertThat(validator(repository, limit.schema()).validate(0).getValid()).isFalse();
    } finally {
      await(vertx.close());
    }
  }

  /** The schema as it stands, its local references ({@code #/components/...}) made references into the contract. */
  private static Validator validator(SchemaRepository repository, JsonObject schema) {
    return repository.validator(JsonSchema.of(absolute(schema.copy())));
  }

  private static <T> T absolute(T node) {
    if (node instanceof JsonObject o) {
      if (o.getValue("$ref") instanceof String ref && ref.startsWith("#/")) {
        o.put("$ref", BASE + ref);
      }
      o.forEach(e -> absolute(e.getValue()));
    } else if (node instanceof JsonArray a) {
      a.forEach(ContractExamplesTest::absolute);
    }
    return node;
  }

  /** A schema object (not a map of properties, responses or the like that happens to hold such a name). */
  private static boolean isSchema(JsonObject o) {
    Object type = o.getValue("type");
    return type instanceof String || type instanceof JsonArray || o.getValue("$ref") instanceof String
        || o.getValue("enum") instanceof JsonArray;
  }

  private static void collect(Object node, String pointer, List<Shown> into) {
    if (node instanceof JsonObject o) {
      if (isSchema(o)) {
        if (o.containsKey("default")) {
          into.add(new Shown(pointer + "/default", o, o.getValue("default")));
        }
        if (o.containsKey("example")) {
          into.add(new Shown(pointer + "/example", o, o.getValue("example")));
        }
        if (o.getValue("examples") instanceof JsonArray examples) {
          for (int i = 0; i < examples.size(); i++) {
            into.add(new Shown(pointer + "/examples/" + i, o, examples.getValue(i)));
          }
        }
      } else if (o.getValue("schema") instanceof JsonObject schema) {
        // A parameter, header or media type: its example(s) are of its schema.
        if (o.containsKey("example")) {
          into.add(new Shown(pointer + "/example", schema, o.getValue("example")));
        }
        if (o.getValue("examples") instanceof JsonObject examples) {
          for (String name : examples.fieldNames()) {
            if (examples.getValue(name) instanceof JsonObject example && example.containsKey("value")) {
              into.add(new Shown(pointer + "/examples/" + escape(name) + "/value", schema,
                  example.getValue("value")));
            }
          }
        }
      }
      for (Map.Entry<String, Object> e : o) {
        collect(e.getValue(), pointer + "/" + escape(e.getKey()), into);
      }
    } else if (node instanceof JsonArray a) {
      for (int i = 0; i < a.size(); i++) {
        collect(a.getValue(i), pointer + "/" + i, into);
      }
    }
  }

  private static String escape(String key) {
    return key.replace("~", "~0").replace("/", "~1");
  }
}
