package org.frontline.platform.http;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.testing.TestEnvironment.await;

@FrontlineTest
class ProblemsAndContractTest {

  @Test
  void contractIsServedAsIs(TestEnvironment env) throws Exception {
    HttpResponse<Buffer> r = await(env.client().get("/openapi.yaml").send());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.getHeader("Content-Type")).startsWith("application/yaml");
    assertThat(r.bodyAsString()).isEqualTo(Files.readString(Path.of("api-spec/openapi.yaml")));
    assertThat(r.bodyAsString()).startsWith("openapi: 3.1.0");
  }

  @Test
  void unknownPathIsA404Problem(TestEnvironment env) {
    HttpResponse<Buffer> r = await(env.client().get("/v1/nothing-here").send());
    assertProblem(r, 404, "urn:frontline:problem:not-found");
    assertThat(r.bodyAsJsonObject().getString("instance")).isEqualTo("/v1/nothing-here");
  }

  /**
   * A path with a trailing slash or an empty segment is a 404 problem, a report posted to one is not stored, and tus
   * takes no creation there: vertx-web served /v1/me/ and /v1//me as /v1/me, /v1/reports/ as /v1/reports.
   */
  @Test
  void aPathWithATrailingSlashIsA404Problem(TestEnvironment env) {
    HttpResponse<Buffer> login = await(env.client().post("/v1/auth/login")
        .sendJsonObject(new JsonObject().put("username", "officer.xu").put("password", "frontline-dev")));
    String token = login.bodyAsJsonObject().getString("access_token");
    for (String path : java.util.List.of("/v1/me/", "/v1//me", "/v1/me//")) {
      HttpResponse<Buffer> r = await(env.client().get(path).putHeader("Authorization", "Bearer " + token).send());
      assertProblem(r, 404, "urn:frontline:problem:not-found");
    }
    JsonObject me = await(env.client().get("/v1/me").putHeader("Authorization", "Bearer " + token).send())
        .bodyAsJsonObject();
    String id = java.util.UUID.randomUUID().toString();
    JsonObject envelope = new JsonObject().put("id", id).put("type", "SITE")
        .put("unitId", me.getJsonObject("homeUnit").getString("id")).put("capturedAt", "2026-11-20T08:30:00Z")
        .put("location", new JsonObject().put("lat", 32.45).put("lon", 119.43).put("accuracyM", 8.5)
            .put("provider", "gps").put("mock", false))
        .put("title", "Bridge repair").put("body", new JsonObject().put("observations", new io.vertx.core.json.JsonArray()
            .add("Scaffolding up")));
    HttpResponse<Buffer> r = await(env.client().post("/v1/reports/").putHeader("Authorization", "Bearer " + token)
        .sendJsonObject(envelope));
    assertProblem(r, 404, "urn:frontline:problem:not-found");
    assertThat(env.count("SELECT count(*) FROM report WHERE id = ?::uuid", id)).isZero();
    HttpResponse<Buffer> tus = await(env.client().post("/v1/uploads/").putHeader("Authorization", "Bearer " + token)
        .putHeader("Tus-Resumable", "1.0.0").putHeader("Upload-Length", "10").send());
    assertProblem(tus, 404, "urn:frontline:problem:not-found");
  }

  @Test
  void wrongMethodIsA405Problem(TestEnvironment env) {
    HttpResponse<Buffer> r = await(env.client().request(HttpMethod.DELETE, "/openapi.yaml").send());
    assertProblem(r, 405, "urn:frontline:problem:method-not-allowed");
    assertThat(r.bodyAsJsonObject().getString("detail")).isEqualTo("DELETE is not allowed on /openapi.yaml.");
  }

  /** HEAD is a GET without the body (RFC 9110 9.1), authentication included; it was a 405. */
  @Test
  void headIsAGetWithoutItsBody(TestEnvironment env) {
    HttpResponse<Buffer> login = await(env.client().post("/v1/auth/login")
        .sendJsonObject(new JsonObject().put("username", "officer.xu").put("password", "frontline-dev")));
    String token = login.bodyAsJsonObject().getString("access_token");
    HttpResponse<Buffer> get = await(env.client().get("/v1/me").putHeader("Authorization", "Bearer " + token).send());
    HttpResponse<Buffer> head = await(env.client().head("/v1/me").putHeader("Authorization", "Bearer " + token).send());
    assertThat(head.statusCode()).isEqualTo(get.statusCode()).isEqualTo(200);
    assertThat(head.getHeader("Content-Type")).isEqualTo(get.getHeader("Content-Type"));
    assertThat(head.body()).isNull();

    HttpResponse<Buffer> anonymous = await(env.client().head("/v1/me").send());
    assertThat(anonymous.statusCode()).isEqualTo(401);
    assertThat(anonymous.getHeader("WWW-Authenticate")).startsWith("Bearer");
    assertThat(anonymous.body()).isNull();

    HttpResponse<Buffer> wrong = await(env.client().put("/v1/me").putHeader("Authorization", "Bearer " + token).send());
    assertProblem(wrong, 405, "urn:frontline:problem:method-not-allowed");
    assertThat(wrong.getHeader("Allow")).isEqualTo("GET, HEAD");
  }

  /**
   * A report envelope naming a member twice was stored with the last value (the title a client sent first was
   * dropped without a word); now it is a 400 naming the member, and nothing is stored.
   */
  @Test
  void aBodyNamingAMemberTwiceIsRefusedAndStoresNothing(TestEnvironment env) {
    HttpResponse<Buffer> login = await(env.client().post("/v1/auth/login")
        .sendJsonObject(new JsonObject().put("username", "officer.xu").put("password", "frontline-dev")));
    String token = login.bodyAsJsonObject().getString("access_token");
    JsonObject me = await(env.client().get("/v1/me").putHeader("Authorization", "Bearer " + token).send())
        .bodyAsJsonObject();
    String id = java.util.UUID.randomUUID().toString();
    String envelope = "{\"id\":\"" + id + "\",\"type\":\"SITE\",\"unitId\":\""
        + me.getJsonObject("homeUnit").getString("id") + "\",\"capturedAt\":\"2026-11-20T08:30:00Z\","
        + "\"location\":{\"lat\":32.45,\"lon\":119.43,\"accuracyM\":8.5,\"accuracyM\":80,\"provider\":\"gps\","
        + "\"mock\":false},\"title\":\"Bridge repair\",\"body\":{\"observations\":[\"Scaffolding up\"]}}";
    HttpResponse<Buffer> r = await(env.client().post("/v1/reports").putHeader("Authorization", "Bearer " + token)
        .putHeader("Content-Type", "application/json").sendBuffer(Buffer.buffer(envelope)));
    JsonObject problem = assertProblem(r, 400, "urn:frontline:problem:validation-failed");
    assertThat(problem.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/location/accuracyM");
    assertThat(env.count("SELECT count(*) FROM report WHERE id = ?::uuid", id)).isZero();

    HttpResponse<Buffer> once = await(env.client().post("/v1/reports").putHeader("Authorization", "Bearer " + token)
        .putHeader("Content-Type", "application/json")
        .sendBuffer(Buffer.buffer(envelope.replace("\"accuracyM\":8.5,", ""))));
    assertThat(once.statusCode()).as(once.bodyAsString()).isEqualTo(201);
    assertThat(env.count("SELECT count(*) FROM report WHERE id = ?::uuid", id)).isEqualTo(1);
  }

  /**
   * vertx-openapi 5.0.7 reads a string parameter as JSON unless it is a plain word: a quoted id (%22<uuid>%22) passed
   * validation as the bare id while the handler read it with its quotes (UUID.fromString threw: a 500 on every path
   * id), and `null` passed as absent. The validator now reads each string parameter exactly as the handler does:
   * such values are the parameter's 400, and nothing changes.
   */
  @Test
  void aStringParameterIsValidatedAsTheHandlerReadsIt(TestEnvironment env) {
    String supervisor = login(env, "supervisor.tongzhou");
    String zhang = env.string("SELECT id::text FROM account WHERE username = 'officer.zhang'");
    String unit = env.string("SELECT home_unit_id::text FROM account WHERE username = 'officer.zhang'");
    HttpResponse<Buffer> created = await(env.client().post("/v1/postings").putHeader("Authorization", "Bearer " + supervisor)
        .sendJsonObject(new JsonObject().put("officerId", zhang).put("frontLine", "ENVIRONMENTAL").put("unitId", unit)
            .put("startsOn", "2001-01-01").put("endsOn", "2001-12-31").put("allowOverlap", true)));
    assertThat(created.statusCode()).as(created.bodyAsString()).isEqualTo(201);
    String posting = created.bodyAsJsonObject().getString("id");
    HttpResponse<Buffer> device = await(env.client().post("/v1/devices").putHeader("Authorization", "Bearer " + supervisor)
        .sendJsonObject(new JsonObject().put("token", "quoted-id-" + posting).put("platform", "android")));
    String deviceId = device.bodyAsJsonObject().getString("id");

    record Call(HttpMethod method, String path, JsonObject body, String field) {}
    for (Call c : List.of(
        new Call(HttpMethod.GET, "/v1/postings/%22" + posting + "%22", null, "path/id"),
        new Call(HttpMethod.POST, "/v1/postings/%22" + posting + "%22/end",
            new JsonObject().put("endsOn", "2001-06-30"), "path/id"),
        new Call(HttpMethod.GET, "/v1/postings?officerId=%22" + zhang + "%22", null, "query/officerId"),
        new Call(HttpMethod.GET, "/v1/postings?unitId=null", null, "query/unitId"),
        new Call(HttpMethod.DELETE, "/v1/devices/%22" + deviceId + "%22", null, "path/id"),
        new Call(HttpMethod.POST, "/v1/notifications/%22" + posting + "%22/ack",
            new JsonObject().put("state", "opened"), "path/id"))) {
      var request = env.client().request(c.method(), c.path()).putHeader("Authorization", "Bearer " + supervisor);
      HttpResponse<Buffer> r = await(c.body() == null ? request.send() : request.sendJsonObject(c.body()));
      JsonObject problem = assertProblem(r, 400, "urn:frontline:problem:validation-failed");
      assertThat(problem.getJsonArray("errors").getJsonObject(0).getString("field")).as(c.path()).isEqualTo(c.field());
    }
    assertThat(env.string("SELECT ends_on::text FROM posting WHERE id = ?::uuid", posting)).isEqualTo("2001-12-31");
    assertThat(env.count("SELECT count(*) FROM device WHERE id = ?::uuid AND retired_at IS NULL", deviceId)).isEqualTo(1);
    // Plain values still pass.
    HttpResponse<Buffer> read = await(env.client().get("/v1/postings/" + posting)
        .putHeader("Authorization", "Bearer " + supervisor).send());
    assertThat(read.statusCode()).as(read.bodyAsString()).isEqualTo(200);
    assertThat(await(env.client().delete("/v1/devices/" + deviceId).putHeader("Authorization", "Bearer " + supervisor)
        .send()).statusCode()).isEqualTo(204);
  }

  /**
   * A body that is no JSON object, sent where a refusal may repeat a stored write (a report, a keyed write), is a
   * 400 problem and stores nothing: reading it to find the write it repeats threw, and the refusal was a 500.
   */
  @Test
  void aBodyThatIsNoJsonObjectIsA400WhereARefusalMayRepeatAWrite(TestEnvironment env) {
    String officer = login(env, "officer.xu");
    String admin = login(env, "admin");
    long reports = env.count("SELECT count(*) FROM report");
    long units = env.count("SELECT count(*) FROM org_unit");
    String malformed = "urn:frontline:problem:malformed-request";
    String invalid = "urn:frontline:problem:validation-failed";
    Map<String, String> bodies = Map.of("{\"not json", malformed, "[".repeat(2000) + "]".repeat(2000), malformed,
        "[]", invalid, "\"text\"", invalid, "42", invalid);
    bodies.forEach((body, type) -> {
      HttpResponse<Buffer> report = await(env.client().post("/v1/reports").putHeader("Authorization", "Bearer " + officer)
          .putHeader("Content-Type", "application/json").sendBuffer(Buffer.buffer(body)));
      assertProblem(report, 400, type);
      HttpResponse<Buffer> keyed = await(env.client().post("/v1/org-units").putHeader("Authorization", "Bearer " + admin)
          .putHeader("Idempotency-Key", java.util.UUID.randomUUID().toString())
          .putHeader("Content-Type", "application/json").sendBuffer(Buffer.buffer(body)));
      assertProblem(keyed, 400, type);
    });
    assertThat(env.count("SELECT count(*) FROM report")).isEqualTo(reports);
    assertThat(env.count("SELECT count(*) FROM org_unit")).isEqualTo(units);
  }

  /** A NUL in a parameter (%00) is a 400 naming it: PostgreSQL takes none in text, and an audit filter on one was a 500. */
  @Test
  void aParameterHoldingANulIsA400NamingIt(TestEnvironment env) {
    String admin = login(env, "admin");
    HttpResponse<Buffer> r = await(env.client().get("/v1/audit?action=report.review%00")
        .putHeader("Authorization", "Bearer " + admin).send());
    JsonObject problem = assertProblem(r, 400, "urn:frontline:problem:validation-failed");
    assertThat(problem.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("query/action");
    assertThat(problem.getJsonArray("errors").getJsonObject(0).getString("reason"))
        .isEqualTo("NUL characters are not allowed.");
  }

  /**
   * A parameter that takes one value, sent twice, is a 400 naming it: only the first was read, so a list asked for
   * two units' reports showed one unit's as if that were all. A parameter that is a list (figures' include) repeats.
   */
  @Test
  void aParameterSentTwiceIsA400UnlessItIsAList(TestEnvironment env) {
    String supervisor = login(env, "supervisor.hanjiang");
    HttpResponse<Buffer> r = await(env.client().get("/v1/reports?unitId=" + org.frontline.dev.DemoOrganisation.HUAISI
        + "&unitId=" + org.frontline.dev.DemoOrganisation.HANJIANG).putHeader("Authorization", "Bearer " + supervisor)
        .send());
    JsonObject problem = assertProblem(r, 400, "urn:frontline:problem:validation-failed");
    assertThat(problem.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("query/unitId");
    assertThat(problem.getJsonArray("errors").getJsonObject(0).getString("reason")).isEqualTo("sent more than once");
    HttpResponse<Buffer> figures = await(env.client().get("/v1/figures?from=2026-01-01&to=2026-02-01&include=projects"
        + "&include=requests").putHeader("Authorization", "Bearer " + supervisor).send());
    assertThat(figures.statusCode()).as(figures.bodyAsString()).isEqualTo(200);
  }

  private static String login(TestEnvironment env, String username) {
    return await(env.client().post("/v1/auth/login").sendJsonObject(new JsonObject().put("username", username)
        .put("password", "frontline-dev"))).bodyAsJsonObject().getString("access_token");
  }

  @Test
  void requestIdIsEchoedWhenSaneAndGeneratedOtherwise(TestEnvironment env) {
    HttpResponse<Buffer> echoed = await(env.client().get("/v1/nothing-here").putHeader("X-Request-Id", "phone-42.abc").send());
    assertThat(echoed.getHeader("X-Request-Id")).isEqualTo("phone-42.abc");
    assertThat(echoed.bodyAsJsonObject().getString("requestId")).isEqualTo("phone-42.abc");

    HttpResponse<Buffer> replaced = await(env.client().get("/openapi.yaml").putHeader("X-Request-Id", "bad id\" <script>").send());
    assertThat(replaced.getHeader("X-Request-Id")).matches("[0-9a-f-]{36}");

    HttpResponse<Buffer> generated = await(env.client().get("/openapi.yaml").send());
    assertThat(generated.getHeader("X-Request-Id")).matches("[0-9a-f-]{36}");
    assertThat(generated.getHeader("X-Request-Id")).isNotEqualTo(replaced.getHeader("X-Request-Id"));
  }

  static JsonObject assertProblem(HttpResponse<Buffer> r, int status, String type) {
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(status);
    assertThat(r.getHeader("Content-Type")).isEqualTo("application/problem+json");
    JsonObject body = r.bodyAsJsonObject();
    assertThat(body.getString("type")).isEqualTo(type);
    assertThat(body.getInteger("status")).isEqualTo(status);
    assertThat(body.getString("title")).isNotBlank();
    assertThat(body.getString("detail")).isNotBlank();
    assertThat(body.getString("requestId")).isEqualTo(r.getHeader("X-Request-Id"));
    // never internals
    assertThat(r.bodyAsString()).doesNotContain("Exception").doesNotContain("\tat ");
    return body;
  }

  @Test
  void patternsAreReadAsJsonSchemaReadsThemTheEndIsTheEnd() {
    assertThat(ApiVerticle.ecmaDollar("^[0-9a-f]{8}$")).isEqualTo("^[0-9a-f]{8}\\z");
    assertThat(ApiVerticle.ecmaDollar("^(a$|b)$")).isEqualTo("^(a\\z|b)\\z");
    // An escaped dollar and one in a character class are characters, not the end.
    assertThat(ApiVerticle.ecmaDollar("^\\$[$a]+$")).isEqualTo("^\\$[$a]+\\z");
    assertThat(ApiVerticle.ecmaDollar("^[\\]$]$")).isEqualTo("^[\\]$]\\z");
    java.util.regex.Pattern uuid = java.util.regex.Pattern.compile(ApiVerticle.ecmaDollar(
        "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"));
    String id = java.util.UUID.randomUUID().toString();
    assertThat(uuid.matcher(id).find()).isTrue();
    for (String end : java.util.List.of("\n", "\r\n", "\r", "\u0085", "\u2028", "\u2029")) {
      assertThat(uuid.matcher(id + end).find()).as("%s", (int) end.charAt(0)).isFalse();
    }
  }
}
