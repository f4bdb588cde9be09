package org.frontline.notify;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.platform.push.FakeFcmServer;
import org.frontline.platform.push.FakeFcmServer.Outcome;
import org.frontline.testing.Cursors;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.ScopeMoves;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HANJIANG;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.notify.Alerts.awaitUntil;
import static org.frontline.notify.Alerts.count;
import static org.frontline.notify.Alerts.device;
import static org.frontline.notify.Alerts.deliveryStatus;
import static org.frontline.notify.Alerts.login;
import static org.frontline.notify.Alerts.reportCompleted;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.testing.TestEnvironment.await;

/** Dead letters as admins see them (within their scope) and their re-drive through the dispatcher. */
@FrontlineTest
class DeliveriesAdminApiTest {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final String TONGZHOU_ADMIN = "admin.tongzhou";
  private static final String TONGZHOU_ADMIN_PASSWORD = "Tongzhou-Admin-2026";

  private static HttpResponse<Buffer> get(TestEnvironment env, String token, String path) {
    return await(env.client().get(path).putHeader("Authorization", "Bearer " + token).send());
  }

  private static HttpResponse<Buffer> post(TestEnvironment env, String token, String path) {
    return await(env.client().post(path).putHeader("Authorization", "Bearer " + token).send());
  }

  /** An admin whose scope is the Tongzhou district only, made through the admin API. */
  private static String tongzhouAdmin(TestEnvironment env) {
    if (count(env, "SELECT count(*) FROM account WHERE username = ?", TONGZHOU_ADMIN) == 0) {
      HttpResponse<Buffer> r = await(env.client().post("/v1/accounts")
          .putHeader("Authorization", "Bearer " + login(env, "admin"))
          .sendJsonObject(new JsonObject().put("username", TONGZHOU_ADMIN).put("displayName", "通州管理员")
              .put("roles", new JsonArray().add("admin")).put("homeUnitId", TONGZHOU.toString())
              .put("password", TONGZHOU_ADMIN_PASSWORD)));
      assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(201);
    }
    HttpResponse<Buffer> r = await(env.client().post("/v1/auth/login").sendJsonObject(
        new JsonObject().put("username", TONGZHOU_ADMIN).put("password", TONGZHOU_ADMIN_PASSWORD)));
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    return r.bodyAsJsonObject().getString("access_token");
  }

  private static long deliveryId(TestEnvironment env, UUID report, String token) {
    return count(env, "SELECT p.id FROM push_delivery p JOIN outbox o ON o.id = p.event_id"
        + " JOIN device d ON d.id = p.device_id WHERE o.aggregate_id = ? AND d.token = ?", report, token);
  }

  /** Every page of a list, following nextCursor; the ids in order. */
  private static List<Long> allIds(TestEnvironment env, String token, String query) {
    List<Long> ids = new ArrayList<>();
    String cursor = null;
    do {
      HttpResponse<Buffer> r = get(env, token, "/v1/admin/deliveries?limit=1" + query
          + (cursor == null ? "" : "&cursor=" + cursor));
      assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
      JsonObject page = r.bodyAsJsonObject();
      assertThat(page.getJsonArray("items").size()).isLessThanOrEqualTo(1);
      page.getJsonArray("items").forEach(o -> ids.add(((JsonObject) o).getLong("id")));
      cursor = page.getString("nextCursor");
    } while (cursor != null);
    return ids;
  }

  @Test
  void adminsSeeDeadLettersInTheirScopeAndRedriveThem(TestEnvironment env) throws Exception {
    device(env, "supervisor.hanjiang", "dead-hanjiang");
    device(env, "supervisor.tongzhou", "dead-tongzhou");
    env.fcm().respond("dead-hanjiang", Outcome.invalidArgument(), Outcome.success());
    env.fcm().respond("dead-tongzhou", Outcome.invalidArgument());
    UUID huaisiReport = reportCompleted(env, HUAISI);
    UUID tongzhouReport = reportCompleted(env, TONGZHOU);
    awaitUntil(WAIT, "both dead", () -> "DEAD".equals(deliveryStatus(env, huaisiReport, "dead-hanjiang"))
        && "DEAD".equals(deliveryStatus(env, tongzhouReport, "dead-tongzhou")));
    long hanjiangDead = deliveryId(env, huaisiReport, "dead-hanjiang");
    long tongzhouDead = deliveryId(env, tongzhouReport, "dead-tongzhou");
    String admin = login(env, "admin");
    String tongzhouAdmin = tongzhouAdmin(env);

    // The root admin sees both dead letters, newest first, page by page; the Tongzhou admin only Tongzhou's.
    assertThat(allIds(env, admin, "&state=DEAD")).containsExactly(tongzhouDead, hanjiangDead);
    assertThat(allIds(env, admin, "")).containsExactly(tongzhouDead, hanjiangDead);
    assertThat(allIds(env, tongzhouAdmin, "")).containsExactly(tongzhouDead);
    JsonObject item = get(env, admin, "/v1/admin/deliveries?limit=1").bodyAsJsonObject().getJsonArray("items")
        .getJsonObject(0);
    assertThat(item.getString("status")).isEqualTo("DEAD");
    assertThat(item.getString("username")).isEqualTo("supervisor.tongzhou");
    assertThat(item.getString("eventType")).isEqualTo("report.completed");
    assertThat(item.getString("lastError")).startsWith("INVALID_ARGUMENT");
    assertThat(item.getInteger("attempts")).isEqualTo(1);
    assertProblem(get(env, admin, "/v1/admin/deliveries?cursor=bm90LWFuLWlk"), 400,
        "urn:frontline:problem:validation-failed");
    // A cursor pages on with its own state only (the default is DEAD, so state=DEAD is the same list).
    String cursor = get(env, admin, "/v1/admin/deliveries?limit=1").bodyAsJsonObject().getString("nextCursor");
    HttpResponse<Buffer> next = get(env, admin, "/v1/admin/deliveries?state=DEAD&cursor=" + cursor);
    assertThat(next.statusCode()).as(next.bodyAsString()).isEqualTo(200);
    assertThat(next.bodyAsJsonObject().getJsonArray("items").stream().map(o -> ((JsonObject) o).getLong("id")))
        .containsExactly(hanjiangDead);
    Cursors.assertOtherFilters(get(env, admin, "/v1/admin/deliveries?state=SENT&cursor=" + cursor));
    Cursors.assertOtherFilters(get(env, admin, "/v1/admin/deliveries?state=PENDING&cursor=" + cursor));
    for (String forged : Cursors.forgeries(cursor)) {
      Cursors.assertRefused(get(env, admin, "/v1/admin/deliveries?cursor=" + forged));
    }

    // Not an admin: 403 for both; out of scope or missing: 404, and nothing changes.
    String supervisor = login(env, "supervisor.hanjiang");
    assertProblem(get(env, supervisor, "/v1/admin/deliveries"), 403, "urn:frontline:problem:forbidden");
    assertProblem(post(env, supervisor, "/v1/admin/deliveries/" + hanjiangDead + "/redrive"), 403,
        "urn:frontline:problem:forbidden");
    assertProblem(post(env, tongzhouAdmin, "/v1/admin/deliveries/" + hanjiangDead + "/redrive"), 404,
        "urn:frontline:problem:not-found");
    assertProblem(post(env, admin, "/v1/admin/deliveries/" + (tongzhouDead + 1000) + "/redrive"), 404,
        "urn:frontline:problem:not-found");
    assertThat(deliveryStatus(env, huaisiReport, "dead-hanjiang")).isEqualTo("DEAD");
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'push-delivery.redrive'")).isZero();

    // The re-drive: PENDING again with fresh attempts (and no device-rate backoff left), audited, and actually
    // pushed by the dispatcher.
    Alerts.update(env, "UPDATE push_delivery SET device_throttles = 3 WHERE id = ?", hanjiangDead);
    HttpResponse<Buffer> redriven = post(env, admin, "/v1/admin/deliveries/" + hanjiangDead + "/redrive");
    assertThat(redriven.statusCode()).as(redriven.bodyAsString()).isEqualTo(200);
    assertThat(redriven.bodyAsJsonObject().getString("status")).isEqualTo("PENDING");
    assertThat(redriven.bodyAsJsonObject().getInteger("attempts")).isZero();
    assertThat(count(env, "SELECT device_throttles FROM push_delivery WHERE id = ?", hanjiangDead)).isZero();
    assertThat(redriven.bodyAsJsonObject().getValue("lastError")).isNull();
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'push-delivery.redrive'"
        + " AND object_type = 'push-delivery' AND object_id = ? AND actor_id = ? AND unit_id = ? AND outcome = 'SUCCESS'"
        + " AND details->>'previousError' LIKE 'INVALID_ARGUMENT%'", String.valueOf(hanjiangDead),
        Alerts.accountId("admin"), HANJIANG)).isEqualTo(1);
    awaitUntil(WAIT, "re-driven delivery sent", () -> "SENT".equals(deliveryStatus(env, huaisiReport,
        "dead-hanjiang")));
    assertThat(env.fcm().requestsFor("dead-hanjiang")).extracting(FakeFcmServer.Request::status)
        .containsExactly(400, 200);
    assertThat(env.fcm().requestsFor("dead-hanjiang").get(1).data().getString("reportId"))
        .isEqualTo(huaisiReport.toString());

    // A delivery that is not dead cannot be re-driven.
    JsonObject conflict = assertProblem(post(env, admin, "/v1/admin/deliveries/" + hanjiangDead + "/redrive"),
        409, "urn:frontline:problem:conflict");
    assertThat(conflict.getString("currentStatus")).isEqualTo("SENT");
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'push-delivery.redrive'")).isEqualTo(1);

    // The Tongzhou admin re-drives its own; FCM still refuses it, so it is a dead letter again after one more push.
    HttpResponse<Buffer> own = post(env, tongzhouAdmin, "/v1/admin/deliveries/" + tongzhouDead + "/redrive");
    assertThat(own.statusCode()).as(own.bodyAsString()).isEqualTo(200);
    awaitUntil(WAIT, "pushed again", () -> env.fcm().requestsFor("dead-tongzhou").size() == 2);
    awaitUntil(WAIT, "dead again", () -> "DEAD".equals(deliveryStatus(env, tongzhouReport, "dead-tongzhou")));
    assertThat(allIds(env, admin, "&state=SENT")).contains(hanjiangDead);
    assertThat(allIds(env, admin, "&state=DEAD")).containsExactly(tongzhouDead);
  }

  @Test
  void aCursorBeyondTheLargestDeliveryIdIsRefused(TestEnvironment env) {
    // Nineteen digits, as the cursor's key may have, but beyond a bigint: 400 naming the cursor, not a 500.
    String cursor = java.util.Base64.getUrlEncoder().withoutPadding()
        .encodeToString(("9999999999999999999#" + org.frontline.identity.Page.filters("deliveries", "DEAD"))
            .getBytes(java.nio.charset.StandardCharsets.UTF_8));
    JsonObject p = assertProblem(get(env, login(env, "admin"), "/v1/admin/deliveries?cursor=" + cursor), 400,
        "urn:frontline:problem:validation-failed");
    assertThat(p.encode()).contains("query/cursor");
  }

  /**
   * A dead delivery to a supervisor at home in {@code home} (a new account with a device of its own), of a report
   * there; its id.
   */
  private static long deadDeliveryAt(TestEnvironment env, UUID home) throws Exception {
    String device = "dead-" + UUID.randomUUID();
    env.awaitEventsDispatched();
    HttpResponse<Buffer> registered = Alerts.registerDevice(env, ScopeMoves.caller(env, home, "supervisor").token(),
        new JsonObject().put("token", device).put("platform", "android").put("appVersion", "1.0.0"));
    assertThat(registered.statusCode()).as(registered.bodyAsString()).isIn(200, 201);
    env.fcm().respond(device, Outcome.invalidArgument(), Outcome.success());
    UUID report = reportCompleted(env, home);
    awaitUntil(WAIT, "dead", () -> "DEAD".equals(deliveryStatus(env, report, device)));
    return deliveryId(env, report, device);
  }

  /**
   * A re-drive by an admin whose scope is one unit, waiting for the delivery's lock (a dispatcher's claim) while the
   * recipient's home unit moves into that scope, is applied. The delivery was locked by a statement that joined its
   * recipient's home unit and checked the scope: the unit, outside the scope as that statement first saw it, kept the
   * delivery from being found (a 404 at once).
   */
  @Test
  void aRedriveWaitingWhileTheRecipientsUnitMovesIntoTheCallersScopeIsApplied(TestEnvironment env) throws Exception {
    UUID covered = ScopeMoves.unit(env, TONGZHOU);
    ScopeMoves.ScopedCaller admin = ScopeMoves.caller(env, covered, "admin");
    UUID home = ScopeMoves.unit(env, HANJIANG);
    long id = deadDeliveryAt(env, home);
    HttpResponse<Buffer> redriven = ScopeMoves.whileHeld(env, st -> {
      st.execute("SELECT 1 FROM push_delivery WHERE id = " + id + " FOR UPDATE");
      ScopeMoves.move(st, home, covered);
    }, "%FROM push_delivery%FOR UPDATE%", () -> post(env, admin.token(), "/v1/admin/deliveries/" + id + "/redrive"));
    assertThat(redriven.statusCode()).as(redriven.bodyAsString()).isEqualTo(200);
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'push-delivery.redrive' AND object_id = ?",
        String.valueOf(id))).isEqualTo(1);
  }

  /**
   * The other way: a delivery whose recipient's home unit moved out of the admin's scope while the re-drive waited is
   * 404 and stays dead. The locking statement re-checked the delivery's row against the home unit's row as it had
   * first read it, still in the scope, and re-drove a delivery the admin no longer sees.
   */
  @Test
  void aRedriveWaitingWhileTheRecipientsUnitMovesOutOfTheCallersScopeIs404(TestEnvironment env) throws Exception {
    UUID covered = ScopeMoves.unit(env, TONGZHOU);
    ScopeMoves.ScopedCaller admin = ScopeMoves.caller(env, covered, "admin");
    UUID home = ScopeMoves.unit(env, covered);
    long id = deadDeliveryAt(env, home);
    assertProblem(ScopeMoves.whileHeld(env, st -> {
      st.execute("SELECT 1 FROM push_delivery WHERE id = " + id + " FOR UPDATE");
      ScopeMoves.move(st, home, HANJIANG);
    }, "%FROM push_delivery%FOR UPDATE%", () -> post(env, admin.token(), "/v1/admin/deliveries/" + id + "/redrive")),
        404, "urn:frontline:problem:not-found");
    assertThat(count(env, "SELECT count(*) FROM push_delivery WHERE id = ? AND status = 'DEAD'", id)).isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'push-delivery.redrive' AND object_id = ?",
        String.valueOf(id))).isZero();
  }
}
