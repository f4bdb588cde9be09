package org.frontline.enterprises;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.dev.DemoOrganisation;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.QueryPlans;
import org.frontline.testing.ScopeMoves;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HANJIANG;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.testing.TestEnvironment.await;

@FrontlineTest
class EnterprisesApiTest {
  private static final AtomicInteger SERIAL = new AtomicInteger();
  static final UUID XU = account("officer.xu");

  static UUID account(String username) {
    return UUID.nameUUIDFromBytes(("frontline-demo:account:" + username).getBytes(StandardCharsets.UTF_8));
  }

  /** A fresh valid credit code: a 17-character prefix and its computed check character. */
  static String code() {
    String prefix = String.format("91321003MA%07d", 1000 + SERIAL.incrementAndGet());
    return prefix + Uscc.checkCharacter(prefix);
  }

  private static final java.util.Map<String, String> TOKENS = new java.util.concurrent.ConcurrentHashMap<>();

  @org.junit.jupiter.api.BeforeEach
  void forgetTokens() {
    TOKENS.clear();
  }

  /** An access token of the demo account (one login per test and account). */
  static String token(TestEnvironment env, String username) {
    return TOKENS.computeIfAbsent(username, u -> {
      HttpResponse<Buffer> r = await(env.client().post("/v1/auth/login").sendJsonObject(
          new JsonObject().put("username", u).put("password", DemoOrganisation.PASSWORD)));
      assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
      return r.bodyAsJsonObject().getString("access_token");
    });
  }

  static HttpResponse<Buffer> call(TestEnvironment env, String token, HttpMethod method, String path, JsonObject body) {
    HttpRequest<Buffer> request = env.client().request(method, path).putHeader("Authorization", "Bearer " + token);
    return await(body == null ? request.send() : request.sendJsonObject(body));
  }

  static JsonObject ok(HttpResponse<Buffer> r, int status) {
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(status);
    return r.bodyAsJsonObject();
  }

  static JsonObject enterprise(String uscc, UUID unit) {
    return new JsonObject().put("name", "扬州某精密机械有限公司 Yangzhou Precision").put("uscc", uscc)
        .put("industry", "Precision machinery").put("unitId", unit.toString())
        .put("designations", new JsonArray().add(new JsonObject()
            .put("kind", "SPECIALISED_REFINED_DISTINCTIVE_INNOVATIVE").put("awardedOn", "2024-05-20")));
  }

  static String string(TestEnvironment env, String sql, Object... params) throws SQLException {
    return env.string(sql, params);
  }

  static long count(TestEnvironment env, String sql, Object... params) throws SQLException {
    return env.count(sql, params);
  }

  /** A Huaisi enterprise created by supervisor.hanjiang. */
  static JsonObject huaisiEnterprise(TestEnvironment env) {
    return ok(call(env, token(env, "supervisor.hanjiang"), HttpMethod.POST, "/v1/enterprises",
        enterprise(code(), HUAISI)), 201);
  }

  @Test
  void aSupervisorRegistersAnEnterpriseReadInScopeOnly(TestEnvironment env) throws Exception {
    String uscc = code();
    HttpResponse<Buffer> r = call(env, token(env, "supervisor.hanjiang"), HttpMethod.POST, "/v1/enterprises",
        enterprise(uscc, HUAISI));
    JsonObject created = ok(r, 201);
    UUID id = UUID.fromString(created.getString("id"));
    assertThat(r.getHeader("Location")).isEqualTo("/v1/enterprises/" + id);
    assertThat(created.getString("uscc")).isEqualTo(uscc);
    assertThat(created.getString("unitId")).isEqualTo(HUAISI.toString());
    assertThat(created.getJsonArray("designations")).isEqualTo(new JsonArray().add(new JsonObject()
        .put("kind", "SPECIALISED_REFINED_DISTINCTIVE_INNOVATIVE").put("awardedOn", "2024-05-20")));
    assertThat(string(env, "SELECT uscc || '|' || unit_id || '|' || created_by FROM enterprise WHERE id = ?", id))
        .isEqualTo(uscc + "|" + HUAISI + "|" + account("supervisor.hanjiang"));
    assertThat(string(env, "SELECT kind || '|' || awarded_on FROM enterprise_designation WHERE enterprise_id = ?", id))
        .isEqualTo("SPECIALISED_REFINED_DISTINCTIVE_INNOVATIVE|2024-05-20");
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'enterprise.create' AND object_id = ?"
        + " AND unit_id = ? AND outcome = 'SUCCESS'", id.toString(), HUAISI)).isEqualTo(1);

    // The known example code verifies too.
    JsonObject example = ok(call(env, token(env, "admin"), HttpMethod.POST, "/v1/enterprises",
        enterprise("91350100M000100Y43", HANJIANG).put("designations", new JsonArray())), 201);
    assertThat(example.getJsonArray("designations")).isEmpty();

    for (String reader : List.of("supervisor.hanjiang", "officer.xu", "admin")) {
      assertThat(ok(call(env, token(env, reader), HttpMethod.GET, "/v1/enterprises/" + id, null), 200))
          .isEqualTo(created);
    }
    for (String outsider : List.of("supervisor.tongzhou", "assessor.tongzhou", "officer.zhang")) {
      assertProblem(call(env, token(env, outsider), HttpMethod.GET, "/v1/enterprises/" + id, null), 404,
          "urn:frontline:problem:not-found");
      JsonObject page = ok(call(env, token(env, outsider), HttpMethod.GET, "/v1/enterprises", null), 200);
      assertThat(page.getJsonArray("items").stream().map(o -> ((JsonObject) o).getString("id")))
          .doesNotContain(id.toString(), example.getString("id"));
    }
    // officer.xu (Huaisi) sees the Huaisi one, not the Hanjiang-level one.
    JsonObject xuPage = ok(call(env, token(env, "officer.xu"), HttpMethod.GET, "/v1/enterprises", null), 200);
    List<String> xuIds = xuPage.getJsonArray("items").stream().map(o -> ((JsonObject) o).getString("id")).toList();
    assertThat(xuIds).contains(id.toString()).doesNotContain(example.getString("id"));
  }

  @Test
  void theListIsPagedByCursorNewestFirst(TestEnvironment env) throws Exception {
    String sup = token(env, "supervisor.hanjiang");
    for (int i = 0; i < 3; i++) {
      huaisiEnterprise(env);
    }
    long total = count(env, "SELECT count(*) FROM enterprise e JOIN org_unit u ON u.id = e.unit_id"
        + " WHERE u.path LIKE (SELECT path FROM org_unit WHERE id = ?) || '%'", HANJIANG);
    List<String> seen = new ArrayList<>();
    String cursor = null;
    do {
      JsonObject page = ok(call(env, sup, HttpMethod.GET, "/v1/enterprises?limit=2"
          + (cursor == null ? "" : "&cursor=" + cursor), null), 200);
      assertThat(page.getJsonArray("items").size()).isLessThanOrEqualTo(2);
      page.getJsonArray("items").forEach(o -> seen.add(((JsonObject) o).getString("createdAt") + "|"
          + ((JsonObject) o).getString("id")));
      cursor = page.getString("nextCursor");
    } while (cursor != null);
    assertThat(seen).hasSize((int) total).doesNotHaveDuplicates();
    List<String> sorted = new ArrayList<>(seen);
    sorted.sort(java.util.Comparator.reverseOrder());
    assertThat(seen).isEqualTo(sorted);
    assertProblem(call(env, sup, HttpMethod.GET, "/v1/enterprises?cursor=bm9wZQ", null), 400,
        "urn:frontline:problem:validation-failed");
  }

  @Test
  void theCreditCodeIsCheckedMalformedIs400WrongCheckCharacterIs422(TestEnvironment env) throws Exception {
    String sup = token(env, "supervisor.hanjiang");
    long before = count(env, "SELECT count(*) FROM enterprise");
    String valid = code();
    char wrong = valid.charAt(17) == '0' ? '1' : '0';
    String wrongCheck = valid.substring(0, 17) + wrong;
    JsonObject p = assertProblem(call(env, sup, HttpMethod.POST, "/v1/enterprises", enterprise(wrongCheck, HUAISI)),
        422, "urn:frontline:problem:unprocessable");
    assertThat(p.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/uscc");
    assertThat(p.getString("detail")).contains("expected " + valid.charAt(17));
    for (String malformed : List.of("91350100I000100Y43", "91350100O000100Y43", "91350100Z000100Y43",
        "91350100S000100Y43", "91350100V000100Y43", "91350100m000100Y43", "91350100M000100Y4", "91350100M000100Y433")) {
      JsonObject bad = assertProblem(call(env, sup, HttpMethod.POST, "/v1/enterprises", enterprise(malformed, HUAISI)),
          400, "urn:frontline:problem:validation-failed");
      assertThat(bad.getJsonArray("errors").stream().map(o -> ((JsonObject) o).getString("field")))
          .as(malformed).contains("body/uscc");
    }
    // As pasted from a registry page or a document: full-width characters, spaces (ASCII, U+3000), lower case. The
    // contract takes the code as the registry writes it, so each is the pattern's 400 naming the field, not a second
    // spelling of a code that could be registered twice.
    StringBuilder fullWidth = new StringBuilder();
    valid.chars().forEach(c -> fullWidth.append((char) (c + 0xFEE0)));
    for (String pasted : List.of(fullWidth.toString(), valid.substring(0, 8) + " " + valid.substring(8),
        valid + "\u3000", "\u3000" + valid, valid.toLowerCase(java.util.Locale.ROOT))) {
      JsonObject bad = assertProblem(call(env, sup, HttpMethod.POST, "/v1/enterprises", enterprise(pasted, HUAISI)),
          400, "urn:frontline:problem:validation-failed");
      assertThat(bad.getJsonArray("errors").stream().map(o -> ((JsonObject) o).getString("field")))
          .as(pasted).containsExactly("body/uscc");
    }
    assertThat(count(env, "SELECT count(*) FROM enterprise")).isEqualTo(before);
  }

  @Test
  void aCodeOrDesignationKindEndingInALineBreakIs400NamingItNeverA422Or500(TestEnvironment env) throws Exception {
    // The contract's patterns end in '$', which the validator's java.util.regex also matches before a final line
    // break: a valid code + "\n" was 422 "wrong check character, expected <the one it has>", a kind + "\n" a 500
    // (the table's CHECK).
    String sup = token(env, "supervisor.hanjiang");
    long before = count(env, "SELECT count(*) FROM enterprise");
    for (String end : List.of("\n", "\r\n", "\u2028")) {
      String uscc = code();
      JsonObject p = assertProblem(call(env, sup, HttpMethod.POST, "/v1/enterprises", enterprise(uscc + end, HUAISI)),
          400, "urn:frontline:problem:validation-failed");
      assertThat(p.getJsonArray("errors").stream().map(e -> ((JsonObject) e).getString("field"))).as(end)
          .containsExactly("body/uscc");
      JsonObject kind = enterprise(uscc, HUAISI);
      kind.getJsonArray("designations").add(new JsonObject().put("kind", "HIGH_TECH" + end).put("awardedOn",
          "2025-01-01"));
      p = assertProblem(call(env, sup, HttpMethod.POST, "/v1/enterprises", kind), 400,
          "urn:frontline:problem:validation-failed");
      assertThat(p.getJsonArray("errors").stream().map(e -> ((JsonObject) e).getString("field"))).as(end)
          .contains("body/designations/1/kind");
      assertThat(count(env, "SELECT count(*) FROM enterprise WHERE uscc LIKE ?", uscc.substring(0, 17) + "%"))
          .isZero();
    }
    assertThat(count(env, "SELECT count(*) FROM enterprise")).isEqualTo(before);
  }

  @Test
  void aUnitOrOfficerIdEndingInALineBreakIs400NamingItNever500(TestEnvironment env) throws Exception {
    // "<uuid>\n" passes the contract's pattern and format (java.util.regex '$'); UUID.fromString threw: a 500.
    String sup = token(env, "supervisor.hanjiang");
    String uscc = code();
    JsonObject p = assertProblem(call(env, sup, HttpMethod.POST, "/v1/enterprises",
        enterprise(uscc, HUAISI).put("unitId", HUAISI + "\n")), 400, "urn:frontline:problem:validation-failed");
    assertThat(p.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/unitId");
    assertThat(count(env, "SELECT count(*) FROM enterprise WHERE uscc = ?", uscc)).isZero();

    UUID enterprise = UUID.fromString(huaisiEnterprise(env).getString("id"));
    p = assertProblem(call(env, sup, HttpMethod.POST, "/v1/enterprises/" + enterprise + "/service-requests",
        request(XU).put("responsibleOfficerId", XU + "\n")), 400, "urn:frontline:problem:validation-failed");
    assertThat(p.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/responsibleOfficerId");
    assertThat(count(env, "SELECT count(*) FROM service_request WHERE enterprise_id = ?", enterprise)).isZero();
  }

  @Test
  void aDesignationDayOutsideTheRecordYearsIs400NamingItAndStoresNothing(TestEnvironment env) throws Exception {
    // Year 0000 passed `format: date` and was stored as 1 BC; read back, awardedOn became "0001-01-01 BC".
    for (String day : List.of("0000-05-20", "1899-12-31", "3000-01-01")) {
      String uscc = code();
      JsonObject body = enterprise(uscc, HUAISI);
      body.getJsonArray("designations").getJsonObject(0).put("awardedOn", day);
      JsonObject problem = assertProblem(call(env, token(env, "supervisor.hanjiang"), HttpMethod.POST,
          "/v1/enterprises", body), 400, "urn:frontline:problem:validation-failed");
      // The day is named; the other entries are the validator's wrappers on its way there (the array, the item).
      assertThat(problem.getJsonArray("errors").stream().map(e -> ((JsonObject) e).getString("field"))).as(day)
          .contains("body/designations/0/awardedOn").allMatch("body/designations/0/awardedOn"::startsWith);
      assertThat(count(env, "SELECT count(*) FROM enterprise WHERE uscc = ?", uscc)).as(day).isZero();
    }
  }

  @Test
  void aDuplicateCodeIs409AnOutOfScopeUnitIs422AnOfficerIs403(TestEnvironment env) throws Exception {
    String sup = token(env, "supervisor.hanjiang");
    String uscc = code();
    ok(call(env, sup, HttpMethod.POST, "/v1/enterprises", enterprise(uscc, HUAISI)), 201);
    assertProblem(call(env, sup, HttpMethod.POST, "/v1/enterprises", enterprise(uscc, HANJIANG)), 409,
        "urn:frontline:problem:conflict");
    // Another supervisor, elsewhere: the code is unique across all units.
    assertProblem(call(env, token(env, "supervisor.tongzhou"), HttpMethod.POST, "/v1/enterprises",
        enterprise(uscc, TONGZHOU)), 409, "urn:frontline:problem:conflict");
    assertThat(count(env, "SELECT count(*) FROM enterprise WHERE uscc = ?", uscc)).isEqualTo(1);

    String other = code();
    JsonObject p = assertProblem(call(env, sup, HttpMethod.POST, "/v1/enterprises", enterprise(other, TONGZHOU)),
        422, "urn:frontline:problem:unprocessable");
    assertThat(p.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/unitId");
    assertProblem(call(env, token(env, "officer.xu"), HttpMethod.POST, "/v1/enterprises", enterprise(other, HUAISI)),
        403, "urn:frontline:problem:forbidden");
    assertProblem(call(env, token(env, "assessor.tongzhou"), HttpMethod.POST, "/v1/enterprises",
        enterprise(other, TONGZHOU)), 403, "urn:frontline:problem:forbidden");
    JsonObject twice = enterprise(other, HUAISI);
    twice.getJsonArray("designations").add(twice.getJsonArray("designations").getJsonObject(0).copy());
    p = assertProblem(call(env, sup, HttpMethod.POST, "/v1/enterprises", twice), 422,
        "urn:frontline:problem:unprocessable");
    assertThat(p.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/designations/1/kind");
    assertThat(count(env, "SELECT count(*) FROM enterprise WHERE uscc = ?", other)).isZero();
  }

  @Test
  void twoConcurrentMovesFromOneStatusCannotBothPass(TestEnvironment env) throws Exception {
    UUID enterprise = UUID.fromString(huaisiEnterprise(env).getString("id"));
    String xu = token(env, "officer.xu");
    UUID id = UUID.fromString(ok(call(env, xu, HttpMethod.POST, "/v1/enterprises/" + enterprise + "/service-requests",
        request(XU)), 201).getString("id"));
    ok(move(env, xu, id, new JsonObject().put("to", "COORDINATING").put("department", "Tax bureau")), 200);
    JsonObject resolve = new JsonObject().put("to", "RESOLVED").put("evidence", "Done");
    var first = env.client().post("/v1/service-requests/" + id + "/transitions")
        .putHeader("Authorization", "Bearer " + xu).sendJsonObject(resolve);
    var second = env.client().post("/v1/service-requests/" + id + "/transitions")
        .putHeader("Authorization", "Bearer " + xu).sendJsonObject(resolve);
    List<Integer> statuses = new ArrayList<>(List.of(await(first).statusCode(), await(second).statusCode()));
    statuses.sort(null);
    assertThat(statuses).containsExactly(200, 409);
    assertThat(count(env, "SELECT count(*) FROM service_request_step WHERE service_request_id = ?"
        + " AND to_status = 'RESOLVED'", id)).isEqualTo(1);
  }

  @Test
  void aDepartmentAlreadyBroughtInIs409SoARepeatedMoveAddsNoSecondStep(TestEnvironment env) throws Exception {
    UUID enterprise = UUID.fromString(huaisiEnterprise(env).getString("id"));
    String xu = token(env, "officer.xu");
    UUID id = UUID.fromString(ok(call(env, xu, HttpMethod.POST, "/v1/enterprises/" + enterprise + "/service-requests",
        request(XU)), 201).getString("id"));
    JsonObject tax = new JsonObject().put("to", "COORDINATING").put("department", "Tax bureau");
    ok(move(env, xu, id, tax), 200);
    // The phone repeats the move whose answer it lost: the same department again (a second step before).
    String before = string(env, "SELECT row_to_json(t)::text FROM service_request t WHERE id = ?", id);
    JsonObject p = assertProblem(move(env, xu, id, tax), 409, "urn:frontline:problem:conflict");
    assertThat(p.getString("currentStatus")).isEqualTo("COORDINATING");
    assertThat(p.getJsonArray("allowed")).isEqualTo(new JsonArray().add("COORDINATING").add("RESOLVED"));
    assertThat(p.getString("detail")).contains("Tax bureau", "step 1");
    assertThat(string(env, "SELECT row_to_json(t)::text FROM service_request t WHERE id = ?", id)).isEqualTo(before);

    // Another department is a step; two concurrent repeats of it make one.
    JsonObject land = new JsonObject().put("to", "COORDINATING").put("department", "Natural resources bureau");
    var first = env.client().post("/v1/service-requests/" + id + "/transitions")
        .putHeader("Authorization", "Bearer " + xu).sendJsonObject(land);
    var second = env.client().post("/v1/service-requests/" + id + "/transitions")
        .putHeader("Authorization", "Bearer " + xu).sendJsonObject(land);
    List<Integer> statuses = new ArrayList<>(List.of(await(first).statusCode(), await(second).statusCode()));
    statuses.sort(null);
    assertThat(statuses).containsExactly(200, 409);
    assertThat(string(env, "SELECT string_agg(seq || ':' || department, ',' ORDER BY seq) FROM service_request_step"
        + " WHERE service_request_id = ?", id)).isEqualTo("1:Tax bureau,2:Natural resources bureau");
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'service-request.transition'"
        + " AND object_id = ?", id.toString())).isEqualTo(2);
    assertThat(ok(call(env, xu, HttpMethod.GET, "/v1/service-requests/" + id, null), 200).getJsonArray("steps"))
        .hasSize(2);
  }

  static JsonObject request(UUID officer) {
    return new JsonObject().put("category", "APPROVAL").put("description", "Construction permit for a new workshop")
        .put("responsibleOfficerId", officer.toString());
  }

  static HttpResponse<Buffer> move(TestEnvironment env, String token, UUID id, JsonObject body) {
    return call(env, token, HttpMethod.POST, "/v1/service-requests/" + id + "/transitions", body);
  }

  static void assertIllegal(TestEnvironment env, String token, UUID id, String to, String status, List<String> allowed)
      throws SQLException {
    JsonObject body = new JsonObject().put("to", to);
    switch (to) {
      case "COORDINATING" -> body.put("department", "Natural resources bureau");
      case "RESOLVED" -> body.put("evidence", "Permit issued");
      default -> body.put("satisfaction", 4);
    }
    String before = string(env, "SELECT row_to_json(t)::text FROM service_request t WHERE id = ?", id);
    JsonObject p = assertProblem(move(env, token, id, body), 409, "urn:frontline:problem:conflict");
    assertThat(p.getString("currentStatus")).isEqualTo(status);
    assertThat(p.getJsonArray("allowed")).as(status + " -> " + to).isEqualTo(new JsonArray(allowed));
    assertThat(string(env, "SELECT row_to_json(t)::text FROM service_request t WHERE id = ?", id)).isEqualTo(before);
  }

  @Test
  void aServiceRequestGoesThroughItsLifecycleAndRefusesIllegalMoves(TestEnvironment env) throws Exception {
    UUID enterprise = UUID.fromString(huaisiEnterprise(env).getString("id"));
    String xu = token(env, "officer.xu");
    HttpResponse<Buffer> r = call(env, xu, HttpMethod.POST, "/v1/enterprises/" + enterprise + "/service-requests",
        request(XU));
    JsonObject created = ok(r, 201);
    UUID id = UUID.fromString(created.getString("id"));
    assertThat(r.getHeader("Location")).isEqualTo("/v1/service-requests/" + id);
    assertThat(created.getString("status")).isEqualTo("RECEIVED");
    assertThat(created.getJsonArray("allowedTransitions")).isEqualTo(new JsonArray().add("COORDINATING"));
    assertThat(Duration.between(OffsetDateTime.parse(created.getString("receivedAt")),
        OffsetDateTime.parse(created.getString("dueAt")))).isEqualTo(Duration.ofDays(10));
    assertThat(string(env, "SELECT status || '|' || category || '|' || responsible_officer_id || '|'"
        + " || (due_at - received_at)::text FROM service_request WHERE id = ?", id))
        .isEqualTo("RECEIVED|APPROVAL|" + XU + "|10 days");
    // The entry records what was asked, of whom and when, so a request changed in the tables since shows.
    assertThat(string(env, "SELECT concat_ws('|', details ->> 'description', details ->> 'responsibleOfficerId',"
        + " (details ->> 'receivedAt')::timestamptz = r.received_at, (details ->> 'dueAt')::timestamptz = r.due_at)"
        + " FROM audit_log, service_request r WHERE action = 'service-request.create' AND object_id = ?"
        + " AND r.id = ?", id.toString(), id))
        .isEqualTo("Construction permit for a new workshop|" + XU + "|t|t");

    assertIllegal(env, xu, id, "RESOLVED", "RECEIVED", List.of("COORDINATING"));
    assertIllegal(env, xu, id, "CLOSED", "RECEIVED", List.of("COORDINATING"));

    // The move's own field is required, another move's field refused (422 naming it), before anything changes.
    JsonObject p = assertProblem(move(env, xu, id, new JsonObject().put("to", "COORDINATING")), 422,
        "urn:frontline:problem:unprocessable");
    assertThat(p.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/department");
    p = assertProblem(move(env, xu, id, new JsonObject().put("to", "COORDINATING").put("department", "Land")
        .put("satisfaction", 5)), 422, "urn:frontline:problem:unprocessable");
    assertThat(p.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/satisfaction");

    JsonObject coordinating = ok(move(env, xu, id, new JsonObject().put("to", "COORDINATING")
        .put("department", "Natural resources bureau")), 200);
    assertThat(coordinating.getString("status")).isEqualTo("COORDINATING");
    JsonObject second = ok(move(env, token(env, "supervisor.hanjiang"), id, new JsonObject().put("to", "COORDINATING")
        .put("department", "Housing and construction bureau")), 200);
    assertThat(second.getJsonArray("steps")).hasSize(2);
    assertThat(second.getJsonArray("allowedTransitions")).isEqualTo(new JsonArray().add("COORDINATING").add("RESOLVED"));
    assertThat(string(env, "SELECT string_agg(seq || ':' || from_status || '>' || to_status || ':' || department, ','"
        + " ORDER BY seq) FROM service_request_step WHERE service_request_id = ?", id))
        .isEqualTo("1:RECEIVED>COORDINATING:Natural resources bureau,"
            + "2:COORDINATING>COORDINATING:Housing and construction bureau");
    assertThat(count(env, "SELECT count(*) FROM service_request_step WHERE service_request_id = ? AND at IS NOT NULL"
        + " AND actor_id IS NOT NULL", id)).isEqualTo(2);

    assertIllegal(env, xu, id, "CLOSED", "COORDINATING", List.of("COORDINATING", "RESOLVED"));
    p = assertProblem(move(env, xu, id, new JsonObject().put("to", "RESOLVED")), 422,
        "urn:frontline:problem:unprocessable");
    assertThat(p.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/evidence");

    JsonObject resolved = ok(move(env, xu, id, new JsonObject().put("to", "RESOLVED")
        .put("evidence", "Permit issued on 2026-11-20, 13 working days saved")), 200);
    assertThat(resolved.getString("status")).isEqualTo("RESOLVED");
    assertThat(resolved.getString("resolvedAt")).isNotNull();
    assertThat(string(env, "SELECT status || '|' || evidence || '|' || (resolved_at IS NOT NULL)"
        + " FROM service_request WHERE id = ?", id))
        .isEqualTo("RESOLVED|Permit issued on 2026-11-20, 13 working days saved|true");

    assertIllegal(env, xu, id, "COORDINATING", "RESOLVED", List.of("CLOSED"));
    assertIllegal(env, xu, id, "RESOLVED", "RESOLVED", List.of("CLOSED"));
    assertProblem(move(env, xu, id, new JsonObject().put("to", "CLOSED").put("satisfaction", 6)), 400,
        "urn:frontline:problem:validation-failed");
    p = assertProblem(move(env, xu, id, new JsonObject().put("to", "CLOSED")), 422,
        "urn:frontline:problem:unprocessable");
    assertThat(p.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/satisfaction");

    JsonObject closed = ok(move(env, xu, id, new JsonObject().put("to", "CLOSED").put("satisfaction", 5)), 200);
    assertThat(closed.getString("status")).isEqualTo("CLOSED");
    assertThat(closed.getInteger("satisfaction")).isEqualTo(5);
    assertThat(closed.getJsonArray("allowedTransitions")).isEmpty();
    assertThat(string(env, "SELECT status || '|' || satisfaction || '|' || (closed_at IS NOT NULL)"
        + " FROM service_request WHERE id = ?", id)).isEqualTo("CLOSED|5|true");
    for (String to : List.of("COORDINATING", "RESOLVED", "CLOSED")) {
      assertIllegal(env, xu, id, to, "CLOSED", List.of());
    }
    // Each move's entry records its fields and its time (the step's: a report's move is done at its capture time,
    // not the entry's), so a resolution's evidence or time to resolution changed in the tables since shows.
    assertThat(string(env, "SELECT string_agg(concat_ws('|', s.seq, e.details ->> 'department',"
        + " e.details ->> 'evidence', e.details ->> 'satisfaction', (e.details ->> 'at')::timestamptz = s.at), ','"
        + " ORDER BY e.seq) FROM audit_log e JOIN service_request_step s ON s.service_request_id::text = e.object_id"
        + " AND s.to_status = e.details ->> 'to' AND s.department IS NOT DISTINCT FROM e.details ->> 'department'"
        + " WHERE e.action = 'service-request.transition' AND e.object_id = ?", id.toString()))
        .isEqualTo("1|Natural resources bureau|t,2|Housing and construction bureau|t,"
            + "3|Permit issued on 2026-11-20, 13 working days saved|t,4|5|t");
    assertThat(count(env, "SELECT count(*) FROM service_request_step WHERE service_request_id = ?", id)).isEqualTo(4);
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'service-request.transition'"
        + " AND object_id = ?", id.toString())).isEqualTo(4);
    assertThat(ok(call(env, token(env, "supervisor.hanjiang"), HttpMethod.GET, "/v1/service-requests/" + id, null),
        200)).isEqualTo(closed);
  }

  /**
   * A request received by an instance whose clock runs ahead of this one's (its receipt an hour in this instance's
   * future): the transitions endpoint records each move just after the receipt and the step before it, so the history
   * keeps its order and the time to resolution is never negative. Each was recorded at this instance's now: brought
   * in and resolved before it was received.
   */
  @Test
  void aMoveIsNeverRecordedBeforeWhatTheRequestAlreadyRecords(TestEnvironment env) throws Exception {
    UUID enterprise = UUID.fromString(huaisiEnterprise(env).getString("id"));
    String xu = token(env, "officer.xu");
    UUID id = UUID.fromString(ok(call(env, xu, HttpMethod.POST, "/v1/enterprises/" + enterprise + "/service-requests",
        request(XU)), 201).getString("id"));
    env.inTransactionBesideTheService(st -> assertThat(st.executeUpdate("UPDATE service_request SET received_at ="
        + " received_at + interval '1 hour', due_at = due_at + interval '1 hour' WHERE id = '" + id + "'")).isOne());
    ok(move(env, xu, id, TO_TAX), 200);
    JsonObject resolved = ok(move(env, xu, id, new JsonObject().put("to", "RESOLVED").put("evidence", "Permit issued")),
        200);
    assertThat(string(env, "SELECT concat_ws('|', s1.at > r.received_at, s2.at > s1.at, r.resolved_at = s2.at)"
        + " FROM service_request r JOIN service_request_step s1 ON s1.service_request_id = r.id AND s1.seq = 1"
        + " JOIN service_request_step s2 ON s2.service_request_id = r.id AND s2.seq = 2 WHERE r.id = ?", id))
        .isEqualTo("t|t|t");
    assertThat(OffsetDateTime.parse(resolved.getString("resolvedAt")))
        .isAfter(OffsetDateTime.parse(resolved.getString("receivedAt")));
  }

  /** A raw JSON body (so a lone surrogate escape reaches the server as sent). */
  static HttpResponse<Buffer> raw(TestEnvironment env, String token, String path, String json) {
    return await(env.client().post(path).putHeader("Authorization", "Bearer " + token)
        .putHeader("Content-Type", "application/json").sendBuffer(Buffer.buffer(json)));
  }

  @Test
  void aStringThatCannotBeStoredAsSentIs400NamingTheFieldNever500NorAQuestionMark(TestEnvironment env)
      throws Exception {
    String supervisor = token(env, "supervisor.hanjiang");
    UUID enterprise = UUID.fromString(huaisiEnterprise(env).getString("id"));
    String path = "/v1/enterprises/" + enterprise + "/service-requests";
    // A NUL in the description: PostgreSQL refused the insert (500).
    JsonObject p = assertProblem(raw(env, supervisor, path, "{\"category\":\"LAND\",\"description\":\"a\\u0000b\","
        + "\"responsibleOfficerId\":\"" + XU + "\"}"), 400, "urn:frontline:problem:validation-failed");
    assertThat(p.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/description");
    // A lone surrogate: stored as '?' (a silent change of what was written).
    p = assertProblem(raw(env, supervisor, path, "{\"category\":\"LAND\",\"description\":\"a\\ud800b\","
        + "\"responsibleOfficerId\":\"" + XU + "\"}"), 400, "urn:frontline:problem:validation-failed");
    assertThat(p.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/description");
    assertThat(count(env, "SELECT count(*) FROM service_request WHERE enterprise_id = ?", enterprise)).isZero();
    UUID id = UUID.fromString(ok(call(env, supervisor, HttpMethod.POST, path, request(XU)), 201).getString("id"));
    p = assertProblem(raw(env, supervisor, "/v1/service-requests/" + id + "/transitions",
        "{\"to\":\"COORDINATING\",\"department\":\"Tax\\u0000\"}"), 400, "urn:frontline:problem:validation-failed");
    assertThat(p.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/department");
    assertThat(string(env, "SELECT status FROM service_request WHERE id = ?", id)).isEqualTo("RECEIVED");
    // Nested: an enterprise's designation kind is pattern-checked, its name is not.
    p = assertProblem(raw(env, supervisor, "/v1/enterprises", enterprise(code(), HUAISI).put("name", "X")
        .encode().replace("\"name\":\"X\"", "\"name\":\"\\udc00\"")), 400, "urn:frontline:problem:validation-failed");
    assertThat(p.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/name");
    // Other work records and devices alike (each a 500 before).
    String tongzhou = token(env, "supervisor.tongzhou");
    p = assertProblem(raw(env, tongzhou, "/v1/projects", "{\"unitId\":\"" + TONGZHOU + "\",\"name\":\"P\\u0000\","
        + "\"investmentYuan\":1,\"site\":{\"lat\":32,\"lon\":121,\"radiusM\":100},\"bidSections\":[\"ok\",\"b\\u0000\"]}"),
        400, "urn:frontline:problem:validation-failed");
    assertThat(p.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/name");
    p = assertProblem(raw(env, tongzhou, "/v1/devices", "{\"token\":\"t\\u0000\",\"platform\":\"android\"}"), 400,
        "urn:frontline:problem:validation-failed");
    assertThat(p.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/token");
    // A pair of surrogates is a character like any other.
    ok(raw(env, supervisor, path, "{\"category\":\"LAND\",\"description\":\"\\ud83c\\udfed factory\","
        + "\"responsibleOfficerId\":\"" + XU + "\"}"), 201);
  }

  /**
   * Text the contract marks non-blank ({@code pattern: '\S'}) is refused when it shows nothing: ideographic (U+3000),
   * no-break and zero-width spaces are no characters, in every body alike (an enterprise's, a project's name), with
   * the same wording; a character between ideographic spaces is text like any other.
   */
  @Test
  void aNameOfOnlyUnicodeSpacesIs400NamingItAndStoresNothing(TestEnvironment env) throws Exception {
    String supervisor = token(env, "supervisor.hanjiang");
    String tongzhou = token(env, "supervisor.tongzhou");
    for (String blank : List.of("\u3000\u3000", "\u00a0\u200b", "\ufeff\u2003")) {
      String uscc = code();
      JsonObject p = assertProblem(call(env, supervisor, HttpMethod.POST, "/v1/enterprises",
          enterprise(uscc, HUAISI).put("name", blank)), 400, "urn:frontline:problem:validation-failed");
      assertBlank(p, "body/name");
      assertThat(count(env, "SELECT count(*) FROM enterprise WHERE uscc = ?", uscc)).isZero();
      String project = "Blank " + UUID.randomUUID();
      p = assertProblem(call(env, tongzhou, HttpMethod.POST, "/v1/projects", new JsonObject()
          .put("unitId", TONGZHOU.toString()).put("name", blank).put("investmentYuan", 1)
          .put("site", new JsonObject().put("lat", 32).put("lon", 121).put("radiusM", 100))
          .put("bidSections", new JsonArray().add(project))), 400, "urn:frontline:problem:validation-failed");
      assertBlank(p, "body/name");
      assertThat(count(env, "SELECT count(*) FROM project WHERE ? = ANY(bid_sections)", project))
          .isZero();
    }
    String uscc = code();
    JsonObject created = ok(call(env, supervisor, HttpMethod.POST, "/v1/enterprises",
        enterprise(uscc, HUAISI).put("name", "\u3000\u6865\u3000")), 201);
    assertThat(string(env, "SELECT name FROM enterprise WHERE id = ?", UUID.fromString(created.getString("id"))))
        .isEqualTo("\u3000\u6865\u3000");
  }

  /** The one wording of a blank field, whatever the field (ContractViolations). */
  private static void assertBlank(JsonObject problem, String field) {
    JsonObject error = problem.getJsonArray("errors").getJsonObject(0);
    assertThat(problem.getJsonArray("errors")).hasSize(1);
    assertThat(error.getString("field")).isEqualTo(field);
    assertThat(error.getString("reason")).startsWith("Must not be blank");
  }

  @Test
  void serviceRequestsAreScopedThroughTheEnterpriseAndRoleChecked(TestEnvironment env) throws Exception {
    UUID enterprise = UUID.fromString(huaisiEnterprise(env).getString("id"));
    String path = "/v1/enterprises/" + enterprise + "/service-requests";
    JsonObject created = ok(call(env, token(env, "supervisor.hanjiang"), HttpMethod.POST, path,
        request(XU).put("category", "LAND")), 201);
    UUID id = UUID.fromString(created.getString("id"));
    assertThat(Duration.between(OffsetDateTime.parse(created.getString("receivedAt")),
        OffsetDateTime.parse(created.getString("dueAt")))).isEqualTo(Duration.ofDays(30));
    String tongzhou = token(env, "supervisor.tongzhou");
    assertProblem(call(env, tongzhou, HttpMethod.GET, "/v1/service-requests/" + id, null), 404,
        "urn:frontline:problem:not-found");
    assertProblem(move(env, tongzhou, id, new JsonObject().put("to", "COORDINATING").put("department", "X")), 404,
        "urn:frontline:problem:not-found");
    assertProblem(call(env, tongzhou, HttpMethod.POST, path, request(XU)), 404, "urn:frontline:problem:not-found");
    assertProblem(move(env, token(env, "assessor.tongzhou"), id, new JsonObject().put("to", "COORDINATING")
        .put("department", "X")), 403, "urn:frontline:problem:forbidden");
    assertProblem(call(env, token(env, "assessor.tongzhou"), HttpMethod.POST, path, request(XU)), 403,
        "urn:frontline:problem:forbidden");
    // An assessor reads in scope only: Huaisi is not in Tongzhou's.
    assertProblem(call(env, token(env, "assessor.tongzhou"), HttpMethod.GET, "/v1/service-requests/" + id, null), 404,
        "urn:frontline:problem:not-found");
    // The responsible officer must be an enabled officer or supervisor.
    JsonObject p = assertProblem(call(env, token(env, "supervisor.hanjiang"), HttpMethod.POST, path,
        request(account("assessor.tongzhou"))), 422, "urn:frontline:problem:unprocessable");
    assertThat(p.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/responsibleOfficerId");
    // ... whose scope covers the enterprise's unit: a Tongzhou officer or supervisor could neither read nor move a
    // Huaisi request they were made responsible for (both were accepted).
    for (String outside : List.of("officer.zhang", "supervisor.tongzhou")) {
      p = assertProblem(call(env, token(env, "supervisor.hanjiang"), HttpMethod.POST, path, request(account(outside))),
          422, "urn:frontline:problem:unprocessable");
      assertThat(p.getJsonArray("errors").getJsonObject(0).getString("field")).as(outside)
          .isEqualTo("body/responsibleOfficerId");
    }
    assertThat(count(env, "SELECT count(*) FROM service_request WHERE enterprise_id = ?", enterprise)).isEqualTo(1);
    // The supervisor covering Hanjiang (and so Huaisi) may be the one responsible.
    ok(call(env, token(env, "supervisor.hanjiang"), HttpMethod.POST, path, request(account("supervisor.hanjiang"))),
        201);
    assertThat(count(env, "SELECT count(*) FROM service_request WHERE enterprise_id = ?", enterprise)).isEqualTo(2);
    assertThat(string(env, "SELECT status FROM service_request WHERE id = ?", id)).isEqualTo("RECEIVED");
  }

  /**
   * A service request at an enterprise of {@code unit} (made by the province admin), its responsible officer at home in
   * that unit; the request's id.
   */
  private static UUID requestAt(TestEnvironment env, UUID unit) {
    String admin = ScopeMoves.provinceAdmin(env);
    String enterprise = ok(call(env, admin, HttpMethod.POST, "/v1/enterprises", enterprise(code(), unit)), 201)
        .getString("id");
    UUID officer = ScopeMoves.caller(env, unit, "officer").id();
    return UUID.fromString(ok(call(env, admin, HttpMethod.POST, "/v1/enterprises/" + enterprise + "/service-requests",
        request(officer)), 201).getString("id"));
  }

  private static final JsonObject TO_TAX = new JsonObject().put("to", "COORDINATING").put("department", "Tax bureau");

  /**
   * A move of a service request by an admin whose scope is one unit, waiting for the request's lock (another move of it
   * under way) while its enterprise's unit moves into that scope, is applied. The request was locked by a statement
   * that joined its enterprise's unit and checked the scope: the unit, outside the scope as that statement first saw
   * it, kept the request from being found (a 404 at once).
   */
  @Test
  void aMoveWaitingWhileTheEnterprisesUnitMovesIntoTheCallersScopeIsApplied(TestEnvironment env) throws Exception {
    UUID covered = ScopeMoves.unit(env, TONGZHOU);
    ScopeMoves.ScopedCaller admin = ScopeMoves.caller(env, covered, "admin");
    UUID unit = ScopeMoves.unit(env, HANJIANG);
    UUID id = requestAt(env, unit);
    JsonObject moved = ok(ScopeMoves.whileHeld(env, st -> {
      st.execute("SELECT 1 FROM service_request WHERE id = '" + id + "' FOR UPDATE");
      ScopeMoves.move(st, unit, covered);
    }, "%FROM service_request%FOR UPDATE%", () -> move(env, admin.token(), id, TO_TAX)), 200);
    assertThat(moved.getString("status")).isEqualTo("COORDINATING");
    assertThat(count(env, "SELECT count(*) FROM service_request WHERE id = ? AND status = 'COORDINATING'", id))
        .isEqualTo(1);
  }

  /**
   * The other way: a request whose enterprise's unit moved out of the admin's scope while the move waited is 404 and
   * stays as it was. The locking statement re-checked the request's row against the unit's row as it had first read
   * it, still in the scope, and moved a request the admin no longer sees.
   */
  @Test
  void aMoveWaitingWhileTheEnterprisesUnitMovesOutOfTheCallersScopeIs404(TestEnvironment env) throws Exception {
    UUID covered = ScopeMoves.unit(env, TONGZHOU);
    ScopeMoves.ScopedCaller admin = ScopeMoves.caller(env, covered, "admin");
    UUID unit = ScopeMoves.unit(env, covered);
    UUID id = requestAt(env, unit);
    String before = string(env, "SELECT row_to_json(t)::text FROM service_request t WHERE id = ?", id);
    assertProblem(ScopeMoves.whileHeld(env, st -> {
      st.execute("SELECT 1 FROM service_request WHERE id = '" + id + "' FOR UPDATE");
      ScopeMoves.move(st, unit, HANJIANG);
    }, "%FROM service_request%FOR UPDATE%", () -> move(env, admin.token(), id, TO_TAX)), 404,
        "urn:frontline:problem:not-found");
    assertThat(string(env, "SELECT row_to_json(t)::text FROM service_request t WHERE id = ?", id)).isEqualTo(before);
    assertThat(count(env, "SELECT count(*) FROM service_request_step WHERE service_request_id = ?", id)).isZero();
  }

  /**
   * What moveEnterprise writes (EnterpriseService.move), held open by the test: the enterprise locked by key, its unit
   * changed, its open requests' alert state cleared.
   */
  private static TestEnvironment.SqlWork handOver(UUID enterprise, UUID to) {
    return st -> {
      st.execute("SELECT 1 FROM enterprise WHERE id = '" + enterprise + "' FOR UPDATE");
      st.executeUpdate("UPDATE enterprise SET unit_id = '" + to + "' WHERE id = '" + enterprise + "'");
      st.executeUpdate("UPDATE service_request SET overdue_alerted_at = NULL WHERE enterprise_id = '" + enterprise
          + "' AND status IN ('RECEIVED', 'COORDINATING')");
    };
  }

  /**
   * A request recorded by a supervisor of a unit while its enterprise is handed over to a unit outside their scope is
   * judged at the new unit: 404, nothing stored. It was judged at the unit the enterprise was leaving, its insert then
   * waited for the hand-over (the foreign key) and stored an open request whose responsible officer does not cover
   * the enterprise's unit (what the hand-over itself refuses), created and audited by a caller who does not either.
   */
  @Test
  void aRequestRecordedWhileItsEnterpriseIsHandedOverOutOfTheCallersScopeIs404(TestEnvironment env) throws Exception {
    UUID unit = ScopeMoves.unit(env, HANJIANG);
    ScopeMoves.ScopedCaller supervisor = ScopeMoves.caller(env, unit, "supervisor");
    UUID officer = ScopeMoves.caller(env, unit, "officer").id();
    UUID enterprise = UUID.fromString(ok(call(env, ScopeMoves.provinceAdmin(env), HttpMethod.POST, "/v1/enterprises",
        enterprise(code(), unit)), 201).getString("id"));
    String path = "/v1/enterprises/" + enterprise + "/service-requests";
    assertProblem(ScopeMoves.whileHeld(env, handOver(enterprise, TONGZHOU), "%enterprise%",
        () -> call(env, supervisor.token(), HttpMethod.POST, path, request(officer))), 404,
        "urn:frontline:problem:not-found");
    assertThat(count(env, "SELECT count(*) FROM service_request WHERE enterprise_id = ?", enterprise)).isZero();
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'service-request.create'"
        + " AND details ->> 'enterpriseId' = ?", enterprise.toString())).isZero();
  }

  /**
   * A move of a RESOLVED request (which the hand-over does not lock: only open requests' alert state is cleared)
   * sent by a supervisor of the unit its enterprise is being handed over from, to a unit outside their scope, waits
   * for the hand-over and is 404, nothing written; the request is then closed at the new unit, audited there. It did
   * not wait: the request was closed by a caller who no longer covers it, audited at the unit it had left.
   */
  @Test
  void aMoveSentWhileItsEnterpriseIsHandedOverOutOfTheCallersScopeIs404(TestEnvironment env) throws Exception {
    UUID unit = ScopeMoves.unit(env, HANJIANG);
    ScopeMoves.ScopedCaller supervisor = ScopeMoves.caller(env, unit, "supervisor");
    UUID id = requestAt(env, unit);
    UUID enterprise = UUID.fromString(string(env, "SELECT enterprise_id FROM service_request WHERE id = ?", id));
    ok(move(env, supervisor.token(), id, TO_TAX), 200);
    ok(move(env, supervisor.token(), id, new JsonObject().put("to", "RESOLVED").put("evidence", "Permit issued")), 200);
    String before = string(env, "SELECT row_to_json(t)::text FROM service_request t WHERE id = ?", id);
    JsonObject close = new JsonObject().put("to", "CLOSED").put("satisfaction", 5);
    assertProblem(ScopeMoves.whileHeld(env, handOver(enterprise, TONGZHOU), "%FROM enterprise%FOR SHARE%",
        () -> move(env, supervisor.token(), id, close)), 404, "urn:frontline:problem:not-found");
    assertThat(string(env, "SELECT row_to_json(t)::text FROM service_request t WHERE id = ?", id)).isEqualTo(before);
    assertThat(count(env, "SELECT count(*) FROM service_request_step WHERE service_request_id = ?", id)).isEqualTo(2);

    assertThat(ok(move(env, token(env, "supervisor.tongzhou"), id, close), 200).getString("status"))
        .isEqualTo("CLOSED");
    assertThat(string(env, "SELECT string_agg(details ->> 'to' || '@' || (unit_id = ?), ',' ORDER BY seq)"
        + " FROM audit_log WHERE action = 'service-request.transition' AND object_id = ?", TONGZHOU, id.toString()))
        .isEqualTo("COORDINATING@false,RESOLVED@false,CLOSED@true");
  }

  /** Every page of GET {@code path} (a query string of filters, or none) as the ids listed, paged by {@code limit}. */
  private static List<String> listedIds(TestEnvironment env, String token, String query, int limit) {
    List<String> ids = new ArrayList<>();
    String cursor = null;
    do {
      JsonObject page = ok(call(env, token, HttpMethod.GET, "/v1/service-requests?limit=" + limit + query
          + (cursor == null ? "" : "&cursor=" + cursor), null), 200);
      assertThat(page.getJsonArray("items").size()).isLessThanOrEqualTo(limit);
      page.getJsonArray("items").forEach(o -> ids.add(((JsonObject) o).getString("id")));
      cursor = page.getString("nextCursor");
    } while (cursor != null);
    return ids;
  }

  /**
   * A supervisor sees every request of their scope through to its end: listed the earliest deadline first (due, then
   * id), paged by a cursor bound to its filters, filtered by status and enterprise, each item as GET answers it;
   * another unit's requests are never listed. There was no list: a request was found only by its id (its creation's
   * answer, an overdue alert).
   */
  @Test
  void theRequestsOfTheScopeAreListedEarliestDeadlineFirstAndFiltered(TestEnvironment env) throws Exception {
    String sup = token(env, "supervisor.hanjiang");
    UUID enterprise = UUID.fromString(huaisiEnterprise(env).getString("id"));
    String path = "/v1/enterprises/" + enterprise + "/service-requests";
    // Due in 10, 30 and 15 days: listed approval, talent, land.
    JsonObject approval = ok(call(env, sup, HttpMethod.POST, path, request(XU)), 201);
    JsonObject land = ok(call(env, sup, HttpMethod.POST, path, request(XU).put("category", "LAND")), 201);
    JsonObject talent = ok(call(env, sup, HttpMethod.POST, path, request(XU).put("category", "TALENT")), 201);
    UUID approvalId = UUID.fromString(approval.getString("id"));
    ok(move(env, sup, approvalId, TO_TAX), 200);

    String byEnterprise = "&enterpriseId=" + enterprise;
    assertThat(listedIds(env, sup, byEnterprise, 2)).containsExactly(approval.getString("id"),
        talent.getString("id"), land.getString("id"));
    assertThat(listedIds(env, sup, byEnterprise + "&status=RECEIVED", 1)).containsExactly(talent.getString("id"),
        land.getString("id"));
    assertThat(listedIds(env, sup, "&status=COORDINATING", 200)).contains(approval.getString("id"))
        .doesNotContain(talent.getString("id"), land.getString("id"));
    JsonObject first = ok(call(env, sup, HttpMethod.GET, "/v1/service-requests?limit=1" + byEnterprise, null), 200);
    assertThat(first.getJsonArray("items").getJsonObject(0))
        .isEqualTo(ok(call(env, sup, HttpMethod.GET, "/v1/service-requests/" + approvalId, null), 200));

    // The whole scope, in (dueAt, id) order, each of its requests once.
    List<String> all = listedIds(env, sup, "", 7);
    assertThat(all).doesNotHaveDuplicates().hasSize((int) count(env, "SELECT count(*) FROM service_request sr"
        + " JOIN enterprise e ON e.id = sr.enterprise_id JOIN org_unit u ON u.id = e.unit_id"
        + " WHERE u.path LIKE (SELECT path FROM org_unit WHERE id = ?) || '%'", HANJIANG));
    assertThat(all).isEqualTo(List.of(string(env, "SELECT string_agg(sr.id::text, ',' ORDER BY sr.due_at, sr.id)"
        + " FROM service_request sr WHERE sr.id = ANY (?::uuid[])", String.join(",", all).isEmpty() ? "{}"
        : "{" + String.join(",", all) + "}").split(",")));

    // Another unit's supervisor and assessor list none of them, even naming the enterprise.
    for (String outsider : List.of("supervisor.tongzhou", "assessor.tongzhou")) {
      assertThat(listedIds(env, token(env, outsider), byEnterprise, 50)).as(outsider).isEmpty();
      assertThat(listedIds(env, token(env, outsider), "", 200)).as(outsider)
          .doesNotContain(approval.getString("id"), talent.getString("id"), land.getString("id"));
    }
    // A cursor is a place in one list: with other filters it is 400 naming it.
    String cursor = ok(call(env, sup, HttpMethod.GET, "/v1/service-requests?limit=1" + byEnterprise, null), 200)
        .getString("nextCursor");
    JsonObject p = assertProblem(call(env, sup, HttpMethod.GET, "/v1/service-requests?limit=1&status=RECEIVED"
        + byEnterprise + "&cursor=" + cursor, null), 400, "urn:frontline:problem:validation-failed");
    assertThat(p.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("query/cursor");
    assertProblem(call(env, sup, HttpMethod.GET, "/v1/service-requests?status=OPEN", null), 400,
        "urn:frontline:problem:validation-failed");

    // Served from the keyset's index: one enterprise's range, or the scope's walk in due order (generic plans).
    QueryPlans.rolledBack(env, st -> {
      st.execute("SET LOCAL plan_cache_mode = force_generic_plan");
      st.execute("SET LOCAL enable_seqscan = off");
      st.execute("PREPARE by_enterprise(text[], text, uuid, timestamptz, uuid, int) AS "
          + ServiceRequestService.listSql(true, true, true));
      st.execute("PREPARE whole_scope(text[], timestamptz, uuid, int) AS "
          + ServiceRequestService.listSql(false, false, true));
      assertThat(plan(st, "EXPLAIN EXECUTE by_enterprise('{/}', 'RECEIVED', '" + enterprise
          + "', '2026-01-01T00:00:00Z', '" + enterprise + "', 51)")).contains("service_request_enterprise_due_idx")
          .doesNotContain("Sort");
      assertThat(plan(st, "EXPLAIN EXECUTE whole_scope('{/}', '2026-01-01T00:00:00Z', '" + enterprise + "', 51)"))
          .contains("service_request_due_idx").doesNotContain("Sort");
    });
  }

  private static String plan(java.sql.Statement st, String explain) throws SQLException {
    StringBuilder plan = new StringBuilder();
    try (ResultSet rs = st.executeQuery(explain)) {
      while (rs.next()) {
        plan.append(rs.getString(1)).append('\n');
      }
    }
    return plan.toString();
  }
}
