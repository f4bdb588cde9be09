package org.frontline.figures;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;
import org.frontline.identity.Actor;
import org.frontline.identity.Scope;
import org.frontline.platform.db.Database;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemType;
import org.frontline.projects.MilestoneFigures;

import java.math.BigDecimal;
import java.time.Clock;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;

/**
 * The figures supervisors ask for, per unit subtree and period [from, to) (days in China Standard Time):
 *
 * <ul>
 *   <li>requests: received in the period; of those, overdue (resolved after dueAt, or unresolved and past dueAt
 *       at the moment of asking) and still open overdue;</li>
 *   <li>resolution: resolved in the period, median time from receipt to resolution, approval days saved (recorded
 *       when APPROVAL requests were resolved);</li>
 *   <li>satisfaction: mean and count of the ratings of requests closed in the period;</li>
 *   <li>projects: every project of the subtree but cancelled ones, judged by {@link MilestoneFigures} on the
 *       period's last day (today, if the period runs on), each milestone on the baseline in force that day:
 *       overdue when a milestone is, else at risk when a milestone's slippage is above the threshold percent, else
 *       on track.</li>
 * </ul>
 * The subtree is the path range of the one scoping rule; each request figure is one query whose rows come from
 * covering indexes (V61), never from a scan of all requests.
 */
public final class FiguresService {
  static final ZoneId ZONE = ZoneId.of("Asia/Shanghai");

  /** The figure groups; a request may ask for some of them (the bench times each). */
  public enum Group {
    REQUESTS("requests"), RESOLUTION("resolution"), SATISFACTION("satisfaction"), PROJECTS("projects"),
    PARTNER_FIGURES("partnerFigures");

    /** The group's name in the contract (include=..., and the member of the answer). */
    public final String json;

    Group(String json) {
      this.json = json;
    }

    public static Group ofJson(String name) {
      for (Group g : values()) {
        if (g.json.equals(name)) {
          return g;
        }
      }
      throw new IllegalArgumentException("no figure group " + name);
    }
  }

  /** Enterprise requests whose enterprise's unit is in the subtrees bound as $1 (text[]); $2, $3: the period. */
  private static final String REQUESTS_IN_SUBTREE = " FROM org_unit u JOIN enterprise e ON e.unit_id = u.id"
      + " JOIN service_request sr ON sr.enterprise_id = e.id WHERE " + Scope.sql("u.path", 1);

  static final String RECEIVED_SQL = "SELECT count(*),"
      + " count(*) FILTER (WHERE sr.resolved_at > sr.due_at OR (sr.resolved_at IS NULL AND sr.due_at < $4)),"
      + " count(*) FILTER (WHERE sr.resolved_at IS NULL AND sr.due_at < $4)"
      + REQUESTS_IN_SUBTREE + " AND sr.received_at >= $2 AND sr.received_at < $3";

  /** date_part is double precision; EXTRACT is numeric since PostgreSQL 14 and made the median several times slower. */
  static final String RESOLVED_SQL = "SELECT count(*),"
      + " round((percentile_cont(0.5) WITHIN GROUP (ORDER BY date_part('epoch', sr.resolved_at - sr.received_at))"
      + " / 3600)::numeric, 2)::text, coalesce(sum(sr.approval_days_saved), 0), count(sr.approval_days_saved)"
      + REQUESTS_IN_SUBTREE + " AND sr.resolved_at >= $2 AND sr.resolved_at < $3";

  static final String CLOSED_SQL = "SELECT count(*), round(avg(sr.satisfaction), 2)::text"
      + REQUESTS_IN_SUBTREE + " AND sr.closed_at >= $2 AND sr.closed_at < $3";

  /**
   * The projects of the subtrees ($1) with each milestone's baseline in force at $2 (the end of the judged day): the
   * latest made before then, or the first when the milestone was planned later. A re-baseline changes the plan from
   * then on, not the judgement of a period already past.
   */
  private static final String MILESTONES_SQL = "SELECT p.id, m.id, b.planned_quantity::text, b.planned_start,"
      + " b.planned_due FROM project p JOIN org_unit u ON u.id = p.unit_id"
      + " LEFT JOIN milestone m ON m.project_id = p.id"
      + " LEFT JOIN LATERAL (SELECT planned_quantity, planned_start, planned_due FROM milestone_baseline"
      + " WHERE milestone_id = m.id AND (version = 1 OR created_at < $2) ORDER BY version DESC LIMIT 1) b ON true"
      + " WHERE p.status <> 'CANCELLED' AND " + Scope.sql("u.path", 1);

  /**
   * Figures partners sent in (partners/PartnerFigures) for units of the subtrees ($1) whose period lies within
   * [$2, $3) (dates), summed per metric and unit of measure over every partner. {@code period_from < $3} follows
   * from the rest (a period ends after it starts) and is stated so that each unit's figures are one bounded range
   * of partner_figure_unit_period_idx: without it a past month read every later figure of the unit.
   */
  static final String PARTNER_FIGURES_SQL = "SELECT f.metric, f.unit_of_measure, sum(f.value)::text, count(*)"
      + " FROM org_unit u JOIN partner_figure f ON f.unit_id = u.id WHERE " + Scope.sql("u.path", 1)
      + " AND f.period_from >= $2 AND f.period_from < $3 AND f.period_to <= $3 GROUP BY f.metric, f.unit_of_measure"
      + " ORDER BY f.metric, f.unit_of_measure";

  private final Database database;
  private final Clock clock;
  private final int atRiskPercent;
  /** Where projects are judged; null: the Vert.x worker pool, through the calling context. */
  private final WorkerExecutor judging;

  /** Judges projects on the Vert.x worker pool (of the context the figures are asked on). */
  public FiguresService(Database database, Clock clock, int atRiskPercent) {
    this(database, clock, atRiskPercent, null);
  }

  /** Judges projects on {@code judging} (null: the Vert.x worker pool). */
  public FiguresService(Database database, Clock clock, int atRiskPercent, WorkerExecutor judging) {
    this.database = database;
    this.clock = clock;
    this.atRiskPercent = atRiskPercent;
    this.judging = judging;
  }

  /**
   * The figures of the unit's subtree (404 when the unit is missing or outside the caller's scope, like every
   * object), or of the caller's whole scope when no unit is named.
   */
  public Future<JsonObject> figures(Actor actor, UUID unitId, LocalDate from, LocalDate to, Set<Group> groups) {
    if (!to.isAfter(from)) {
      return Future.failedFuture(Problem.of(ProblemType.UNPROCESSABLE, "The period is [from, to): to must be after "
          + "from.").withErrors(List.of(new Problem.FieldError("query/to", "must be after from"))).toException());
    }
    Set<Group> wanted = groups.isEmpty() ? EnumSet.allOf(Group.class) : EnumSet.copyOf(groups);
    Pool pool = database.pool();
    OffsetDateTime now = OffsetDateTime.now(clock);
    OffsetDateTime start = from.atStartOfDay(ZONE).toOffsetDateTime();
    OffsetDateTime end = to.atStartOfDay(ZONE).toOffsetDateTime();
    LocalDate today = LocalDate.now(clock.withZone(ZONE));
    LocalDate lastDay = to.minusDays(1);
    LocalDate judgedOn = lastDay.isBefore(today) ? lastDay : today;
    return actor.scope(pool).compose(scope -> subtrees(pool, scope, unitId)).compose(paths -> {
      Map<Group, Future<JsonObject>> parts = new LinkedHashMap<>();
      for (Group g : wanted) {
        parts.put(g, switch (g) {
          case REQUESTS -> pool.preparedQuery(RECEIVED_SQL).execute(Tuple.of(paths, start, end, now)).map(rows -> {
            Row r = rows.iterator().next();
            return new JsonObject().put("received", r.getLong(0)).put("overdue", r.getLong(1))
                .put("overdueOpen", r.getLong(2));
          });
          case RESOLUTION -> pool.preparedQuery(RESOLVED_SQL).execute(Tuple.of(paths, start, end)).map(rows -> {
            Row r = rows.iterator().next();
            return new JsonObject().put("resolved", r.getLong(0))
                .put("medianHoursToResolution", r.getString(1) == null ? null : new BigDecimal(r.getString(1)))
                .put("approvalDaysSaved", r.getLong(2)).put("approvalsWithDaysSaved", r.getLong(3));
          });
          case SATISFACTION -> pool.preparedQuery(CLOSED_SQL).execute(Tuple.of(paths, start, end)).map(rows -> {
            Row r = rows.iterator().next();
            return new JsonObject().put("rated", r.getLong(0))
                .put("mean", r.getString(1) == null ? null : new BigDecimal(r.getString(1)));
          });
          case PROJECTS -> projects(pool, paths, judgedOn);
          case PARTNER_FIGURES -> pool.preparedQuery(PARTNER_FIGURES_SQL).execute(Tuple.of(paths, from, to)).map(rows -> {
            io.vertx.core.json.JsonArray metrics = new io.vertx.core.json.JsonArray();
            rows.forEach(r -> metrics.add(new JsonObject().put("metric", r.getString(0)).put("unitOfMeasure", r.getString(1))
                .put("total", new BigDecimal(r.getString(2)).stripTrailingZeros().toPlainString())
                .put("figures", r.getLong(3))));
            return new JsonObject().put("metrics", metrics);
          });
        });
      }
      return Future.all(new ArrayList<>(parts.values())).map(all -> {
        JsonObject out = new JsonObject().put("unitId", unitId == null ? null : unitId.toString())
            .put("from", from.toString()).put("to", to.toString())
            .put("asOf", DateTimeFormatter.ISO_INSTANT.format(now.toInstant()));
        parts.forEach((g, f) -> out.put(g.json, f.result()));
        return out;
      });
    });
  }

  /** The subtree roots: the named unit's path if it is in scope (else 404), or the caller's scope. */
  private static Future<String[]> subtrees(Pool pool, Scope scope, UUID unitId) {
    if (unitId == null) {
      return Future.succeededFuture(scope.paths());
    }
    return pool.preparedQuery("SELECT u.path FROM org_unit u WHERE u.id = $1 AND " + Scope.sql("u.path", 2))
        .execute(Tuple.of(unitId, (Object) scope.paths()))
        .compose(rows -> rows.size() == 0
            ? Future.failedFuture(Problem.of(ProblemType.NOT_FOUND, "No org unit " + unitId + " in your scope.")
                .toException())
            : Future.succeededFuture(new String[] {rows.iterator().next().getString(0)}));
  }

  private Future<JsonObject> projects(Pool pool, String[] paths, LocalDate day) {
    OffsetDateTime endOfDay = day.plusDays(1).atStartOfDay(ZONE).toOffsetDateTime();
    return pool.preparedQuery(MILESTONES_SQL).execute(Tuple.of(paths, endOfDay)).compose(milestones -> {
      List<UUID> ids = new ArrayList<>();
      milestones.forEach(r -> {
        if (r.getUUID(1) != null) {
          ids.add(r.getUUID(1));
        }
      });
      return pool.preparedQuery("SELECT milestone_id, measured_on, quantity::text FROM milestone_progress"
              + " WHERE milestone_id = ANY ($1) AND measured_on <= $2 ORDER BY milestone_id, measured_on, seq")
          .execute(Tuple.of(ids.toArray(UUID[]::new), day))
          // Not on the event loop: without a unitId, an admin covering the root has every milestone and progress
          // row of the province judged here, which would stall every other request of that loop meanwhile.
          .compose(progress -> offEventLoop(() -> judge(milestones, progress, day)));
    });
  }

  /** Runs CPU-heavy {@code work} on a worker thread, unordered (concurrent requests judge in parallel). */
  private <T> Future<T> offEventLoop(Callable<T> work) {
    if (judging != null) {
      return judging.executeBlocking(work, false);
    }
    Context context = Vertx.currentContext();
    if (context != null) {
      return context.executeBlocking(work, false);
    }
    try { // no Vert.x thread at all (never the case in the service): this thread is no event loop either
      return Future.succeededFuture(work.call());
    } catch (Exception e) {
      return Future.failedFuture(e);
    }
  }

  private JsonObject judge(RowSet<Row> milestones, RowSet<Row> progress, LocalDate day) {
    Map<UUID, List<MilestoneFigures.Progress>> history = new LinkedHashMap<>();
    progress.forEach(p -> history.computeIfAbsent(p.getUUID(0), k -> new ArrayList<>())
        .add(new MilestoneFigures.Progress(p.getLocalDate(1), new BigDecimal(p.getString(2)))));
    // Per project: 2 overdue, 1 at risk, 0 on track (the worst of its milestones).
    Map<UUID, Integer> state = new LinkedHashMap<>();
    BigDecimal threshold = BigDecimal.valueOf(atRiskPercent);
    for (Row r : milestones) {
      UUID project = r.getUUID(0);
      int worst = state.getOrDefault(project, 0);
      if (r.getUUID(1) != null) {
        MilestoneFigures.Figures f = MilestoneFigures.compute(new MilestoneFigures.Baseline(
                new BigDecimal(r.getString(2)), r.getLocalDate(3), r.getLocalDate(4)),
            history.getOrDefault(r.getUUID(1), List.of()), day);
        int s = f.overdue() ? 2 : !f.completed() && f.slippagePercent().compareTo(threshold) > 0 ? 1 : 0;
        worst = Math.max(worst, s);
      }
      state.put(project, worst);
    }
    return new JsonObject().put("judgedOn", day.toString()).put("atRiskThresholdPercent", atRiskPercent)
        .put("total", state.size())
        .put("onTrack", state.values().stream().filter(s -> s == 0).count())
        .put("atRisk", state.values().stream().filter(s -> s == 1).count())
        .put("overdue", state.values().stream().filter(s -> s == 2).count());
  }
}
