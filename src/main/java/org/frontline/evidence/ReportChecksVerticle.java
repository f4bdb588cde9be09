package org.frontline.evidence;

import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import org.frontline.media.EvidenceCheck;
import org.frontline.media.EvidenceChecks;
import org.frontline.media.EvidenceThresholds;
import org.frontline.media.ReportLocation;
import org.frontline.platform.RoundFailures;
import org.frontline.platform.RoundsInFlight;
import org.frontline.platform.db.Database;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * The report-level evidence checks (mock location, capturedAt vs receipt) of COMPLETE reports without photos, off
 * the request path: each round takes a batch of reports still due in one transaction ({@code FOR NO KEY UPDATE SKIP
 * LOCKED}: any number of instances, in this process or others, share the work and never check one report twice) and
 * records their checks, flag and {@code report.evidence-flagged} event exactly as the media worker does for a
 * report's first photo ({@link EvidenceRepository#checkReports}). The checks are a few comparisons: computed on this
 * event loop, no blocking work. Its backlog, COMPLETE reports still due, is kept in two gauges
 * ({@code frontline_report_checks_pending}, {@code frontline_report_checks_oldest_pending_age_seconds}) refreshed
 * every {@link MediaWorkerVerticle#BACKLOG_EVERY} from the claim's partial index, as the media worker's.
 */
public final class ReportChecksVerticle extends VerticleBase {
  private static final Logger log = LoggerFactory.getLogger(ReportChecksVerticle.class);

  /** Reports per round (one transaction), and the pauses after a round that found some or none. */
  public record Settings(int batch, Duration busyDelay, Duration idleDelay) {
    public static Settings defaults() {
      return new Settings(100, Duration.ofMillis(10), Duration.ofMillis(500));
    }
  }

  private final EvidenceRepository repository;
  private final Settings settings;
  private final EvidenceChecks checks = new EvidenceChecks(EvidenceThresholds.DEFAULT);
  private final RoundFailures rounds = new RoundFailures(log, "report checks round");
  /** The round at work, which {@link #stop} waits for (MediaWorkerVerticle.stop). */
  private final RoundsInFlight inFlight = new RoundsInFlight("report check rounds");
  private final BacklogGauges backlog;
  private volatile boolean stopping;
  private long timer = -1;
  private long backlogTimer = -1;

  public ReportChecksVerticle(Database database, Settings settings, MeterRegistry registry) {
    this.repository = new EvidenceRepository(database.pool());
    this.settings = Objects.requireNonNull(settings, "settings");
    this.backlog = new BacklogGauges(registry, "frontline.report.checks", "COMPLETE reports",
        "their report-level evidence checks");
  }

  @Override
  public Future<?> start() {
    schedule(Duration.ofMillis(10));
    backlogTimer = BacklogGauges.refreshEvery(vertx, MediaWorkerVerticle.BACKLOG_EVERY, repository::reportBacklog,
        backlog::set, log, "report checks backlog");
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    vertx.cancelTimer(timer);
    vertx.cancelTimer(backlogTimer);
    return inFlight.idle(vertx);
  }

  private void schedule(Duration delay) {
    if (!stopping) {
      timer = vertx.setTimer(Math.max(1, delay.toMillis()), id -> round());
    }
  }

  private void round() {
    inFlight.track(repository.checkReports(settings.batch(), this::reportChecks)).onComplete(ar -> {
      rounds.record(ar);
      if (ar.failed()) {
        schedule(settings.idleDelay());
        return;
      }
      if (ar.result().flagged() > 0) {
        log.info("{} report(s) without photos flagged by their report-level checks", ar.result().flagged());
      }
      schedule(ar.result().reports() > 0 ? settings.busyDelay() : settings.idleDelay());
    });
  }

  private List<EvidenceCheck> reportChecks(EvidenceRepository.DueReport report) {
    return checks.reportChecks(new ReportLocation(report.lat(), report.lon(), report.accuracyM(), report.mock()),
        report.capturedAt(), report.receivedAt().toInstant());
  }
}
