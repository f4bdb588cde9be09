package org.frontline.platform.http;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.openapi.impl.Utils;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.testing.TestEnvironment.await;

/**
 * Every operation of the contract declares the answers the platform gives whatever its handler does, so a client
 * generated from the contract knows them: the running answers are checked by the test harness (ContractConformance),
 * but only for what the tests happen to provoke. bearerAuth: 401 (BearerAuthHandler), 403 (AccessRules: a role
 * missing, or a partner client's token on a people's operation), 429 (a partner client's rate limit, counted before
 * the role check: PartnerCallers) and 503 (the caller is read from the database; the timeout). Routed operations with parameters or a body: 400 (the contract's validator). With a JSON body: 413
 * (BodyHandler's limit) and 415 (another media type).
 */
class ContractCompletenessTest {
  private static Vertx vertx;
  private static JsonObject model;

  @BeforeAll
  static void load() {
    vertx = Vertx.vertx();
    model = await(Utils.yamlStringToJson(await(ApiVerticle.readContract(vertx, ApiVerticle.CONTRACT)).toString()));
  }

  @AfterAll
  static void close() {
    await(vertx.close());
  }

  @Test
  void everyOperationDeclaresThePlatformsAnswers() {
    List<String> missing = new ArrayList<>();
    JsonArray global = model.getJsonArray("security", new JsonArray());
    JsonObject paths = model.getJsonObject("paths");
    int operations = 0;
    for (String path : paths.fieldNames()) {
      JsonObject item = paths.getJsonObject(path);
      boolean raw = item.getBoolean(ApiVerticle.RAW_ROUTE, false);
      boolean pathParameters = !item.getJsonArray("parameters", new JsonArray()).isEmpty();
      for (String method : Set.of("get", "put", "post", "delete", "patch", "head")) {
        JsonObject op = item.getJsonObject(method);
        if (op == null) {
          continue;
        }
        operations++;
        JsonObject responses = op.getJsonObject("responses");
        boolean bearer = op.getJsonArray("security", global).stream()
            .anyMatch(s -> s instanceof JsonObject o && o.containsKey("bearerAuth"));
        JsonObject body = op.getJsonObject("requestBody");
        boolean json = body != null && body.getJsonObject("content", new JsonObject()).containsKey("application/json");
        List<String> needed = new ArrayList<>();
        if (bearer) {
          needed.addAll(List.of("401", "403", "429", "503"));
        }
        if (!raw && (pathParameters || !op.getJsonArray("parameters", new JsonArray()).isEmpty() || body != null)) {
          needed.add("400");
        }
        if (!raw && json) {
          needed.addAll(List.of("413", "415"));
        }
        String name = op.getString("operationId", method.toUpperCase() + " " + path);
        needed.stream().filter(code -> !responses.containsKey(code)).forEach(code -> missing.add(name + " " + code));
      }
    }
    assertThat(operations).isGreaterThan(80);
    assertThat(missing).as("operations not declaring an answer the platform gives them").isEmpty();
  }

  /**
   * {@code format: uuid} alone also takes RFC 4122's URN form ({@code urn:uuid:...}), which every handler's
   * {@code UUID.fromString} refuses (a 500): every uuid of the contract also carries the plain form's pattern.
   */
  @Test
  void everyUuidIsThePlainForm() {
    List<String> loose = new ArrayList<>();
    walk("#", model, loose);
    assertThat(loose).as("uuid schemas without the plain 8-4-4-4-12 pattern").isEmpty();
  }

  static final String PLAIN_UUID = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

  private static void walk(String at, Object node, List<String> loose) {
    if (node instanceof JsonObject o) {
      if ("uuid".equals(o.getValue("format")) && !PLAIN_UUID.equals(o.getValue("pattern"))) {
        loose.add(at);
      }
      o.forEach(e -> walk(at + "/" + e.getKey(), e.getValue(), loose));
    } else if (node instanceof JsonArray a) {
      for (int i = 0; i < a.size(); i++) {
        walk(at + "/" + i, a.getValue(i), loose);
      }
    }
  }
}
