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
import org.frontline.identity.RecordHandOver;
import org.frontline.identity.Scope;
import org.frontline.platform.db.Database;
import org.frontline.platform.db.Transaction;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemException;
import org.frontline.platform.http.ProblemType;

import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * Enterprises: created by supervisors and admins for a unit in their scope, read by everyone whose scope covers
 * the enterprise's unit (out of scope: 404, like a missing one). The credit code is unique across all units.
 */
public final class EnterpriseService {
  public record Designation(String kind, LocalDate awardedOn) {}

  public record NewEnterprise(String name, String uscc, String industry, UUID unitId, List<Designation> designations) {}

  private static final String VIEW = "SELECT e.id, e.name, e.uscc, e.industry, e.unit_id, e.created_at,"
      + " coalesce((SELECT json_agg(json_build_object('kind', d.kind, 'awardedOn', d.awarded_on)"
      + " ORDER BY d.awarded_on, d.kind) FROM enterprise_designation d WHERE d.enterprise_id = e.id), '[]')::text"
      + " AS designations FROM enterprise e JOIN org_unit u ON u.id = e.unit_id";

  private final Database database;
  private final AdminAudit audit;
  private final RecordHandOver handOver;

  public EnterpriseService(Database database, AdminAudit audit) {
    this.database = database;
    this.audit = audit;
    this.handOver = new RecordHandOver(audit);
  }

  public <R> Future<R> create(Actor actor, NewEnterprise e, Transaction<R> tx) {
    if (!Uscc.valid(e.uscc())) {
      // The contract's pattern has already refused anything that is not 18 characters of the alphabet (400).
      return Future.failedFuture(unprocessable("body/uscc", "The check character of this Unified Social Credit Code"
          + " is wrong (GB 32100-2015): expected " + Uscc.checkCharacter(e.uscc().substring(0, 17)) + "."));
    }
    Set<String> kinds = new HashSet<>();
    for (int i = 0; i < e.designations().size(); i++) {
      if (!kinds.add(e.designations().get(i).kind())) {
        return Future.failedFuture(unprocessable("body/designations/" + i + "/kind", "Designation listed twice."));
      }
    }
    UUID id = UUID.randomUUID();
    // The unit is share-locked by key first (against a retirement under way), then checked, as a posting's is.
    return tx.run(conn -> OrgUnitRepository.lockShared(conn, List.of(e.unitId())).compose(locked -> actor.scope(conn))
            .compose(scope -> unitInScope(conn, scope, e.unitId()))
            .compose(inScope -> inScope ? Future.succeededFuture() : Future.failedFuture(unprocessable("body/unitId",
                "No live org unit " + e.unitId() + " in your scope.")))
            .compose(v -> conn.preparedQuery("INSERT INTO enterprise (id, name, uscc, industry, unit_id, created_by)"
                    + " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (uscc) DO NOTHING RETURNING id")
                .execute(Tuple.of(id, e.name(), e.uscc(), e.industry(), e.unitId(), actor.accountId())))
            .compose(rows -> rows.rowCount() == 0 ? Future.failedFuture(new ProblemException(Problem.of(
                ProblemType.CONFLICT, "An enterprise with credit code " + e.uscc() + " is already registered.")))
                : insertDesignations(conn, id, e.designations()))
            .compose(v -> audit.success(conn, actor, "enterprise.create", "enterprise", id, e.unitId(),
                new JsonObject().put("uscc", e.uscc()).put("name", e.name())
                    .put("designations", e.designations().size())))
            .compose(v -> find(conn, Scope.everything(), id))
            .map(found -> found.orElseThrow()));
  }

  /**
   * Hands the enterprise over to the live unit {@code newUnitId} (admins; {@link RecordHandOver}), from a retired
   * unit, whose records are read-only until then, or a live one: its credit code stays registered, with its
   * designations, service requests and their history. A request not yet closed keeps its responsible officer, who
   * must still read and move it: 409 naming those requests when the officer's scope does not cover the new unit (an
   * admin widens it, or another officer takes the request, first). Their overdue alert is cleared: the old unit's
   * supervisors were told, the new unit's are told at the record watch's next round.
   */
  public <R> Future<R> move(Actor actor, UUID id, UUID newUnitId, Transaction<R> tx) {
    return tx.run(conn -> handOver.move(conn, actor, "enterprise", id, newUnitId, () -> notFound(id),
            Future::succeededFuture,
            from -> conn.preparedQuery("SELECT sr.id FROM service_request sr WHERE sr.enterprise_id = $1"
                    + " AND sr.status <> 'CLOSED' AND NOT EXISTS (SELECT 1 FROM account_scope s"
                    + " JOIN org_unit cover ON cover.id = s.unit_id JOIN org_unit target ON target.id = $2"
                    + " WHERE s.account_id = sr.responsible_officer_id AND "
                    + Scope.within("target.path", "cover.path") + ") ORDER BY sr.id")
                .execute(Tuple.of(id, newUnitId))
                .compose(stranded -> stranded.size() == 0 ? Future.succeededFuture()
                    : Future.failedFuture(strandedRequests(stranded)))
                .compose(v -> conn.preparedQuery("UPDATE service_request SET overdue_alerted_at = NULL"
                        + " WHERE enterprise_id = $1 AND status IN ('RECEIVED', 'COORDINATING')")
                    .execute(Tuple.of(id)))
                .map(rows -> new JsonObject().put("openRequests", rows.rowCount())))
        .compose(v -> find(conn, Scope.everything(), id))
        .map(found -> found.orElseThrow()));
  }

  private static ProblemException strandedRequests(Iterable<Row> requests) {
    List<String> ids = new ArrayList<>();
    requests.forEach(r -> ids.add(r.getUUID(0).toString()));
    return new ProblemException(Problem.of(ProblemType.CONFLICT, "The service requests " + String.join(", ", ids)
            + " are not closed, and their responsible officer's scope does not cover the new unit: widen it, or"
            + " close the requests, first.")
        .with("references", List.of("service_request.responsible_officer_id")));
  }

  private static Future<Void> insertDesignations(SqlClient conn, UUID id, List<Designation> designations) {
    if (designations.isEmpty()) {
      return Future.succeededFuture();
    }
    List<Tuple> batch = designations.stream().map(d -> Tuple.of(id, d.kind(), d.awardedOn())).toList();
    return conn.preparedQuery("INSERT INTO enterprise_designation (enterprise_id, kind, awarded_on) VALUES ($1, $2, $3)")
        .executeBatch(batch).mapEmpty();
  }

  public Future<JsonObject> get(Actor actor, UUID id) {
    var pool = database.pool();
    return actor.scope(pool).compose(scope -> find(pool, scope, id))
        .compose(found -> found.map(Future::succeededFuture).orElseGet(() -> Future.failedFuture(notFound(id))));
  }

  public Future<Page<JsonObject>> list(Actor actor, String cursor, Integer limit) {
    String after = Page.decode(cursor, Page.TimeId::valid);
    int size = Page.limit(limit);
    var pool = database.pool();
    return actor.scope(pool).compose(scope -> {
      String sql = VIEW + " WHERE " + Scope.sql("u.path", 1)
          + (after == null ? "" : " AND (e.created_at, e.id) < ($3::timestamptz, $4::uuid)")
          + " ORDER BY e.created_at DESC, e.id DESC LIMIT $2";
      Tuple t = Tuple.of((Object) scope.paths(), size + 1);
      if (after != null) {
        Page.TimeId last = Page.TimeId.parse(after);
        t.addOffsetDateTime(last.at()).addUUID(last.id());
      }
      return pool.preparedQuery(sql).execute(t).map(rows -> {
        List<JsonObject> out = new ArrayList<>();
        rows.forEach(r -> out.add(json(r)));
        return Page.of(out, size, j -> j.getString("createdAt") + "|" + j.getString("id"));
      });
    });
  }

  /** The enterprise if its unit is in the scope. */
  static Future<java.util.Optional<JsonObject>> find(SqlClient client, Scope scope, UUID id) {
    return client.preparedQuery(VIEW + " WHERE e.id = $1 AND " + Scope.sql("u.path", 2))
        .execute(Tuple.of(id, (Object) scope.paths()))
        .map(rows -> rows.size() == 0 ? java.util.Optional.empty() : java.util.Optional.of(json(rows.iterator().next())));
  }

  static Future<Boolean> unitInScope(SqlClient conn, Scope scope, UUID unitId) {
    return conn.preparedQuery("SELECT 1 FROM org_unit u WHERE u.id = $1 AND u.retired_at IS NULL AND "
            + Scope.sql("u.path", 2))
        .execute(Tuple.of(unitId, (Object) scope.paths()))
        .map(rows -> rows.size() > 0);
  }

  private static JsonObject json(Row r) {
    return new JsonObject()
        .put("id", r.getUUID("id").toString())
        .put("name", r.getString("name"))
        .put("uscc", r.getString("uscc"))
        .put("industry", r.getString("industry"))
        .put("unitId", r.getUUID("unit_id").toString())
        .put("designations", new JsonArray(r.getString("designations")))
        .put("createdAt", time(r.getOffsetDateTime("created_at")));
  }

  static String time(OffsetDateTime t) {
    return t == null ? null : DateTimeFormatter.ISO_OFFSET_DATE_TIME.format(t.withOffsetSameInstant(ZoneOffset.UTC));
  }


  static ProblemException notFound(UUID id) {
    return Problem.of(ProblemType.NOT_FOUND, "No enterprise " + id + " in your scope.").toException();
  }

  static ProblemException unprocessable(String field, String reason) {
    return Problem.of(ProblemType.UNPROCESSABLE, reason)
        .withErrors(List.of(new Problem.FieldError(field, reason))).toException();
  }
}
