package org.frontline.notify;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.platform.push.FakeFcmServer.Outcome;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HANJIANG;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.notify.Alerts.awaitUntil;
import static org.frontline.notify.Alerts.count;
import static org.frontline.notify.Alerts.deliveryStatus;
import static org.frontline.notify.Alerts.login;
import static org.frontline.notify.Alerts.reportCompleted;
import static org.frontline.testing.TestEnvironment.await;

/**
 * A supervisor moved to other units, or no longer a supervisor, since an alert was written: neither a retry nor an
 * admin's re-drive pushes the alert to their phone (it is no longer theirs); it is dead-lettered with the reason.
 */
@FrontlineTest
class MovedRecipientDeliveryTest {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final String PASSWORD = "Moved-Supervisor-2026";

  @Test
  void aDeadLetterOfAUnitTheRecipientLeftIsNotPushedWhenReDriven(TestEnvironment env) throws Exception {
    String admin = login(env, "admin");
    String account = supervisorWithPhone(env, admin, "moved.supervisor", "moved-phone");
    env.fcm().respond("moved-phone", Outcome.invalidArgument(), Outcome.success());

    UUID report = reportCompleted(env, HUAISI);
    awaitUntil(WAIT, "dead letter", () -> "DEAD".equals(deliveryStatus(env, report, "moved-phone")));
    long delivery = count(env, "SELECT p.id FROM push_delivery p JOIN device d ON d.id = p.device_id"
        + " WHERE d.token = 'moved-phone'");

    // Moved from Hanjiang to Tongzhou; then an admin re-drives the old dead letter.
    HttpResponse<Buffer> moved = await(env.client().patch("/v1/accounts/" + account)
        .putHeader("Authorization", "Bearer " + admin)
        .sendJsonObject(new JsonObject().put("homeUnitId", TONGZHOU.toString())
            .put("coveredUnitIds", new JsonArray().add(TONGZHOU.toString()))));
    assertThat(moved.statusCode()).as(moved.bodyAsString()).isEqualTo(200);
    HttpResponse<Buffer> redriven = await(env.client().post("/v1/admin/deliveries/" + delivery + "/redrive")
        .putHeader("Authorization", "Bearer " + admin).send());
    assertThat(redriven.statusCode()).as(redriven.bodyAsString()).isEqualTo(200);

    awaitUntil(WAIT, "dead again", () -> count(env, "SELECT count(*) FROM push_delivery WHERE id = ?"
        + " AND status = 'DEAD' AND attempts = 1 AND last_error = 'recipient no longer covers the alert''s unit'",
        delivery) == 1);
    assertThat(env.fcm().requestsFor("moved-phone")).hasSize(1);
  }

  /**
   * A supervisor made an officer through the admin API (their sessions, scope and phone stay): the alert written for
   * them while they supervised, pending a retry, is not pushed when it falls due but dead-lettered with the reason,
   * never retried; a new alert of the unit is neither in their inbox nor pushed. Before, the retry reached the phone.
   */
  @Test
  void aPendingRetryForASupervisorNoLongerOneIsNotPushed(TestEnvironment env) throws Exception {
    String admin = login(env, "admin");
    String account = supervisorWithPhone(env, admin, "demoted.supervisor", "demoted-phone");
    env.fcm().respond("demoted-phone", Outcome.internal("3600"), Outcome.success());
    UUID report = reportCompleted(env, HUAISI);
    awaitUntil(WAIT, "the first attempt, to be retried in an hour", () -> count(env, "SELECT count(*)"
        + " FROM push_delivery p JOIN device d ON d.id = p.device_id WHERE d.token = 'demoted-phone'"
        + " AND p.status = 'PENDING' AND p.attempts = 1") == 1);

    HttpResponse<Buffer> demoted = await(env.client().patch("/v1/accounts/" + account)
        .putHeader("Authorization", "Bearer " + admin)
        .sendJsonObject(new JsonObject().put("roles", new JsonArray().add("officer"))));
    assertThat(demoted.statusCode()).as(demoted.bodyAsString()).isEqualTo(200);
    Alerts.update(env, "UPDATE push_delivery SET next_attempt_at = now() WHERE device_id = (SELECT id FROM device"
        + " WHERE token = 'demoted-phone')");

    awaitUntil(WAIT, "dead", () -> count(env, "SELECT count(*) FROM push_delivery p JOIN device d"
        + " ON d.id = p.device_id WHERE d.token = 'demoted-phone' AND p.status = 'DEAD' AND p.attempts = 2"
        + " AND p.last_error = 'recipient no longer holds the supervisor role'") == 1);
    assertThat(env.fcm().requestsFor("demoted-phone")).hasSize(1);
    assertThat(count(env, "SELECT count(*) FROM device WHERE token = 'demoted-phone' AND retired_at IS NULL"))
        .as("the phone itself stays registered").isEqualTo(1);

    UUID next = reportCompleted(env, HUAISI);
    env.awaitEventsDispatched();
    assertThat(count(env, "SELECT count(*) FROM notification n JOIN outbox o ON o.id = n.event_id"
        + " WHERE o.aggregate_id = ? AND n.account_id = ?::uuid", next, account)).isZero();
    assertThat(deliveryStatus(env, next, "demoted-phone")).isNull();
    assertThat(env.fcm().requestsFor("demoted-phone")).hasSize(1);
  }

  /** A new supervisor of Hanjiang (HUAISI is one of its units), logged in, with a phone; the account's id. */
  private static String supervisorWithPhone(TestEnvironment env, String admin, String username, String token)
      throws InterruptedException {
    HttpResponse<Buffer> created = await(env.client().post("/v1/accounts").putHeader("Authorization", "Bearer " + admin)
        .sendJsonObject(new JsonObject().put("username", username).put("displayName", username)
            .put("roles", new JsonArray().add("supervisor")).put("homeUnitId", HANJIANG.toString())
            .put("password", PASSWORD)));
    assertThat(created.statusCode()).as(created.bodyAsString()).isEqualTo(201);
    HttpResponse<Buffer> login = await(env.client().post("/v1/auth/login").sendJsonObject(
        new JsonObject().put("username", username).put("password", PASSWORD)));
    env.awaitEventsDispatched();
    HttpResponse<Buffer> device = Alerts.registerDevice(env, login.bodyAsJsonObject().getString("access_token"),
        new JsonObject().put("token", token).put("platform", "android").put("appVersion", "1.0.0"));
    assertThat(device.statusCode()).as(device.bodyAsString()).isEqualTo(201);
    return created.bodyAsJsonObject().getString("id");
  }
}
