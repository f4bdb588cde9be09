package org.frontline.partners;

import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.TimeoutHandler;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import org.frontline.audit.AuditEvent;
import org.frontline.audit.AuditLog;
import org.frontline.identity.TokenService;
import org.frontline.platform.http.AddressKeys;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemException;
import org.frontline.platform.http.ProblemType;
import org.frontline.platform.http.Problems;
import org.frontline.platform.http.RequestBodies;
import org.frontline.platform.http.RequestIds;
import org.frontline.platform.http.StorableStrings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.math.BigInteger;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.Signature;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * {@code POST /oauth2/token}: the OAuth 2.0 client credentials grant (RFC 6749 section 4.4; no refresh token) for
 * partner clients, authenticated by {@code client_secret_basic} (RFC 6749 section 2.3.1) or {@code private_key_jwt}
 * (RFC 7523 section 2.2). Errors are RFC 6749 section 5.2 JSON, not problems: OAuth clients read {@code error}.
 * Routed raw (ahead of the contract's validator), as the contract documents it with {@code x-frontline-raw-route}.
 */
public final class TokenEndpoint {
  private static final Logger log = LoggerFactory.getLogger(TokenEndpoint.class);
  public static final String PATH = "/oauth2/token";
  static final String JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
  /** An assertion may be valid for at most this long from now (RFC 7523 leaves it to us; short limits replays). */
  static final long MAX_ASSERTION_LIFETIME_SECONDS = 300;
  /** Clock skew tolerated on exp and nbf. */
  static final long LEEWAY_SECONDS = 30;
  private static final Set<String> FORBIDDEN_HEADERS = Set.of("jku", "x5u", "jwk", "x5c", "crit");
  private static final Pattern B64URL = Pattern.compile("[A-Za-z0-9_-]+");
  private static final Base64.Decoder DEC = Base64.getUrlDecoder();
  /** The one description of every authentication failure that could tell a registered client from others. */
  static final String AUTHENTICATION_FAILED = "Client authentication failed.";
  /**
   * Token requests a minute: a client's own rate limit, at most this (a token lives 15 minutes; each issue takes
   * the audit chain's lock). Requests naming no registered client are counted per address, against this too.
   */
  static final int MAX_TOKEN_REQUESTS_PER_MINUTE = 60;
  private static final List<String> PARAMETERS = List.of("grant_type", "scope", "client_id", "client_assertion",
      "client_assertion_type");
  /** The largest body read: a form of a few parameters. */
  private static final long BODY_LIMIT = 16 * 1024;
  /** Set on a request whose client authenticated by client_secret_basic before its body was read: the client. */
  private static final String BASIC_CLIENT = "frontline.token.basic-client";

  private final Pool pool;
  private final TokenService tokens;
  private final AuditLog audit;
  private final Clock clock;
  /**
   * The request timeout: how long a request may take (then the 503 timeout problem, the connection closed while
   * its body is still coming), and how long a refused request's unread body is still read (and dropped).
   */
  private final Duration requestTimeout;
  private final Problems problems;

  public TokenEndpoint(Pool pool, TokenService tokens, AuditLog audit, Clock clock, Duration requestTimeout) {
    this.pool = pool;
    this.tokens = tokens;
    this.audit = audit;
    this.clock = clock;
    this.requestTimeout = requestTimeout;
    this.problems = new Problems(requestTimeout);
  }

  /** An RFC 6749 section 5.2 error answer. */
  static final class OAuthError extends Exception {
    final int status;
    final String error;
    final boolean basic;

    OAuthError(int status, String error, String description, boolean basic) {
      super(description, null, false, false);
      this.status = status;
      this.error = error;
      this.basic = basic;
    }

    static OAuthError request(String description) {
      return new OAuthError(400, "invalid_request", description, false);
    }

    static OAuthError client(String description, boolean basic) {
      return new OAuthError(401, "invalid_client", description, basic);
    }

    /**
     * invalid_client with the description of an unknown client: what depends on a registered client (its method,
     * its keys) is told to nobody who has not authenticated, so client ids cannot be probed. The reason is logged.
     */
    static OAuthError hidden(String reason, boolean basic) {
      OAuthError e = client(AUTHENTICATION_FAILED, basic);
      e.logged = reason;
      return e;
    }

    /** The reason written to the log (the description unless hidden). */
    String logged;
    /** Seconds, for a 429. */
    Integer retryAfter;

    /**
     * RFC 6749 has no rate-limit error: HTTP 429 with Retry-After and invalid_request, the description saying when
     * to come back.
     */
    static OAuthError tooMany(int retryAfter) {
      OAuthError e = new OAuthError(429, "invalid_request", "too many token requests; retry after " + retryAfter + " s",
          false);
      e.retryAfter = retryAfter;
      return e;
    }
  }

  /**
   * A client as the token endpoint needs it; {@code credentialId}: the credential it authenticated with (null until
   * it has), the session of the token issued (removing the credential ends it).
   */
  private record Client(UUID id, String authMethod, List<String> scopes, List<UUID> units, List<String> reportTypes,
                        UUID credentialId) {
    Client authenticatedWith(UUID credential) {
      return new Client(id, authMethod, scopes, units, reportTypes, credential);
    }
  }

  /**
   * The body is held (RequestBodies) until client_secret_basic credentials, sent in the head, have been checked: a
   * client sending {@code Expect: 100-continue} with wrong ones gets its 401 without a 100, its body unread.
   */
  public void mount(Router router) {
    router.post(PATH).order(-10)
        .handler(new RequestIds())
        // The route comes before the contract's root handlers, whose request timeout therefore never applied to it:
        // a form trickled in held the connection for as long as the client liked.
        .handler(TimeoutHandler.create(requestTimeout.toMillis()))
        .handler(RequestBodies.HOLD)
        .handler(this::authenticateBasic)
        .handler(RequestBodies.read(BodyHandler.create(false).setBodyLimit(BODY_LIMIT), BODY_LIMIT))
        .handler(this::handle)
        .failureHandler(this::refusedBody);
    // Any other method: 405 naming POST, as on the contract's routes (without this route: 404, "no resource").
    router.route(PATH).order(-9)
        .handler(new RequestIds())
        .handler(rc -> Problems.send(rc, Problem.of(ProblemType.METHOD_NOT_ALLOWED,
                rc.request().method() + " is not allowed on " + PATH + "; use POST.")
            .withHeader("Allow", "POST")));
  }

  /**
   * A body the body step or the body handler refused (over the limit: 413; a Content-Encoding other than identity:
   * 415 with {@code Accept-Encoding: identity}, as on every other route; a form it cannot decode, e.g. a parameter
   * over the server's form attribute size: 400) is an RFC 6749 error like every other refusal here (it was a
   * problem, which an OAuth client does not read and the contract did not declare); anything else (a bug: 500, the
   * database down: 503) is the problem every endpoint answers.
   */
  private void refusedBody(RoutingContext rc) {
    // The body step's 413 on a Content-Length past the limit and its 415 are problem exceptions, the BodyHandler's
    // refusals a status.
    Problem problem = rc.failure() instanceof ProblemException pe ? pe.problem() : null;
    int status = problem != null ? problem.status() : rc.statusCode();
    if ((status == 400 || status == 413 || status == 415) && !rc.response().headWritten()) {
      log.info("token request refused: invalid_request (body: {})", rc.failure() == null ? status : rc.failure().toString());
      rc.response().setStatusCode(status).putHeader("Cache-Control", "no-store").putHeader("Pragma", "no-cache");
      if (problem != null) {
        problem.headers().forEach(rc.response()::putHeader);
      }
      answer(rc, "invalid_request", switch (status) {
        case 413 -> "The body is larger than 16 KiB.";
        case 415 -> problem.detail();
        default -> "The body could not be read as a form.";
      });
    } else {
      problems.handle(rc);
    }
  }

  /**
   * client_secret_basic, on the head alone: wrong credentials are refused (401 invalid_client) before the body is
   * read, so a client waiting for a 100 Continue never sends it (it got the 100, and sent its body for nothing).
   * The client is kept for {@link #token}. Credentials in the body (private_key_jwt) are checked once it is read.
   */
  private void authenticateBasic(RoutingContext rc) {
    rc.response().putHeader("Cache-Control", "no-store").putHeader("Pragma", "no-cache"); // every answer (RFC 6749 5.1)
    String authorization = rc.request().getHeader("Authorization");
    if (authorization == null) {
      rc.next();
      return;
    }
    Future<Client> client;
    try {
      client = basic(authorization, address(rc));
    } catch (OAuthError e) {
      client = Future.failedFuture(e);
    }
    client.onSuccess(c -> {
      rc.put(BASIC_CLIENT, c);
      rc.next();
    }).onFailure(e -> refuse(rc, e));
  }

  private void handle(RoutingContext rc) {
    Future<JsonObject> answer;
    try {
      answer = token(rc);
    } catch (OAuthError e) {
      answer = Future.failedFuture(e);
    }
    answer.onSuccess(json -> rc.response().putHeader("Content-Type", "application/json").end(json.encode()))
        .onFailure(e -> refuse(rc, e));
  }

  /** An RFC 6749 error for an OAuthError; anything else (a bug, the database down) is the failure handler's. */
  private void refuse(RoutingContext rc, Throwable e) {
    if (!(e instanceof OAuthError error)) {
      rc.fail(e);
      return;
    }
    log.info("token request refused: {} ({})", error.error, error.logged == null ? error.getMessage() : error.logged);
    if (error.retryAfter != null) {
      rc.response().putHeader("Retry-After", Integer.toString(error.retryAfter));
    }
    if (error.basic) {
      rc.response().putHeader("WWW-Authenticate", "Basic realm=\"frontline\", charset=\"UTF-8\"");
    }
    rc.response().setStatusCode(error.status);
    answer(rc, error.error, error.getMessage());
  }

  /** The RFC 6749 section 5.2 body; a body left unread is dropped, or the connection closed (RequestBodies). */
  private void answer(RoutingContext rc, String error, String description) {
    rc.response().putHeader("Content-Type", "application/json");
    RequestBodies.endRefusal(rc, new JsonObject().put("error", error).put("error_description", description).encode(),
        requestTimeout);
  }

  private Future<JsonObject> token(RoutingContext rc) throws OAuthError {
    String contentType = rc.request().getHeader("Content-Type");
    if (contentType == null || !contentType.toLowerCase().startsWith("application/x-www-form-urlencoded")) {
      throw OAuthError.request("The body must be application/x-www-form-urlencoded.");
    }
    MultiMap form = rc.request().formAttributes();
    for (String name : PARAMETERS) {
      if (form.getAll(name).size() > 1) {
        throw OAuthError.request("The parameter " + name + " is repeated.");
      }
    }
    String grant = form.get("grant_type");
    if (grant == null || grant.isEmpty()) {
      throw OAuthError.request("grant_type is required.");
    }
    if (!grant.equals("client_credentials")) {
      throw new OAuthError(400, "unsupported_grant_type", "Only client_credentials is supported.", false);
    }
    String authorization = rc.request().getHeader("Authorization");
    String assertion = form.get("client_assertion");
    Future<Client> client;
    if (authorization != null && assertion != null) {
      throw OAuthError.request("Use one client authentication method, not both.");
    } else if (authorization != null) {
      // Authenticated on the head (authenticateBasic); the form's client_id, when sent, must name the same client.
      String clientIdParam = form.get("client_id");
      if (clientIdParam != null && !clientIdParam.equals(credentials(authorization).id())) {
        throw OAuthError.request("client_id differs from the authenticated client.");
      }
      client = Future.succeededFuture(rc.get(BASIC_CLIENT));
    } else if (assertion != null) {
      if (!JWT_BEARER.equals(form.get("client_assertion_type"))) {
        throw OAuthError.request("client_assertion_type must be " + JWT_BEARER + ".");
      }
      client = assertion(assertion, form.get("client_id"), address(rc));
    } else {
      throw OAuthError.client("Client authentication is required (client_secret_basic or private_key_jwt).", true);
    }
    String requested = form.get("scope");
    return client
        .compose(c -> {
          List<String> scopes;
          try {
            scopes = scopes(c, requested);
          } catch (OAuthError e) {
            return Future.failedFuture(e);
          }
          String token = tokens.issueForClient(c.id(), scopes, c.units(), c.reportTypes(), c.credentialId());
          return audit.record(pool, new AuditEvent(null, "partner:" + c.id(), "partner.token.issue", "partner_client",
                  c.id().toString(), null, address(rc), RequestIds.of(rc), AuditEvent.Outcome.SUCCESS,
                  new JsonObject().put("scope", String.join(" ", scopes)).put("authMethod", c.authMethod())
                      .put("credentialId", c.credentialId().toString())))
              .compose(v -> sweepRates())
              .map(v -> new JsonObject()
                  .put("access_token", token)
                  .put("token_type", "Bearer")
                  .put("expires_in", TokenService.ACCESS_TOKEN_TTL.toSeconds())
                  .put("scope", String.join(" ", scopes)));
        });
  }

  /** The requested scopes (RFC 6749 section 3.3), each granted; none requested: every granted one. */
  private static List<String> scopes(Client client, String requested) throws OAuthError {
    if (requested == null || requested.isBlank()) {
      return client.scopes();
    }
    Set<String> asked = new LinkedHashSet<>(Arrays.asList(requested.trim().split(" +")));
    for (String scope : asked) {
      if (!client.scopes().contains(scope)) {
        throw new OAuthError(400, "invalid_scope", "The scope " + scope + " is not granted to this client.", false);
      }
    }
    return List.copyOf(asked);
  }

  /** The id and secret of an Authorization header. */
  private record Credentials(String id, String secret) {}

  /** client_secret_basic: id and secret form-urlencoded, then base64 (RFC 6749 section 2.3.1). */
  private static Credentials credentials(String authorization) throws OAuthError {
    if (!authorization.regionMatches(true, 0, "Basic ", 0, 6)) {
      throw OAuthError.client("Only Basic client authentication is accepted in the Authorization header.", true);
    }
    try {
      String decoded = new String(Base64.getDecoder().decode(authorization.substring(6).trim()), StandardCharsets.UTF_8);
      int colon = decoded.indexOf(':');
      if (colon < 0) {
        throw OAuthError.client("Malformed Basic credentials.", true);
      }
      return new Credentials(URLDecoder.decode(decoded.substring(0, colon), StandardCharsets.UTF_8),
          URLDecoder.decode(decoded.substring(colon + 1), StandardCharsets.UTF_8));
    } catch (IllegalArgumentException e) {
      throw OAuthError.client("Malformed Basic credentials.", true);
    }
  }

  /** The client whose client_secret_basic credentials the Authorization header holds. */
  private Future<Client> basic(String authorization, String address) throws OAuthError {
    Credentials credentials = credentials(authorization);
    UUID clientId = clientId(credentials.id(), true);
    byte[] presented = PartnerClientService.sha256(credentials.secret());
    return client(clientId, PartnerClientService.SECRET_BASIC, true, address)
        .compose(c -> pool.preparedQuery("SELECT id, secret_sha256 FROM partner_credential WHERE client_id = $1 "
                + "AND kind = 'secret' AND removed_at IS NULL AND (expires_at IS NULL OR expires_at > now())")
            .execute(Tuple.of(clientId))
            .compose(rows -> {
              UUID match = null;
              for (Row r : rows) {
                // Every live secret is compared (constant time each): which one matched is not timed.
                boolean equal = MessageDigest.isEqual(r.getBuffer("secret_sha256").getBytes(), presented);
                match = equal ? r.getUUID("id") : match;
              }
              return match != null ? Future.succeededFuture(c.authenticatedWith(match))
                  : Future.failedFuture(OAuthError.client(AUTHENTICATION_FAILED, true));
            }));
  }

  /** private_key_jwt (RFC 7523 sections 2.2 and 3). */
  private Future<Client> assertion(String jwt, String clientIdParam, String address) throws OAuthError {
    String[] parts = jwt.split("\\.", -1);
    if (jwt.length() > 16 * 1024 || parts.length != 3 || !B64URL.matcher(parts[0]).matches()
        || !B64URL.matcher(parts[1]).matches() || !B64URL.matcher(parts[2]).matches()) {
      throw OAuthError.client("The client assertion is not a compact JWS.", false);
    }
    JsonObject header = json(parts[0]);
    JsonObject claims = json(parts[1]);
    Object alg = header.getValue("alg");
    if (!"ES256".equals(alg) && !"RS256".equals(alg)) {
      throw OAuthError.client("The assertion's alg must be ES256 or RS256.", false);
    }
    for (String forbidden : FORBIDDEN_HEADERS) {
      if (header.containsKey(forbidden)) {
        throw OAuthError.client("The assertion header " + forbidden + " is not accepted.", false);
      }
    }
    if (!(header.getValue("kid") instanceof String kid) || !PartnerKeys.KID.matcher(kid).matches()) {
      throw OAuthError.client("The assertion must name its key (kid).", false);
    }
    if (!(claims.getValue("iss") instanceof String iss) || !iss.equals(claims.getValue("sub"))) {
      throw OAuthError.client("The assertion's iss and sub must both be the client id.", false);
    }
    UUID clientId = clientId(iss, false);
    if (clientIdParam != null && !clientIdParam.equals(iss)) {
      throw OAuthError.client("client_id differs from the assertion's issuer.", false);
    }
    if (!audienceOk(claims.getValue("aud"))) {
      throw OAuthError.client("The assertion's aud must be the issuer or the token endpoint, and nothing else.", false);
    }
    long now = clock.instant().getEpochSecond();
    Long exp = numericDate(claims.getValue("exp"));
    if (exp == null) {
      throw OAuthError.client("The assertion must have exp, a time in seconds.", false);
    }
    if (exp + LEEWAY_SECONDS <= now) {
      throw OAuthError.client("The assertion has expired.", false);
    }
    if (exp > now + MAX_ASSERTION_LIFETIME_SECONDS + LEEWAY_SECONDS) {
      throw OAuthError.client("The assertion's exp is more than " + MAX_ASSERTION_LIFETIME_SECONDS
          + " seconds ahead.", false);
    }
    Object nbfClaim = claims.getValue("nbf");
    Long nbf = numericDate(nbfClaim);
    if (nbfClaim != null && (nbf == null || nbf > now + LEEWAY_SECONDS)) {
      throw OAuthError.client("The assertion is not valid yet (nbf).", false);
    }
    // A jti PostgreSQL cannot store as sent (a NUL: the insert failed, a 500; a lone surrogate: stored as '?') is refused.
    if (!(claims.getValue("jti") instanceof String jti) || jti.isEmpty() || jti.length() > 256
        || StorableStrings.unstorable(jti) != null) {
      throw OAuthError.client("The assertion must have a jti (at most 256 characters, no NUL or lone surrogate).", false);
    }
    byte[] signature = decode(parts[2]);
    byte[] input = (parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII);
    long expiresAt = exp + LEEWAY_SECONDS;
    return client(clientId, PartnerClientService.PRIVATE_KEY_JWT, false, address)
        .compose(c -> pool.preparedQuery("SELECT id, alg, jwk FROM partner_credential WHERE client_id = $1 AND kind = 'jwk' "
                + "AND kid = $2 AND removed_at IS NULL AND (expires_at IS NULL OR expires_at > now())")
            .execute(Tuple.of(clientId, kid))
            .compose(rows -> {
              if (rows.size() == 0) {
                return Future.failedFuture(OAuthError.hidden("no registered key has the kid " + kid, false));
              }
              Row key = rows.iterator().next();
              if (!key.getString("alg").equals(alg)) {
                return Future.failedFuture(OAuthError.hidden("the key " + kid + " is pinned to " + key.getString("alg"), false));
              }
              if (!verify((String) alg, key.getJsonObject("jwk"), input, signature)) {
                return Future.failedFuture(OAuthError.hidden("the assertion's signature does not verify", false));
              }
              // The jti is spent only by a valid assertion; the primary key makes exactly one of concurrent uses win.
              return pool.preparedQuery("INSERT INTO partner_assertion_jti (client_id, jti, expires_at) "
                      + "VALUES ($1, $2, to_timestamp($3)) ON CONFLICT DO NOTHING")
                  .execute(Tuple.of(clientId, jti, expiresAt))
                  .compose(inserted -> inserted.rowCount() == 1
                      ? sweepJtis().map(c.authenticatedWith(key.getUUID("id")))
                      : Future.failedFuture(OAuthError.client("The assertion was used before (jti).", false)));
            }));
  }

  /**
   * Forgets spent jtis whose assertions expired {@link #JTI_CLOCK_MARGIN} ago (they could not be replayed anyway). The
   * margin: an assertion's exp is judged by this process's clock, the sweep by the database's; a database clock
   * ahead of ours would otherwise forget a jti while we still accept its assertion, which could then be replayed.
   */
  private Future<Void> sweepJtis() {
    return pool.query("DELETE FROM partner_assertion_jti WHERE ctid = ANY (ARRAY(SELECT ctid FROM partner_assertion_jti "
            + "WHERE expires_at < now() - interval '" + JTI_CLOCK_MARGIN.toSeconds() + " seconds' LIMIT 100))").execute()
        .<Void>mapEmpty().recover(e -> Future.succeededFuture());
  }

  /** How far the database's clock may run ahead of this process's before a spent jti is forgotten too early. */
  static final java.time.Duration JTI_CLOCK_MARGIN = java.time.Duration.ofMinutes(5);

  private boolean audienceOk(Object aud) {
    String issuer = tokens.issuer();
    String base = issuer.endsWith("/") ? issuer.substring(0, issuer.length() - 1) : issuer;
    Set<String> accepted = Set.of(issuer, base + PATH);
    if (aud instanceof String s) {
      return accepted.contains(s);
    }
    if (aud instanceof JsonArray list) {
      // Only as its sole member: an assertion naming another audience too was made for that one as well, which
      // could present it here within its lifetime (its jti not spent here yet). draft-ietf-oauth-rfc7523bis.
      return list.size() == 1 && accepted.contains(list.getValue(0));
    }
    return false;
  }

  private static boolean verify(String alg, JsonObject jwk, byte[] input, byte[] signature) {
    try {
      Signature s = Signature.getInstance(alg.equals("ES256") ? "SHA256withECDSAinP1363Format" : "SHA256withRSA");
      s.initVerify(PartnerKeys.publicKey(jwk));
      s.update(input);
      return (!alg.equals("ES256") || signature.length == 64) && s.verify(signature);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  /**
   * An enabled client using {@code method}; anything else is the same invalid_client. The request is counted
   * first (before any credential is checked), and refused with 429 beyond the limit.
   */
  private Future<Client> client(UUID id, String method, boolean basic, String address) {
    return count(id, address).compose(v -> pool.preparedQuery("SELECT auth_method, scopes, unit_ids, report_types FROM partner_client "
            + "WHERE id = $1 AND disabled_at IS NULL")
        .execute(Tuple.of(id))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.failedFuture(OAuthError.client(AUTHENTICATION_FAILED, basic));
          }
          Row r = rows.iterator().next();
          if (!r.getString("auth_method").equals(method)) {
            return Future.failedFuture(OAuthError.hidden("the client authenticates with " + r.getString("auth_method"), basic));
          }
          return Future.succeededFuture(new Client(id, method, List.of(r.getArrayOfStrings("scopes")),
              List.of(r.getArrayOfUUIDs("unit_ids")), List.of(r.getArrayOfStrings("report_types")), null));
        }));
  }

  /**
   * Counts a token request in its one-minute window, shared by every instance through the database: under the
   * client's key when {@code id} is a registered client (limit: its own rate limit, at most
   * {@link #MAX_TOKEN_REQUESTS_PER_MINUTE}), else under the caller's address (an IPv6 one under its /64: AddressKeys).
   * Someone who knows a client id can spend that client's token budget for the rest of a minute; a client's tokens
   * last 15 minutes.
   */
  private Future<Void> count(UUID id, String address) {
    return pool.preparedQuery("""
            WITH c AS (SELECT id, least(rate_limit_per_minute, $3) AS lim FROM partner_client WHERE id = $1),
                 k AS (SELECT coalesce((SELECT 'client:' || id FROM c), 'address:' || $2) AS key,
                              coalesce((SELECT lim FROM c), $3) AS lim)
            INSERT INTO partner_token_rate (key, window_start, calls)
            SELECT key, date_trunc('minute', now()), 1 FROM k
            ON CONFLICT (key) DO UPDATE SET
              calls = CASE WHEN partner_token_rate.window_start = EXCLUDED.window_start
                           THEN partner_token_rate.calls + 1 ELSE 1 END,
              window_start = EXCLUDED.window_start
            RETURNING calls, (SELECT lim FROM k),
                      greatest(1, ceil(extract(epoch FROM window_start + interval '1 minute' - now())))::int""")
        .execute(Tuple.of(id, address == null ? "unknown" : AddressKeys.of(address), MAX_TOKEN_REQUESTS_PER_MINUTE))
        .compose(rows -> {
          Row r = rows.iterator().next();
          return r.getInteger(0) <= r.getInteger(1) ? Future.succeededFuture()
              : Future.failedFuture(OAuthError.tooMany(r.getInteger(2)));
        });
  }

  /** Forgets the counts of past windows (a few at a time; they would be reset on their key's next use anyway). */
  private Future<Void> sweepRates() {
    return pool.query("DELETE FROM partner_token_rate WHERE key = ANY (ARRAY(SELECT key FROM partner_token_rate "
            + "WHERE window_start < date_trunc('minute', now()) LIMIT 100)) "
            // Re-checked: a request may have started this minute's count on the row meanwhile.
            + "AND window_start < date_trunc('minute', now())").execute()
        .<Void>mapEmpty().recover(e -> Future.succeededFuture());
  }

  private static UUID clientId(String id, boolean basic) throws OAuthError {
    try {
      return UUID.fromString(id);
    } catch (IllegalArgumentException e) {
      throw OAuthError.client(AUTHENTICATION_FAILED, basic);
    }
  }

  /**
   * A NumericDate claim in whole seconds; null when it is not a number or lies beyond a long: Number.longValue()
   * keeps the low 64 bits of a larger integer, so an exp of 2^64 + now (eons ahead) or now - 2^64 (eons ago) was
   * read as now and accepted. Beyond a long there is no time an assertion may name. A double saturates.
   */
  private static Long numericDate(Object claim) {
    if (!(claim instanceof Number n) || n instanceof BigInteger big && big.bitLength() > 63) {
      return null;
    }
    return n.longValue();
  }

  private static JsonObject json(String part) throws OAuthError {
    try {
      return new JsonObject(new String(DEC.decode(part), StandardCharsets.UTF_8));
    } catch (RuntimeException e) {
      throw OAuthError.client("The client assertion is not a JWT.", false);
    }
  }

  private static byte[] decode(String part) throws OAuthError {
    try {
      return DEC.decode(part);
    } catch (IllegalArgumentException e) {
      throw OAuthError.client("The client assertion is not a JWT.", false);
    }
  }

  private static String address(RoutingContext rc) {
    return rc.request().remoteAddress() == null ? null : rc.request().remoteAddress().hostAddress();
  }

}
