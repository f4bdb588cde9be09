package org.frontline.identity;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.bouncycastle.jce.ECNamedCurveTable;
import org.bouncycastle.math.ec.ECPoint;
import org.frontline.identity.SigningKeys.SigningKey;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.Signature;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECPublicKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Issues and verifies access tokens: compact JWS, ES256, header {@code typ} {@code at+jwt} (RFC 9068), signed with
 * the newest signing key (last by name). Verification accepts nothing but that shape: every other algorithm, type,
 * unknown or odd key id, key-fetching header, wrong issuer or audience, or out-of-window time is rejected.
 */
public final class TokenService {
  /** Lifetime of an access token; short, because a refresh token renews it and revocation waits for it. */
  public static final Duration ACCESS_TOKEN_TTL = Duration.ofMinutes(15);
  /** Clock skew tolerated between instances, for exp, nbf and iat. */
  public static final Duration LEEWAY = Duration.ofSeconds(60);
  public static final String TYPE = "at+jwt";
  private static final String ALG = "ES256";
  private static final String JCA_ALG = "SHA256withECDSAinP1363Format";
  private static final Pattern KID = Pattern.compile("[A-Za-z0-9._-]{1,64}");
  private static final Pattern B64URL = Pattern.compile("[A-Za-z0-9_-]+");
  /** Headers that would make a verifier fetch or trust a key named by the token itself, or demand extensions. */
  private static final Set<String> FORBIDDEN_HEADERS = Set.of("jku", "x5u", "jwk", "x5c", "crit");
  private static final Base64.Encoder ENC = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder DEC = Base64.getUrlDecoder();

  /** The verified content of an access token. */
  public record AccessToken(UUID accountId, List<String> roles, List<UUID> scope, String jti, Instant expiresAt) {}

  /** Why a token was rejected; for logs and audit only, never sent to the client. */
  public static final class InvalidTokenException extends Exception {
    public InvalidTokenException(String reason) {
      super(reason, null, false, false);
    }
  }

  private record Key(String kid, ECPrivateKey privateKey, ECPublicKey publicKey) {}

  private final String issuer;
  private final String audience;
  private final Map<String, Key> keys;
  private final Key current;
  private final Clock clock;

  public TokenService(String issuer, String audience, List<SigningKey> signingKeys, Clock clock) {
    if (signingKeys.isEmpty()) {
      throw new IllegalArgumentException("no signing key");
    }
    this.issuer = issuer;
    this.audience = audience;
    this.clock = clock;
    Map<String, Key> byKid = new LinkedHashMap<>();
    for (SigningKey k : signingKeys) {
      byKid.put(k.kid(), new Key(k.kid(), k.privateKey(), publicKeyOf(k.privateKey())));
    }
    this.keys = Collections.unmodifiableMap(byKid);
    this.current = byKid.get(signingKeys.get(signingKeys.size() - 1).kid());
  }

  public String issuer() { return issuer; }

  public String audience() { return audience; }

  /** A signed access token for the account, valid for {@link #ACCESS_TOKEN_TTL}. */
  public String issue(UUID accountId, List<String> roles, List<UUID> scope) {
    long now = clock.instant().getEpochSecond();
    JsonObject header = new JsonObject().put("alg", ALG).put("typ", TYPE).put("kid", current.kid());
    JsonObject claims = new JsonObject()
        .put("iss", issuer)
        .put("aud", audience)
        .put("sub", accountId.toString())
        .put("iat", now)
        .put("nbf", now)
        .put("exp", now + ACCESS_TOKEN_TTL.toSeconds())
        .put("jti", UUID.randomUUID().toString())
        .put("roles", new JsonArray(List.copyOf(roles)))
        .put("scope", new JsonArray(scope.stream().map(UUID::toString).toList()));
    return sign(header, claims, current.kid());
  }

  /** Signs any header and claims with the named key. Exposed for tests that forge tokens of every odd shape. */
  String sign(JsonObject header, JsonObject claims, String kid) {
    String input = b64(header.encode()) + "." + b64(claims.encode());
    try {
      Signature s = Signature.getInstance(JCA_ALG);
      s.initSign(keys.get(kid).privateKey());
      s.update(input.getBytes(StandardCharsets.US_ASCII));
      return input + "." + ENC.encodeToString(s.sign());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot sign with key " + kid, e);
    }
  }

  /** Verifies a compact JWS access token; any deviation from the one accepted shape is an InvalidTokenException. */
  public AccessToken verify(String token) throws InvalidTokenException {
    if (token == null || token.length() > 8192) {
      throw new InvalidTokenException("missing or oversized token");
    }
    String[] parts = token.split("\\.", -1);
    if (parts.length != 3 || !B64URL.matcher(parts[0]).matches() || !B64URL.matcher(parts[1]).matches()
        || !B64URL.matcher(parts[2]).matches()) {
      throw new InvalidTokenException("not a compact JWS");
    }
    JsonObject header = json(parts[0], "header");
    if (!ALG.equals(header.getValue("alg"))) {
      throw new InvalidTokenException("alg is not ES256");
    }
    if (!TYPE.equals(header.getValue("typ"))) {
      throw new InvalidTokenException("typ is not at+jwt");
    }
    for (String forbidden : FORBIDDEN_HEADERS) {
      if (header.containsKey(forbidden)) {
        throw new InvalidTokenException("header " + forbidden + " is not accepted");
      }
    }
    Object kid = header.getValue("kid");
    if (!(kid instanceof String k) || !KID.matcher(k).matches() || !keys.containsKey(k)) {
      throw new InvalidTokenException("unknown kid");
    }
    byte[] signature = decode(parts[2], "signature");
    try {
      Signature s = Signature.getInstance(JCA_ALG);
      s.initVerify(keys.get(kid).publicKey());
      s.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
      if (signature.length != 64 || !s.verify(signature)) {
        throw new InvalidTokenException("bad signature");
      }
    } catch (GeneralSecurityException e) {
      throw new InvalidTokenException("bad signature");
    }
    JsonObject claims = json(parts[1], "claims");
    if (!issuer.equals(claims.getValue("iss"))) {
      throw new InvalidTokenException("wrong iss");
    }
    Object aud = claims.getValue("aud");
    if (!(audience.equals(aud) || aud instanceof JsonArray a && a.contains(audience))) {
      throw new InvalidTokenException("wrong aud");
    }
    long now = clock.instant().getEpochSecond();
    long leeway = LEEWAY.toSeconds();
    Long exp = seconds(claims, "exp", true);
    if (exp + leeway <= now) {
      throw new InvalidTokenException("expired");
    }
    Long nbf = seconds(claims, "nbf", false);
    if (nbf != null && nbf > now + leeway) {
      throw new InvalidTokenException("not yet valid");
    }
    Long iat = seconds(claims, "iat", true);
    if (iat > now + leeway) {
      throw new InvalidTokenException("issued in the future");
    }
    try {
      UUID sub = UUID.fromString(claims.getString("sub"));
      List<String> roles = new ArrayList<>();
      for (Object r : claims.getJsonArray("roles", new JsonArray())) {
        roles.add((String) r);
      }
      List<UUID> scope = new ArrayList<>();
      for (Object u : claims.getJsonArray("scope", new JsonArray())) {
        scope.add(UUID.fromString((String) u));
      }
      return new AccessToken(sub, List.copyOf(roles), List.copyOf(scope), claims.getString("jti"),
          Instant.ofEpochSecond(exp));
    } catch (RuntimeException e) {
      throw new InvalidTokenException("malformed claims");
    }
  }

  /** The public keys of every loaded signing key, as an RFC 7517 JWK Set. */
  public JsonObject jwks() {
    JsonArray list = new JsonArray();
    for (Key k : keys.values()) {
      java.security.spec.ECPoint w = k.publicKey().getW();
      list.add(new JsonObject()
          .put("kty", "EC")
          .put("crv", "P-256")
          .put("x", ENC.encodeToString(unsigned32(w.getAffineX())))
          .put("y", ENC.encodeToString(unsigned32(w.getAffineY())))
          .put("kid", k.kid())
          .put("use", "sig")
          .put("alg", ALG));
    }
    return new JsonObject().put("keys", list);
  }

  private static JsonObject json(String part, String what) throws InvalidTokenException {
    try {
      return new JsonObject(new String(decode(part, what), StandardCharsets.UTF_8));
    } catch (RuntimeException e) {
      throw new InvalidTokenException(what + " is not a JSON object");
    }
  }

  private static byte[] decode(String part, String what) throws InvalidTokenException {
    try {
      return DEC.decode(part);
    } catch (IllegalArgumentException e) {
      throw new InvalidTokenException(what + " is not base64url");
    }
  }

  private static Long seconds(JsonObject claims, String name, boolean required) throws InvalidTokenException {
    Object v = claims.getValue(name);
    if (v == null && !required) {
      return null;
    }
    if (!(v instanceof Number n)) {
      throw new InvalidTokenException(name + " missing or not a number");
    }
    return n.longValue();
  }

  private static String b64(String s) {
    return ENC.encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  private static byte[] unsigned32(BigInteger v) {
    byte[] raw = v.toByteArray();
    byte[] out = new byte[32];
    int len = Math.min(raw.length, 32);
    System.arraycopy(raw, raw.length - len, out, 32 - len, len);
    return out;
  }

  /** Q = d * G on P-256: the public half of a PKCS#8 private key, which does not carry it in a usable form. */
  private static ECPublicKey publicKeyOf(ECPrivateKey key) {
    ECPoint q = ECNamedCurveTable.getParameterSpec("secp256r1").getG().multiply(key.getS()).normalize();
    try {
      return (ECPublicKey) KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(
          new java.security.spec.ECPoint(q.getAffineXCoord().toBigInteger(), q.getAffineYCoord().toBigInteger()),
          key.getParams()));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot derive the public key", e);
    }
  }

  @Override
  public String toString() {
    return "TokenService[" + issuer + ", keys=" + Arrays.toString(keys.keySet().toArray()) + "]";
  }
}
