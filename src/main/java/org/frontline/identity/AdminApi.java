package org.frontline.identity;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.frontline.identity.AccountRepository.Account;
import org.frontline.identity.OrgUnitRepository.OrgUnit;
import org.frontline.platform.http.ApiRoutes;
import org.frontline.platform.http.IdempotentWrites;

import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;

/**
 * The admin operations on org units and accounts. JSON becomes records here and records become JSON here;
 * who may call each operation is in {@link AccessRules}, what they may see is {@link Scope}'s business.
 */
public final class AdminApi implements ApiRoutes {
  private final OrgUnitService orgUnits;
  private final AccountService accounts;
  private final IdempotentWrites writes;

  public AdminApi(OrgUnitService orgUnits, AccountService accounts, IdempotentWrites writes) {
    this.orgUnits = orgUnits;
    this.accounts = accounts;
    this.writes = writes;
  }


  /** A refused repeat of a keyed write already done is answered as the repeat (IdempotentWrites#replayOf). */
  @Override
  public Map<String, RefusalAnswer> refusalAnswers() {
    return writes.replaysOf("createOrgUnit", "createAccount", "resetAccountPassword");
  }
  @Override
  public Map<String, Handler<RoutingContext>> handlers() {
    return Map.ofEntries(
        Map.entry("listOrgUnits", rc -> respond(rc, 200, orgUnits.list(Actor.of(rc), query(rc, "cursor"),
            Page.requested(query(rc, "limit"))).map(page -> page(page, AdminApi::orgUnitJson)))),
        Map.entry("getOrgUnit", rc -> respond(rc, 200, orgUnits.get(Actor.of(rc), id(rc)).map(AdminApi::orgUnitJson))),
        Map.entry("createOrgUnit", this::createOrgUnit),
        Map.entry("renameOrgUnit", rc -> respond(rc, 200, orgUnits.rename(Actor.of(rc), id(rc),
            body(rc).getString("name")).map(AdminApi::orgUnitJson))),
        Map.entry("moveOrgUnit", rc -> respond(rc, 200, orgUnits.move(Actor.of(rc), id(rc),
            uuid(body(rc), "newParentId")).map(AdminApi::orgUnitJson))),
        Map.entry("retireOrgUnit", rc -> respond(rc, 200, orgUnits.retire(Actor.of(rc), id(rc)).map(AdminApi::orgUnitJson))),
        Map.entry("deleteOrgUnit", rc -> respond(rc, 204, orgUnits.delete(Actor.of(rc), id(rc)).map(v -> null))),
        Map.entry("listAccounts", rc -> respond(rc, 200, accounts.list(Actor.of(rc), query(rc, "cursor"),
            Page.requested(query(rc, "limit"))).map(page -> page(page, AdminApi::accountJson)))),
        Map.entry("getAccount", rc -> respond(rc, 200, accounts.get(Actor.of(rc), id(rc)).map(AdminApi::accountJson))),
        Map.entry("createAccount", this::createAccount),
        Map.entry("updateAccount", this::updateAccount),
        Map.entry("disableAccount", rc -> respond(rc, 200, accounts.disable(Actor.of(rc), id(rc)).map(AdminApi::accountJson))),
        Map.entry("enableAccount", rc -> respond(rc, 200, accounts.enable(Actor.of(rc), id(rc)).map(AdminApi::accountJson))),
        Map.entry("resetAccountPassword", rc -> writes.answer(rc, "resetAccountPassword", 204, null,
            tx -> accounts.resetPassword(Actor.of(rc), id(rc), body(rc).getString("password"), tx))));
  }

  private void createOrgUnit(RoutingContext rc) {
    JsonObject b = body(rc);
    writes.answer(rc, "createOrgUnit", 201, unit -> "/v1/org-units/" + unit.getString("id"),
        tx -> orgUnits.create(Actor.of(rc), null, uuid(b, "parentId"), b.getString("name"), b.getString("kind"), tx));
  }

  private void createAccount(RoutingContext rc) {
    JsonObject b = body(rc);
    writes.answer(rc, "createAccount", 201, account -> "/v1/accounts/" + account.getString("id"),
        tx -> accounts.create(Actor.of(rc), new AccountService.NewAccount(null, b.getString("username"),
            b.getString("displayName"), b.getString("locale"), strings(b.getJsonArray("roles")), uuid(b, "homeUnitId"),
            uuids(b.getJsonArray("coveredUnitIds")), b.getString("password")), tx));
  }

  private void updateAccount(RoutingContext rc) {
    JsonObject b = body(rc);
    respond(rc, 200, accounts.update(Actor.of(rc), id(rc), new AccountService.Update(b.getString("displayName"),
        b.getString("locale"), strings(b.getJsonArray("roles")), uuid(b, "homeUnitId"),
        uuids(b.getJsonArray("coveredUnitIds")))).map(AdminApi::accountJson));
  }

  private static void respond(RoutingContext rc, int status, Future<JsonObject> result) {
    result.onSuccess(json -> {
      rc.response().setStatusCode(status).putHeader("Cache-Control", "no-store");
      if (json == null) {
        rc.response().end();
      } else {
        rc.response().putHeader("Content-Type", "application/json").end(json.encode());
      }
    }).onFailure(rc::fail);
  }

  private static JsonObject body(RoutingContext rc) {
    return rc.body().asJsonObject();
  }

  private static UUID id(RoutingContext rc) {
    return UUID.fromString(rc.pathParam("id"));
  }

  private static String query(RoutingContext rc, String name) {
    return rc.queryParams().get(name);
  }

  private static UUID uuid(JsonObject body, String field) {
    String value = body.getString(field);
    return value == null ? null : UUID.fromString(value);
  }

  private static List<String> strings(JsonArray array) {
    return array == null ? null : array.stream().map(String.class::cast).toList();
  }

  private static List<UUID> uuids(JsonArray array) {
    return array == null ? null : array.stream().map(o -> UUID.fromString((String) o)).toList();
  }

  private static <T> JsonObject page(Page<T> page, Function<T, JsonObject> json) {
    return new JsonObject()
        .put("items", new JsonArray(page.items().stream().map(json).toList()))
        .put("nextCursor", page.nextCursor());
  }

  static JsonObject orgUnitJson(OrgUnit u) {
    return new JsonObject()
        .put("id", u.id().toString())
        .put("parentId", u.parentId() == null ? null : u.parentId().toString())
        .put("name", u.name())
        .put("kind", u.kind())
        .put("path", u.path())
        .put("retiredAt", time(u.retiredAt()))
        .put("createdAt", time(u.createdAt()))
        .put("updatedAt", time(u.updatedAt()));
  }

  static JsonObject accountJson(Account a) {
    return new JsonObject()
        .put("id", a.id().toString())
        .put("username", a.username())
        .put("displayName", a.displayName())
        .put("locale", a.locale())
        .put("roles", new JsonArray(a.roles()))
        .put("homeUnitId", a.homeUnitId().toString())
        .put("coveredUnitIds", new JsonArray(a.coveredUnitIds().stream().map(UUID::toString).toList()))
        .put("disabledAt", time(a.disabledAt()))
        .put("createdAt", time(a.createdAt()))
        .put("updatedAt", time(a.updatedAt()));
  }

  private static String time(OffsetDateTime t) {
    return t == null ? null : DateTimeFormatter.ISO_INSTANT.format(t.toInstant());
  }
}
