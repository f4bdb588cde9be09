package org.frontline.identity;

import io.vertx.core.Handler;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.frontline.platform.http.ApiRoutes;
import org.frontline.platform.http.IdempotentWrites;
import org.frontline.platform.http.RequestIds;

import java.util.List;
import java.util.Map;

/**
 * Signing-key administration (list, rotate, retire at once; admins only; rotations and retirements take an
 * Idempotency-Key) and the RFC 8414 authorization server metadata.
 */
public final class KeysApi implements ApiRoutes {
  private final TokenService tokens;
  private final SigningKeyStore store;
  private final KeyRing ring;
  private final RotationService rotation;
  private final IdempotentWrites writes;

  public KeysApi(TokenService tokens, SigningKeyStore store, KeyRing ring, RotationService rotation,
                 IdempotentWrites writes) {
    this.tokens = tokens;
    this.store = store;
    this.ring = ring;
    this.rotation = rotation;
    this.writes = writes;
  }


  /** A refused repeat of a keyed write already done is answered as the repeat (IdempotentWrites#replayOf). */
  @Override
  public Map<String, RefusalAnswer> refusalAnswers() {
    return writes.replaysOf("rotateSigningKeys", "retireSigningKey");
  }
  @Override
  public Map<String, Handler<RoutingContext>> handlers() {
    return Map.of(
        "getAuthorizationServerMetadata", this::metadata,
        "listSigningKeys", this::list,
        "rotateSigningKeys", this::rotate,
        "retireSigningKey", this::retire);
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
    store.list()
        .onSuccess(keys -> rc.response()
            .putHeader("Content-Type", "application/json")
            .putHeader("Cache-Control", "no-store")
            .end(new JsonObject().put("items", new JsonArray(keys.stream().map(SigningKeyStore.KeyInfo::toJson).toList()))
                .encode()))
        .onFailure(rc::fail);
  }

  /**
   * Under an Idempotency-Key (IdempotentWrites) a repeat gets the first answer again and rotates nothing. The key
   * ring is reloaded after the commit, a replay's too (it changes nothing then).
   */
  private void rotate(RoutingContext rc) {
    writes.answer(rc, "rotateSigningKeys", 200, null,
        tx -> rotation.rotate(actor(rc), tx).compose(answer -> ring.reload().map(answer)));
  }

  /**
   * The emergency path (a key leaked): the key stops verifying at once, here from the next request on (the ring is
   * reloaded before the answer), elsewhere once the change is announced. As a rotation under an Idempotency-Key.
   */
  private void retire(RoutingContext rc) {
    String kid = rc.pathParam("kid");
    writes.answer(rc, "retireSigningKey", 200, null,
        tx -> rotation.retire(actor(rc), kid, tx).compose(answer -> ring.reload().map(answer)));
  }

  private static RotationService.Actor actor(RoutingContext rc) {
    Caller caller = Caller.of(rc);
    return new RotationService.Actor(caller.accountId(), caller.accountId().toString(), address(rc),
        RequestIds.of(rc));
  }

  /** The answer of a rotation: what changed, and every key after it. */
  static JsonObject rotationJson(RotationService.Rotation done, List<SigningKeyStore.KeyInfo> keys) {
    return new JsonObject()
        .put("activated", done.activated())
        .put("superseded", new JsonArray(done.superseded()))
        .put("retired", new JsonArray(done.retired()))
        .put("items", new JsonArray(keys.stream().map(SigningKeyStore.KeyInfo::toJson).toList()));
  }

  /** The answer of a retirement: the key retired, its successor when it was current, and every key after it. */
  static JsonObject retirementJson(RotationService.Retirement done, List<SigningKeyStore.KeyInfo> keys) {
    return new JsonObject()
        .put("retired", done.retired())
        .put("replacedBy", done.replacedBy())
        .put("items", new JsonArray(keys.stream().map(SigningKeyStore.KeyInfo::toJson).toList()));
  }

  private static String address(RoutingContext rc) {
    return rc.request().remoteAddress() == null ? null : rc.request().remoteAddress().hostAddress();
  }
}
