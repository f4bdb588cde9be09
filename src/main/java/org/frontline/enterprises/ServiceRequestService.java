package org.frontline.enterprises;

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
import org.frontline.identity.Scope;
import org.frontline.platform.db.Database;
import org.frontline.platform.db.Transaction;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemException;
import org.frontline.platform.http.ProblemType;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * An enterprise's service requests (诉求) and their lifecycle RECEIVED > COORDINATING (once per department brought
 * in) > RESOLVED (with evidence) > CLOSED (with the enterprise's satisfaction). Scoped through the enterprise's unit.
 */
public final class ServiceRequestService {
  /** The SLA per category, in calendar days from receipt: {@code dueAt = receivedAt + days}. */
  public static final Map<String, Integer> SLA_DAYS = Map.of(
      "APPROVAL", 10,
      "LAND", 30,
      "FINANCING", 15,
      "TALENT", 15,
      "TRANSFORMATION_UPGRADING", 30,
      "OTHER", 15);

  /** The legal transitions from each status (COORDINATING repeats: one step per department brought in). */
  public static final Map<String, List<String>> ALLOWED = Map.of(
      "RECEIVED", List.of("COORDINATING"),
      "COORDINATING", List.of("COORDINATING", "RESOLVED"),
      "RESOLVED", List.of("CLOSED"),
      "CLOSED", List.of());

  public record NewRequest(String category, String description, UUID responsibleOfficerId) {}

  /** A move; {@code approvalDaysSaved} only on resolving an APPROVAL request (optional there). */
  public record Transition(String to, String department, String evidence, Integer satisfaction,
                           Integer approvalDaysSaved) {
    /** As the contract has it (ServiceRequestTransition): the transitions endpoint's body, a report's advanceTo. */
    public static Transition from(io.vertx.core.json.JsonObject json) {
      return new Transition(json.getString("to"), json.getString("department"), json.getString("evidence"),
          json.getInteger("satisfaction"), json.getInteger("approvalDaysSaved"));
    }
  }

  private static final String VIEW = "SELECT sr.*, coalesce((SELECT json_agg(json_build_object('seq', s.seq,"
      + " 'from', s.from_status, 'to', s.to_status, 'department', s.department, 'evidence', s.evidence,"
      + " 'satisfaction', s.satisfaction, 'actorId', s.actor_id, 'at', s.at) ORDER BY s.seq)"
      + " FROM service_request_step s WHERE s.service_request_id = sr.id), '[]')::text AS steps,"
      + " coalesce((SELECT json_agg(json_build_object('reportId', a.report_id, 'action', a.action, 'actorId',"
      + " a.actor_id, 'at', a.at) ORDER BY a.at, a.report_id, a.ordinal) FROM service_request_action a"
      + " WHERE a.service_request_id = sr.id), '[]')::text AS actions"
      + " FROM service_request sr JOIN enterprise e ON e.id = sr.enterprise_id JOIN org_unit u ON u.id = e.unit_id";

  private final Database database;
  private final AdminAudit audit;

  public ServiceRequestService(Database database, AdminAudit audit) {
    this.database = database;
    this.audit = audit;
  }

  public <R> Future<R> create(Actor actor, UUID enterpriseId, NewRequest req, Transaction<R> tx) {
    UUID id = UUID.randomUUID();
    OffsetDateTime receivedAt = now();
    OffsetDateTime dueAt = receivedAt.plus(Duration.ofDays(SLA_DAYS.get(req.category())));
    return tx.run(conn -> lockEnterprise(conn, enterpriseId)
        .compose(v -> actor.scope(conn))
        .compose(scope -> EnterpriseService.find(conn, scope, enterpriseId))
        .compose(found -> found.isPresent() ? Future.succeededFuture(UUID.fromString(found.get().getString("unitId")))
            : Future.failedFuture(EnterpriseService.notFound(enterpriseId)))
        .compose(unitId -> unitLive(conn, unitId).map(unitId))
        // The one responsible must be able to read and move the request: their scope covers the enterprise's
        // unit. (Any account would do before: a request nobody responsible could see, and an oracle telling which
        // ids are officers anywhere.)
        .compose(unitId -> conn.preparedQuery("SELECT 1 FROM account a WHERE a.id = $1 AND a.disabled_at IS NULL"
                + " AND a.roles && ARRAY['officer', 'supervisor']::text[] AND EXISTS (SELECT 1 FROM account_scope s"
                + " JOIN org_unit cover ON cover.id = s.unit_id JOIN org_unit target ON target.id = $2"
                + " WHERE s.account_id = a.id AND " + Scope.within("target.path", "cover.path") + ")")
            .execute(Tuple.of(req.responsibleOfficerId(), unitId))
            .compose(rows -> rows.size() > 0 ? Future.succeededFuture(unitId)
                : Future.failedFuture(EnterpriseService.unprocessable("body/responsibleOfficerId",
                    "No enabled officer or supervisor " + req.responsibleOfficerId()
                        + " whose scope covers the enterprise's unit."))))
        .compose(unitId -> conn.preparedQuery("INSERT INTO service_request (id, enterprise_id, category, description,"
                + " responsible_officer_id, status, received_at, due_at, created_by)"
                + " VALUES ($1, $2, $3, $4, $5, 'RECEIVED', $6, $7, $8)")
            .execute(Tuple.from(new Object[] {id, enterpriseId, req.category(), req.description(),
                req.responsibleOfficerId(), receivedAt, dueAt, actor.accountId()}))
            .compose(v -> audit.success(conn, actor, "service-request.create", "service_request", id, unitId,
                new JsonObject().put("enterpriseId", enterpriseId.toString()).put("category", req.category())
                    .put("description", req.description())
                    .put("responsibleOfficerId", req.responsibleOfficerId().toString())
                    .put("receivedAt", EnterpriseService.time(receivedAt)).put("dueAt", EnterpriseService.time(dueAt)))))
        .compose(v -> find(conn, Scope.everything(), id))
        .map(found -> json(found.orElseThrow())));
  }

  public Future<JsonObject> get(Actor actor, UUID id) {
    var pool = database.pool();
    return actor.scope(pool).compose(scope -> find(pool, scope, id))
        .compose(found -> found.map(r -> Future.succeededFuture(json(r)))
            .orElseGet(() -> Future.failedFuture(notFound(id))));
  }

  /**
   * The requests of the enterprises in the caller's scope, the earliest deadline first ({@code dueAt}, then id: the
   * keyset of service_request_due_idx, or of service_request_enterprise_due_idx for one enterprise), of one status
   * and of one enterprise when asked: how a supervisor sees each request through to its end. The cursor is bound to
   * the filters.
   */
  public Future<Page<JsonObject>> list(Actor actor, String status, UUID enterpriseId, String cursor, Integer limit) {
    String filters = Page.filters("service-requests", status, enterpriseId);
    String after = Page.decode(cursor, Page.TimeId::valid, filters);
    int size = Page.limit(limit);
    var pool = database.pool();
    return actor.scope(pool).compose(scope -> {
      List<Object> params = new ArrayList<>(List.of((Object) scope.paths()));
      if (status != null) {
        params.add(status);
      }
      if (enterpriseId != null) {
        params.add(enterpriseId);
      }
      if (after != null) {
        Page.TimeId last = Page.TimeId.parse(after);
        params.add(last.at());
        params.add(last.id());
      }
      params.add(size + 1);
      return pool.preparedQuery(listSql(status != null, enterpriseId != null, after != null))
          .execute(Tuple.from(params));
    }).map(rows -> {
      List<Row> list = new ArrayList<>();
      rows.forEach(list::add);
      Page<Row> page = Page.of(list, size, r -> Page.TimeId.key(r.getOffsetDateTime("due_at"), r.getUUID("id")),
          filters);
      return new Page<>(page.items().stream().map(ServiceRequestService::json).toList(), page.nextCursor());
    });
  }

  /**
   * The list's statement: $1 the scope's paths, then the status, the enterprise and the cursor's (due_at, id) when
   * given, and last the number of rows to read.
   */
  static String listSql(boolean byStatus, boolean byEnterprise, boolean after) {
    StringBuilder sql = new StringBuilder(VIEW + " WHERE " + Scope.sql("u.path", 1));
    int n = 1;
    if (byStatus) {
      sql.append(" AND sr.status = $").append(++n);
    }
    if (byEnterprise) {
      sql.append(" AND sr.enterprise_id = $").append(++n);
    }
    if (after) {
      sql.append(" AND (sr.due_at, sr.id) > ($").append(++n).append(", $").append(++n).append(")");
    }
    return sql.append(" ORDER BY sr.due_at, sr.id LIMIT $").append(++n).toString();
  }

  /** Applies one transition under the row lock; an illegal one is 409 with the allowed ones. */
  public <R> Future<R> transition(Actor actor, UUID id, Transition t, Transaction<R> tx) {
    return tx.run(conn -> locked(conn, actor, id)
        .compose(found -> found.isEmpty() ? Future.failedFuture(notFound(id))
            : unitLive(conn, found.get().getUUID("unit_id"))
                .compose(live -> doneAt(conn, id, now()))
                .compose(at -> move(conn, actor, found.get(), t, "body/", at)))
        .compose(v -> find(conn, Scope.everything(), id))
        .map(again -> json(again.orElseThrow())));
  }

  /**
   * What an ENTERPRISE_SERVICE report does to its request, inside the report's creating transaction (the report row
   * already written there): appends the report's actions, then applies {@code advance} when asked (an illegal move
   * is the same 409 as the transitions endpoint; a missing or misplaced field is 422 named under {@code prefix}).
   * A CLOSED request takes no more actions (the same 409, {@code allowed} empty).
   * The request must be in the actor's scope (checked by the caller, which names its own fields, and again once it is
   * locked, against the tree as it is then: 404 when it has left the scope meanwhile).
   * The actions and the move are recorded at the time the officer did them ({@link #doneAt}), not at the report's
   * receipt: a phone that queued the report offline for days would otherwise stretch the request's time to
   * resolution by as much.
   */
  public Future<Void> recordFromReport(SqlClient conn, Actor actor, UUID id, UUID reportId, OffsetDateTime capturedAt,
                                       List<String> actions, Transition advance, String prefix) {
    return locked(conn, actor, id).compose(found -> {
      if (found.isEmpty()) {
        return Future.failedFuture(notFound(id));
      }
      Row row = found.get();
      if (ALLOWED.get(row.getString("status")).isEmpty()) {
        // A closed request is a finished record, rated by its enterprise: appending to it would change how it was
        // handled after the fact (as progress on a closed project would). The illegal move's 409.
        return Future.failedFuture(illegalMove(row.getString("status"), "The service request " + id + " is "
            + row.getString("status") + " (final); it takes no more actions."));
      }
      return unitLive(conn, row.getUUID("unit_id"))
          .compose(live -> doneAt(conn, id, capturedAt))
          .compose(at -> conn.preparedQuery("INSERT INTO service_request_action (report_id, ordinal,"
                  + " service_request_id, action, actor_id, at) SELECT $1, a.ordinality - 1, $2, a.action, $3, $4"
                  + " FROM unnest($5::text[]) WITH ORDINALITY AS a (action, ordinality)")
              .execute(Tuple.of(reportId, id, actor.accountId(), at, actions.toArray(String[]::new)))
              .compose(v -> audit.success(conn, actor, "service-request.actions", "service_request", id,
                  row.getUUID("unit_id"), new JsonObject().put("reportId", reportId.toString())
                      .put("actions", actions.size()).put("at", EnterpriseService.time(at))))
              .compose(v -> advance == null ? Future.succeededFuture()
                  : move(conn, actor, row, advance, prefix + "advanceTo/", at)));
    });
  }

  /**
   * When a move or a report's actions on request {@code id} (locked) were done: a report's capture time, the
   * transitions endpoint's now, but never after now (a report's receipt; a phone's clock running ahead) and always
   * after everything the request already records (its receipt, its last step and action; a phone's clock running
   * behind, or a report queued offline while others arrived), so that the request's history reads in the order it
   * was recorded and no step lands before the one it follows. The later bound wins: a time recorded by an instance
   * whose clock runs ahead of this one's is followed, not preceded (the endpoint's move was recorded at this
   * instance's now before, which could put a resolution before the receipt: a negative time to resolution).
   */
  private static Future<OffsetDateTime> doneAt(SqlClient conn, UUID id, OffsetDateTime capturedAt) {
    return conn.preparedQuery("SELECT greatest(least($2::timestamptz, $3::timestamptz), greatest(sr.received_at,"
            + " (SELECT max(at) FROM service_request_step WHERE service_request_id = $1),"
            + " (SELECT max(at) FROM service_request_action WHERE service_request_id = $1))"
            + " + interval '1 microsecond') FROM service_request sr WHERE sr.id = $1")
        .execute(Tuple.of(id, capturedAt, now()))
        .map(rows -> rows.iterator().next().getOffsetDateTime(0));
  }

  private static OffsetDateTime now() {
    return Instant.now().truncatedTo(ChronoUnit.MICROS).atOffset(ZoneOffset.UTC);
  }

  /**
   * A service request is created, moved or reported on only at a live unit (409 naming the retired one): a unit is
   * retired only once its requests are closed (OrgUnitService.retire), and its records are then kept as they are.
   */
  private static Future<Void> unitLive(SqlClient conn, UUID unitId) {
    return OrgUnitRepository.requireLive(conn, unitId, "its enterprises' service requests are kept as they are and "
        + "take no new requests, moves or actions.");
  }

  /** One transition of the locked request {@code row}, done at {@code at}. */
  private Future<Void> move(SqlClient conn, Actor actor, Row row, Transition t, String prefix, OffsetDateTime at) {
    UUID id = row.getUUID("id");
    String from = row.getString("status");
    List<String> allowed = ALLOWED.get(from);
    if (!allowed.contains(t.to())) {
      return Future.failedFuture(illegalMove(from, "A request " + from + " cannot move to " + t.to()
          + (allowed.isEmpty() ? "; it is final." : "; allowed: " + String.join(", ", allowed) + ".")));
    }
    ProblemException invalid = fieldsFor(t, prefix, row.getString("category"));
    if (invalid != null) {
      return Future.failedFuture(invalid);
    }
    Short satisfaction = t.satisfaction() == null ? null : t.satisfaction().shortValue();
    String update;
    Tuple params;
    switch (t.to()) {
      case "RESOLVED" -> {
        update = "UPDATE service_request SET status = 'RESOLVED', resolved_at = $2, evidence = $3,"
            + " approval_days_saved = $4 WHERE id = $1";
        params = Tuple.of(id, at, t.evidence(), t.approvalDaysSaved());
      }
      case "CLOSED" -> {
        update = "UPDATE service_request SET status = 'CLOSED', closed_at = $2, satisfaction = $3 WHERE id = $1";
        params = Tuple.of(id, at, satisfaction);
      }
      default -> {
        update = "UPDATE service_request SET status = 'COORDINATING' WHERE id = $1";
        params = Tuple.of(id);
      }
    }
    UUID unitId = row.getUUID("unit_id");
    return departmentNotYetIn(conn, id, from, t)
        .compose(v -> conn.preparedQuery("INSERT INTO service_request_step (service_request_id, seq, from_status,"
                + " to_status, department, evidence, satisfaction, actor_id, at)"
                + " SELECT $1, coalesce(max(seq), 0) + 1, $2, $3, $4, $5, $6, $7, $8 FROM service_request_step"
                + " WHERE service_request_id = $1")
            .execute(Tuple.from(new Object[] {id, from, t.to(), t.department(), t.evidence(),
                satisfaction, actor.accountId(), at})))
        .compose(v -> conn.preparedQuery(update).execute(params))
        .compose(v -> audit.success(conn, actor, "service-request.transition", "service_request", id, unitId,
            new JsonObject().put("from", from).put("to", t.to()).put("department", t.department())
                .put("evidence", t.evidence()).put("satisfaction", t.satisfaction())
                .put("approvalDaysSaved", t.approvalDaysSaved()).put("at", EnterpriseService.time(at))))
        .mapEmpty();
  }

  /**
   * A department is brought in once (a step each): a move to COORDINATING naming one already brought in is the
   * illegal move's 409. A phone repeating the move it sent (its answer lost) added the same department again, as a
   * second step with a later hand-off time. Read under the request's row lock, so a concurrent repeat waits and
   * then sees the first one's step.
   */
  private static Future<Void> departmentNotYetIn(SqlClient conn, UUID id, String from, Transition t) {
    if (!"COORDINATING".equals(t.to())) {
      return Future.succeededFuture();
    }
    return conn.preparedQuery("SELECT seq FROM service_request_step WHERE service_request_id = $1"
            + " AND to_status = 'COORDINATING' AND department = $2 ORDER BY seq LIMIT 1")
        .execute(Tuple.of(id, t.department()))
        .compose(rows -> rows.size() == 0 ? Future.succeededFuture() : Future.failedFuture(illegalMove(from,
            "The department " + t.department() + " was already brought in (step "
                + rows.iterator().next().getInteger(0) + "); each department is brought in once.")));
  }

  /** The illegal move's 409: the request's status and the moves it allows (none for a final one). */
  private static ProblemException illegalMove(String status, String detail) {
    return Problem.of(ProblemType.CONFLICT, detail).with("currentStatus", status)
        .with("allowed", new JsonArray(ALLOWED.get(status))).toException();
  }

  /** Each target status takes its own field and no other's: 422 naming the missing or misplaced field. */
  private static ProblemException fieldsFor(Transition t, String prefix, String category) {
    if (t.approvalDaysSaved() != null && !("RESOLVED".equals(t.to()) && "APPROVAL".equals(category))) {
      return EnterpriseService.unprocessable(prefix + "approvalDaysSaved", "approvalDaysSaved is recorded only when"
          + " an APPROVAL request is resolved.");
    }
    String needed = switch (t.to()) {
      case "COORDINATING" -> "department";
      case "RESOLVED" -> "evidence";
      default -> "satisfaction";
    };
    Map<String, Object> given = new java.util.LinkedHashMap<>();
    given.put("department", t.department());
    given.put("evidence", t.evidence());
    given.put("satisfaction", t.satisfaction());
    for (var e : given.entrySet()) {
      if (e.getKey().equals(needed) && e.getValue() == null) {
        return EnterpriseService.unprocessable(prefix + needed, "A move to " + t.to() + " needs " + needed + ".");
      }
      if (!e.getKey().equals(needed) && e.getValue() != null) {
        return EnterpriseService.unprocessable(prefix + e.getKey(), "A move to " + t.to() + " takes no "
            + e.getKey() + ".");
      }
    }
    return null;
  }

  private static Future<Optional<Row>> find(SqlClient client, Scope scope, UUID id) {
    return client.preparedQuery(VIEW.replace("SELECT sr.*,", "SELECT sr.*, e.unit_id,") + " WHERE sr.id = $1 AND "
            + Scope.sql("u.path", 2))
        .execute(Tuple.of(id, (Object) scope.paths()))
        .map(rows -> rows.size() == 0 ? Optional.empty() : Optional.of(rows.iterator().next()));
  }

  /**
   * The request for a write: its enterprise share-locked ({@link #lockEnterprise}), then the request locked (FOR
   * UPDATE) by key in a statement of its own, then judged against the actor's
   * scope read once the lock is granted, against the tree as it is then. One statement locking the request joined to
   * its enterprise's unit with the scope check re-checked, once a write of the request it waited for committed, the
   * request's new version against the unit's row as it was when the statement began: a unit moved out of the scope
   * meanwhile still passed, and one moved into it was never found.
   */
  private static Future<Optional<Row>> locked(SqlClient conn, Actor actor, UUID id) {
    return lockEnterpriseOf(conn, "(SELECT enterprise_id FROM service_request WHERE id = $1)", id)
        .compose(v -> actor.scopeAfterLocking(conn, "service_request", id))
        .compose(scope -> find(conn, scope, id));
  }

  /** Share-locks the enterprise by key (see below): a hand-over of it, FOR UPDATE, waits, or is waited for. */
  public static Future<Void> lockEnterprise(SqlClient conn, UUID enterpriseId) {
    return lockEnterpriseOf(conn, "$1", enterpriseId);
  }

  /**
   * Share-locks the enterprise {@code enterpriseOf} names ($1 being {@code id}) by key, before anything of it is read:
   * its hand-over (EnterpriseService.move) locks it FOR UPDATE, so a request's creation or move either ends before
   * the hand-over changes its unit, or waits for it and is judged at the new unit (an ENTERPRISE_SERVICE report takes
   * it too, LinkedRecords through lockEnterprise). Without it, a creation judged the caller and the responsible officer
   * at the unit the enterprise was leaving and its insert then waited for the hand-over (the foreign key): an open
   * request of an enterprise the officer no longer covered, which the hand-over refuses; and a move of a request the
   * hand-over did not lock (one RESOLVED) did not wait at all: closed by a caller of the old unit, audited there.
   */
  private static Future<Void> lockEnterpriseOf(SqlClient conn, String enterpriseOf, UUID id) {
    return conn.preparedQuery("SELECT 1 FROM enterprise WHERE id = " + enterpriseOf + " FOR SHARE")
        .execute(Tuple.of(id)).mapEmpty();
  }

  private static JsonObject json(Row r) {
    String status = r.getString("status");
    Short satisfaction = r.getShort("satisfaction");
    return new JsonObject()
        .put("id", r.getUUID("id").toString())
        .put("enterpriseId", r.getUUID("enterprise_id").toString())
        .put("category", r.getString("category"))
        .put("description", r.getString("description"))
        .put("responsibleOfficerId", r.getUUID("responsible_officer_id").toString())
        .put("status", status)
        .put("allowedTransitions", new JsonArray(ALLOWED.get(status)))
        .put("receivedAt", EnterpriseService.time(r.getOffsetDateTime("received_at")))
        .put("dueAt", EnterpriseService.time(r.getOffsetDateTime("due_at")))
        .put("resolvedAt", EnterpriseService.time(r.getOffsetDateTime("resolved_at")))
        .put("evidence", r.getString("evidence"))
        .put("closedAt", EnterpriseService.time(r.getOffsetDateTime("closed_at")))
        .put("satisfaction", satisfaction == null ? null : satisfaction.intValue())
        .put("approvalDaysSaved", r.getInteger("approval_days_saved"))
        .put("steps", inUtc(new JsonArray(r.getString("steps"))))
        .put("actions", inUtc(new JsonArray(r.getString("actions"))));
  }

  /**
   * Each entry's {@code at} in UTC ("Z"), like every other timestamp: json_build_object writes a timestamptz in the
   * session's TimeZone ("+00:00" here, "+08:00" on a database set to Asia/Shanghai).
   */
  private static JsonArray inUtc(JsonArray entries) {
    entries.forEach(o -> {
      JsonObject entry = (JsonObject) o;
      String at = entry.getString("at");
      if (at != null) {
        entry.put("at", EnterpriseService.time(OffsetDateTime.parse(at)));
      }
    });
    return entries;
  }

  static ProblemException notFound(UUID id) {
    return Problem.of(ProblemType.NOT_FOUND, "No service request " + id + " in your scope.").toException();
  }
}
