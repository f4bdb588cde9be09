package org.frontline.media;

import io.micrometer.core.instrument.Meter;
import io.vertx.core.Deployable;
import io.vertx.core.internal.VertxInternal;
import org.frontline.evidence.MediaWorkerVerticle;
import org.frontline.evidence.ReportChecksVerticle;
import org.frontline.testing.TestEnvironment;

import java.util.List;
import java.util.function.Supplier;

import static org.frontline.testing.TestEnvironment.await;

/**
 * Stops and starts the evidence workers the shared service deployed (the media worker, the report checker), so a
 * test can read what a report looks like before its checks ran. {@link #start} deploys one again with the service's
 * settings; the stopped instance's backlog gauges are removed first (a gauge registered again under the same name
 * would stay bound to the stopped instance's frozen figures).
 */
final class Workers {
  private Workers() {}

  static void stopMediaWorker(TestEnvironment env) {
    undeploy(env, MediaWorkerVerticle.class);
  }

  static void startMediaWorker(TestEnvironment env) {
    start(env, "frontline.media.", () -> new MediaWorkerVerticle(env.app().database(), env.app().objectStore(),
        env.app().blocking(), MediaWorkerVerticle.Settings.defaults(), env.app().registry()));
  }

  static void stopReportChecker(TestEnvironment env) {
    undeploy(env, ReportChecksVerticle.class);
  }

  static void startReportChecker(TestEnvironment env) {
    start(env, "frontline.report.checks.", () -> new ReportChecksVerticle(env.app().database(),
        ReportChecksVerticle.Settings.defaults(), env.app().registry()));
  }

  private static void undeploy(TestEnvironment env, Class<?> worker) {
    var manager = ((VertxInternal) env.app().vertx()).deploymentManager();
    for (var context : List.copyOf(manager.deployments())) {
      if (context.deployment().instances().stream().anyMatch(worker::isInstance)) {
        await(env.app().vertx().undeploy(context.id()));
      }
    }
  }

  /** The worker is made after the gauges are removed: it registers its own in its constructor. */
  private static void start(TestEnvironment env, String gauges, Supplier<Deployable> worker) {
    var registry = env.app().registry();
    for (Meter meter : List.copyOf(registry.getMeters())) {
      if (meter.getId().getType() == Meter.Type.GAUGE && meter.getId().getName().startsWith(gauges)) {
        registry.remove(meter);
      }
    }
    await(env.app().vertx().deployVerticle(worker.get()));
  }
}
