package org.frontline.projects;

import io.vertx.core.Future;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;

import java.math.BigDecimal;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The alert state of one milestone, judged on a day: {@code milestone.at-risk} (slippage above the threshold, in
 * percent of the planned quantity, as {@link MilestoneFigures} computes it), {@code milestone.overdue} (due date
 * passed, not complete) and {@code milestone.completed} (actual reached planned).
 *
 * <p>An event is written when its state column flips from NULL, by one statement (a conditional UPDATE feeding the
 * outbox INSERT), so it is emitted once per crossing whoever judges it; at-risk and overdue are cleared when no
 * longer true, so a later crossing alerts again; completed is never cleared. The caller holds the milestone's row
 * lock (FOR UPDATE) before reading its baseline and figures, so a judgement never rests on progress that another
 * transaction was changing: a stale "still at risk" after a committed recovery cannot re-emit.
 */
public final class MilestoneAlerts {
  public static final String AT_RISK = "milestone.at-risk";
  public static final String OVERDUE = "milestone.overdue";
  public static final String COMPLETED = "milestone.completed";

  private final BigDecimal atRiskPercent;

  public MilestoneAlerts(int atRiskPercent) {
    this.atRiskPercent = BigDecimal.valueOf(atRiskPercent);
  }

  /**
   * Locks the milestone ({@code skipLocked}: or gives up when another transaction holds it), then share-locks its
   * project and judges it on {@code today}; the event types written. Empty when the milestone is gone (or skipped)
   * or its project is closed: a project closed after the record watch listed the milestone raises nothing (a
   * closing waits for the share lock, or the judgement for the closing and then reads it).
   */
  public Future<List<String>> judge(SqlClient conn, UUID milestoneId, LocalDate today, OffsetDateTime now,
                                    boolean skipLocked) {
    return lock(conn, milestoneId, skipLocked)
        .compose(locked -> !locked ? Future.succeededFuture(false) : conn.preparedQuery("SELECT 1 FROM project"
                + " WHERE id = (SELECT project_id FROM milestone WHERE id = $1)"
                + " AND status NOT IN ('COMPLETED', 'CANCELLED') FOR SHARE")
            .execute(Tuple.of(milestoneId)).map(open -> open.size() > 0))
        .compose(open -> !open ? Future.succeededFuture(List.of()) : conn.preparedQuery("SELECT m.id, m.name,"
            + " m.project_id, p.name AS project_name, p.unit_id,"
            + " b.planned_quantity::text AS planned, b.planned_start, b.planned_due,"
            + " m.at_risk_since IS NOT NULL AS at_risk, m.overdue_alerted_at IS NOT NULL AS overdue,"
            + " m.completed_alerted_at IS NOT NULL AS completed"
            + " FROM milestone m JOIN milestone_baseline b ON b.milestone_id = m.id AND b.version = m.baseline_version"
            + " JOIN project p ON p.id = m.project_id WHERE m.id = $1")
        .execute(Tuple.of(milestoneId))
        .compose(rows -> rows.size() == 0 ? Future.succeededFuture(List.of())
            // A new statement, so a new snapshot: it sees every progress committed before the lock was granted.
            : conn.preparedQuery("SELECT measured_on, quantity::text FROM milestone_progress WHERE milestone_id = $1"
                    + " ORDER BY measured_on, seq").execute(Tuple.of(milestoneId))
                .compose(progress -> {
                  List<MilestoneFigures.Progress> history = new ArrayList<>();
                  progress.forEach(p -> history.add(new MilestoneFigures.Progress(p.getLocalDate(0),
                      new BigDecimal(p.getString(1)))));
                  return apply(conn, rows.iterator().next(), history, today, now);
                })));
  }

  /**
   * Locks the milestone's row ({@code skipLocked}: unless another transaction holds it); false when there is none
   * (or it was skipped). Alone, not joined to the current baseline: a lock waited for while a re-baseline commits
   * re-checks the join on the row's new version against the old baseline row, and finds no milestone at all.
   */
  static Future<Boolean> lock(SqlClient conn, UUID milestoneId, boolean skipLocked) {
    return conn.preparedQuery("SELECT 1 FROM milestone WHERE id = $1 FOR UPDATE" + (skipLocked ? " SKIP LOCKED" : ""))
        .execute(Tuple.of(milestoneId))
        .map(rows -> rows.size() > 0);
  }

  private Future<List<String>> apply(SqlClient conn, Row m, List<MilestoneFigures.Progress> history, LocalDate today,
                                     OffsetDateTime now) {
    MilestoneFigures.Baseline baseline = new MilestoneFigures.Baseline(new BigDecimal(m.getString("planned")),
        m.getLocalDate("planned_start"), m.getLocalDate("planned_due"));
    MilestoneFigures.Figures f = MilestoneFigures.compute(baseline, history, today);
    boolean atRisk = !f.completed() && f.slippagePercent().compareTo(atRiskPercent) > 0;
    List<String> emitted = new ArrayList<>();
    Future<Void> chain = Future.succeededFuture();
    chain = chain.compose(v -> flip(conn, m, "at_risk_since", atRisk, m.getBoolean("at_risk"), true, AT_RISK, f,
        baseline, today, now, emitted));
    chain = chain.compose(v -> flip(conn, m, "overdue_alerted_at", f.overdue(), m.getBoolean("overdue"), true,
        OVERDUE, f, baseline, today, now, emitted));
    chain = chain.compose(v -> flip(conn, m, "completed_alerted_at", f.completed(), m.getBoolean("completed"), false,
        COMPLETED, f, baseline, today, now, emitted));
    return chain.map(v -> emitted);
  }

  /**
   * Sets the state column (and writes the event) when the condition holds and the column is NULL; clears it when
   * the condition no longer holds and {@code clears}. Both are conditional on the column itself, not on what was read.
   */
  private static Future<Void> flip(SqlClient conn, Row m, String column, boolean holds, boolean wasSet,
                                   boolean clears, String eventType, MilestoneFigures.Figures f,
                                   MilestoneFigures.Baseline b, LocalDate today, OffsetDateTime now,
                                   List<String> emitted) {
    UUID id = m.getUUID("id");
    if (!holds) {
      return clears && wasSet ? conn.preparedQuery("UPDATE milestone SET " + column + " = NULL WHERE id = $1")
          .execute(Tuple.of(id)).mapEmpty() : Future.succeededFuture();
    }
    if (wasSet) {
      return Future.succeededFuture();
    }
    return conn.preparedQuery("WITH flipped AS (UPDATE milestone SET " + column + " = $2 WHERE id = $1 AND " + column
            + " IS NULL RETURNING id)"
            + " INSERT INTO outbox (event_type, aggregate_type, aggregate_id, unit_id, payload)"
            + " SELECT $3, 'milestone', flipped.id, $4, jsonb_build_object('milestoneId', $1::uuid::text,"
            + " 'milestoneName', $5::text, 'projectId', $6::uuid::text, 'projectName', $7::text,"
            + " 'unitId', $4::uuid::text, 'asOf', $8::text, 'plannedDue', $9::text, 'percentComplete', $10::text,"
            + " 'slippagePercent', $11::text) FROM flipped RETURNING id")
        .execute(Tuple.from(new Object[] {id, now, eventType, m.getUUID("unit_id"), m.getString("name"),
            m.getUUID("project_id"), m.getString("project_name"), today.toString(), b.plannedDue().toString(),
            f.percentComplete().toPlainString(), f.slippagePercent().toPlainString()}))
        .map(rows -> {
          if (rows.size() > 0) {
            emitted.add(eventType);
          }
          return null;
        });
  }
}
