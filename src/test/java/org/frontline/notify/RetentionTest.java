package org.frontline.notify;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.QueryPlans;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.notify.Alerts.awaitUntil;
import static org.frontline.notify.Alerts.count;
import static org.frontline.notify.Alerts.deliveryStatus;
import static org.frontline.notify.Alerts.device;
import static org.frontline.notify.Alerts.login;
import static org.frontline.testing.TestEnvironment.await;

/**
 * Retention of the operational tables with the service's windows (events and notifications 90 days, deliveries
 * 14): rows are aged in the database, then the service's own {@link Retention} sweeps, twice at once.
 */
@FrontlineTest
class RetentionTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

  private static long event(TestEnvironment env, UUID report) {
    return count(env, "SELECT id FROM outbox WHERE aggregate_id = ?", report);
  }

  /** Moves every row of the event (the event, its notifications and deliveries) {@code days} back. */
  private static void age(TestEnvironment env, long event, int days) throws Exception {
    for (String table : List.of("outbox", "notification", "push_delivery")) {
      Alerts.update(env, "UPDATE " + table + " SET created_at = created_at - ? * interval '1 day' WHERE "
          + (table.equals("outbox") ? "id" : "event_id") + " = ?", days, event);
    }
  }

  private static long rows(TestEnvironment env, String table, long event) {
    return count(env, "SELECT count(*) FROM " + table + " WHERE " + (table.equals("outbox") ? "id" : "event_id")
        + " = ?", event);
  }

  /**
   * With 5,000 young rows in each table and nothing past its window, each statement's generic plan reads a handful
   * of rows: it is bounded by the first id inside the window, not filtered over the whole table (no table has an
   * index on its time). Run in a transaction that is rolled back.
   */
  private static void theStatementsReadOnlyWhatTheyDelete(TestEnvironment env) throws Exception {
    UUID hanjiang = Alerts.accountId("supervisor.hanjiang");
    String device = env.string("SELECT id::text FROM device WHERE token = 'ret-hanjiang'");
    QueryPlans.rolledBack(env, st -> {
      st.execute("WITH e AS (INSERT INTO outbox (event_type, aggregate_type, aggregate_id, unit_id, payload,"
          + " dispatched_at) SELECT 'test.young', 'report', gen_random_uuid(), '" + HUAISI + "', '{}'::jsonb, now()"
          + " FROM generate_series(1, 5000) RETURNING id),"
          + " n AS (INSERT INTO notification (id, event_id, account_id, event_type, title, body, data)"
          + " SELECT gen_random_uuid(), e.id, '" + hanjiang + "', 'test.young', 't', 'b', '{}'::jsonb FROM e)"
          + " INSERT INTO push_delivery (event_id, account_id, device_id, title, body, data, status, delivered_at)"
          + " SELECT e.id, '" + hanjiang + "', '" + device + "', 't', 'b', '{}'::jsonb, 'SENT', now() FROM e");
      st.execute("ANALYZE outbox");
      st.execute("ANALYZE notification");
      st.execute("ANALYZE push_delivery");
      for (String[] statement : List.of(new String[] {"deliveries", Retention.DELIVERIES},
          new String[] {"notifications", Retention.NOTIFICATIONS}, new String[] {"events", Retention.EVENTS})) {
        QueryPlans.assertReadsOnlyAFew(st, statement[0], "bigint, int", statement[1], Duration.ofDays(14).toMillis(),
            1000);
      }
    });
  }

  @Test
  void rowsPastTheirWindowsGoAndRowsStillNeededStay(TestEnvironment env) throws Exception {
    device(env, "supervisor.hanjiang", "ret-hanjiang");
    List<UUID> reports = Alerts.reportsCompleted(env, HUAISI, 4);
    awaitUntil(WAIT, "every alert pushed", () -> reports.stream()
        .allMatch(r -> "SENT".equals(deliveryStatus(env, r, "ret-hanjiang"))));
    long old = event(env, reports.get(0));
    long stillPending = event(env, reports.get(1));
    long twentyDays = event(env, reports.get(2));
    long young = event(env, reports.get(3));
    UUID hanjiang = Alerts.accountId("supervisor.hanjiang");

    // 100 days old and read: everything of it goes.
    age(env, old, 100);
    Alerts.update(env, "UPDATE notification SET opened_at = now() WHERE event_id = ?", old);
    // 100 days old, but one of its deliveries is still pending (a retry due tomorrow): it and its event stay.
    age(env, stillPending, 100);
    Alerts.update(env, "UPDATE push_delivery SET status = 'PENDING', delivered_at = NULL,"
        + " next_attempt_at = now() + interval '1 day' WHERE event_id = ?", stillPending);
    // 20 days old, unread: its deliveries are past their window (14 days), its notifications and event are not.
    age(env, twentyDays, 20);
    // 100 days old and never dispatched (another instance holds it): it stays.
    long undispatched = count(env, "INSERT INTO outbox (event_type, aggregate_type, aggregate_id, unit_id, payload,"
        + " created_at, claimed_by, lease_until) VALUES ('report.completed', 'report', ?, ?, '{}'::jsonb,"
        + " now() - interval '100 days', 'elsewhere', now() + interval '1 hour') RETURNING id",
        UUID.randomUUID(), HUAISI);
    long oldNotifications = rows(env, "notification", old) + rows(env, "notification", stillPending);
    long oldDeliveries = rows(env, "push_delivery", old) + rows(env, "push_delivery", twentyDays);
    long youngDeliveries = rows(env, "push_delivery", young);
    long twentyDaysNotifications = rows(env, "notification", twentyDays);
    long youngNotifications = rows(env, "notification", young);

    try {
      // Two processes sweeping at once: each row is deleted once, and neither fails.
      Future<Retention.Swept> one = env.app().retention().sweep();
      Future<Retention.Swept> two = env.app().retention().sweep();
      await(Future.join(one, two));
      assertThat(one.succeeded()).as(String.valueOf(one.cause())).isTrue();
      assertThat(two.succeeded()).as(String.valueOf(two.cause())).isTrue();
      assertThat(one.result().deliveries() + two.result().deliveries()).isEqualTo(oldDeliveries);
      assertThat(one.result().notifications() + two.result().notifications()).isEqualTo(oldNotifications);
      assertThat(one.result().events() + two.result().events()).isEqualTo(1);

      assertThat(rows(env, "outbox", old)).isZero();
      assertThat(rows(env, "notification", old)).isZero();
      assertThat(rows(env, "push_delivery", old)).isZero();

      assertThat(rows(env, "outbox", stillPending)).isEqualTo(1);
      assertThat(rows(env, "notification", stillPending)).isZero();
      assertThat(count(env, "SELECT count(*) FROM push_delivery WHERE event_id = ? AND status = 'PENDING'",
          stillPending)).isPositive().isEqualTo(rows(env, "push_delivery", stillPending));

      assertThat(rows(env, "outbox", twentyDays)).isEqualTo(1);
      assertThat(rows(env, "notification", twentyDays)).isEqualTo(twentyDaysNotifications);
      assertThat(rows(env, "push_delivery", twentyDays)).isZero();

      assertThat(rows(env, "outbox", young)).isEqualTo(1);
      assertThat(rows(env, "notification", young)).isEqualTo(youngNotifications);
      assertThat(rows(env, "push_delivery", young)).isEqualTo(youngDeliveries);
      assertThat(rows(env, "outbox", undispatched)).isEqualTo(1);

      // The inbox shows the two alerts still kept, both unread.
      HttpResponse<Buffer> inbox = await(env.client().get("/v1/notifications")
          .putHeader("Authorization", "Bearer " + login(env, "supervisor.hanjiang")).send());
      assertThat(inbox.statusCode()).as(inbox.bodyAsString()).isEqualTo(200);
      JsonArray items = inbox.bodyAsJsonObject().getJsonArray("items");
      assertThat(items.stream().map(i -> ((JsonObject) i).getJsonObject("data").getString("reportId")).toList())
          .containsExactly(reports.get(3).toString(), reports.get(2).toString());
      assertThat(inbox.bodyAsJsonObject().getLong("unreadCount")).isEqualTo(2);
      // The admins' list of sent deliveries has the young one only.
      HttpResponse<Buffer> sent = await(env.client().get("/v1/admin/deliveries?state=SENT")
          .putHeader("Authorization", "Bearer " + login(env, "admin")).send());
      assertThat(sent.statusCode()).as(sent.bodyAsString()).isEqualTo(200);
      assertThat(sent.bodyAsJsonObject().getJsonArray("items").stream()
          .map(i -> ((JsonObject) i).getLong("eventId")).distinct().toList()).containsExactly(young);
      assertThat(count(env, "SELECT count(*) FROM notification WHERE account_id = ?", hanjiang)).isEqualTo(2);

      // Nothing more to do.
      // (The sweep's other tables are other tests' and their own tests'.)
      Retention.Swept again = await(env.app().retention().sweep());
      assertThat(again.deliveries() + again.notifications() + again.events()).isZero();
      theStatementsReadOnlyWhatTheyDelete(env);
    } finally {
      Alerts.update(env, "DELETE FROM outbox WHERE id = ?", undispatched);
    }
  }
}
