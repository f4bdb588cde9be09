package org.frontline.identity;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.SqlConnection;
import org.frontline.identity.OrgUnitRepository.OrgUnit;
import org.frontline.platform.db.Database;
import org.frontline.platform.db.Transaction;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemException;
import org.frontline.platform.http.ProblemType;

import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Admin work on the org-unit tree: create, rename, move (whole subtree), retire, delete. Every unit named by a
 * request is looked up within the actor's scope; each change is audited in its own transaction.
 */
public final class OrgUnitService {
  static final String SIBLING_NAME_INDEX = "org_unit_sibling_name_idx";
  private static final Pattern PATH = Pattern.compile("^(/[0-9a-f-]{36})+/$");

  private final Database database;
  private final OrgUnitRepository units;
  private final AdminAudit audit;

  public OrgUnitService(Database database, OrgUnitRepository units, AdminAudit audit) {
    this.database = database;
    this.units = units;
    this.audit = audit;
  }

  public Future<Page<OrgUnit>> list(Actor actor, String cursor, Integer requestedLimit) {
    String after = Page.decode(cursor, key -> PATH.matcher(key).matches());
    int limit = Page.limit(requestedLimit);
    var pool = database.pool();
    return actor.scope(pool)
        .compose(scope -> units.list(pool, scope, after, limit + 1))
        .map(rows -> Page.of(rows, limit, OrgUnit::path));
  }

  public Future<OrgUnit> get(Actor actor, UUID id) {
    var pool = database.pool();
    return actor.scope(pool)
        .compose(scope -> units.find(pool, scope, id))
        .compose(found -> found.map(Future::succeededFuture).orElseGet(() -> Future.failedFuture(notFound(id))));
  }

  /**
   * A new unit under a live parent in scope; {@code id} null mints one. A null parent (a root) is the system's only.
   * All of it runs in {@code tx}, whose answer is the unit's JSON.
   */
  public <R> Future<R> create(Actor actor, UUID id, UUID parentId, String name, String kind, Transaction<R> tx) {
    UUID unitId = id != null ? id : UUID.randomUUID();
    String trimmed;
    try {
      trimmed = stripped(name);
    } catch (ProblemException e) {
      return Future.failedFuture(e);
    }
    return siblingNameConflict(tx.run(conn -> units.lockTreeShared(conn)
        .compose(v -> parentId == null ? (actor.isSystem() ? Future.succeededFuture(Optional.<OrgUnit>empty())
                : Future.failedFuture(AdminProblems.unprocessable("body/parentId", "Only the bootstrap creates a root unit.")))
            : units.findAll(conn, actor, List.of(parentId)).map(found -> {
              if (found.isEmpty()) {
                throw AdminProblems.unprocessable("body/parentId", "No org unit " + parentId + " in your scope.");
              }
              if (found.get(0).retired()) {
                throw AdminProblems.unprocessable("body/parentId", "The org unit " + parentId
                    + " is retired and accepts no new units.");
              }
              return Optional.of(found.get(0));
            }))
        .compose(parent -> units.insert(conn, unitId, parent.orElse(null), trimmed, kind))
        .compose(unit -> audit.success(conn, actor, "org-unit.create", "org-unit", unit.id(), unit.id(),
            new JsonObject().put("parentId", str(unit.parentId())).put("name", unit.name()).put("kind", unit.kind()))
            .map(AdminApi.orgUnitJson(unit)))), trimmed);
  }

  public Future<OrgUnit> rename(Actor actor, UUID id, String name) {
    String trimmed;
    try {
      trimmed = stripped(name);
    } catch (ProblemException e) {
      return Future.failedFuture(e);
    }
    // The name it has already (a repeat): answered as it is, nothing written or audited again.
    return siblingNameConflict(inScope(actor, id, (conn, unit) -> unit.name().equals(trimmed)
        ? Future.succeededFuture(unit)
        : units.rename(conn, id, trimmed).compose(renamed -> audit.success(conn, actor, "org-unit.rename", "org-unit",
            id, id, new JsonObject().put("from", unit.name()).put("to", renamed.name())).map(renamed))), trimmed);
  }

  /**
   * Moves the unit with its subtree under a new parent; the unit, its present parent and the new parent must be in
   * scope, the new parent live and not the unit itself or below it. The present parent too: a move takes the subtree
   * from under it, out of the scope of whoever covers it (an admin covering a unit of Yangzhou and one of Nantong
   * would otherwise hand the first to Nantong's admins), so a unit the actor covers whose parent it does not (a root
   * included) is 403. Moves take the tree lock exclusively, so no create or move reads a stale path.
   */
  public Future<OrgUnit> move(Actor actor, UUID id, UUID newParentId) {
    return database.inTransaction(conn -> units.lockTreeExclusive(conn)
        .compose(locked -> lockedInScope(conn, actor, id)
            .compose(unit -> unit.isEmpty() ? Future.failedFuture(notFound(id))
                : units.findAll(conn, actor, unit.get().parentId() == null ? List.of(newParentId)
                    : List.of(newParentId, unit.get().parentId())).compose(found -> {
                  OrgUnit u = unit.get();
                  if (found.stream().noneMatch(f -> f.id().equals(u.parentId()))) {
                    return Future.failedFuture(Problem.of(ProblemType.FORBIDDEN, "The unit " + id + " lies directly "
                        + "under a unit outside your scope; only an admin whose scope holds its parent may move it.")
                        .toException());
                  }
                  Optional<OrgUnit> newParent = found.stream().filter(f -> f.id().equals(newParentId)).findFirst();
                  if (newParent.isEmpty()) {
                    return Future.failedFuture(AdminProblems.unprocessable("body/newParentId",
                        "No org unit " + newParentId + " in your scope."));
                  }
                  OrgUnit parent = newParent.get();
                  if (u.contains(parent)) {
                    return Future.failedFuture(AdminProblems.unprocessable("body/newParentId",
                        "A unit cannot move under itself or one of its own descendants."));
                  }
                  if (parent.retired()) {
                    return Future.failedFuture(AdminProblems.unprocessable("body/newParentId",
                        "The org unit " + newParentId + " is retired and accepts no new units."));
                  }
                  if (parent.id().equals(u.parentId())) {
                    return Future.succeededFuture(u);
                  }
                  return units.moveSubtree(conn, u, parent)
                      .compose(moved -> audit.success(conn, actor, "org-unit.move", "org-unit", id, id,
                          new JsonObject().put("fromParentId", str(u.parentId())).put("toParentId", parent.id().toString())
                              .put("unitsMoved", moved)))
                      .compose(v -> units.find(conn, Scope.everything(), id))
                      .map(Optional::orElseThrow);
                }))))
        .recover(e -> Future.failedFuture(AdminProblems.uniqueViolation(e, SIBLING_NAME_INDEX)
            ? AdminProblems.conflict("The new parent already has a live unit with this unit's name.") : e));
  }

  /**
   * Retires a unit with no live child units, no postings still running or ahead (cancelled ones aside) and no service requests not yet
   * closed (409 naming them: a live unit under a retired one would still take new units, accounts and postings, an
   * officer posted to a retired unit can report nothing there, and an enterprise's open request would be left
   * unanswered). What else is at the unit (projects, enterprises, closed requests, reports) is kept read-only: each
   * write to it is 409 ({@link OrgUnitRepository#requireLive}). A retired unit is answered as it is.
   */
  public Future<OrgUnit> retire(Actor actor, UUID id) {
    return inScope(actor, id, (conn, unit) -> unit.retired() ? Future.succeededFuture(unit)
        : units.liveReferences(conn, id).compose(refs -> !refs.isEmpty()
            ? Future.failedFuture(new org.frontline.platform.http.ProblemException(
                org.frontline.platform.http.Problem.of(org.frontline.platform.http.ProblemType.CONFLICT,
                        "The unit still has " + String.join(" and ",
                            refs.stream().map(OrgUnitService::describeLive).toList())
                            + "; retire those units, end those postings (or, before they start, cancel them), close those requests first.")
                    .with("references", refs)))
            : units.retire(conn, id).compose(retired -> audit.success(conn, actor, "org-unit.retire", "org-unit", id,
                id, null).map(retired))));
  }

  /**
   * Deletes a unit nothing refers to. The row lock taken first keeps new references out until the end (inserting
   * a row that refers to the unit needs a key-share lock on it).
   */
  public Future<Void> delete(Actor actor, UUID id) {
    return inScope(actor, id, (conn, unit) -> units.references(conn, id).compose(refs -> {
      if (!refs.isEmpty()) {
        return Future.failedFuture(new org.frontline.platform.http.ProblemException(
            org.frontline.platform.http.Problem.of(org.frontline.platform.http.ProblemType.CONFLICT,
                    "The unit still has data referring to it (" + String.join(", ", describe(refs))
                        + "); retire it instead.")
                .with("references", refs)));
      }
      return units.delete(conn, id)
          .compose(v -> audit.success(conn, actor, "org-unit.delete", "org-unit", id, unit.parentId(),
              new JsonObject().put("name", unit.name()).put("path", unit.path())));
    }));
  }

  /** What keeps a unit from being retired ({@link OrgUnitRepository#liveReferences}), in words. */
  private static String describeLive(String ref) {
    return switch (ref) {
      case "org_unit.parent_id" -> "live child units";
      case "posting.unit_id" -> "postings not yet ended";
      case "service_request.enterprise_id" -> "service requests of its enterprises not yet closed";
      default -> ref;
    };
  }

  private static List<String> describe(List<String> refs) {
    return refs.stream().map(r -> switch (r) {
      case "org_unit.parent_id" -> "child units";
      case "account.home_unit_id" -> "accounts at home in it";
      case "account_scope.unit_id" -> "accounts covering it";
      case "posting.unit_id" -> "postings";
      case "partner_client.unit_ids" -> "partner clients granted it";
      default -> r;
    }).toList();
  }

  /** Runs {@code work} in a transaction on the unit, locked, when it is in the actor's scope; else 404. */
  private <T> Future<T> inScope(Actor actor, UUID id, java.util.function.BiFunction<SqlConnection, OrgUnit, Future<T>> work) {
    return database.inTransaction(conn -> lockedInScope(conn, actor, id)
        .compose(unit -> unit.isEmpty() ? Future.failedFuture(notFound(id)) : work.apply(conn, unit.get())));
  }

  /**
   * The unit, locked (FOR UPDATE), if it is in the actor's scope as the tree is once the lock is granted: the scope is
   * read after the lock (a move of a unit the actor covers may commit while the lock is waited for).
   */
  private Future<Optional<OrgUnit>> lockedInScope(SqlConnection conn, Actor actor, UUID id) {
    return actor.scopeAfterLocking(conn, "org_unit", id)
        .compose(scope -> units.find(conn, scope, id));
  }

  /**
   * The name without the invisible characters around it: white space, Unicode's included (an ideographic space,
   * U+3000, or a no-break space is no space to Java's trim or to the contract's pattern), format and control
   * characters. 400 naming {@code body/name} when nothing is left: a unit nobody could tell apart on screen. Siblings'
   * names are compared as NFKC with white space runs as one space, case ignored (the unique index, V212).
   */
  static String stripped(String name) {
    int[] cps = name.codePoints().toArray();
    int from = 0;
    int to = cps.length;
    while (from < to && invisible(cps[from])) {
      from++;
    }
    while (to > from && invisible(cps[to - 1])) {
      to--;
    }
    if (from == to) {
      throw Problem.of(ProblemType.VALIDATION_FAILED, "The request does not match the contract at body/name: "
              + "it must hold a visible character.")
          .withErrors(List.of(new Problem.FieldError("body/name", "Must hold a visible character; only white space, "
              + "format or control characters sent."))).toException();
    }
    return new String(cps, from, to - from);
  }

  private static boolean invisible(int c) {
    return Character.isWhitespace(c) || Character.isSpaceChar(c) || Character.getType(c) == Character.FORMAT
        || Character.isISOControl(c);
  }

  private static <T> Future<T> siblingNameConflict(Future<T> work, String name) {
    return work.recover(e -> Future.failedFuture(AdminProblems.uniqueViolation(e, SIBLING_NAME_INDEX)
        ? AdminProblems.conflict("A live unit named '" + name + "' already exists under this parent.") : e));
  }

  static Throwable notFound(UUID id) {
    return AdminProblems.notFound("org unit", id);
  }

  private static String str(UUID id) {
    return id == null ? null : id.toString();
  }
}
