package org.frontline.notify;

import com.google.firebase.FirebaseApp;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.json.JsonObject;
import org.frontline.platform.db.Database;
import org.frontline.platform.push.FakeFcmServer;
import org.frontline.platform.push.FirebasePushGateway;
import org.frontline.platform.push.PushGateway;
import org.frontline.platform.push.PushMessage;
import org.frontline.platform.push.PushResult;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.notify.Alerts.awaitUntil;
import static org.frontline.notify.Alerts.count;
import static org.frontline.notify.Alerts.device;
import static org.frontline.testing.TestEnvironment.await;

/**
 * Two dispatcher instances over the same database, 10,000 events, and one instance killed mid-batch. The instances
 * are the service's own dispatcher and a second one with its own Vert.x, database pool and FirebaseApp (as another
 * process would have), with a short lease. Its own class: the data is reset per class, so no device registered by
 * another test receives these alerts.
 *
 * <p>The kill: the second instance's push gateway is stopped from sending at a moment when its send loops have
 * recorded everything they sent and have each claimed a new batch (they hang inside {@code send}, before any byte
 * goes to FCM); then its Vert.x is closed: its pool's connections are closed, so PostgreSQL rolls back whatever event
 * transaction it had open, and nothing releases its claims (a dispatcher has no code that does: a crashed process
 * could not run it). Its claimed deliveries, and the events it had claimed, stay leased until the lease expires.
 * Why not close it at any instant: a push FCM accepted whose outcome the instance dies before recording cannot be
 * told from one never sent, so it is sent again (at-least-once; the collapse key makes the copy replace the first
 * on the device). This test asserts the stronger exactly-once at the fake FCM, so it kills at a point where that
 * must hold.
 */
@FrontlineTest
class DispatcherFailoverTest {
  private static final int EVENTS = 10_000;
  /**
   * Short, so the test does not wait long for the abandoned work, yet longer than any send round of a live instance
   * on a loaded machine: a lease that expires under a live instance lets another one send the same delivery again
   * (at-least-once, by design), which the exactly-once assertions below would report.
   */
  private static final Duration LEASE = Duration.ofSeconds(10);

  /** A gateway that, once closed, holds every send forever: the instance is stuck before anything leaves it. */
  private static final class Gate implements PushGateway {
    private final PushGateway delegate;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicInteger passed = new AtomicInteger();
    private final AtomicInteger held = new AtomicInteger();
    private final AtomicInteger heldCalls = new AtomicInteger();
    private final List<Promise<List<PushResult>>> holding = new java.util.concurrent.CopyOnWriteArrayList<>();

    Gate(PushGateway delegate) {
      this.delegate = delegate;
    }

    @Override
    public Future<List<PushResult>> send(List<PushMessage> messages) {
      if (closed.get()) {
        held.addAndGet(messages.size());
        heldCalls.incrementAndGet();
        Promise<List<PushResult>> hold = Promise.promise();
        holding.add(hold);
        return hold.future();
      }
      return delegate.send(messages).onSuccess(r -> passed.addAndGet(messages.size()));
    }

    @Override
    public String name() {
      return "gated";
    }

    /** The held sends end as a dead process's would: with a failure nothing can record. */
    void failHeld() {
      holding.forEach(h -> h.tryFail("killed"));
    }
  }

  @Test
  void tenThousandEventsTwoInstancesOneKilledMidBatch(TestEnvironment env) throws Exception {
    device(env, "supervisor.hanjiang", "failover-hanjiang");
    device(env, "supervisor.tongzhou", "failover-tongzhou");

    Vertx otherVertx = Vertx.vertx();
    Database otherDatabase = Database.connect(otherVertx, env.databaseConfig());
    WorkerExecutor otherWorker = otherVertx.createSharedWorkerExecutor("failover-blocking", 2);
    Gate gate = new Gate(FirebasePushGateway.create(otherVertx, otherWorker, env.fcm().firebaseOptions(),
        "failover-other"));
    OutboxDispatcherVerticle other = new OutboxDispatcherVerticle(otherDatabase, gate,
        OutboxDispatcherVerticle.Settings.defaults().withLease(LEASE));
    boolean killed = false;
    try {
      await(otherVertx.deployVerticle(other));
      Map<UUID, UUID> unitOfReport = writeEvents(env);

      // Let the other instance take part, then stop its sends and wait until its send loop is stuck holding a
      // claimed batch (so everything it sent before is recorded), ideally while it also holds claimed events.
      awaitUntil(Duration.ofSeconds(60), "the other instance sent something", () -> gate.passed.get() > 0);
      gate.closed.set(true);
      // Every send loop stuck on a claimed batch: each loop records a round before it claims the next, so nothing
      // it sent is left unrecorded.
      awaitUntil(Duration.ofSeconds(60), "every send loop of the other instance holding a claimed batch",
          () -> gate.heldCalls.get() == OutboxDispatcherVerticle.SEND_LANES);
      String instance = other.instance();
      try {
        awaitUntil(Duration.ofSeconds(5), "the other instance holding claimed events", () -> count(env,
            "SELECT count(*) FROM outbox WHERE claimed_by = ? AND dispatched_at IS NULL", instance) > 0);
      } catch (AssertionError eventsAllGone) {
        // The event stage may be over already: the claimed deliveries alone still test the lease.
      }
      // Killed: its connections go first (nothing more of it reaches the database), then its held sends end, so
      // its stop, which waits for the loops at work, has nothing to wait for.
      await(otherDatabase.close());
      gate.failHeld();
      await(otherVertx.close());
      killed = true;

      // What it abandoned: claims with a live lease that nobody released.
      // Deliveries are claimed per batch, under the instance's name plus the batch's number.
      Map<Long, OffsetDateTime> abandonedDeliveries = leases(env,
          "SELECT id, lease_until FROM push_delivery WHERE starts_with(claimed_by, ?) AND status = 'PENDING'",
          instance + ":");
      Map<Long, OffsetDateTime> abandonedEvents = leases(env,
          "SELECT id, lease_until FROM outbox WHERE claimed_by = ? AND dispatched_at IS NULL", instance);
      assertThat(abandonedDeliveries).as("deliveries left claimed by the killed instance").isNotEmpty();
      assertThat(abandonedDeliveries).hasSize(gate.held.get());
      System.out.printf("killed instance: %d pushes sent before, %d deliveries and %d events abandoned%n",
          gate.passed.get(), abandonedDeliveries.size(), abandonedEvents.size());

      awaitUntil(Duration.ofSeconds(120), "every alert sent", () -> count(env,
          "SELECT count(*) FROM push_delivery WHERE status = 'SENT'") == EVENTS);
      Thread.sleep(1000); // another round or two: nothing more goes out

      // Rows: every event dispatched, the abandoned ones claimed again after their lease; one notification and one
      // delivery per (event, recipient, device), all SENT, no claim left.
      assertThat(count(env, "SELECT count(*) FROM outbox WHERE dispatched_at IS NULL")).isZero();
      assertThat(count(env, "SELECT count(*) FROM outbox WHERE id = ANY (?) AND claims >= 2 AND claimed_by <> ?"
          + " AND dispatched_at IS NOT NULL", (Object) abandonedEvents.keySet().toArray(Long[]::new), instance))
          .isEqualTo(abandonedEvents.size());
      assertThat(count(env, "SELECT count(*) FROM notification")).isEqualTo(EVENTS);
      assertThat(count(env, "SELECT count(DISTINCT event_id) FROM notification")).isEqualTo(EVENTS);
      assertThat(count(env, "SELECT count(*) FROM notification n JOIN outbox o ON o.id = n.event_id"
          + " WHERE n.account_id = CASE WHEN o.unit_id = ? THEN ?::uuid ELSE ?::uuid END", HUAISI,
          Alerts.accountId("supervisor.hanjiang"), Alerts.accountId("supervisor.tongzhou"))).isEqualTo(EVENTS);
      assertThat(count(env, "SELECT count(*) FROM push_delivery")).isEqualTo(EVENTS);
      assertThat(count(env, "SELECT count(*) FROM push_delivery WHERE status <> 'SENT' OR claimed_by IS NOT NULL"
          + " OR lease_until IS NOT NULL OR attempts <> 1")).isZero();
      // The abandoned deliveries were sent by the surviving instance, once their lease had expired.
      Map<Long, OffsetDateTime> deliveredAt = leases(env,
          "SELECT id, delivered_at FROM push_delivery WHERE id = ANY (?)",
          (Object) abandonedDeliveries.keySet().toArray(Long[]::new));
      assertThat(deliveredAt).hasSize(abandonedDeliveries.size());
      abandonedDeliveries.forEach((id, leaseUntil) -> assertThat(deliveredAt.get(id)).isAfter(leaseUntil));

      // The fake FCM: each alert pushed exactly once, to its recipient's device only, none missing.
      Map<String, Set<String>> expected = new HashMap<>();
      unitOfReport.forEach((report, unit) -> expected.computeIfAbsent(
          unit.equals(HUAISI) ? "failover-hanjiang" : "failover-tongzhou", k -> new HashSet<>()).add(report.toString()));
      // Counted on this test's two devices: the fake FCM is shared, and a push of the previous test class (a
      // delivery a send lane had claimed before the data was reset) may still land after the reset of the class.
      // No other device exists in this class's data, so these are all the pushes this test caused.
      assertThat(env.fcm().requests().stream().filter(r -> expected.containsKey(r.token()))).hasSize(EVENTS);
      for (Map.Entry<String, Set<String>> device : expected.entrySet()) {
        List<FakeFcmServer.Request> requests = env.fcm().requestsFor(device.getKey());
        assertThat(requests).allMatch(r -> r.status() == 200);
        Map<String, Long> perReport = requests.stream()
            .collect(Collectors.groupingBy(r -> r.data().getString("reportId"), Collectors.counting()));
        assertThat(perReport.values()).as("pushes per report on " + device.getKey()).allMatch(n -> n == 1);
        assertThat(perReport.keySet()).isEqualTo(device.getValue());
      }
    } finally {
      if (!killed) {
        gate.failHeld();
        await(otherVertx.close());
      }
      FirebaseApp.getInstance("failover-other").delete();
    }
  }

  /** 10,000 report.completed events, alternately in Huaisi (Hanjiang's supervisor) and Tongzhou; report -> unit. */
  private static Map<UUID, UUID> writeEvents(TestEnvironment env) throws Exception {
    Map<UUID, UUID> unitOfReport = new HashMap<>();
    try (Connection c = env.jdbc(); PreparedStatement ps = c.prepareStatement("INSERT INTO outbox (event_type,"
        + " aggregate_type, aggregate_id, unit_id, payload) VALUES ('report.completed', 'report', ?, ?, ?::jsonb)")) {
      c.setAutoCommit(false);
      for (int i = 0; i < EVENTS; i++) {
        UUID report = UUID.randomUUID();
        UUID unit = i % 2 == 0 ? HUAISI : TONGZHOU;
        ps.setObject(1, report);
        ps.setObject(2, unit);
        ps.setString(3, new JsonObject().put("reportId", report.toString()).put("unitId", unit.toString())
            .put("type", "SITE").encode());
        ps.addBatch();
        unitOfReport.put(report, unit);
      }
      ps.executeBatch();
      c.commit();
    }
    return unitOfReport;
  }

  /** id -> a timestamp column, from a query of (bigint id, timestamptz). */
  private static Map<Long, OffsetDateTime> leases(TestEnvironment env, String sql, Object... params) throws Exception {
    Map<Long, OffsetDateTime> out = new HashMap<>();
    try (Connection c = env.jdbc(); PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < params.length; i++) {
        if (params[i] instanceof Long[] ids) {
          ps.setArray(i + 1, c.createArrayOf("bigint", ids));
        } else {
          ps.setObject(i + 1, params[i]);
        }
      }
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.put(rs.getLong(1), rs.getObject(2, OffsetDateTime.class));
        }
      }
    }
    return out;
  }
}
