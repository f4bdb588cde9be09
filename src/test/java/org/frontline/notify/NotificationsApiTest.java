package org.frontline.notify;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.QueryPlans;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HANJIANG;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.notify.Alerts.awaitUntil;
import static org.frontline.notify.Alerts.count;
import static org.frontline.notify.Alerts.login;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.testing.TestEnvironment.await;

/** The inbox: every alert is a notification of its recipient's, whether or not it has a device. */
@FrontlineTest
class NotificationsApiTest {

  private static HttpResponse<Buffer> inbox(TestEnvironment env, String at, String query) {
    return await(env.client().get("/v1/notifications" + query).putHeader("Authorization", "Bearer " + at).send());
  }

  private static HttpResponse<Buffer> ack(TestEnvironment env, String at, String id, String state) {
    return await(env.client().post("/v1/notifications/" + id + "/ack").putHeader("Authorization", "Bearer " + at)
        .sendJsonObject(new JsonObject().put("state", state)));
  }

  @Test
  void theInboxListsUnreadFirstWithCursorAndCountAndOnlyTheRecipientMayAck(TestEnvironment env) throws Exception {
    UUID hanjiang = Alerts.accountId("supervisor.hanjiang");
    List<UUID> reports = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      reports.add(Alerts.reportCompleted(env, HUAISI));
      Thread.sleep(5);
    }
    awaitUntil(Duration.ofSeconds(20), "three notifications",
        () -> count(env, "SELECT count(*) FROM notification WHERE account_id = ?", hanjiang) == 3);
    String at = login(env, "supervisor.hanjiang");

    JsonObject all = inbox(env, at, "").bodyAsJsonObject();
    assertThat(all.getLong("unreadCount")).isEqualTo(3);
    assertThat(all.getJsonArray("items")).hasSize(3);
    assertThat(all.getValue("nextCursor")).isNull();
    JsonObject newest = all.getJsonArray("items").getJsonObject(0);
    assertThat(newest.getJsonObject("data").getString("reportId")).isEqualTo(reports.get(2).toString());
    assertThat(newest.getString("title")).isEqualTo("新的现场报告");

    // Opening the newest moves it behind the unread ones.
    String newestId = newest.getString("id");
    HttpResponse<Buffer> opened = ack(env, at, newestId, "opened");
    assertThat(opened.statusCode()).as(opened.bodyAsString()).isEqualTo(200);
    assertThat(opened.bodyAsJsonObject().getString("openedAt")).isNotNull();
    assertThat(opened.bodyAsJsonObject().getString("deliveredAt")).isNotNull();
    JsonObject first = inbox(env, at, "?limit=2").bodyAsJsonObject();
    assertThat(first.getLong("unreadCount")).isEqualTo(2);
    assertThat(first.getJsonArray("items")).hasSize(2);
    assertThat(first.getJsonArray("items").stream().map(o -> ((JsonObject) o).getString("openedAt")))
        .containsOnlyNulls();
    JsonObject second = inbox(env, at, "?limit=2&cursor=" + first.getString("nextCursor")).bodyAsJsonObject();
    assertThat(second.getJsonArray("items")).hasSize(1);
    assertThat(second.getJsonArray("items").getJsonObject(0).getString("id")).isEqualTo(newestId);
    assertThat(second.getValue("nextCursor")).isNull();

    // Delivered does not count as read; acks are idempotent.
    String oldestId = first.getJsonArray("items").getJsonObject(1).getString("id");
    assertThat(ack(env, at, oldestId, "delivered").bodyAsJsonObject().getString("openedAt")).isNull();
    assertThat(ack(env, at, newestId, "opened").bodyAsJsonObject().getString("openedAt"))
        .isEqualTo(opened.bodyAsJsonObject().getString("openedAt"));
    assertThat(inbox(env, at, "").bodyAsJsonObject().getLong("unreadCount")).isEqualTo(2);

    // Nobody else sees or acknowledges them.
    String tongzhou = login(env, "supervisor.tongzhou");
    assertThat(inbox(env, tongzhou, "").bodyAsJsonObject().getJsonArray("items")).isEmpty();
    assertProblem(ack(env, tongzhou, oldestId, "opened"), 404, "urn:frontline:problem:not-found");
    assertProblem(ack(env, login(env, "admin"), oldestId, "opened"), 404, "urn:frontline:problem:not-found");
    assertThat(count(env, "SELECT count(*) FROM notification WHERE id = ?::uuid AND opened_at IS NULL", oldestId))
        .isEqualTo(1);
  }

  /** A page that ends the inbox says so (nextCursor null), even when it is exactly full. */
  @Test
  void anExactlyFullLastPageHasNoNextCursor(TestEnvironment env) throws Exception {
    UUID account = UUID.randomUUID();
    String username = "inbox." + account.toString().substring(0, 8);
    Alerts.update(env, "INSERT INTO account (id, username, display_name, password_hash, roles, home_unit_id)"
        + " SELECT ?, ?, 'Inbox pages', password_hash, ARRAY['officer'], home_unit_id FROM account"
        + " WHERE username = 'officer.xu'", account, username);
    Alerts.update(env, "INSERT INTO account_scope (account_id, unit_id) VALUES (?, ?)", account, HUAISI);
    // Alerts an officer gets (their reports returned): one of a supervisors' kind is no longer theirs.
    Alerts.update(env, "WITH e AS (INSERT INTO outbox (event_type, aggregate_type, aggregate_id, unit_id, payload,"
        + " dispatched_at) SELECT 'report.returned', 'report', gen_random_uuid(), ?, '{}'::jsonb, now()"
        + " FROM generate_series(1, 2) RETURNING id)"
        + " INSERT INTO notification (id, event_id, account_id, event_type, title, body, data, created_at)"
        + " SELECT gen_random_uuid(), e.id, ?, 'report.returned', 't', 'b', '{}'::jsonb, now() - e.id * interval '1 ms'"
        + " FROM e", HUAISI, account);
    String at = login(env, username);

    JsonObject page = inbox(env, at, "?limit=2").bodyAsJsonObject();
    assertThat(page.getJsonArray("items")).hasSize(2);
    assertThat(page.getValue("nextCursor")).isNull();
    JsonObject first = inbox(env, at, "?limit=1").bodyAsJsonObject();
    assertThat(first.getJsonArray("items")).hasSize(1);
    JsonObject last = inbox(env, at, "?limit=1&cursor=" + first.getString("nextCursor")).bodyAsJsonObject();
    assertThat(last.getJsonArray("items")).hasSize(1);
    assertThat(last.getValue("nextCursor")).isNull();
  }

  /**
   * A supervisor moved to other units no longer reads, counts or opens the alerts of the old ones (404, as for
   * another's): their opening an urgent alert would also keep it from being escalated to those now responsible.
   */
  @Test
  void alertsOfUnitsLeftBehindAreNoLongerTheCallers(TestEnvironment env) throws Exception {
    String admin = login(env, "admin");
    String username = "moved." + UUID.randomUUID().toString().substring(0, 8);
    HttpResponse<Buffer> created = await(env.client().post("/v1/accounts").putHeader("Authorization", "Bearer " + admin)
        .sendJsonObject(new JsonObject().put("username", username).put("displayName", "Moved supervisor")
            .put("roles", new io.vertx.core.json.JsonArray().add("supervisor")).put("homeUnitId", HANJIANG.toString())
            .put("password", "Moved-Supervisor-2026")));
    assertThat(created.statusCode()).as(created.bodyAsString()).isEqualTo(201);
    UUID account = UUID.fromString(created.bodyAsJsonObject().getString("id"));
    // Two alerts as the dispatcher writes them: one of a Huaisi report (below Hanjiang), one of a Tongzhou report.
    Alerts.update(env, "WITH e AS (INSERT INTO outbox (event_type, aggregate_type, aggregate_id, unit_id, payload,"
        + " dispatched_at) VALUES ('report.completed', 'report', gen_random_uuid(), ?, '{}'::jsonb, now()),"
        + " ('report.completed', 'report', gen_random_uuid(), ?, '{}'::jsonb, now()) RETURNING id, unit_id)"
        + " INSERT INTO notification (id, event_id, account_id, event_type, title, body, data, created_at)"
        + " SELECT gen_random_uuid(), e.id, ?, 'report.completed', e.unit_id::text, 'b', '{}'::jsonb, now() FROM e",
        HUAISI, TONGZHOU, account);
    String huaisiAlert = env.string("SELECT id::text FROM notification WHERE account_id = ? AND title = ?", account,
        HUAISI.toString());
    String tongzhouAlert = env.string("SELECT id::text FROM notification WHERE account_id = ? AND title = ?", account,
        TONGZHOU.toString());
    HttpResponse<Buffer> login = await(env.client().post("/v1/auth/login").sendJsonObject(
        new JsonObject().put("username", username).put("password", "Moved-Supervisor-2026")));
    String at = login.bodyAsJsonObject().getString("access_token");

    // Moved from Hanjiang to Tongzhou.
    HttpResponse<Buffer> moved = await(env.client().patch("/v1/accounts/" + account)
        .putHeader("Authorization", "Bearer " + admin)
        .sendJsonObject(new JsonObject().put("homeUnitId", TONGZHOU.toString())
            .put("coveredUnitIds", new io.vertx.core.json.JsonArray().add(TONGZHOU.toString()))));
    assertThat(moved.statusCode()).as(moved.bodyAsString()).isEqualTo(200);

    JsonObject page = inbox(env, at, "").bodyAsJsonObject();
    assertThat(page.getJsonArray("items")).extracting(o -> ((JsonObject) o).getString("id"))
        .containsExactly(tongzhouAlert);
    assertThat(page.getLong("unreadCount")).isEqualTo(1);
    assertProblem(ack(env, at, huaisiAlert, "opened"), 404, "urn:frontline:problem:not-found");
    assertThat(count(env, "SELECT count(*) FROM notification WHERE id = ?::uuid AND opened_at IS NULL"
        + " AND delivered_at IS NULL", huaisiAlert)).isEqualTo(1);
    assertThat(ack(env, at, tongzhouAlert, "opened").statusCode()).isEqualTo(200);
  }

  /**
   * A supervisor made an officer (scope and session kept) no longer reads, counts or opens the alerts written while
   * they supervised (404, as for another's), while an alert sent to them as themselves (report.returned, to its
   * author) stays theirs; the urgent alert they can no longer open is escalated to those who supervise now, not to
   * them. Before, they listed, counted and opened it, and their opening stopped its escalation.
   */
  @Test
  void alertsSentForARoleNoLongerHeldAreNoLongerTheCallers(TestEnvironment env) throws Exception {
    String admin = login(env, "admin");
    String username = "demoted." + UUID.randomUUID().toString().substring(0, 8);
    HttpResponse<Buffer> created = await(env.client().post("/v1/accounts").putHeader("Authorization", "Bearer " + admin)
        .sendJsonObject(new JsonObject().put("username", username).put("displayName", "Demoted supervisor")
            .put("roles", new JsonArray().add("supervisor")).put("homeUnitId", HANJIANG.toString())
            .put("password", "Demoted-Supervisor-2026")));
    assertThat(created.statusCode()).as(created.bodyAsString()).isEqualTo(201);
    UUID account = UUID.fromString(created.bodyAsJsonObject().getString("id"));
    String at = await(env.client().post("/v1/auth/login").sendJsonObject(new JsonObject().put("username", username)
        .put("password", "Demoted-Supervisor-2026"))).bodyAsJsonObject().getString("access_token");
    UUID hanjiang = Alerts.accountId("supervisor.hanjiang");
    // The service does not escalate report.completed; this undeployed dispatcher's check does.
    OutboxDispatcherVerticle checker = new OutboxDispatcherVerticle(env.app().database(), env.app().push(),
        OutboxDispatcherVerticle.Settings.defaults().withEscalation(Duration.ofMinutes(30), Set.of("report.completed")));

    UUID report = Alerts.reportCompleted(env, HUAISI);
    long event = count(env, "SELECT id FROM outbox WHERE aggregate_id = ? AND event_type = 'report.completed'", report);
    awaitUntil(Duration.ofSeconds(20), "the alert of both supervisors of Hanjiang", () -> count(env, "SELECT count(*)"
        + " FROM notification WHERE event_id = ? AND account_id IN (?, ?)", event, account, hanjiang) == 2);
    String alert = env.string("SELECT id::text FROM notification WHERE event_id = ? AND account_id = ?", event,
        account);
    // And an alert to them as the author of a returned report, as the dispatcher writes it.
    Alerts.update(env, "WITH e AS (INSERT INTO outbox (event_type, aggregate_type, aggregate_id, payload,"
        + " dispatched_at) VALUES ('report.returned', 'report', gen_random_uuid(), '{}'::jsonb, now()) RETURNING id)"
        + " INSERT INTO notification (id, event_id, account_id, event_type, title, body, data, created_at)"
        + " SELECT gen_random_uuid(), e.id, ?, 'report.returned', 'returned', 'b', '{}'::jsonb, now() FROM e", account);
    String returned = env.string("SELECT id::text FROM notification WHERE account_id = ? AND title = 'returned'",
        account);
    JsonObject before = inbox(env, at, "").bodyAsJsonObject();
    assertThat(before.getJsonArray("items")).extracting(o -> ((JsonObject) o).getString("id"))
        .containsExactlyInAnyOrder(alert, returned);
    assertThat(before.getLong("unreadCount")).isEqualTo(2);

    HttpResponse<Buffer> demoted = await(env.client().patch("/v1/accounts/" + account)
        .putHeader("Authorization", "Bearer " + admin)
        .sendJsonObject(new JsonObject().put("roles", new JsonArray().add("officer"))));
    assertThat(demoted.statusCode()).as(demoted.bodyAsString()).isEqualTo(200);

    JsonObject page = inbox(env, at, "").bodyAsJsonObject();
    assertThat(page.getJsonArray("items")).extracting(o -> ((JsonObject) o).getString("id"))
        .containsExactly(returned);
    assertThat(page.getLong("unreadCount")).isEqualTo(1);
    assertProblem(ack(env, at, alert, "opened"), 404, "urn:frontline:problem:not-found");
    assertThat(count(env, "SELECT count(*) FROM notification WHERE id = ?::uuid AND opened_at IS NULL"
        + " AND delivered_at IS NULL", alert)).isEqualTo(1);
    assertThat(ack(env, at, returned, "opened").statusCode()).isEqualTo(200);

    // 31 minutes later nobody has opened it: it goes one level up, to who supervises there now.
    Alerts.update(env, "UPDATE notification SET created_at = created_at - interval '31 minutes' WHERE event_id = ?",
        event);
    await(checker.escalateDue());
    assertThat(count(env, "SELECT count(*) FROM notification WHERE event_id = ? AND escalated_at IS NOT NULL", event))
        .isEqualTo(2);
    long escalation = count(env, "SELECT id FROM outbox WHERE event_type = 'alert.escalated'"
        + " AND payload ->> 'escalatedEventId' = ? AND unit_id = ?", String.valueOf(event), HANJIANG);
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'alert.escalate' AND object_id = ?",
        String.valueOf(event))).isEqualTo(1);
    awaitUntil(Duration.ofSeconds(20), "the escalation in supervisor.hanjiang's inbox", () -> count(env,
        "SELECT count(*) FROM notification WHERE event_id = ? AND account_id = ?", escalation, hanjiang) == 1);
    env.awaitEventsDispatched();
    assertThat(count(env, "SELECT count(*) FROM notification WHERE event_id = ? AND account_id = ?", escalation,
        account)).isZero();
  }

  /**
   * The role check is a filter on the caller's rows, which the reads find by account: a page and the unread count, as
   * generic plans (the pool's prepared statements), read the caller's few alerts through an index, none of the 5,000
   * of other accounts, whether the caller holds every role or none of the supervisors' kinds is theirs any more.
   */
  @Test
  void theInboxReadsOnlyTheCallersAlertsWhateverTheirRoles(TestEnvironment env) throws Exception {
    UUID caller = UUID.randomUUID();
    String paths = "'{" + env.string("SELECT path FROM org_unit WHERE id = ?", HANJIANG) + "}'";
    QueryPlans.rolledBack(env, st -> {
      // The caller and 100 other supervisors, 40 alerts the caller's, 50 each of the others'.
      st.execute("INSERT INTO account (id, username, display_name, password_hash, roles, home_unit_id)"
          + " SELECT CASE WHEN g = 0 THEN '" + caller + "'::uuid ELSE gen_random_uuid() END, 'inbox.plans.' || g"
          + " || '." + caller + "', 'Inbox plans', password_hash, ARRAY['supervisor'], home_unit_id"
          + " FROM account, generate_series(0, 100) g WHERE username = 'officer.xu'");
      st.execute("WITH e AS (INSERT INTO outbox (event_type, aggregate_type, aggregate_id, unit_id, payload,"
          + " dispatched_at) SELECT 'report.completed', 'report', gen_random_uuid(), '" + HUAISI + "', '{}'::jsonb,"
          + " now() FROM generate_series(1, 5040) RETURNING id)"
          + " INSERT INTO notification (id, event_id, account_id, event_type, title, body, data, created_at)"
          + " SELECT gen_random_uuid(), e.id, CASE WHEN e.id % 126 < 1 THEN '" + caller + "'::uuid ELSE (SELECT id"
          + " FROM account WHERE username = 'inbox.plans.' || (e.id % 100 + 1) || '." + caller + "') END,"
          + " 'report.completed', 't', 'b', '{}'::jsonb, now() - e.id * interval '1 ms' FROM e");
      st.execute("ANALYZE notification");
      String everyRole = "'{}'";
      String notSupervisor = "'{" + String.join(",", AlertRules.kindsNotFor(List.of("officer"))) + "}'";
      int i = 0;
      for (String kinds : List.of(everyRole, notSupervisor)) {
        QueryPlans.assertReadsFewerThan(QueryPlans.FEW, st, "page" + i, "uuid, int, text[], text[]",
            NotificationsApi.PAGE + " ORDER BY (opened_at IS NOT NULL), created_at DESC, id DESC LIMIT $2",
            "'" + caller + "'", 21, paths, kinds);
        QueryPlans.assertReadsFewerThan(QueryPlans.FEW, st, "unread" + i++, "uuid, text[], text[]",
            NotificationsApi.UNREAD, "'" + caller + "'", paths, kinds);
      }
    });
  }

  @Test
  void anUnknownAckStateIsRefused(TestEnvironment env) {
    JsonObject p = assertProblem(ack(env, login(env, "officer.xu"), UUID.randomUUID().toString(), "read"), 400,
        "urn:frontline:problem:validation-failed");
    assertThat(p.encode()).contains("body/state");
  }

  @Test
  void aForgedCursorIsRefused(TestEnvironment env) {
    assertProblem(inbox(env, login(env, "officer.xu"), "?cursor=bm90LWEtY3Vyc29y"), 400,
        "urn:frontline:problem:validation-failed");
  }

  /**
   * A cursor made up with a time beyond PostgreSQL's timestamptz (year 294277) failed the page's query: a 500. Like
   * every other list's, a cursor whose time is no storable one (years 0001-9999 in UTC) is the cursor's 400.
   */
  @Test
  void aCursorWithATimeNoNotificationCanHaveIsRefused(TestEnvironment env) {
    String at = login(env, "officer.xu");
    for (String time : List.of("+294277-01-01T00:00Z", "+10000-01-01T00:00Z", "0000-12-31T00:00Z")) {
      String key = "0|" + time + "|" + UUID.randomUUID();
      JsonObject problem = assertProblem(inbox(env, at, "?cursor=" + java.util.Base64.getUrlEncoder().withoutPadding()
          .encodeToString(key.getBytes(java.nio.charset.StandardCharsets.UTF_8))), 400,
          "urn:frontline:problem:validation-failed");
      assertThat(problem.getJsonArray("errors").getJsonObject(0).getString("field")).as(key).isEqualTo("query/cursor");
    }
  }

  @Test
  void anUnknownNotificationIs404(TestEnvironment env) {
    assertProblem(ack(env, login(env, "officer.xu"), UUID.randomUUID().toString(), "opened"), 404,
        "urn:frontline:problem:not-found");
  }
}
