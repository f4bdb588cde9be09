package org.frontline.identity;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.SqlConnection;
import org.frontline.identity.AccountRepository.Account;
import org.frontline.identity.OrgUnitRepository.OrgUnit;
import org.frontline.platform.db.Database;
import org.frontline.platform.db.Transaction;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemType;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Admin work on accounts: create, update, disable (ending every session), enable, password reset. An account is
 * the actor's when its home unit is in the actor's scope; home and covered units named in a request must be in
 * that scope too (422 naming the field otherwise). Each change is audited in its own transaction.
 */
public final class AccountService {
  static final String USERNAME_INDEX = "account_username_idx";
  private static final Pattern USERNAME = Pattern.compile("^[a-z0-9][a-z0-9._-]{1,62}[a-z0-9]$");

  public record NewAccount(UUID id, String username, String displayName, String locale, List<String> roles,
                           UUID homeUnitId, List<UUID> coveredUnitIds, String password) {}

  /** Null fields stay as they are. */
  public record Update(String displayName, String locale, List<String> roles, UUID homeUnitId,
                       List<UUID> coveredUnitIds) {}

  private final Vertx vertx;
  private final Database database;
  private final AccountRepository accounts;
  private final OrgUnitRepository units;
  private final AdminAudit audit;
  private final AccountCache callers;

  public AccountService(Vertx vertx, Database database, AccountRepository accounts, OrgUnitRepository units,
                        AdminAudit audit) {
    this(vertx, database, accounts, units, audit, new AccountCache());
  }

  /** {@code callers}: the cache of recent callers, told of each change here once it is committed. */
  public AccountService(Vertx vertx, Database database, AccountRepository accounts, OrgUnitRepository units,
                        AdminAudit audit, AccountCache callers) {
    this.callers = callers;
    this.vertx = vertx;
    this.database = database;
    this.accounts = accounts;
    this.units = units;
    this.audit = audit;
  }

  public Future<Page<Account>> list(Actor actor, String cursor, Integer requestedLimit) {
    String after = Page.decode(cursor, key -> USERNAME.matcher(key).matches());
    int limit = Page.limit(requestedLimit);
    var pool = database.pool();
    return actor.scope(pool)
        .compose(scope -> accounts.list(pool, scope, after, limit + 1))
        .map(rows -> Page.of(rows, limit, Account::username));
  }

  public Future<Account> get(Actor actor, UUID id) {
    var pool = database.pool();
    return actor.scope(pool)
        .compose(scope -> accounts.find(pool, scope, id))
        .compose(found -> found.map(Future::succeededFuture).orElseGet(() -> Future.failedFuture(notFound(id))));
  }

  /** The policy and the password's hash come first; the rest runs in {@code tx}, whose answer is the account's JSON. */
  public <R> Future<R> create(Actor actor, NewAccount a, Transaction<R> tx) {
    var violation = PasswordPolicy.violation(a.username(), a.password());
    if (violation.isPresent()) {
      return Future.failedFuture(AdminProblems.unprocessable("body/password", violation.get()));
    }
    UUID id = a.id() != null ? a.id() : UUID.randomUUID();
    List<UUID> covered = a.coveredUnitIds() == null ? List.of() : a.coveredUnitIds();
    return vertx.executeBlocking(() -> PasswordHasher.hash(a.password()), false)
        .compose(hash -> tx.run(conn -> checkUnits(conn, actor, a.homeUnitId(), covered)
            .compose(v -> accounts.insert(conn, id, a.username(), a.displayName().trim(),
                a.locale() == null ? "zh-CN" : a.locale(), hash, a.roles(), a.homeUnitId()))
            .compose(v -> accounts.cover(conn, id, withHome(a.homeUnitId(), covered)))
            .compose(v -> reread(conn, id))
            .compose(account -> audit.success(conn, actor, "account.create", "account", id, account.homeUnitId(),
                describe(account)).map(AdminApi.accountJson(account)))))
        .recover(e -> Future.failedFuture(AdminProblems.uniqueViolation(e, USERNAME_INDEX)
            ? AdminProblems.conflict("The username '" + a.username() + "' is taken.") : e));
  }

  public Future<Account> update(Actor actor, UUID id, Update u) {
    return inScope(actor, id, (conn, before) -> {
      UUID home = u.homeUnitId() != null ? u.homeUnitId() : before.homeUnitId();
      List<UUID> covered = u.coveredUnitIds() == null ? List.of() : u.coveredUnitIds();
      // Adding a role empowers the account; only taking roles away stays open (as disabling does).
      boolean rolesAdded = u.roles() != null && !Set.copyOf(before.roles()).containsAll(u.roles());
      return (rolesAdded ? wholeAccountInScope(conn, actor, before, "add roles to") : Future.<Void>succeededFuture())
          .compose(v -> checkUnits(conn, actor, u.homeUnitId(), covered))
          .compose(v -> accounts.update(conn, id, new AccountRepository.Changes(
              u.displayName() == null ? null : u.displayName().trim(), u.locale(), u.roles(), u.homeUnitId())))
          // The scope read again: checkUnits may have waited for a unit's lock while a move committed.
          .compose(v -> u.coveredUnitIds() == null ? Future.succeededFuture()
              : actor.scope(conn).compose(now -> accounts.uncoverInScope(conn, now, id, withHome(home, covered))))
          .compose(v -> accounts.cover(conn, id, withHome(home, covered)))
          .compose(v -> !before.roles().contains("admin") || before.disabledAt() != null
              ? Future.<Void>succeededFuture()
              : u.roles() != null && !u.roles().contains("admin")
              ? organisationAdminRemains(conn, before, "body/roles")
              : u.coveredUnitIds() != null ? organisationAdminRemains(conn, before, "body/coveredUnitIds")
              : Future.<Void>succeededFuture())
          .compose(v -> reread(conn, id))
          // Nothing changed (a repeat): rolled back (updated_at included) and answered as it was, not audited again.
          .compose(after -> describe(after).equals(describe(before))
              ? Future.<Account>failedFuture(new Unchanged(before))
              : audit.success(conn, actor, "account.update", "account", id, after.homeUnitId(),
                  new JsonObject().put("before", describe(before)).put("after", describe(after))).map(after));
    }).recover(e -> e instanceof Unchanged unchanged ? Future.succeededFuture(unchanged.account)
        : Future.failedFuture(e));
  }

  /** An update that changed nothing, carrying the account as it is, to roll its transaction back. */
  private static final class Unchanged extends RuntimeException {
    private final Account account;

    Unchanged(Account account) {
      super(null, null, false, false);
      this.account = account;
    }
  }

  /**
   * Disables the account and ends its sessions (every refresh-token family revoked, its access tokens issued until
   * now refused even once it is enabled again), in one transaction.
   */
  public Future<Account> disable(Actor actor, UUID id) {
    return inScope(actor, id, (conn, before) -> {
      if (id.equals(actor.accountId())) {
        return Future.failedFuture(AdminProblems.unprocessable("path/id", "You cannot disable your own account."));
      }
      if (before.disabledAt() != null) {
        return Future.succeededFuture(before); // a repeat: disabled (and its sessions ended) already, nothing to audit
      }
      return accounts.setDisabled(conn, id, true, actor.accountId())
          .compose(v -> before.roles().contains("admin") ? organisationAdminRemains(conn, before, "path/id")
              : Future.<Void>succeededFuture())
          .compose(v -> accounts.endSessions(conn, id))
          .compose(revoked -> audit.success(conn, actor, "account.disable", "account", id, before.homeUnitId(),
              new JsonObject().put("refreshTokensRevoked", revoked)))
          .compose(v -> reread(conn, id));
    });
  }

  /**
   * Enables the account again. Besides the account's units (as for a reset), the actor's scope must hold every unit
   * covered by the admin who disabled it: a disable by the province, for cause, is not undone by a district admin.
   */
  public Future<Account> enable(Actor actor, UUID id) {
    return inScope(actor, id, (conn, before) -> wholeAccountInScope(conn, actor, before, "enable")
        .compose(v -> accounts.disablerCoverage(conn, id))
        .compose(disabler -> allInScope(conn, actor, disabler, "It was disabled by an admin whose scope holds units "
            + "outside yours; only an admin whose scope holds them all may enable it."))
        .compose(v -> before.disabledAt() == null ? Future.succeededFuture(before) // a repeat: nothing to audit
            : accounts.setDisabled(conn, id, false, null)
                .compose(x -> audit.success(conn, actor, "account.enable", "account", id, before.homeUnitId(), null))
                .compose(x -> reread(conn, id))));
  }

  /**
   * Sets a new password (policy applies) and ends the account's sessions: its refresh tokens are revoked and its
   * access tokens issued until now refused (whoever had taken the account over is out at once). Runs in
   * {@code tx}, whose answer is no body (204).
   */
  public <R> Future<R> resetPassword(Actor actor, UUID id, String password, Transaction<R> tx) {
    return vertx.executeBlocking(() -> PasswordHasher.hash(password), false)
        .compose(hash -> inScope(actor, id, tx, (conn, account) -> {
          var violation = PasswordPolicy.violation(account.username(), password);
          if (violation.isPresent()) {
            return Future.failedFuture(AdminProblems.unprocessable("body/password", violation.get()));
          }
          return wholeAccountInScope(conn, actor, account, "set the password of")
              .compose(v -> accounts.setPasswordHash(conn, id, hash))
              .compose(v -> accounts.endSessions(conn, id))
              .compose(revoked -> audit.success(conn, actor, "account.password-reset", "account", id,
                  account.homeUnitId(), new JsonObject().put("refreshTokensRevoked", revoked)))
              .map(v -> (JsonObject) null);
        }));
  }

  /** True when the username is taken (seeding uses it to leave existing accounts alone). */
  public Future<Boolean> exists(String username) {
    return accounts.usernameExists(database.pool(), username);
  }

  @FunctionalInterface
  private interface ScopedWork<T> {
    Future<T> apply(SqlConnection conn, Account account);
  }

  /** Runs {@code work} in a transaction on the account, locked, when it is in the actor's scope; else 404. */
  private <T> Future<T> inScope(Actor actor, UUID id, ScopedWork<T> work) {
    return database.inTransaction(conn -> lockedInScope(conn, actor, id, work))
        // Committed (or not): this instance forgets the account before answering, so the change holds from the
        // very next request here; other instances hear of it from the database (AccountCache).
        .onComplete(done -> callers.invalidate(id));
  }

  /** As {@link #inScope(Actor, UUID, ScopedWork)}, in {@code tx}, the work answering the JSON body. */
  private <R> Future<R> inScope(Actor actor, UUID id, Transaction<R> tx, ScopedWork<JsonObject> work) {
    return tx.run(conn -> lockedInScope(conn, actor, id, work))
        .onComplete(done -> callers.invalidate(id));
  }

  /**
   * Locks the account, then judges it against the actor's scope read after the lock is granted (a move of a unit the
   * actor covers may commit while the lock is waited for), and runs {@code work} on it; 404 when it is not in scope.
   */
  private <T> Future<T> lockedInScope(SqlConnection conn, Actor actor, UUID id, ScopedWork<T> work) {
    return actor.scopeAfterLocking(conn, "account", id)
        .compose(scope -> accounts.find(conn, scope, id))
        .compose(found -> found.isEmpty() ? Future.failedFuture(notFound(id)) : work.apply(conn, found.get()));
  }

  /**
   * What would give an account's holder power (its password, its roles, enabling it) is the actor's only when every
   * unit the account covers lies in the actor's scope, not just its home unit: else an admin of one city could take
   * over (or make an admin of) an account that also covers another city, and act there. 403 otherwise; changes
   * that only take power away (disable, uncovering units in scope) stay open to the admins of its home unit.
   */
  private Future<Void> wholeAccountInScope(SqlConnection conn, Actor actor, Account account, String what) {
    return allInScope(conn, actor, account.coveredUnitIds(), "The account " + account.id()
        + " covers units outside your scope; only an admin whose scope holds them all may " + what + " it.");
  }

  /** 403 {@code forbidden} saying {@code detail} unless every one of {@code unitIds} lies in the actor's scope. */
  private Future<Void> allInScope(SqlConnection conn, Actor actor, List<UUID> unitIds, String detail) {
    return unitIds.isEmpty() ? Future.succeededFuture() : units.findAll(conn, actor, unitIds).compose(found ->
        found.size() == Set.copyOf(unitIds).size() ? Future.<Void>succeededFuture()
            : Future.failedFuture(Problem.of(ProblemType.FORBIDDEN, detail).toException()));
  }

  /**
   * Checked after a change to an enabled admin account covering a root unit, before it commits (its covered units
   * as they were, {@code before}): the organisation keeps an enabled admin whose scope covers its root unit (else
   * nobody could manage the root, rotate the keys or be given that power again without the command line). 422
   * naming {@code field} otherwise; the transaction then rolls back.
   */
  private Future<Void> organisationAdminRemains(SqlConnection conn, Account before, String field) {
    return accounts.organisationAdminRemains(conn, before.coveredUnitIds()).compose(remains -> remains
        ? Future.<Void>succeededFuture()
        : Future.failedFuture(AdminProblems.unprocessable(field, "This would leave the organisation without an "
            + "enabled administrator whose scope covers its root unit.")));
  }

  /** The home unit (when given) must be live and in scope; each covered unit in scope. 422 names the field. */
  private Future<Void> checkUnits(SqlConnection conn, Actor actor, UUID homeUnitId, List<UUID> covered) {
    List<UUID> ids = new ArrayList<>(covered);
    if (homeUnitId != null) {
      ids.add(homeUnitId);
    }
    if (ids.isEmpty()) {
      return Future.succeededFuture();
    }
    return units.findAll(conn, actor, ids).compose(found -> {
      Map<UUID, OrgUnit> byId = found.stream().collect(Collectors.toMap(OrgUnit::id, Function.identity()));
      if (homeUnitId != null) {
        OrgUnit home = byId.get(homeUnitId);
        if (home == null) {
          return Future.failedFuture(AdminProblems.unprocessable("body/homeUnitId",
              "No org unit " + homeUnitId + " in your scope."));
        }
        if (home.retired()) {
          return Future.failedFuture(AdminProblems.unprocessable("body/homeUnitId",
              "The org unit " + homeUnitId + " is retired."));
        }
      }
      for (int i = 0; i < covered.size(); i++) {
        if (!byId.containsKey(covered.get(i))) {
          return Future.failedFuture(AdminProblems.unprocessable("body/coveredUnitIds/" + i,
              "No org unit " + covered.get(i) + " in your scope."));
        }
      }
      return Future.succeededFuture();
    });
  }

  private Future<Account> reread(SqlConnection conn, UUID id) {
    return accounts.find(conn, Scope.everything(), id).map(a -> a.orElseThrow());
  }

  private static Set<UUID> withHome(UUID home, List<UUID> covered) {
    Set<UUID> all = new LinkedHashSet<>(covered);
    all.add(home);
    return all;
  }

  private static JsonObject describe(Account a) {
    return new JsonObject().put("username", a.username()).put("displayName", a.displayName())
        .put("locale", a.locale()).put("roles", new JsonArray(a.roles()))
        .put("homeUnitId", a.homeUnitId().toString())
        .put("coveredUnitIds", new JsonArray(a.coveredUnitIds().stream().map(UUID::toString).toList()));
  }

  static Throwable notFound(UUID id) {
    return AdminProblems.notFound("account", id);
  }
}
