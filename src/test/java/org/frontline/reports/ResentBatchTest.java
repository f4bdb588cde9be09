package org.frontline.reports;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.ScopeMoves;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.reports.ReportFixtures.attachment;
import static org.frontline.reports.ReportFixtures.forgetTokens;
import static org.frontline.reports.ReportFixtures.post;
import static org.frontline.reports.ReportFixtures.site;
import static org.frontline.reports.ReportFixtures.token;
import static org.frontline.reports.ReportFixtures.withAttachments;

/**
 * The offline queue's flush under a bad network: a batch sent again (whole, or overlapping) while the first is still
 * being written, from another connection; a connection cut once the batch was sent; a single send racing a batch.
 * One report per id, progress and actions recorded once, each answer created in one and the stored 201 body in the
 * other.
 */
@FrontlineTest
class ResentBatchTest {
  @BeforeAll
  static void freshTokens() {
    forgetTokens();
  }

  /** What moveProject's first statement and a progress report's lock wait for: the milestone held by the test. */
  private static final String MILESTONE_LOCK = "%FROM milestone WHERE id = $1 FOR UPDATE%";

  /** A queue of officer.xu's: SITE reports (one with a photo), a progress report and a service report moving on. */
  private record Queue(UUID milestone, UUID[] request, List<JsonObject> items) {
    JsonObject item(int i) {
      return items.get(i);
    }

    UUID id(int i) {
      return UUID.fromString(items.get(i).getString("id"));
    }
  }

  private static Queue queue(TestEnvironment env) {
    UUID m = LinkedReportsTest.hanjiangMilestone(env, HUAISI);
    UUID[] er = LinkedReportsTest.huaisiRequest(env);
    List<JsonObject> items = new ArrayList<>();
    items.add(site(UUID.randomUUID()));
    items.add(site(UUID.randomUUID()));
    items.add(LinkedReportsTest.progress(UUID.randomUUID(), m, 3).put("unitId", HUAISI.toString()));
    items.add(withAttachments(site(UUID.randomUUID()), attachment(UUID.randomUUID(), 7)));
    items.add(LinkedReportsTest.service(UUID.randomUUID(), er[0], er[1], List.of("Met the land bureau",
        "Site survey booked"), new JsonObject().put("to", "COORDINATING").put("department",
        "Natural resources bureau")));
    items.add(site(UUID.randomUUID()));
    items.add(site(UUID.randomUUID()));
    return new Queue(m, er, items);
  }

  private static JsonObject batch(List<JsonObject> items) {
    return new JsonObject().put("reports", new JsonArray(new ArrayList<>(items)));
  }

  /**
   * The phone's flush timed out while its first batch was still being written (held here at a progress report's
   * milestone): it sends the batch again, and a batch overlapping it (its items 3 on, and new ones), from other
   * connections, and one of the items alone. Every id is created once and answered as the same report everywhere.
   */
  @Test
  void aBatchSentAgainWhileTheFirstIsWrittenStoresEachReportOnceAndAnswersItConsistently(TestEnvironment env)
      throws Exception {
    Queue q = queue(env);
    List<JsonObject> overlapping = new ArrayList<>(q.items().subList(2, q.items().size()));
    overlapping.add(site(UUID.randomUUID()));
    overlapping.add(LinkedReportsTest.progress(UUID.randomUUID(), q.milestone(), 5).put("unitId", HUAISI.toString()));
    token(env, "officer.xu");

    List<HttpResponse<Buffer>> answers = new ArrayList<>();
    try (Connection c = env.jdbc(); Statement st = c.createStatement()) {
      c.setAutoCommit(false);
      st.execute("SELECT 1 FROM milestone WHERE id = '" + q.milestone() + "' FOR UPDATE");
      CompletableFuture<HttpResponse<Buffer>> first = CompletableFuture.supplyAsync(() ->
          post(env, "officer.xu", "/v1/reports/batch", batch(q.items())));
      env.awaitLockWait(MILESTONE_LOCK, first);
      CompletableFuture<HttpResponse<Buffer>> again = CompletableFuture.supplyAsync(() ->
          post(env, "officer.xu", "/v1/reports/batch", batch(q.items())));
      CompletableFuture<HttpResponse<Buffer>> overlap = CompletableFuture.supplyAsync(() ->
          post(env, "officer.xu", "/v1/reports/batch", batch(overlapping)));
      CompletableFuture<HttpResponse<Buffer>> single = CompletableFuture.supplyAsync(() ->
          post(env, "officer.xu", "/v1/reports", q.item(2)));
      // The others wait on the progress report's uncommitted row (or are done with what came before it).
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).until(() -> env.count(
          "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO report%'")
          >= 3);
      Thread.sleep(300);
      c.commit();
      for (var f : List.of(first, again, overlap)) {
        answers.add(f.get(30, TimeUnit.SECONDS));
      }
      HttpResponse<Buffer> alone = single.get(30, TimeUnit.SECONDS);
      assertThat(alone.statusCode()).as(alone.bodyAsString()).isEqualTo(200);
    }

    Map<String, JsonObject> created = new HashMap<>();
    Map<String, List<JsonObject>> duplicates = new HashMap<>();
    for (HttpResponse<Buffer> r : answers) {
      assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
      for (Object o : r.bodyAsJsonObject().getJsonArray("results")) {
        JsonObject result = (JsonObject) o;
        String status = result.getString("status");
        assertThat(status).as(result.encode()).isIn("created", "duplicate");
        if (status.equals("created")) {
          assertThat(created.put(result.getString("id"), result.getJsonObject("report"))).as(result.encode()).isNull();
        } else {
          duplicates.computeIfAbsent(result.getString("id"), k -> new ArrayList<>()).add(result.getJsonObject("report"));
        }
      }
    }
    List<String> ids = new ArrayList<>(q.items().stream().map(i -> i.getString("id")).toList());
    ids.addAll(overlapping.subList(overlapping.size() - 2, overlapping.size()).stream()
        .map(i -> i.getString("id")).toList());
    for (String id : ids) {
      if (!id.equals(q.item(2).getString("id"))) {
        assertThat(created).as(id).containsKey(id);
      }
      for (JsonObject dup : duplicates.getOrDefault(id, List.of())) {
        assertThat(dup).as(id).isEqualTo(created.getOrDefault(id, dup));
      }
      assertThat(env.count("SELECT count(*) FROM report WHERE id = ?::uuid", id)).as(id).isEqualTo(1);
      assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'report.create' AND object_id = ?", id))
          .as(id).isEqualTo(1);
    }
    assertThat(env.count("SELECT count(*) FROM attachment WHERE report_id = ?", q.id(3))).isEqualTo(1);
    assertThat(env.string("SELECT string_agg(quantity::text || '@' || report_id, ' ' ORDER BY quantity)"
        + " FROM milestone_progress WHERE milestone_id = ?", q.milestone()))
        .isEqualTo("3.000@" + q.id(2) + " 5.000@" + ids.get(ids.size() - 1));
    assertThat(env.count("SELECT count(*) FROM service_request_action WHERE service_request_id = ?", q.request()[1]))
        .isEqualTo(2);
    assertThat(env.count("SELECT count(*) FROM service_request_step WHERE service_request_id = ?", q.request()[1]))
        .isEqualTo(1);
    assertThat(env.string("SELECT status FROM service_request WHERE id = ?", q.request()[1])).isEqualTo("COORDINATING");
  }

  /**
   * The phone sends its batch whole and drops the connection before the answer (the app killed, the network gone):
   * what is stored is whole, each report with its progress, photo declarations and actions, and the batch sent
   * again is answered item by item as duplicates with the stored bodies.
   */
  @Test
  void aBatchWhoseConnectionIsCutAfterSendingIsStoredWholeAndItsResendAnswersDuplicates(TestEnvironment env)
      throws Exception {
    Queue q = queue(env);
    byte[] body = batch(q.items()).encode().getBytes(StandardCharsets.UTF_8);
    try (Connection c = env.jdbc(); Statement st = c.createStatement()) {
      c.setAutoCommit(false);
      st.execute("SELECT 1 FROM milestone WHERE id = '" + q.milestone() + "' FOR UPDATE");
      Socket socket = new Socket("127.0.0.1", env.apiUri("/").getPort());
      OutputStream out = socket.getOutputStream();
      out.write(("POST /v1/reports/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
          + token(env, "officer.xu") + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length
          + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.write(body);
      out.flush();
      CompletableFuture<Void> never = new CompletableFuture<>();
      env.awaitLockWait(MILESTONE_LOCK, never);
      socket.close();
      Thread.sleep(200);
      c.commit();
    }
    // The batch goes on without its connection: the last item is written in the end.
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).until(() -> env.count(
        "SELECT count(*) FROM audit_log WHERE action = 'report.create' AND object_id = ?", q.id(6).toString()) == 1);

    HttpResponse<Buffer> again = post(env, "officer.xu", "/v1/reports/batch", batch(q.items()));
    assertThat(again.statusCode()).as(again.bodyAsString()).isEqualTo(200);
    JsonArray results = again.bodyAsJsonObject().getJsonArray("results");
    for (int i = 0; i < q.items().size(); i++) {
      JsonObject result = results.getJsonObject(i);
      assertThat(result.getString("status") + ":" + result.getInteger("httpStatus")).as(result.encode())
          .isEqualTo("duplicate:200");
      assertThat(result.getJsonObject("report").getString("id")).isEqualTo(q.id(i).toString());
      assertThat(env.count("SELECT count(*) FROM report WHERE id = ?", q.id(i))).isEqualTo(1);
    }
    assertThat(env.count("SELECT count(*) FROM attachment WHERE report_id = ?", q.id(3))).isEqualTo(1);
    assertThat(env.count("SELECT count(*) FROM milestone_progress WHERE report_id = ?", q.id(2))).isEqualTo(1);
    assertThat(env.count("SELECT count(*) FROM service_request_action WHERE report_id = ?", q.id(4))).isEqualTo(2);
    assertThat(env.string("SELECT status FROM service_request WHERE id = ?", q.request()[1])).isEqualTo("COORDINATING");
  }

  /**
   * The batch sent again after the officer was moved to another unit (their scope no longer covers the first):
   * what was stored answers as duplicates with the stored bodies, progress recorded once; what is new is judged by
   * today's scope (422 naming body/unitId for the old unit, created in the new one).
   */
  @Test
  void aBatchSentAgainAfterTheOfficerMovedAnswersWhatWasStoredAsRepeatsAndJudgesTheRestByTodaysScope(
      TestEnvironment env) {
    UUID oldUnit = ScopeMoves.unit(env, HUAISI);
    UUID newUnit = ScopeMoves.unit(env, HUAISI);
    ScopeMoves.ScopedCaller officer = ScopeMoves.caller(env, oldUnit, "officer");
    UUID m = LinkedReportsTest.hanjiangMilestone(env, oldUnit);
    JsonObject stored = site(UUID.randomUUID()).put("unitId", oldUnit.toString());
    JsonObject progress = LinkedReportsTest.progress(UUID.randomUUID(), m, 3).put("unitId", oldUnit.toString());
    JsonArray first = ScopeMoves.ok(ScopeMoves.call(env, officer.token(), HttpMethod.POST, "/v1/reports/batch",
        batch(List.of(stored, progress))), 200).getJsonArray("results");
    assertThat(first.stream().map(o -> ((JsonObject) o).getString("status"))).containsExactly("created", "created");

    ScopeMoves.ok(ScopeMoves.call(env, ScopeMoves.provinceAdmin(env), HttpMethod.PATCH, "/v1/accounts/"
        + officer.id(), new JsonObject().put("homeUnitId", newUnit.toString())
        .put("coveredUnitIds", new JsonArray().add(newUnit.toString()))), 200);

    JsonObject lateOld = site(UUID.randomUUID()).put("unitId", oldUnit.toString());
    JsonObject lateProgress = LinkedReportsTest.progress(UUID.randomUUID(), m, 4).put("unitId", oldUnit.toString());
    JsonObject lateNew = site(UUID.randomUUID()).put("unitId", newUnit.toString());
    JsonArray again = ScopeMoves.ok(ScopeMoves.call(env, officer.token(), HttpMethod.POST, "/v1/reports/batch",
        batch(List.of(stored, progress, lateOld, lateProgress, lateNew))), 200).getJsonArray("results");
    assertThat(again.stream().map(o -> ((JsonObject) o).getString("status") + ":" + ((JsonObject) o)
        .getInteger("httpStatus"))).containsExactly("duplicate:200", "duplicate:200", "invalid:422", "invalid:422",
        "created:201");
    assertThat(again.getJsonObject(0).getJsonObject("report")).isEqualTo(first.getJsonObject(0).getJsonObject("report"));
    assertThat(again.getJsonObject(1).getJsonObject("report")).isEqualTo(first.getJsonObject(1).getJsonObject("report"));
    assertThat(again.getJsonObject(2).getJsonObject("problem").getJsonArray("errors").getJsonObject(0)
        .getString("field")).isEqualTo("body/unitId");
    assertThat(again.getJsonObject(3).getJsonObject("problem").getJsonArray("errors").getJsonObject(0)
        .getString("field")).isEqualTo("body/unitId");
    assertThat(env.count("SELECT count(*) FROM report WHERE author_id = ?", officer.id())).isEqualTo(3);
    assertThat(env.count("SELECT count(*) FROM milestone_progress WHERE milestone_id = ?", m)).isEqualTo(1);
  }

  /**
   * A queue that holds an item twice (a flush retried inside the app): the same body again is the duplicate of the
   * first with its stored body, another body under the id the conflict naming what differs, for linked items and
   * items with photos alike; progress, actions and photo declarations recorded once.
   */
  @Test
  void theSameIdTwiceInOneBatchIsADuplicateOrAConflictOfTheFirst(TestEnvironment env) {
    Queue q = queue(env);
    JsonObject otherPhoto = withAttachments(q.item(3), attachment(UUID.randomUUID(), 8));
    JsonObject otherQuantity = q.item(2).copy().put("body", q.item(2).getJsonObject("body").copy().put("quantity", 4));
    JsonObject otherActions = q.item(4).copy().put("body", q.item(4).getJsonObject("body").copy()
        .put("actionsTaken", new JsonArray().add("Met the land bureau")));
    List<JsonObject> items = List.of(q.item(2), q.item(3), q.item(4), q.item(2), otherQuantity, q.item(3), otherPhoto,
        q.item(4), otherActions);
    HttpResponse<Buffer> r = post(env, "officer.xu", "/v1/reports/batch", batch(items));
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    JsonArray results = r.bodyAsJsonObject().getJsonArray("results");
    assertThat(results.stream().map(o -> ((JsonObject) o).getString("status") + ":" + ((JsonObject) o)
        .getInteger("httpStatus"))).containsExactly("created:201", "created:201", "created:201", "duplicate:200",
        "conflict:409", "duplicate:200", "conflict:409", "duplicate:200", "conflict:409");
    for (int[] pair : new int[][] {{0, 3}, {1, 5}, {2, 7}}) {
      assertThat(results.getJsonObject(pair[1]).getJsonObject("report"))
          .isEqualTo(results.getJsonObject(pair[0]).getJsonObject("report"));
    }
    assertThat(results.getJsonObject(4).getJsonObject("problem").getJsonArray("differences"))
        .containsExactly("/body/quantity");
    assertThat(results.getJsonObject(6).getJsonObject("problem").getJsonArray("differences")).isNotEmpty();
    assertThat(results.getJsonObject(8).getJsonObject("problem").getJsonArray("differences"))
        .containsExactly("/body/actionsTaken/1");
    assertThat(env.count("SELECT count(*) FROM milestone_progress WHERE milestone_id = ?", q.milestone())).isEqualTo(1);
    assertThat(env.count("SELECT count(*) FROM attachment WHERE report_id = ?", q.id(3))).isEqualTo(1);
    assertThat(env.count("SELECT count(*) FROM service_request_action WHERE service_request_id = ?", q.request()[1]))
        .isEqualTo(2);
    for (int i = 2; i <= 4; i++) {
      assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'report.create' AND object_id = ?",
          q.id(i).toString())).isEqualTo(1);
    }
  }
}
