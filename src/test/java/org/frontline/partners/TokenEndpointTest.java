package org.frontline.partners;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.Payload;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.ExpectContinue;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.partners.Partners.assertion;
import static org.frontline.partners.Partners.claims;
import static org.frontline.partners.Partners.claimsOf;
import static org.frontline.partners.Partners.ecKey;
import static org.frontline.partners.Partners.headerOf;
import static org.frontline.partners.Partners.keyClient;
import static org.frontline.partners.Partners.oauthError;
import static org.frontline.partners.Partners.ok;
import static org.frontline.partners.Partners.rsaKey;
import static org.frontline.partners.Partners.secretClient;
import static org.frontline.partners.Partners.sign;
import static org.frontline.partners.Partners.tokenWithAssertion;
import static org.frontline.partners.Partners.tokenWithSecret;
import static org.frontline.testing.TestEnvironment.await;

/** POST /oauth2/token: client credentials with client_secret_basic and private_key_jwt, and every rejection. */
@FrontlineTest
class TokenEndpointTest {
  private static final List<String> SCOPES = List.of("reports:read", "events:read");

  @Test
  void aSecretClientGetsAnAccessTokenCarryingItsGrant(TestEnvironment env) {
    JsonObject client = secretClient(env, SCOPES, List.of(TONGZHOU), List.of("SITE", "ENTERPRISE_SERVICE"));
    String id = client.getString("id");
    HttpResponse<Buffer> r = tokenWithSecret(env, id, client.getString("clientSecret"), null);
    JsonObject body = ok(r, 200);
    assertThat(r.getHeader("Cache-Control")).isEqualTo("no-store");
    assertThat(body.fieldNames()).containsExactlyInAnyOrder("access_token", "token_type", "expires_in", "scope");
    assertThat(body.getString("token_type")).isEqualTo("Bearer");
    assertThat(body.getInteger("expires_in")).isEqualTo(900);
    assertThat(body.getString("scope")).isEqualTo("reports:read events:read");
    String token = body.getString("access_token");
    assertThat(headerOf(token).getString("alg")).isEqualTo("ES256");
    assertThat(headerOf(token).getString("typ")).isEqualTo("at+jwt");
    JsonObject claims = claimsOf(token);
    assertThat(claims.getString("sub")).isEqualTo(id);
    assertThat(claims.getString("client_id")).isEqualTo(id);
    assertThat(claims.getString("iss")).isEqualTo(Partners.issuer(env));
    assertThat(claims.getString("scope")).isEqualTo("reports:read events:read");
    assertThat(claims.getJsonArray("frontline_units")).containsExactly(TONGZHOU.toString());
    assertThat(claims.getJsonArray("frontline_report_types")).containsExactly("SITE", "ENTERPRISE_SERVICE");
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'partner.token.issue' AND object_id = ?", id))
        .isEqualTo(1);

    // A requested subset is what the token carries.
    JsonObject narrow = ok(tokenWithSecret(env, id, client.getString("clientSecret"), "events:read"), 200);
    assertThat(narrow.getString("scope")).isEqualTo("events:read");
    assertThat(claimsOf(narrow.getString("access_token")).getString("scope")).isEqualTo("events:read");
    // The API accepts the token, and holds it to its scope: events yes, reports (not requested) no.
    ok(Partners.call(env, narrow.getString("access_token"), HttpMethod.GET, "/v1/events", null), 200);
    assertThat(Partners.call(env, narrow.getString("access_token"), HttpMethod.GET, "/v1/partner/reports", null)
        .statusCode()).isEqualTo(403);
    ok(Partners.call(env, token, HttpMethod.GET, "/v1/partner/reports", null), 200);
  }

  @Test
  void secretRejectionsCarryTheirRfc6749Codes(TestEnvironment env) {
    JsonObject client = secretClient(env, List.of("events:read"), List.of(TONGZHOU), List.of("SITE"));
    String id = client.getString("id");
    String secret = client.getString("clientSecret");

    HttpResponse<Buffer> bad = tokenWithSecret(env, id, secret + "x", null);
    oauthError(bad, 401, "invalid_client");
    assertThat(bad.getHeader("WWW-Authenticate")).startsWith("Basic realm=");
    oauthError(tokenWithSecret(env, UUID.randomUUID().toString(), secret, null), 401, "invalid_client");
    oauthError(tokenWithSecret(env, "not-a-uuid", secret, null), 401, "invalid_client");
    HttpResponse<Buffer> none = await(env.client().post("/oauth2/token")
        .sendForm(MultiMap.caseInsensitiveMultiMap().add("grant_type", "client_credentials")));
    oauthError(none, 401, "invalid_client");
    assertThat(none.getHeader("WWW-Authenticate")).startsWith("Basic");

    oauthError(tokenWithSecret(env, id, secret, Map.of("grant_type", "password"), null), 400, "unsupported_grant_type");
    oauthError(tokenWithSecret(env, id, secret, Map.of("grant_type", "authorization_code"), null), 400,
        "unsupported_grant_type");
    oauthError(tokenWithSecret(env, id, secret, Map.of(), null), 400, "invalid_request");
    oauthError(tokenWithSecret(env, id, secret, "reports:read"), 400, "invalid_scope");
    oauthError(tokenWithSecret(env, id, secret, "events:read figures:write"), 400, "invalid_scope");
    // A JSON body is not a token request.
    oauthError(await(env.client().post("/oauth2/token").putHeader("Authorization", Partners.basic(id, secret))
        .sendJsonObject(new JsonObject().put("grant_type", "client_credentials"))), 400, "invalid_request");
    // A repeated parameter (RFC 6749 section 3.2).
    oauthError(await(env.client().post("/oauth2/token").putHeader("Authorization", Partners.basic(id, secret))
        .sendForm(MultiMap.caseInsensitiveMultiMap().add("grant_type", "client_credentials")
            .add("grant_type", "client_credentials"))), 400, "invalid_request");

    // A disabled client gets no token.
    ok(Partners.call(env, Partners.login(env, "admin"), HttpMethod.POST, "/v1/partner-clients/" + id + "/disable", null), 200);
    oauthError(tokenWithSecret(env, id, secret, null), 401, "invalid_client");
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'partner.token.issue' AND object_id = ?", id))
        .isZero();
  }

  @Test
  void ecAndRsaKeyClientsGetTokensWithSignedAssertions(TestEnvironment env) throws Exception {
    ECKey ec = ecKey("ec-2026");
    RSAKey rsa = rsaKey("rsa-2026", 2048);
    String id = keyClient(env, SCOPES, List.of(TONGZHOU), List.of("SITE"), ec, rsa).getString("id");
    JsonObject byEc = ok(tokenWithAssertion(env, assertion(env, ec, id), "events:read"), 200);
    assertThat(claimsOf(byEc.getString("access_token")).getString("sub")).isEqualTo(id);
    assertThat(byEc.getString("scope")).isEqualTo("events:read");
    JsonObject byRsa = ok(tokenWithAssertion(env, assertion(env, rsa, id), null), 200);
    assertThat(byRsa.getString("scope")).isEqualTo("reports:read events:read");
    // Both tokens are accepted by the API.
    for (JsonObject t : List.of(byEc, byRsa)) {
      ok(Partners.call(env, t.getString("access_token"), HttpMethod.GET, "/v1/events", null), 200);
    }
    // aud may also be the issuer itself, as a one-element array.
    ok(tokenWithAssertion(env, sign(ec, claims(env, id).audience(List.of(Partners.issuer(env))).build()), null), 200);
  }

  @Test
  void assertionRejectionsAreInvalidClient(TestEnvironment env) throws Exception {
    ECKey ec = ecKey("ec-main");
    RSAKey rsa = rsaKey("rsa-main", 2048);
    String id = keyClient(env, List.of("events:read"), List.of(TONGZHOU), List.of("SITE"), ec, rsa).getString("id");
    Instant now = Instant.now();
    List<String> refused = new ArrayList<>();
    // Signed by a key never registered, under a registered kid and under an unknown one.
    refused.add(sign(ecKey("ec-main"), claims(env, id).build()));
    refused.add(sign(ecKey("ec-unknown"), claims(env, id).build()));
    // Wrong audience; expired; exp too far ahead; no exp; no jti; iss is not sub.
    refused.add(sign(ec, claims(env, id).audience("https://elsewhere.example/oauth2/token").build()));
    // This server among other audiences: an assertion made for them too, which any of them could present here.
    refused.add(sign(ec, claims(env, id).audience(List.of(Partners.issuer(env), "https://elsewhere.example/oauth2/token"))
        .build()));
    refused.add(sign(ec, claims(env, id).audience(List.of("https://elsewhere.example", Partners.issuer(env))).build()));
    refused.add(sign(ec, claims(env, id).issueTime(Date.from(now.minusSeconds(600)))
        .expirationTime(Date.from(now.minusSeconds(120))).build()));
    refused.add(sign(ec, claims(env, id).expirationTime(Date.from(now.plusSeconds(3600))).build()));
    refused.add(sign(ec, claims(env, id).expirationTime(null).build()));
    // exp or nbf beyond a long whose low 64 bits are a valid time (read as that time, they were accepted).
    BigInteger wrap = BigInteger.ONE.shiftLeft(64);
    BigInteger soon = BigInteger.valueOf(now.getEpochSecond() + 60);
    refused.add(sign(ec, claims(env, id).claim("exp", soon.add(wrap)).build()));
    refused.add(sign(ec, claims(env, id).claim("exp", soon.subtract(wrap)).build()));
    refused.add(sign(ec, claims(env, id).claim("nbf", BigInteger.valueOf(now.getEpochSecond() - 10).add(wrap)).build()));
    refused.add(sign(ec, claims(env, id).jwtID(null).build()));
    refused.add(sign(ec, claims(env, id).subject(UUID.randomUUID().toString()).build()));
    // alg none; HS256 with the public key's bytes as the secret; the RSA key used with an ES256 header.
    refused.add(new PlainJWT(claims(env, id).build()).serialize());
    SignedJWT hs = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID("ec-main").build(), claims(env, id).build());
    hs.sign(new MACSigner(ec.toPublicJWK().toJSONString().getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    refused.add(hs.serialize());
    SignedJWT rsaAsEs = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("ec-main").build(),
        claims(env, id).build());
    rsaAsEs.sign(new RSASSASigner(rsa));
    refused.add(rsaAsEs.serialize());
    refused.add("not.a.jwt");
    for (String assertion : refused) {
      oauthError(tokenWithAssertion(env, assertion, null), 401, "invalid_client");
    }
    assertThat(env.count("SELECT count(*) FROM partner_assertion_jti WHERE client_id = ?::uuid", id)).isZero();
    // A secret for a key client is refused too.
    oauthError(tokenWithSecret(env, id, "anything", null), 401, "invalid_client");
    // Scope not granted.
    oauthError(tokenWithAssertion(env, assertion(env, ec, id), "reports:read"), 400, "invalid_scope");
    // Wrong assertion type.
    oauthError(await(env.client().post("/oauth2/token").sendForm(MultiMap.caseInsensitiveMultiMap()
        .add("grant_type", "client_credentials").add("client_assertion_type", "urn:example:other")
        .add("client_assertion", assertion(env, ec, id)))), 400, "invalid_request");
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'partner.token.issue' AND object_id = ?", id))
        .isZero();
  }

  @Test
  void failuresDoNotTellARegisteredClientOrItsMethodFromAnUnknownOne(TestEnvironment env) throws Exception {
    ECKey ec = ecKey("probe");
    String keyId = keyClient(env, List.of("events:read"), List.of(TONGZHOU), List.of("SITE"), ec).getString("id");
    String secretId = secretClient(env, List.of("events:read"), List.of(TONGZHOU), List.of("SITE")).getString("id");
    String unknown = UUID.randomUUID().toString();
    // Basic: a key client (wrong method) and an unknown client.
    String wrongMethod = oauthError(tokenWithSecret(env, keyId, "guess", null), 401, "invalid_client")
        .getString("error_description");
    String unknownClient = oauthError(tokenWithSecret(env, unknown, "guess", null), 401, "invalid_client")
        .getString("error_description");
    assertThat(wrongMethod).isEqualTo(unknownClient).doesNotContain("private_key_jwt");
    // Assertions: for a secret client (wrong method), an unknown client, an unregistered kid and a wrong signature.
    List<String> descriptions = new ArrayList<>();
    for (String assertion : List.of(assertion(env, ec, secretId), assertion(env, ec, unknown),
        assertion(env, ecKey("unregistered"), keyId), sign(ecKey("probe"), claims(env, keyId).build()))) {
      descriptions.add(oauthError(tokenWithAssertion(env, assertion, null), 401, "invalid_client")
          .getString("error_description"));
    }
    assertThat(descriptions).containsOnly(unknownClient);
  }

  @Test
  void tokenRequestsBeyondTheClientsLimitAre429WithRetryAfter(TestEnvironment env) {
    JsonObject limited = ok(Partners.call(env, Partners.login(env, "admin"), HttpMethod.POST, "/v1/partner-clients",
        Partners.newClient("Limited", "client_secret_basic", List.of("events:read"), List.of(TONGZHOU), List.of("SITE"))
            .put("rateLimitPerMinute", 2)), 201);
    JsonObject other = secretClient(env, List.of("events:read"), List.of(TONGZHOU), List.of("SITE"));
    String id = limited.getString("id");
    String secret = limited.getString("clientSecret");
    // A failed attempt counts like a success; should a minute boundary fall between them, the round runs again once.
    List<Integer> statuses = new ArrayList<>();
    HttpResponse<Buffer> third = null;
    int issued = 0;
    for (int round = 0; round < 2 && !statuses.equals(List.of(401, 200, 429)); round++) {
      statuses.clear();
      statuses.add(tokenWithSecret(env, id, secret + "x", null).statusCode());
      statuses.add(tokenWithSecret(env, id, secret, null).statusCode());
      third = tokenWithSecret(env, id, secret, null);
      statuses.add(third.statusCode());
      issued += (int) statuses.stream().filter(st -> st == 200).count();
      if (!statuses.equals(List.of(401, 200, 429))) {
        try (var c = env.jdbc(); var st = c.createStatement()) {
          st.executeUpdate("DELETE FROM partner_token_rate");
        } catch (java.sql.SQLException e) {
          throw new IllegalStateException(e);
        }
      }
    }
    assertThat(statuses).containsExactly(401, 200, 429);
    JsonObject body = oauthError(third, 429, "invalid_request");
    int retryAfter = Integer.parseInt(third.getHeader("Retry-After"));
    assertThat(retryAfter).isBetween(1, 60);
    assertThat(body.getString("error_description")).isEqualTo("too many token requests; retry after " + retryAfter + " s");
    assertThat(third.getHeader("WWW-Authenticate")).isNull();
    // Counted per client: another client still gets its token; the refused request issued none.
    ok(tokenWithSecret(env, other.getString("id"), other.getString("clientSecret"), null), 200);
    assertThat(env.count("SELECT count(*) FROM partner_token_rate WHERE key = ?", "client:" + id)).isEqualTo(1);
    assertThat(env.count("SELECT calls FROM partner_token_rate WHERE key = ?", "client:" + id)).isEqualTo(3);
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'partner.token.issue' AND object_id = ?", id))
        .isEqualTo(issued);
    // A request naming no registered client is counted under its address.
    oauthError(tokenWithSecret(env, UUID.randomUUID().toString(), "guess", null), 401, "invalid_client");
    assertThat(env.count("SELECT count(*) FROM partner_token_rate WHERE key LIKE 'address:%'")).isEqualTo(1);
  }

  /**
   * Counters of past minutes were swept only after an issued token: requests naming unregistered ids from ever new
   * addresses grew the table while no token was issued. Retention deletes them; this minute's counters stay.
   */
  @Test
  void tokenCountersOfPastMinutesAreSweptByRetention(TestEnvironment env) throws Exception {
    try (var c = env.jdbc(); var st = c.createStatement()) {
      st.executeUpdate("INSERT INTO partner_token_rate (key, window_start, calls) SELECT 'address:2001:db8::' || g,"
          + " date_trunc('minute', now()) - interval '5 minutes', 1 FROM generate_series(1, 2500) g");
    }
    oauthError(tokenWithSecret(env, UUID.randomUUID().toString(), "guess", null), 401, "invalid_client");
    long current = env.count("SELECT count(*) FROM partner_token_rate WHERE window_start = date_trunc('minute', now())");
    io.vertx.core.Future<org.frontline.notify.Retention.Swept> one = env.app().retention().sweep();
    io.vertx.core.Future<org.frontline.notify.Retention.Swept> two = env.app().retention().sweep();
    await(io.vertx.core.Future.join(one, two));
    assertThat(one.succeeded()).as(String.valueOf(one.cause())).isTrue();
    assertThat(two.succeeded()).as(String.valueOf(two.cause())).isTrue();
    assertThat(one.result().tokenRates() + two.result().tokenRates()).isGreaterThanOrEqualTo(2500);
    assertThat(env.count("SELECT count(*) FROM partner_token_rate WHERE key LIKE 'address:2001:db8::%'")).isZero();
    // This minute's counters stay (unless the minute turned meanwhile: then they are past too).
    assertThat(env.count("SELECT count(*) FROM partner_token_rate WHERE window_start = date_trunc('minute', now())"))
        .isBetween(0L, current);
    assertThat(env.count("SELECT count(*) FROM partner_token_rate WHERE window_start < date_trunc('minute', now())"))
        .isZero();
  }

  @Test
  void aJtiWorksOnceEvenWhenReplayedConcurrently(TestEnvironment env) throws Exception {
    ECKey ec = ecKey("replay");
    String id = keyClient(env, List.of("events:read"), List.of(TONGZHOU), List.of("SITE"), ec).getString("id");
    String once = assertion(env, ec, id);
    ok(tokenWithAssertion(env, once, null), 200);
    oauthError(tokenWithAssertion(env, once, null), 401, "invalid_client");

    String raced = assertion(env, ec, id);
    List<io.vertx.core.Future<HttpResponse<Buffer>>> sent = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      sent.add(env.client().post("/oauth2/token").sendForm(MultiMap.caseInsensitiveMultiMap()
          .add("grant_type", "client_credentials").add("client_assertion_type", Partners.JWT_BEARER)
          .add("client_assertion", raced)));
    }
    await(io.vertx.core.Future.join(sent));
    List<Integer> statuses = sent.stream().map(f -> f.result().statusCode()).toList();
    assertThat(statuses.stream().filter(s -> s == 200)).hasSize(1);
    assertThat(statuses.stream().filter(s -> s == 401)).hasSize(7);
    assertThat(env.count("SELECT count(*) FROM partner_assertion_jti WHERE client_id = ?::uuid", id)).isEqualTo(2);
  }

  /**
   * A spent jti is forgotten only 5 minutes after its assertion expired by the database's clock: the assertion's exp
   * is judged by the service's clock, so a database clock running ahead would have let an assertion the service
   * still accepts be replayed once its jti was swept.
   */
  @Test
  void aSpentJtiIsSweptOnlyWellAfterItsExpiry(TestEnvironment env) throws Exception {
    ECKey ec = ecKey("sweep-margin");
    String id = keyClient(env, List.of("events:read"), List.of(TONGZHOU), List.of("SITE"), ec).getString("id");
    try (java.sql.Connection c = env.jdbc(); java.sql.PreparedStatement ps = c.prepareStatement("INSERT INTO"
        + " partner_assertion_jti (client_id, jti, expires_at) VALUES (?::uuid, 'just-expired', now() - interval"
        + " '1 minute'), (?::uuid, 'long-expired', now() - interval '6 minutes')")) {
      ps.setString(1, id);
      ps.setString(2, id);
      ps.executeUpdate();
    }

    ok(tokenWithAssertion(env, assertion(env, ec, id), null), 200); // spends a jti, then sweeps

    assertThat(env.count("SELECT count(*) FROM partner_assertion_jti WHERE client_id = ?::uuid AND jti ="
        + " 'just-expired'", id)).isEqualTo(1);
    assertThat(env.count("SELECT count(*) FROM partner_assertion_jti WHERE client_id = ?::uuid AND jti ="
        + " 'long-expired'", id)).isZero();
  }

  /** A jti with a NUL failed the insert into partner_assertion_jti: a 500 (an unpaired surrogate was stored as '?'). */
  @Test
  void aJtiThatCannotBeStoredIsInvalidClient(TestEnvironment env) throws Exception {
    ECKey ec = ecKey("unstorable");
    String id = keyClient(env, List.of("events:read"), List.of(TONGZHOU), List.of("SITE"), ec).getString("id");
    // Written as JSON escapes (Nimbus would encode a lone surrogate as '?' itself), then signed.
    for (String escaped : List.of("a\\u0000b", "a\\ud800b")) {
      JWSObject jws = new JWSObject(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(ec.getKeyID()).build(),
          new Payload(claims(env, id).jwtID("JTI").build().toString().replace("\"JTI\"", "\"" + escaped + "\"")));
      jws.sign(new ECDSASigner(ec));
      oauthError(tokenWithAssertion(env, jws.serialize(), null), 401, "invalid_client");
    }
    assertThat(env.count("SELECT count(*) FROM partner_assertion_jti WHERE client_id = ?::uuid", id)).isZero();
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'partner.token.issue' AND object_id = ?", id))
        .isZero();
    ok(tokenWithAssertion(env, assertion(env, ec, id), null), 200);
  }

  /**
   * A body over the endpoint's limit (16 KiB), or a form parameter over the server's form attribute size (8 KiB),
   * was refused by the body handler with a problem (application/problem+json), not the RFC 6749 error the contract
   * declares (413 was not declared at all).
   */
  @Test
  void aBodyTooLargeOrUnreadableIsInvalidRequest(TestEnvironment env) {
    JsonObject client = secretClient(env, List.of("events:read"), List.of(TONGZHOU), List.of("SITE"));
    String id = client.getString("id");
    Map<String, String> many = new java.util.HashMap<>(Map.of("grant_type", "client_credentials"));
    for (int i = 0; i < 40; i++) {
      many.put("p" + i, "a".repeat(500));
    }
    oauthError(tokenWithSecret(env, id, client.getString("clientSecret"), many, null), 413, "invalid_request");
    oauthError(tokenWithSecret(env, id, client.getString("clientSecret"),
        Map.of("grant_type", "client_credentials", "padding", "a".repeat(10 * 1024)), null), 400, "invalid_request");
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'partner.token.issue' AND object_id = ?", id))
        .isZero();
    ok(tokenWithSecret(env, id, client.getString("clientSecret"), null), 200);
  }

  /**
   * A form with a Content-Encoding other than identity is 415 invalid_request with Accept-Encoding: identity, before
   * its body is read, as on every other route: the endpoint did not look at the header, so a gzipped form was read
   * as the form itself (no grant_type: 400) and a form labelled gzip but sent plain got its token.
   */
  @Test
  void aContentCodedFormIs415AndIssuesNoToken(TestEnvironment env) throws Exception {
    JsonObject client = secretClient(env, List.of("events:read"), List.of(TONGZHOU), List.of("SITE"));
    String id = client.getString("id");
    String authorization = Partners.basic(id, client.getString("clientSecret"));
    ECKey ec = ecKey("coded");
    String keyId = keyClient(env, List.of("events:read"), List.of(TONGZHOU), List.of("SITE"), ec).getString("id");
    byte[] form = "grant_type=client_credentials".getBytes(StandardCharsets.US_ASCII);
    byte[] assertionForm = ("grant_type=client_credentials&client_assertion_type="
        + java.net.URLEncoder.encode(TokenEndpoint.JWT_BEARER, StandardCharsets.UTF_8) + "&client_assertion="
        + assertion(env, ec, keyId)).getBytes(StandardCharsets.US_ASCII);
    var gzipped = new java.io.ByteArrayOutputStream();
    try (var gzip = new java.util.zip.GZIPOutputStream(gzipped)) {
      gzip.write(form);
    }
    // Basic with a gzipped form and with a plain one labelled gzip; private_key_jwt labelled gzip (its jti unspent).
    for (var request : List.of(Map.entry(gzipped.toByteArray(), authorization), Map.entry(form, authorization),
        Map.entry(assertionForm, ""))) {
      var post = env.client().post("/oauth2/token").putHeader("Content-Type", "application/x-www-form-urlencoded")
          .putHeader("Content-Encoding", "gzip");
      if (!request.getValue().isEmpty()) {
        post.putHeader("Authorization", request.getValue());
      }
      HttpResponse<Buffer> r = await(post.sendBuffer(Buffer.buffer(request.getKey())));
      oauthError(r, 415, "invalid_request");
      assertThat(r.getHeader("Accept-Encoding")).isEqualTo("identity");
    }
    // Refused on the head: a client waiting for a 100 Continue gets the 415 without it, its form unsent.
    ExpectContinue.Exchange refused = ExpectContinue.send(env.app().config().http().port(),
        "POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            + "Content-Encoding: gzip\r\nAuthorization: " + authorization + "\r\nContent-Length: " + form.length
            + "\r\n\r\n", form, Duration.ofSeconds(5));
    assertThat(refused.continued()).as(refused.answer()).isFalse();
    assertThat(refused.status()).as(refused.answer()).isEqualTo(415);
    assertThat(refused.answer()).contains("\"error\":\"invalid_request\"")
        .containsIgnoringCase("\r\nAccept-Encoding: identity\r\n");

    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'partner.token.issue' AND object_id IN (?, ?)",
        id, keyId)).isZero();
    assertThat(env.count("SELECT count(*) FROM partner_assertion_jti WHERE client_id = ?::uuid", keyId)).isZero();
    // Sent without a coding (identity named or not), the same forms get their tokens.
    ok(await(env.client().post("/oauth2/token").putHeader("Authorization", authorization)
        .putHeader("Content-Type", "application/x-www-form-urlencoded").putHeader("Content-Encoding", "identity")
        .sendBuffer(Buffer.buffer(form))), 200);
    ok(await(env.client().post("/oauth2/token").putHeader("Content-Type", "application/x-www-form-urlencoded")
        .sendBuffer(Buffer.buffer(assertionForm))), 200);
  }

  /**
   * A client authenticating with Basic and sending Expect: 100-continue gets its 100 only once its credentials are
   * good: with wrong ones the 401 invalid_client comes without a 100, the form never asked for, and the connection
   * is closed (the 100 came first, and the body was sent for nothing). Good credentials: 100, then the token.
   * Credentials in the form (private_key_jwt) need the body: 100 first, then the token.
   */
  @Test
  void expectContinueIsAnsweredOnlyOnceBasicCredentialsAreGood(TestEnvironment env) throws Exception {
    JsonObject client = secretClient(env, List.of("events:read"), List.of(TONGZHOU), List.of("SITE"));
    String id = client.getString("id");
    int port = env.app().config().http().port();
    byte[] form = "grant_type=client_credentials".getBytes(StandardCharsets.US_ASCII);
    String head = "POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        + "Content-Length: " + form.length + "\r\n";

    for (String authorization : List.of(Partners.basic(id, client.getString("clientSecret") + "x"),
        Partners.basic(UUID.randomUUID().toString(), "guess"), "Bearer " + id)) {
      ExpectContinue.Exchange refused = ExpectContinue.send(port, head + "Authorization: " + authorization
          + "\r\n\r\n", form, Duration.ofSeconds(5));
      assertThat(refused.continued()).as(refused.answer()).isFalse();
      assertThat(refused.status()).as(refused.answer()).isEqualTo(401);
      assertThat(refused.answer()).contains("\"error\":\"invalid_client\"")
          .containsIgnoringCase("\r\nWWW-Authenticate: Basic realm=")
          .containsIgnoringCase("\r\nCache-Control: no-store");
      assertThat(refused.closed()).as("closed").isTrue();
    }
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'partner.token.issue' AND object_id = ?", id))
        .isZero();

    ExpectContinue.Exchange ok = ExpectContinue.send(port, head + "Authorization: "
        + Partners.basic(id, client.getString("clientSecret")) + "\r\n\r\n", form, Duration.ofMillis(300));
    assertThat(ok.answer()).startsWith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 ").contains("\"access_token\"");
    assertThat(ok.closed()).isFalse();
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'partner.token.issue' AND object_id = ?", id))
        .isEqualTo(1);

    ECKey ec = ecKey("expect");
    String keyId = keyClient(env, List.of("events:read"), List.of(TONGZHOU), List.of("SITE"), ec).getString("id");
    byte[] assertionForm = ("grant_type=client_credentials&client_assertion_type="
        + java.net.URLEncoder.encode(TokenEndpoint.JWT_BEARER, StandardCharsets.UTF_8) + "&client_assertion="
        + assertion(env, ec, keyId)).getBytes(StandardCharsets.US_ASCII);
    ExpectContinue.Exchange jwt = ExpectContinue.send(port, "POST /oauth2/token HTTP/1.1\r\nHost: x\r\n"
        + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " + assertionForm.length + "\r\n\r\n",
        assertionForm, Duration.ofMillis(300));
    assertThat(jwt.answer()).startsWith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 ").contains("\"access_token\"");
  }

  /**
   * A chunked form streamed on past the 16 KiB limit gets its 413 invalid_request, and the rest is read for at most
   * the request timeout (1 s here), then the connection is closed: the endpoint answers that 413 itself, and vertx
   * went on reading and dropping the rest for as long as the client streamed (a chunked body has no end), though no
   * credentials were checked.
   */
  @Test
  void aChunkedFormStreamedOnPastItsLimitIsCutOffAfterThe413(TestEnvironment env) throws Exception {
    org.frontline.Frontline instance = withOneSecondRequestTimeout(env);
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", instance.config().http().port())) {
      socket.setSoTimeout(50);
      socket.getOutputStream().write(("POST /oauth2/token HTTP/1.1\r\nHost: x\r\n"
          + "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      byte[] chunk = ("1000\r\nf=" + "a".repeat(0x1000 - 3) + "&\r\n").getBytes(StandardCharsets.US_ASCII);
      var answer = new java.io.ByteArrayOutputStream();
      boolean closed = false;
      long t0 = System.nanoTime();
      while (!closed && System.nanoTime() - t0 < java.util.concurrent.TimeUnit.SECONDS.toNanos(10)) {
        try {
          socket.getOutputStream().write(chunk);
        } catch (java.io.IOException refused) {
          closed = true; // the server closed (a reset)
        }
        try {
          byte[] buffer = new byte[4096];
          for (int n; !closed && (n = socket.getInputStream().read(buffer)) != 0; ) {
            if (n == -1) {
              closed = true;
            } else {
              answer.write(buffer, 0, n);
            }
          }
        } catch (java.net.SocketTimeoutException stillOpen) {
          // nothing (more) to read yet: send the next chunk
        } catch (java.io.IOException reset) {
          closed = true;
        }
      }
      assertThat(answer.toString(StandardCharsets.US_ASCII)).startsWith("HTTP/1.1 413 ")
          .contains("\"error\":\"invalid_request\"");
      assertThat(closed).as("closed within 10 s").isTrue();
    } finally {
      instance.stop().get(30, java.util.concurrent.TimeUnit.SECONDS);
    }
  }

  /**
   * A form trickled in a byte at a time gets the 503 timeout problem once the request timeout has passed, and the
   * connection is closed: the endpoint's route comes before the root handlers, so no request timeout applied to it,
   * and a client (no credentials needed) held the connection for as long as it trickled.
   */
  @Test
  void aFormTrickledPastTheRequestTimeoutGetsA503AndTheConnectionEnds(TestEnvironment env) throws Exception {
    org.frontline.Frontline instance = withOneSecondRequestTimeout(env);
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", instance.config().http().port())) {
      socket.setSoTimeout(200);
      socket.getOutputStream().write(("POST /oauth2/token HTTP/1.1\r\nHost: x\r\n"
          + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      var answer = new java.io.ByteArrayOutputStream();
      boolean closed = false;
      long t0 = System.nanoTime();
      while (!closed && System.nanoTime() - t0 < java.util.concurrent.TimeUnit.SECONDS.toNanos(10)) {
        try {
          if (answer.size() == 0) {
            socket.getOutputStream().write('a'); // trickle on until the answer starts, then only read it whole
          }
          int n = socket.getInputStream().read();
          if (n == -1) {
            closed = true;
          } else {
            answer.write(n);
          }
        } catch (java.net.SocketTimeoutException stillOpen) {
          // nothing to read yet: send the next byte
        } catch (java.io.IOException reset) {
          closed = true;
        }
      }
      assertThat(answer.toString(StandardCharsets.US_ASCII)).startsWith("HTTP/1.1 503 ")
          .contains("urn:frontline:problem:timeout");
      assertThat(closed).as("closed within 10 s").isTrue();
    } finally {
      instance.stop().get(30, java.util.concurrent.TimeUnit.SECONDS);
    }
  }

  /** A second instance of the service (API only) whose request timeout is 1 s; the caller stops it. */
  private static org.frontline.Frontline withOneSecondRequestTimeout(TestEnvironment env) throws Exception {
    return env.startApiInstance(Map.of("FRONTLINE_REQUEST_TIMEOUT_SECONDS", "1"));
  }

  @Test
  void anotherMethodThanPostIsA405NamingPost(TestEnvironment env) {
    // The endpoint exists: "no resource at /oauth2/token" (404) misled a client that sent GET.
    for (HttpMethod method : List.of(HttpMethod.GET, HttpMethod.PUT, HttpMethod.DELETE)) {
      HttpResponse<Buffer> r = await(env.client().request(method, "/oauth2/token").send());
      org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem(r, 405,
          "urn:frontline:problem:method-not-allowed");
      assertThat(r.getHeader("Allow")).as(method.name()).isEqualTo("POST");
    }
  }
}
