package org.frontline.notify;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
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
 * Retention of retired devices (the service's window, 30 days): a device retired before it goes with the push
 * deliveries it still has; live and recently retired ones stay; its token registered again is a new device.
 */
@FrontlineTest
class DeviceRetentionTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

  private static long rows(String table, String column, String id, TestEnvironment env) {
    return count(env, "SELECT count(*) FROM " + table + " WHERE " + column + " = ?::uuid", id);
  }

  private static void remove(TestEnvironment env, String accessToken, String device) {
    HttpResponse<Buffer> r = await(env.client().delete("/v1/devices/" + device)
        .putHeader("Authorization", "Bearer " + accessToken).send());
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(204);
  }

  private static List<String> listed(TestEnvironment env, String accessToken) {
    HttpResponse<Buffer> r = await(env.client().get("/v1/devices").putHeader("Authorization", "Bearer " + accessToken)
        .send());
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    return r.bodyAsJsonObject().getJsonArray("items").stream().map(i -> ((JsonObject) i).getString("token")).toList();
  }

  /**
   * With 5,000 young retired devices and 5,000 deliveries to a live one, the statement reads a handful of rows, and
   * the deliveries of the device it deletes are found through push_delivery_device_idx, not a sequential scan of
   * push_delivery (the cascade's query does not show in the plan: counted in the transaction's statistics).
   * Rolled back.
   */
  private static void theStatementReadsOnlyWhatItDeletes(TestEnvironment env, String live) throws Exception {
    UUID hanjiang = Alerts.accountId("supervisor.hanjiang");
    try (java.sql.Connection c = env.jdbc(); var st = c.createStatement()) {
      c.setAutoCommit(false);
      try {
        st.execute("INSERT INTO device (id, account_id, token, platform, retired_at, retired_reason)"
            + " SELECT gen_random_uuid(), '" + hanjiang + "', 'dr-plan-' || g, 'android', now(), 'DELETED'"
            + " FROM generate_series(1, 5000) g");
        st.execute("INSERT INTO device (id, account_id, token, platform, retired_at, retired_reason)"
            + " VALUES (gen_random_uuid(), '" + hanjiang + "', 'dr-plan-old', 'android', now() - interval '40 days',"
            + " 'DELETED')");
        st.execute("WITH e AS (INSERT INTO outbox (event_type, aggregate_type, aggregate_id, unit_id, payload,"
            + " dispatched_at) SELECT 'test.young', 'report', gen_random_uuid(), '" + HUAISI + "', '{}'::jsonb, now()"
            + " FROM generate_series(1, 5000) RETURNING id)"
            + " INSERT INTO push_delivery (event_id, account_id, device_id, title, body, data, status, delivered_at)"
            + " SELECT e.id, '" + hanjiang + "', d.id, 't', 'b', '{}'::jsonb, 'SENT', now() FROM e, device d"
            + " WHERE d.id = '" + live + "' OR (d.token = 'dr-plan-old' AND e.id = (SELECT min(id) FROM e))");
        st.execute("ANALYZE device");
        st.execute("ANALYZE push_delivery");
        long seqScans = QueryPlans.seqScans(st, "push_delivery");
        QueryPlans.assertReadsOnlyAFew(st, "devices", "bigint, int", Retention.DEVICES,
            Duration.ofDays(30).toMillis() + ", 1000");
        assertThat(QueryPlans.seqScans(st, "push_delivery")).as("sequential scans of push_delivery").isEqualTo(seqScans);
        assertThat(counted(st, "SELECT count(*) FROM device WHERE token = 'dr-plan-old'")).isZero();
        // The live device's: its two alerts' and the 5,000.
        assertThat(counted(st, "SELECT count(*) FROM push_delivery WHERE device_id = '" + live + "'")).isEqualTo(5002);
      } finally {
        c.rollback();
      }
    }
  }

  private static long counted(java.sql.Statement st, String sql) throws Exception {
    try (var rs = st.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  @Test
  void devicesRetiredPastTheWindowGoWithTheirDeliveriesAndTheirTokenComesBackAsANewDevice(TestEnvironment env)
      throws Exception {
    String live = device(env, "supervisor.hanjiang", "dr-live");
    String old = device(env, "supervisor.hanjiang", "dr-old");
    String recent = device(env, "supervisor.hanjiang", "dr-recent");
    UUID report = Alerts.reportCompleted(env, HUAISI);
    awaitUntil(WAIT, "the alert pushed to every device", () -> List.of("dr-live", "dr-old", "dr-recent").stream()
        .allMatch(t -> "SENT".equals(deliveryStatus(env, report, t))));
    long event = count(env, "SELECT id FROM outbox WHERE aggregate_id = ?", report);

    // Removed by its owner 40 days ago, with a delivery still pending (it would go dead on its next try): both go.
    String hanjiang = login(env, "supervisor.hanjiang");
    remove(env, hanjiang, old);
    remove(env, hanjiang, recent);
    Alerts.update(env, "UPDATE device SET retired_at = retired_at - interval '40 days' WHERE id = ?::uuid", old);
    Alerts.update(env, "UPDATE push_delivery SET status = 'PENDING', delivered_at = NULL,"
        + " next_attempt_at = now() + interval '1 day' WHERE device_id = ?::uuid", old);
    // Removed 10 days ago: within the window, it and its delivery stay.
    Alerts.update(env, "UPDATE device SET retired_at = retired_at - interval '10 days' WHERE id = ?::uuid", recent);

    // Two processes sweeping at once: the old device is deleted once, neither fails.
    Future<Retention.Swept> one = env.app().retention().sweep();
    Future<Retention.Swept> two = env.app().retention().sweep();
    await(Future.join(one, two));
    assertThat(one.succeeded()).as(String.valueOf(one.cause())).isTrue();
    assertThat(two.succeeded()).as(String.valueOf(two.cause())).isTrue();
    assertThat(one.result().devices() + two.result().devices()).isEqualTo(1);

    assertThat(rows("device", "id", old, env) + rows("push_delivery", "device_id", old, env)).isZero();
    for (String kept : List.of(live, recent)) {
      assertThat(rows("device", "id", kept, env)).as(kept).isEqualTo(1);
      assertThat(rows("push_delivery", "device_id", kept, env)).as(kept).isEqualTo(1);
    }
    // The event stays (the partner feed's window), its other deliveries listed to the admins as before.
    assertThat(count(env, "SELECT count(*) FROM outbox WHERE id = ?", event)).isEqualTo(1);
    HttpResponse<Buffer> sent = await(env.client().get("/v1/admin/deliveries?state=SENT")
        .putHeader("Authorization", "Bearer " + login(env, "admin")).send());
    assertThat(sent.statusCode()).as(sent.bodyAsString()).isEqualTo(200);
    assertThat(sent.bodyAsJsonObject().getJsonArray("items").stream()
        .map(i -> ((JsonObject) i).getString("deviceId")).toList()).containsExactlyInAnyOrder(live, recent);

    // The old token registered again: a new device (201, a new id), listed, and pushed to.
    HttpResponse<Buffer> again = Alerts.registerDevice(env, hanjiang,
        new JsonObject().put("token", "dr-old").put("platform", "android"));
    assertThat(again.statusCode()).as(again.bodyAsString()).isEqualTo(201);
    assertThat(again.bodyAsJsonObject().getString("id")).isNotEqualTo(old);
    assertThat(listed(env, hanjiang)).containsExactlyInAnyOrder("dr-live", "dr-old");
    UUID next = Alerts.reportCompleted(env, HUAISI);
    awaitUntil(WAIT, "the next alert pushed to the new device", () -> "SENT".equals(deliveryStatus(env, next,
        "dr-old")));
    assertThat(deliveryStatus(env, next, "dr-recent")).isNull();

    assertThat(await(env.app().retention().sweep()).devices()).isZero();
    theStatementReadsOnlyWhatItDeletes(env, live);
  }
}
