package org.frontline.webhooks;

import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import org.frontline.partners.FeedClock;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.Restores;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HANJIANG;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.testing.TestEnvironment.await;
import static org.frontline.webhooks.Webhooks.Receiver;
import static org.frontline.webhooks.Webhooks.Received;
import static org.frontline.webhooks.Webhooks.call;
import static org.frontline.webhooks.Webhooks.count;
import static org.frontline.webhooks.Webhooks.deliveries;
import static org.frontline.webhooks.Webhooks.eventually;
import static org.frontline.webhooks.Webhooks.ok;
import static org.frontline.webhooks.Webhooks.partner;
import static org.frontline.webhooks.Webhooks.report;
import static org.frontline.webhooks.Webhooks.subscribe;
import static org.frontline.webhooks.Webhooks.verify;

/**
 * Deliveries by the served worker (retry base 100 ms in the test service): signatures checked with an independent
 * Standard Webhooks verifier, rotation overlap, retries until the receiver is up, per-report order, the grant,
 * redirects, the delivery-time target check, disabling with the admins' alert, and replay.
 */
@FrontlineTest
class WebhookDeliveryTest {

  @BeforeEach
  void quiet(TestEnvironment env) throws Exception {
    // Subscriptions of earlier tests would keep retrying against receivers that are gone: noise only.
    try (Connection c = env.jdbc(); Statement st = c.createStatement()) {
      st.executeUpdate("UPDATE webhook_subscription SET deleted_at = now() WHERE deleted_at IS NULL");
      st.executeUpdate("UPDATE webhook_delivery SET status = 'FAILED', finished_at = now() WHERE status = 'PENDING'");
    }
  }

  @Test
  void deliveriesAreSignedPerStandardWebhooksAndARotationSendsBothSignatures(TestEnvironment env) throws Exception {
    try (Receiver receiver = new Receiver().start(0)) {
      String token = partner(env, List.of(TONGZHOU));
      JsonObject sub = subscribe(env, token, receiver.url());
      String secret = sub.getString("secret");
      assertThat(secret).startsWith("whsec_");
      assertThat(ok(call(env, token, HttpMethod.GET, "/v1/webhooks/" + sub.getString("id"), null), 200)
          .containsKey("secret")).isFalse();

      UUID reportId = report(env, "officer.zhang", TONGZHOU);
      assertThat(eventually(() -> receiver.received.size() == 1)).isTrue();
      Received r = receiver.list().get(0);
      assertThat(r.path()).isEqualTo("/hook");
      assertThat(r.headers().get("Content-Type")).startsWith("application/json");
      assertThat(verify(secret, r)).isEqualTo(1);
      assertThat(r.headers().get("webhook-signature").split(" ")).hasSize(1);
      JsonObject payload = r.json();
      assertThat(payload.fieldNames()).containsExactlyInAnyOrder("type", "timestamp", "data");
      assertThat(payload.getString("type")).isEqualTo("report.completed");
      assertThat(payload.getJsonObject("data").getString("reportId")).isEqualTo(reportId.toString());
      assertThat(payload.getJsonObject("data").getString("unitId")).isEqualTo(TONGZHOU.toString());
      // A wrong secret verifies nothing; a changed body neither.
      assertThat(verify("whsec_" + java.util.Base64.getEncoder().encodeToString(new byte[32]), r)).isZero();
      assertThat(verify(secret, new Received(r.path(), r.headers(), r.body().replace("SITE", "SITF")))).isZero();
      assertThat(eventually(() -> deliveries(env, sub.getString("id"),
          "status = 'DELIVERED' AND attempts = 1 AND last_status = 204") == 1)).isTrue();

      // Rotation with overlap: both secrets sign each delivery until the old one expires.
      JsonObject rotated = ok(call(env, token, HttpMethod.POST, "/v1/webhooks/" + sub.getString("id") + "/secret",
          new JsonObject().put("previousExpireInSeconds", 3600)), 200);
      String newSecret = rotated.getString("secret");
      assertThat(newSecret).isNotEqualTo(secret);
      assertThat(rotated.getJsonArray("secrets")).hasSize(2);
      report(env, "officer.zhang", TONGZHOU);
      assertThat(eventually(() -> receiver.received.size() == 2)).isTrue();
      Received both = receiver.list().get(1);
      assertThat(both.headers().get("webhook-signature").split(" ")).hasSize(2);
      assertThat(verify(secret, both)).isEqualTo(1);
      assertThat(verify(newSecret, both)).isEqualTo(1);

      // Rotation without overlap: only the newest secret signs.
      String third = ok(call(env, token, HttpMethod.POST, "/v1/webhooks/" + sub.getString("id") + "/secret",
          new JsonObject().put("previousExpireInSeconds", 0)), 200).getString("secret");
      report(env, "officer.zhang", TONGZHOU);
      assertThat(eventually(() -> receiver.received.size() == 3)).isTrue();
      Received one = receiver.list().get(2);
      assertThat(one.headers().get("webhook-signature").split(" ")).hasSize(1);
      assertThat(verify(third, one)).isEqualTo(1);
      assertThat(verify(newSecret, one)).isZero();
    }
  }

  @Test
  void aSecretThatDoesNotOpenHoldsBackOnlyItsOwnSubscription(TestEnvironment env) throws Exception {
    try (Receiver sealedElsewhere = new Receiver().start(0); Receiver fine = new Receiver().start(0)) {
      JsonObject bad = subscribe(env, partner(env, List.of(TONGZHOU)), sealedElsewhere.url());
      JsonObject good = subscribe(env, partner(env, List.of(TONGZHOU)), fine.url());
      // The secret sealed under another key-encryption key (written by an instance on another key).
      byte[] otherKey = new byte[32];
      new java.security.SecureRandom().nextBytes(otherKey);
      var elsewhere = new org.frontline.identity.KeyEncryption(new javax.crypto.spec.SecretKeySpec(otherKey, "AES"));
      try (Connection c = env.jdbc();
           var read = c.prepareStatement("SELECT id FROM webhook_secret WHERE subscription_id = ?::uuid");
           var write = c.prepareStatement("UPDATE webhook_secret SET secret_sealed = ? WHERE id = ?")) {
        read.setString(1, bad.getString("id"));
        try (var rs = read.executeQuery()) {
          assertThat(rs.next()).isTrue();
          UUID secretId = (UUID) rs.getObject(1);
          write.setBytes(1, elsewhere.encrypt(WebhookService.sealKid(secretId), new byte[32]));
          write.setObject(2, secretId);
          assertThat(write.executeUpdate()).isEqualTo(1);
        }
      }
      try {
        UUID reportId = report(env, "officer.zhang", TONGZHOU);
        // Claimed in the same round: the other subscription's delivery goes out, signed, all the same.
        assertThat(eventually(() -> fine.received.size() == 1)).isTrue();
        assertThat(verify(good.getString("secret"), fine.list().get(0))).isEqualTo(1);
        assertThat(fine.list().get(0).body()).contains(reportId.toString());
        // Never sent unsigned: a failed attempt, retried (a secret rotated in through the API would sign it).
        assertThat(eventually(() -> deliveries(env, bad.getString("id"), "status = 'PENDING' AND attempts >= 1 "
            + "AND last_status IS NULL AND last_error = '" + WebhookDeliveryVerticle.SECRET_UNOPENED + "'") == 1))
            .isTrue();
        assertThat(sealedElsewhere.list()).isEmpty();
      } finally {
        try (Connection c = env.jdbc(); Statement st = c.createStatement()) {
          st.executeUpdate("UPDATE webhook_subscription SET deleted_at = now() WHERE id = '" + bad.getString("id") + "'");
        }
      }
    }
  }

  @Test
  void anHttpsTargetIsReachedByItsNameAtTheCheckedAddress(TestEnvironment env) throws Exception {
    // A receiver with a certificate for "localhost" only; a worker that trusts it (the served one does not, so its
    // attempts fail the TLS handshake and are retried until this one's succeeds).
    io.vertx.core.net.SelfSignedCertificate certificate = io.vertx.core.net.SelfSignedCertificate.create("localhost");
    String deployment = TestEnvironment.await(env.app().vertx().deployVerticle(new WebhookDeliveryVerticle(
        env.app().database().pool(), new org.frontline.identity.KeyEncryption(
            env.app().config().tokens().keyEncryptionKey()), new WebhookTargets(true), env.app().blocking(),
        WebhookDeliveryVerticle.Settings.defaults(java.time.Duration.ofMillis(100)), certificate.trustOptions())));
    try (Receiver good = new Receiver().start(0, certificate.keyCertOptions());
         Receiver wrongName = new Receiver().start(0, certificate.keyCertOptions())) {
      String token = partner(env, List.of(TONGZHOU));
      JsonObject sub = subscribe(env, token, "https://localhost:" + good.port() + "/hook");
      // The same server by address: the certificate does not name 127.0.0.1, so hostname verification fails.
      String byAddress = subscribe(env, token, "https://127.0.0.1:" + wrongName.port() + "/hook").getString("id");
      report(env, "officer.zhang", TONGZHOU);
      // Both workers claim the delivery in turn, and each failed TLS handshake of the served one backs the next
      // attempt off further (100 ms doubling, with jitter): a run of eight or so claims lost to it put the trusting
      // worker's turn beyond the wait. Made due again at once while waiting: who claims it is still a race, but
      // every round is a new chance for the trusting worker.
      assertThat(eventually(() -> {
        dueNow(env, sub.getString("id"));
        return deliveries(env, sub.getString("id"), "status = 'DELIVERED' AND last_status = 204") == 1;
      })).isTrue();
      assertThat(good.list()).hasSize(1);
      assertThat(verify(sub.getString("secret"), good.list().get(0))).isEqualTo(1);
      assertThat(good.list().get(0).headers().get("Host")).startsWith("localhost");
      assertThat(eventually(() -> deliveries(env, byAddress, "attempts >= 2 AND status = 'PENDING'") == 1)).isTrue();
      assertThat(wrongName.list()).isEmpty();
    } finally {
      TestEnvironment.await(env.app().vertx().undeploy(deployment));
    }
  }

  @Test
  void receiverDownThenUpGetsEachEventExactlyOnce(TestEnvironment env) throws Exception {
    int port = TestEnvironment.freePort();
    String token = partner(env, List.of(TONGZHOU));
    String id = subscribe(env, token, "http://127.0.0.1:" + port + "/hook").getString("id");
    List<UUID> reports = List.of(report(env, "officer.zhang", TONGZHOU), report(env, "officer.zhang", TONGZHOU),
        report(env, "officer.zhang", TONGZHOU));
    // Down: connection refused, retried with backoff.
    assertThat(eventually(() -> deliveries(env, id, "status = 'PENDING' AND attempts >= 2") == 3)).isTrue();
    assertThat(env.string("SELECT last_error FROM webhook_delivery WHERE subscription_id = ?::uuid LIMIT 1", id))
        .isNotBlank();
    try (Receiver receiver = new Receiver().start(port)) {
      assertThat(eventually(() -> deliveries(env, id, "status = 'DELIVERED'") == 3)).isTrue();
      Thread.sleep(300); // a duplicate would arrive within a few worker rounds (100 ms each)
      List<Received> got = receiver.list();
      assertThat(got).hasSize(3);
      assertThat(got.stream().map(r -> r.headers().get("webhook-id")).collect(Collectors.toSet())).hasSize(3);
      assertThat(got.stream().map(r -> r.json().getJsonObject("data").getString("reportId")).collect(Collectors.toSet()))
          .isEqualTo(reports.stream().map(UUID::toString).collect(Collectors.toSet()));
      assertThat(count(env, "SELECT count(*) FROM webhook_subscription WHERE id = ?::uuid AND consecutive_failures = 0 "
          + "AND failing_since IS NULL AND disabled_at IS NULL", id)).isEqualTo(1);
    }
  }

  @Test
  void afterARestoreFromAClusterFurtherAlongASubscriptionGetsTheNewEvents(TestEnvironment env) throws Exception {
    try (Receiver receiver = new Receiver().start(0)) {
      String token = partner(env, List.of(TONGZHOU));
      String id = subscribe(env, token, receiver.url()).getString("id");
      UUID first = report(env, "officer.zhang", TONGZHOU);
      assertThat(eventually(() -> deliveries(env, id, "status = 'DELIVERED'") == 1)).isTrue();

      // The database restored into a new cluster: the subscription's position is the old cluster's.
      Restores.fromAClusterFurtherAlong(env, false);
      await(FeedClock.check(env.app().database().pool())); // what every process does at start-up, and every minute
      UUID second = report(env, "officer.zhang", TONGZHOU);
      assertThat(eventually(() -> deliveries(env, id, "status = 'DELIVERED'") == 2)).isTrue();
      assertThat(receiver.list().stream().map(r -> r.json().getJsonObject("data").getString("reportId")).toList())
          .containsExactly(first.toString(), second.toString());
      assertThat(count(env, "SELECT count(*) FROM webhook_delivery WHERE subscription_id = ?::uuid", id)).isEqualTo(2);
    }
  }

  @Test
  void severalWorkerInstancesDeliverEachEventOnce(TestEnvironment env) throws Exception {
    // Two more workers beside the served one, sharing the database only.
    List<String> extra = new java.util.ArrayList<>();
    for (int i = 0; i < 2; i++) {
      extra.add(TestEnvironment.await(env.app().vertx().deployVerticle(new WebhookDeliveryVerticle(
          env.app().database().pool(), new org.frontline.identity.KeyEncryption(
              env.app().config().tokens().keyEncryptionKey()), new WebhookTargets(true), env.app().blocking(),
          WebhookDeliveryVerticle.Settings.defaults(java.time.Duration.ofMillis(100))))));
    }
    try (Receiver receiver = new Receiver().start(0)) {
      String token = partner(env, List.of(TONGZHOU));
      String id = subscribe(env, token, receiver.url()).getString("id");
      for (int i = 0; i < 8; i++) {
        report(env, "officer.zhang", TONGZHOU);
      }
      assertThat(eventually(() -> deliveries(env, id, "status = 'DELIVERED'") == 8)).isTrue();
      Thread.sleep(300);
      assertThat(receiver.list()).hasSize(8);
      assertThat(receiver.list().stream().map(r -> r.headers().get("webhook-id")).collect(Collectors.toSet())).hasSize(8);
      assertThat(deliveries(env, id, "attempts = 1")).isEqualTo(8);
    } finally {
      for (String deployment : extra) {
        TestEnvironment.await(env.app().vertx().undeploy(deployment));
      }
    }
  }

  /**
   * The two paths that change a subscription and its deliveries interleaved by hand: a transaction of the test
   * holds the subscription as a delete does (row lock, then its pending deliveries failed) while the worker records
   * an answer (2xx, and a 500 with its failure count). The record locks the subscription first, so it waits and
   * holds nothing meanwhile: the delete's update of the delivery goes through, and the record, after it, finds the
   * delivery no longer its own. A record that updated its delivery before locking the subscription would hold the
   * delivery while waiting for the subscription, and the delete would wait for the delivery: a deadlock.
   */
  @Test
  void aRecordWaitsForTheSubscriptionADeleteHoldsHoldingNothing(TestEnvironment env) throws Exception {
    for (int status : List.of(204, 500)) {
      try (Receiver receiver = new Receiver().start(0);
           org.frontline.testing.LogCapture log = org.frontline.testing.LogCapture.of(WebhookDeliveryVerticle.class,
               "%level %msg%n")) {
        receiver.status.set(status);
        receiver.answerAfterMillis.set(500);
        String id = subscribe(env, partner(env, List.of(TONGZHOU)), receiver.url()).getString("id");
        report(env, "officer.zhang", TONGZHOU);
        assertThat(eventually(() -> receiver.received.size() == 1)).isTrue();
        try (Connection c = env.jdbc(); java.sql.PreparedStatement lock = c.prepareStatement(
                 "SELECT 1 FROM webhook_subscription WHERE id = ?::uuid FOR UPDATE");
             java.sql.PreparedStatement fail = c.prepareStatement("UPDATE webhook_delivery SET status = 'FAILED', "
                 + "finished_at = now(), last_error = 'subscription deleted', claimed_by = NULL, lease_until = NULL "
                 + "WHERE subscription_id = ?::uuid AND status = 'PENDING'")) {
          c.setAutoCommit(false);
          lock.setString(1, id);
          lock.executeQuery().close();
          // The answer arrives; the worker's record waits for the subscription.
          assertThat(eventually(() -> count(env, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
              + "'Lock' AND query LIKE 'SELECT 1 FROM webhook_subscription WHERE id = $1 FOR UPDATE'") == 1)).isTrue();
          try (Statement st = c.createStatement()) {
            st.executeUpdate("UPDATE webhook_subscription SET deleted_at = now() WHERE id = '" + id + "'");
          }
          fail.setString(1, id);
          assertThat(fail.executeUpdate()).isEqualTo(1);
          c.commit();
        }
        assertThat(eventually(() -> count(env, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            + "AND query LIKE '%webhook_subscription%'") == 0)).isTrue();
        Thread.sleep(300); // the record, after the delete
        assertThat(deliveries(env, id, "status = 'FAILED' AND last_error = 'subscription deleted' AND attempts = 0"))
            .as("answered %d", status).isEqualTo(1);
        assertThat(count(env, "SELECT count(*) FROM webhook_subscription WHERE id = ?::uuid AND consecutive_failures = 0 "
            + "AND failing_since IS NULL", id)).isEqualTo(1);
        assertThat(receiver.received).hasSize(1);
        assertThat(log.text()).as("answered %d", status).doesNotContain("WARN");
      }
    }
  }

  /**
   * Two worker instances over many deliveries to a few subscriptions, every first attempt failed: both instances'
   * fan-outs, claims, failure records (the subscription's failure count) and delivery records (its reset) meet on
   * the same subscription rows. Each delivery ends delivered, once, after exactly one failed attempt, and neither
   * instance logs a failed round (a deadlock between two rounds would fail one: "webhook send round failed:
   * deadlock detected", its claimed work then waiting for its lease).
   */
  @Test
  void twoWorkerInstancesOverManyDeliveriesToAFewSubscriptionsNeverDeadlock(TestEnvironment env) throws Exception {
    int reports = 40;
    List<String> paths = List.of("/a", "/b", "/c");
    String extra = TestEnvironment.await(env.app().vertx().deployVerticle(new WebhookDeliveryVerticle(
        env.app().database().pool(), new org.frontline.identity.KeyEncryption(
            env.app().config().tokens().keyEncryptionKey()), new WebhookTargets(true), env.app().blocking(),
        WebhookDeliveryVerticle.Settings.defaults(env.app().config().webhooks().retryBase()))));
    try (Receiver receiver = new Receiver().start(0);
         org.frontline.testing.LogCapture log = org.frontline.testing.LogCapture.of(WebhookDeliveryVerticle.class,
             "%level %msg%n")) {
      receiver.failFirst.set(true);
      String token = partner(env, List.of(TONGZHOU));
      List<String> ids = paths.stream()
          .map(path -> subscribe(env, token, "http://127.0.0.1:" + receiver.port() + path).getString("id")).toList();
      Webhooks.reports(env, "officer.zhang", TONGZHOU, reports);
      assertThat(eventually(() -> ids.stream().allMatch(id -> deliveries(env, id, "status = 'DELIVERED'") == reports)))
          .isTrue();
      Thread.sleep(300); // a duplicate would arrive within a few worker rounds
      for (String id : ids) {
        assertThat(deliveries(env, id, "true")).isEqualTo(reports);
        assertThat(deliveries(env, id, "status = 'DELIVERED' AND attempts = 2 AND last_status = 204")).isEqualTo(reports);
      }
      // Each message twice: the failed attempt and the delivery.
      java.util.Map<String, Long> perMessage = receiver.list().stream()
          .collect(Collectors.groupingBy(r -> r.headers().get("webhook-id"), Collectors.counting()));
      assertThat(perMessage).hasSize(paths.size() * reports);
      assertThat(perMessage.values()).containsOnly(2L);
      assertThat(log.text()).doesNotContain("WARN").doesNotContain("ERROR");
    } finally {
      TestEnvironment.await(env.app().vertx().undeploy(extra));
    }
  }

  @Test
  void aLaterEventOfAReportWaitsForTheEarlierOne(TestEnvironment env) throws Exception {
    int port = TestEnvironment.freePort();
    String token = partner(env, List.of(TONGZHOU));
    String id = subscribe(env, token, "http://127.0.0.1:" + port + "/hook").getString("id");
    UUID reportId = report(env, "officer.zhang", TONGZHOU);
    assertThat(eventually(() -> deliveries(env, id, "attempts >= 1") == 1)).isTrue();
    // A later event of the same report (a kind to come, e.g. report.reviewed), due at once while the first one
    // backs off: it must not overtake the first.
    try (Connection c = env.jdbc(); Statement st = c.createStatement()) {
      st.executeUpdate("INSERT INTO webhook_delivery (subscription_id, event_id, event_type, message_id, order_key, body)"
          + " VALUES ('" + id + "', 999999999, 'report.reviewed', 'msg_later', '" + reportId + "', "
          + "'{\"type\":\"report.reviewed\",\"timestamp\":\"2026-11-26T00:00:00Z\",\"data\":{}}')");
    }
    Thread.sleep(300);
    assertThat(count(env, "SELECT count(*) FROM webhook_delivery WHERE message_id = 'msg_later' AND attempts = 0"))
        .isEqualTo(1);
    try (Receiver receiver = new Receiver().start(port)) {
      assertThat(eventually(() -> receiver.received.size() == 2)).isTrue();
      List<Received> got = receiver.list();
      assertThat(got.get(0).json().getString("type")).isEqualTo("report.completed");
      assertThat(got.get(1).headers().get("webhook-id")).isEqualTo("msg_later");
    }
  }

  @Test
  void aTongzhouPartnerReceivesNoHanjiangEvent(TestEnvironment env) throws Exception {
    try (Receiver receiver = new Receiver().start(0)) {
      String token = partner(env, List.of(TONGZHOU));
      String id = subscribe(env, token, receiver.url()).getString("id");
      UUID hanjiang = report(env, "officer.xu", HUAISI);
      UUID tongzhou = report(env, "officer.zhang", TONGZHOU);
      assertThat(eventually(() -> receiver.received.size() == 1)).isTrue();
      Thread.sleep(300);
      assertThat(receiver.list()).hasSize(1);
      assertThat(receiver.list().get(0).json().getJsonObject("data").getString("reportId")).isEqualTo(tongzhou.toString());
      assertThat(count(env, "SELECT count(*) FROM webhook_delivery WHERE subscription_id = ?::uuid", id)).isEqualTo(1);
      assertThat(count(env, "SELECT count(*) FROM webhook_delivery WHERE order_key = ?", hanjiang.toString())).isZero();
    }
  }

  @Test
  void aNarrowedGrantStopsPendingDeliveriesAndReplaysOutsideIt(TestEnvironment env) throws Exception {
    int port = TestEnvironment.freePort();
    JsonObject client = Webhooks.client(env, List.of("events:read", "webhooks:manage"), List.of(HANJIANG, TONGZHOU));
    String token = Webhooks.token(env, client);
    String id = subscribe(env, token, "http://127.0.0.1:" + port + "/hook").getString("id");
    UUID hanjiang = report(env, "officer.xu", HUAISI);
    UUID tongzhou = report(env, "officer.zhang", TONGZHOU);
    // Receiver down: both deliveries are written and retried.
    assertThat(eventually(() -> deliveries(env, id, "status = 'PENDING' AND attempts >= 1") == 2)).isTrue();
    // The grant loses Hanjiang while the deliveries are pending.
    JsonObject grant = new JsonObject().put("scopes", new io.vertx.core.json.JsonArray().add("events:read")
            .add("webhooks:manage"))
        .put("unitIds", new io.vertx.core.json.JsonArray().add(TONGZHOU.toString()))
        .put("reportTypes", new io.vertx.core.json.JsonArray().add("SITE"));
    ok(call(env, Webhooks.login(env, "admin"), HttpMethod.PUT, "/v1/partner-clients/" + client.getString("id")
        + "/grant", grant), 200);
    try (Receiver receiver = new Receiver().start(port)) {
      assertThat(eventually(() -> deliveries(env, id, "status <> 'PENDING'") == 2)).isTrue();
      Thread.sleep(300); // a late send would arrive within a few worker rounds (100 ms each)
      assertThat(receiver.list()).hasSize(1);
      assertThat(receiver.list().get(0).json().getJsonObject("data").getString("reportId")).isEqualTo(tongzhou.toString());
      assertThat(env.string("SELECT status || ': ' || last_error FROM webhook_delivery WHERE order_key = ?",
          hanjiang.toString())).isEqualTo("FAILED: " + WebhookService.OUTSIDE_GRANT);
      // Its replay is refused like a delivery that does not exist; a delivery within the grant is replayed.
      String outside = env.string("SELECT id::text FROM webhook_delivery WHERE order_key = ?", hanjiang.toString());
      org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem(call(env, token, HttpMethod.POST,
          "/v1/webhooks/" + id + "/deliveries/" + outside + "/replay", null), 404, "urn:frontline:problem:not-found");
      assertThat(count(env, "SELECT count(*) FROM webhook_delivery WHERE replay_of = ?::bigint", outside)).isZero();
      String inside = env.string("SELECT id::text FROM webhook_delivery WHERE order_key = ?", tongzhou.toString());
      ok(call(env, token, HttpMethod.POST, "/v1/webhooks/" + id + "/deliveries/" + inside + "/replay", null), 202);
      assertThat(eventually(() -> receiver.received.size() == 2)).isTrue();
      Thread.sleep(300);
      assertThat(receiver.list()).extracting(r -> r.json().getJsonObject("data").getString("reportId"))
          .containsOnly(tongzhou.toString());
    }
  }

  @Test
  void aDisabledClientIsSentNothing(TestEnvironment env) throws Exception {
    try (Receiver receiver = new Receiver().start(0)) {
      JsonObject client = Webhooks.client(env, List.of("webhooks:manage"), List.of(TONGZHOU));
      String id = subscribe(env, Webhooks.token(env, client), receiver.url()).getString("id");
      ok(call(env, Webhooks.login(env, "admin"), HttpMethod.POST, "/v1/partner-clients/" + client.getString("id")
          + "/disable", null), 200);
      try (Receiver control = new Receiver().start(0)) {
        // A live client's subscription to the same events: once it has its delivery, the fan-out round that would
        // have served the disabled client's subscription has run.
        subscribe(env, partner(env, List.of(TONGZHOU)), control.url());
        report(env, "officer.zhang", TONGZHOU);
        assertThat(eventually(() -> control.received.size() == 1)).isTrue();
        Thread.sleep(300);
      }
      assertThat(receiver.list()).isEmpty();
      assertThat(count(env, "SELECT count(*) FROM webhook_delivery WHERE subscription_id = ?::uuid", id)).isZero();
    }
  }

  @Test
  void aRedirectIsAFailureAndIsNotFollowed(TestEnvironment env) throws Exception {
    try (Receiver receiver = new Receiver().start(0)) {
      receiver.status.set(302);
      String token = partner(env, List.of(TONGZHOU));
      String id = subscribe(env, token, receiver.url()).getString("id");
      report(env, "officer.zhang", TONGZHOU);
      assertThat(eventually(() -> deliveries(env, id,
          "status = 'PENDING' AND attempts >= 2 AND last_status = 302") == 1)).isTrue();
      assertThat(receiver.list()).allMatch(r -> r.path().equals("/hook")).isNotEmpty();
    }
  }

  @Test
  void aHangingReceiverHoldsBackNoOtherSubscription(TestEnvironment env) throws Exception {
    try (Receiver hanging = new Receiver().start(0); Receiver healthy = new Receiver().start(0)) {
      hanging.hang.set(true);
      String stuck = subscribe(env, partner(env, List.of(HUAISI)), hanging.url()).getString("id");
      // More deliveries than a round claims (50), all due at once, to a receiver that answers none of them.
      Webhooks.reports(env, "officer.xu", HUAISI, 60);
      assertThat(eventually(() -> deliveries(env, stuck, "status = 'PENDING'") == 60
          && !hanging.received.isEmpty())).isTrue();

      String healthyId = subscribe(env, partner(env, List.of(TONGZHOU)), healthy.url()).getString("id");
      long start = System.nanoTime();
      report(env, "officer.zhang", TONGZHOU);
      assertThat(eventually(() -> healthy.received.size() == 1)).isTrue();
      // The send timeout is 10 s: a round that waited for the hanging sends held this one back about that long.
      assertThat(java.time.Duration.ofNanos(System.nanoTime() - start)).isLessThan(java.time.Duration.ofSeconds(5));
      assertThat(eventually(() -> deliveries(env, healthyId, "status = 'DELIVERED'") == 1)).isTrue();
      // The hanging subscription holds only its own share of the slots.
      assertThat(deliveries(env, stuck, "status = 'PENDING' AND lease_until >= now()"))
          .isLessThanOrEqualTo(WebhookDeliveryVerticle.MAX_IN_FLIGHT_PER_SUBSCRIPTION);
    }
  }

  @Test
  void aBacklogToAReceiverSlowerThanTheIdleDelayDrainsAsFastAsItAnswers(TestEnvironment env) throws Exception {
    // Review: a round that ran while the subscription had its 5 deliveries in flight (the idle delay passed before
    // the receiver answered) claimed nothing and so cleared "there is work": the ends of those 5 sends then woke
    // nothing, and the backlog moved on only at the next idle delay (5 per 2 s here, not 5 per 1.1 s).
    List<String> served = undeployServedWorkers(env);
    String deployment = null;
    try (Receiver receiver = new Receiver().start(0)) {
      receiver.answerAfterMillis.set(1100);
      String id = subscribe(env, partner(env, List.of(TONGZHOU)), receiver.url()).getString("id");
      Webhooks.reports(env, "officer.zhang", TONGZHOU, 15);
      Duration base = env.app().config().webhooks().retryBase();
      deployment = TestEnvironment.await(env.app().vertx().deployVerticle(new WebhookDeliveryVerticle(
          env.app().database().pool(), new org.frontline.identity.KeyEncryption(
              env.app().config().tokens().keyEncryptionKey()), new WebhookTargets(true), env.app().blocking(),
          new WebhookDeliveryVerticle.Settings(base, Duration.ofHours(6), Duration.ofDays(3), Duration.ofSeconds(10),
              Duration.ofSeconds(60), 50, 10, Duration.ofDays(1), Duration.ofSeconds(1)))));
      assertThat(eventually(() -> deliveries(env, id, "status = 'DELIVERED'") == 15)).isTrue();
      List<Long> arrivals = new java.util.ArrayList<>(receiver.arrivals);
      assertThat(arrivals).hasSize(15);
      // Three waves of 5, each sent as the previous one is answered: about 2.2 s from the first to the last.
      assertThat(Duration.ofNanos(arrivals.get(14) - arrivals.get(0))).isLessThan(Duration.ofMillis(3200));
    } finally {
      if (deployment != null) {
        TestEnvironment.await(env.app().vertx().undeploy(deployment));
      }
      redeploy(env, served);
    }
  }

  /**
   * An instance stopped while a webhook is on its way lets the send end and records it before it closes its client
   * and its pools: the delivery is DELIVERED, once. The stop used to close the worker's HTTP client at once (the
   * send cut off, recorded as a failed attempt or not at all, and sent again later) and then the database beneath
   * the worker's rounds ("webhook fan-out failed: Connection is not active now, current status: CLOSED").
   */
  @Test
  void anInstanceStoppedWhileAWebhookIsOnItsWayRecordsItDelivered(TestEnvironment env) throws Exception {
    List<String> served = undeployServedWorkers(env);
    org.frontline.Frontline instance = env.startApiInstance(java.util.Map.of("FRONTLINE_ROLES", "workers"));
    try (Receiver receiver = new Receiver().start(0)) {
      receiver.answerAfterMillis.set(1500);
      String id = subscribe(env, partner(env, List.of(TONGZHOU)), receiver.url()).getString("id");
      report(env, "officer.zhang", TONGZHOU);
      assertThat(eventually(() -> receiver.received.size() == 1)).isTrue();

      try (org.frontline.testing.LogCapture log = org.frontline.testing.LogCapture.of(WebhookDeliveryVerticle.class,
          "%level %msg%n")) {
        instance.stop().get(30, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(log.text()).doesNotContain("WARN");
      }
      assertThat(deliveries(env, id, "status = 'DELIVERED' AND attempts = 1")).isEqualTo(1);
      assertThat(deliveries(env, id, "true")).isEqualTo(1);
      assertThat(receiver.received).hasSize(1);
    } finally {
      instance.stop().get(30, java.util.concurrent.TimeUnit.SECONDS);
      redeploy(env, served);
    }
  }

  /** Deploys as many webhook workers as the test service ran, with its settings. */
  private static void redeploy(TestEnvironment env, List<String> served) {
    for (int i = 0; i < served.size(); i++) {
      TestEnvironment.await(env.app().vertx().deployVerticle(new WebhookDeliveryVerticle(env.app().database().pool(),
          new org.frontline.identity.KeyEncryption(env.app().config().tokens().keyEncryptionKey()),
          new WebhookTargets(env.app().config().webhooks().allowLoopback()), env.app().blocking(),
          WebhookDeliveryVerticle.Settings.defaults(env.app().config().webhooks().retryBase()))));
    }
  }

  @Test
  void everySendToAHostThatNeverAnswersEndsWithinTheTimeoutWaitingForAConnectionIncluded(TestEnvironment env)
      throws Exception {
    // Review: the HTTP client keeps at most 5 connections per receiver address, and the send timeout (its deadline)
    // started only once a request had a connection: a send queued behind 5 hanging ones waited for a connection
    // first (bounded apart, by the same 10 s), then the whole timeout again. Sends of several subscriptions aimed at
    // one host lasted up to twice the timeout (DNS and the wait for a worker thread came on top, unbounded), so a
    // longer timeout or a busy worker pool could outlast the 60 s lease and send a delivery twice.
    Duration timeout = Duration.ofSeconds(2);
    Duration lease = Duration.ofSeconds(30);
    List<String> served = undeployServedWorkers(env);
    String deployment = null;
    try (Webhooks.SilentReceiver silent = new Webhooks.SilentReceiver().start()) {
      // The reports first: a subscription made after them is not sent their events by the fan-out.
      List<UUID> reports = Webhooks.reports(env, "officer.zhang", TONGZHOU, 10);
      String token = partner(env, List.of(TONGZHOU));
      // Two subscriptions, one host: the per-subscription cap (5) lets 10 sends at it, the pool has 5 connections.
      String first = subscribe(env, token, silent.url("/a")).getString("id");
      String second = subscribe(env, token, silent.url("/b")).getString("id");
      insertDue(env, first, reports.subList(0, 5));
      deployment = TestEnvironment.await(env.app().vertx().deployVerticle(new WebhookDeliveryVerticle(
          env.app().database().pool(), new org.frontline.identity.KeyEncryption(
              env.app().config().tokens().keyEncryptionKey()), new WebhookTargets(true), env.app().blocking(),
          new WebhookDeliveryVerticle.Settings(Duration.ofHours(1), Duration.ofHours(6), Duration.ofDays(3), timeout,
              lease, 50, 10, Duration.ofDays(1), Duration.ofMillis(100)))));
      SendTimes times = new SendTimes(lease);
      assertThat(eventually(() -> times.poll(env, first, second) && silent.connections.get() == 5)).isTrue();
      // The first five hold every connection to the host; the second five queue for one, a little later.
      Thread.sleep(300);
      insertDue(env, second, reports.subList(5, 10));
      assertThat(eventually(() -> {
        times.poll(env, first, second);
        return deliveries(env, first, "attempts >= 1") + deliveries(env, second, "attempts >= 1") == 10;
      })).isTrue();
      times.poll(env, first, second);

      assertThat(times.claimed.keySet()).hasSize(10).isEqualTo(times.ended.keySet());
      for (Long id : times.claimed.keySet()) {
        Duration took = Duration.between(times.claimed.get(id), times.ended.get(id));
        // From the claim to the recorded failure: the timeout, plus the recording and this poll's delay.
        assertThat(took).as("delivery %d, claimed %s", id, times.claimed.get(id))
            .isBetween(timeout.minusMillis(100), timeout.plusMillis(1000));
      }
      String expected = "status = 'PENDING' AND attempts = 1 AND last_status IS NULL AND last_error = "
          + "'no answer within 2000 ms' AND claimed_by IS NULL AND lease_until IS NULL AND finished_at IS NULL "
          + "AND next_attempt_at BETWEEN now() + interval '29 minutes' AND now() + interval '60 minutes'";
      assertThat(deliveries(env, first, expected)).isEqualTo(5);
      assertThat(deliveries(env, second, expected)).isEqualTo(5);
      // One attempt each: no delivery reached the host twice, and no more connections were opened than sends.
      assertThat(silent.messageIds).doesNotHaveDuplicates();
      assertThat(silent.connections.get()).isBetween(5, 10);
      assertThat(count(env, "SELECT count(*) FROM webhook_subscription WHERE id IN (?::uuid, ?::uuid) "
          + "AND consecutive_failures = 5 AND disabled_at IS NULL", first, second)).isEqualTo(2);
    } finally {
      if (deployment != null) {
        TestEnvironment.await(env.app().vertx().undeploy(deployment));
      }
      redeploy(env, served);
    }
  }

  /** Pending deliveries of {@code subscriptionId}, one per report (its order key), due now. */
  private static void insertDue(TestEnvironment env, String subscriptionId, List<UUID> reports) throws Exception {
    try (Connection c = env.jdbc(); java.sql.PreparedStatement ps = c.prepareStatement("INSERT INTO webhook_delivery "
        + "(subscription_id, event_id, event_type, message_id, order_key, body) "
        + "VALUES (?::uuid, ?, 'report.completed', ?, ?, ?)")) {
      for (int i = 0; i < reports.size(); i++) {
        ps.setString(1, subscriptionId);
        ps.setLong(2, 900_000_000L + i);
        ps.setString(3, "msg_" + UUID.randomUUID().toString().replace("-", ""));
        ps.setString(4, reports.get(i).toString());
        ps.setString(5, new JsonObject().put("type", "report.completed").put("timestamp", "2026-11-26T00:00:00Z")
            .put("data", new JsonObject().put("reportId", reports.get(i).toString())).encode());
        ps.addBatch();
      }
      ps.executeBatch();
    }
  }

  /**
   * When each delivery was claimed (its lease's end less the lease: the claim statement's time) and when it was
   * first seen with its attempt recorded, both on the database's clock.
   */
  private static final class SendTimes {
    final java.util.Map<Long, java.time.Instant> claimed = new java.util.HashMap<>();
    final java.util.Map<Long, java.time.Instant> ended = new java.util.HashMap<>();
    private final Duration lease;

    SendTimes(Duration lease) {
      this.lease = lease;
    }

    /** One look; true once five deliveries have been seen claimed. */
    boolean poll(TestEnvironment env, String... subscriptions) {
      try (Connection c = env.jdbc(); java.sql.PreparedStatement ps = c.prepareStatement("SELECT id, attempts, "
          + "lease_until, clock_timestamp() FROM webhook_delivery WHERE subscription_id = ANY (?::uuid[])")) {
        ps.setArray(1, c.createArrayOf("text", subscriptions));
        try (java.sql.ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            long id = rs.getLong(1);
            java.sql.Timestamp leaseUntil = rs.getTimestamp(3);
            if (rs.getInt(2) == 0 && leaseUntil != null) {
              claimed.putIfAbsent(id, leaseUntil.toInstant().minus(lease));
            } else if (rs.getInt(2) > 0) {
              ended.putIfAbsent(id, rs.getTimestamp(4).toInstant());
            }
          }
        }
      } catch (java.sql.SQLException e) {
        throw new IllegalStateException(e);
      }
      return claimed.size() >= 5;
    }
  }

  /** Undeploys the test service's own webhook workers (one id per instance, to deploy as many again). */
  private static List<String> undeployServedWorkers(TestEnvironment env) {
    var manager = ((io.vertx.core.internal.VertxInternal) env.app().vertx()).deploymentManager();
    List<String> instances = new java.util.ArrayList<>();
    for (var context : List.copyOf(manager.deployments())) {
      long n = context.deployment().instances().stream().filter(v -> v instanceof WebhookDeliveryVerticle).count();
      if (n > 0) {
        TestEnvironment.await(env.app().vertx().undeploy(context.id()));
        for (int i = 0; i < n; i++) {
          instances.add(context.id());
        }
      }
    }
    assertThat(instances).isNotEmpty();
    return instances;
  }

  @Test
  void aTwoHundredIsDeliveredThoughItsBodyNeverEnds(TestEnvironment env) throws Exception {
    try (Receiver receiver = new Receiver().start(0)) {
      receiver.status.set(200);
      receiver.trickle.set(true);
      String id = subscribe(env, partner(env, List.of(TONGZHOU)), receiver.url()).getString("id");
      report(env, "officer.zhang", TONGZHOU);
      // The status line is the receiver's answer: the endless body was waited for until the 10 s timeout, the
      // delivery recorded as failed (no status) and sent again.
      assertThat(eventually(() -> deliveries(env, id, "status = 'DELIVERED'") == 1)).isTrue();
      assertThat(deliveries(env, id, "attempts = 1 AND last_status = 200")).isEqualTo(1);
      assertThat(receiver.received).hasSize(1);
    }
  }

  @Test
  void theTargetIsCheckedAgainAtDelivery(TestEnvironment env) throws Exception {
    try (Receiver receiver = new Receiver().start(0)) {
      String token = partner(env, List.of(TONGZHOU));
      String id = subscribe(env, token, receiver.url()).getString("id");
      // What a DNS answer changed after subscription would do: the address is now a private one.
      try (Connection c = env.jdbc(); Statement st = c.createStatement()) {
        st.executeUpdate("UPDATE webhook_subscription SET url = 'http://10.1.2.3:" + receiver.port() + "/hook' WHERE id = '"
            + id + "'");
      }
      report(env, "officer.zhang", TONGZHOU);
      assertThat(eventually(() -> deliveries(env, id,
          "attempts >= 1 AND last_status IS NULL AND last_error LIKE 'refused target:%private%'") == 1)).isTrue();
      assertThat(receiver.list()).isEmpty();
    }
  }

  @Test
  void aRefusedNameDoesNotTellThePartnerWhatItResolvesTo(TestEnvironment env) throws Exception {
    // A worker with the production policy (loopback refused) in place of the test service's.
    List<String> served = undeployServedWorkers(env);
    org.frontline.Frontline instance = env.startApiInstance(java.util.Map.of("FRONTLINE_ROLES", "workers",
        "FRONTLINE_WEBHOOK_ALLOW_LOOPBACK", "false"));
    try (Receiver receiver = new Receiver().start(0)) {
      String token = partner(env, List.of(TONGZHOU));
      // As an internal name would: it passes the form check, and resolves (to 127.0.0.1) only at delivery.
      String id = subscribe(env, token, "https://localhost:" + receiver.port() + "/hook").getString("id");
      report(env, "officer.zhang", TONGZHOU);
      assertThat(eventually(() -> deliveries(env, id, "attempts >= 1") == 1)).isTrue();
      JsonObject delivery = ok(call(env, token, HttpMethod.GET, "/v1/webhooks/" + id + "/deliveries", null), 200)
          .getJsonArray("items").getJsonObject(0);
      assertThat(delivery.getString("status")).isEqualTo("PENDING");
      assertThat(delivery.getString("lastError")).startsWith("refused target: The host localhost does not resolve to an")
          .doesNotContain("127.0.0.1").doesNotContain("loopback");
      assertThat(receiver.list()).isEmpty();
    } finally {
      instance.stop().get(30, java.util.concurrent.TimeUnit.SECONDS);
      redeploy(env, served);
    }
  }

  @Test
  void aPersistentlyFailingSubscriptionIsDisabledAndItsAdminsAreAlerted(TestEnvironment env) throws Exception {
    try (Receiver receiver = new Receiver().start(0)) {
      receiver.status.set(500);
      String token = partner(env, List.of(TONGZHOU));
      String id = subscribe(env, token, receiver.url()).getString("id");
      report(env, "officer.zhang", TONGZHOU);
      assertThat(eventually(() -> count(env, "SELECT count(*) FROM webhook_subscription WHERE id = ?::uuid "
          + "AND consecutive_failures >= 1", id) == 1)).isTrue();
      assertThat(count(env, "SELECT count(*) FROM webhook_subscription WHERE id = ?::uuid AND disabled_at IS NULL", id))
          .isEqualTo(1);
      // As if it had failed for over a day already (the limits: 10 failures in a row, 1 day).
      try (Connection c = env.jdbc(); Statement st = c.createStatement()) {
        st.executeUpdate("UPDATE webhook_subscription SET failing_since = now() - interval '2 days', "
            + "consecutive_failures = 10 WHERE id = '" + id + "'");
      }
      assertThat(eventually(() -> count(env, "SELECT count(*) FROM webhook_subscription WHERE id = ?::uuid "
          + "AND disabled_at IS NOT NULL AND disabled_reason LIKE '%HTTP 500%'", id) == 1)).isTrue();
      assertThat(count(env, "SELECT count(*) FROM outbox WHERE event_type = 'webhook.disabled' AND aggregate_id = ?::uuid",
          id)).isEqualTo(1);
      assertThat(eventually(() -> count(env, "SELECT count(*) FROM notification n JOIN account a ON a.id = n.account_id "
          + "WHERE n.event_type = 'webhook.disabled' AND a.username = 'admin' AND n.data->>'subscriptionId' = ?", id) == 1))
          .isTrue();
      assertThat(count(env, "SELECT count(*) FROM notification n JOIN account a ON a.id = n.account_id "
          + "WHERE n.event_type = 'webhook.disabled' AND NOT ('admin' = ANY (a.roles))")).isZero();
      JsonObject shown = ok(call(env, token, HttpMethod.GET, "/v1/webhooks/" + id, null), 200);
      assertThat(shown.getString("status")).isEqualTo("DISABLED");
      // Disabled: nothing is sent any more, even when the receiver recovers...
      receiver.status.set(204);
      int before = receiver.received.size();
      Thread.sleep(400);
      assertThat(receiver.received.size()).isEqualTo(before);
      // ... until the partner enables it again: the pending delivery then goes out.
      assertThat(ok(call(env, token, HttpMethod.POST, "/v1/webhooks/" + id + "/enable", null), 200)
          .getString("status")).isEqualTo("ACTIVE");
      assertThat(eventually(() -> deliveries(env, id, "status = 'DELIVERED'") == 1)).isTrue();
    }
  }

  @Test
  void aDeliveryIsFailedForGoodAfterThreeDays(TestEnvironment env) throws Exception {
    try (Receiver receiver = new Receiver().start(0)) {
      receiver.status.set(503);
      String token = partner(env, List.of(TONGZHOU));
      String id = subscribe(env, token, receiver.url()).getString("id");
      report(env, "officer.zhang", TONGZHOU);
      assertThat(eventually(() -> deliveries(env, id, "attempts >= 1") == 1)).isTrue();
      try (Connection c = env.jdbc(); Statement st = c.createStatement()) {
        st.executeUpdate("UPDATE webhook_delivery SET created_at = now() - interval '3 days' WHERE subscription_id = '"
            + id + "'");
      }
      assertThat(eventually(() -> deliveries(env, id,
          "status = 'FAILED' AND finished_at IS NOT NULL AND last_status = 503") == 1)).isTrue();
    }
  }

  @Test
  void aPartnerReplaysADelivery(TestEnvironment env) throws Exception {
    try (Receiver receiver = new Receiver().start(0)) {
      String token = partner(env, List.of(TONGZHOU));
      JsonObject sub = subscribe(env, token, receiver.url());
      String id = sub.getString("id");
      report(env, "officer.zhang", TONGZHOU);
      assertThat(eventually(() -> receiver.received.size() == 1)).isTrue();
      assertThat(eventually(() -> deliveries(env, id, "status = 'DELIVERED'") == 1)).isTrue();
      JsonObject delivery = ok(call(env, token, HttpMethod.GET, "/v1/webhooks/" + id + "/deliveries", null), 200)
          .getJsonArray("items").getJsonObject(0);
      assertThat(delivery.getString("status")).isEqualTo("DELIVERED");
      JsonObject replay = ok(call(env, token, HttpMethod.POST, "/v1/webhooks/" + id + "/deliveries/"
          + delivery.getString("id") + "/replay", null), 202);
      assertThat(replay.getString("replayOf")).isEqualTo(delivery.getString("id"));
      assertThat(replay.getString("messageId")).isEqualTo(delivery.getString("messageId"));
      assertThat(replay.getString("status")).isEqualTo("PENDING");
      assertThat(eventually(() -> receiver.received.size() == 2)).isTrue();
      Received first = receiver.list().get(0);
      Received again = receiver.list().get(1);
      assertThat(again.headers().get("webhook-id")).isEqualTo(first.headers().get("webhook-id"));
      assertThat(again.body()).isEqualTo(first.body());
      assertThat(verify(sub.getString("secret"), again)).isEqualTo(1);
      assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'webhook.delivery.replay' "
          + "AND object_id = ?", id)).isEqualTo(1);
      assertThat(Set.of(delivery.getString("messageId"))).contains(again.headers().get("webhook-id"));
    }
  }

  @Test
  void aDisabledSubscriptionTakesNoReplayUntilEnabled(TestEnvironment env) throws Exception {
    try (Receiver receiver = new Receiver().start(0)) {
      String token = partner(env, List.of(TONGZHOU));
      String id = subscribe(env, token, receiver.url()).getString("id");
      report(env, "officer.zhang", TONGZHOU);
      assertThat(eventually(() -> deliveries(env, id, "status = 'DELIVERED'") == 1)).isTrue();
      String delivery = ok(call(env, token, HttpMethod.GET, "/v1/webhooks/" + id + "/deliveries", null), 200)
          .getJsonArray("items").getJsonObject(0).getString("id");
      // As the worker disables it after a day of failures.
      try (Connection c = env.jdbc(); Statement st = c.createStatement()) {
        st.executeUpdate("UPDATE webhook_subscription SET disabled_at = now(), disabled_reason = 'HTTP 500' "
            + "WHERE id = '" + id + "'");
      }
      String replay = "/v1/webhooks/" + id + "/deliveries/" + delivery + "/replay";
      for (int i = 0; i < 3; i++) {
        assertProblem(call(env, token, HttpMethod.POST, replay, null), 409, "urn:frontline:problem:conflict");
      }
      assertThat(deliveries(env, id, "replay_of IS NOT NULL")).isZero();
      assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'webhook.delivery.replay' "
          + "AND object_id = ?", id)).isZero();
      // Enabled again, the replay is taken and sent.
      ok(call(env, token, HttpMethod.POST, "/v1/webhooks/" + id + "/enable", null), 200);
      ok(call(env, token, HttpMethod.POST, replay, null), 202);
      assertThat(eventually(() -> receiver.received.size() == 2)).isTrue();
      assertThat(deliveries(env, id, "replay_of IS NOT NULL AND status = 'DELIVERED'")).isEqualTo(1);
      assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'webhook.delivery.replay' "
          + "AND object_id = ?", id)).isEqualTo(1);
    }
  }

  /** Makes the subscription's pending deliveries that no worker holds due at once (their backoff skipped). */
  private static void dueNow(TestEnvironment env, String subscriptionId) {
    try (Connection c = env.jdbc(); java.sql.PreparedStatement ps = c.prepareStatement("UPDATE webhook_delivery"
        + " SET next_attempt_at = now() WHERE subscription_id = ?::uuid AND status = 'PENDING' AND claimed_by IS NULL")) {
      ps.setString(1, subscriptionId);
      ps.executeUpdate();
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
  }
}
