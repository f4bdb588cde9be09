package org.frontline.testing;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.openapi.impl.Utils;
import org.frontline.platform.http.ApiVerticle;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.testing.TestEnvironment.await;

/** The response check of the test harness finds what it is meant to find, and nothing on conforming answers. */
class ContractConformanceTest {
  private static Vertx vertx;
  private static ContractConformance contract;

  @BeforeAll
  static void load() {
    vertx = Vertx.vertx();
    contract = new ContractConformance(await(Utils.yamlStringToJson(
        await(ApiVerticle.readContract(vertx, ApiVerticle.CONTRACT)).toString())));
  }

  @AfterAll
  static void close() {
    await(vertx.close());
  }

  private static List<String> check(String method, String uri, int status, Map<String, String> headers, String body) {
    Map<String, String> h = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    h.put("X-Request-Id", "r-1");
    h.put("WWW-Authenticate", "Bearer"); // required on the 401s used here
    h.putAll(headers);
    h.values().removeIf(v -> v.isEmpty());
    List<String> found = contract.check(method, uri, status, h::get, body == null ? null : Buffer.buffer(body));
    contract.drain();
    return found;
  }

  private static String problem(int status) {
    return new JsonObject().put("type", "urn:frontline:problem:x").put("title", "X").put("status", status).encode();
  }

  private static final Map<String, String> PROBLEM = Map.of("Content-Type", "application/problem+json");
  private static final Map<String, String> JSON = Map.of("Content-Type", "application/json; charset=utf-8");

  @Test
  void aConformingAnswerHasNoViolation() {
    assertThat(check("GET", "/v1/me", 401, Map.of("Content-Type", "application/problem+json; charset=utf-8",
        "WWW-Authenticate", "Bearer"), problem(401))).isEmpty();
    String key = new JsonObject().put("kty", "EC").put("crv", "P-256").put("x", "a").put("y", "b").put("kid", "k")
        .put("use", "sig").put("alg", "ES256").encode();
    assertThat(check("GET", "/.well-known/jwks.json", 200, JSON, "{\"keys\":[" + key + "]}")).isEmpty();
    assertThat(check("DELETE", "/v1/devices/6d1f6c43-3b5e-4bde-9d2a-3c7c1f0e9a11", 204, Map.of(), null)).isEmpty();
    assertThat(check("HEAD", "/v1/uploads/6d1f6c43-3b5e-4bde-9d2a-3c7c1f0e9a11", 200, TUS_HEAD, null)).isEmpty();
  }

  @Test
  void anythingOutsideTheContractsOperationsIsNotChecked() {
    assertThat(check("GET", "/openapi.yaml", 200, Map.of("Content-Type", "application/yaml"), "openapi: 3.1.0"))
        .isEmpty();
    assertThat(check("GET", "/frontline-test/objects/x?X-Amz-Signature=1", 200, Map.of(), "bytes")).isEmpty();
    assertThat(check("PUT", "/v1/me", 405, PROBLEM, problem(405))).isEmpty();
  }

  /**
   * A request line or header fields too long, or a request-target that does not decode, are refused before any
   * operation (the contract's description): undeclared there and without the operation's headers, but problems.
   */
  @Test
  void answersBeforeAnyOperationNeedNoDeclarationButAreProblems() {
    String id = "6d1f6c43-3b5e-4bde-9d2a-3c7c1f0e9a11";
    assertThat(check("GET", "/v1/me", 431, PROBLEM, problem(431))).isEmpty();
    assertThat(check("GET", "/v1/accounts/" + "a".repeat(5000), 414, PROBLEM, problem(414))).isEmpty();
    assertThat(check("DELETE", "/v1/uploads/%zz", 400, PROBLEM, problem(400))).isEmpty();
    assertThat(check("PATCH", "/v1/uploads/%zz", 400, PROBLEM, problem(400))).isEmpty();
    assertThat(check("DELETE", "/v1/uploads/%zz", 400, JSON, "{}")).isNotEmpty();
    assertThat(check("DELETE", "/v1/uploads/" + id, 400, PROBLEM, problem(400)))
        .singleElement().asString().contains("status 400 is not declared");
    assertThat(check("PATCH", "/v1/uploads/" + id, 400, PROBLEM, problem(400)))
        .singleElement().asString().contains("Tus-Resumable");
  }

  @Test
  void anUndeclaredStatusIsAViolation() {
    assertThat(check("GET", "/v1/me", 404, PROBLEM, problem(404)))
        .singleElement().asString().contains("getMe", "status 404 is not declared", "401");
    // /v1/reports/batch is its own path, not /v1/reports/{id}
    assertThat(check("POST", "/v1/reports/batch", 201, JSON, "{}"))
        .singleElement().asString().contains("createReportBatch", "status 201 is not declared");
  }

  @Test
  void aWrongMediaTypeOrBodyIsAViolation() {
    assertThat(check("GET", "/v1/me", 401, JSON, problem(401)))
        .singleElement().asString().contains("Content-Type application/json", "application/problem+json");
    assertThat(check("GET", "/v1/me", 401, PROBLEM, new JsonObject().put("type", "t").put("status", 401).encode()))
        .singleElement().asString().contains("Problem", "title");
    assertThat(check("GET", "/v1/me", 401, PROBLEM, problem(400)))
        .singleElement().asString().contains("status 400 is not the HTTP status");
    assertThat(check("GET", "/.well-known/jwks.json", 200, JSON, new JsonObject().put("keys",
        new JsonArray().add(new JsonObject().put("kty", "RSA"))).encode()))
        .singleElement().asString().contains("Jwks", "/keys/0");
    assertThat(check("GET", "/.well-known/jwks.json", 200, JSON, "{\"keys\":[],\"next\":1}"))
        .singleElement().asString().contains("does not declare", "/next");
    assertThat(check("GET", "/v1/me", 401, PROBLEM, new JsonObject(problem(401)).put("bogus", 1).encode()))
        .singleElement().asString().contains("does not declare", "/bogus");
    assertThat(check("GET", "/.well-known/jwks.json", 200, JSON, "{\"keys\":"))
        .singleElement().asString().contains("not JSON");
    assertThat(check("DELETE", "/v1/devices/6d1f6c43-3b5e-4bde-9d2a-3c7c1f0e9a11", 204, PROBLEM, problem(204)))
        .singleElement().asString().contains("declares none");
  }

  private static final Map<String, String> TUS_HEAD = Map.of("Tus-Resumable", "1.0.0", "Upload-Offset", "10",
      "Upload-Length", "20", "Cache-Control", "no-store", "Upload-Expires", "Fri, 27 Nov 2026 10:00:00 GMT");

  @Test
  void aHeadAnswerIsCheckedForItsHeaders() {
    Map<String, String> noOffset = new TreeMap<>(TUS_HEAD);
    noOffset.remove("Upload-Offset");
    assertThat(check("HEAD", "/v1/uploads/6d1f6c43-3b5e-4bde-9d2a-3c7c1f0e9a11", 200, noOffset, null))
        .singleElement().asString().contains("no Upload-Offset header");
    Map<String, String> badDate = new TreeMap<>(TUS_HEAD);
    badDate.put("Upload-Expires", "2026-11-27T10:00:00Z");
    assertThat(check("HEAD", "/v1/uploads/6d1f6c43-3b5e-4bde-9d2a-3c7c1f0e9a11", 200, badDate, null))
        .singleElement().asString().contains("Upload-Expires");
  }

  @Test
  void aDateTimeMustBeInUtc() {
    String device = new JsonObject().put("id", "6d1f6c43-3b5e-4bde-9d2a-3c7c1f0e9a11").put("platform", "android")
        .put("createdAt", "2026-11-27T18:00:00+08:00").encode();
    List<String> found = check("GET", "/v1/devices", 200, JSON, "{\"items\":[" + device + "]}");
    assertThat(found).anySatisfy(v -> assertThat(v).contains("not in UTC", "/items/0/createdAt"));
  }

  @Test
  void anInternalErrorNeedNotBeDeclaredButMustBeAProblem() {
    assertThat(check("GET", "/v1/me", 500, PROBLEM, problem(500))).isEmpty();
    assertThat(check("GET", "/v1/me", 500, Map.of("Content-Type", "text/plain"), "oops"))
        .singleElement().asString().contains("Content-Type text/plain", "application/problem+json");
    assertThat(check("GET", "/v1/me", 500, PROBLEM, "{\"status\":500}"))
        .singleElement().asString().contains("Problem", "type");
  }

  @Test
  void declaredHeadersAreChecked() {
    assertThat(check("GET", "/v1/me", 401, Map.of("Content-Type", "application/problem+json", "WWW-Authenticate", ""),
        problem(401))).singleElement().asString().contains("no WWW-Authenticate header");
    assertThat(check("POST", "/v1/auth/login", 429, Map.of("Content-Type", "application/problem+json",
        "Retry-After", "soon"), problem(429)))
        .singleElement().asString().contains("Retry-After", "not integer");
    assertThat(check("POST", "/oauth2/token", 429, Map.of("Content-Type", "application/json",
        "Retry-After", "0"), new JsonObject().put("error", "invalid_request").encode()))
        .singleElement().asString().contains("Retry-After", "\"0\"", "less than 1");
    assertThat(check("GET", "/v1/me", 401, Map.of("Content-Type", "application/problem+json", "X-Request-Id", ""),
        problem(401))).singleElement().asString().contains("no X-Request-Id");
  }
}
