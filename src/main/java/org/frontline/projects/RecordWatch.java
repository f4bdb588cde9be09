package org.frontline.projects;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import org.frontline.platform.PeriodicRounds;
import org.frontline.platform.RoundFailures;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The passing of time for work records: a milestone becomes at risk (planned-to-date grows daily) or overdue, a
 * service request passes its SLA, with nobody writing anything. Progress writes judge their milestone themselves;
 * this periodic check judges the rest, with the injected clock.
 *
 * <p>Safe with several instances: each milestone is judged in its own transaction under its row lock (waited for:
 * one row per transaction cannot deadlock), and every event is written by the conditional UPDATE that flips the
 * state column (see {@link MilestoneAlerts}); an overdue request is flipped and its event written by one statement.
 */
public final class RecordWatch {
  private static final Logger log = LoggerFactory.getLogger(RecordWatch.class);
  public static final String REQUEST_OVERDUE = "service-request.overdue";
  static final int BATCH = 200;

  private final Pool pool;
  private final MilestoneAlerts alerts;
  private final Clock clock;
  private final PeriodicRounds<Integer> periodic = new PeriodicRounds<>(this::check,
      new RoundFailures(log, "work record check"), written -> {
        if (written > 0) {
          log.info("work record check wrote {} events", written);
        }
      });

  public RecordWatch(Pool pool, MilestoneAlerts alerts, Clock clock) {
    this.pool = pool;
    this.alerts = alerts;
    this.clock = clock;
  }

  /** Checks every {@code interval} (the first time after one interval). */
  public void start(Vertx vertx, Duration interval) {
    periodic.start(vertx, interval);
  }

  public Future<Void> stop(Vertx vertx) {
    return periodic.stop(vertx);
  }

  /** One check now: the number of events written. */
  public Future<Integer> check() {
    OffsetDateTime now = OffsetDateTime.now(clock).withOffsetSameInstant(ZoneOffset.UTC);
    LocalDate today = LocalDate.now(clock.withZone(ProjectService.ZONE));
    return overdueRequests(now).compose(requests -> milestones(null, today, now).map(ms -> requests + ms));
  }

  /**
   * Flips and announces every open request past its SLA, in one statement per batch; not at a retired unit, whose
   * records take no more writes (an open request there predates the rule that a unit is retired only once its
   * requests are closed): nobody could act on the alert.
   */
  private Future<Integer> overdueRequests(OffsetDateTime now) {
    return pool.preparedQuery("WITH due AS (SELECT sr.id FROM service_request sr"
            + " WHERE sr.status IN ('RECEIVED', 'COORDINATING') AND sr.overdue_alerted_at IS NULL AND sr.due_at < $1"
            + " AND NOT EXISTS (SELECT 1 FROM enterprise e JOIN org_unit u ON u.id = e.unit_id"
            + " WHERE e.id = sr.enterprise_id AND u.retired_at IS NOT NULL)"
            + " ORDER BY sr.due_at LIMIT $2 FOR UPDATE SKIP LOCKED),"
            + " flipped AS (UPDATE service_request sr SET overdue_alerted_at = $1 FROM due WHERE sr.id = due.id"
            + " AND sr.overdue_alerted_at IS NULL AND sr.status IN ('RECEIVED', 'COORDINATING')"
            + " RETURNING sr.id, sr.enterprise_id, sr.category, sr.status, sr.due_at, sr.responsible_officer_id)"
            + " INSERT INTO outbox (event_type, aggregate_type, aggregate_id, unit_id, payload)"
            + " SELECT $3, 'service_request', f.id, e.unit_id, jsonb_build_object('serviceRequestId', f.id::text,"
            + " 'enterpriseId', e.id::text, 'enterpriseName', e.name, 'category', f.category, 'status', f.status,"
            + " 'dueAt', to_char(f.due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
            + " 'responsibleOfficerId', f.responsible_officer_id::text, 'unitId', e.unit_id::text)"
            + " FROM flipped f JOIN enterprise e ON e.id = f.enterprise_id ORDER BY f.due_at, f.id")
        .execute(Tuple.of(now, BATCH, REQUEST_OVERDUE))
        .compose(rows -> rows.rowCount() < BATCH ? Future.succeededFuture(rows.rowCount())
            : overdueRequests(now).map(more -> rows.rowCount() + more));
  }

  /**
   * Judges the milestones not complete, in id order, each in its own transaction: never completed, or completed
   * and open again (a correction below the plan, or a re-baseline above the progress), whose due date can still
   * pass unnoticed otherwise. Not those of closed projects, nor at a retired unit: their milestones take no
   * more progress or baselines, so an alert would ask for what nobody can do.
   */
  private Future<Integer> milestones(UUID after, LocalDate today, OffsetDateTime now) {
    return pool.preparedQuery("SELECT m.id FROM milestone m JOIN project p ON p.id = m.project_id"
            + " JOIN org_unit u ON u.id = p.unit_id AND u.retired_at IS NULL"
            + " WHERE p.status NOT IN ('COMPLETED', 'CANCELLED') AND (m.completed_alerted_at IS NULL"
            + " OR coalesce((SELECT mp.quantity FROM milestone_progress mp WHERE mp.milestone_id = m.id"
            + " ORDER BY mp.measured_on DESC, mp.seq DESC LIMIT 1), 0) < (SELECT b.planned_quantity"
            + " FROM milestone_baseline b WHERE b.milestone_id = m.id AND b.version = m.baseline_version))"
            + " AND ($1::uuid IS NULL OR m.id > $1) ORDER BY m.id LIMIT $2")
        .execute(Tuple.of(after, BATCH))
        .compose(rows -> {
          List<UUID> ids = new ArrayList<>();
          for (Row r : rows) {
            ids.add(r.getUUID(0));
          }
          Future<Integer> chain = Future.succeededFuture(0);
          for (UUID id : ids) {
            chain = chain.compose(n -> pool.withTransaction(conn -> alerts.judge(conn, id, today, now, false))
                .map(emitted -> n + emitted.size()));
          }
          return ids.size() < BATCH ? chain
              : chain.compose(n -> milestones(ids.get(ids.size() - 1), today, now).map(more -> n + more));
        });
  }
}
