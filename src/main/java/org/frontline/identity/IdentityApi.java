package org.frontline.identity;

import io.vertx.core.Handler;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.frontline.audit.AuditLog;
import org.frontline.platform.http.ApiRoutes;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemType;

import java.util.Map;

/** The identity operations of the contract: login, the caller, the public keys. */
public final class IdentityApi implements ApiRoutes {
  private final AuthService auth;
  private final TokenService tokens;
  private final IdentityRepository repository;
  private final BearerAuthHandler bearerAuth;

  /**
   * With partner clients: {@code clients} resolves their access tokens into callers; refused tokens go on record
   * through {@code refusals}.
   */
  public IdentityApi(AuthService auth, TokenService tokens, IdentityRepository repository, AuditLog audit,
                     ClientCallers clients, RefusalAudit refusals) {
    this.auth = auth;
    this.tokens = tokens;
    this.repository = repository;
    this.bearerAuth = new BearerAuthHandler(tokens, repository, audit, clients, refusals);
  }

  @Override
  public Map<String, Handler<RoutingContext>> handlers() {
    return Map.of(
        "login", this::login,
        "refresh", this::refresh,
        "logout", this::logout,
        "getMe", this::getMe,
        "getJwks", this::getJwks);
  }

  @Override
  public Map<String, Handler<RoutingContext>> securityHandlers() {
    return Map.of("bearerAuth", bearerAuth);
  }

  private void login(RoutingContext rc) {
    JsonObject body = rc.body().asJsonObject();
    auth.login(body.getString("username"), body.getString("password"), rc.request().remoteAddress().hostAddress())
        .onSuccess(grant -> sendGrant(rc, grant))
        .onFailure(rc::fail);
  }

  private void refresh(RoutingContext rc) {
    auth.refresh(rc.body().asJsonObject().getString("refresh_token"), rc.request().remoteAddress().hostAddress())
        .onSuccess(grant -> sendGrant(rc, grant))
        .onFailure(rc::fail);
  }

  private void logout(RoutingContext rc) {
    auth.logout(Caller.of(rc).accountId(), rc.body().asJsonObject().getString("refresh_token"),
            rc.request().remoteAddress().hostAddress())
        .onSuccess(v -> rc.response().setStatusCode(204).end())
        .onFailure(rc::fail);
  }

  private static void sendGrant(RoutingContext rc, AuthService.TokenGrant grant) {
    rc.response()
        .putHeader("Content-Type", "application/json")
        .putHeader("Cache-Control", "no-store")
        .end(new JsonObject()
            .put("access_token", grant.accessToken())
            .put("token_type", "Bearer")
            .put("expires_in", grant.expiresIn())
            .put("refresh_token", grant.refreshToken())
            .encode());
  }

  private void getMe(RoutingContext rc) {
    repository.me(Caller.of(rc).accountId())
        .onSuccess(me -> {
          if (me.isEmpty()) {
            rc.fail(Problem.of(ProblemType.NOT_FOUND, "The account no longer exists.").toException());
            return;
          }
          var m = me.get();
          rc.response()
              .putHeader("Content-Type", "application/json")
              .putHeader("Cache-Control", "no-store")
              .end(new JsonObject()
                  .put("id", m.id().toString())
                  .put("username", m.username())
                  .put("displayName", m.displayName())
                  .put("locale", m.locale())
                  .put("roles", new JsonArray(m.roles()))
                  .put("homeUnit", new JsonObject().put("id", m.homeUnit().id().toString())
                      .put("name", m.homeUnit().name()))
                  .put("scope", new JsonArray(m.scope().stream().map(u -> new JsonObject()
                      .put("id", u.id().toString()).put("name", u.name()).put("path", u.path())).toList()))
                  .put("postings", new JsonArray(m.postings().stream().map(p -> new JsonObject()
                      .put("id", p.id().toString()).put("frontLine", p.frontLine())
                      .put("unit", new JsonObject().put("id", p.unit().id().toString()).put("name", p.unit().name()))
                      .put("startsOn", p.startsOn().toString())
                      .put("endsOn", p.endsOn() == null ? null : p.endsOn().toString())
                      .put("projectId", p.projectId() == null ? null : p.projectId().toString())).toList()))
                  .encode());
        })
        .onFailure(rc::fail);
  }

  /**
   * No-cache: a cache (a partner's verifier, a proxy) asks again before each use, so a key retired at once (it
   * leaked) stops being trusted there too, instead of for up to the max-age of a stored copy.
   */
  private void getJwks(RoutingContext rc) {
    rc.response()
        .putHeader("Content-Type", "application/json")
        .putHeader("Cache-Control", "no-cache")
        .end(tokens.jwks().encode());
  }
}
