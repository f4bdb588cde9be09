package org.frontline.platform.push;

import com.google.firebase.FirebaseApp;
import com.google.firebase.messaging.BatchResponse;
import com.google.firebase.messaging.FirebaseMessaging;
import com.google.firebase.messaging.Message;
import io.vertx.core.json.JsonObject;
import org.frontline.dev.DemoOrganisation;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.testing.TestEnvironment.await;

/**
 * bench/push: fan-out of alerts to the local fake FCM through the whole dispatcher path (outbox events -> alerts ->
 * deliveries -> firebase-admin sendEach -> outcomes recorded), beside the same fake driven directly with the same
 * batches (firebase-admin sendEach of 500, one batch after another, as the gateway does, without our dispatcher),
 * in the same run. Not a test: its name matches no surefire pattern and it runs only with -Dfrontline.bench=true
 * (bench/push.sh). Sizes: -Dbench.events (default 1000) report events, each alerting supervisor.hanjiang's
 * -Dbench.devices (default 10) devices.
 */
@FrontlineTest
@EnabledIfSystemProperty(named = "frontline.bench", matches = "true")
class PushBench {

  @Test
  void fanOut(TestEnvironment env) throws Exception {
    int events = Integer.getInteger("bench.events", 1000);
    int devices = Integer.getInteger("bench.devices", 10);
    int alerts = events * devices;
    UUID supervisor = DemoOrganisation.ACCOUNTS.stream().filter(a -> a.username().equals("supervisor.hanjiang"))
        .findFirst().orElseThrow().id();
    List<String> tokens = new ArrayList<>();
    try (Connection c = env.jdbc(); PreparedStatement ps = c.prepareStatement(
        "INSERT INTO device (id, account_id, token, platform, locale) VALUES (?, ?, ?, 'android', 'zh-CN')")) {
      for (int i = 0; i < devices; i++) {
        String token = "bench-device-" + i;
        tokens.add(token);
        ps.setObject(1, UUID.randomUUID());
        ps.setObject(2, supervisor);
        ps.setString(3, token);
        ps.addBatch();
      }
      ps.executeBatch();
    }
    FirebaseApp app = FirebaseApp.initializeApp(env.fcm().firebaseOptions(), "bench-direct");
    try {
      FirebaseMessaging direct = FirebaseMessaging.getInstance(app);
      // Warm-up of both paths (JIT, connections, the SDK's thread pool).
      dispatcherPath(env, Math.max(1, 100 / devices) , devices);
      directPath(direct, tokens, 1000);
      env.fcm().reset();

      double[] viaDispatcher = new double[2];
      double[] viaDirect = new double[2];
      for (int run = 0; run < 2; run++) {
        viaDirect[run] = directPath(direct, tokens, alerts);
        viaDispatcher[run] = dispatcherPath(env, events, devices);
        env.fcm().reset();
      }
      double d = Math.max(viaDispatcher[0], viaDispatcher[1]);
      double x = Math.max(viaDirect[0], viaDirect[1]);
      System.out.printf("%nbench/push: %d alerts (%d events x %d devices), 2 runs each, best run%n", alerts, events,
          devices);
      System.out.printf("  runs: dispatcher %.0f / %.0f alerts/s; direct sendEach %.0f / %.0f alerts/s%n",
          viaDispatcher[0], viaDispatcher[1], viaDirect[0], viaDirect[1]);
      System.out.printf("  dispatcher path (outbox -> FCM, recorded): %8.0f alerts/s%n", d);
      System.out.printf("  fake FCM driven directly (sendEach x500):  %8.0f alerts/s%n", x);
      System.out.printf("  ratio: %.2f (target >= 0.8)%n%n", d / x);
    } finally {
      app.delete();
    }
  }

  /** Writes {@code events} report.completed events, waits until every delivery is SENT; alerts per second. */
  private static double dispatcherPath(TestEnvironment env, int events, int devices) throws Exception {
    long before = count(env, "SELECT count(*) FROM push_delivery WHERE status = 'SENT'");
    long target = before + (long) events * devices;
    long t0;
    try (Connection c = env.jdbc(); PreparedStatement ps = c.prepareStatement("INSERT INTO outbox (event_type,"
        + " aggregate_type, aggregate_id, unit_id, payload) VALUES ('report.completed', 'report', ?, ?, ?::jsonb)")) {
      c.setAutoCommit(false);
      for (int i = 0; i < events; i++) {
        UUID reportId = UUID.randomUUID();
        ps.setObject(1, reportId);
        ps.setObject(2, DemoOrganisation.HUAISI);
        ps.setString(3, new JsonObject().put("reportId", reportId.toString())
            .put("unitId", DemoOrganisation.HUAISI.toString()).put("type", "SITE").encode());
        ps.addBatch();
      }
      ps.executeBatch();
      t0 = System.nanoTime();
      c.commit();
    }
    long deadline = t0 + Duration.ofMinutes(10).toNanos();
    long written = 0;
    // Polled with the partial indexes of pending work only: a count(*) of all SENT rows every 20 ms (a scan of the
    // growing table) took a good part of a core from the dispatcher it was timing.
    while (true) {
      assertThat(System.nanoTime()).as("all sent within 10 minutes").isLessThan(deadline);
      boolean eventsLeft = count(env, "SELECT count(*) FROM outbox WHERE dispatched_at IS NULL") > 0;
      if (written == 0 && !eventsLeft) {
        written = System.nanoTime();
      }
      if (!eventsLeft && count(env, "SELECT count(*) FROM push_delivery WHERE status = 'PENDING'") == 0) {
        break;
      }
      Thread.sleep(20);
    }
    assertThat(count(env, "SELECT count(*) FROM push_delivery WHERE status = 'SENT'")).isEqualTo(target);
    double seconds = (System.nanoTime() - t0) / 1e9;
    System.out.printf("  dispatcher run: %d events dispatched (alerts written) after %.1f s, all %d sent after %.1f s%n",
        events, ((written == 0 ? System.nanoTime() : written) - t0) / 1e9, events * devices, seconds);
    assertThat(count(env, "SELECT count(*) FROM push_delivery WHERE status <> 'SENT'")).isZero();
    return events * devices / seconds;
  }

  /** The same messages, sendEach in batches of 500, one after another; alerts per second. */
  private static double directPath(FirebaseMessaging direct, List<String> tokens, int alerts) throws Exception {
    List<Message> messages = new ArrayList<>(alerts);
    Instant now = Instant.now();
    for (int i = 0; i < alerts; i++) {
      String reportId = UUID.randomUUID().toString();
      messages.add(FirebasePushGateway.toFcm(new PushMessage(tokens.get(i % tokens.size()), "新的现场报告",
          "槐泗镇 提交了一份现场报告。", Map.of("eventType", "report.completed", "reportId", reportId,
          "unitId", DemoOrganisation.HUAISI.toString()), reportId, true, Duration.ofDays(1)), now));
    }
    long t0 = System.nanoTime();
    int ok = 0;
    for (int from = 0; from < alerts; from += 500) {
      BatchResponse r = direct.sendEach(messages.subList(from, Math.min(alerts, from + 500)));
      ok += r.getSuccessCount();
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    assertThat(ok).isEqualTo(alerts);
    return alerts / seconds;
  }

  private static long count(TestEnvironment env, String sql) throws Exception {
    try (Connection c = env.jdbc(); PreparedStatement ps = c.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
