package org.frontline.platform.http;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.dev.DemoOrganisation;
import org.frontline.enterprises.Uscc;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.LogCapture;
import org.frontline.testing.QueryPlans;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HANJIANG;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.dev.DemoOrganisation.NANTONG;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.dev.DemoOrganisation.YANGZHOU;
import static org.frontline.testing.TestEnvironment.await;

/**
 * The optional Idempotency-Key of people's record-creating writes (IdempotentWrites, table account_idempotency),
 * through the API: each of the nine operations (and the admin writes createOrgUnit, createAccount and
 * resetAccountPassword) repeated with a key writes once and answers the same; another body
 * (or operation, or record) with the key is 422 and writes nothing; keys are per account; a failed write frees its
 * key; duplicates sent at once write one row; an invalid key is 400.
 */
@FrontlineTest
class IdempotentWritesTest {
  /**
   * The sweep after every completed write reads what it deletes, not the table: over 5,000 keys inside the
   * retention and nothing to delete, the generic plan of each table's sweep has no Seq Scan and reads a handful of
   * rows (as {@code ctid IN (SELECT ...)}, it hash-joined the victims to a scan of the whole table). Rolled back.
   */
  @Test
  void theKeySweepReadsOnlyWhatItDeletes(TestEnvironment env) throws Exception {
    QueryPlans.rolledBack(env, st -> {
      st.execute("INSERT INTO account_idempotency (account_id, key, request_sha256) SELECT a.id, 'plan-' || g,"
          + " sha256(g::text::bytea) FROM account a, generate_series(1, 5000) g WHERE a.username = 'admin'");
      st.execute("WITH c AS (INSERT INTO partner_client (id, name, auth_method, scopes, unit_ids, report_types)"
          + " VALUES (gen_random_uuid(), 'plan', 'client_secret_basic', '{}', '{}', '{}') RETURNING id)"
          + " INSERT INTO partner_idempotency (client_id, key, request_sha256) SELECT c.id, 'plan-' || g,"
          + " sha256(g::text::bytea) FROM c, generate_series(1, 5000) g");
      st.execute("ANALYZE account_idempotency");
      st.execute("ANALYZE partner_idempotency");
      for (String table : List.of("account_idempotency", "partner_idempotency")) {
        QueryPlans.assertReadsOnlyAFew(st, "sweep_" + table, "int, int", IdempotencyKeys.sweepSql(table), 24, 100);
      }
    });
  }

  private static final AtomicInteger SERIAL = new AtomicInteger(ThreadLocalRandom.current().nextInt(1_000_000));
  private static final UUID XU = account("officer.xu");
  private static final UUID ZHANG = account("officer.zhang");
  /** Today in China Standard Time, read per use: a run crossing its midnight (16:00 UTC) must not mix two days. */
  private static LocalDate today() {
    return LocalDate.now(ZoneId.of("Asia/Shanghai"));
  }
  private static final String HEADER_FIELD = "header/Idempotency-Key";

  /** One write: who sends it, where, its body, another body, its status, and the rows it makes (SQL, parameter). */
  private record Op(String name, String user, String path, JsonObject body, JsonObject other, int status,
                    String rowsSql, Object rowsParam, long rowsBefore) {}

  private static UUID account(String username) {
    return UUID.nameUUIDFromBytes(("frontline-demo:account:" + username).getBytes(StandardCharsets.UTF_8));
  }

  private static String key() {
    return "k-" + UUID.randomUUID();
  }

  private static String code() {
    String prefix = String.format("91321003MB%07d", SERIAL.incrementAndGet() % 10_000_000);
    return prefix + Uscc.checkCharacter(prefix);
  }

  private static String token(TestEnvironment env, String username) {
    HttpResponse<Buffer> r = await(env.client().post("/v1/auth/login").sendJsonObject(
        new JsonObject().put("username", username).put("password", DemoOrganisation.PASSWORD)));
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    return r.bodyAsJsonObject().getString("access_token");
  }

  private static HttpRequest<Buffer> post(TestEnvironment env, String token, String path, String key) {
    HttpRequest<Buffer> request = env.client().request(HttpMethod.POST, path)
        .putHeader("Authorization", "Bearer " + token);
    return key == null ? request : request.putHeader("Idempotency-Key", key);
  }

  private static HttpResponse<Buffer> send(TestEnvironment env, String token, String path, String key,
                                           JsonObject body) {
    return await(post(env, token, path, key).sendJsonObject(body));
  }

  private static JsonObject ok(HttpResponse<Buffer> r, int status) {
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(status);
    return r.bodyAsJsonObject();
  }

  private static String created(TestEnvironment env, String token, String path, JsonObject body) {
    return ok(send(env, token, path, null, body), 201).getString("id");
  }

  private static List<String> fields(HttpResponse<Buffer> r) {
    return r.bodyAsJsonObject().getJsonArray("errors", new JsonArray()).stream()
        .map(e -> ((JsonObject) e).getString("field")).toList();
  }

  private static JsonObject enterprise(String uscc) {
    return new JsonObject().put("name", "Yangzhou Precision " + uscc).put("uscc", uscc)
        .put("industry", "Precision machinery").put("unitId", HUAISI.toString())
        .put("designations", new JsonArray());
  }

  private static JsonObject project(String name) {
    return new JsonObject().put("unitId", TONGZHOU.toString()).put("name", name).put("investmentYuan", 3_200_000)
        .put("site", new JsonObject().put("lat", 32.0647).put("lon", 121.0756).put("radiusM", 2500))
        .put("bidSections", new JsonArray().add("Section 1")).put("status", "IN_PROGRESS");
  }

  private static JsonObject milestone(int planned) {
    return new JsonObject().put("name", "Utility lines").put("plannedQuantity", planned).put("unit", "items")
        .put("plannedStart", today().minusDays(30).toString()).put("plannedDue", today().plusDays(60).toString());
  }

  /** A posting of officer Zhang starting on a day no other test uses. */
  private static JsonObject posting(LocalDate start) {
    return new JsonObject().put("officerId", ZHANG.toString()).put("frontLine", "MAJOR_PROJECT")
        .put("unitId", TONGZHOU.toString()).put("startsOn", start.toString())
        .put("endsOn", start.plusDays(20).toString()).put("allowOverlap", true);
  }

  /** From 2200 to 2939: within the days a record may name (RecordDate, to 2999), and clear of other tests' days. */
  private static LocalDate freshDay() {
    return LocalDate.of(2200, 1, 1).plusDays(30L * (SERIAL.incrementAndGet() % 9_000));
  }

  /** The twelve operations, each on records of its own made here without a key. */
  private static List<Op> ops(TestEnvironment env) throws Exception {
    String hanjiang = token(env, "supervisor.hanjiang");
    String xu = token(env, "officer.xu");
    String tongzhou = token(env, "supervisor.tongzhou");
    List<Op> ops = new ArrayList<>();

    String uscc = code();
    ops.add(new Op("createEnterprise", "supervisor.hanjiang", "/v1/enterprises", enterprise(uscc),
        enterprise(uscc).put("industry", "Textiles"), 201, "SELECT count(*) FROM enterprise WHERE uscc = ?", uscc, 0));

    String ent = created(env, hanjiang, "/v1/enterprises", enterprise(code()));
    JsonObject request = new JsonObject().put("category", "APPROVAL").put("description", "Permit for a workshop")
        .put("responsibleOfficerId", XU.toString());
    ops.add(new Op("createServiceRequest", "officer.xu", "/v1/enterprises/" + ent + "/service-requests", request,
        request.copy().put("description", "Permit for a warehouse"), 201,
        "SELECT count(*) FROM service_request WHERE enterprise_id = ?", UUID.fromString(ent), 0));

    String ent2 = created(env, hanjiang, "/v1/enterprises", enterprise(code()));
    String sr = created(env, xu, "/v1/enterprises/" + ent2 + "/service-requests", request);
    JsonObject move = new JsonObject().put("to", "COORDINATING").put("department", "Tax bureau");
    ops.add(new Op("transitionServiceRequest", "officer.xu", "/v1/service-requests/" + sr + "/transitions", move,
        move.copy().put("department", "Land bureau"), 200,
        "SELECT count(*) FROM service_request_step WHERE service_request_id = ?", UUID.fromString(sr), 0));

    String name = "Idempotent project " + UUID.randomUUID();
    ops.add(new Op("createProject", "supervisor.tongzhou", "/v1/projects", project(name),
        project(name).put("investmentYuan", 4_000_000), 201, "SELECT count(*) FROM project WHERE name = ?", name, 0));

    String p1 = created(env, tongzhou, "/v1/projects", project("Milestones of " + UUID.randomUUID()));
    ops.add(new Op("createMilestone", "supervisor.tongzhou", "/v1/projects/" + p1 + "/milestones", milestone(100),
        milestone(200), 201, "SELECT count(*) FROM milestone WHERE project_id = ?", UUID.fromString(p1), 0));

    String p2 = created(env, tongzhou, "/v1/projects", project("Baselines of " + UUID.randomUUID()));
    String m1 = created(env, tongzhou, "/v1/projects/" + p2 + "/milestones", milestone(100));
    JsonObject baseline = milestone(120).put("reason", "Permit delayed");
    baseline.remove("name");
    baseline.remove("unit");
    ops.add(new Op("rebaselineMilestone", "supervisor.tongzhou", "/v1/milestones/" + m1 + "/baselines", baseline,
        baseline.copy().put("reason", "Design changed"), 201,
        "SELECT count(*) FROM milestone_baseline WHERE milestone_id = ?", UUID.fromString(m1), 1));

    String m2 = created(env, tongzhou, "/v1/projects/" + p2 + "/milestones", milestone(100));
    ops.add(new Op("recordMilestoneProgress", "supervisor.tongzhou", "/v1/milestones/" + m2 + "/progress",
        new JsonObject().put("quantity", 5), new JsonObject().put("quantity", 6), 201,
        "SELECT count(*) FROM milestone_progress WHERE milestone_id = ?", UUID.fromString(m2), 0));

    LocalDate start = freshDay();
    ops.add(new Op("createPosting", "supervisor.tongzhou", "/v1/postings", posting(start),
        posting(start).put("frontLine", "INVESTMENT_PROMOTION"), 201,
        "SELECT count(*) FROM posting WHERE officer_id = '" + ZHANG + "' AND starts_on = ?", start, 0));

    LocalDate from = freshDay();
    String posting = created(env, tongzhou, "/v1/postings", posting(from));
    ops.add(new Op("extendPosting", "supervisor.tongzhou", "/v1/postings/" + posting + "/extend",
        new JsonObject().put("endsOn", from.plusDays(25).toString()),
        new JsonObject().put("endsOn", from.plusDays(26).toString()), 200,
        "SELECT count(*) FROM audit_log WHERE action = 'posting.extend' AND object_id = ?", posting, 0));

    // Closing a project: audited once.
    String closing = created(env, tongzhou, "/v1/projects", project("Closed " + UUID.randomUUID()));
    ops.add(new Op("closeProject", "supervisor.tongzhou", "/v1/projects/" + closing + "/close",
        new JsonObject().put("outcome", "CANCELLED").put("reason", "Funding withdrawn"),
        new JsonObject().put("outcome", "COMPLETED"), 200,
        "SELECT count(*) FROM audit_log WHERE action = 'project.close' AND object_id = ?", closing, 0));

    // A record's hand-over (admins): audited once.
    String moving = created(env, tongzhou, "/v1/projects", project("Handed over " + UUID.randomUUID()));
    ops.add(new Op("moveProject", "admin", "/v1/projects/" + moving + "/move",
        new JsonObject().put("newUnitId", NANTONG.toString()), new JsonObject().put("newUnitId", HANJIANG.toString()),
        200, "SELECT count(*) FROM audit_log WHERE action = 'project.move' AND object_id = ?", moving, 0));
    String movingEnterprise = created(env, hanjiang, "/v1/enterprises", enterprise(code()));
    ops.add(new Op("moveEnterprise", "admin", "/v1/enterprises/" + movingEnterprise + "/move",
        new JsonObject().put("newUnitId", HANJIANG.toString()), new JsonObject().put("newUnitId", YANGZHOU.toString()),
        200, "SELECT count(*) FROM audit_log WHERE action = 'enterprise.move' AND object_id = ?", movingEnterprise, 0));
    // A report's review: one row of its history.
    UUID report = UUID.randomUUID();
    ok(await(env.client().post("/v1/reports").putHeader("Authorization", "Bearer " + xu).sendJsonObject(
        new JsonObject().put("id", report.toString()).put("type", "SITE")
            .put("unitId", org.frontline.dev.DemoOrganisation.HUAISI.toString())
            .put("capturedAt", java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString())
            .put("location", new JsonObject().put("lat", 32.4).put("lon", 119.4)).put("title", "Reviewed")
            .put("body", new JsonObject()))), 201);
    ops.add(new Op("reviewReport", "supervisor.hanjiang", "/v1/reports/" + report + "/review",
        new JsonObject().put("decision", "RETURNED").put("comment", "Add the photos."),
        new JsonObject().put("decision", "RETURNED").put("comment", "Add the photos, please."), 200,
        "SELECT count(*) FROM report_review WHERE report_id = ?", report, 0));
    return ops;
  }

  @Test
  void eachOperationRepeatedWithAKeyWritesOnceAndAnswersTheSameAndAnotherBodyIs422(TestEnvironment env)
      throws Exception {
    List<Op> ops = ops(env);
    assertThat(ops).extracting(Op::name).containsExactly("createEnterprise", "createServiceRequest",
        "transitionServiceRequest", "createProject", "createMilestone", "rebaselineMilestone",
        "recordMilestoneProgress", "createPosting", "extendPosting", "closeProject", "moveProject", "moveEnterprise",
        "reviewReport");
    for (Op op : ops) {
      String token = token(env, op.user());
      String key = key();
      assertThat(env.count(op.rowsSql(), op.rowsParam())).as(op.name()).isEqualTo(op.rowsBefore());
      HttpResponse<Buffer> first = send(env, token, op.path(), key, op.body());
      JsonObject answer = ok(first, op.status());
      // The draft's sf-string form names the same key.
      HttpResponse<Buffer> again = send(env, token, op.path(), "\"" + key + "\"", op.body());
      assertThat(again.statusCode()).as(op.name() + ": " + again.bodyAsString()).isEqualTo(op.status());
      assertThat(again.bodyAsJsonObject()).as(op.name()).isEqualTo(answer);
      assertThat(again.getHeader("Location")).as(op.name()).isEqualTo(first.getHeader("Location"));
      if (op.status() == 201) {
        assertThat(first.getHeader("Location")).as(op.name()).endsWith("/" + answer.getString("id"));
      } else {
        assertThat(first.getHeader("Location")).as(op.name()).isNull();
      }
      assertThat(again.getHeader("Content-Type")).isEqualTo("application/json");
      assertThat(env.count(op.rowsSql(), op.rowsParam())).as(op.name()).isEqualTo(op.rowsBefore() + 1);
      assertThat(env.count("SELECT count(*) FROM account_idempotency WHERE key = ? AND account_id = ? AND status = ?",
          key, account(op.user()), op.status())).as(op.name()).isEqualTo(1);

      // The same key with another body: 422 naming the header, nothing written.
      HttpResponse<Buffer> other = send(env, token, op.path(), key, op.other());
      ProblemsAndContractTest.assertProblem(other, 422, "urn:frontline:problem:unprocessable");
      assertThat(fields(other)).as(op.name()).containsExactly(HEADER_FIELD);
      assertThat(env.count(op.rowsSql(), op.rowsParam())).as(op.name()).isEqualTo(op.rowsBefore() + 1);
    }
  }

  @Test
  void theSameKeyOnAnotherOperationOrRecordIsAnotherRequest(TestEnvironment env) throws Exception {
    String tongzhou = token(env, "supervisor.tongzhou");
    String project = created(env, tongzhou, "/v1/projects", project("Two milestones " + UUID.randomUUID()));
    String a = created(env, tongzhou, "/v1/projects/" + project + "/milestones", milestone(100));
    String b = created(env, tongzhou, "/v1/projects/" + project + "/milestones", milestone(100));
    String key = key();
    JsonObject body = new JsonObject().put("quantity", 7);
    ok(send(env, tongzhou, "/v1/milestones/" + a + "/progress", key, body), 201);
    // Another milestone, same body and key: another request.
    HttpResponse<Buffer> otherRecord = send(env, tongzhou, "/v1/milestones/" + b + "/progress", key, body);
    ProblemsAndContractTest.assertProblem(otherRecord, 422, "urn:frontline:problem:unprocessable");
    assertThat(fields(otherRecord)).containsExactly(HEADER_FIELD);
    assertThat(env.count("SELECT count(*) FROM milestone_progress WHERE milestone_id = ?", UUID.fromString(b)))
        .isZero();
    // Another operation with the key: another request too.
    String name = "Same key " + UUID.randomUUID();
    HttpResponse<Buffer> otherOperation = send(env, tongzhou, "/v1/projects", key, project(name));
    ProblemsAndContractTest.assertProblem(otherOperation, 422, "urn:frontline:problem:unprocessable");
    assertThat(env.count("SELECT count(*) FROM project WHERE name = ?", name)).isZero();
    // Without a key, a repeat is a new write as ever.
    ok(send(env, tongzhou, "/v1/milestones/" + b + "/progress", null, body), 201);
    ok(send(env, tongzhou, "/v1/milestones/" + b + "/progress", null, body), 201);
    assertThat(env.count("SELECT count(*) FROM milestone_progress WHERE milestone_id = ?", UUID.fromString(b)))
        .isEqualTo(2);
  }

  /**
   * A keyed write done, whose answer the phone never got, retried after a release tightened a rule its request
   * breaks: the retry is answered as the repeat it is (the first 201, its Location), not as a refusal of what was in
   * fact done, and nothing is written. Yesterday's rules are stood in for by the key's stored fingerprint: that of
   * the body with a member today's contract refuses. Another key, or another body under the key, keeps the refusal.
   */
  @Test
  void aRetryRefusedByARuleTightenedSinceTheWriteIsAnsweredAsTheRepeat(TestEnvironment env) throws Exception {
    String tongzhou = token(env, "supervisor.tongzhou");
    String project = created(env, tongzhou, "/v1/projects", project("Tightened " + UUID.randomUUID()));
    String milestone = created(env, tongzhou, "/v1/projects/" + project + "/milestones", milestone(100));
    String path = "/v1/milestones/" + milestone + "/progress";
    String sql = "SELECT count(*) FROM milestone_progress WHERE milestone_id = ?";
    String key = key();
    HttpResponse<Buffer> first = send(env, tongzhou, path, key, new JsonObject().put("quantity", 7));
    JsonObject answer = ok(first, 201);
    JsonObject refused = new JsonObject().put("quantity", 7).put("note", "east span");
    try (var c = env.jdbc(); var st = c.prepareStatement(
        "UPDATE account_idempotency SET request_sha256 = ? WHERE key = ? AND status = 201")) {
      st.setBytes(1, java.security.MessageDigest.getInstance("SHA-256").digest(IdempotencyKeys.canonical(
          new JsonObject().put("operation", "recordMilestoneProgress").put("path", path).put("body", refused))
          .getBytes(StandardCharsets.UTF_8)));
      st.setString(2, key);
      assertThat(st.executeUpdate()).isEqualTo(1);
    }

    HttpResponse<Buffer> retried = send(env, tongzhou, path, key, refused);
    assertThat(ok(retried, 201)).isEqualTo(answer);
    assertThat(retried.getHeader("Location")).isEqualTo(first.getHeader("Location"));
    assertThat(retried.getHeader("Cache-Control")).isEqualTo("no-store");
    assertThat(env.count(sql, UUID.fromString(milestone))).isEqualTo(1);

    HttpResponse<Buffer> anotherKey = send(env, tongzhou, path, key(), refused);
    ProblemsAndContractTest.assertProblem(anotherKey, 400, "urn:frontline:problem:validation-failed");
    HttpResponse<Buffer> anotherBody = send(env, tongzhou, path, key, refused.copy().put("quantity", 8));
    ProblemsAndContractTest.assertProblem(anotherBody, 400, "urn:frontline:problem:validation-failed");
    HttpResponse<Buffer> noKey = send(env, tongzhou, path, null, refused);
    ProblemsAndContractTest.assertProblem(noKey, 400, "urn:frontline:problem:validation-failed");
    // Another account's retry with the key is its own request: refused.
    HttpResponse<Buffer> otherAccount = send(env, token(env, "admin"), path, key, refused);
    ProblemsAndContractTest.assertProblem(otherAccount, 400, "urn:frontline:problem:validation-failed");
    assertThat(env.count(sql, UUID.fromString(milestone))).isEqualTo(1);
  }

  @Test
  void keysArePerAccount(TestEnvironment env) throws Exception {
    String key = key();
    String name = "Per account " + UUID.randomUUID();
    JsonObject one = ok(send(env, token(env, "supervisor.tongzhou"), "/v1/projects", key, project(name)), 201);
    JsonObject two = ok(send(env, token(env, "admin"), "/v1/projects", key, project(name)), 201);
    assertThat(one.getString("id")).isNotEqualTo(two.getString("id"));
    assertThat(env.count("SELECT count(*) FROM project WHERE name = ?", name)).isEqualTo(2);
    assertThat(env.count("SELECT count(*) FROM account_idempotency WHERE key = ?", key)).isEqualTo(2);
    // Each account gets its own answer again.
    assertThat(ok(send(env, token(env, "admin"), "/v1/projects", key, project(name)), 201)).isEqualTo(two);
    assertThat(env.count("SELECT count(*) FROM project WHERE name = ?", name)).isEqualTo(2);
  }

  @Test
  void aFailedWriteFreesItsKeyForTheCorrectedRetry(TestEnvironment env) throws Exception {
    String tongzhou = token(env, "supervisor.tongzhou");
    String project = created(env, tongzhou, "/v1/projects", project("Failing first " + UUID.randomUUID()));
    String path = "/v1/projects/" + project + "/milestones";
    String key = key();
    // plannedDue before plannedStart: 422 from inside the write's transaction (the key was claimed, then freed).
    JsonObject wrong = milestone(100).put("plannedDue", today().minusDays(60).toString());
    HttpResponse<Buffer> failed = send(env, tongzhou, path, key, wrong);
    ProblemsAndContractTest.assertProblem(failed, 422, "urn:frontline:problem:unprocessable");
    assertThat(fields(failed)).containsExactly("body/plannedDue");
    assertThat(env.count("SELECT count(*) FROM account_idempotency WHERE key = ?", key)).isZero();
    assertThat(env.count("SELECT count(*) FROM milestone WHERE project_id = ?", UUID.fromString(project))).isZero();

    HttpResponse<Buffer> retried = send(env, tongzhou, path, key, milestone(100));
    JsonObject answer = ok(retried, 201);
    HttpResponse<Buffer> replayed = send(env, tongzhou, path, key, milestone(100));
    assertThat(ok(replayed, 201)).isEqualTo(answer);
    assertThat(replayed.getHeader("Location")).isEqualTo(retried.getHeader("Location"));
    assertThat(env.count("SELECT count(*) FROM milestone WHERE project_id = ?", UUID.fromString(project)))
        .isEqualTo(1);

    // A check before the transaction (a wrong USCC check character) claims nothing either.
    String good = code();
    char wrongCheck = good.charAt(17) == '0' ? '1' : '0';
    String key2 = key();
    HttpResponse<Buffer> refused = send(env, token(env, "supervisor.hanjiang"), "/v1/enterprises", key2,
        enterprise(good.substring(0, 17) + wrongCheck));
    ProblemsAndContractTest.assertProblem(refused, 422, "urn:frontline:problem:unprocessable");
    assertThat(fields(refused)).containsExactly("body/uscc");
    ok(send(env, token(env, "supervisor.hanjiang"), "/v1/enterprises", key2, enterprise(good)), 201);
    assertThat(env.count("SELECT count(*) FROM enterprise WHERE uscc = ?", good)).isEqualTo(1);
  }

  /**
   * A keyed write refused (400) whose refusal is judged against the stored keys while the database connection is lost
   * (its backend ended as a restart ends it; the client may see the socket reset): 503 naming the database, not 500,
   * logged in one line as every request of an outage is (it was a warning with the failure's stack trace).
   */
  @Test
  void aRefusalJudgedWhileTheDatabaseIsLostIs503LoggedInOneLine(TestEnvironment env) throws Exception {
    String tongzhou = token(env, "supervisor.tongzhou");
    String key = key();
    LogCapture log = LogCapture.of(Problems.class, "%level %msg%n");
    try (log; java.sql.Connection c = env.jdbc(); java.sql.Statement st = c.createStatement()) {
      c.setAutoCommit(false);
      st.execute("LOCK TABLE account_idempotency IN ACCESS EXCLUSIVE MODE");
      var refused = post(env, tongzhou, "/v1/projects", key).sendJsonObject(new JsonObject().put("name", 42))
          .toCompletionStage().toCompletableFuture();
      env.awaitLockWait("%account_idempotency%", refused);
      st.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
          + " AND query LIKE '%account_idempotency%' AND application_name = 'frontline'");
      HttpResponse<Buffer> r = refused.get(20, java.util.concurrent.TimeUnit.SECONDS);
      JsonObject problem = ProblemsAndContractTest.assertProblem(r, 503,
          "urn:frontline:problem:dependency-unavailable");
      assertThat(problem.getString("dependency")).isEqualTo("database");
      c.rollback();
      assertThat(log.text()).isEqualTo("WARN 503 on POST /v1/projects while judging its refusal: The database is"
          + " unavailable; try again shortly.\n");
    }
    assertThat(env.count("SELECT count(*) FROM account_idempotency WHERE key = ?", key)).isZero();
  }

  @Test
  void tenDuplicatesAtOnceWriteOneRow(TestEnvironment env) throws Exception {
    String hanjiang = token(env, "supervisor.hanjiang");
    String tongzhou = token(env, "supervisor.tongzhou");
    String uscc = code();
    LocalDate start = freshDay();
    String enterpriseKey = key();
    String postingKey = key();
    List<Future<HttpResponse<Buffer>>> enterprises = new ArrayList<>();
    List<Future<HttpResponse<Buffer>>> postings = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      enterprises.add(post(env, hanjiang, "/v1/enterprises", enterpriseKey).sendJsonObject(enterprise(uscc)));
      postings.add(post(env, tongzhou, "/v1/postings", postingKey).sendJsonObject(posting(start)));
    }
    await(Future.join(enterprises));
    await(Future.join(postings));
    for (List<Future<HttpResponse<Buffer>>> sent : List.of(enterprises, postings)) {
      JsonObject answer = null;
      for (Future<HttpResponse<Buffer>> f : sent) {
        HttpResponse<Buffer> r = f.result();
        if (r.statusCode() == 409) {
          ProblemsAndContractTest.assertProblem(r, 409, "urn:frontline:problem:conflict");
        } else {
          JsonObject body = ok(r, 201);
          assertThat(answer == null || answer.equals(body)).as("every 201 is the same answer").isTrue();
          answer = body;
        }
      }
      assertThat(answer).isNotNull();
    }
    assertThat(env.count("SELECT count(*) FROM enterprise WHERE uscc = ?", uscc)).isEqualTo(1);
    assertThat(env.count("SELECT count(*) FROM posting WHERE officer_id = ? AND starts_on = ?", ZHANG, start))
        .isEqualTo(1);
    // Once done, a duplicate gets the answer.
    ok(send(env, hanjiang, "/v1/enterprises", enterpriseKey, enterprise(uscc)), 201);
  }

  /** An admin write: its path, body, another body, status, its rows and its audit entries (SQL, parameter). */
  private record AdminOp(String name, String path, JsonObject body, JsonObject other, int status, String rowsSql,
                         Object rowsParam, String auditSql, Object auditParam) {}

  private static JsonObject newAccount(String username, String password) {
    return new JsonObject().put("username", username).put("displayName", "Idempotent " + username)
        .put("roles", new JsonArray().add("officer")).put("homeUnitId", HUAISI.toString()).put("password", password);
  }

  /** createOrgUnit, createAccount and resetAccountPassword, each on names or an account of its own. */
  private static List<AdminOp> adminOps(TestEnvironment env, String admin) {
    List<AdminOp> ops = new ArrayList<>();
    String unit = "Idempotent unit " + UUID.randomUUID();
    JsonObject unitBody = new JsonObject().put("parentId", HUAISI.toString()).put("name", unit).put("kind", "PARK");
    ops.add(new AdminOp("createOrgUnit", "/v1/org-units", unitBody, unitBody.copy().put("kind", "BUREAU"), 201,
        "SELECT count(*) FROM org_unit WHERE name = ?", unit,
        "SELECT count(*) FROM audit_log a JOIN org_unit u ON u.id::text = a.object_id "
            + "WHERE a.action = 'org-unit.create' AND u.name = ?", unit));
    String username = "idem." + SERIAL.incrementAndGet();
    ops.add(new AdminOp("createAccount", "/v1/accounts", newAccount(username, "Fence-Lantern-4821"),
        newAccount(username, "Fence-Lantern-4822"), 201, "SELECT count(*) FROM account WHERE username = ?", username,
        "SELECT count(*) FROM audit_log a JOIN account c ON c.id::text = a.object_id "
            + "WHERE a.action = 'account.create' AND c.username = ?", username));
    String target = created(env, admin, "/v1/accounts", newAccount("idem." + SERIAL.incrementAndGet(),
        "Harbour-Violet-1930"));
    ops.add(new AdminOp("resetAccountPassword", "/v1/accounts/" + target + "/password",
        new JsonObject().put("password", "Copper-Meadow-7714"), new JsonObject().put("password", "Copper-Meadow-7715"),
        204, "SELECT count(*) FROM audit_log WHERE action = 'account.password-reset' AND object_id = ?", target,
        "SELECT count(*) FROM audit_log WHERE action = 'account.password-reset' AND object_id = ?", target));
    return ops;
  }

  @Test
  void theAdminWritesRepeatedWithAKeyWriteAndAuditOnceAndAnotherBodyIs422(TestEnvironment env) throws Exception {
    String admin = token(env, "admin");
    for (AdminOp op : adminOps(env, admin)) {
      String key = key();
      long rows = env.count(op.rowsSql(), op.rowsParam());
      HttpResponse<Buffer> first = send(env, admin, op.path(), key, op.body());
      assertThat(first.statusCode()).as(op.name() + ": " + first.bodyAsString()).isEqualTo(op.status());
      long after = env.count(op.rowsSql(), op.rowsParam());
      String hash = op.status() == 204 ? env.string("SELECT password_hash FROM account WHERE id = ?::uuid",
          op.rowsParam()) : null;
      assertThat(after).as(op.name()).isEqualTo(rows + 1);
      HttpResponse<Buffer> again = send(env, admin, op.path(), "\"" + key + "\"", op.body());
      assertThat(again.statusCode()).as(op.name() + ": " + again.bodyAsString()).isEqualTo(op.status());
      assertThat(again.getHeader("Location")).as(op.name()).isEqualTo(first.getHeader("Location"));
      if (op.status() == 201) {
        assertThat(again.bodyAsJsonObject()).as(op.name()).isEqualTo(first.bodyAsJsonObject());
        assertThat(first.getHeader("Location")).as(op.name())
            .endsWith("/" + first.bodyAsJsonObject().getString("id"));
        assertThat(again.getHeader("Content-Type")).isEqualTo("application/json");
      } else {
        assertThat(again.body()).as(op.name()).isNull();
        assertThat(again.getHeader("Content-Type")).as(op.name()).isNull();
      }
      assertThat(env.count(op.rowsSql(), op.rowsParam())).as(op.name()).isEqualTo(after);
      assertThat(env.count(op.auditSql(), op.auditParam())).as(op.name()).isEqualTo(1);
      assertThat(env.count("SELECT count(*) FROM account_idempotency WHERE key = ? AND account_id = ? AND status = ?",
          key, account("admin"), op.status())).as(op.name()).isEqualTo(1);

      // The same key with another body (for the passwords: another password): 422 naming the header, nothing
      // written or audited.
      HttpResponse<Buffer> other = send(env, admin, op.path(), key, op.other());
      ProblemsAndContractTest.assertProblem(other, 422, "urn:frontline:problem:unprocessable");
      assertThat(fields(other)).as(op.name()).containsExactly(HEADER_FIELD);
      assertThat(env.count(op.rowsSql(), op.rowsParam())).as(op.name()).isEqualTo(after);
      assertThat(env.count(op.auditSql(), op.auditParam())).as(op.name()).isEqualTo(1);
      if (hash != null) {
        assertThat(env.string("SELECT password_hash FROM account WHERE id = ?::uuid", op.rowsParam()))
            .as(op.name()).isEqualTo(hash);
      }
    }
  }

  @Test
  void theAdminWritesSentFiveTimesAtOnceWriteAndAuditOnce(TestEnvironment env) throws Exception {
    String admin = token(env, "admin");
    List<AdminOp> ops = adminOps(env, admin);
    List<String> keys = new ArrayList<>();
    List<List<Future<HttpResponse<Buffer>>>> sent = new ArrayList<>();
    for (AdminOp op : ops) {
      String key = key();
      keys.add(key);
      List<Future<HttpResponse<Buffer>>> copies = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        copies.add(post(env, admin, op.path(), key).sendJsonObject(op.body()));
      }
      sent.add(copies);
    }
    for (int i = 0; i < ops.size(); i++) {
      AdminOp op = ops.get(i);
      await(Future.join(sent.get(i)));
      String answer = null;
      for (Future<HttpResponse<Buffer>> f : sent.get(i)) {
        HttpResponse<Buffer> r = f.result();
        if (r.statusCode() == 409) {
          ProblemsAndContractTest.assertProblem(r, 409, "urn:frontline:problem:conflict");
        } else {
          assertThat(r.statusCode()).as(op.name() + ": " + r.bodyAsString()).isEqualTo(op.status());
          String body = String.valueOf(r.bodyAsString());
          assertThat(answer == null || answer.equals(body)).as("every answer is the same").isTrue();
          answer = body;
        }
      }
      assertThat(answer).as(op.name()).isNotNull();
      assertThat(env.count(op.rowsSql(), op.rowsParam())).as(op.name()).isEqualTo(1);
      assertThat(env.count(op.auditSql(), op.auditParam())).as(op.name()).isEqualTo(1);
      // Once done, a duplicate gets the answer and writes nothing.
      assertThat(send(env, admin, op.path(), keys.get(i), op.body()).statusCode()).isEqualTo(op.status());
      assertThat(env.count(op.auditSql(), op.auditParam())).as(op.name()).isEqualTo(1);
    }
  }

  @Test
  void aPasswordIsFingerprintedByAKeyedHashNotByOneAnyoneCanRecompute(TestEnvironment env) throws Exception {
    String admin = token(env, "admin");
    String target = created(env, admin, "/v1/accounts", newAccount("idem." + SERIAL.incrementAndGet(),
        "Harbour-Violet-1930"));
    String key = key();
    String path = "/v1/accounts/" + target + "/password";
    JsonObject body = new JsonObject().put("password", "Copper-Meadow-7714");
    assertThat(send(env, admin, path, key, body).statusCode()).isEqualTo(204);
    String stored = env.string("SELECT encode(request_sha256, 'hex') FROM account_idempotency WHERE key = ?", key);
    // What an unkeyed fingerprint would be: anyone reading the table could try passwords against it.
    String plain = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(
        IdempotencyKeys.canonical(new JsonObject().put("operation", "resetAccountPassword").put("path", path)
            .put("body", body)).getBytes(StandardCharsets.UTF_8)));
    assertThat(stored).hasSize(64).isNotEqualTo(plain);
    assertThat(env.count("SELECT count(*) FROM account_idempotency WHERE key = ? AND response IS NULL "
        + "AND location IS NULL AND status = 204", key)).isEqualTo(1);
  }

  @Test
  void anInvalidKeyIs400NamingTheHeaderAndWritesNothing(TestEnvironment env) throws Exception {
    String tongzhou = token(env, "supervisor.tongzhou");
    String name = "Invalid key " + UUID.randomUUID();
    for (String invalid : List.of("\"\"", "k".repeat(300), "a\"b")) {
      HttpResponse<Buffer> r = send(env, tongzhou, "/v1/projects", invalid, project(name));
      ProblemsAndContractTest.assertProblem(r, 400, "urn:frontline:problem:validation-failed");
      assertThat(fields(r)).as(invalid).contains(HEADER_FIELD);
    }
    assertThat(env.count("SELECT count(*) FROM project WHERE name = ?", name)).isZero();
  }

  @Test
  void aKeySentTwiceIs400NamingTheHeaderAndWritesNothing(TestEnvironment env) {
    String tongzhou = token(env, "supervisor.tongzhou");
    String name = "Two keys " + UUID.randomUUID();
    List<String> keys = List.of(key(), key());
    // Two fields (or a proxy's second one): no one key, so neither is taken (the first was, silently).
    HttpResponse<Buffer> r = await(post(env, tongzhou, "/v1/projects", null).putHeader("Idempotency-Key", keys)
        .sendJsonObject(project(name)));
    ProblemsAndContractTest.assertProblem(r, 400, "urn:frontline:problem:validation-failed");
    assertThat(fields(r)).containsExactly(HEADER_FIELD);
    assertThat(env.count("SELECT count(*) FROM project WHERE name = ?", name)).isZero();
    assertThat(env.count("SELECT count(*) FROM account_idempotency WHERE key IN (?, ?)", keys.get(0), keys.get(1)))
        .isZero();
  }
}
