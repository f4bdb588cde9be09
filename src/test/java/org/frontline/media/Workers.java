package org.frontline.media;

import io.micrometer.core.instrument.Meter;
import io.vertx.core.Deployable;
import io.vertx.core.internal.VertxInternal;
import org.frontline.Frontline;
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
    stopMediaWorker(env.app());
  }

  static void startMediaWorker(TestEnvironment env) {
    startMediaWorker(env.app());
  }

  /** As {@link #stopMediaWorker(TestEnvironment)}, on another instance of the service. */
  static void stopMediaWorker(Frontline app) {
    undeploy(app, MediaWorkerVerticle.class);
  }

  /** As {@link #startMediaWorker(TestEnvironment)}, on another instance of the service. */
  static void startMediaWorker(Frontline app) {
    start(app, "frontline.media.", () -> new MediaWorkerVerticle(app.database(), app.objectStore(), app.blocking(),
        MediaWorkerVerticle.Settings.defaults(), app.registry()));
  }

  static void stopReportChecker(TestEnvironment env) {
    undeploy(env.app(), ReportChecksVerticle.class);
  }

  static void startReportChecker(TestEnvironment env) {
    start(env.app(), "frontline.report.checks.", () -> new ReportChecksVerticle(env.app().database(),
        ReportChecksVerticle.Settings.defaults(), env.app().registry()));
  }

  private static void undeploy(Frontline app, Class<?> worker) {
    var manager = ((VertxInternal) app.vertx()).deploymentManager();
    for (var context : List.copyOf(manager.deployments())) {
      if (context.deployment().instances().stream().anyMatch(worker::isInstance)) {
        await(app.vertx().undeploy(context.id()));
      }
    }
  }

  /** The worker is made after the gauges are removed: it registers its own in its constructor. */
  private static void start(Frontline app, String gauges, Supplier<Deployable> worker) {
    var registry = app.registry();
    for (Meter meter : List.copyOf(registry.getMeters())) {
      if (meter.getId().getType() == Meter.Type.GAUGE && meter.getId().getName().startsWith(gauges)) {
        registry.remove(meter);
      }
    }
    await(app.vertx().deployVerticle(worker.get()));
  }
}
