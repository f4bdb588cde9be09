package org.frontline.identity;

import io.vertx.core.Handler;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.frontline.audit.AuditEvent;
import org.frontline.audit.AuditLog;
import org.frontline.platform.http.ApiRoutes;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemType;
import org.frontline.platform.http.RequestIds;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;

/**
 * Signing-key administration (list, rotate; admins only) and the RFC 8414 authorization server metadata.
 */
public final class KeysApi implements ApiRoutes {
  private static final Logger log = LoggerFactory.getLogger(KeysApi.class);
  /** The role the key operations require (the one check, here). */
  static final String ADMIN = "admin";

  private final TokenService tokens;
  private final SigningKeyStore store;
  private final KeyRing ring;
  private final RotationService rotation;
  private final AuditLog audit;

  public KeysApi(TokenService tokens, SigningKeyStore store, KeyRing ring, RotationService rotation, AuditLog audit) {
    this.tokens = tokens;
    this.store = store;
    this.ring = ring;
    this.rotation = rotation;
    this.audit = audit;
  }

  @Override
  public Map<String, Handler<RoutingContext>> handlers() {
    return Map.of(
        "getAuthorizationServerMetadata", this::metadata,
        "listSigningKeys", this::list,
        "rotateSigningKeys", this::rotate);
  }

  private void metadata(RoutingContext rc) {
    String issuer = tokens.issuer();
    String base = issuer.endsWith("/") ? issuer.substring(0, issuer.length() - 1) : issuer;
    JsonObject body = new JsonObject()
        .put("issuer", issuer)
        .put("jwks_uri", base + "/.well-known/jwks.json")
        .put("token_endpoint", base + "/oauth2/token")
        .put("grant_types_supported", new JsonArray(List.of("client_credentials")))
        .put("token_endpoint_auth_methods_supported", new JsonArray(List.of("client_secret_basic", "private_key_jwt")))
        .put("token_endpoint_auth_signing_alg_values_supported", new JsonArray(List.of("ES256", "RS256")))
        .put("response_types_supported", new JsonArray())
        .put("service_documentation", base + "/openapi.yaml")
        .put("frontline_login_endpoint", base + "/v1/auth/login")
        .put("frontline_refresh_endpoint", base + "/v1/auth/refresh")
        .put("frontline_access_token_signing_alg_values_supported", new JsonArray(List.of("ES256")));
    rc.response()
        .putHeader("Content-Type", "application/json")
        .putHeader("Cache-Control", "public, max-age=300")
        .end(body.encode());
  }

  private void list(RoutingContext rc) {
    if (!allowed(rc, "signing-key.list")) {
      return;
    }
    store.list()
        .onSuccess(keys -> rc.response()
            .putHeader("Content-Type", "application/json")
            .putHeader("Cache-Control", "no-store")
            .end(new JsonObject().put("items", new JsonArray(keys.stream().map(SigningKeyStore.KeyInfo::toJson).toList()))
                .encode()))
        .onFailure(rc::fail);
  }

  private void rotate(RoutingContext rc) {
    if (!allowed(rc, "signing-key.rotate")) {
      return;
    }
    Caller caller = Caller.of(rc);
    rotation.rotate(new RotationService.Actor(caller.accountId(), caller.accountId().toString(), address(rc), RequestIds.of(rc)))
        .compose(done -> ring.reload().map(done))
        .compose(done -> store.list().map(keys -> new JsonObject()
            .put("activated", done.activated())
            .put("superseded", new JsonArray(done.superseded()))
            .put("retired", new JsonArray(done.retired()))
            .put("items", new JsonArray(keys.stream().map(SigningKeyStore.KeyInfo::toJson).toList()))))
        .onSuccess(body -> rc.response()
            .putHeader("Content-Type", "application/json")
            .putHeader("Cache-Control", "no-store")
            .end(body.encode()))
        .onFailure(rc::fail);
  }

  /** The one role check of the key operations: admins only; anyone else gets 403 (audited). */
  private boolean allowed(RoutingContext rc, String action) {
    Caller caller = Caller.of(rc);
    if (caller.hasRole(ADMIN)) {
      return true;
    }
    audit.record(store.pool(), new AuditEvent(caller.accountId(), caller.accountId().toString(), action, "signing-key", null, null,
            address(rc), RequestIds.of(rc), AuditEvent.Outcome.DENIED, null))
        .onFailure(e -> log.warn("cannot audit a denied {}: {}", action, e.toString()));
    rc.fail(Problem.of(ProblemType.FORBIDDEN, "Only administrators manage signing keys.").toException());
    return false;
  }

  private static String address(RoutingContext rc) {
    return rc.request().remoteAddress() == null ? null : rc.request().remoteAddress().hostAddress();
  }
}
