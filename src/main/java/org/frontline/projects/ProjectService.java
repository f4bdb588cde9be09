package org.frontline.projects;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import org.frontline.identity.Actor;
import org.frontline.identity.AdminAudit;
import org.frontline.identity.OrgUnitRepository;
import org.frontline.identity.Page;
import org.frontline.identity.RecordHandOver;
import org.frontline.identity.Scope;
import org.frontline.platform.db.Database;
import org.frontline.platform.db.Transaction;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemException;
import org.frontline.platform.http.ProblemType;

import java.math.BigDecimal;
import java.time.Clock;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Major projects and their milestones. Every read and write goes through the scope of the project's unit (out of
 * scope is 404 like missing); every change is audited in its own transaction. "Today" is the clock's date in
 * China Standard Time, so the figures are deterministic under a fixed clock.
 */
public final class ProjectService {
  static final ZoneId ZONE = ZoneId.of("Asia/Shanghai");
  /**
   * The first day a work record may name: the contract's RecordDate (1900-01-01 to 2999-12-31). A plan's days are
   * the narrower PlanDate (2000-01-01 to 2100-12-31).
   */
  static final LocalDate FIRST_RECORD_DAY = LocalDate.of(1900, 1, 1);
  /**
   * The longest span of a milestone's plan (plannedStart to plannedDue), a long stage of a major project: the
   * S-curve of a plan answers a point per week ({@link MilestoneFigures#MAX_WEEKS}).
   */
  static final int PLAN_SPAN_YEARS = 10;
  /** The most milestones a project holds ({@link #roomForAMilestone}). */
  static final int MAX_MILESTONES = 100;
  private static final String PROJECT_COLUMNS = "p.id, p.unit_id, p.name, p.investment_yuan::text, p.site_lat, "
      + "p.site_lon, p.site_radius_m, p.bid_sections, p.status, p.created_at, p.closed_at, p.close_reason";
  private static final String MILESTONE_COLUMNS = "m.id, m.project_id, m.name, m.unit, m.baseline_version, "
      + "b.planned_quantity::text, b.planned_start, b.planned_due, m.created_at";

  private final Database database;
  private final AdminAudit audit;
  private final Clock clock;
  private final MilestoneAlerts alerts;
  private final RecordHandOver handOver;

  public ProjectService(Database database, AdminAudit audit, Clock clock) {
    this(database, audit, clock, new MilestoneAlerts(10));
  }

  public ProjectService(Database database, AdminAudit audit, Clock clock, MilestoneAlerts alerts) {
    this.database = database;
    this.audit = audit;
    this.clock = clock;
    this.alerts = alerts;
    this.handOver = new RecordHandOver(audit);
  }

  LocalDate today() {
    return LocalDate.now(clock.withZone(ZONE));
  }

  // ---- projects ----

  public <R> Future<R> createProject(Actor actor, JsonObject b, Transaction<R> tx) {
    UUID id = UUID.randomUUID();
    UUID unitId = UUID.fromString(b.getString("unitId"));
    String name = b.getString("name").strip();
    JsonObject site = b.getJsonObject("site");
    JsonArray sections = b.getJsonArray("bidSections", new JsonArray());
    String status = b.getString("status", "PLANNED");
    BigDecimal investment = yuan(b.getValue("investmentYuan"), "body/investmentYuan");
    // The unit is share-locked by key first (against a retirement under way), then checked, as a posting's is.
    return tx.run(conn -> OrgUnitRepository.lockShared(conn, List.of(unitId)).compose(locked -> actor.scope(conn))
        .compose(scope -> conn.preparedQuery("SELECT 1 FROM org_unit u WHERE u.id = $1 AND u.retired_at IS NULL AND "
                + Scope.sql("u.path", 2))
            .execute(Tuple.of(unitId, (Object) scope.paths())))
        .compose(rows -> rows.size() > 0 ? Future.succeededFuture()
            : Future.failedFuture(unprocessable("body/unitId", "No live org unit " + unitId + " in your scope.")))
        .compose(v -> conn.preparedQuery("INSERT INTO project (id, unit_id, name, investment_yuan, site_lat, site_lon, "
                + "site_radius_m, bid_sections, status, created_by, created_at) "
                + "VALUES ($1, $2, $3, $4::text::numeric, $5, $6, $7, $8, $9, $10, $11)")
            .execute(Tuple.from(new Object[] {id, unitId, name,
                investment.toPlainString(), site.getDouble("lat"),
                site.getDouble("lon"), site.getDouble("radiusM"),
                sections.stream().map(Object::toString).toArray(String[]::new), status, actor.accountId(),
                OffsetDateTime.now(clock)})))
        .compose(v -> audit.success(conn, actor, "project.create", "project", id, unitId,
            new JsonObject().put("name", name).put("status", status)))
        .compose(v -> projectJson(conn, Scope.everything(), id, true)));
  }

  public Future<JsonObject> getProject(Actor actor, UUID id) {
    var pool = database.pool();
    return actor.scope(pool).compose(scope -> projectJson(pool, scope, id, true));
  }

  public Future<Page<JsonObject>> listProjects(Actor actor, UUID unitId, String status, String cursor,
                                               Integer limit) {
    String filters = Page.filters("projects", unitId, status);
    String after = Page.decode(cursor, Page.TimeId::valid, filters);
    int size = Page.limit(limit);
    var pool = database.pool();
    return actor.scope(pool).compose(scope -> {
      List<Object> params = new ArrayList<>(List.of((Object) scope.paths()));
      StringBuilder sql = new StringBuilder("SELECT " + PROJECT_COLUMNS + " FROM project p JOIN org_unit u ON u.id = "
          + "p.unit_id WHERE " + Scope.sql("u.path", 1));
      if (unitId != null) {
        params.add(unitId);
        sql.append(" AND p.unit_id = $").append(params.size());
      }
      if (status != null) {
        params.add(status);
        sql.append(" AND p.status = $").append(params.size());
      }
      return pool.preparedQuery(Page.TimeId.newestFirst(sql, params, after, size)).execute(Tuple.from(params));
    }).map(rows -> Page.TimeId.newestFirst(rows, size, ProjectService::projectRow, filters));
  }


  /**
   * Hands the project over to the live unit {@code newUnitId} (admins; {@link RecordHandOver}), from a retired unit,
   * whose records are read-only until then, or a live one. Its milestones, their baselines and progress follow it.
   * Their alert state (at risk, overdue) is cleared: the old unit's supervisors were told, the new unit's are told
   * at the record watch's next round if the milestone is still slipping; a completion is not told again.
   */
  public <R> Future<R> move(Actor actor, UUID id, UUID newUnitId, Transaction<R> tx) {
    // The milestones are locked first (id order), the project after them: a milestone's write locks the milestone,
    // then share-locks its project ({@link #open}), so taking the project first would deadlock with one under way.
    return tx.run(conn -> conn.preparedQuery("SELECT 1 FROM milestone WHERE project_id = $1 ORDER BY id FOR UPDATE")
        .execute(Tuple.of(id))
        .compose(locked -> handOver.move(conn, actor, "project", id, newUnitId, () -> notFound("project", id),
            () -> notClosed(conn, id),
            from -> conn.preparedQuery("UPDATE milestone SET at_risk_since = NULL, overdue_alerted_at = NULL"
                    + " WHERE project_id = $1").execute(Tuple.of(id))
                .map(rows -> new JsonObject().put("milestones", rows.rowCount()))))
        .compose(v -> projectJson(conn, Scope.everything(), id, true)));
  }

  private Future<JsonObject> projectJson(SqlClient client, Scope scope, UUID id, boolean withMilestones) {
    return client.preparedQuery("SELECT " + PROJECT_COLUMNS + " FROM project p JOIN org_unit u ON u.id = p.unit_id "
            + "WHERE p.id = $1 AND " + Scope.sql("u.path", 2))
        .execute(Tuple.of(id, (Object) scope.paths()))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.failedFuture(notFound("project", id));
          }
          JsonObject project = projectRow(rows.iterator().next());
          LocalDate today = today(); // one day for the whole answer, read once
          return milestones(client, id).map(ms -> project.put("asOf", today.toString())
              .put("milestones", new JsonArray(ms.stream().map(m -> m.toJson(today, false)).toList())));
        });
  }

  private static JsonObject projectRow(Row r) {
    return new JsonObject()
        .put("id", r.getUUID("id").toString())
        .put("unitId", r.getUUID("unit_id").toString())
        .put("name", r.getString("name"))
        .put("investmentYuan", new BigDecimal(r.getString(3)))
        .put("site", new JsonObject().put("lat", r.getDouble("site_lat")).put("lon", r.getDouble("site_lon"))
            .put("radiusM", r.getDouble("site_radius_m")))
        .put("bidSections", new JsonArray(List.of(r.getArrayOfStrings("bid_sections"))))
        .put("status", r.getString("status"))
        .put("createdAt", instant(r.getOffsetDateTime("created_at")))
        .put("closedAt", r.getOffsetDateTime("closed_at") == null ? null : instant(r.getOffsetDateTime("closed_at")))
        .put("outcome", CLOSED.contains(r.getString("status")) ? r.getString("status") : null)
        .put("closeReason", r.getString("close_reason"));
  }

  private static String instant(OffsetDateTime at) {
    return DateTimeFormatter.ISO_INSTANT.format(at.toInstant());
  }

  // ---- milestones ----

  /** A milestone with its current baseline and progress history, as read. */
  record Milestone(UUID id, UUID projectId, String name, String unit, int version,
                   MilestoneFigures.Baseline baseline, List<MilestoneFigures.Progress> history,
                   List<JsonObject> baselines) {
    JsonObject toJson(LocalDate today, boolean withHistory) {
      MilestoneFigures.Figures f = MilestoneFigures.compute(baseline, history, today);
      JsonObject json = new JsonObject()
          .put("id", id.toString())
          .put("projectId", projectId.toString())
          .put("name", name)
          .put("unit", unit)
          .put("baseline", new JsonObject().put("version", version)
              .put("plannedQuantity", MilestoneFigures.q(baseline.plannedQuantity()))
              .put("plannedStart", baseline.plannedStart().toString())
              .put("plannedDue", baseline.plannedDue().toString()))
          .put("figures", new JsonObject()
              .put("asOf", today.toString())
              .put("actualQuantity", f.actual())
              .put("percentComplete", f.percentComplete())
              .put("plannedToDate", f.plannedToDate())
              .put("plannedPercentToDate", f.plannedPercentToDate())
              .put("slippage", f.slippage())
              .put("slippagePercent", f.slippagePercent())
              .put("ratePerDay", f.ratePerDay())
              .put("forecastFinish", f.forecastFinish() == null ? null : f.forecastFinish().toString())
              .put("completed", f.completed())
              .put("overdue", f.overdue()));
      if (withHistory) {
        json.put("baselines", new JsonArray(baselines));
      }
      return json;
    }
  }

  private Future<List<Milestone>> milestones(SqlClient client, UUID projectId) {
    return client.preparedQuery("SELECT " + MILESTONE_COLUMNS + " FROM milestone m JOIN milestone_baseline b "
            + "ON b.milestone_id = m.id AND b.version = m.baseline_version WHERE m.project_id = $1 "
            + "ORDER BY m.created_at, m.id")
        .execute(Tuple.of(projectId))
        .compose(rows -> {
          List<Row> list = new ArrayList<>();
          rows.forEach(list::add);
          UUID[] ids = list.stream().map(r -> r.getUUID("id")).toArray(UUID[]::new);
          return client.preparedQuery("SELECT milestone_id, measured_on, quantity::text FROM milestone_progress "
                  + "WHERE milestone_id = ANY ($1) ORDER BY measured_on, seq")
              .execute(Tuple.of((Object) ids))
              .map(progress -> {
                // One pass over the entries (each milestone's in measured order), not one per milestone.
                Map<UUID, List<MilestoneFigures.Progress>> histories = new HashMap<>();
                progress.forEach(p -> histories.computeIfAbsent(p.getUUID(0), k -> new ArrayList<>())
                    .add(new MilestoneFigures.Progress(p.getLocalDate(1), new BigDecimal(p.getString(2)))));
                return list.stream().map(r -> milestone(r, histories.getOrDefault(r.getUUID("id"), List.of()),
                    List.of())).toList();
              });
        });
  }

  private static Milestone milestone(Row r, List<MilestoneFigures.Progress> history, List<JsonObject> baselines) {
    return new Milestone(r.getUUID("id"), r.getUUID("project_id"), r.getString("name"), r.getString("unit"),
        r.getInteger("baseline_version"), new MilestoneFigures.Baseline(new BigDecimal(r.getString(5)),
        r.getLocalDate("planned_start"), r.getLocalDate("planned_due")), history, baselines);
  }

  /**
   * The actor's scope for a write on the milestone, read once the milestone is locked (FOR UPDATE,
   * {@link MilestoneAlerts#lock}): the milestone is then read after the lock is granted, so a re-baseline that
   * committed meanwhile is seen, and judged against the tree as it is then (a scope read before the lock would miss
   * a move of a unit the actor covers committed while the lock was waited for: a 404).
   */
  private static Future<Scope> scopeOnceLocked(SqlClient conn, Actor actor, UUID milestoneId) {
    return MilestoneAlerts.lock(conn, milestoneId, false).compose(locked -> actor.scope(conn));
  }

  /**
   * Locks the milestone (FOR UPDATE) for a write that reads its project's unit first (a MILESTONE_PROGRESS report's
   * link): a hand-over of the project locks its milestones before it changes the project's unit ({@link #move}), so
   * while this lock is held the unit read stays the project's. False when there is no such milestone.
   */
  public static Future<Boolean> lockMilestone(SqlClient conn, UUID milestoneId) {
    return MilestoneAlerts.lock(conn, milestoneId, false);
  }

  /** The milestone for a write: locked, then read and judged against the scope read after the lock. */
  private Future<Milestone> lockedMilestone(SqlClient conn, Actor actor, UUID id) {
    return scopeOnceLocked(conn, actor, id).compose(scope -> milestone(conn, scope, id));
  }

  /** The milestone in scope, with history and baselines (a write locks it first: {@link #scopeOnceLocked}). */
  private Future<Milestone> milestone(SqlClient client, Scope scope, UUID id) {
    return client.preparedQuery("SELECT " + MILESTONE_COLUMNS + " FROM milestone m JOIN milestone_baseline b "
            + "ON b.milestone_id = m.id AND b.version = m.baseline_version JOIN project p ON p.id = m.project_id "
            + "JOIN org_unit u ON u.id = p.unit_id WHERE m.id = $1 AND " + Scope.sql("u.path", 2))
        .execute(Tuple.of(id, (Object) scope.paths()))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.failedFuture(notFound("milestone", id));
          }
          Row r = rows.iterator().next();
          return client.preparedQuery("SELECT measured_on, quantity::text FROM milestone_progress "
                  + "WHERE milestone_id = $1 ORDER BY measured_on, seq").execute(Tuple.of(id))
              .compose(progress -> client.preparedQuery("SELECT version, planned_quantity::text, planned_start, "
                      + "planned_due, reason, created_at FROM milestone_baseline WHERE milestone_id = $1 ORDER BY version")
                  .execute(Tuple.of(id))
                  .map(bs -> {
                    List<MilestoneFigures.Progress> history = new ArrayList<>();
                    progress.forEach(p -> history.add(new MilestoneFigures.Progress(p.getLocalDate(0),
                        new BigDecimal(p.getString(1)))));
                    List<JsonObject> baselines = new ArrayList<>();
                    bs.forEach(x -> baselines.add(new JsonObject().put("version", x.getInteger(0))
                        .put("plannedQuantity", MilestoneFigures.q(new BigDecimal(x.getString(1))))
                        .put("plannedStart", x.getLocalDate(2).toString())
                        .put("plannedDue", x.getLocalDate(3).toString())
                        .put("reason", x.getString(4))
                        .put("createdAt", DateTimeFormatter.ISO_INSTANT.format(x.getOffsetDateTime(5).toInstant()))));
                    return milestone(r, history, baselines);
                  }));
        });
  }

  public Future<JsonObject> getMilestone(Actor actor, UUID id) {
    var pool = database.pool();
    return actor.scope(pool).compose(scope -> milestone(pool, scope, id)).map(m -> m.toJson(today(), true));
  }

  public <R> Future<R> createMilestone(Actor actor, UUID projectId, JsonObject b, Transaction<R> tx) {
    UUID id = UUID.randomUUID();
    String name = b.getString("name").strip();
    BigDecimal planned = quantity(b.getValue("plannedQuantity"), "body/plannedQuantity");
    LocalDate start = LocalDate.parse(b.getString("plannedStart"));
    LocalDate due = LocalDate.parse(b.getString("plannedDue"));
    return tx.run(conn -> lockedProject(conn, actor, projectId)
        .compose(project -> {
          if (CLOSED.contains(project.getString(1))) {
            return Future.failedFuture(closed(projectId, project.getString(1), project.getOffsetDateTime(2)));
          }
          UUID unitId = project.getUUID(0);
          OffsetDateTime now = OffsetDateTime.now(clock);
          return OrgUnitRepository.requireLive(conn, unitId, AT_RETIRED_UNIT)
              .compose(live -> plan(start, due))
              .compose(ok -> roomForAMilestone(conn, projectId))
              .compose(ok -> conn.preparedQuery("INSERT INTO milestone (id, project_id, name, unit, baseline_version, "
                  + "created_at) VALUES ($1, $2, $3, $4, 1, $5)")
                  .execute(Tuple.of(id, projectId, name, b.getString("unit"), now)))
              .compose(v -> insertBaseline(conn, id, 1, planned, start, due, null, actor, now))
              .compose(v -> audit.success(conn, actor, "milestone.create", "milestone", id, unitId,
                  new JsonObject().put("projectId", projectId.toString()).put("name", name)
                      .put("plannedQuantity", planned.toPlainString()).put("unit", b.getString("unit"))
                      .put("plannedStart", start.toString()).put("plannedDue", due.toString())));
        })
        .compose(v -> milestone(conn, Scope.everything(), id))
        .map(m -> m.toJson(today(), true)));
  }

  /**
   * The project for a write on it (unit_id, status, closed_at): locked by key, then the scope read and the project
   * judged against the tree as it is then (out of scope: 404, as missing). Not one statement locking the project
   * joined to its unit with the scope check: that re-checked, after a wait, the project's new version against its
   * unit's row as it was when the statement began (a unit moved out of the scope meanwhile still passed).
   */
  private static Future<Row> lockedProject(SqlClient conn, Actor actor, UUID id) {
    return actor.scopeAfterLocking(conn, "project", id)
        .compose(scope -> conn.preparedQuery("SELECT p.unit_id, p.status, p.closed_at FROM project p JOIN org_unit u "
                + "ON u.id = p.unit_id WHERE p.id = $1 AND " + Scope.sql("u.path", 2))
            .execute(Tuple.of(id, (Object) scope.paths())))
        .compose(rows -> rows.size() == 0 ? Future.failedFuture(notFound("project", id))
            : Future.succeededFuture(rows.iterator().next()));
  }

  /**
   * Refuses a milestone beyond {@link #MAX_MILESTONES} of its project (409; the project is locked, so two creates
   * cannot both take the last place): a project's read and its S-curve carry every milestone.
   */
  private static Future<Void> roomForAMilestone(SqlClient conn, UUID projectId) {
    return conn.preparedQuery("SELECT count(*) FROM milestone WHERE project_id = $1").execute(Tuple.of(projectId))
        .compose(rows -> rows.iterator().next().getLong(0) < MAX_MILESTONES ? Future.succeededFuture()
            : Future.failedFuture(new ProblemException(Problem.of(ProblemType.CONFLICT, "Project " + projectId
                + " already has " + MAX_MILESTONES + " milestones, the most a project holds (its read and S-curve "
                + "carry every one); a larger piece of work is registered as more than one project."))));
  }

  /**
   * Refuses a planned span unless the due date is after the start and at most {@link #PLAN_SPAN_YEARS} years after
   * it (422 naming {@code body/plannedDue}). The contract's PlanDate already holds both days within 2000-2100.
   */
  private static Future<Void> plan(LocalDate start, LocalDate due) {
    if (!due.isAfter(start)) {
      return Future.failedFuture(unprocessable("body/plannedDue", "plannedDue must be after plannedStart."));
    }
    if (due.isAfter(start.plusYears(PLAN_SPAN_YEARS))) {
      return Future.failedFuture(unprocessable("body/plannedDue", "A milestone is planned over at most "
          + PLAN_SPAN_YEARS + " years: plannedDue may be " + start.plusYears(PLAN_SPAN_YEARS) + " at the latest; a longer piece of work is "
          + "split into milestones."));
    }
    return Future.succeededFuture();
  }

  private Future<Void> insertBaseline(SqlClient conn, UUID milestoneId, int version, BigDecimal planned,
                                      LocalDate start, LocalDate due, String reason, Actor actor, OffsetDateTime now) {
    return conn.preparedQuery("INSERT INTO milestone_baseline (milestone_id, version, planned_quantity, planned_start, "
            + "planned_due, reason, created_by, created_at) VALUES ($1, $2, $3::text::numeric, $4, $5, $6, $7, $8)")
        .execute(Tuple.from(new Object[] {milestoneId, version, planned.toPlainString(), start, due, reason,
            actor.accountId(), now}))
        .mapEmpty();
  }

  public <R> Future<R> rebaseline(Actor actor, UUID id, JsonObject b, Transaction<R> tx) {
    BigDecimal planned = quantity(b.getValue("plannedQuantity"), "body/plannedQuantity");
    LocalDate start = LocalDate.parse(b.getString("plannedStart"));
    LocalDate due = LocalDate.parse(b.getString("plannedDue"));
    String reason = b.getString("reason").strip();
    return tx.run(conn -> lockedMilestone(conn, actor, id)
        .compose(m -> open(conn, m.projectId()).map(m))
        .compose(m -> plan(start, due).map(m))
        .compose(m -> {
          int version = m.version() + 1;
          return insertBaseline(conn, id, version, planned, start, due, reason, actor, OffsetDateTime.now(clock))
              .compose(v -> conn.preparedQuery("UPDATE milestone SET baseline_version = $2 WHERE id = $1")
                  .execute(Tuple.of(id, version)))
              .compose(v -> unitOf(conn, m.projectId()))
              .compose(unitId -> audit.success(conn, actor, "milestone.rebaseline", "milestone", id, unitId,
                  new JsonObject().put("version", version).put("previousVersion", m.version())
                      .put("plannedQuantity", planned.toPlainString()).put("plannedStart", start.toString())
                      .put("plannedDue", due.toString()).put("reason", reason)))
              // A new baseline may put the milestone back on track, or off it: judged in this transaction.
              .compose(v -> alerts.judge(conn, id, today(), OffsetDateTime.now(clock), false)).mapEmpty();
        })
        .compose(v -> milestone(conn, Scope.everything(), id))
        .map(m -> m.toJson(today(), true)));
  }

  /**
   * Records a cumulative quantity. It may not be below the latest one, nor measured before it, unless it is a
   * correction (with a reason; audited as such). The measurement day defaults to today and may not be after it.
   */
  public <R> Future<R> recordProgress(Actor actor, UUID id, JsonObject b, Transaction<R> tx) {
    BigDecimal quantity = quantity(b.getValue("quantity"), "body/quantity");
    boolean correction = b.getBoolean("correction", false);
    String reason = b.getString("reason") == null ? null : b.getString("reason").strip();
    LocalDate today = today();
    LocalDate measuredOn = b.getString("measuredOn") == null ? today : LocalDate.parse(b.getString("measuredOn"));
    UUID reportId = b.getString("reportId") == null ? null : UUID.fromString(b.getString("reportId"));
    return tx.run(conn -> scopeOnceLocked(conn, actor, id)
        .compose(scope -> milestone(conn, scope, id)
            .compose(m -> open(conn, m.projectId()).map(m))
            .compose(m -> reportId == null ? Future.succeededFuture(m)
                : conn.preparedQuery("SELECT 1 FROM report r JOIN org_unit u ON u.id = r.unit_id WHERE r.id = $1 AND "
                        + Scope.sql("u.path", 2)).execute(Tuple.of(reportId, (Object) scope.paths()))
                    .compose(rows -> rows.size() > 0 ? Future.succeededFuture(m)
                        : Future.failedFuture(unprocessable("body/reportId", "No report " + reportId
                            + " in your scope.")))))
        .compose(m -> insertProgress(conn, actor, m, new Entry(quantity, measuredOn, reportId, correction, reason,
            false), today, "body/"))
        .compose(v -> milestone(conn, Scope.everything(), id))
        .map(m -> m.toJson(today, true)));
  }

  /**
   * One progress entry to record; {@code reportId} links it to the report it came from. {@code late}: a report's
   * measurement, which may take its place before the latest one when its quantity fits there ({@link #fits}).
   */
  private record Entry(BigDecimal quantity, LocalDate measuredOn, UUID reportId, boolean correction, String reason,
                       boolean late) {}

  /**
   * Records the cumulative quantity of a MILESTONE_PROGRESS report, inside the report's creating transaction (the
   * report row already written there), then judges the milestone's alerts. Never a correction. The measurement
   * day is the report's capture day (China Standard Time), down to today when later; a report that arrives after a
   * later measurement (its phone was offline) keeps that day when its quantity fits there ({@link #fits}), else it
   * is moved up to the latest measurement's day, where a quantity below the latest is 422 naming
   * {@code prefix + "quantity"}.
   * The milestone must be in the actor's scope (checked by the caller, which names its own field, and again once it
   * is locked, against the tree as it is then: 404 when it has left the scope meanwhile); on a closed
   * project it is the endpoint's own 409. A capture day before the first day of a record (the contract's
   * RecordDate) is 422 naming {@code body/capturedAt}: it would be the measurement's day.
   */
  public Future<Void> recordFromReport(SqlClient conn, Actor actor, UUID milestoneId, BigDecimal quantity,
                                       String unit, OffsetDateTime capturedAt, UUID reportId, String prefix) {
    LocalDate today = today();
    return lockedMilestone(conn, actor, milestoneId).compose(m -> open(conn, m.projectId()).map(m)).compose(m -> {
      if (unit != null && !unit.equals(m.unit())) {
        return Future.failedFuture(unprocessable(prefix + "unit", "The milestone counts in " + m.unit() + ", not "
            + unit + "."));
      }
      LocalDate measuredOn = capturedAt.atZoneSameInstant(ZONE).toLocalDate();
      if (measuredOn.isBefore(FIRST_RECORD_DAY)) {
        return Future.failedFuture(unprocessable("body/capturedAt", "The capture day " + measuredOn + " would be "
            + "the measurement's day, and a work record's days begin on " + FIRST_RECORD_DAY + "."));
      }
      if (measuredOn.isAfter(today)) {
        measuredOn = today;
      }
      MilestoneFigures.Progress latest = m.history().isEmpty() ? null : m.history().get(m.history().size() - 1);
      if (latest != null && measuredOn.isBefore(latest.measuredOn()) && !fits(m.history(), measuredOn, quantity)) {
        measuredOn = latest.measuredOn();
      }
      return insertProgress(conn, actor, m, new Entry(quantity, measuredOn, reportId, false, null, true), today,
          prefix);
    });
  }

  /**
   * Records a cumulative quantity on the locked milestone. It may not be below the latest one, nor measured before
   * it, unless it is a correction (with a reason; audited as such); the measurement day may not be after today.
   * Then the milestone's alerts are judged in the same transaction.
   */
  private Future<Void> insertProgress(SqlClient conn, Actor actor, Milestone m, Entry e, LocalDate today,
                                      String prefix) {
    UUID id = m.id();
    if (e.measuredOn().isAfter(today)) {
      return Future.failedFuture(unprocessable(prefix + "measuredOn", "measuredOn may not be after today ("
          + today + ")."));
    }
    if (e.correction() && (e.reason() == null || e.reason().isEmpty())) {
      return Future.failedFuture(unprocessable(prefix + "reason", "A correction needs a reason."));
    }
    MilestoneFigures.Progress latest = m.history().isEmpty() ? null : m.history().get(m.history().size() - 1);
    boolean inPlace = e.late() && fits(m.history(), e.measuredOn(), e.quantity());
    // What this entry follows in the history: the latest, or for a late report the last measured by its day.
    MilestoneFigures.Progress previous = inPlace ? MilestoneFigures.lastOn(m.history(), e.measuredOn()) : latest;
    if (!e.correction() && !inPlace && latest != null && e.quantity().compareTo(latest.quantity()) < 0) {
      return Future.failedFuture(unprocessable(prefix + "quantity", "The cumulative quantity may not decrease "
          + "(latest " + latest.quantity().toPlainString() + " on " + latest.measuredOn()
          + "); a supervisor corrects it explicitly (correction: true with a reason)."));
    }
    if (!e.correction() && !inPlace && latest != null && e.measuredOn().isBefore(latest.measuredOn())) {
      return Future.failedFuture(unprocessable(prefix + "measuredOn", "measuredOn may not be before the latest "
          + "measurement (" + latest.measuredOn() + ") unless it is a correction."));
    }
    return conn.preparedQuery("INSERT INTO milestone_progress (milestone_id, quantity, measured_on, report_id, "
            + "correction, reason, recorded_by, recorded_at) VALUES ($1, $2::text::numeric, $3, $4, $5, $6, $7, $8) "
            + "RETURNING seq")
        .execute(Tuple.from(new Object[] {id, e.quantity().toPlainString(), e.measuredOn(), e.reportId(),
            e.correction(), e.reason(), actor.accountId(), OffsetDateTime.now(clock)}))
        .compose(rows -> unitOf(conn, m.projectId()).compose(unitId -> audit.success(conn, actor,
            e.correction() ? "milestone.progress.correct" : "milestone.progress", "milestone", id, unitId,
            new JsonObject().put("seq", rows.iterator().next().getLong(0))
                .put("quantity", e.quantity().toPlainString()).put("measuredOn", e.measuredOn().toString())
                .put("previousQuantity", previous == null ? null : previous.quantity().toPlainString())
                .put("correction", e.correction()).put("reason", e.reason())
                .put("reportId", e.reportId() == null ? null : e.reportId().toString()))))
        .compose(v -> alerts.judge(conn, id, today, OffsetDateTime.now(clock), false))
        .mapEmpty();
  }

  /**
   * Whether {@code quantity} measured on {@code day} keeps the cumulative history non-decreasing: at least what was
   * measured by that day, at most whatever was measured after it.
   */
  private static boolean fits(List<MilestoneFigures.Progress> history, LocalDate day, BigDecimal quantity) {
    for (MilestoneFigures.Progress p : history) {
      if (p.measuredOn().isAfter(day) && p.quantity().compareTo(quantity) < 0) {
        return false;
      }
    }
    return quantity.compareTo(MilestoneFigures.actualOn(history, day)) >= 0;
  }

  public Future<JsonObject> sCurve(Actor actor, UUID projectId) {
    var pool = database.pool();
    LocalDate today = today();
    return actor.scope(pool)
        .compose(scope -> pool.preparedQuery("SELECT 1 FROM project p JOIN org_unit u ON u.id = p.unit_id "
                + "WHERE p.id = $1 AND " + Scope.sql("u.path", 2))
            .execute(Tuple.of(projectId, (Object) scope.paths())))
        .compose(rows -> rows.size() == 0 ? Future.failedFuture(notFound("project", projectId))
            : milestones(pool, projectId))
        .map(ms -> {
          int weeksEach = MilestoneFigures.weeksEach(ms.size());
          return new JsonObject().put("projectId", projectId.toString()).put("asOf", today.toString())
              .put("milestones", new JsonArray(ms.stream().map(m -> curveJson(m,
                  MilestoneFigures.sCurve(m.baseline(), m.history(), today, weeksEach))).toList()));
        });
  }

  private static JsonObject curveJson(Milestone m, MilestoneFigures.Curve curve) {
    return new JsonObject().put("milestoneId", m.id().toString()).put("name", m.name()).put("unit", m.unit())
        .put("everyWeeks", curve.everyWeeks())
        .put("weeks", new JsonArray(curve.weeks().stream()
            .map(w -> new JsonObject().put("week", w.isoWeek()).put("weekEnding", w.weekEnding().toString())
                .put("planned", w.planned()).put("actual", w.actual()))
            .toList()));
  }

  /**
   * The statuses that close a project, its outcomes ({@link #close}): its record is then what assessment reads
   * (DOMAIN.md: decisions stand on records nobody can quietly alter), so its milestones take no more progress
   * (corrections included), milestones or baselines, and it is not handed over. RecordWatch and MilestoneAlerts stop
   * judging them at the same statuses. SUSPENDED is paused, not closed.
   */
  static final Set<String> CLOSED = Set.of("COMPLETED", "CANCELLED");

  /** What a retired unit's projects no longer take (the 409's detail, after the unit). */
  static final String AT_RETIRED_UNIT = "its projects are kept as they are and take no more milestones, progress, "
      + "baselines or closing.";

  /**
   * Closes the project with {@code outcome} (COMPLETED or CANCELLED; supervisors and admins in scope, as they plan
   * it): status, closedAt and the reason are set once, audited as {@code project.close}. The project is locked by key,
   * then the scope read (out of scope 404), then its unit must be live (409 naming it). A project closed already with
   * the same outcome is answered as it is, nothing written (a repeat; its first reason stays); with the other
   * outcome it is the closed project's 409 (closedAt, outcome). CANCELLED needs a reason; so does COMPLETED while a
   * milestone is short of its planned quantity (422 naming body/reason; the audit entry lists those milestones):
   * the plan is a target, not a gate, and completing short of it is recorded with why, not refused (which would
   * leave a false measurement or a re-baseline fitted to the outcome). Writes on the milestones share-lock the
   * project ({@link #open}), so a closing waits for those under way and later ones see it closed.
   */
  public <R> Future<R> close(Actor actor, UUID id, JsonObject b, Transaction<R> tx) {
    String outcome = b.getString("outcome");
    // Stripped as stored; blanks the contract's \S let through (an ideographic space) are no reason
    String reason = b.getString("reason") == null || b.getString("reason").isBlank() ? null
        : b.getString("reason").strip();
    return tx.run(conn -> lockedProject(conn, actor, id)
        .compose(project -> {
          String status = project.getString(1);
          if (outcome.equals(status)) {
            return Future.succeededFuture(); // closed so already: a repeat
          }
          if (CLOSED.contains(status)) {
            return Future.failedFuture(closed(id, status, project.getOffsetDateTime(2)));
          }
          UUID unitId = project.getUUID(0);
          return OrgUnitRepository.requireLive(conn, unitId, AT_RETIRED_UNIT)
              .compose(live -> shortOfPlan(conn, id))
              .compose(shortOfPlan -> {
                if (reason == null && "CANCELLED".equals(outcome)) {
                  return Future.failedFuture(unprocessable("body/reason", "A cancelled project needs a reason."));
                }
                if (reason == null && !shortOfPlan.isEmpty()) {
                  return Future.failedFuture(unprocessable("body/reason", shortOfPlan.size() + " milestone(s) "
                      + "have not reached their planned quantity (" + String.join(", ", shortOfPlan.stream()
                      .limit(10).map(UUID::toString).toList()) + (shortOfPlan.size() > 10 ? ", ..." : "")
                      + "): completing the project so needs a reason."));
                }
                // to the microsecond, as stored: the audit entry names the instant the row holds
                OffsetDateTime now = OffsetDateTime.now(clock).truncatedTo(ChronoUnit.MICROS);
                return conn.preparedQuery("UPDATE project SET status = $2, closed_at = $3, close_reason = $4 "
                        + "WHERE id = $1").execute(Tuple.of(id, outcome, now, reason))
                    .compose(v -> audit.success(conn, actor, "project.close", "project", id, unitId,
                        new JsonObject().put("outcome", outcome).put("reason", reason)
                            .put("previousStatus", status).put("closedAt", instant(now))
                            .put("milestonesShortOfPlan", new JsonArray(shortOfPlan.stream()
                                .map(UUID::toString).toList()))));
              });
        })
        .compose(v -> projectJson(conn, Scope.everything(), id, true)));
  }

  /** The project's milestones whose latest quantity is below their current planned quantity, in id order. */
  private static Future<List<UUID>> shortOfPlan(SqlClient conn, UUID projectId) {
    return conn.preparedQuery("SELECT m.id FROM milestone m JOIN milestone_baseline b ON b.milestone_id = m.id "
            + "AND b.version = m.baseline_version WHERE m.project_id = $1 AND coalesce((SELECT mp.quantity "
            + "FROM milestone_progress mp WHERE mp.milestone_id = m.id ORDER BY mp.measured_on DESC, mp.seq DESC "
            + "LIMIT 1), 0) < b.planned_quantity ORDER BY m.id")
        .execute(Tuple.of(projectId))
        .map(rows -> {
          List<UUID> ids = new ArrayList<>();
          rows.forEach(r -> ids.add(r.getUUID(0)));
          return ids;
        });
  }

  /**
   * Refuses a write on the milestones of a closed project or of a project at a retired unit (409). The project row
   * stays share-locked until the write commits, so a closing ({@link #close}) waits for the writes already under way;
   * so does the unit's row ({@link OrgUnitRepository#requireLive}), so a retirement does.
   */
  private static Future<Void> open(SqlClient conn, UUID projectId) {
    return conn.preparedQuery("SELECT status, unit_id, closed_at FROM project WHERE id = $1 FOR SHARE")
        .execute(Tuple.of(projectId))
        .compose(rows -> {
          Row project = rows.iterator().next();
          String status = project.getString(0);
          return CLOSED.contains(status) ? Future.failedFuture(closed(projectId, status, project.getOffsetDateTime(2)))
              : OrgUnitRepository.requireLive(conn, project.getUUID(1), AT_RETIRED_UNIT);
        });
  }

  /** Refuses the hand-over of a closed project (409), read under the hand-over's lock of the project. */
  private static Future<Void> notClosed(SqlClient conn, UUID projectId) {
    return conn.preparedQuery("SELECT status, closed_at FROM project WHERE id = $1").execute(Tuple.of(projectId))
        .compose(rows -> {
          Row project = rows.iterator().next();
          return CLOSED.contains(project.getString(0))
              ? Future.failedFuture(closed(projectId, project.getString(0), project.getOffsetDateTime(1)))
              : Future.succeededFuture();
        });
  }

  /**
   * The project is closed: 409 naming it, its outcome and when it was closed (as a retired unit's 409 names the unit
   * and when it was retired); projectStatus is the outcome too, as before closing had an operation.
   */
  static ProblemException closed(UUID projectId, String outcome, OffsetDateTime closedAt) {
    return new ProblemException(Problem.of(ProblemType.CONFLICT, "Project " + projectId + " is " + outcome
            + " (closed at " + instant(closedAt) + "): a closed project takes no more progress, milestones, "
            + "baselines, hand-over or another outcome.")
        .with("projectId", projectId.toString()).with("projectStatus", outcome).with("outcome", outcome)
        .with("closedAt", instant(closedAt)));
  }

  private static Future<UUID> unitOf(SqlClient conn, UUID projectId) {
    return conn.preparedQuery("SELECT unit_id FROM project WHERE id = $1").execute(Tuple.of(projectId))
        .map(rows -> rows.iterator().next().getUUID(0));
  }

  /**
   * A quantity as stored (numeric(20, 3)): more than three decimal places would be rounded away silently, so they
   * are refused (422 naming the field). The contract bounds its size.
   */
  public static BigDecimal quantity(Object value, String field) {
    BigDecimal q = new BigDecimal(value.toString());
    if (q.stripTrailingZeros().scale() > 3) {
      throw unprocessable(field, "At most 3 decimal places are kept; " + q.toPlainString() + " has more.");
    }
    return q;
  }

  /**
   * An amount in yuan as stored (numeric(20, 2)): the fen is the smallest unit, so a third decimal place would be
   * rounded away silently (3200000000.125 became .13); it is refused (422 naming the field), as quantities are.
   */
  static BigDecimal yuan(Object value, String field) {
    BigDecimal y = new BigDecimal(value.toString());
    if (y.stripTrailingZeros().scale() > 2) {
      throw unprocessable(field, "Amounts in yuan are kept to the fen (2 decimal places); " + y.toPlainString()
          + " has more.");
    }
    return y;
  }

  static ProblemException notFound(String what, UUID id) {
    return new ProblemException(Problem.of(ProblemType.NOT_FOUND, "No " + what + " " + id + " in your scope."));
  }

  static ProblemException unprocessable(String field, String reason) {
    return new ProblemException(Problem.of(ProblemType.UNPROCESSABLE, reason)
        .withErrors(List.of(new Problem.FieldError(field, reason))));
  }
}
