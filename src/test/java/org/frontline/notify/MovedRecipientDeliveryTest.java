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
 * A supervisor moved to other units since an alert was written: neither a retry nor an admin's re-drive pushes the
 * old unit's alert to their phone (it is no longer theirs, as in the inbox); it is dead-lettered with the reason.
 */
@FrontlineTest
class MovedRecipientDeliveryTest {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final String PASSWORD = "Moved-Supervisor-2026";

  @Test
  void aDeadLetterOfAUnitTheRecipientLeftIsNotPushedWhenReDriven(TestEnvironment env) throws Exception {
    String admin = login(env, "admin");
    HttpResponse<Buffer> created = await(env.client().post("/v1/accounts").putHeader("Authorization", "Bearer " + admin)
        .sendJsonObject(new JsonObject().put("username", "moved.supervisor").put("displayName", "Moved supervisor")
            .put("roles", new JsonArray().add("supervisor")).put("homeUnitId", HANJIANG.toString())
            .put("password", PASSWORD)));
    assertThat(created.statusCode()).as(created.bodyAsString()).isEqualTo(201);
    String account = created.bodyAsJsonObject().getString("id");
    HttpResponse<Buffer> login = await(env.client().post("/v1/auth/login").sendJsonObject(
        new JsonObject().put("username", "moved.supervisor").put("password", PASSWORD)));
    env.awaitEventsDispatched();
    HttpResponse<Buffer> device = Alerts.registerDevice(env, login.bodyAsJsonObject().getString("access_token"),
        new JsonObject().put("token", "moved-phone").put("platform", "android").put("appVersion", "1.0.0"));
    assertThat(device.statusCode()).as(device.bodyAsString()).isEqualTo(201);
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
}
