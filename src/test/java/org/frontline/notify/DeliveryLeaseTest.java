package org.frontline.notify;

import io.micrometer.core.instrument.Meter;
import io.vertx.core.internal.VertxInternal;
import org.frontline.config.FrontlineConfig;
import org.frontline.platform.push.FakeFcmServer;
import org.frontline.platform.push.FakeFcmServer.Outcome;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.notify.Alerts.awaitUntil;
import static org.frontline.notify.Alerts.deliveryStatus;
import static org.frontline.notify.Alerts.device;
import static org.frontline.notify.Alerts.reportCompleted;
import static org.frontline.testing.TestEnvironment.await;

/**
 * A send that outlasts the lease of its batch. The service's own dispatcher is replaced, for this test, by one with
 * a short lease (so that nothing else claims the test's deliveries), and put back afterwards as the service runs it.
 */
@FrontlineTest
class DeliveryLeaseTest {
  private static final Duration LEASE = Duration.ofSeconds(2);

  /**
   * FCM answers 503 with Retry-After: 2 three times: the SDK waits and retries inside one sendEach, about 6 s, three
   * leases. Before the lease was renewed during a send, the dispatcher's other send lane claimed the same delivery
   * once the lease had run out and pushed it too: two 200s reached the phone.
   */
  @Test
  void aSendThatOutlastsItsLeaseIsNotClaimedAndPushedAgain(TestEnvironment env) throws Exception {
    device(env, "supervisor.hanjiang", "slow-fcm-phone");
    env.fcm().respond("slow-fcm-phone", Outcome.unavailable("2"), Outcome.unavailable("2"), Outcome.unavailable("2"),
        Outcome.success());
    List<String> served = undeployServedDispatchers(env);
    String deployment = null;
    try {
      deployment = await(env.app().vertx().deployVerticle(new OutboxDispatcherVerticle(env.app().database(),
          env.app().push(), OutboxDispatcherVerticle.Settings.defaults().withLease(LEASE))));
      UUID report = reportCompleted(env, HUAISI);
      awaitUntil(Duration.ofSeconds(30), "the push delivered",
          () -> "SENT".equals(deliveryStatus(env, report, "slow-fcm-phone")));
      Thread.sleep(LEASE.toMillis() * 2); // a late second send would land now

      assertThat(env.fcm().requestsFor("slow-fcm-phone")).extracting(FakeFcmServer.Request::status)
          .containsExactly(503, 503, 503, 200);
      assertThat(env.string("SELECT concat_ws('|', p.status, p.attempts, coalesce(p.claimed_by, '-'),"
          + " p.lease_until IS NULL) FROM push_delivery p JOIN outbox o ON o.id = p.event_id"
          + " JOIN device d ON d.id = p.device_id WHERE o.aggregate_id = ? AND d.token = 'slow-fcm-phone'", report))
          .isEqualTo("SENT|1|-|t");
    } finally {
      if (deployment != null) {
        await(env.app().vertx().undeploy(deployment));
      }
      redeployServedDispatchers(env, served.size());
    }
  }

  /** Undeploys the service's own dispatcher (one entry per instance, to deploy as many again). */
  static List<String> undeployServedDispatchers(TestEnvironment env) {
    var manager = ((VertxInternal) env.app().vertx()).deploymentManager();
    List<String> instances = new ArrayList<>();
    for (var context : List.copyOf(manager.deployments())) {
      long n = context.deployment().instances().stream().filter(v -> v instanceof OutboxDispatcherVerticle).count();
      if (n > 0) {
        await(env.app().vertx().undeploy(context.id()));
        for (int i = 0; i < n; i++) {
          instances.add(context.id());
        }
      }
    }
    assertThat(instances).isNotEmpty();
    return instances;
  }

  /**
   * Deploys the service's dispatcher again, with the settings Frontline gives it and its meters on the service's
   * registry. The undeployed one's gauges are removed first: a gauge registered again under the same name would
   * stay bound to the old instance's values.
   */
  static void redeployServedDispatchers(TestEnvironment env, int instances) {
    var registry = env.app().registry();
    for (Meter meter : List.copyOf(registry.getMeters())) {
      if (meter.getId().getType() == Meter.Type.GAUGE && (meter.getId().getName().startsWith("frontline.outbox.")
          || meter.getId().getName().equals("frontline.push.pending"))) {
        registry.remove(meter);
      }
    }
    FrontlineConfig.Push push = env.app().config().push();
    OutboxDispatcherVerticle.Settings settings = OutboxDispatcherVerticle.Settings.defaults()
        .withFlood(push.digestAfter() == 0 ? FloodControl.OFF : new FloodControl(push.digestAfter(), push.digestWindow()))
        .withEscalation(push.escalateAfter(), AlertRules.urgentKinds());
    for (int i = 0; i < instances; i++) {
      await(env.app().vertx().deployVerticle(new OutboxDispatcherVerticle(env.app().database(), env.app().push(),
          settings, env.app().audit(), registry)));
    }
  }
}
