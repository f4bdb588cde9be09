package org.frontline.identity;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.frontline.identity.SigningKeys.SigningKey;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.Signature;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Issues and verifies access tokens: compact JWS, ES256, header {@code typ} {@code at+jwt} (RFC 9068), signed with
 * the current signing key of its {@link KeySource}; every published key verifies. Verification accepts nothing but that shape: every other algorithm, type,
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
  private static final Pattern KID = SigningKeys.KID;
  private static final Pattern B64URL = Pattern.compile("[A-Za-z0-9_-]+");
  /** Headers that would make a verifier fetch or trust a key named by the token itself, or demand extensions. */
  private static final Set<String> FORBIDDEN_HEADERS = Set.of("jku", "x5u", "jwk", "x5c", "crit");
  private static final Base64.Encoder ENC = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder DEC = Base64.getUrlDecoder();

  /**
   * The verified content of an access token. {@code sessionId} is the session it was issued in (its {@code sid}: the
   * refresh-token family of the login; for a partner client's token, the credential it was issued with), null for a
   * token minted before sessions were named. For a partner client's token (client credentials), {@code accountId} is
   * the client id, {@code scope} its granted units and {@code client} the OAuth scopes and report types.
   */
  public record AccessToken(UUID accountId, List<String> roles, List<UUID> scope, String jti, UUID sessionId,
                            Instant issuedAt, Instant expiresAt, ClientClaims client) {}

  /** A partner token's own claims: {@code scope} (RFC 9068, space-separated) and the granted report types. */
  public record ClientClaims(List<String> scopes, List<String> reportTypes) {}

  /** Why a token was rejected; for logs and audit only, never sent to the client. */
  public static class InvalidTokenException extends Exception {
    public InvalidTokenException(String reason) {
      super(reason, null, false, false);
    }
  }

  /** A kid of the accepted shape that is not among the published keys (yet: it may come from a new rotation). */
  public static final class UnknownKeyException extends InvalidTokenException {
    private final String kid;

    UnknownKeyException(String kid) {
      super("unknown kid");
      this.kid = kid;
    }

    public String kid() { return kid; }
  }

  /**
   * The published keys by kid (oldest first), the one that signs, and the kids of retired keys (a token naming one
   * is refused as such, with no reload: it is no key rotated in elsewhere).
   */
  public record KeySet(Map<String, SigningKey> published, SigningKey current, Set<String> retired) {
    public KeySet {
      published = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(published));
      retired = Set.copyOf(retired);
    }

    public KeySet(Map<String, SigningKey> published, SigningKey current) {
      this(published, current, Set.of());
    }
  }

  /** Where the keys come from; {@link KeyRing} reads them from the database. */
  public interface KeySource {
    KeySet keys();

    /** Asked when a token names a well-formed kid that {@link #keys()} lacks; completes when it is worth retrying. */
    default Future<Void> reloadFor(String kid) {
      return Future.succeededFuture();
    }

    /** A fixed set of keys: the last signs. */
    static KeySource of(List<SigningKey> keys) {
      if (keys.isEmpty()) {
        throw new IllegalArgumentException("no signing key");
      }
      Map<String, SigningKey> byKid = new LinkedHashMap<>();
      keys.forEach(k -> byKid.put(k.kid(), k));
      KeySet set = new KeySet(byKid, keys.get(keys.size() - 1));
      return () -> set;
    }
  }

  private final String issuer;
  private final String audience;
  private final KeySource keys;
  private final Clock clock;
  /**
   * Tokens whose signature and fixed claims were already verified, by their exact text: an ES256 verification costs
   * about as much CPU as the rest of a report submission. A hit still requires the verifying key to be the one
   * published now under its kid (a retired key ends its tokens at once) and re-checks exp, nbf and iat against the
   * clock; only successful verifications are kept, at most {@link #VERIFIED_CACHE_SIZE}, least recently used out.
   */
  private final Map<String, Verified> verified = new LinkedHashMap<>(256, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Verified> eldest) {
      return size() > VERIFIED_CACHE_SIZE;
    }
  };
  static final int VERIFIED_CACHE_SIZE = 10_000;

  private record Verified(String kid, SigningKey key, AccessToken token, long exp, Long nbf, long iat) {}

  public TokenService(String issuer, String audience, KeySource keys, Clock clock) {
    this.issuer = issuer;
    this.audience = audience;
    this.keys = keys;
    this.clock = clock;
  }

  public TokenService(String issuer, String audience, List<SigningKey> signingKeys, Clock clock) {
    this(issuer, audience, KeySource.of(signingKeys), clock);
  }

  public String issuer() { return issuer; }

  public String audience() { return audience; }

  /**
   * A signed access token for the account, valid for {@link #ACCESS_TOKEN_TTL}, of the session {@code sessionId} (the
   * login's refresh-token family, claim {@code sid}: a logout ends its access tokens too; null: none, as minted
   * before sessions were named).
   */
  public String issue(UUID accountId, List<String> roles, List<UUID> scope, UUID sessionId) {
    return signWithCurrentKey(new JsonObject()
        .put("sub", accountId.toString())
        .put("roles", new JsonArray(List.copyOf(roles)))
        .put("scope", new JsonArray(scope.stream().map(UUID::toString).toList())), sessionId);
  }

  /**
   * A signed access token for a partner client (OAuth client credentials), valid for {@link #ACCESS_TOKEN_TTL}:
   * {@code sub} and {@code client_id} are the client, {@code scope} the granted OAuth scopes (RFC 9068), and the
   * granted unit subtrees and report types are {@code frontline_units} and {@code frontline_report_types}. Its
   * session ({@code sid}) is the credential {@code credentialId} it was issued with: removing the credential ends
   * it (null: none, as minted before).
   */
  public String issueForClient(UUID clientId, List<String> scopes, List<UUID> units, List<String> reportTypes,
                               UUID credentialId) {
    return signWithCurrentKey(new JsonObject()
        .put("sub", clientId.toString())
        .put("client_id", clientId.toString())
        .put("scope", String.join(" ", scopes))
        .put("frontline_units", new JsonArray(units.stream().map(UUID::toString).toList()))
        .put("frontline_report_types", new JsonArray(List.copyOf(reportTypes))), credentialId);
  }

  /**
   * The token of {@code claims} with the registered claims every access token carries (iss, aud, iat, nbf, exp for
   * {@link #ACCESS_TOKEN_TTL}, a fresh jti, and sid when there is a session), signed with the current key.
   */
  private String signWithCurrentKey(JsonObject claims, UUID sessionId) {
    long now = clock.instant().getEpochSecond();
    SigningKey current = keys.keys().current();
    claims.put("iss", issuer).put("aud", audience).put("iat", now).put("nbf", now)
        .put("exp", now + ACCESS_TOKEN_TTL.toSeconds()).put("jti", UUID.randomUUID().toString());
    if (sessionId != null) {
      claims.put("sid", sessionId.toString());
    }
    JsonObject header = new JsonObject().put("alg", ALG).put("typ", TYPE).put("kid", current.kid());
    return sign(header, claims, current);
  }

  /** Signs any header and claims with the named key. Exposed for tests that forge tokens of every odd shape. */
  String sign(JsonObject header, JsonObject claims, String kid) {
    return sign(header, claims, keys.keys().published().get(kid));
  }

  private static String sign(JsonObject header, JsonObject claims, SigningKey key) {
    String kid = key.kid();
    String input = b64(header.encode()) + "." + b64(claims.encode());
    try {
      Signature s = Signature.getInstance(JCA_ALG);
      s.initSign(key.privateKey());
      s.update(input.getBytes(StandardCharsets.US_ASCII));
      return input + "." + ENC.encodeToString(s.sign());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot sign with key " + kid, e);
    }
  }

  /**
   * As {@link #verify}, but a well-formed kid unknown to this instance first makes the key source reload (a key
   * rotated in on another instance) and the token is verified once more.
   */
  public Future<AccessToken> verifyAsync(String token) {
    try {
      return Future.succeededFuture(verify(token));
    } catch (UnknownKeyException e) {
      return keys.reloadFor(e.kid()).transform(ar -> {
        try {
          return Future.succeededFuture(verify(token));
        } catch (InvalidTokenException again) {
          return Future.failedFuture(again);
        }
      });
    } catch (InvalidTokenException e) {
      return Future.failedFuture(e);
    }
  }

  /** Verifies a compact JWS access token; any deviation from the one accepted shape is an InvalidTokenException. */
  public AccessToken verify(String token) throws InvalidTokenException {
    if (token == null || token.length() > 8192) {
      throw new InvalidTokenException("missing or oversized token");
    }
    Verified hit;
    synchronized (verified) {
      hit = verified.get(token);
    }
    if (hit != null && keys.keys().published().get(hit.kid()) == hit.key()) {
      checkTimes(hit.exp(), hit.nbf(), hit.iat());
      return hit.token();
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
    if (!(kid instanceof String k) || !KID.matcher(k).matches()) {
      throw new InvalidTokenException("missing or malformed kid");
    }
    KeySet known = keys.keys();
    SigningKey key = known.published().get(k);
    if (key == null) {
      throw known.retired().contains(k) ? new InvalidTokenException("retired kid") : new UnknownKeyException(k);
    }
    byte[] signature = decode(parts[2], "signature");
    try {
      Signature s = Signature.getInstance(JCA_ALG);
      s.initVerify(key.publicKey());
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
    Long exp = seconds(claims, "exp", true);
    Long nbf = seconds(claims, "nbf", false);
    Long iat = seconds(claims, "iat", true);
    checkTimes(exp, nbf, iat);
    AccessToken accessToken;
    try {
      UUID sub = UUID.fromString(claims.getString("sub"));
      if (claims.containsKey("client_id")) {
        accessToken = clientToken(sub, claims, iat, exp);
        synchronized (verified) {
          verified.put(token, new Verified(k, key, accessToken, exp, nbf, iat));
        }
        return accessToken;
      }
      List<String> roles = new ArrayList<>();
      for (Object r : claims.getJsonArray("roles", new JsonArray())) {
        roles.add((String) r);
      }
      List<UUID> scope = new ArrayList<>();
      for (Object u : claims.getJsonArray("scope", new JsonArray())) {
        scope.add(UUID.fromString((String) u));
      }
      accessToken = new AccessToken(sub, List.copyOf(roles), List.copyOf(scope), claims.getString("jti"),
          sessionId(claims), Instant.ofEpochSecond(iat), Instant.ofEpochSecond(exp), null);
    } catch (RuntimeException e) {
      throw new InvalidTokenException("malformed claims");
    }
    synchronized (verified) {
      verified.put(token, new Verified(k, key, accessToken, exp, nbf, iat));
    }
    return accessToken;
  }

  private static AccessToken clientToken(UUID sub, JsonObject claims, long iat, long exp) {
    if (!sub.toString().equals(claims.getString("client_id"))) {
      throw new IllegalArgumentException("client_id is not sub");
    }
    List<String> scopes = List.of(claims.getString("scope").trim().split(" +"));
    List<UUID> units = new ArrayList<>();
    for (Object u : claims.getJsonArray("frontline_units")) {
      units.add(UUID.fromString((String) u));
    }
    List<String> types = new ArrayList<>();
    for (Object t : claims.getJsonArray("frontline_report_types")) {
      types.add((String) t);
    }
    return new AccessToken(sub, List.of(), List.copyOf(units), claims.getString("jti"), sessionId(claims),
        Instant.ofEpochSecond(iat), Instant.ofEpochSecond(exp), new ClientClaims(scopes, List.copyOf(types)));
  }

  /** The {@code sid} claim; null when absent (minted before sessions were named). */
  private static UUID sessionId(JsonObject claims) {
    String sid = claims.getString("sid");
    return sid == null ? null : UUID.fromString(sid);
  }

  private void checkTimes(long exp, Long nbf, long iat) throws InvalidTokenException {
    long now = clock.instant().getEpochSecond();
    long leeway = LEEWAY.toSeconds();
    if (exp + leeway <= now) {
      throw new InvalidTokenException("expired");
    }
    if (nbf != null && nbf > now + leeway) {
      throw new InvalidTokenException("not yet valid");
    }
    if (iat > now + leeway) {
      throw new InvalidTokenException("issued in the future");
    }
  }

  /** The public keys of every published signing key, as an RFC 7517 JWK Set. */
  public JsonObject jwks() {
    JsonArray list = new JsonArray();
    for (SigningKey k : keys.keys().published().values()) {
      list.add(SigningKeys.publicJwk(k.kid(), k.publicKey()));
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

  @Override
  public String toString() {
    return "TokenService[" + issuer + "]";
  }
}
