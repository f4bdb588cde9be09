package org.frontline.notify;

import io.vertx.core.json.JsonObject;
import org.frontline.platform.push.FakeFcmServer;
import org.frontline.platform.push.FakeFcmServer.Outcome;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.notify.Alerts.awaitUntil;
import static org.frontline.notify.Alerts.count;
import static org.frontline.notify.Alerts.deliveryStatus;
import static org.frontline.notify.Alerts.device;
import static org.frontline.notify.Alerts.reportCompleted;
import static org.frontline.testing.TestEnvironment.await;

/**
 * From outbox event to the (fake) FCM endpoint through the real firebase-admin SDK: who is told, what they are
 * told, and what each FCM answer does to the delivery and the device.
 */
@FrontlineTest
class AlertDispatchTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

  private static void awaitStatus(TestEnvironment env, UUID report, String token, String status)
      throws InterruptedException {
    awaitUntil(WAIT, token + " " + status, () -> status.equals(deliveryStatus(env, report, token)));
  }

  @Test
  void aHuaisiReportAlertsTheHanjiangSupervisorOnly(TestEnvironment env) throws Exception {
    device(env, "supervisor.hanjiang", "scope-hanjiang");
    device(env, "supervisor.tongzhou", "scope-tongzhou");
    device(env, "admin", "scope-admin");
    device(env, "officer.xu", "scope-xu");
    UUID report = reportCompleted(env, HUAISI);
    awaitStatus(env, report, "scope-hanjiang", "SENT");
    Thread.sleep(1500); // another dispatch round or two: nothing more goes out
    assertThat(env.fcm().requestsFor("scope-tongzhou")).isEmpty();
    assertThat(env.fcm().requestsFor("scope-admin")).isEmpty();
    assertThat(env.fcm().requestsFor("scope-xu")).isEmpty();
    FakeFcmServer.Request push = env.fcm().onlyRequestFor("scope-hanjiang");
    assertThat(push.notification().getString("title")).isEqualTo("新的现场报告");
    assertThat(push.notification().getString("body")).contains("槐泗镇");
    assertThat(push.data().getMap()).containsEntry("eventType", "report.completed")
        .containsEntry("reportId", report.toString()).containsEntry("unitId", HUAISI.toString());
    assertThat(push.android().getString("collapse_key")).isEqualTo(report.toString());
    assertThat(push.apnsHeaders().getString("apns-collapse-id")).isEqualTo(report.toString());
    assertThat(count(env, "SELECT count(*) FROM notification n JOIN outbox o ON o.id = n.event_id"
        + " WHERE o.aggregate_id = ?", report)).isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM notification n JOIN outbox o ON o.id = n.event_id"
        + " WHERE o.aggregate_id = ? AND n.account_id = ?", report, Alerts.accountId("supervisor.hanjiang")))
        .isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM outbox WHERE aggregate_id = ? AND dispatched_at IS NOT NULL",
        report)).isEqualTo(1);

    // The other way round: a Tongzhou report reaches the Tongzhou supervisor, in English (the account's locale).
    UUID tongzhouReport = reportCompleted(env, TONGZHOU);
    awaitStatus(env, tongzhouReport, "scope-tongzhou", "SENT");
    assertThat(env.fcm().onlyRequestFor("scope-tongzhou").notification().getString("title"))
        .isEqualTo("New field report");
    assertThat(env.fcm().requestsFor("scope-hanjiang")).hasSize(1);
  }

  @Test
  void unavailableWithRetryAfterThenSuccessIsDeliveredOnceAfterWaiting(TestEnvironment env) throws Exception {
    device(env, "supervisor.hanjiang", "retry-503");
    env.fcm().respond("retry-503", Outcome.unavailable("1"), Outcome.success());
    UUID report = reportCompleted(env, HUAISI);
    awaitStatus(env, report, "retry-503", "SENT");
    assertThat(env.fcm().requestsFor("retry-503")).extracting(FakeFcmServer.Request::status).containsExactly(503, 200);
    // The retry (the SDK's own, honouring Retry-After) came no sooner than 1 s after the first attempt.
    assertThat(count(env, "SELECT extract(epoch FROM p.delivered_at - o.created_at) * 1000 FROM push_delivery p"
        + " JOIN outbox o ON o.id = p.event_id JOIN device d ON d.id = p.device_id"
        + " WHERE o.aggregate_id = ? AND d.token = 'retry-503'", report)).isGreaterThanOrEqualTo(1000);
    Thread.sleep(1200);
    assertThat(env.fcm().requestsFor("retry-503")).hasSize(2);
  }

  @Test
  void quotaExceededIsRetriedByUsNoSoonerThanRetryAfter(TestEnvironment env) throws Exception {
    device(env, "supervisor.hanjiang", "retry-429");
    env.fcm().respond("retry-429", Outcome.quotaExceeded("2"), Outcome.success());
    UUID report = reportCompleted(env, HUAISI);
    awaitStatus(env, report, "retry-429", "SENT");
    assertThat(env.fcm().requestsFor("retry-429")).extracting(FakeFcmServer.Request::status).containsExactly(429, 200);
    // The supervisor's other devices (other tests of this class) have deliveries of the same event: this phone's.
    // The quota's refusal spends no attempt (it says nothing against the message): only the send counts.
    assertThat(count(env, "SELECT attempts FROM push_delivery p JOIN outbox o ON o.id = p.event_id"
        + " JOIN device d ON d.id = p.device_id WHERE o.aggregate_id = ? AND d.token = 'retry-429'", report))
        .isEqualTo(1);
    assertThat(count(env, "SELECT extract(epoch FROM p.delivered_at - o.created_at) * 1000 FROM push_delivery p"
        + " JOIN outbox o ON o.id = p.event_id JOIN device d ON d.id = p.device_id"
        + " WHERE o.aggregate_id = ? AND d.token = 'retry-429'", report)).isGreaterThanOrEqualTo(2000);
  }

  /**
   * A Retry-After too far ahead for a timestamp (here 10^14 s, past year 294276) made recording the batch's outcomes
   * fail (timestamp out of range; beyond Long.MAX_VALUE ms, an ArithmeticException before it): the batch stayed
   * claimed, and after each lease every message of it was pushed again, for good. A Retry-After counts up to the
   * backoff cap (1 h).
   */
  @Test
  void aRetryAfterFarBeyondTheBackoffCapIsCappedAndRecorded(TestEnvironment env) throws Exception {
    device(env, "supervisor.hanjiang", "far-retry");
    env.fcm().respond("far-retry", Outcome.internal("100000000000000"));
    UUID report = reportCompleted(env, HUAISI);
    awaitUntil(WAIT, "the failed attempt recorded", () -> count(env, "SELECT count(*) FROM push_delivery p"
        + " JOIN device d ON d.id = p.device_id WHERE d.token = 'far-retry' AND p.attempts = 1"
        + " AND p.last_error LIKE 'INTERNAL%' AND p.claimed_by IS NULL") == 1);
    assertThat(deliveryStatus(env, report, "far-retry")).isEqualTo("PENDING");
    assertThat(count(env, "SELECT count(*) FROM push_delivery p JOIN device d ON d.id = p.device_id"
        + " WHERE d.token = 'far-retry' AND p.next_attempt_at BETWEEN now() + interval '50 minutes'"
        + " AND now() + interval '1 hour'")).isEqualTo(1);
    assertThat(env.fcm().requestsFor("far-retry")).hasSize(1);
  }

  @Test
  void unregisteredRetiresTheDeviceWithoutRetry(TestEnvironment env) throws Exception {
    device(env, "supervisor.hanjiang", "gone-phone");
    env.fcm().respond("gone-phone", Outcome.unregistered());
    UUID report = reportCompleted(env, HUAISI);
    awaitStatus(env, report, "gone-phone", "DEAD");
    assertThat(count(env, "SELECT count(*) FROM device WHERE token = 'gone-phone' AND retired_reason = 'UNREGISTERED'"))
        .isEqualTo(1);
    UUID later = reportCompleted(env, HUAISI);
    awaitUntil(WAIT, "second event dispatched", () -> count(env,
        "SELECT count(*) FROM outbox WHERE aggregate_id = ? AND dispatched_at IS NOT NULL", later) == 1);
    Thread.sleep(1200);
    assertThat(env.fcm().requestsFor("gone-phone")).hasSize(1);
    assertThat(deliveryStatus(env, later, "gone-phone")).isNull();
  }

  /**
   * A token FCM says is not a registration token (registered malformed or truncated: the contract takes any string)
   * is retired like an unregistered one; before, every later alert was sent to it and dead-lettered again.
   */
  @Test
  void anInvalidRegistrationTokenRetiresTheDevice(TestEnvironment env) throws Exception {
    device(env, "supervisor.hanjiang", "truncated-token");
    env.fcm().respond("truncated-token", Outcome.invalidToken());
    UUID report = reportCompleted(env, HUAISI);
    awaitStatus(env, report, "truncated-token", "DEAD");
    assertThat(count(env, "SELECT count(*) FROM device WHERE token = 'truncated-token'"
        + " AND retired_reason = 'UNREGISTERED'")).isEqualTo(1);
    UUID later = reportCompleted(env, HUAISI);
    awaitUntil(WAIT, "second event dispatched", () -> count(env,
        "SELECT count(*) FROM outbox WHERE aggregate_id = ? AND dispatched_at IS NOT NULL", later) == 1);
    Thread.sleep(1200);
    assertThat(env.fcm().requestsFor("truncated-token")).hasSize(1);
    assertThat(deliveryStatus(env, later, "truncated-token")).isNull();
  }

  @Test
  void invalidArgumentIsDeadLetteredWithoutRetry(TestEnvironment env) throws Exception {
    device(env, "supervisor.hanjiang", "bad-message");
    env.fcm().respond("bad-message", Outcome.invalidArgument());
    UUID report = reportCompleted(env, HUAISI);
    awaitStatus(env, report, "bad-message", "DEAD");
    Thread.sleep(1200);
    assertThat(env.fcm().requestsFor("bad-message")).hasSize(1);
    assertThat(count(env, "SELECT count(*) FROM push_delivery p JOIN device d ON d.id = p.device_id"
        + " WHERE d.token = 'bad-message' AND p.last_error LIKE 'INVALID_ARGUMENT%' AND p.status = 'DEAD'"
        + " AND p.attempts = 1")).isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM device WHERE token = 'bad-message' AND retired_at IS NULL"))
        .isEqualTo(1);
  }

  @Test
  void aMixedBatchIsHandledPerMessage(TestEnvironment env) throws Exception {
    device(env, "supervisor.hanjiang", "mix-ok");
    device(env, "supervisor.hanjiang", "mix-gone");
    device(env, "supervisor.hanjiang", "mix-bad");
    device(env, "supervisor.hanjiang", "mix-later");
    env.fcm().respond("mix-gone", Outcome.unregistered());
    env.fcm().respond("mix-bad", Outcome.invalidArgument());
    env.fcm().respond("mix-later", Outcome.quotaExceeded("1"), Outcome.success());
    UUID report = reportCompleted(env, HUAISI);
    awaitStatus(env, report, "mix-later", "SENT");
    assertThat(deliveryStatus(env, report, "mix-ok")).isEqualTo("SENT");
    assertThat(deliveryStatus(env, report, "mix-gone")).isEqualTo("DEAD");
    assertThat(deliveryStatus(env, report, "mix-bad")).isEqualTo("DEAD");
    assertThat(env.fcm().requestsFor("mix-ok")).hasSize(1);
    assertThat(env.fcm().requestsFor("mix-gone")).hasSize(1);
    assertThat(env.fcm().requestsFor("mix-bad")).hasSize(1);
    assertThat(env.fcm().requestsFor("mix-later")).hasSize(2);
  }

  @Test
  void retriesEndInTheDeadLetterAfterTheLastAttempt(TestEnvironment env) throws Exception {
    device(env, "supervisor.hanjiang", "always-busy");
    // 500 INTERNAL: retried by us, each time an attempt (a quota answer spends none, so it never gives up).
    env.fcm().respond("always-busy", Outcome.internal("0"));
    UUID report = reportCompleted(env, HUAISI);
    awaitUntil(WAIT, "first attempt", () -> env.fcm().requestsFor("always-busy").size() >= 1);
    // Skip the waiting of attempts 2..7 (their backoff is minutes): the next attempt is the 8th and last.
    Alerts.update(env, "UPDATE push_delivery SET attempts = 7, next_attempt_at = now() WHERE status = 'PENDING'"
        + " AND device_id = (SELECT id FROM device WHERE token = 'always-busy')");
    awaitStatus(env, report, "always-busy", "DEAD");
    assertThat(count(env, "SELECT count(*) FROM push_delivery p JOIN device d ON d.id = p.device_id"
        + " WHERE d.token = 'always-busy' AND p.last_error LIKE 'gave up after%'")).isEqualTo(1);
  }

  @Test
  void retryDelayHonoursRetryAfterAndBacksOffWithJitter(TestEnvironment env) {
    OutboxDispatcherVerticle d = new OutboxDispatcherVerticle(env.app().database(), env.app().push(),
        OutboxDispatcherVerticle.Settings.defaults());
    assertThat(d.retryDelay(1, Duration.ofSeconds(30))).isEqualTo(Duration.ofSeconds(30));
    Set<Duration> seen = new HashSet<>();
    for (int i = 0; i < 50; i++) {
      Duration third = d.retryDelay(3, Duration.ZERO);
      assertThat(third).isBetween(Duration.ofSeconds(2), Duration.ofSeconds(4));
      seen.add(third);
    }
    assertThat(seen.size()).isGreaterThan(1);
    assertThat(d.retryDelay(40, Duration.ZERO)).isLessThanOrEqualTo(Duration.ofHours(1));
    assertThat(d.retryDelay(1, Duration.ofSeconds(Long.MAX_VALUE))).isEqualTo(Duration.ofHours(1));
  }

  @Test
  void anExpiredLeaseIsClaimedAgainWithoutPushingTwice(TestEnvironment env) throws Exception {
    device(env, "supervisor.hanjiang", "lease-phone");
    UUID report = reportCompleted(env, HUAISI);
    awaitStatus(env, report, "lease-phone", "SENT");
    // As if an instance had written the deliveries and died before marking the event dispatched: its lease expired.
    Alerts.update(env, "UPDATE outbox SET dispatched_at = NULL, claimed_by = 'dead-instance',"
        + " lease_until = now() - interval '1 second' WHERE aggregate_id = ?", report);
    awaitUntil(WAIT, "event dispatched again", () -> count(env,
        "SELECT count(*) FROM outbox WHERE aggregate_id = ? AND dispatched_at IS NOT NULL AND claims = 2", report) == 1);
    Thread.sleep(1200);
    assertThat(env.fcm().requestsFor("lease-phone")).hasSize(1);
    assertThat(count(env, "SELECT count(*) FROM push_delivery p JOIN outbox o ON o.id = p.event_id"
        + " JOIN device d ON d.id = p.device_id WHERE o.aggregate_id = ? AND d.token = 'lease-phone'", report))
        .isEqualTo(1);
  }

  /**
   * The send lanes of one instance claim under different tokens: lane A's send outlived its lease, lane B claimed
   * the delivery again; A's late answer must neither overwrite B's outcome nor release B's claim. The claims are
   * set in SQL with the instance's own tokens (a live lease: no other dispatcher can take the row meanwhile).
   */
  @Test
  void aLaneLateOutcomeLeavesAnotherLanesClaimAlone(TestEnvironment env) throws Exception {
    device(env, "supervisor.hanjiang", "lanes-phone");
    UUID report = reportCompleted(env, HUAISI);
    awaitStatus(env, report, "lanes-phone", "SENT");
    long id = Long.parseLong(env.string("SELECT p.id::text FROM push_delivery p JOIN outbox o ON o.id = p.event_id"
        + " JOIN device d ON d.id = p.device_id WHERE o.aggregate_id = ? AND d.token = 'lanes-phone'", report));
    OutboxDispatcherVerticle instance = new OutboxDispatcherVerticle(env.app().database(), env.app().push(),
        OutboxDispatcherVerticle.Settings.defaults());
    String laneA = instance.nextClaim();
    String laneB = instance.nextClaim();
    assertThat(laneA).isNotEqualTo(laneB).startsWith(instance.instance());
    assertThat(laneB).startsWith(instance.instance());
    Alerts.update(env, "UPDATE push_delivery SET status = 'PENDING', delivered_at = NULL, message_id = NULL,"
        + " attempts = 1, claimed_by = ?, lease_until = now() + interval '1 hour' WHERE id = ?", laneB, id);
    DispatchRepository repository = new DispatchRepository(env.app().database().pool());

    await(repository.record(laneA, List.of(new DispatchRepository.Outcome(id, "PENDING", Duration.ofMinutes(5),
        "late answer of lane A", null)), List.of()));
    assertThat(env.string("SELECT concat_ws('|', status, attempts, claimed_by, coalesce(last_error, '-'),"
        + " lease_until > now()) FROM push_delivery WHERE id = ?", id))
        .isEqualTo("PENDING|1|" + laneB + "|-|t");

    await(repository.record(laneB, List.of(new DispatchRepository.Outcome(id, "SENT", null, null, "lane-b-message")),
        List.of()));
    assertThat(env.string("SELECT concat_ws('|', status, attempts, coalesce(claimed_by, '-'), message_id,"
        + " lease_until IS NULL) FROM push_delivery WHERE id = ?", id))
        .isEqualTo("SENT|2|-|lane-b-message|t");
  }

  /**
   * An account disabled while a push to it waits for its retry (or is re-driven by an admin later) is pushed nothing
   * more: the dispatcher dead-letters the delivery at its claim, as for a device retired or moved since.
   */
  @Test
  void aRecipientDisabledSinceTheAlertIsPushedNothingMore(TestEnvironment env) throws Exception {
    String admin = Alerts.login(env, "admin");
    io.vertx.ext.web.client.HttpResponse<io.vertx.core.buffer.Buffer> created = await(env.client().post("/v1/accounts")
        .putHeader("Authorization", "Bearer " + admin)
        .sendJsonObject(new JsonObject().put("username", "supervisor.leaver").put("displayName", "Leaver")
            .put("roles", new io.vertx.core.json.JsonArray().add("supervisor")).put("homeUnitId", HUAISI.toString())
            .put("coveredUnitIds", new io.vertx.core.json.JsonArray().add(HUAISI.toString()))
            .put("password", "Leaver-Password-2026")));
    assertThat(created.statusCode()).as(created.bodyAsString()).isEqualTo(201);
    String leaver = created.bodyAsJsonObject().getString("id");
    String leaverToken = await(env.client().post("/v1/auth/login").sendJsonObject(new JsonObject()
        .put("username", "supervisor.leaver").put("password", "Leaver-Password-2026")))
        .bodyAsJsonObject().getString("access_token");
    env.awaitEventsDispatched();
    assertThat(Alerts.registerDevice(env, leaverToken, new JsonObject().put("token", "leaver-phone")
        .put("platform", "android")).statusCode()).isEqualTo(201);
    env.fcm().respond("leaver-phone", Outcome.internal("3"), Outcome.success());

    UUID report = reportCompleted(env, HUAISI);
    awaitUntil(WAIT, "the first attempt", () -> env.fcm().requestsFor("leaver-phone").size() == 1);
    io.vertx.ext.web.client.HttpResponse<io.vertx.core.buffer.Buffer> disabled = await(env.client()
        .post("/v1/accounts/" + leaver + "/disable").putHeader("Authorization", "Bearer " + admin).send());
    assertThat(disabled.statusCode()).as(disabled.bodyAsString()).isEqualTo(200);

    awaitStatus(env, report, "leaver-phone", "DEAD");
    assertThat(count(env, "SELECT count(*) FROM push_delivery p JOIN device d ON d.id = p.device_id"
        + " WHERE d.token = 'leaver-phone' AND p.attempts = 2 AND p.last_error = 'recipient account disabled'"))
        .isEqualTo(1);
    assertThat(env.fcm().requestsFor("leaver-phone")).hasSize(1);

    // An admin's re-drive does not reach the disabled account either.
    long id = count(env, "SELECT p.id FROM push_delivery p JOIN device d ON d.id = p.device_id"
        + " WHERE d.token = 'leaver-phone'");
    assertThat(await(env.client().post("/v1/admin/deliveries/" + id + "/redrive")
        .putHeader("Authorization", "Bearer " + admin).send()).statusCode()).isEqualTo(200);
    awaitUntil(WAIT, "dead again", () -> count(env, "SELECT count(*) FROM push_delivery WHERE id = ?"
        + " AND status = 'DEAD' AND attempts = 1", id) == 1);
    Thread.sleep(1200);
    assertThat(env.fcm().requestsFor("leaver-phone")).hasSize(1);
  }
}
