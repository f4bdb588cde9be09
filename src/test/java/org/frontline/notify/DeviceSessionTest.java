package org.frontline.notify;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.dev.DemoOrganisation;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.frontline.testing.TokenRefusals;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.notify.Alerts.awaitUntil;
import static org.frontline.notify.Alerts.count;
import static org.frontline.notify.Alerts.deliveryStatus;
import static org.frontline.notify.Alerts.registerDevice;
import static org.frontline.notify.Alerts.reportCompleted;
import static org.frontline.testing.TestEnvironment.await;

/**
 * A device belongs to the session that registered it: once that session ends (here a logout), the phone no longer
 * gets the account's alerts (a phone handed over or shared showed them on its lock screen until someone else
 * registered it); the account's other phone, registered in another session, still does, and logging in again on
 * the first brings it back.
 */
@FrontlineTest
class DeviceSessionTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

  @Test
  void aLogoutStopsThePushesToThePhonesItsSessionRegisteredOnly(TestEnvironment env) throws Exception {
    env.awaitEventsDispatched();
    JsonObject handedOver = login(env);
    JsonObject own = login(env);
    String handedOverId = register(env, handedOver, "session-handed-over-phone", 201);
    register(env, own, "session-own-phone", 201);

    HttpResponse<Buffer> logout = await(env.client().post("/v1/auth/logout")
        .putHeader("Authorization", "Bearer " + handedOver.getString("access_token"))
        .sendJsonObject(new JsonObject().put("refresh_token", handedOver.getString("refresh_token"))));
    assertThat(logout.statusCode()).as(logout.bodyAsString()).isEqualTo(204);
    assertThat(count(env, "SELECT count(*) FROM device WHERE id = ?::uuid AND retired_reason = 'SIGNED_OUT'",
        handedOverId)).isEqualTo(1);

    UUID report = reportCompleted(env, HUAISI);
    awaitUntil(WAIT, "the own phone's push", () -> "SENT".equals(deliveryStatus(env, report, "session-own-phone")));
    env.awaitEventsDispatched();
    assertThat(deliveryStatus(env, report, "session-handed-over-phone")).isNull();
    assertThat(env.fcm().requestsFor("session-handed-over-phone")).isEmpty();
    assertThat(count(env, "SELECT count(*) FROM notification n JOIN outbox o ON o.id = n.event_id"
        + " WHERE o.aggregate_id = ? AND n.account_id = ?", report, Alerts.accountId("supervisor.hanjiang")))
        .isEqualTo(1);

    // Logged in again on that phone: the same device, pushed again.
    assertThat(register(env, login(env), "session-handed-over-phone", 200)).isEqualTo(handedOverId);
    UUID next = reportCompleted(env, HUAISI);
    awaitUntil(WAIT, "the phone's push after a new login",
        () -> "SENT".equals(deliveryStatus(env, next, "session-handed-over-phone")));
    assertThat(env.fcm().requestsFor("session-handed-over-phone")).hasSize(1);
  }

  /**
   * A registration authenticated just before its session's logout commits, and written just after (the logout's
   * revocation held open on a connection of the test's): it waits for the revocation, is refused as an ended
   * session's token is (the 401, and its auth.token.rejected entry), and stores nothing; the account's next alert
   * reaches no such phone. Before, it was written live after the revocation had retired the session's devices, and
   * the phone kept getting the pushes; then it was refused but not on record.
   */
  @Test
  void aRegistrationRacingItsSessionsEndIsRefusedAndThePhoneGetsNothing(TestEnvironment env) throws Exception {
    env.awaitEventsDispatched();
    JsonObject session = login(env);
    CompletableFuture<HttpResponse<Buffer>> registration;
    try (Connection c = env.jdbc(); PreparedStatement revoke = c.prepareStatement("UPDATE refresh_token"
        + " SET revoked_at = now() WHERE revoked_at IS NULL AND family_id = (SELECT family_id FROM refresh_token"
        + " WHERE token_hash = sha256(convert_to(?, 'UTF8')))")) {
      c.setAutoCommit(false);
      revoke.setString(1, session.getString("refresh_token"));
      assertThat(revoke.executeUpdate()).isEqualTo(1);
      registration = CompletableFuture.supplyAsync(() -> registerDevice(env, session.getString("access_token"),
          new JsonObject().put("token", "session-raced-phone").put("platform", "android")));
      awaitUntil(WAIT, "the registration waiting for the session's lock (or answered)", () -> registration.isDone()
          || env.count("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
              + " AND query LIKE '%FROM refresh_token%FOR SHARE%'") == 1);
      c.commit();
    }
    HttpResponse<Buffer> refused = registration.get(20, TimeUnit.SECONDS);
    UUID supervisor = Alerts.accountId("supervisor.hanjiang");
    TokenRefusals.assertRefused(env, refused, "session ended");
    // On record as authentication's own refusals are (BearerAuthHandler): who, from where, on what, denied.
    assertThat(env.string("SELECT concat_ws(' ', actor_id, actor_label, object_type, object_id, client_address,"
        + " outcome, details ->> 'operation', details ->> 'refusals') FROM audit_log"
        + " WHERE action = 'auth.token.rejected' AND request_id = ?", refused.getHeader("X-Request-Id")))
        .isEqualTo(supervisor + " " + supervisor + " 127.0.0.1 DENIED POST /v1/devices 1");
    assertThat(count(env, "SELECT count(*) FROM device WHERE token = 'session-raced-phone'")).isZero();

    UUID report = reportCompleted(env, HUAISI);
    env.awaitEventsDispatched();
    assertThat(deliveryStatus(env, report, "session-raced-phone")).isNull();
    assertThat(env.fcm().requestsFor("session-raced-phone")).isEmpty();
  }

  private static JsonObject login(TestEnvironment env) {
    HttpResponse<Buffer> r = await(env.client().post("/v1/auth/login").sendJsonObject(new JsonObject()
        .put("username", "supervisor.hanjiang").put("password", DemoOrganisation.PASSWORD)));
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    return r.bodyAsJsonObject();
  }

  private static String register(TestEnvironment env, JsonObject session, String token, int status) {
    HttpResponse<Buffer> r = registerDevice(env, session.getString("access_token"),
        new JsonObject().put("token", token).put("platform", "android").put("appVersion", "1.0.0"));
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(status);
    return r.bodyAsJsonObject().getString("id");
  }
}
