package org.frontline.reports;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.audit.AuditTesting;
import org.frontline.platform.db.Database;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.reports.ReportFixtures.*;
import static org.frontline.testing.TestEnvironment.await;

/**
 * Group commit (SubmissionBatcher): submissions written together in one transaction each get the answer they would
 * have got alone, nothing is stored twice, and the audit chain stays whole.
 */
@FrontlineTest
class GroupCommitTest {
  @BeforeAll
  static void freshTokens() {
    forgetTokens();
  }

  @Test
  void theItemsOfABatchAreWrittenInOneGroupEachWithItsOwnOutcome(TestEnvironment env) throws Exception {
    UUID existing = UUID.randomUUID();
    assertThat(post(env, "officer.xu", "/v1/reports", site(existing)).statusCode()).isEqualTo(201);
    List<UUID> fresh = new ArrayList<>();
    JsonArray items = new JsonArray();
    for (int i = 0; i < 30; i++) {
      UUID id = UUID.randomUUID();
      fresh.add(id);
      items.add(site(id).put("title", "Group item " + i));
    }
    UUID outOfScope = UUID.randomUUID();
    UUID twice = fresh.get(3);
    items.add(site(existing))                                        // 30: a repeat of a committed report
        .add(site(existing).put("title", "Changed"))                  // 31: a conflict with it
        .add(site(outOfScope).put("unitId", TONGZHOU.toString()))     // 32: a unit outside the author's scope
        .add(site(twice).put("title", "Group item 3"))                // 33: a repeat of item 3, in the same group
        .add(site(twice).put("title", "Something else"));             // 34: a conflict with item 3, same group
    var registry = env.app().registry();
    long groupsBefore = registry.get("frontline.report.group.size").summary().count();
    double submissionsBefore = registry.get("frontline.report.group.size").summary().totalAmount();
    long commitsBefore = registry.get("frontline.report.group").timer().count();

    HttpResponse<Buffer> r = post(env, "officer.xu", "/v1/reports/batch", new JsonObject().put("reports", items));

    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    JsonArray results = r.bodyAsJsonObject().getJsonArray("results");
    for (int i = 0; i < 30; i++) {
      assertThat(results.getJsonObject(i).getString("status")).as("item " + i).isEqualTo("created");
      assertThat(results.getJsonObject(i).getJsonObject("report").getString("title")).isEqualTo("Group item " + i);
    }
    assertThat(results.getJsonObject(30).getString("status")).isEqualTo("duplicate");
    assertThat(results.getJsonObject(31).getString("status")).isEqualTo("conflict");
    assertThat(results.getJsonObject(31).getJsonObject("problem").getJsonArray("differences")).containsExactly("/title");
    assertThat(results.getJsonObject(32).getInteger("httpStatus")).isEqualTo(422);
    assertThat(results.getJsonObject(33).getString("status")).isEqualTo("duplicate");
    assertThat(results.getJsonObject(33).getJsonObject("report"))
        .isEqualTo(results.getJsonObject(3).getJsonObject("report"));
    assertThat(results.getJsonObject(34).getString("status")).isEqualTo("conflict");

    Object[] ids = fresh.toArray();
    String in = "(" + String.join(",", java.util.Collections.nCopies(ids.length, "?")) + ")";
    assertThat(count(env, "SELECT count(*) FROM report WHERE id IN " + in, ids)).isEqualTo(30);
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?", outOfScope)).isZero();
    assertThat(count(env, "SELECT count(*) FROM outbox WHERE event_type = 'report.completed' AND aggregate_id IN "
        + in, ids)).isEqualTo(30);
    Object[] textIds = fresh.stream().map(UUID::toString).toArray();
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'report.create' AND object_id IN " + in,
        textIds)).isEqualTo(30);
    // One group: one append to the chain (one timestamp, consecutive seqs), one transaction.
    assertThat(count(env, "SELECT count(DISTINCT at) FROM audit_log WHERE action = 'report.create' AND object_id IN "
        + in, textIds)).isEqualTo(1);
    assertThat(count(env, "SELECT max(seq) - min(seq) + 1 FROM audit_log WHERE action = 'report.create'"
        + " AND object_id IN " + in, textIds)).isEqualTo(30);
    assertThat(count(env, "SELECT count(DISTINCT xmin::text) FROM report WHERE id IN " + in, ids)).isEqualTo(1);
    // Each entry says what the single path's entry says: who (by name), where (the unit's path), what (and the
    // SHA-256 of the envelope stored).
    assertThat(env.string("SELECT string_agg(DISTINCT actor_label || ' ' || unit_path"
        + " || ' ' || (details - 'requestSha256')::text"
        + " || ' ' || (details->>'requestSha256' = encode(request_sha256, 'hex'))"
        + " || ' ' || (actor_id = author_id) || ' ' || (client_address IS NOT NULL) || ' ' || (request_id IS NOT NULL),"
        + " '; ') FROM audit_log JOIN report ON report.id::text = object_id"
        + " WHERE action = 'report.create' AND object_type = 'report' AND object_id IN " + in, textIds))
        .isEqualTo("officer.xu " + env.string("SELECT path FROM org_unit WHERE id = ?", HUAISI)
            + " {\"type\": \"SITE\", \"status\": \"COMPLETE\", \"attachments\": 0} true true true true");
    // The metrics tell the same: one more group, of all 35 submissions, committed once.
    assertThat(registry.get("frontline.report.group.size").summary().count()).isEqualTo(groupsBefore + 1);
    assertThat(registry.get("frontline.report.group.size").summary().totalAmount() - submissionsBefore)
        .isEqualTo(35.0);
    assertThat(registry.get("frontline.report.group").timer().count()).isEqualTo(commitsBefore + 1);
    JsonObject verified = AuditTesting.verify(env, token(env, "admin")).bodyAsJsonObject();
    assertThat(verified.getBoolean("ok")).as(verified.encode()).isTrue();
  }

  /** The single path's answer to a report declaring another report's attachment id (ReportService.submitAlone). */
  private static final String ATTACHMENT_TAKEN =
      "An attachment id of this report is already used by another report; mint new attachment ids.";

  @Test
  void aReportReusingAnAttachmentIdIsAnsweredAloneWhileTheRestCommitInOneGroup(TestEnvironment env) throws Exception {
    UUID used = UUID.randomUUID();
    UUID holder = UUID.randomUUID();
    assertThat(post(env, "officer.xu", "/v1/reports", withAttachments(site(holder), attachment(used, 1)))
        .statusCode()).isEqualTo(201);
    List<UUID> good = new ArrayList<>();
    JsonArray items = tenReportsWithAPhotoEach(good);
    UUID thief = UUID.randomUUID();
    items.add(withAttachments(site(thief), attachment(UUID.randomUUID(), 2), attachment(used, 1)));
    var registry = env.app().registry();
    double retriedBefore = registry.get("frontline.report.group.retried").counter().count();
    long commitsBefore = registry.get("frontline.report.group").timer().count();

    HttpResponse<Buffer> r = post(env, "officer.xu", "/v1/reports/batch", new JsonObject().put("reports", items));

    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    JsonArray results = r.bodyAsJsonObject().getJsonArray("results");
    for (int i = 0; i < 10; i++) {
      assertThat(results.getJsonObject(i).getString("status")).as("item " + i).isEqualTo("created");
      assertThat(count(env, "SELECT count(*) FROM attachment WHERE report_id = ?", good.get(i))).isEqualTo(1);
    }
    JsonObject offender = results.getJsonObject(10);
    assertThat(offender.getString("status")).isEqualTo("conflict");
    assertThat(offender.getInteger("httpStatus")).isEqualTo(409);
    assertThat(offender.getJsonObject("problem").getString("type"))
        .isEqualTo(org.frontline.platform.http.ProblemType.CONFLICT.uri());
    assertThat(offender.getJsonObject("problem").getString("detail")).isEqualTo(ATTACHMENT_TAKEN);
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?", thief)).isZero();
    assertThat(count(env, "SELECT count(*) FROM attachment WHERE report_id = ?", thief)).isZero();
    assertThat(env.string("SELECT report_id::text FROM attachment WHERE id = ?", used)).isEqualTo(holder.toString());
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'report.create' AND object_id = ?",
        thief.toString())).isZero();
    // The ten went in one transaction, and the group was written once, never retried.
    Object[] ids = good.toArray();
    String in = "(" + String.join(",", java.util.Collections.nCopies(ids.length, "?")) + ")";
    assertThat(count(env, "SELECT count(DISTINCT xmin::text) FROM report WHERE id IN " + in, ids)).isEqualTo(1);
    assertThat(registry.get("frontline.report.group.retried").counter().count()).isEqualTo(retriedBefore);
    assertThat(registry.get("frontline.report.group").timer().count()).isEqualTo(commitsBefore + 1);

    // Sent alone (a group of one), it gets the same answer, also without a retried group.
    HttpResponse<Buffer> single = post(env, "officer.xu", "/v1/reports",
        withAttachments(site(thief), attachment(used, 1)));
    assertThat(single.statusCode()).as(single.bodyAsString()).isEqualTo(409);
    assertThat(single.bodyAsJsonObject().getString("detail")).isEqualTo(ATTACHMENT_TAKEN);
    assertThat(registry.get("frontline.report.group.retried").counter().count()).isEqualTo(retriedBefore);
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?", thief)).isZero();
  }

  @Test
  void whenTheGroupFailsEachItemIsWrittenAloneWithItsOwnOutcome(TestEnvironment env) throws Exception {
    // An attachment id taken by a transaction that commits while the group's statement runs (its snapshot cannot
    // see it) still fails the group: held uncommitted here, the group's insert waits for it, then fails.
    UUID holder = UUID.randomUUID();
    assertThat(post(env, "officer.xu", "/v1/reports", site(holder)).statusCode()).isEqualTo(201);
    UUID used = UUID.randomUUID();
    List<UUID> good = new ArrayList<>();
    JsonArray items = tenReportsWithAPhotoEach(good);
    UUID thief = UUID.randomUUID();
    items.add(withAttachments(site(thief), attachment(used, 1)));
    double retriedBefore = env.app().registry().get("frontline.report.group.retried").counter().count();

    HttpResponse<Buffer> r;
    try (var jdbc = env.jdbc()) {
      jdbc.setAutoCommit(false);
      try (var insert = jdbc.prepareStatement("INSERT INTO attachment (id, report_id, ordinal, declared_sha256,"
          + " declared_size, declared_content_type) VALUES (?, ?, 0, decode(repeat('ab', 32), 'hex'), 1, 'image/jpeg')")) {
        insert.setObject(1, used);
        insert.setObject(2, holder);
        insert.executeUpdate();
      }
      Future<HttpResponse<Buffer>> sent = env.client().post("/v1/reports/batch")
          .putHeader("Authorization", "Bearer " + token(env, "officer.xu"))
          .sendJsonObject(new JsonObject().put("reports", items));
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (count(env, "SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'") == 0) {
        assertThat(System.nanoTime()).as("the group waits for the uncommitted attachment").isLessThan(deadline);
        Thread.sleep(20);
      }
      jdbc.commit();
      r = await(sent);
    }
    assertThat(env.app().registry().get("frontline.report.group.retried").counter().count())
        .isEqualTo(retriedBefore + 1);

    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    JsonArray results = r.bodyAsJsonObject().getJsonArray("results");
    for (int i = 0; i < 10; i++) {
      assertThat(results.getJsonObject(i).getString("status")).as("item " + i).isEqualTo("created");
      assertThat(count(env, "SELECT count(*) FROM attachment WHERE report_id = ?", good.get(i))).isEqualTo(1);
    }
    assertThat(results.getJsonObject(10).getString("status")).isEqualTo("conflict");
    assertThat(results.getJsonObject(10).getJsonObject("problem").getString("detail")).isEqualTo(ATTACHMENT_TAKEN);
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?", thief)).isZero();
    assertThat(env.string("SELECT report_id::text FROM attachment WHERE id = ?", used)).isEqualTo(holder.toString());
  }

  @Test
  void aSecondReportOfTheGroupDeclaringTheSameAttachmentIdIsWrittenAloneAfterIt(TestEnvironment env) throws Exception {
    double retriedBefore = env.app().registry().get("frontline.report.group.retried").counter().count();
    for (int round = 0; round < 5; round++) {
      UUID first = UUID.randomUUID();
      UUID second = UUID.randomUUID();
      UUID shared = UUID.randomUUID();
      JsonObject original = withAttachments(site(first), attachment(shared, 1));
      JsonArray items = new JsonArray()
          .add(original)                                                   // created
          .add(original.copy().put("title", "Other"))                      // a conflict with item 0: /title
          .add(withAttachments(site(second), attachment(shared, 1)));      // item 0's attachment id: a conflict

      HttpResponse<Buffer> r = post(env, "officer.xu", "/v1/reports/batch", new JsonObject().put("reports", items));

      assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
      JsonArray results = r.bodyAsJsonObject().getJsonArray("results");
      assertThat(results.getJsonObject(0).getString("status")).as("round " + round).isEqualTo("created");
      assertThat(results.getJsonObject(1).getString("status")).isEqualTo("conflict");
      assertThat(results.getJsonObject(1).getJsonObject("problem").getJsonArray("differences"))
          .containsExactly("/title");
      assertThat(results.getJsonObject(2).getString("status")).isEqualTo("conflict");
      assertThat(results.getJsonObject(2).getJsonObject("problem").getString("detail")).isEqualTo(ATTACHMENT_TAKEN);
      assertThat(env.string("SELECT title FROM report WHERE id = ?", first)).isEqualTo("Bridge repair at Huaisi");
      assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?", second)).isZero();
      assertThat(env.string("SELECT report_id::text FROM attachment WHERE id = ?", shared)).isEqualTo(first.toString());
    }
    assertThat(env.app().registry().get("frontline.report.group.retried").counter().count()).isEqualTo(retriedBefore);
  }

  @Test
  void manyConcurrentAuthorsAndRepeatsAreEachAnsweredOnceAndStoredOnce(TestEnvironment env) throws Exception {
    String xu = token(env, "officer.xu");
    String zhang = token(env, "officer.zhang");
    UUID repeated = UUID.randomUUID();
    Map<Future<HttpResponse<Buffer>>, String> expected = new HashMap<>();
    List<UUID> created = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      UUID id = UUID.randomUUID();
      created.add(id);
      boolean fromXu = i % 2 == 0;
      JsonObject envelope = fromXu ? site(id) : site(id).put("unitId", TONGZHOU.toString());
      expected.put(send(env, fromXu ? xu : zhang, envelope), "201");
    }
    for (int i = 0; i < 10; i++) {
      expected.put(send(env, xu, site(repeated)), "201|200");
      expected.put(send(env, zhang, site(UUID.randomUUID())), "422"); // Huaisi is outside Tongzhou
    }
    await(Future.join(new ArrayList<>(expected.keySet())));

    int repeatedCreated = 0;
    for (var e : expected.entrySet()) {
      int status = e.getKey().result().statusCode();
      assertThat(e.getValue().split("\\|")).as(e.getKey().result().bodyAsString()).contains(String.valueOf(status));
      if (e.getValue().equals("201|200") && status == 201) {
        repeatedCreated++;
      }
    }
    assertThat(repeatedCreated).isEqualTo(1);
    Object[] ids = created.toArray();
    String in = "(" + String.join(",", java.util.Collections.nCopies(ids.length, "?")) + ")";
    assertThat(count(env, "SELECT count(*) FROM report WHERE id IN " + in, ids)).isEqualTo(60);
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?", repeated)).isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'report.create' AND object_id = ?",
        repeated.toString())).isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM outbox WHERE aggregate_id = ?", repeated)).isEqualTo(1);
    JsonObject verified = AuditTesting.verify(env, token(env, "admin")).bodyAsJsonObject();
    assertThat(verified.getBoolean("ok")).as(verified.encode()).isTrue();
  }

  /**
   * The items of a batch are written in one group even when submissions already queued fill most of one: a group
   * took up to MAX_GROUP submissions off the queue, so a batch queued behind 100 others was split over two groups,
   * written side by side, and of two items of one id the later one could be stored first: the phone's first item
   * was answered 409 and its later, different one stored. Here the two groups in flight are held by reports whose
   * rows the test holds, two batches of 50 queue behind them, then the batch with the id twice; the group of the
   * first copy (behind them) is held again while the other commits.
   */
  @Test
  void aBatchQueuedBehindOthersIsWrittenInOneGroupSoTheFirstOfAnIdWins(TestEnvironment env) throws Exception {
    String token = token(env, "officer.xu");
    UUID seed = UUID.randomUUID();
    assertThat(post(env, "officer.xu", "/v1/reports", site(seed)).statusCode()).isEqualTo(201);
    // Written first in their groups (reports go in id order, as UUID compares: the smallest most significant bits).
    UUID held = new UUID(Long.MIN_VALUE, new java.util.Random().nextLong());
    UUID twice = new UUID(Long.MIN_VALUE + 1, new java.util.Random().nextLong());
    List<JsonArray> before = new ArrayList<>();
    List<UUID> holding = new ArrayList<>();
    for (int b = 0; b < 4; b++) {
      JsonArray items = new JsonArray();
      UUID first = b < 2 ? UUID.randomUUID() : held;
      if (b < 2) {
        holding.add(first);
      }
      if (b != 3) {
        items.add(site(first));
      }
      while (items.size() < 50) {
        items.add(site(UUID.randomUUID()));
      }
      before.add(items);
    }
    JsonArray target = new JsonArray();
    for (int i = 0; i < 50; i++) {
      target.add(i == 5 ? site(twice).put("title", "First") : i == 45 ? site(twice).put("title", "Second")
          : site(UUID.randomUUID()));
    }
    List<Future<HttpResponse<Buffer>>> calls = new ArrayList<>();
    try (java.sql.Connection groups = env.jdbc(); java.sql.Statement g = groups.createStatement();
         java.sql.Connection third = env.jdbc(); java.sql.Statement t = third.createStatement()) {
      groups.setAutoCommit(false);
      third.setAutoCommit(false);
      for (UUID id : holding) {
        insertCopy(g, seed, id);
      }
      insertCopy(t, seed, held);
      // Each of the two groups in flight waits for a row the test holds; the next batches queue behind them.
      for (int b = 0; b < 2; b++) {
        calls.add(batch(env, token, before.get(b)));
        int groupsWaiting = b + 1;
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).until(() -> env.count(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%$19::bool[]%'")
            == groupsWaiting);
      }
      for (int b = 2; b < 4; b++) {
        calls.add(batch(env, token, before.get(b)));
        Thread.sleep(1000);
      }
      Future<HttpResponse<Buffer>> flush = batch(env, token, target);
      Thread.sleep(1000);
      groups.rollback();
      // The group holding the first two queued batches waits for the held row; the other goes on (its copy of the
      // id stored). Not waited for beyond 10 s: should the batch have queued otherwise, it is behind the held row.
      long until = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
      while (env.count("SELECT count(*) FROM report WHERE id = ?", twice) == 0 && System.nanoTime() < until) {
        Thread.sleep(50);
      }
      Thread.sleep(300);
      third.rollback();
      JsonArray results = await(flush).bodyAsJsonObject().getJsonArray("results");
      assertThat(results.getJsonObject(5).getString("status")).as(results.getJsonObject(5).encode())
          .isEqualTo("created");
      assertThat(results.getJsonObject(45).getString("status")).as(results.getJsonObject(45).encode())
          .isEqualTo("conflict");
      assertThat(results.getJsonObject(45).getJsonObject("problem").getJsonArray("differences"))
          .containsExactly("/title");
      assertThat(env.string("SELECT title FROM report WHERE id = ?", twice)).isEqualTo("First");
      for (Future<HttpResponse<Buffer>> call : calls) {
        assertThat(await(call).statusCode()).isEqualTo(200);
      }
    }
  }

  private static Future<HttpResponse<Buffer>> batch(TestEnvironment env, String token, JsonArray items) {
    return env.client().post("/v1/reports/batch").putHeader("Authorization", "Bearer " + token)
        .sendJsonObject(new JsonObject().put("reports", items));
  }

  /** A copy of report {@code seed} under {@code id}, in the transaction of {@code st}. */
  private static void insertCopy(java.sql.Statement st, UUID seed, UUID id) throws java.sql.SQLException {
    assertThat(st.executeUpdate("INSERT INTO report (id, author_id, unit_id, type, status, title, captured_at,"
        + " received_at, completed_at, lat, lon, accuracy_m, location_provider, location_mock, body, request,"
        + " request_sha256, response) SELECT '" + id + "', author_id, unit_id, type, status, title, captured_at,"
        + " received_at, completed_at, lat, lon, accuracy_m, location_provider, location_mock, body, request,"
        + " request_sha256, response FROM report WHERE id = '" + seed + "'")).isEqualTo(1);
  }

  /** Longer, it would be parsed and planned again on every execution (Vert.x keeps shorter statements prepared). */
  @Test
  void theGroupStatementStaysPrepared() {
    assertThat(ReportRepository.SUBMIT_GROUP.length()).isLessThan(Database.PREPARED_STATEMENT_SQL_LIMIT);
    assertThat(org.frontline.audit.AuditLog.APPEND.length()).isLessThan(Database.PREPARED_STATEMENT_SQL_LIMIT);
  }

  private static Future<HttpResponse<Buffer>> send(TestEnvironment env, String token, JsonObject envelope) {
    return env.client().post("/v1/reports").putHeader("Authorization", "Bearer " + token).sendJsonObject(envelope);
  }

  /** Ten SITE reports of one photo each (new ids throughout), their ids added to {@code ids}. */
  private static JsonArray tenReportsWithAPhotoEach(List<UUID> ids) {
    JsonArray items = new JsonArray();
    for (int i = 0; i < 10; i++) {
      UUID id = UUID.randomUUID();
      ids.add(id);
      items.add(withAttachments(site(id), attachment(UUID.randomUUID(), i)));
    }
    return items;
  }
}
