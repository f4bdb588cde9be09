package org.frontline.partners;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.TestEnvironment;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.testing.TestEnvironment.await;

/**
 * Test helpers for partner clients: admin calls, keys and client assertions made with Nimbus JOSE (an independent
 * JOSE implementation), and token requests.
 */
final class Partners {
  static final String JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

  private Partners() {}

  static String login(TestEnvironment env, String username) {
    return login(env, username, "frontline-dev");
  }

  static String login(TestEnvironment env, String username, String password) {
    HttpResponse<Buffer> r = await(env.client().post("/v1/auth/login").sendJsonObject(
        new JsonObject().put("username", username).put("password", password)));
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    return r.bodyAsJsonObject().getString("access_token");
  }

  static HttpResponse<Buffer> call(TestEnvironment env, String token, HttpMethod method, String path, JsonObject body) {
    HttpRequest<Buffer> request = env.client().request(method, path).putHeader("Authorization", "Bearer " + token);
    return await(body == null ? request.send() : request.sendJsonObject(body));
  }

  static JsonObject ok(HttpResponse<Buffer> r, int status) {
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(status);
    return r.bodyAsJsonObject();
  }

  static JsonObject newClient(String name, String method, List<String> scopes, List<UUID> units, List<String> types) {
    return new JsonObject().put("name", name).put("authMethod", method).put("scopes", new JsonArray(scopes))
        .put("unitIds", new JsonArray(units.stream().map(UUID::toString).toList())).put("reportTypes", new JsonArray(types));
  }

  /** Registers a client_secret_basic client as the province admin; the answer holds clientSecret. */
  static JsonObject secretClient(TestEnvironment env, List<String> scopes, List<UUID> units, List<String> types) {
    return ok(call(env, login(env, "admin"), HttpMethod.POST, "/v1/partner-clients",
        newClient("Assessment system", "client_secret_basic", scopes, units, types)), 201);
  }

  /** Registers a private_key_jwt client with the public parts of {@code keys}. */
  static JsonObject keyClient(TestEnvironment env, List<String> scopes, List<UUID> units, List<String> types, JWK... keys) {
    JsonArray jwks = new JsonArray();
    for (JWK key : keys) {
      jwks.add(new JsonObject(key.toPublicJWK().toJSONObject()));
    }
    return ok(call(env, login(env, "admin"), HttpMethod.POST, "/v1/partner-clients",
        newClient("Project approval system", "private_key_jwt", scopes, units, types)
            .put("jwks", new JsonObject().put("keys", jwks))), 201);
  }

  static ECKey ecKey(String kid) throws Exception {
    return new ECKeyGenerator(Curve.P_256).keyID(kid).algorithm(JWSAlgorithm.ES256).generate();
  }

  static RSAKey rsaKey(String kid, int bits) throws Exception {
    return new RSAKeyGenerator(bits, true).keyID(kid).algorithm(JWSAlgorithm.RS256).generate();
  }

  static String issuer(TestEnvironment env) {
    return env.app().config().tokens().issuer();
  }

  /** A claims set as a valid assertion of {@code clientId} would have (aud = the token endpoint URL). */
  static JWTClaimsSet.Builder claims(TestEnvironment env, String clientId) {
    Instant now = Instant.now();
    String issuer = issuer(env);
    return new JWTClaimsSet.Builder().issuer(clientId).subject(clientId)
        .audience((issuer.endsWith("/") ? issuer.substring(0, issuer.length() - 1) : issuer) + "/oauth2/token")
        .issueTime(Date.from(now)).expirationTime(Date.from(now.plusSeconds(60))).jwtID(UUID.randomUUID().toString());
  }

  static String sign(JWK key, JWTClaimsSet claims) throws Exception {
    boolean ec = key instanceof ECKey;
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(ec ? JWSAlgorithm.ES256 : JWSAlgorithm.RS256)
        .keyID(key.getKeyID()).type(JOSEObjectType.JWT).build(), claims);
    jwt.sign(ec ? new ECDSASigner((ECKey) key) : new RSASSASigner((RSAKey) key));
    return jwt.serialize();
  }

  static String assertion(TestEnvironment env, JWK key, String clientId) throws Exception {
    return sign(key, claims(env, clientId).build());
  }

  static HttpResponse<Buffer> tokenWithAssertion(TestEnvironment env, String assertion, String scope) {
    MultiMap form = MultiMap.caseInsensitiveMultiMap().add("grant_type", "client_credentials")
        .add("client_assertion_type", JWT_BEARER).add("client_assertion", assertion);
    if (scope != null) {
      form.add("scope", scope);
    }
    return await(env.client().post("/oauth2/token").sendForm(form));
  }

  static HttpResponse<Buffer> tokenWithSecret(TestEnvironment env, String clientId, String secret, String scope) {
    return tokenWithSecret(env, clientId, secret, Map.of("grant_type", "client_credentials"), scope);
  }

  static HttpResponse<Buffer> tokenWithSecret(TestEnvironment env, String clientId, String secret,
                                              Map<String, String> params, String scope) {
    MultiMap form = MultiMap.caseInsensitiveMultiMap();
    params.forEach(form::add);
    if (scope != null) {
      form.add("scope", scope);
    }
    return await(env.client().post("/oauth2/token").putHeader("Authorization", basic(clientId, secret)).sendForm(form));
  }

  static String basic(String clientId, String secret) {
    return "Basic " + Base64.getEncoder().encodeToString((clientId + ":" + secret).getBytes(StandardCharsets.UTF_8));
  }

  /** Asserts an RFC 6749 section 5.2 error answer and returns its body. */
  static JsonObject oauthError(HttpResponse<Buffer> r, int status, String error) {
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(status);
    assertThat(r.getHeader("Content-Type")).startsWith("application/json");
    assertThat(r.getHeader("Cache-Control")).isEqualTo("no-store");
    JsonObject body = r.bodyAsJsonObject();
    assertThat(body.getString("error")).as(r.bodyAsString()).isEqualTo(error);
    assertThat(body.getString("error_description")).isNotBlank();
    assertThat(body.fieldNames()).containsExactlyInAnyOrder("error", "error_description");
    return body;
  }

  static JsonObject claimsOf(String jws) {
    return new JsonObject(new String(Base64.getUrlDecoder().decode(jws.split("\\.")[1]), StandardCharsets.UTF_8));
  }

  static JsonObject headerOf(String jws) {
    return new JsonObject(new String(Base64.getUrlDecoder().decode(jws.split("\\.")[0]), StandardCharsets.UTF_8));
  }

  /** A report (SITE, no attachments: COMPLETE at once) by {@code username} at {@code unit}; its id. */
  static UUID report(TestEnvironment env, String username, UUID unit) {
    return report(env, username, unit, false);
  }

  /** As above; with {@code awaitingMedia} it declares one photo, so it stays AWAITING_MEDIA (no event yet). */
  static UUID report(TestEnvironment env, String username, UUID unit, boolean awaitingMedia) {
    JsonObject envelope = envelope(unit, awaitingMedia);
    ok(call(env, login(env, username), HttpMethod.POST, "/v1/reports", envelope), 201);
    return UUID.fromString(envelope.getString("id"));
  }

  /** The envelope of such a report, with a new id. */
  static JsonObject envelope(UUID unit, boolean awaitingMedia) {
    JsonObject envelope = new JsonObject().put("id", UUID.randomUUID().toString()).put("type", "SITE")
        .put("unitId", unit.toString())
        // Recent: captured days before it is received, it would be flagged, an event of its own (report checks).
        .put("capturedAt", java.time.Instant.now().minusSeconds(3600).truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
            .toString())
        .put("location", new JsonObject().put("lat", 32.0).put("lon", 121.0).put("accuracyM", 8.5)
            .put("provider", "gps").put("mock", false))
        .put("title", "Site visit").put("body", new JsonObject().put("observations", new JsonArray().add("Seen")));
    if (awaitingMedia) {
      envelope.put("attachments", new JsonArray().add(new JsonObject().put("id", UUID.randomUUID().toString())
          .put("sha256", String.format("%064x", 7)).put("size", 1007).put("contentType", "image/jpeg")
          .put("filename", "IMG_7.jpg")));
    }
    return envelope;
  }

  /** A partner access token by client_secret_basic. */
  static String partnerToken(TestEnvironment env, JsonObject client) {
    return ok(tokenWithSecret(env, client.getString("id"), client.getString("clientSecret"), null), 200)
        .getString("access_token");
  }
}
