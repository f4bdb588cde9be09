package org.frontline.postings;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.Cursors;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.ScopeMoves;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HANJIANG;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.testing.TestEnvironment.await;

/** Postings through the API: overlap rules, extend/end rules, scope, and /v1/me. */
@FrontlineTest
class PostingsApiTest {
  static final UUID XU = account("officer.xu");
  static final UUID ZHANG = account("officer.zhang");
  /** Today in China Standard Time, read per use: a run crossing its midnight (16:00 UTC) must not mix two days. */
  private static LocalDate today() {
    return LocalDate.now(ZoneId.of("Asia/Shanghai"));
  }

  static UUID account(String username) {
    return UUID.nameUUIDFromBytes(("frontline-demo:account:" + username).getBytes(StandardCharsets.UTF_8));
  }

  static String token(TestEnvironment env, String username) {
    return token(env, username, "frontline-dev");
  }

  static String token(TestEnvironment env, String username, String password) {
    HttpResponse<Buffer> r = await(env.client().post("/v1/auth/login").sendJsonObject(
        new JsonObject().put("username", username).put("password", password)));
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    return r.bodyAsJsonObject().getString("access_token");
  }

  static HttpResponse<Buffer> call(TestEnvironment env, String token, HttpMethod method, String path, JsonObject body) {
    var request = env.client().request(method, path).putHeader("Authorization", "Bearer " + token);
    return await(body == null ? request.send() : request.sendJsonObject(body));
  }

  static JsonObject ok(HttpResponse<Buffer> r, int status) {
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(status);
    return r.bodyAsJsonObject();
  }

  static JsonObject posting(UUID officer, String frontLine, UUID unit, LocalDate start, LocalDate end) {
    JsonObject b = new JsonObject().put("officerId", officer.toString()).put("frontLine", frontLine)
        .put("unitId", unit.toString()).put("startsOn", start.toString());
    return end == null ? b : b.put("endsOn", end.toString());
  }

  static List<String> fields(JsonObject problem) {
    return problem.getJsonArray("errors", new JsonArray()).stream().map(e -> ((JsonObject) e).getString("field"))
        .toList();
  }

  @BeforeEach
  void clean(TestEnvironment env) throws Exception {
    try (var c = env.jdbc(); var st = c.createStatement()) {
      st.executeUpdate("DELETE FROM posting");
    }
  }

  @Test
  void theListPagesNewestFirstWithACursorAndRefusesAForeignOne(TestEnvironment env) throws Exception {
    String supervisor = token(env, "supervisor.tongzhou");
    List<String> created = new java.util.ArrayList<>();
    for (int i = 0; i < 3; i++) {
      LocalDate start = today().minusDays(300 - 100L * i);
      created.add(ok(call(env, supervisor, HttpMethod.POST, "/v1/postings",
          posting(ZHANG, "MAJOR_PROJECT", TONGZHOU, start, start.plusDays(50))), 201).getString("id"));
    }

    JsonObject first = ok(call(env, supervisor, HttpMethod.GET, "/v1/postings?officerId=" + ZHANG + "&limit=2", null),
        200);
    assertThat(first.getJsonArray("items").stream().map(o -> ((JsonObject) o).getString("id")))
        .containsExactly(created.get(2), created.get(1));
    String cursor = first.getString("nextCursor");
    assertThat(cursor).isNotNull();
    JsonObject second = ok(call(env, supervisor, HttpMethod.GET, "/v1/postings?officerId=" + ZHANG + "&limit=2&cursor="
        + cursor, null), 200);
    assertThat(second.getJsonArray("items").stream().map(o -> ((JsonObject) o).getString("id")))
        .containsExactly(created.get(0));
    assertThat(second.getString("nextCursor")).isNull();

    // A limit beyond an int is capped like any large one (Integer.valueOf threw: 500).
    assertThat(ok(call(env, supervisor, HttpMethod.GET, "/v1/postings?officerId=" + ZHANG + "&limit=99999999999",
        null), 200).getJsonArray("items").stream().map(o -> ((JsonObject) o).getString("id")))
        .containsExactly(created.get(2), created.get(1), created.get(0));

    HttpResponse<Buffer> foreign = call(env, supervisor, HttpMethod.GET, "/v1/postings?cursor=bm90LWEta2V5", null);
    assertProblem(foreign, 400, "urn:frontline:problem:validation-failed");
    assertThat(fields(foreign.bodyAsJsonObject())).containsExactly("query/cursor");
  }

  /** A cursor pages on with its own filters only: with others (or none) and made up, the cursor's 400. */
  @Test
  void aCursorIsBoundToItsFilters(TestEnvironment env) throws Exception {
    String supervisor = token(env, "supervisor.tongzhou");
    for (int i = 0; i < 2; i++) {
      LocalDate start = today().minusDays(300 - 100L * i);
      ok(call(env, supervisor, HttpMethod.POST, "/v1/postings",
          posting(ZHANG, "MAJOR_PROJECT", TONGZHOU, start, start.plusDays(50))), 201);
    }
    String filters = "officerId=" + ZHANG + "&unitId=" + TONGZHOU;
    String cursor = ok(call(env, supervisor, HttpMethod.GET, "/v1/postings?" + filters + "&limit=1", null), 200)
        .getString("nextCursor");
    assertThat(cursor).isNotNull();
    assertThat(ok(call(env, supervisor, HttpMethod.GET, "/v1/postings?unitId=" + TONGZHOU + "&officerId=" + ZHANG
        + "&current=false&cursor=" + cursor, null), 200).getJsonArray("items")).hasSize(1);

    for (String other : List.of("", "officerId=" + ZHANG, "unitId=" + TONGZHOU, filters + "&current=true",
        filters.replace(TONGZHOU.toString(), UUID.randomUUID().toString()))) {
      Cursors.assertOtherFilters(call(env, supervisor, HttpMethod.GET, "/v1/postings?" + other + "&cursor=" + cursor,
          null));
    }
    for (String forged : Cursors.forgeries(cursor)) {
      Cursors.assertRefused(call(env, supervisor, HttpMethod.GET, "/v1/postings?" + filters + "&cursor=" + forged,
          null));
    }
  }

  /**
   * The contract's validation reads a boolean query value as JSON, so `current=%20true` passed it as true; the handler
   * compared the raw value with "true" and listed every posting, ended ones too. The filter is the validated value.
   */
  @Test
  void currentIsReadAsTheContractValidatedIt(TestEnvironment env) throws Exception {
    String supervisor = token(env, "supervisor.tongzhou");
    String running = ok(call(env, supervisor, HttpMethod.POST, "/v1/postings",
        posting(ZHANG, "MAJOR_PROJECT", TONGZHOU, today().minusDays(10), null)), 201).getString("id");
    ok(call(env, supervisor, HttpMethod.POST, "/v1/postings",
        posting(ZHANG, "ENVIRONMENTAL", TONGZHOU, today().minusDays(300), today().minusDays(200))), 201);
    for (String current : List.of("true", "%20true", "true%20", "%0Atrue")) {
      assertThat(ok(call(env, supervisor, HttpMethod.GET, "/v1/postings?officerId=" + ZHANG + "&current=" + current,
          null), 200).getJsonArray("items").stream().map(o -> ((JsonObject) o).getString("id"))).as(current)
          .containsExactly(running);
    }
    assertThat(ok(call(env, supervisor, HttpMethod.GET, "/v1/postings?officerId=" + ZHANG + "&current=%20false",
        null), 200).getJsonArray("items")).hasSize(2);
  }

  @Test
  void aSupervisorPostsAnOfficerAndOverlapsAreRefusedUnlessStated(TestEnvironment env) throws Exception {
    String supervisor = token(env, "supervisor.tongzhou");
    LocalDate start = today().minusDays(30);
    HttpResponse<Buffer> r = call(env, supervisor, HttpMethod.POST, "/v1/postings",
        posting(ZHANG, "MAJOR_PROJECT", TONGZHOU, start, today().plusDays(60)));
    JsonObject first = ok(r, 201);
    String id = first.getString("id");
    assertThat(r.getHeader("Location")).isEqualTo("/v1/postings/" + id);
    assertThat(first.getString("officerId")).isEqualTo(ZHANG.toString());
    assertThat(first.getJsonObject("unit").getString("id")).isEqualTo(TONGZHOU.toString());
    assertThat(first.getString("endsOn")).isEqualTo(today().plusDays(60).toString());
    assertThat(first.getValue("projectId")).isNull();
    assertThat(first.getBoolean("overlapAllowed")).isFalse();
    assertThat(env.count("SELECT count(*) FROM posting WHERE id = ?::uuid AND officer_id = ?::uuid AND front_line = "
        + "'MAJOR_PROJECT' AND ends_on = ?::date", id, ZHANG.toString(), today().plusDays(60).toString())).isEqualTo(1);
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'posting.create' AND object_id = ?", id))
        .isEqualTo(1);

    // An overlapping posting (open-ended, starting inside the first) is 409 naming the first; nothing written.
    JsonObject overlapping = posting(ZHANG, "PETITION_STABILITY", TONGZHOU, today(), null);
    JsonObject problem = assertProblem(call(env, supervisor, HttpMethod.POST, "/v1/postings", overlapping), 409,
        "urn:frontline:problem:conflict");
    assertThat(problem.getString("detail")).contains(id);
    assertThat(problem.getJsonArray("overlappingPostingIds")).containsExactly(id);
    assertThat(env.count("SELECT count(*) FROM posting WHERE officer_id = ?::uuid", ZHANG.toString())).isEqualTo(1);

    // Stated: allowed and recorded as such.
    JsonObject second = ok(call(env, supervisor, HttpMethod.POST, "/v1/postings", overlapping.copy()
        .put("allowOverlap", true)), 201);
    assertThat(second.getBoolean("overlapAllowed")).isTrue();
    assertThat(second.getValue("endsOn")).isNull();
    assertThat(env.count("SELECT count(*) FROM posting WHERE officer_id = ?::uuid AND overlap_allowed",
        ZHANG.toString())).isEqualTo(1);

    // A period after the first ends does not overlap it (but the open-ended second one still does).
    assertProblem(call(env, supervisor, HttpMethod.POST, "/v1/postings",
        posting(ZHANG, "ENVIRONMENTAL", TONGZHOU, today().plusDays(61), today().plusDays(90))), 409,
        "urn:frontline:problem:conflict");

    // Reads: the list filters by officer and "current"; an assessor in scope reads it too.
    JsonObject page = ok(call(env, token(env, "assessor.tongzhou"), HttpMethod.GET, "/v1/postings?officerId=" + ZHANG
        + "&current=true", null), 200);
    assertThat(page.getJsonArray("items").stream().map(o -> ((JsonObject) o).getString("id")))
        .containsExactlyInAnyOrder(id, second.getString("id"));
    ok(call(env, supervisor, HttpMethod.GET, "/v1/postings/" + id, null), 200);
  }

  @Test
  void extendAndEndFollowTheirRules(TestEnvironment env) throws Exception {
    String supervisor = token(env, "supervisor.tongzhou");
    LocalDate start = today().minusDays(10);
    JsonObject p = ok(call(env, supervisor, HttpMethod.POST, "/v1/postings",
        posting(ZHANG, "MAJOR_PROJECT", TONGZHOU, start, today().plusDays(20))), 201);
    String base = "/v1/postings/" + p.getString("id");

    // Extending to the same or an earlier day is 422 naming body/endsOn; nothing changes.
    for (LocalDate day : List.of(today().plusDays(20), today().plusDays(5))) {
      JsonObject problem = assertProblem(call(env, supervisor, HttpMethod.POST, base + "/extend",
          new JsonObject().put("endsOn", day.toString())), 422, "urn:frontline:problem:unprocessable");
      assertThat(fields(problem)).containsExactly("body/endsOn");
    }
    JsonObject extended = ok(call(env, supervisor, HttpMethod.POST, base + "/extend",
        new JsonObject().put("endsOn", today().plusDays(50).toString())), 200);
    assertThat(extended.getString("endsOn")).isEqualTo(today().plusDays(50).toString());
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'posting.extend' AND object_id = ?",
        p.getString("id"))).isEqualTo(1);

    // Ending before the start, or after the current end, is 422; ending today is fine.
    for (LocalDate day : List.of(start.minusDays(1), today().plusDays(51))) {
      JsonObject problem = assertProblem(call(env, supervisor, HttpMethod.POST, base + "/end",
          new JsonObject().put("endsOn", day.toString())), 422, "urn:frontline:problem:unprocessable");
      assertThat(fields(problem)).containsExactly("body/endsOn");
    }
    JsonObject ended = ok(call(env, supervisor, HttpMethod.POST, base + "/end",
        new JsonObject().put("endsOn", today().minusDays(1).toString())), 200);
    assertThat(ended.getString("endsOn")).isEqualTo(today().minusDays(1).toString());
    assertThat(env.string("SELECT ends_on::text FROM posting WHERE id = ?::uuid", p.getString("id")))
        .isEqualTo(today().minusDays(1).toString());
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'posting.end' AND object_id = ?",
        p.getString("id"))).isEqualTo(1);
    // An open-ended posting has nothing to extend.
    JsonObject open = ok(call(env, supervisor, HttpMethod.POST, "/v1/postings",
        posting(ZHANG, "MAJOR_PROJECT", TONGZHOU, today(), null)), 201);
    assertProblem(call(env, supervisor, HttpMethod.POST, "/v1/postings/" + open.getString("id") + "/extend",
        new JsonObject().put("endsOn", today().plusDays(5).toString())), 422, "urn:frontline:problem:unprocessable");
  }

  /** A flaky client's repeated end (no Idempotency-Key on this operation): the posting is ended, and audited, once. */
  @Test
  void aRepeatedEndChangesAndAuditsOnce(TestEnvironment env) throws Exception {
    String supervisor = token(env, "supervisor.tongzhou");
    JsonObject p = ok(call(env, supervisor, HttpMethod.POST, "/v1/postings",
        posting(ZHANG, "MAJOR_PROJECT", TONGZHOU, today().minusDays(10), null)), 201);
    String base = "/v1/postings/" + p.getString("id");
    JsonObject end = new JsonObject().put("endsOn", today().toString());
    JsonObject first = ok(call(env, supervisor, HttpMethod.POST, base + "/end", end), 200);
    JsonObject again = ok(call(env, supervisor, HttpMethod.POST, base + "/end", end), 200);
    assertThat(again).isEqualTo(first);
    assertThat(env.string("SELECT ends_on::text FROM posting WHERE id = ?::uuid", p.getString("id")))
        .isEqualTo(today().toString());
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'posting.end' AND object_id = ?",
        p.getString("id"))).isEqualTo(1);
  }

  /**
   * Review: a unit is retired only once its postings have ended, but an ended posting there could then be extended:
   * an officer posted, running, to a retired unit (where nothing can be reported). 409; nothing changes.
   */
  @Test
  void aPostingAtARetiredUnitIsNotExtended(TestEnvironment env) throws Exception {
    String admin = token(env, "admin");
    String supervisor = token(env, "supervisor.tongzhou");
    String unit = ok(call(env, admin, HttpMethod.POST, "/v1/org-units", new JsonObject()
        .put("parentId", TONGZHOU.toString()).put("name", "Closing site").put("kind", "PARK")), 201).getString("id");
    JsonObject p = ok(call(env, supervisor, HttpMethod.POST, "/v1/postings",
        posting(ZHANG, "ENVIRONMENTAL", UUID.fromString(unit), today().minusDays(10), today().minusDays(1))), 201);
    ok(call(env, admin, HttpMethod.POST, "/v1/org-units/" + unit + "/retire", null), 200);
    assertProblem(call(env, supervisor, HttpMethod.POST, "/v1/postings/" + p.getString("id") + "/extend",
        new JsonObject().put("endsOn", today().plusDays(30).toString())), 409, "urn:frontline:problem:conflict");
    assertThat(env.string("SELECT ends_on::text FROM posting WHERE id = ?::uuid", p.getString("id")))
        .isEqualTo(today().minusDays(1).toString());
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'posting.extend' AND object_id = ?",
        p.getString("id"))).isZero();
  }

  /**
   * A posting is created only for an enabled account holding the officer role, but one of a departed officer (account
   * disabled, or the officer role taken away) could still be extended, keeping them posted (and the unit from being
   * retired). 409, nothing changes; ending it stays possible.
   */
  @Test
  void aPostingOfAnAccountNoLongerAnEnabledOfficerIsNotExtended(TestEnvironment env) throws Exception {
    String admin = token(env, "admin");
    String supervisor = token(env, "supervisor.tongzhou");
    String officer = ok(call(env, admin, HttpMethod.POST, "/v1/accounts", new JsonObject()
        .put("username", "leaving." + UUID.randomUUID().toString().substring(0, 8)).put("displayName", "Leaving officer")
        .put("roles", new JsonArray().add("officer")).put("homeUnitId", TONGZHOU.toString())
        .put("password", "Leaving-Officer-2026")), 201).getString("id");
    JsonObject p = ok(call(env, supervisor, HttpMethod.POST, "/v1/postings",
        posting(UUID.fromString(officer), "MAJOR_PROJECT", TONGZHOU, today().minusDays(10), today().plusDays(5))), 201);
    String base = "/v1/postings/" + p.getString("id");
    JsonObject later = new JsonObject().put("endsOn", today().plusDays(60).toString());

    ok(call(env, admin, HttpMethod.PATCH, "/v1/accounts/" + officer, new JsonObject()
        .put("roles", new JsonArray().add("assessor"))), 200);
    assertProblem(call(env, supervisor, HttpMethod.POST, base + "/extend", later), 409,
        "urn:frontline:problem:conflict");
    ok(call(env, admin, HttpMethod.PATCH, "/v1/accounts/" + officer, new JsonObject()
        .put("roles", new JsonArray().add("officer"))), 200);
    ok(call(env, admin, HttpMethod.POST, "/v1/accounts/" + officer + "/disable", null), 200);
    assertProblem(call(env, supervisor, HttpMethod.POST, base + "/extend", later), 409,
        "urn:frontline:problem:conflict");
    assertThat(env.string("SELECT ends_on::text FROM posting WHERE id = ?::uuid", p.getString("id")))
        .isEqualTo(today().plusDays(5).toString());
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'posting.extend' AND object_id = ?",
        p.getString("id"))).isZero();

    ok(call(env, supervisor, HttpMethod.POST, base + "/end", new JsonObject().put("endsOn", today().toString())), 200);
    assertThat(env.string("SELECT ends_on::text FROM posting WHERE id = ?::uuid", p.getString("id")))
        .isEqualTo(today().toString());
  }

  @Test
  void daysOutsideTheRecordYearsAre400NamingTheFieldAndStoreNothing(TestEnvironment env) throws Exception {
    // Year 0000 passed `format: date` and was stored as 1 BC: an open-ended posting "since 1 BC" was current.
    String supervisor = token(env, "supervisor.tongzhou");
    JsonObject zero = new JsonObject().put("officerId", ZHANG.toString()).put("frontLine", "MAJOR_PROJECT")
        .put("unitId", TONGZHOU.toString()).put("startsOn", "0000-01-01");
    for (Object[] c : List.of(new Object[] {zero, "body/startsOn"},
        new Object[] {zero.copy().put("startsOn", "1899-12-31"), "body/startsOn"},
        new Object[] {zero.copy().put("startsOn", today().toString()).put("endsOn", "3000-01-01"), "body/endsOn"})) {
      JsonObject problem = assertProblem(call(env, supervisor, HttpMethod.POST, "/v1/postings", (JsonObject) c[0]),
          400, "urn:frontline:problem:validation-failed");
      assertThat(fields(problem)).as(c[0].toString()).containsExactly((String) c[1]);
    }
    assertThat(env.count("SELECT count(*) FROM posting")).isZero();

    JsonObject p = ok(call(env, supervisor, HttpMethod.POST, "/v1/postings",
        posting(ZHANG, "MAJOR_PROJECT", TONGZHOU, today().minusDays(10), today().plusDays(20))), 201);
    String base = "/v1/postings/" + p.getString("id");
    String stored = env.string("SELECT starts_on || '..' || ends_on FROM posting WHERE id = ?::uuid", p.getString("id"));
    for (String[] c : new String[][] {{"/extend", "9999-12-31"}, {"/extend", "3000-01-01"}, {"/end", "0000-12-31"}}) {
      JsonObject problem = assertProblem(call(env, supervisor, HttpMethod.POST, base + c[0],
          new JsonObject().put("endsOn", c[1])), 400, "urn:frontline:problem:validation-failed");
      assertThat(fields(problem)).as(c[0] + " " + c[1]).containsExactly("body/endsOn");
    }
    assertThat(env.string("SELECT starts_on || '..' || ends_on FROM posting WHERE id = ?::uuid", p.getString("id")))
        .isEqualTo(stored);
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action IN ('posting.extend', 'posting.end') AND "
        + "object_id = ?", p.getString("id"))).isZero();

    // The last day of the range is one: a posting may be extended to it.
    ok(call(env, supervisor, HttpMethod.POST, base + "/extend", new JsonObject().put("endsOn", "2999-12-31")), 200);
    assertThat(env.string("SELECT ends_on::text FROM posting WHERE id = ?::uuid", p.getString("id")))
        .isEqualTo("2999-12-31");
  }

  /**
   * Review: the overlap 409 named every overlapping posting of the officer, wherever it was: Tongzhou's supervisor
   * learnt the id of officer.zhang's posting at Huaisi (made by an admin above both), outside its scope, where every
   * read of it is 404. Only postings the caller may see are named; the others are "another posting".
   */
  @Test
  void anOverlapNamesOnlyThePostingsTheCallerMaySee(TestEnvironment env) throws Exception {
    String admin = token(env, "admin");
    String tongzhou = token(env, "supervisor.tongzhou");
    String hidden = ok(call(env, admin, HttpMethod.POST, "/v1/postings",
        posting(ZHANG, "INVESTMENT_PROMOTION", HUAISI, today().plusDays(10), today().plusDays(40))), 201).getString("id");

    // Creating over the hidden one only: "another posting", no id, no unit.
    JsonObject problem = assertProblem(call(env, tongzhou, HttpMethod.POST, "/v1/postings",
        posting(ZHANG, "MAJOR_PROJECT", TONGZHOU, today().plusDays(20), today().plusDays(30))), 409,
        "urn:frontline:problem:conflict");
    assertThat(problem.getString("detail")).contains("another posting of the officer");
    assertThat(problem.getJsonArray("overlappingPostingIds")).isEmpty();
    assertThat(problem.encode()).doesNotContain(hidden).doesNotContain(HUAISI.toString());

    // Over a visible one and the hidden one (which starts first): only the visible one is named.
    String visible = ok(call(env, tongzhou, HttpMethod.POST, "/v1/postings",
        posting(ZHANG, "MAJOR_PROJECT", TONGZHOU, today().plusDays(35), today().plusDays(60)).put("allowOverlap", true)),
        201).getString("id");
    problem = assertProblem(call(env, tongzhou, HttpMethod.POST, "/v1/postings",
        posting(ZHANG, "ENVIRONMENTAL", TONGZHOU, today().plusDays(5), today().plusDays(50))), 409,
        "urn:frontline:problem:conflict");
    assertThat(problem.getString("detail")).contains(visible);
    assertThat(problem.getJsonArray("overlappingPostingIds")).containsExactly(visible);
    assertThat(problem.encode()).doesNotContain(hidden).doesNotContain(HUAISI.toString());

    // Extending onto the hidden one: the same.
    String early = ok(call(env, tongzhou, HttpMethod.POST, "/v1/postings",
        posting(ZHANG, "PETITION_STABILITY", TONGZHOU, today(), today().plusDays(5))), 201).getString("id");
    problem = assertProblem(call(env, tongzhou, HttpMethod.POST, "/v1/postings/" + early + "/extend",
        new JsonObject().put("endsOn", today().plusDays(20).toString())), 409, "urn:frontline:problem:conflict");
    assertThat(problem.getString("detail")).contains("another posting of the officer");
    assertThat(problem.getJsonArray("overlappingPostingIds")).isEmpty();
    assertThat(problem.encode()).doesNotContain(hidden).doesNotContain(HUAISI.toString());
    assertThat(env.string("SELECT ends_on::text FROM posting WHERE id = ?::uuid", early))
        .isEqualTo(today().plusDays(5).toString());
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'posting.extend' AND object_id = ?", early))
        .isZero();

    // The admin above both units is told of every one (after the early one's last day).
    problem = assertProblem(call(env, admin, HttpMethod.POST, "/v1/postings",
        posting(ZHANG, "ENVIRONMENTAL", TONGZHOU, today().plusDays(6), today().plusDays(50))), 409,
        "urn:frontline:problem:conflict");
    assertThat(problem.getString("detail")).contains(hidden);
    assertThat(problem.getJsonArray("overlappingPostingIds")).containsExactly(hidden, visible);
    assertThat(env.count("SELECT count(*) FROM posting WHERE officer_id = ?::uuid", ZHANG.toString())).isEqualTo(3);
  }

  @Test
  void extendingIsRefusedOnlyForANewOverlap(TestEnvironment env) throws Exception {
    String supervisor = token(env, "supervisor.tongzhou");
    // A: days 0-30, no overlap. B: days 20-90, stated to overlap A. A's overlap with B is B's, stated there.
    JsonObject a = ok(call(env, supervisor, HttpMethod.POST, "/v1/postings",
        posting(ZHANG, "MAJOR_PROJECT", TONGZHOU, today(), today().plusDays(30))), 201);
    JsonObject b = ok(call(env, supervisor, HttpMethod.POST, "/v1/postings",
        posting(ZHANG, "ENVIRONMENTAL", TONGZHOU, today().plusDays(20), today().plusDays(90)).put("allowOverlap", true)),
        201);
    assertThat(a.getBoolean("overlapAllowed")).isFalse();
    // Extending A inside B overlaps nothing it did not already overlap: allowed (it was 409 naming B, with no way
    // to state the overlap on extend).
    JsonObject extended = ok(call(env, supervisor, HttpMethod.POST, "/v1/postings/" + a.getString("id") + "/extend",
        new JsonObject().put("endsOn", today().plusDays(40).toString())), 200);
    assertThat(extended.getString("endsOn")).isEqualTo(today().plusDays(40).toString());
    // A third posting after B: extending A onto it is a new overlap, still 409 naming only that one.
    JsonObject c = ok(call(env, supervisor, HttpMethod.POST, "/v1/postings",
        posting(ZHANG, "PETITION_STABILITY", TONGZHOU, today().plusDays(100), today().plusDays(120))
            .put("allowOverlap", true)), 201);
    JsonObject problem = assertProblem(call(env, supervisor, HttpMethod.POST, "/v1/postings/" + a.getString("id")
        + "/extend", new JsonObject().put("endsOn", today().plusDays(110).toString())), 409,
        "urn:frontline:problem:conflict");
    assertThat(problem.getJsonArray("overlappingPostingIds")).containsExactly(c.getString("id"));
    assertThat(env.string("SELECT ends_on::text FROM posting WHERE id = ?::uuid", a.getString("id")))
        .isEqualTo(today().plusDays(40).toString());
    assertThat(b.getString("id")).isNotNull();
  }

  @Test
  void scopeDecidesWhoPostsWhomAndWhoReadsWhat(TestEnvironment env) throws Exception {
    String tongzhou = token(env, "supervisor.tongzhou");
    // officer.xu's home unit (Huaisi) is outside Tongzhou: 422 naming body/officerId (as a project's unit), nothing written.
    JsonObject problem = assertProblem(call(env, tongzhou, HttpMethod.POST, "/v1/postings",
        posting(XU, "INVESTMENT_PROMOTION", TONGZHOU, today(), null)), 422, "urn:frontline:problem:unprocessable");
    assertThat(fields(problem)).containsExactly("body/officerId");
    // A supervisor is no officer either.
    assertThat(fields(assertProblem(call(env, tongzhou, HttpMethod.POST, "/v1/postings",
        posting(account("supervisor.tongzhou"), "INVESTMENT_PROMOTION", TONGZHOU, today(), null)), 422,
        "urn:frontline:problem:unprocessable"))).containsExactly("body/officerId");
    // A unit out of scope: body/unitId.
    assertThat(fields(assertProblem(call(env, tongzhou, HttpMethod.POST, "/v1/postings",
        posting(ZHANG, "INVESTMENT_PROMOTION", HANJIANG, today(), null)), 422,
        "urn:frontline:problem:unprocessable"))).containsExactly("body/unitId");
    // A project that does not exist: body/projectId.
    assertThat(fields(assertProblem(call(env, tongzhou, HttpMethod.POST, "/v1/postings",
        posting(ZHANG, "MAJOR_PROJECT", TONGZHOU, today(), null).put("projectId", UUID.randomUUID().toString())), 422,
        "urn:frontline:problem:unprocessable"))).containsExactly("body/projectId");
    assertThat(env.count("SELECT count(*) FROM posting")).isZero();

    // officer.xu may not create postings at all.
    assertProblem(call(env, token(env, "officer.xu"), HttpMethod.POST, "/v1/postings",
        posting(XU, "INVESTMENT_PROMOTION", HUAISI, today(), null)), 403, "urn:frontline:problem:forbidden");
    assertThat(env.count("SELECT count(*) FROM posting")).isZero();

    // A Hanjiang posting: the Hanjiang supervisor creates it; Tongzhou cannot read, list, extend or end it.
    JsonObject huaisi = ok(call(env, token(env, "supervisor.hanjiang"), HttpMethod.POST, "/v1/postings",
        posting(XU, "INVESTMENT_PROMOTION", HUAISI, today().minusDays(5), today().plusDays(100))), 201);
    String path = "/v1/postings/" + huaisi.getString("id");
    assertProblem(call(env, tongzhou, HttpMethod.GET, path, null), 404, "urn:frontline:problem:not-found");
    assertProblem(call(env, tongzhou, HttpMethod.POST, path + "/extend",
        new JsonObject().put("endsOn", today().plusDays(200).toString())), 404, "urn:frontline:problem:not-found");
    assertThat(ok(call(env, tongzhou, HttpMethod.GET, "/v1/postings?officerId=" + XU, null), 200)
        .getJsonArray("items")).isEmpty();
    // officer.xu reads their own posting; officer.zhang (no supervisor) does not see it.
    ok(call(env, token(env, "officer.xu"), HttpMethod.GET, path, null), 200);
    assertProblem(call(env, token(env, "officer.zhang"), HttpMethod.GET, path, null), 404,
        "urn:frontline:problem:not-found");
  }

  /**
   * An officer is often posted outside their home unit's subtree (by an admin above both): /v1/me listed the posting,
   * but reading it (GET by the id /v1/me gave, or the list) was 404 and empty, the unit not being in the officer's
   * scope. A caller who is only an officer reads their own postings wherever they are; still nobody else's.
   */
  @Test
  void anOfficerReadsTheirOwnPostingAtAUnitOutsideTheirScope(TestEnvironment env) throws Exception {
    JsonObject p = ok(call(env, token(env, "admin"), HttpMethod.POST, "/v1/postings",
        posting(ZHANG, "MAJOR_PROJECT", HUAISI, today().minusDays(3), null)), 201);
    String id = p.getString("id");
    assertThat(env.count("SELECT count(*) FROM posting WHERE id = ?::uuid AND officer_id = ?::uuid AND unit_id = "
        + "?::uuid", id, ZHANG.toString(), HUAISI.toString())).isEqualTo(1);
    String zhang = token(env, "officer.zhang");
    assertThat(ok(call(env, zhang, HttpMethod.GET, "/v1/me", null), 200).getJsonArray("postings").stream()
        .map(o -> ((JsonObject) o).getString("id"))).containsExactly(id);

    assertThat(ok(call(env, zhang, HttpMethod.GET, "/v1/postings/" + id, null), 200)).isEqualTo(p);
    for (String query : List.of("", "?current=true", "?unitId=" + HUAISI, "?officerId=" + ZHANG)) {
      assertThat(ok(call(env, zhang, HttpMethod.GET, "/v1/postings" + query, null), 200).getJsonArray("items").stream()
          .map(o -> ((JsonObject) o).getString("id"))).as(query).containsExactly(id);
    }
    // Nobody else gains anything: officer.xu (whose unit it is) reads no other officer's posting; Tongzhou's
    // supervisor (the officer's home) does not cover Huaisi.
    assertProblem(call(env, token(env, "officer.xu"), HttpMethod.GET, "/v1/postings/" + id, null), 404,
        "urn:frontline:problem:not-found");
    assertThat(ok(call(env, token(env, "officer.xu"), HttpMethod.GET, "/v1/postings", null), 200)
        .getJsonArray("items")).isEmpty();
    assertProblem(call(env, token(env, "supervisor.tongzhou"), HttpMethod.GET, "/v1/postings/" + id, null), 404,
        "urn:frontline:problem:not-found");
  }

  @Test
  void meListsTheCallersCurrentPostingsOnly(TestEnvironment env) throws Exception {
    String hanjiang = token(env, "supervisor.hanjiang");
    JsonObject current = ok(call(env, hanjiang, HttpMethod.POST, "/v1/postings",
        posting(XU, "INVESTMENT_PROMOTION", HUAISI, today().minusDays(5), null)), 201);
    JsonObject old = ok(call(env, hanjiang, HttpMethod.POST, "/v1/postings",
        posting(XU, "ENVIRONMENTAL", HUAISI, today().minusDays(200), today().minusDays(100))), 201);
    JsonObject ending = ok(call(env, hanjiang, HttpMethod.POST, "/v1/postings",
        posting(XU, "PETITION_STABILITY", HUAISI, today().minusDays(50), today().minusDays(6))), 201);
    ok(call(env, hanjiang, HttpMethod.POST, "/v1/postings/" + ending.getString("id") + "/end",
        new JsonObject().put("endsOn", today().minusDays(7).toString())), 200);

    JsonObject me = ok(call(env, token(env, "officer.xu"), HttpMethod.GET, "/v1/me", null), 200);
    JsonArray postings = me.getJsonArray("postings");
    assertThat(postings).hasSize(1);
    JsonObject p = postings.getJsonObject(0);
    assertThat(p.getString("id")).isEqualTo(current.getString("id"));
    assertThat(p.getString("frontLine")).isEqualTo("INVESTMENT_PROMOTION");
    assertThat(p.getJsonObject("unit").getString("id")).isEqualTo(HUAISI.toString());
    assertThat(p.getJsonObject("unit").getString("name")).isNotBlank();
    assertThat(p.getString("startsOn")).isEqualTo(today().minusDays(5).toString());
    assertThat(p.containsKey("endsOn")).isTrue();
    assertThat(p.getValue("endsOn")).isNull();
    assertThat(p.getValue("projectId")).isNull();
    assertThat(old.getString("id")).isNotEqualTo(p.getString("id"));
    // Someone without postings gets an empty array.
    assertThat(ok(call(env, token(env, "officer.zhang"), HttpMethod.GET, "/v1/me", null), 200)
        .getJsonArray("postings")).isEmpty();
  }

  /**
   * A posting made by a supervisor whose scope is two subtrees, at a unit that another admin's move from one of them
   * to the other is changing, waits for the move and is stored. The unit was share-locked by the statement that
   * checked its path against the scope: once the move committed, PostgreSQL re-checked the row's new path against the
   * scope path the old one had matched (Tongzhou's), found no row, and the posting was a 422 "no live org unit".
   */
  @Test
  void aPostingAtAUnitMovingBetweenTheCallersSubtreesWaitsAndIsStored(TestEnvironment env) throws Exception {
    String admin = token(env, "admin");
    String username = "supervisor.two." + UUID.randomUUID().toString().substring(0, 8);
    ok(call(env, admin, HttpMethod.POST, "/v1/accounts", new JsonObject().put("username", username)
        .put("displayName", "Two districts").put("roles", new JsonArray().add("supervisor"))
        .put("homeUnitId", HANJIANG.toString()).put("coveredUnitIds", new JsonArray().add(TONGZHOU.toString()))
        .put("password", "Two-Districts-2026")), 201);
    String supervisor = token(env, username, "Two-Districts-2026");
    UUID unit = UUID.fromString(ok(call(env, admin, HttpMethod.POST, "/v1/org-units", new JsonObject()
        .put("parentId", TONGZHOU.toString()).put("name", "Moving site " + UUID.randomUUID()).put("kind", "PARK")), 201)
        .getString("id"));
    String newPath = env.string("SELECT path FROM org_unit WHERE id = ?", HANJIANG) + unit + "/";
    try (java.sql.Connection moving = env.jdbc(); java.sql.Statement s = moving.createStatement()) {
      moving.setAutoCommit(false);
      // What POST /v1/org-units/{id}/move under Hanjiang writes, not yet committed.
      s.executeUpdate("UPDATE org_unit SET path = '" + newPath + "', parent_id = '" + HANJIANG + "', updated_at = now() "
          + "WHERE id = '" + unit + "'");
      java.util.concurrent.CompletableFuture<HttpResponse<Buffer>> create = java.util.concurrent.CompletableFuture
          .supplyAsync(() -> call(env, supervisor, HttpMethod.POST, "/v1/postings",
              posting(ZHANG, "MAJOR_PROJECT", unit, today(), today().plusDays(30))));
      env.awaitLockWait("%FROM org_unit%FOR SHARE%", create);
      moving.commit();
      JsonObject created = ok(create.get(20, java.util.concurrent.TimeUnit.SECONDS), 201);
      assertThat(created.getJsonObject("unit").getString("id")).isEqualTo(unit.toString());
    }
    assertThat(env.count("SELECT count(*) FROM posting WHERE unit_id = ? AND officer_id = ?", unit, ZHANG)).isEqualTo(1);
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'posting.create' AND unit_id = ?", unit))
        .isEqualTo(1);
  }

  /**
   * A posting made by an admin whose scope is one unit, at a unit below it, while that unit moves to another city, is
   * stored: the posting's unit was share-locked (the move rewrites its path) and then judged against the admin's
   * scope as read before the wait, whose path the unit's new one no longer matched (a 422 naming body/unitId).
   */
  @Test
  void aPostingMadeWhileTheCallersOwnUnitMovesIsStored(TestEnvironment env) throws Exception {
    UUID covered = ScopeMoves.unit(env, TONGZHOU);
    ScopeMoves.ScopedCaller admin = ScopeMoves.caller(env, covered, "admin");
    UUID officer = ScopeMoves.caller(env, covered, "officer").id();
    UUID unit = ScopeMoves.unit(env, covered);
    JsonObject created = ok(ScopeMoves.whileHeld(env, st -> ScopeMoves.move(st, covered, HANJIANG),
        "%FROM org_unit%FOR SHARE%", () -> call(env, admin.token(), HttpMethod.POST, "/v1/postings",
            posting(officer, "MAJOR_PROJECT", unit, today(), today().plusDays(30)))), 201);
    assertThat(created.getJsonObject("unit").getString("id")).isEqualTo(unit.toString());
    assertThat(env.count("SELECT count(*) FROM posting WHERE unit_id = ? AND officer_id = ?", unit, officer))
        .isEqualTo(1);
  }

  /** The other way: a unit moved out of the admin's scope while the posting waited for it is 422, none stored. */
  @Test
  void aPostingAtAUnitMovingOutOfTheCallersScopeIs422(TestEnvironment env) throws Exception {
    UUID covered = ScopeMoves.unit(env, TONGZHOU);
    ScopeMoves.ScopedCaller admin = ScopeMoves.caller(env, covered, "admin");
    UUID officer = ScopeMoves.caller(env, covered, "officer").id();
    UUID unit = ScopeMoves.unit(env, covered);
    JsonObject problem = assertProblem(ScopeMoves.whileHeld(env, st -> ScopeMoves.move(st, unit, HANJIANG),
        "%FROM org_unit%FOR SHARE%", () -> call(env, admin.token(), HttpMethod.POST, "/v1/postings",
            posting(officer, "MAJOR_PROJECT", unit, today(), today().plusDays(30)))), 422,
        "urn:frontline:problem:unprocessable");
    assertThat(fields(problem)).containsExactly("body/unitId");
    assertThat(env.count("SELECT count(*) FROM posting WHERE officer_id = ?", officer)).isZero();
  }

  /**
   * An extension by an admin whose scope is one unit, waiting for the posting's lock (another write of it under way)
   * while the posting's unit moves into that scope, is applied. The posting was locked by a statement that joined
   * its unit and checked the scope: the unit, outside the scope as that statement first saw it, kept the posting from
   * being locked or found at all (a 404 at once).
   */
  @Test
  void anExtensionWaitingWhileThePostingsUnitMovesIntoTheCallersScopeIsApplied(TestEnvironment env) throws Exception {
    UUID covered = ScopeMoves.unit(env, TONGZHOU);
    ScopeMoves.ScopedCaller admin = ScopeMoves.caller(env, covered, "admin");
    UUID officer = ScopeMoves.caller(env, covered, "officer").id();
    UUID unit = ScopeMoves.unit(env, HANJIANG);
    String id = ok(call(env, ScopeMoves.provinceAdmin(env), HttpMethod.POST, "/v1/postings",
        posting(officer, "MAJOR_PROJECT", unit, today(), today().plusDays(30))), 201).getString("id");
    JsonObject extended = ok(ScopeMoves.whileHeld(env, st -> {
      st.execute("SELECT 1 FROM posting WHERE id = '" + id + "' FOR UPDATE");
      ScopeMoves.move(st, unit, covered);
    }, "%FROM posting%FOR UPDATE%", () -> call(env, admin.token(), HttpMethod.POST, "/v1/postings/" + id + "/extend",
        new JsonObject().put("endsOn", today().plusDays(60).toString()))), 200);
    assertThat(extended.getString("endsOn")).isEqualTo(today().plusDays(60).toString());
    assertThat(env.count("SELECT count(*) FROM posting WHERE id = ?::uuid AND ends_on = ?", id, today().plusDays(60)))
        .isEqualTo(1);
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'posting.extend' AND object_id = ?", id))
        .isEqualTo(1);
  }

  /**
   * The other way: a posting whose unit moved out of the admin's scope while its extension waited is 404 and keeps
   * its end. The locking statement re-checked the posting's new version against the unit's row as it had first read
   * it, still in the scope, and extended a posting the admin no longer sees.
   */
  @Test
  void anExtensionWaitingWhileThePostingsUnitMovesOutOfTheCallersScopeIs404(TestEnvironment env) throws Exception {
    UUID covered = ScopeMoves.unit(env, TONGZHOU);
    ScopeMoves.ScopedCaller admin = ScopeMoves.caller(env, covered, "admin");
    UUID officer = ScopeMoves.caller(env, covered, "officer").id();
    UUID unit = ScopeMoves.unit(env, covered);
    String id = ok(call(env, admin.token(), HttpMethod.POST, "/v1/postings",
        posting(officer, "MAJOR_PROJECT", unit, today(), today().plusDays(30))), 201).getString("id");
    assertProblem(ScopeMoves.whileHeld(env, st -> {
      st.execute("SELECT 1 FROM posting WHERE id = '" + id + "' FOR UPDATE");
      ScopeMoves.move(st, unit, HANJIANG);
    }, "%FROM posting%FOR UPDATE%", () -> call(env, admin.token(), HttpMethod.POST, "/v1/postings/" + id + "/extend",
        new JsonObject().put("endsOn", today().plusDays(60).toString()))), 404, "urn:frontline:problem:not-found");
    assertThat(env.count("SELECT count(*) FROM posting WHERE id = ?::uuid AND ends_on = ?", id, today().plusDays(30)))
        .isEqualTo(1);
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'posting.extend' AND object_id = ?", id))
        .isZero();
  }
}
