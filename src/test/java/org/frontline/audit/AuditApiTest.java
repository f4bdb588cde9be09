package org.frontline.audit;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.dev.DemoOrganisation;
import org.frontline.identity.AccountBootstrap;
import org.frontline.testing.Cursors;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.LogCapture;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.audit.AuditTesting.accessToken;
import static org.frontline.audit.AuditTesting.login;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.testing.TestEnvironment.await;

/** GET /v1/audit and POST /v1/audit/verify: roles, scope, pagination, filters. */
@FrontlineTest
class AuditApiTest {
  private static final UUID NANTONG_ADMIN = UUID.nameUUIDFromBytes("test:admin.nantong".getBytes());

  /** An admin scoped to Nantong, and a known log: Hanjiang, Tongzhou and unit-less entries. */
  @BeforeAll
  static void seed(TestEnvironment env) throws Exception {
    AuditTesting.clearAuditAndThrottle(env);
    try (Connection c = env.jdbc()) {
      c.setAutoCommit(false);
      new AccountBootstrap(c).ensureAccount(new AccountBootstrap.Account(NANTONG_ADMIN, "admin.nantong",
          "Nantong Admin", "en", List.of("admin"), DemoOrganisation.NANTONG), DemoOrganisation.PASSWORD);
      c.commit();
    }
    accessToken(env, "supervisor.hanjiang");                                  // seq 1, Hanjiang
    accessToken(env, "officer.xu");                                           // seq 2, Huaisi (under Hanjiang)
    accessToken(env, "officer.zhang");                                        // seq 3, Tongzhou (under Nantong)
    assertThat(login(env, "nobody.here", "wrong-password").statusCode()).isEqualTo(401); // seq 4, no unit
    assertThat(login(env, "officer.xu", "wrong-password").statusCode()).isEqualTo(401);  // seq 5, Huaisi
    accessToken(env, "supervisor.tongzhou");                                  // seq 6, Tongzhou
  }

  private static HttpResponse<Buffer> list(TestEnvironment env, String token, String query) {
    HttpRequest<Buffer> request = env.client().get("/v1/audit" + query);
    if (token != null) {
      request.putHeader("Authorization", "Bearer " + token);
    }
    return await(request.send());
  }

  private static List<String> labels(HttpResponse<Buffer> r) {
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    JsonArray items = r.bodyAsJsonObject().getJsonArray("items");
    List<String> out = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      out.add(items.getJsonObject(i).getString("actorLabel") + "#" + items.getJsonObject(i).getLong("seq"));
    }
    return out;
  }

  /**
   * A statement went on after its request had been answered with the timeout's 503: a page of the log filtered on a
   * rare action reads the whole log (1.7 s per 2 million entries), or waits for a lock, and held its connection and
   * the database for as long as that took. PostgreSQL now cancels it a second after the request's time is up.
   */
  @Test
  void aPageStillReadWhenItsRequestTimesOutIsCancelledInTheDatabase(TestEnvironment env) throws Exception {
    String token = accessToken(env, "admin.nantong");
    org.frontline.Frontline instance = env.startApiInstance(java.util.Map.of("FRONTLINE_REQUEST_TIMEOUT_SECONDS", "1"));
    String page = "%ORDER BY a.seq DESC%";
    try (Connection holder = env.jdbc()) {
      holder.setAutoCommit(false);
      holder.createStatement().execute("LOCK TABLE audit_log IN ACCESS EXCLUSIVE MODE");
      var answer = env.checked(io.vertx.ext.web.client.WebClient.create(instance.vertx(),
              new io.vertx.ext.web.client.WebClientOptions().setDefaultHost("127.0.0.1")
                  .setDefaultPort(instance.config().http().port())))
          .get("/v1/audit?action=no.such.action").putHeader("Authorization", "Bearer " + token).send()
          .toCompletionStage().toCompletableFuture();
      env.awaitLockWait(page, answer);
      assertProblem(answer.get(10, java.util.concurrent.TimeUnit.SECONDS), 503, "urn:frontline:problem:timeout");
      // The lock is still held: without the statement timeout the page would wait for it as long as it is.
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> env.count(
          "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE ?", page) == 0);
      holder.rollback();
    } finally {
      instance.stop().get(30, java.util.concurrent.TimeUnit.SECONDS);
    }
  }

  @Test
  void aScopedAdminSeesOnlyEntriesOfItsSubtree(TestEnvironment env) {
    String token = accessToken(env, "admin.nantong"); // recorded in Nantong itself
    List<String> seen = labels(list(env, token, "?action=auth.login"));
    assertThat(seen).contains("officer.zhang#3", "supervisor.tongzhou#6")
        .noneMatch(s -> s.startsWith("supervisor.hanjiang") || s.startsWith("officer.xu"));
    List<String> all = labels(list(env, token, "?limit=200"));
    assertThat(all).noneMatch(s -> s.startsWith("nobody.here") || s.startsWith("officer.xu")
        || s.startsWith("supervisor.hanjiang"));
  }

  @Test
  void theProvinceAdminSeesEverythingIncludingUnitlessEntries(TestEnvironment env) {
    List<String> all = labels(list(env, accessToken(env, "admin"), "?limit=200"));
    assertThat(all).contains("supervisor.hanjiang#1", "officer.xu#2", "officer.zhang#3", "nobody.here#4",
        "officer.xu#5", "supervisor.tongzhou#6");
  }

  @Test
  void nonAdminsAreForbiddenAndAnonymousCallersUnauthorized(TestEnvironment env) {
    String officer = accessToken(env, "officer.xu");
    assertProblem(list(env, officer, ""), 403, "urn:frontline:problem:forbidden");
    assertProblem(await(env.client().post("/v1/audit/verify").putHeader("Authorization", "Bearer " + officer)
        .send()), 403, "urn:frontline:problem:forbidden");
    assertProblem(list(env, accessToken(env, "supervisor.hanjiang"), ""), 403, "urn:frontline:problem:forbidden");
    assertProblem(list(env, null, ""), 401, "urn:frontline:problem:unauthorized");
  }

  @Test
  void pagesFollowTheCursorNewestFirstWithoutRepeats(TestEnvironment env) {
    String token = accessToken(env, "admin");
    List<Long> seqs = new ArrayList<>();
    String cursor = null;
    int pages = 0;
    do {
      JsonObject page = list(env, token, "?limit=2" + (cursor == null ? "" : "&cursor=" + cursor)).bodyAsJsonObject();
      assertThat(page.getJsonArray("items").size()).isLessThanOrEqualTo(2);
      page.getJsonArray("items").forEach(o -> seqs.add(((JsonObject) o).getLong("seq")));
      cursor = page.getString("nextCursor");
      pages++;
    } while (cursor != null && pages < 20);
    long total = labels(list(env, token, "?limit=200")).size();
    assertThat(seqs).hasSize((int) total).doesNotHaveDuplicates();
    assertThat(seqs).isSortedAccordingTo((a, b) -> Long.compare(b, a));
    assertThat(pages).isGreaterThanOrEqualTo(4);
  }

  @Test
  void filtersByActionActorAndTime(TestEnvironment env) throws Exception {
    String token = accessToken(env, "admin");
    assertThat(labels(list(env, token, "?action=auth.login.failed"))).containsExactly("officer.xu#5", "nobody.here#4");
    UUID zhang = AuditLogTest.accountId(env, "officer.zhang");
    assertThat(labels(list(env, token, "?actorId=" + zhang))).containsExactly("officer.zhang#3");
    assertThat(labels(list(env, token, "?to=2000-01-01T00:00:00Z"))).isEmpty();
    assertThat(labels(list(env, token, "?from=2000-01-01T00:00:00Z&action=auth.login.failed"))).hasSize(2);
    // A China Standard Time offset, percent-encoded ("%2B08:00"), is "+08:00" (it was decoded twice, a 400).
    assertThat(labels(list(env, token, "?from=2000-01-01T08:00:00%2B08:00&action=auth.login.failed"))).hasSize(2);
    assertThat(labels(list(env, token, "?to=2000-01-01T08:00:00%2B08:00"))).isEmpty();
    assertThat(labels(list(env, token, "?from=2999-01-01T08:00:00%2B08:00"))).isEmpty();
    JsonObject bare = assertProblem(list(env, token, "?from=2000-01-01T08:00:00+08:00"), 400,
        "urn:frontline:problem:validation-failed");
    assertThat(bare.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("query/from");
    JsonObject entry = list(env, token, "?actorId=" + zhang).bodyAsJsonObject().getJsonArray("items").getJsonObject(0);
    assertThat(entry.getString("unitId")).isEqualTo(DemoOrganisation.TONGZHOU.toString());
    assertThat(entry.getString("outcome")).isEqualTo("SUCCESS");
    assertThat(entry.getString("hash")).hasSize(64);
    assertThat(entry.getString("prevHash")).hasSize(64);
  }

  @Test
  void aBadCursorOrLimitIsAValidationProblem(TestEnvironment env) {
    String token = accessToken(env, "admin");
    JsonObject problem = assertProblem(list(env, token, "?cursor=bm9wZQ"), 400,
        "urn:frontline:problem:validation-failed");
    assertThat(problem.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("query/cursor");
    assertProblem(list(env, token, "?limit=0"), 400, "urn:frontline:problem:validation-failed");
    assertProblem(list(env, token, "?actorId=not-a-uuid"), 400, "urn:frontline:problem:validation-failed");
  }

  @Test
  void aLimitAboveTheCapIsCapped(TestEnvironment env) {
    assertThat(list(env, accessToken(env, "admin"), "?limit=100000").statusCode()).isEqualTo(200);
    // Beyond an int too (it was 400 naming query/limit; the contract treats any value above 200 as 200).
    HttpResponse<Buffer> huge = list(env, accessToken(env, "admin"), "?limit=99999999999");
    assertThat(huge.statusCode()).as(huge.bodyAsString()).isEqualTo(200);
    assertThat(huge.bodyAsJsonObject().getJsonArray("items").size()).isBetween(7, 200);
  }

  /**
   * A cursor pages on with its own filters only (the same instant at another offset is the same filter): with others
   * (or none) and made up, the cursor's 400.
   */
  @Test
  void aCursorIsBoundToItsFilters(TestEnvironment env) throws Exception {
    String token = accessToken(env, "admin");
    String filters = "action=auth.login.failed&from=2000-01-01T00:00:00Z";
    String cursor = list(env, token, "?" + filters + "&limit=1").bodyAsJsonObject().getString("nextCursor");
    assertThat(cursor).isNotNull();
    assertThat(labels(list(env, token, "?from=2000-01-01T08:00:00%2B08:00&action=auth.login.failed&cursor=" + cursor)))
        .containsExactly("nobody.here#4");
    UUID zhang = AuditLogTest.accountId(env, "officer.zhang");
    for (String other : List.of("", "action=auth.login.failed", "from=2000-01-01T00:00:00Z",
        filters + "&to=2999-01-01T00:00:00Z", filters + "&actorId=" + zhang, filters.replace("failed", "succeeded"))) {
      Cursors.assertOtherFilters(list(env, token, "?" + other + "&cursor=" + cursor));
    }
    for (String forged : Cursors.forgeries(cursor)) {
      Cursors.assertRefused(list(env, token, "?" + filters + "&cursor=" + forged));
    }
  }

  /** A last page that is exactly full has no cursor (it had one, to a page of nothing). */
  @Test
  void theLastPageHasNoCursorEvenWhenFull(TestEnvironment env) {
    String token = accessToken(env, "admin");
    JsonObject page = list(env, token, "?action=auth.login.failed&limit=2").bodyAsJsonObject();
    assertThat(labels(list(env, token, "?action=auth.login.failed&limit=2"))).containsExactly("officer.xu#5",
        "nobody.here#4");
    assertThat(page.getValue("nextCursor")).isNull();
    JsonObject first = list(env, token, "?action=auth.login.failed&limit=1").bodyAsJsonObject();
    assertThat(first.getString("nextCursor")).isNotNull();
    JsonObject second = list(env, token, "?action=auth.login.failed&limit=1&cursor=" + first.getString("nextCursor"))
        .bodyAsJsonObject();
    assertThat(second.getJsonArray("items").getJsonObject(0).getLong("seq")).isEqualTo(4);
    assertThat(second.getValue("nextCursor")).isNull();
  }

  /**
   * Verifications asked for while one runs share the next walk: three requests while the first walk's read of the
   * head is held back by a lock: two walks in all, not three. The second begins once the first ends, so the later
   * requests are answered by a walk that began after they came (one begun before could have read an entry before
   * it was altered and call the chain intact).
   */
  @Test
  void verificationsAskedForWhileOneRunsShareTheNextWalk(TestEnvironment env) throws Exception {
    String token = accessToken(env, "admin");
    List<io.vertx.core.Future<HttpResponse<Buffer>>> answers = new ArrayList<>();
    try (LogCapture log = LogCapture.of(AuditApi.class, "%msg%n"); Connection lock = env.jdbc()) {
      lock.setAutoCommit(false);
      try (var st = lock.createStatement()) {
        st.execute("LOCK TABLE audit_head IN ACCESS EXCLUSIVE MODE");
      }
      for (int i = 0; i < 3; i++) {
        answers.add(env.client().post("/v1/audit/verify").putHeader("Authorization", "Bearer " + token).send());
        waitingHeadReads(env, 1);
        Thread.sleep(300); // time for a second read of the head, were one started
      }
      assertThat(waitingHeadReads(env, 1)).isEqualTo(1);
      lock.rollback();
      List<JsonObject> bodies = new ArrayList<>();
      for (var answer : answers) {
        HttpResponse<Buffer> r = await(answer);
        assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
        bodies.add(r.bodyAsJsonObject());
      }
      assertThat(bodies.get(1)).isEqualTo(bodies.get(2));
      assertThat(bodies).allMatch(body -> body.getBoolean("ok"));
      assertThat(log.text().lines().filter(l -> l.startsWith("audit chain verified: ")).count()).isEqualTo(2);
    }
  }

  /** Reads of the chain's head waiting on a lock, once at least {@code atLeast} of them are. */
  private static long waitingHeadReads(TestEnvironment env, int atLeast) throws Exception {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (true) {
      try (Connection c = env.jdbc(); var st = c.createStatement(); var rs = st.executeQuery(
          "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
              + " AND query = 'SELECT seq, hash FROM audit_head'")) {
        rs.next();
        long n = rs.getLong(1);
        if (n >= atLeast || System.nanoTime() > deadline) {
          return n;
        }
      }
      Thread.sleep(20);
    }
  }
}
