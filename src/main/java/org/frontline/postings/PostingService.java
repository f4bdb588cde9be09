package org.frontline.postings;

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

import java.time.Clock;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.UUID;

/**
 * Postings of officers to the four front lines. Writers (supervisors, admins) act on postings whose unit is in their
 * scope, for officers whose home unit is in their scope (an officer out of scope is 422 naming body/officerId, like
 * a project's unit). Readers see postings whose unit is in their scope; a caller who holds only the officer role
 * sees only their own postings, at any unit (in the query: anything else is 404 like missing). "Today" is the clock's date in
 * China Standard Time. Every change is audited in its own transaction.
 */
public final class PostingService {
  static final ZoneId ZONE = ZoneId.of("Asia/Shanghai");
  private static final String COLUMNS = "p.id, p.officer_id, p.front_line, p.unit_id, u.name AS unit_name, "
      + "p.starts_on, p.ends_on, p.project_id, p.enterprise_ids, p.overlap_allowed, p.created_at, p.cancelled_at";
  /** Two periods overlap (null end = open-ended); $2 start, $3 end of the other. */
  private static final String OVERLAPS = "p.starts_on <= coalesce($3::date, 'infinity'::date) "
      + "AND coalesce(p.ends_on, 'infinity'::date) >= $2::date";

  private final Database database;
  private final AdminAudit audit;
  private final Clock clock;

  public PostingService(Database database, AdminAudit audit, Clock clock) {
    this.database = database;
    this.audit = audit;
    this.clock = clock;
  }

  LocalDate today() {
    return LocalDate.now(clock.withZone(ZONE));
  }

  /** Only the officer role among the caller's roles: reads are limited to their own postings. */
  private static boolean ownOnly(Actor actor) {
    return !actor.isSystem() && actor.caller().roles().stream().noneMatch(r -> !r.equals("officer"));
  }

  public <R> Future<R> create(Actor actor, JsonObject b, Transaction<R> tx) {
    UUID id = UUID.randomUUID();
    UUID officerId = UUID.fromString(b.getString("officerId"));
    UUID unitId = UUID.fromString(b.getString("unitId"));
    String frontLine = b.getString("frontLine");
    LocalDate startsOn = LocalDate.parse(b.getString("startsOn"));
    LocalDate endsOn = b.getString("endsOn") == null ? null : LocalDate.parse(b.getString("endsOn"));
    UUID projectId = b.getString("projectId") == null ? null : UUID.fromString(b.getString("projectId"));
    UUID[] enterprises = new LinkedHashSet<>(b.getJsonArray("enterpriseIds", new JsonArray()).stream()
        .map(o -> UUID.fromString(o.toString())).toList()).toArray(UUID[]::new);
    boolean allowOverlap = b.getBoolean("allowOverlap", false);
    if (endsOn != null && endsOn.isBefore(startsOn)) {
      return Future.failedFuture(unprocessable("body/endsOn", "endsOn may not be before startsOn."));
    }
    // The unit is share-locked by key first (against retiring, OrgUnitService.retire), then the caller's scope read
    // and the unit checked: one statement locking it with the scope check would drop a unit whose move (between two
    // subtrees of the scope) committed while the lock was waited for, and a scope read before the lock would miss
    // a move of a unit the caller covers, committed meanwhile.
    return tx.run(conn -> OrgUnitRepository.lockShared(conn, List.of(unitId))
        .compose(locked -> actor.scope(conn))
        .compose(scope -> {
          Object paths = scope.paths();
          return conn.preparedQuery("SELECT 1 FROM account a JOIN org_unit u ON u.id = a.home_unit_id WHERE a.id = $1 "
                  + "AND a.disabled_at IS NULL AND 'officer' = ANY (a.roles) AND " + Scope.sql("u.path", 2))
              .execute(Tuple.of(officerId, paths))
              .compose(rows -> rows.size() > 0 ? check(conn, "SELECT 1 FROM org_unit u WHERE u.id = $1 AND "
                      + "u.retired_at IS NULL AND " + Scope.sql("u.path", 2), Tuple.of(unitId, paths), 1, "body/unitId",
                      "No live org unit " + unitId + " in your scope.")
                  : Future.failedFuture(unprocessable("body/officerId", "No enabled officer " + officerId
                      + " whose home unit is in your scope.")))
              .compose(v -> projectId == null ? Future.succeededFuture() : check(conn, "SELECT 1 FROM project p JOIN "
                      + "org_unit u ON u.id = p.unit_id WHERE p.id = $1 AND " + Scope.sql("u.path", 2),
                  Tuple.of(projectId, paths), 1, "body/projectId", "No project " + projectId + " in your scope."))
              .compose(v -> enterprises.length == 0 ? Future.succeededFuture() : check(conn, "SELECT 1 FROM "
                      + "enterprise e JOIN org_unit u ON u.id = e.unit_id WHERE e.id = ANY ($1) AND "
                      + Scope.sql("u.path", 2),
                  Tuple.of(enterprises, paths), enterprises.length, "body/enterpriseIds",
                  "Not every enterprise of enterpriseIds is in your scope."))
              .compose(v -> attachedUnitsLive(conn, projectId, enterprises))
              .map(scope);
        })
        .compose(scope -> overlapping(conn, scope, officerId, startsOn, endsOn, null))
        .compose(overlaps -> {
          if (!overlaps.isEmpty() && !allowOverlap) {
            return Future.failedFuture(conflict(overlaps, "This period overlaps " + named(overlaps)
                + "; send allowOverlap: true to state that the overlap is intended."));
          }
          return conn.preparedQuery("INSERT INTO posting (id, officer_id, front_line, unit_id, starts_on, ends_on, "
                  + "project_id, enterprise_ids, overlap_allowed, created_by, created_at) "
                  + "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
              .execute(Tuple.from(new Object[] {id, officerId, frontLine, unitId, startsOn, endsOn, projectId,
                  enterprises, !overlaps.isEmpty(), actor.accountId(), OffsetDateTime.now(clock)}))
              .compose(x -> audit.success(conn, actor, "posting.create", "posting", id, unitId, new JsonObject()
                  .put("officerId", officerId.toString()).put("frontLine", frontLine)
                  .put("startsOn", startsOn.toString()).put("endsOn", endsOn == null ? null : endsOn.toString())
                  .put("projectId", projectId == null ? null : projectId.toString())
                  .put("enterpriseIds", new JsonArray(Arrays.stream(enterprises).map(UUID::toString).toList()))
                  .put("overlapAllowed", !overlaps.isEmpty())
                  .put("overlapsWith", new JsonArray(overlaps.stream().map(o -> o.id().toString()).toList()))));
        })
        .compose(v -> posting(conn, Scope.everything(), null, id)));
  }

  public <R> Future<R> extend(Actor actor, UUID id, JsonObject b, Transaction<R> tx) {
    LocalDate endsOn = LocalDate.parse(b.getString("endsOn"));
    return tx.run(conn -> locked(conn, actor, id)
        .compose(l -> notCancelled(l.posting()).compose(v -> unitLive(conn, l.posting()))
            .compose(v -> officerActive(conn, l.posting()))
            .compose(v -> extend(conn, actor, l.scope(), l.posting(), endsOn)))
        .compose(v -> posting(conn, Scope.everything(), null, id)));
  }

  private Future<Void> extend(SqlClient conn, Actor actor, Scope scope, JsonObject p, LocalDate endsOn) {
    LocalDate current = p.getString("endsOn") == null ? null : LocalDate.parse(p.getString("endsOn"));
    if (current == null) {
      return Future.failedFuture(unprocessable("body/endsOn", "The posting is open-ended: nothing to extend."));
    }
    if (!endsOn.isAfter(current)) {
      return Future.failedFuture(unprocessable("body/endsOn", "endsOn must be later than the current end ("
          + current + ")."));
    }
    UUID id = UUID.fromString(p.getString("id"));
    UUID officerId = UUID.fromString(p.getString("officerId"));
    LocalDate startsOn = LocalDate.parse(p.getString("startsOn"));
    // Only a new overlap is refused: one the added days (after the current end) bring. An overlap the
    // posting already had was stated when it arose (by the other posting's allowOverlap).
    return overlapping(conn, scope, officerId, current.plusDays(1), endsOn, id).compose(overlaps -> {
      if (!overlaps.isEmpty() && !p.getBoolean("overlapAllowed")) {
        return overlapping(conn, scope, officerId, startsOn, current, id).compose(before -> {
          List<Overlap> fresh = overlaps.stream().filter(o -> !before.contains(o)).toList();
          return fresh.isEmpty() ? change(conn, actor, p, "posting.extend", current, endsOn)
              : Future.failedFuture(conflict(fresh, "The longer period overlaps " + named(fresh)
                  + ", which this posting did not overlap; this posting's overlap was not allowed."));
        });
      }
      return change(conn, actor, p, "posting.extend", current, endsOn);
    });
  }

  /**
   * A cancelled posting is neither extended nor ended (409): it never ran, and a new end would set it counting again
   * for nothing (its row stays only for the record).
   */
  private static Future<Void> notCancelled(JsonObject p) {
    return p.getValue("cancelledAt") == null ? Future.succeededFuture()
        : Future.failedFuture(new ProblemException(Problem.of(ProblemType.CONFLICT, "The posting " + p.getString("id")
            + " was cancelled: it is not extended or ended.")));
  }

  /**
   * A posting is extended only at a live unit (409 otherwise): a unit is retired only once its postings have ended
   * (OrgUnitService.retire), and an extension would set one running there again. The unit is locked FOR SHARE, so a
   * retirement waits for this write and then sees it.
   */
  private static Future<Void> unitLive(SqlClient conn, JsonObject p) {
    return OrgUnitRepository.requireLive(conn, UUID.fromString(p.getJsonObject("unit").getString("id")),
        "its postings are not extended.");
  }

  /**
   * The project and enterprises a new posting is attached to are at live units (409 naming a retired one): a retired
   * unit's records are kept as they are, so no officer is posted to work on them. Each unit is share-locked.
   */
  private static Future<Void> attachedUnitsLive(SqlClient conn, UUID projectId, UUID[] enterprises) {
    return conn.preparedQuery("SELECT unit_id FROM project WHERE id = $1 UNION SELECT unit_id FROM enterprise "
            + "WHERE id = ANY ($2) ORDER BY 1")
        .execute(Tuple.of(projectId, (Object) enterprises))
        .compose(rows -> {
          Future<Void> chain = Future.succeededFuture();
          for (var row : rows) {
            chain = chain.compose(v -> OrgUnitRepository.requireLive(conn, row.getUUID(0),
                "its projects and enterprises take no new postings."));
          }
          return chain;
        });
  }

  /**
   * A posting is extended only for an enabled account holding the officer role (409 otherwise), as one is created only
   * for such: an extension would keep a departed officer posted (and the unit from being retired). Ending stays open.
   */
  private static Future<Void> officerActive(SqlClient conn, JsonObject p) {
    String officerId = p.getString("officerId");
    return conn.preparedQuery("SELECT disabled_at IS NULL AND 'officer' = ANY (roles) FROM account WHERE id = $1")
        .execute(Tuple.of(UUID.fromString(officerId)))
        .compose(rows -> rows.iterator().next().getBoolean(0) ? Future.<Void>succeededFuture()
            : Future.failedFuture(new ProblemException(Problem.of(ProblemType.CONFLICT, "The posting's officer "
                + officerId + " is disabled or no longer holds the officer role: their postings are not extended."))));
  }

  public Future<JsonObject> end(Actor actor, UUID id, JsonObject b) {
    LocalDate endsOn = LocalDate.parse(b.getString("endsOn"));
    return database.inTransaction(conn -> locked(conn, actor, id).map(Locked::posting)
        .compose(p -> notCancelled(p).map(p))
        .compose(p -> {
          LocalDate current = p.getString("endsOn") == null ? null : LocalDate.parse(p.getString("endsOn"));
          if (endsOn.isBefore(LocalDate.parse(p.getString("startsOn")))) {
            return Future.failedFuture(unprocessable("body/endsOn", "endsOn may not be before startsOn ("
                + p.getString("startsOn") + ")."));
          }
          if (current != null && endsOn.isAfter(current)) {
            return Future.failedFuture(unprocessable("body/endsOn", "endsOn may not be after the current end ("
                + current + "); extend the posting instead."));
          }
          // Ending on the day it ends already (a repeat): nothing changes, nothing to audit.
          return endsOn.equals(current) ? Future.<Void>succeededFuture()
              : change(conn, actor, p, "posting.end", current, endsOn);
        })
        .compose(v -> posting(conn, Scope.everything(), null, id)));
  }

  /**
   * Cancels a posting that has not started (it starts after today, China Standard Time): an admin's mistake, wrong
   * officer, unit or dates. The row is kept for the record (who made it, who cancelled it, when), marked cancelled,
   * and counts for nothing after: no overlap, no current posting, no live posting keeping its unit from being
   * retired. A posting that has started is 409 (ending it is what is left); a repeat answers the cancelled posting
   * as it is, even once its days have come, and audits nothing.
   */
  public Future<JsonObject> cancel(Actor actor, UUID id) {
    return database.inTransaction(conn -> locked(conn, actor, id).map(Locked::posting)
        .compose(p -> {
          if (p.getValue("cancelledAt") != null) {
            return Future.<Void>succeededFuture();
          }
          LocalDate startsOn = LocalDate.parse(p.getString("startsOn"));
          if (!startsOn.isAfter(today())) {
            return Future.failedFuture(new ProblemException(Problem.of(ProblemType.CONFLICT, "The posting started on "
                + startsOn + ": only a posting that has not started is cancelled; end it instead.")));
          }
          return conn.preparedQuery("UPDATE posting SET cancelled_at = $2, cancelled_by = $3 WHERE id = $1")
              .execute(Tuple.of(id, OffsetDateTime.now(clock), actor.accountId()))
              .compose(v -> audit.success(conn, actor, "posting.cancel", "posting", id,
                  UUID.fromString(p.getJsonObject("unit").getString("id")), new JsonObject()
                      .put("officerId", p.getString("officerId")).put("frontLine", p.getString("frontLine"))
                      .put("startsOn", p.getString("startsOn")).put("endsOn", p.getValue("endsOn"))));
        })
        .compose(v -> posting(conn, Scope.everything(), null, id)));
  }

  private Future<Void> change(SqlClient conn, Actor actor, JsonObject p, String action, LocalDate from, LocalDate to) {
    UUID id = UUID.fromString(p.getString("id"));
    return conn.preparedQuery("UPDATE posting SET ends_on = $2 WHERE id = $1").execute(Tuple.of(id, to))
        .compose(v -> audit.success(conn, actor, action, "posting", id,
            UUID.fromString(p.getJsonObject("unit").getString("id")), new JsonObject()
                .put("previousEndsOn", from == null ? null : from.toString()).put("endsOn", to.toString())));
  }

  /**
   * The scope of the caller's reads: for a caller who is only an officer, every unit (their own postings, in the
   * query, wherever they were posted: an officer is often posted outside their home unit's subtree, and /v1/me lists
   * those postings too); for anyone else, their scope.
   */
  private static Future<Scope> readScope(Actor actor, SqlClient client) {
    return ownOnly(actor) ? Future.succeededFuture(Scope.everything()) : actor.scope(client);
  }

  public Future<JsonObject> get(Actor actor, UUID id) {
    var pool = database.pool();
    return readScope(actor, pool).compose(scope -> posting(pool, scope, ownOnly(actor) ? actor.accountId() : null, id));
  }

  public Future<Page<JsonObject>> list(Actor actor, UUID officerId, UUID unitId, boolean current, String cursor,
                                       Integer limit) {
    String filters = Page.filters("postings", officerId, unitId, current);
    String after = Page.decode(cursor, Page.TimeId::valid, filters);
    int size = Page.limit(limit);
    var pool = database.pool();
    return readScope(actor, pool).compose(scope -> {
      List<Object> params = new ArrayList<>(List.of((Object) scope.paths()));
      StringBuilder sql = new StringBuilder("SELECT " + COLUMNS + " FROM posting p JOIN org_unit u ON u.id = "
          + "p.unit_id WHERE " + Scope.sql("u.path", 1));
      if (ownOnly(actor)) {
        params.add(actor.accountId());
        sql.append(" AND p.officer_id = $").append(params.size());
      }
      if (officerId != null) {
        params.add(officerId);
        sql.append(" AND p.officer_id = $").append(params.size());
      }
      if (unitId != null) {
        params.add(unitId);
        sql.append(" AND p.unit_id = $").append(params.size());
      }
      if (current) {
        params.add(today());
        sql.append(" AND p.starts_on <= $").append(params.size()).append(" AND (p.ends_on IS NULL OR p.ends_on >= $")
            .append(params.size()).append(") AND p.cancelled_at IS NULL");
      }
      return pool.preparedQuery(Page.TimeId.newestFirst(sql, params, after, size)).execute(Tuple.from(params));
    }).map(rows -> Page.TimeId.newestFirst(rows, size, PostingService::json, filters));
  }


  /** Another posting of the officer overlapping a period; visible: its unit is in the caller's scope. */
  private record Overlap(UUID id, boolean visible) {}

  /**
   * The officer's other postings overlapping the period, under a per-officer transaction lock so two concurrent
   * creations cannot both pass the check. The officer's postings elsewhere count too (an admin above both units
   * may have made them), but are marked not visible to a caller whose scope does not hold their unit.
   */
  private static Future<List<Overlap>> overlapping(SqlClient conn, Scope scope, UUID officerId, LocalDate start,
                                                   LocalDate end, UUID except) {
    return conn.preparedQuery("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 52))")
        .execute(Tuple.of(officerId.toString()))
        .compose(v -> conn.preparedQuery("SELECT p.id, u.path FROM posting p JOIN org_unit u ON u.id = p.unit_id "
                + "WHERE p.officer_id = $1 AND p.cancelled_at IS NULL AND " + OVERLAPS
                + " AND ($4::uuid IS NULL OR p.id <> $4) "
                + "ORDER BY p.starts_on, p.id")
            .execute(Tuple.of(officerId, start, end, except)))
        .map(rows -> {
          List<Overlap> overlaps = new ArrayList<>();
          rows.forEach(r -> overlaps.add(new Overlap(r.getUUID("id"), scope.covers(r.getString("path")))));
          return overlaps;
        });
  }

  private static Future<Void> check(SqlClient conn, String sql, Tuple params, int expected, String field,
                                    String reason) {
    return conn.preparedQuery(sql).execute(params).compose(rows -> rows.size() >= expected
        ? Future.succeededFuture() : Future.failedFuture(unprocessable(field, reason)));
  }

  private static Future<JsonObject> posting(SqlClient client, Scope scope, UUID ownerOnly, UUID id) {
    return client.preparedQuery("SELECT " + COLUMNS + " FROM posting p JOIN org_unit u ON u.id = p.unit_id "
            + "WHERE p.id = $1 AND " + Scope.sql("u.path", 2) + " AND ($3::uuid IS NULL OR p.officer_id = $3)")
        .execute(Tuple.of(id, (Object) scope.paths(), ownerOnly))
        .compose(rows -> rows.size() == 0 ? Future.failedFuture(notFound(id))
            : Future.succeededFuture(json(rows.iterator().next())));
  }

  /**
   * The posting for a write, locked (FOR UPDATE) with its unit (FOR SHARE: against its retiring and moving), when it
   * is in the actor's scope as the tree is once both locks are granted; 404 otherwise. Each lock by key in a
   * statement of its own, then the scope read, then the posting judged: one statement locking the posting joined to
   * its unit and the scope check re-checked, once a write of the posting it waited for committed, the posting's new
   * version against the unit's row as it was when the statement began: a unit moved out of the scope meanwhile still
   * passed (and one moved into it was never found); a scope read before the locks misses a move committed during
   * the wait.
   */
  private static Future<Locked> locked(SqlClient conn, Actor actor, UUID id) {
    return conn.preparedQuery("SELECT unit_id FROM posting WHERE id = $1 FOR UPDATE").execute(Tuple.of(id))
        .compose(rows -> rows.size() == 0 ? Future.failedFuture(notFound(id))
            : OrgUnitRepository.lockShared(conn, List.of(rows.iterator().next().getUUID(0))))
        .compose(v -> actor.scope(conn))
        .compose(scope -> posting(conn, scope, null, id).map(p -> new Locked(scope, p)));
  }

  /** A posting locked for a write, and the caller's scope as read once the locks were granted. */
  private record Locked(Scope scope, JsonObject posting) {}

  private static ProblemException notFound(UUID id) {
    return new ProblemException(Problem.of(ProblemType.NOT_FOUND, "No posting " + id + " in your scope."));
  }

  static JsonObject json(Row r) {
    UUID project = r.getUUID("project_id");
    LocalDate ends = r.getLocalDate("ends_on");
    OffsetDateTime cancelled = r.getOffsetDateTime("cancelled_at");
    return new JsonObject()
        .put("id", r.getUUID("id").toString())
        .put("officerId", r.getUUID("officer_id").toString())
        .put("frontLine", r.getString("front_line"))
        .put("unit", new JsonObject().put("id", r.getUUID("unit_id").toString()).put("name", r.getString("unit_name")))
        .put("startsOn", r.getLocalDate("starts_on").toString())
        .put("endsOn", ends == null ? null : ends.toString())
        .put("projectId", project == null ? null : project.toString())
        .put("enterpriseIds", new JsonArray(Arrays.stream(r.getArrayOfUUIDs("enterprise_ids")).map(UUID::toString)
            .toList()))
        .put("overlapAllowed", r.getBoolean("overlap_allowed"))
        .put("createdAt", DateTimeFormatter.ISO_INSTANT.format(r.getOffsetDateTime("created_at").toInstant()))
        .put("cancelledAt", cancelled == null ? null : DateTimeFormatter.ISO_INSTANT.format(cancelled.toInstant()));
  }

  /**
   * The first overlapping posting as the caller may be told of it: by its id when its unit is in the caller's
   * scope, else only as "another posting" (an admin of another subtree learns no id or unit of it).
   */
  private static String named(List<Overlap> overlaps) {
    return overlaps.stream().filter(Overlap::visible).findFirst().map(o -> "the officer's posting " + o.id())
        .orElse("another posting of the officer");
  }

  /** The overlap 409: overlappingPostingIds names only the postings the caller may see (possibly none). */
  private static ProblemException conflict(List<Overlap> overlaps, String detail) {
    return new ProblemException(Problem.of(ProblemType.CONFLICT, detail).with("overlappingPostingIds",
        new JsonArray(overlaps.stream().filter(Overlap::visible).map(o -> o.id().toString()).toList())));
  }

  static ProblemException unprocessable(String field, String reason) {
    return new ProblemException(Problem.of(ProblemType.UNPROCESSABLE, reason)
        .withErrors(List.of(new Problem.FieldError(field, reason))));
  }
}
