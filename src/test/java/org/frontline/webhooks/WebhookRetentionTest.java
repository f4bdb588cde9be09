package org.frontline.webhooks;

import io.vertx.core.Future;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import org.frontline.notify.Retention;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.QueryPlans;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.testing.TestEnvironment.await;
import static org.frontline.webhooks.Webhooks.Receiver;
import static org.frontline.webhooks.Webhooks.call;
import static org.frontline.webhooks.Webhooks.count;
import static org.frontline.webhooks.Webhooks.deliveries;
import static org.frontline.webhooks.Webhooks.eventually;
import static org.frontline.webhooks.Webhooks.ok;
import static org.frontline.webhooks.Webhooks.partner;
import static org.frontline.webhooks.Webhooks.reports;
import static org.frontline.webhooks.Webhooks.subscribe;
import static org.frontline.webhooks.Webhooks.verify;

/**
 * Retention of webhook deliveries (the service's window, 30 days): delivered and failed ones created before it go
 * (no longer listed, their replay 404), pending ones, young ones and those a kept replay refers to stay. Expired
 * secrets go; subscriptions deleted before the window go with their secrets once no delivery refers to them.
 */
@FrontlineTest
class WebhookRetentionTest {
  private static void sql(TestEnvironment env, String sql, Object... params) throws Exception {
    try (Connection c = env.jdbc(); PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < params.length; i++) {
        ps.setObject(i + 1, params[i]);
      }
      ps.executeUpdate();
    }
  }

  private static void age(TestEnvironment env, long delivery, int days) throws Exception {
    sql(env, "UPDATE webhook_delivery SET created_at = created_at - ? * interval '1 day' WHERE id = ?", days, delivery);
  }

  private static long delivery(TestEnvironment env, String subscription, UUID report) {
    return count(env, "SELECT id FROM webhook_delivery WHERE subscription_id = ?::uuid AND order_key = ?"
        + " AND replay_of IS NULL", subscription, report.toString());
  }

  private static long rows(TestEnvironment env, long id) {
    return count(env, "SELECT count(*) FROM webhook_delivery WHERE id = ?", id);
  }

  private static List<String> listed(TestEnvironment env, String token, String subscription) {
    return ok(call(env, token, HttpMethod.GET, "/v1/webhooks/" + subscription + "/deliveries", null), 200)
        .getJsonArray("items").stream().map(i -> ((JsonObject) i).getString("id")).toList();
  }

  /**
   * With 5,000 young finished deliveries and nothing past the window, the statement's generic plan reads a handful
   * of rows (bounded by the first id inside the window). Rolled back.
   */
  private static void theStatementReadsOnlyWhatItDeletes(TestEnvironment env, String subscription) throws Exception {
    QueryPlans.rolledBack(env, st -> {
      st.execute("INSERT INTO webhook_delivery (subscription_id, event_id, event_type, message_id, order_key, body,"
          + " status, finished_at) SELECT '" + subscription + "', -g, 'report.completed', 'msg_' || g, g::text, '{}',"
          + " 'DELIVERED', now() FROM generate_series(1, 5000) g");
      st.execute("ANALYZE webhook_delivery");
      QueryPlans.assertReadsOnlyAFew(st, "webhooks", "bigint, int", Retention.WEBHOOK_DELIVERIES,
          Duration.ofDays(30).toMillis(), 1000);
    });
  }

  @Test
  void finishedDeliveriesPastTheWindowGoAndTheRestStays(TestEnvironment env) throws Exception {
    try (Receiver receiver = new Receiver().start(0)) {
      String token = partner(env, List.of(TONGZHOU));
      String id = subscribe(env, token, receiver.url()).getString("id");
      List<UUID> reports = reports(env, "officer.zhang", TONGZHOU, 4);
      assertThat(eventually(() -> deliveries(env, id, "status = 'DELIVERED'") == 4)).isTrue();
      long old = delivery(env, id, reports.get(0));
      long replayed = delivery(env, id, reports.get(1));
      long pending = delivery(env, id, reports.get(2));
      long young = delivery(env, id, reports.get(3));

      // 40 days old and delivered: it goes.
      age(env, old, 40);
      // 40 days old, replayed yesterday: kept while its replay is.
      JsonObject replay = ok(call(env, token, HttpMethod.POST, "/v1/webhooks/" + id + "/deliveries/" + replayed
          + "/replay", null), 202);
      long replayId = Long.parseLong(replay.getString("id"));
      assertThat(eventually(() -> deliveries(env, id, "status = 'DELIVERED'") == 5)).isTrue();
      age(env, replayed, 40);
      age(env, replayId, 1);
      // 40 days old and still pending (a retry due tomorrow): it stays.
      sql(env, "UPDATE webhook_delivery SET status = 'PENDING', finished_at = NULL,"
          + " next_attempt_at = now() + interval '1 day' WHERE id = ?", pending);
      age(env, pending, 40);

      // Two processes sweeping at once: the old one is deleted once, neither fails.
      Future<Retention.Swept> one = env.app().retention().sweep();
      Future<Retention.Swept> two = env.app().retention().sweep();
      await(Future.join(one, two));
      assertThat(one.succeeded()).as(String.valueOf(one.cause())).isTrue();
      assertThat(two.succeeded()).as(String.valueOf(two.cause())).isTrue();
      assertThat(one.result().webhookDeliveries() + two.result().webhookDeliveries()).isEqualTo(1);

      assertThat(rows(env, old)).isZero();
      assertThat(List.of(rows(env, replayed), rows(env, replayId), rows(env, pending), rows(env, young)))
          .containsOnly(1L);
      // The partner's list no longer has it, and its replay is 404 like a delivery that never was.
      assertThat(listed(env, token, id)).containsExactly(String.valueOf(replayId), String.valueOf(young),
          String.valueOf(pending), String.valueOf(replayed));
      assertProblem(call(env, token, HttpMethod.POST, "/v1/webhooks/" + id + "/deliveries/" + old + "/replay", null),
          404, "urn:frontline:problem:not-found");
      assertThat(count(env, "SELECT count(*) FROM webhook_delivery WHERE replay_of = ?", old)).isZero();

      // Once the replay is past the window too (and the young one, written before it), they go, then (the next
      // sweep) the delivery it replayed.
      age(env, replayId, 40);
      age(env, young, 40);
      assertThat(await(env.app().retention().sweep()).webhookDeliveries()).isEqualTo(2);
      assertThat(rows(env, replayId) + rows(env, young)).isZero();
      assertThat(rows(env, replayed)).isEqualTo(1);
      assertThat(await(env.app().retention().sweep()).webhookDeliveries()).isEqualTo(1);
      assertThat(rows(env, replayed)).isZero();
      assertThat(listed(env, token, id)).containsExactly(String.valueOf(pending));
      assertThat(await(env.app().retention().sweep()).webhookDeliveries()).isZero();
      theStatementReadsOnlyWhatItDeletes(env, id);
    }
  }

  private static long rows(TestEnvironment env, String table, String column, String id) {
    return count(env, "SELECT count(*) FROM " + table + " WHERE " + column + " = ?::uuid", id);
  }

  /**
   * With 5,000 live secrets and 5,000 subscriptions deleted just now (with their secrets) and nothing past its
   * window, each statement's generic plan reads a handful of rows. Rolled back.
   */
  private static void theSecretAndSubscriptionStatementsReadOnlyWhatTheyDelete(TestEnvironment env, String client)
      throws Exception {
    try (Connection c = env.jdbc(); var st = c.createStatement()) {
      c.setAutoCommit(false);
      try {
        st.execute("WITH s AS (INSERT INTO webhook_subscription (id, client_id, url, event_types, feed_cursor,"
            + " deleted_at) SELECT gen_random_uuid(), '" + client + "', 'https://example.org/hook',"
            + " ARRAY['report.completed'], 'x', CASE WHEN g % 2 = 0 THEN now() END FROM generate_series(1, 10000) g"
            + " RETURNING id) INSERT INTO webhook_secret (id, subscription_id, secret_sealed, expires_at)"
            + " SELECT gen_random_uuid(), s.id, '\\x00'::bytea, now() + interval '1 hour' FROM s");
        // The live ones with a delivery each: planned over a near-empty webhook_delivery (this class's sweeps
        // emptied it), the generic plan may probe it by a Seq Scan, as it should for so few rows.
        st.execute("INSERT INTO webhook_delivery (subscription_id, event_id, event_type, message_id, order_key, body)"
            + " SELECT id, 1, 'report.completed', 'msg_' || id, 'k', '{}' FROM webhook_subscription"
            + " WHERE client_id = '" + client + "' AND deleted_at IS NULL");
        st.execute("ANALYZE webhook_subscription");
        st.execute("ANALYZE webhook_secret");
        st.execute("ANALYZE webhook_delivery");
        QueryPlans.assertReadsOnlyAFew(st, "secrets", "bigint, int", Retention.WEBHOOK_SECRETS, "0, 1000");
        QueryPlans.assertReadsOnlyAFew(st, "subscriptions", "bigint, int", Retention.WEBHOOK_SUBSCRIPTIONS,
            Duration.ofDays(30).toMillis() + ", 1000");
      } finally {
        c.rollback();
      }
    }
  }

  @Test
  void expiredSecretsGoAndSubscriptionsDeletedBeforeTheWindowGoWithTheirs(TestEnvironment env) throws Exception {
    try (Receiver receiver = new Receiver().start(0)) {
      String token = partner(env, List.of(HUAISI));
      String kept = subscribe(env, token, receiver.url()).getString("id");
      String gone = subscribe(env, token, receiver.url()).getString("id");
      String recent = subscribe(env, token, receiver.url()).getString("id");
      String referred = subscribe(env, token, receiver.url()).getString("id");
      List<String> all = List.of(kept, gone, recent, referred);
      reports(env, "officer.xu", HUAISI, 1);
      assertThat(eventually(() -> all.stream().allMatch(s -> deliveries(env, s, "status = 'DELIVERED'") == 1)))
          .isTrue();

      // Rotated without overlap (the first secret ends now), then with an hour's (the second signs for an hour).
      ok(call(env, token, HttpMethod.POST, "/v1/webhooks/" + kept + "/secret",
          new JsonObject().put("previousExpireInSeconds", 0)), 200);
      String newest = ok(call(env, token, HttpMethod.POST, "/v1/webhooks/" + kept + "/secret",
          new JsonObject().put("previousExpireInSeconds", 3600)), 200).getString("secret");
      assertThat(rows(env, "webhook_secret", "subscription_id", kept)).isEqualTo(3);
      // The report's four deliveries are 40 days old: they go. Deleted 40 days ago: it goes, with its secret.
      // Deleted 10 days ago: it stays. Deleted 40 days ago, with a failed delivery written 20 days ago (a fan-out
      // racing the deletion): it stays while that delivery does.
      for (String deleted : List.of(gone, recent, referred)) {
        assertThat(call(env, token, HttpMethod.DELETE, "/v1/webhooks/" + deleted, null).statusCode()).isEqualTo(204);
      }
      // (Every delivery so far: ids follow creation, and a young one would bound the sweep before the old ones.)
      sql(env, "UPDATE webhook_delivery SET created_at = created_at - interval '40 days'");
      for (String deleted : List.of(gone, referred)) {
        sql(env, "UPDATE webhook_subscription SET deleted_at = deleted_at - interval '40 days' WHERE id = ?::uuid",
            deleted);
      }
      sql(env, "UPDATE webhook_subscription SET deleted_at = deleted_at - interval '10 days' WHERE id = ?::uuid",
          recent);
      sql(env, "INSERT INTO webhook_delivery (subscription_id, event_id, event_type, message_id, order_key, body,"
          + " status, finished_at, created_at) VALUES (?::uuid, -1, 'report.completed', 'msg_race', 'race', '{}',"
          + " 'FAILED', now(), now() - interval '20 days')", referred);

      // Two processes sweeping at once: each row is deleted once, neither fails.
      Future<Retention.Swept> one = env.app().retention().sweep();
      Future<Retention.Swept> two = env.app().retention().sweep();
      await(Future.join(one, two));
      assertThat(one.succeeded()).as(String.valueOf(one.cause())).isTrue();
      assertThat(two.succeeded()).as(String.valueOf(two.cause())).isTrue();
      assertThat(one.result().webhookDeliveries() + two.result().webhookDeliveries()).isEqualTo(4);
      assertThat(one.result().webhookSecrets() + two.result().webhookSecrets()).isEqualTo(1);
      assertThat(one.result().webhookSubscriptions() + two.result().webhookSubscriptions()).isEqualTo(1);

      assertThat(rows(env, "webhook_subscription", "id", gone) + rows(env, "webhook_secret", "subscription_id", gone)
          + rows(env, "webhook_delivery", "subscription_id", gone)).isZero();
      for (String stays : List.of(recent, referred)) {
        assertThat(rows(env, "webhook_subscription", "id", stays)).as(stays).isEqualTo(1);
        assertThat(rows(env, "webhook_secret", "subscription_id", stays)).as(stays).isEqualTo(1);
      }
      assertThat(rows(env, "webhook_delivery", "subscription_id", referred)).isEqualTo(1);
      // The deletion's audit entry stays; the subscription is 404 as it was since its deletion.
      assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'webhook.delete' AND object_id = ?", gone))
          .isEqualTo(1);
      assertProblem(call(env, token, HttpMethod.GET, "/v1/webhooks/" + gone, null), 404,
          "urn:frontline:problem:not-found");

      // The subscription kept: its two live secrets, listed and signing, the expired one gone.
      assertThat(rows(env, "webhook_secret", "subscription_id", kept)).isEqualTo(2);
      assertThat(ok(call(env, token, HttpMethod.GET, "/v1/webhooks/" + kept, null), 200).getJsonArray("secrets"))
          .hasSize(2);
      UUID next = reports(env, "officer.xu", HUAISI, 1).get(0);
      assertThat(eventually(() -> receiver.list().stream().anyMatch(r -> r.body().contains(next.toString()))))
          .isTrue();
      Webhooks.Received delivered = receiver.list().stream().filter(r -> r.body().contains(next.toString()))
          .findFirst().orElseThrow();
      assertThat(delivered.headers().get("webhook-signature").split(" ")).hasSize(2);
      assertThat(verify(newest, delivered)).isEqualTo(1);

      // Once the racing delivery is past the window too, it goes, then its subscription (the same sweep).
      sql(env, "UPDATE webhook_delivery SET created_at = created_at - interval '20 days'"
          + " WHERE message_id = 'msg_race'");
      Retention.Swept again = await(env.app().retention().sweep());
      assertThat(again.webhookSubscriptions()).isEqualTo(1);
      assertThat(rows(env, "webhook_subscription", "id", referred) + rows(env, "webhook_secret", "subscription_id",
          referred) + rows(env, "webhook_delivery", "subscription_id", referred)).isZero();
      assertThat(await(env.app().retention().sweep()).total()).isZero();
      // A live subscription stays with no delivery left (and leaves the class no young delivery bounding a sweep).
      sql(env, "UPDATE webhook_delivery SET created_at = created_at - interval '40 days'");
      await(env.app().retention().sweep());
      assertThat(rows(env, "webhook_delivery", "subscription_id", kept)).isZero();
      assertThat(rows(env, "webhook_subscription", "id", kept) + rows(env, "webhook_secret", "subscription_id", kept))
          .isEqualTo(3);
      theSecretAndSubscriptionStatementsReadOnlyWhatTheyDelete(env,
          env.string("SELECT client_id::text FROM webhook_subscription WHERE id = ?::uuid", kept));
    }
  }
}
