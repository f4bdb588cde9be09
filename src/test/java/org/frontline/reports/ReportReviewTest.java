package org.frontline.reports;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.platform.push.FakeFcmServer;
import org.frontline.testing.Cursors;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.QueryPlans;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.frontline.platform.db.BoundedWalk;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.frontline.dev.DemoOrganisation.HANJIANG;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.dev.DemoOrganisation.SUQIAN;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.reports.ReportFixtures.*;
import static org.frontline.testing.TestEnvironment.await;

/**
 * Supervisors' reviews of reports (POST /v1/reports/{id}/review, GET .../reviews, GET /v1/reports?review=), through
 * HTTP, with the rows, audit entries, outbox events and pushes that resulted.
 */
@FrontlineTest
class ReportReviewTest {
  static final String FORBIDDEN = "urn:frontline:problem:forbidden";
  static final String NOT_FOUND = "urn:frontline:problem:not-found";
  static final String CONFLICT = "urn:frontline:problem:conflict";
  static final String INVALID = "urn:frontline:problem:validation-failed";

  @BeforeAll
  static void freshTokens() {
    forgetTokens();
  }

  /** A new COMPLETE SITE report by officer.xu in Huaisi. */
  static UUID xuReport(TestEnvironment env) {
    UUID id = UUID.randomUUID();
    HttpResponse<Buffer> r = post(env, "officer.xu", "/v1/reports", site(id));
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(201);
    return id;
  }

  static HttpResponse<Buffer> review(TestEnvironment env, String username, UUID report, JsonObject body) {
    return post(env, username, "/v1/reports/" + report + "/review", body);
  }

  static JsonObject decision(String decision, String comment) {
    JsonObject body = new JsonObject().put("decision", decision);
    return comment == null ? body : body.put("comment", comment);
  }

  static JsonObject ok(HttpResponse<Buffer> r) {
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    return r.bodyAsJsonObject();
  }

  static long reviews(TestEnvironment env, UUID report) {
    return env.count("SELECT count(*) FROM report_review WHERE report_id = ?", report);
  }

  static long audited(TestEnvironment env, UUID report) {
    return env.count("SELECT count(*) FROM audit_log WHERE action = 'report.review' AND object_id = ?",
        report.toString());
  }

  static long returnedEvents(TestEnvironment env, UUID report) {
    return env.count("SELECT count(*) FROM outbox WHERE event_type = 'report.returned' AND aggregate_id = ?", report);
  }

  /** RETURNED, the officer's follow-up, ACCEPTED by another reviewer: both kept, in order; the report shows the last. */
  @Test
  void aLaterReviewIsAddedToTheHistoryAndTheReportShowsTheLatest(TestEnvironment env) throws Exception {
    UUID report = xuReport(env);
    JsonObject returned = ok(review(env, "supervisor.hanjiang", report,
        decision("RETURNED", "Add a photo of the scaffolding.")));
    assertThat(returned.getString("decision")).isEqualTo("RETURNED");
    assertThat(returned.getInteger("seq")).isEqualTo(1);
    assertThat(returned.getString("reviewerId")).isEqualTo(account("supervisor.hanjiang").toString());
    assertThat(returned.getString("comment")).isEqualTo("Add a photo of the scaffolding.");
    assertThat(env.string("SELECT review_decision FROM report WHERE id = ?", report)).isEqualTo("RETURNED");
    assertThat(env.string("SELECT actor_id || ' ' || (details->>'decision') || ' ' || (details->>'reviewId')"
        + " || ' ' || unit_id FROM audit_log WHERE action = 'report.review' AND object_id = ?", report.toString()))
        .isEqualTo(account("supervisor.hanjiang") + " RETURNED " + returned.getString("id") + " " + HUAISI);
    assertThat(returnedEvents(env, report)).isEqualTo(1);

    // The author reads it on the report and in the history.
    JsonObject asAuthor = ok(get(env, "officer.xu", "/v1/reports/" + report));
    assertThat(asAuthor.getJsonObject("review")).isEqualTo(returned);

    // The admin (another reviewer) accepts it later: a second review, the first kept as it was.
    JsonObject accepted = ok(review(env, "admin", report, decision("ACCEPTED", null)));
    assertThat(accepted.getInteger("seq")).isEqualTo(2);
    assertThat(accepted.getString("reviewerId")).isEqualTo(account("admin").toString());
    assertThat(accepted.getString("comment")).isNull();
    assertThat(reviews(env, report)).isEqualTo(2);
    assertThat(audited(env, report)).isEqualTo(2);
    assertThat(returnedEvents(env, report)).isEqualTo(1); // ACCEPTED tells nobody
    assertThat(env.string("SELECT review_decision FROM report WHERE id = ?", report)).isEqualTo("ACCEPTED");
    assertThat(ok(get(env, "supervisor.hanjiang", "/v1/reports/" + report)).getJsonObject("review"))
        .isEqualTo(accepted);
    JsonArray history = ok(get(env, "officer.xu", "/v1/reports/" + report + "/reviews")).getJsonArray("items");
    assertThat(history).containsExactly(returned, accepted);

    // The history cannot be quietly changed in the database either.
    try (var c = env.jdbc(); var st = c.createStatement()) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> st.executeUpdate(
              "UPDATE report_review SET decision = 'ACCEPTED' WHERE report_id = '" + report + "'"))
          .hasMessageContaining("append-only");
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> st.executeUpdate(
              "DELETE FROM report_review WHERE report_id = '" + report + "'"))
          .hasMessageContaining("append-only");
    }
    assertThat(reviews(env, report)).isEqualTo(2);
  }

  /**
   * A report holds at most ReviewService.MAX_REVIEWS reviews (its history is read whole): RETURNED and ACCEPTED in
   * turn reach it, and the next is 409 with nothing written, no alert; a repeat of the latest is still answered.
   */
  @Test
  void aReportHoldsAtMostAHundredReviewsAndTheNextIs409WritingNothing(TestEnvironment env) throws Exception {
    UUID report = xuReport(env);
    // 99 reviews in turn as the service writes them (RETURNED first), then the 100th through HTTP
    try (var c = env.jdbc(); var st = c.createStatement()) {
      st.executeUpdate("INSERT INTO report_review (id, report_id, seq, decision, comment, reviewer_id, reviewed_at)"
          + " SELECT gen_random_uuid(), '" + report + "', n, CASE WHEN n % 2 = 1 THEN 'RETURNED' ELSE 'ACCEPTED' END,"
          + " CASE WHEN n % 2 = 1 THEN 'Once more.' END, '" + account("supervisor.hanjiang") + "', now()"
          + " FROM generate_series(1, 99) AS n");
      st.executeUpdate("UPDATE report SET review_decision = 'RETURNED' WHERE id = '" + report + "'");
    }
    JsonObject hundredth = ok(review(env, "supervisor.hanjiang", report, decision("ACCEPTED", null)));
    assertThat(hundredth.getInteger("seq")).isEqualTo(ReviewService.MAX_REVIEWS);

    JsonObject refused = assertProblem(review(env, "admin", report, decision("RETURNED", "Yet again.")), 409,
        CONFLICT);
    assertThat(refused.getJsonObject("currentReview")).isEqualTo(hundredth);
    assertThat(reviews(env, report)).isEqualTo(ReviewService.MAX_REVIEWS);
    assertThat(audited(env, report)).isEqualTo(1);
    assertThat(returnedEvents(env, report)).isZero();
    assertThat(env.string("SELECT review_decision FROM report WHERE id = ?", report)).isEqualTo("ACCEPTED");
    assertThat(ok(review(env, "supervisor.hanjiang", report, decision("ACCEPTED", null)))).isEqualTo(hundredth);
    assertThat(ok(get(env, "officer.xu", "/v1/reports/" + report + "/reviews")).getJsonArray("items"))
        .hasSize(ReviewService.MAX_REVIEWS);
  }

  /** The same decision and comment again is answered as the first, with nothing new; another comment is a 409. */
  @Test
  void aRepeatAnswersTheSameReviewAndWritesNothing(TestEnvironment env) {
    UUID report = xuReport(env);
    JsonObject first = ok(review(env, "supervisor.hanjiang", report, decision("RETURNED", "Wrong site.")));
    assertThat(ok(review(env, "supervisor.hanjiang", report, decision("RETURNED", "Wrong site.")))).isEqualTo(first);
    JsonObject other = assertProblem(review(env, "supervisor.hanjiang", report, decision("RETURNED", "Other words.")),
        409, CONFLICT);
    assertThat(other.getJsonObject("currentReview")).isEqualTo(first);
    assertThat(reviews(env, report)).isEqualTo(1);
    assertThat(audited(env, report)).isEqualTo(1);
    assertThat(returnedEvents(env, report)).isEqualTo(1);

    // Under an Idempotency-Key a repeat gets the first answer, even once the report moved on.
    UUID keyed = xuReport(env);
    String key = UUID.randomUUID().toString();
    JsonObject accepted = ok(keyed(env, keyed, key, decision("ACCEPTED", "Fine.")));
    ok(review(env, "admin", keyed, decision("RETURNED", "On second thoughts, no.")));
    assertThat(ok(keyed(env, keyed, key, decision("ACCEPTED", "Fine.")))).isEqualTo(accepted);
    assertThat(reviews(env, keyed)).isEqualTo(2);
    assertProblem(keyed(env, keyed, key, decision("ACCEPTED", "Other.")), 422, "urn:frontline:problem:unprocessable");
  }

  private static HttpResponse<Buffer> keyed(TestEnvironment env, UUID report, String key, JsonObject body) {
    return await(env.client().post("/v1/reports/" + report + "/review")
        .putHeader("Authorization", "Bearer " + token(env, "supervisor.hanjiang")).putHeader("Idempotency-Key", key)
        .sendJsonObject(body));
  }

  /** Only a COMPLETE report, never one's own: each refusal its own problem, nothing written. */
  @Test
  void ownReportsAndReportsAwaitingPhotosAreRefused(TestEnvironment env) {
    UUID own = UUID.randomUUID();
    assertThat(post(env, "supervisor.hanjiang", "/v1/reports", site(own).put("unitId", HANJIANG.toString()))
        .statusCode()).isEqualTo(201);
    JsonObject p = assertProblem(review(env, "supervisor.hanjiang", own, decision("ACCEPTED", null)), 403, FORBIDDEN);
    assertThat(p.getString("detail")).contains("author");
    // Another supervisor covering Hanjiang may (the admin here).
    ok(review(env, "admin", own, decision("ACCEPTED", null)));

    UUID awaiting = UUID.randomUUID();
    assertThat(post(env, "officer.xu", "/v1/reports", withAttachments(site(awaiting),
        attachment(UUID.randomUUID(), 7))).statusCode()).isEqualTo(201);
    JsonObject conflict = assertProblem(review(env, "supervisor.hanjiang", awaiting, decision("ACCEPTED", null)),
        409, CONFLICT);
    assertThat(conflict.getString("currentStatus")).isEqualTo("AWAITING_MEDIA");
    assertThat(conflict.getString("detail")).contains("AWAITING_MEDIA");
    assertThat(reviews(env, own)).isEqualTo(1);
    assertThat(reviews(env, awaiting)).isZero();
    assertThat(audited(env, awaiting)).isZero();
    assertThat(env.string("SELECT review_decision FROM report WHERE id = ?", awaiting)).isNull();
  }

  /** Each kind of bad body is a 400 naming the field; nothing is written. */
  @Test
  void badBodiesAre400NamingTheField(TestEnvironment env) {
    UUID report = xuReport(env);
    List<Object[]> cases = List.of(
        new Object[] {decision("RETURNED", null), "body/comment"},
        new Object[] {decision("RETURNED", "   "), "body/comment"},
        new Object[] {decision("RETURNED", "x".repeat(2001)), "body/comment"},
        new Object[] {decision("RETURNED", "bad\u0000byte"), "body/comment"},
        new Object[] {decision("RETURNED", "lone \ud800 surrogate"), "body/comment"},
        new Object[] {decision("ACCEPTED", "").put("comment", ""), "body/comment"},
        new Object[] {decision("MAYBE", null), "body/decision"},
        new Object[] {new JsonObject().put("comment", "no decision"), "body/decision"},
        new Object[] {decision("ACCEPTED", null).put("score", 5), "body/score"});
    for (Object[] c : cases) {
      JsonObject p = assertProblem(review(env, "supervisor.hanjiang", report, (JsonObject) c[0]), 400, INVALID);
      assertThat(p.getJsonArray("errors").encode()).as(((JsonObject) c[0]).encode()).contains((String) c[1]);
    }
    assertProblem(post(env, "supervisor.hanjiang", "/v1/reports/not-a-uuid/review", decision("ACCEPTED", null)), 400,
        INVALID);
    assertProblem(get(env, "supervisor.hanjiang", "/v1/reports/not-a-uuid/reviews"), 400, INVALID);
    assertThat(reviews(env, report)).isZero();
    assertThat(audited(env, report)).isZero();
    // The longest comment allowed is stored whole.
    assertThat(ok(review(env, "supervisor.hanjiang", report, decision("RETURNED", "y".repeat(2000))))
        .getString("comment")).hasSize(2000);
  }

  /**
   * A comment showing nothing (ideographic, no-break, zero-width spaces) is blank, worded as every blank field; one
   * character between ideographic spaces is a comment.
   */
  @Test
  void aCommentOfOnlyUnicodeSpacesIs400NamingIt(TestEnvironment env) {
    UUID report = xuReport(env);
    for (String blank : List.of("\u3000\u3000", "\u00a0\u200b", "\ufeff")) {
      JsonObject p = assertProblem(review(env, "supervisor.hanjiang", report, decision("RETURNED", blank)), 400,
          INVALID);
      assertThat(p.getJsonArray("errors")).hasSize(1);
      assertThat(p.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/comment");
      assertThat(p.getJsonArray("errors").getJsonObject(0).getString("reason")).startsWith("Must not be blank");
    }
    assertThat(reviews(env, report)).isZero();
    assertThat(audited(env, report)).isZero();
    assertThat(ok(review(env, "supervisor.hanjiang", report, decision("RETURNED", "\u3000\u8865\u3000")))
        .getString("comment")).isEqualTo("\u3000\u8865\u3000");
    assertThat(reviews(env, report)).isOne();
  }

  /** Officers and assessors 403, another subtree's supervisor 404 as for a missing report, partner tokens 403. */
  @Test
  void onlySupervisorsAndAdminsInScopeReview(TestEnvironment env) throws Exception {
    UUID report = xuReport(env);
    for (String username : List.of("officer.xu", "officer.zhang", "assessor.tongzhou")) {
      assertProblem(review(env, username, report, decision("ACCEPTED", null)), 403, FORBIDDEN);
    }
    assertProblem(review(env, "supervisor.tongzhou", report, decision("ACCEPTED", null)), 404, NOT_FOUND);
    assertProblem(review(env, "supervisor.hanjiang", UUID.randomUUID(), decision("ACCEPTED", null)), 404, NOT_FOUND);
    assertProblem(get(env, "supervisor.tongzhou", "/v1/reports/" + report + "/reviews"), 404, NOT_FOUND);
    assertProblem(get(env, "officer.zhang", "/v1/reports/" + report + "/reviews"), 404, NOT_FOUND);

    String partner = partnerToken(env);
    for (HttpResponse<Buffer> r : List.of(
        await(env.client().post("/v1/reports/" + report + "/review").putHeader("Authorization", "Bearer " + partner)
            .sendJsonObject(decision("ACCEPTED", null))),
        await(env.client().get("/v1/reports/" + report + "/reviews").putHeader("Authorization", "Bearer " + partner)
            .send()))) {
      assertProblem(r, 403, FORBIDDEN);
    }
    assertThat(reviews(env, report)).isZero();
    assertThat(env.string("SELECT review_decision FROM report WHERE id = ?", report)).isNull();
    // The author reads the (empty) history of their report.
    assertThat(ok(get(env, "officer.xu", "/v1/reports/" + report + "/reviews")).getJsonArray("items")).isEmpty();
  }

  /** A partner client granted Huaisi reports (reports:read), and a token of it. */
  private static String partnerToken(TestEnvironment env) throws Exception {
    UUID client = UUID.randomUUID();
    try (var c = env.jdbc(); var st = c.createStatement()) {
      st.executeUpdate("INSERT INTO partner_client (id, name, auth_method, scopes, unit_ids, report_types) VALUES ('"
          + client + "', 'Review partner " + client + "', 'client_secret_basic', '{reports:read}', '{" + HUAISI
          + "}', '{SITE}')");
      st.executeUpdate("INSERT INTO partner_credential (id, client_id, kind, secret_sha256) VALUES ('"
          + UUID.randomUUID() + "', '" + client + "', 'secret', sha256('review-partner'::bytea))");
    }
    HttpResponse<Buffer> r = await(env.client().post("/oauth2/token")
        .putHeader("Authorization", "Basic " + Base64.getEncoder().encodeToString((client + ":review-partner")
            .getBytes(StandardCharsets.UTF_8)))
        .sendForm(MultiMap.caseInsensitiveMultiMap().add("grant_type", "client_credentials")
            .add("scope", "reports:read")));
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    return r.bodyAsJsonObject().getString("access_token");
  }

  /** RETURNED: the author's phone gets the push (through the real SDK and the fake FCM) and their inbox the alert. */
  @Test
  void theAuthorOfAReturnedReportIsPushedAndNobodyElse(TestEnvironment env) throws Exception {
    env.awaitEventsDispatched();
    device(env, "officer.xu", "review-xu-phone");
    device(env, "supervisor.hanjiang", "review-hanjiang-phone");
    UUID report = xuReport(env);
    JsonObject returned = ok(review(env, "supervisor.hanjiang", report, decision("RETURNED", "Photo is blurred.")));
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (pushes(env, "review-xu-phone", report).isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    List<FakeFcmServer.Request> pushes = pushes(env, "review-xu-phone", report);
    assertThat(pushes).hasSize(1);
    FakeFcmServer.Request push = pushes.get(0);
    assertThat(push.data().getString("eventType")).isEqualTo("report.returned");
    assertThat(push.data().getString("reviewId")).isEqualTo(returned.getString("id"));
    assertThat(push.data().getString("unitId")).isEqualTo(HUAISI.toString());
    assertThat(push.android().getString("collapse_key")).isEqualTo("review:" + report);
    assertThat(push.notification().getString("title")).isEqualTo("报告被退回"); // officer.xu reads zh-CN
    // The unit's name ends in Latin letters: a space before the Chinese that follows, as in every other alert.
    assertThat(push.notification().getString("body")).isEqualTo("您在槐泗镇 Huaisi Town 提交的报告已被主管退回，请打开查看原因。");
    env.awaitEventsDispatched();
    // The inbox: the author's only; the reviewer (and every other supervisor) gets no report.returned.
    assertThat(env.count("SELECT count(*) FROM notification n JOIN outbox o ON o.id = n.event_id"
        + " WHERE o.event_type = 'report.returned' AND o.aggregate_id = ?", report)).isEqualTo(1);
    assertThat(env.string("SELECT n.account_id FROM notification n JOIN outbox o ON o.id = n.event_id"
        + " WHERE o.event_type = 'report.returned' AND o.aggregate_id = ?", report))
        .isEqualTo(account("officer.xu").toString());
    assertThat(env.fcm().requestsFor("review-hanjiang-phone").stream()
        .filter(r -> "report.returned".equals(r.data().getString("eventType")))).isEmpty();
    JsonArray inbox = ok(get(env, "officer.xu", "/v1/notifications")).getJsonArray("items");
    assertThat(inbox.stream().map(o -> ((JsonObject) o).getString("eventType"))).contains("report.returned");
  }

  private static List<FakeFcmServer.Request> pushes(TestEnvironment env, String token, UUID report) {
    return env.fcm().requestsFor(token).stream().filter(r -> report.toString().equals(r.data().getString("reportId")))
        .toList();
  }

  private static void device(TestEnvironment env, String username, String token) {
    HttpResponse<Buffer> r = post(env, username, "/v1/devices", new JsonObject().put("token", token)
        .put("platform", "android").put("appVersion", "1.0.0"));
    assertThat(r.statusCode()).as(r.bodyAsString()).isIn(200, 201);
  }

  /** review=PENDING / ACCEPTED / RETURNED, page by page (keyset), each cursor bound to its filter. */
  @Test
  void theListFiltersByReviewStateInKeysetPages(TestEnvironment env) {
    List<UUID> pending = new ArrayList<>();
    List<UUID> accepted = new ArrayList<>();
    List<UUID> returned = new ArrayList<>();
    for (int i = 0; i < 9; i++) {
      UUID id = xuReport(env);
      switch (i % 3) {
        case 0 -> pending.add(id);
        case 1 -> {
          ok(review(env, "supervisor.hanjiang", id, decision("ACCEPTED", null)));
          accepted.add(id);
        }
        default -> {
          ok(review(env, "supervisor.hanjiang", id, decision("RETURNED", "Redo.")));
          returned.add(id);
        }
      }
    }
    // One returned, then accepted: listed as ACCEPTED only.
    UUID later = xuReport(env);
    ok(review(env, "supervisor.hanjiang", later, decision("RETURNED", "Redo.")));
    ok(review(env, "admin", later, decision("ACCEPTED", null)));
    accepted.add(later);
    // Awaiting its photos: not PENDING review.
    UUID awaiting = UUID.randomUUID();
    assertThat(post(env, "officer.xu", "/v1/reports", withAttachments(site(awaiting),
        attachment(UUID.randomUUID(), 8))).statusCode()).isEqualTo(201);

    // This test's reports only (the class's other tests write officer.xu's reports too).
    String author = "authorId=" + account("officer.xu") + "&from="
        + ok(get(env, "officer.xu", "/v1/reports/" + pending.get(0))).getString("receivedAt");
    for (String reader : List.of("supervisor.hanjiang", "officer.xu")) {
      assertThat(walk(env, reader, author + "&review=PENDING")).containsAll(ids(pending))
          .doesNotContainAnyElementsOf(ids(accepted)).doesNotContainAnyElementsOf(ids(returned))
          .doesNotContain(awaiting.toString());
      assertThat(walk(env, reader, author + "&review=ACCEPTED")).containsExactlyInAnyOrderElementsOf(ids(accepted));
      assertThat(walk(env, reader, author + "&review=RETURNED")).containsExactlyInAnyOrderElementsOf(ids(returned));
    }
    // Newest first within a filter, as the unfiltered list.
    List<String> acceptedNewestFirst = new ArrayList<>(ids(accepted));
    java.util.Collections.reverse(acceptedNewestFirst);
    assertThat(walk(env, "supervisor.hanjiang", author + "&review=ACCEPTED")).containsExactlyElementsOf(acceptedNewestFirst);
    // With a box: the bbox walk of the newest reports answers a box holding them; a box holding none of them takes
    // the second statement (the box's reports from its index, PENDING as its two parts): empty.
    String world = "&bbox=-90,-180,90,180";
    assertThat(walk(env, "supervisor.hanjiang", author + "&review=PENDING" + world)).containsAll(ids(pending))
        .doesNotContainAnyElementsOf(ids(accepted)).doesNotContainAnyElementsOf(ids(returned))
        .doesNotContain(awaiting.toString());
    assertThat(walk(env, "supervisor.hanjiang", author + "&review=ACCEPTED" + world))
        .containsExactlyElementsOf(acceptedNewestFirst);
    for (String review : List.of("PENDING", "ACCEPTED", "RETURNED")) {
      assertThat(walk(env, "supervisor.hanjiang", author + "&review=" + review + "&bbox=-71,-41,-70,-39")).isEmpty();
    }
    // A listed report shows its latest review.
    JsonObject page = ok(get(env, "supervisor.hanjiang", "/v1/reports?" + author + "&review=ACCEPTED&limit=1"));
    assertThat(page.getJsonArray("items").getJsonObject(0).getJsonObject("review").getString("reviewerId"))
        .isEqualTo(account("admin").toString());
    // A cursor is bound to its review filter (PENDING is not evidenceChecks=PENDING).
    String cursor = page.getString("nextCursor");
    Cursors.assertOtherFilters(get(env, "supervisor.hanjiang", "/v1/reports?" + author + "&review=RETURNED&cursor="
        + cursor));
    Cursors.assertOtherFilters(get(env, "supervisor.hanjiang", "/v1/reports?" + author + "&cursor=" + cursor));
    String pendingCursor = ok(get(env, "supervisor.hanjiang", "/v1/reports?" + author + "&review=PENDING&limit=1"))
        .getString("nextCursor");
    Cursors.assertOtherFilters(get(env, "supervisor.hanjiang", "/v1/reports?" + author
        + "&evidenceChecks=PENDING&cursor=" + pendingCursor));
    assertProblem(get(env, "supervisor.hanjiang", "/v1/reports?review=LATER"), 400, INVALID);
    // Another subtree's supervisor sees none of them.
    assertThat(walk(env, "supervisor.tongzhou", author + "&review=ACCEPTED")).isEmpty();
  }

  private static List<String> ids(List<UUID> ids) {
    return ids.stream().map(UUID::toString).toList();
  }

  /**
   * The review filter is read from indexes (generic plans): PENDING from report_review_pending_idx and
   * report_checks_due_idx, never walking 3000 reviewed reports; ACCEPTED and RETURNED from report_reviewed_idx, never
   * walking 3000 pending ones.
   */
  @Test
  void theReviewFilterIsServedFromIndexes(TestEnvironment env) throws Exception {
    UUID seed = xuReport(env);
    String path = string(env, "SELECT path FROM org_unit WHERE id = ?", HANJIANG);
    QueryPlans.rolledBack(env, st -> {
      for (String decision : List.of("'ACCEPTED'", "NULL")) {
        st.execute("INSERT INTO report (id, author_id, unit_id, type, status, title, captured_at, received_at,"
            + " completed_at, lat, lon, accuracy_m, location_provider, location_mock, body, request, request_sha256,"
            + " response, report_checks_due, review_decision) SELECT gen_random_uuid(), author_id, unit_id, type,"
            + " status, title, captured_at, received_at + g * interval '1 millisecond', completed_at, lat, lon,"
            + " accuracy_m, location_provider, location_mock, body, request, request_sha256, response, false, "
            + decision + " FROM report, generate_series(1, 3000) g WHERE id = '" + seed + "'");
      }
      st.execute("ANALYZE report");
      st.execute("SET LOCAL enable_seqscan = off");
      String args = "'" + UUID.randomUUID() + "', true, ARRAY['" + path + "']"; // the limit is written in
      for (String state : List.of("PENDING", "ACCEPTED", "RETURNED")) {
        List<Object> params = new ArrayList<>(List.of(UUID.randomUUID(), true, new String[] {path}));
        String sql = ReportRepository.listSql(new ReportRepository.Filter(null, null, null, null, null, null, null,
            null, null, state), null, null, 51, params);
        String plan = QueryPlans.assertReadsFewerThan(1000, st, "review_" + state.toLowerCase(),
            "uuid, boolean, text[]", sql, args);
        assertThat(plan).as(plan).doesNotContain("report_received_idx");
        if (state.equals("PENDING")) {
          assertThat(plan).as(plan).contains("report_review_pending_idx").contains("report_checks_due_idx");
        } else {
          assertThat(plan).as(plan).contains("report_reviewed_idx");
        }
      }
      // A report the checker has not reached (report_checks_due true) is pending too, merged in its place: the
      // newest here, before 50 of the 3000 checked ones.
      UUID due = UUID.randomUUID();
      st.execute("INSERT INTO report (id, author_id, unit_id, type, status, title, captured_at, received_at,"
          + " completed_at, lat, lon, accuracy_m, location_provider, location_mock, body, request, request_sha256,"
          + " response, report_checks_due) SELECT '" + due + "', author_id, unit_id, type, status, title, captured_at,"
          + " received_at + interval '1 hour', completed_at, lat, lon, accuracy_m, location_provider, location_mock,"
          + " body, request, request_sha256, response, true FROM report WHERE id = '" + seed + "'");
      List<String> page = new ArrayList<>();
      try (var rs = st.executeQuery("EXECUTE review_pending(" + args + ")")) {
        while (rs.next()) {
          page.add(rs.getString("id") + " " + rs.getString("review_decision"));
        }
      }
      assertThat(page).hasSize(51).first().isEqualTo(due + " null");
      assertThat(page).allMatch(row -> row.endsWith(" null"));
    });
  }

  /**
   * A supervisor of a district (narrower than the organisation) beneath 10000 newer pending (or accepted) reports of
   * another district: the walk of the organisation's newest reads at most BoundedWalk.ROWS, and the second statement
   * reads the district's from report_unit_review_pending_idx (report_unit_reviewed_idx) by unit, a few rows; the
   * organisation-wide statement (an organisation-wide caller's) read every one of the 10000 first (generic plans).
   */
  @Test
  void aNarrowScopesReviewPageIsReadByUnit(TestEnvironment env) throws Exception {
    UUID seed = xuReport(env);
    String path = string(env, "SELECT path FROM org_unit WHERE id = ?", HANJIANG);
    QueryPlans.rolledBack(env, st -> {
      Map<String, String> decisions = Map.of("PENDING", "NULL", "ACCEPTED", "'ACCEPTED'");
      Map<String, List<String>> own = new HashMap<>();
      for (var d : decisions.entrySet()) {
        own.put(d.getKey(), copies(st, seed, HUAISI, 3, d.getValue(), "now() + interval '1 day'"));
        copies(st, seed, TONGZHOU, 10_000, d.getValue(), "now() + interval '2 days'");
      }
      st.execute("ANALYZE report");
      st.execute("SET LOCAL enable_seqscan = off");
      String args = "'" + UUID.randomUUID() + "', true, ARRAY['" + path + "']";
      for (String state : decisions.keySet()) {
        ReportRepository.Filter f = new ReportRepository.Filter(null, null, null, null, null, null, null, null, null,
            state);
        String name = "narrow_" + state.toLowerCase();
        String walk = ReportRepository.narrowWalkSql(f, null, null, 51, params(path));
        assertThat(QueryPlans.assertReadsFewerThan(BoundedWalk.ROWS + 2, st, name + "_walk",
            "uuid, boolean, text[], int", walk, args + ", 51"))
            .contains(state.equals("PENDING") ? "report_review_pending_idx" : "report_reviewed_idx");
        String byUnit = ReportRepository.byUnitSql(f, null, null, 51, params(path));
        assertThat(QueryPlans.assertReadsFewerThan(1000, st, name, "uuid, boolean, text[]", byUnit, args))
            .contains(state.equals("PENDING") ? "report_unit_review_pending_idx" : "report_unit_reviewed_idx")
            .doesNotContain("report_received_idx");
        List<String> page = new ArrayList<>();
        try (var rs = st.executeQuery("EXECUTE " + name + "(" + args + ")")) {
          while (rs.next()) {
            page.add(rs.getString("id"));
          }
        }
        assertThat(page.subList(0, 3)).containsExactlyElementsOf(newestFirst(own.get(state)));
        String orgWide = ReportRepository.listSql(f, null, null, 51, params(path));
        assertThatThrownBy(() -> QueryPlans.assertReadsFewerThan(1000, st, name + "_org", "uuid, boolean, text[]",
            orgWide, args)).isInstanceOf(AssertionError.class);
      }
    });
  }

  private static List<Object> params(String path) {
    return new ArrayList<>(List.of(UUID.randomUUID(), true, new String[] {path}));
  }

  /**
   * Through HTTP: a district supervisor's pending reports, paged beneath 2100 newer pending reports of another city
   * (more than the walk reads, so the page is the second statement's), in order, with cursors.
   */
  @Test
  void aSupervisorPagesTheirPendingReportsBeneathManyNewerElsewhere(TestEnvironment env) throws Exception {
    UUID seed = xuReport(env);
    List<String> own = new ArrayList<>();
    try {
      env.inTransactionBesideTheService(st -> {
        // Long ago (the `to` filter below keeps every other test's reports out of the list).
        own.addAll(copies(st, seed, HUAISI, 3, "NULL", "timestamptz '2001-01-01'"));
        own.addAll(copies(st, seed, SUQIAN, BoundedWalk.ROWS + 100, "NULL", "timestamptz '2001-01-02'"));
      });
      String query = "review=PENDING&to=2001-02-01T00:00:00Z";
      assertThat(walk(env, "supervisor.hanjiang", query)).containsExactlyElementsOf(newestFirst(own.subList(0, 3)));
      assertThat(walk(env, "supervisor.hanjiang", query + "&unitId=" + HUAISI))
          .containsExactlyElementsOf(newestFirst(own.subList(0, 3)));
      assertThat(walk(env, "supervisor.hanjiang", query + "&unitId=" + TONGZHOU)).isEmpty();
    } finally {
      env.inTransactionBesideTheService(st -> st.execute("DELETE FROM report WHERE received_at < '2001-02-01'"));
    }
  }
}
