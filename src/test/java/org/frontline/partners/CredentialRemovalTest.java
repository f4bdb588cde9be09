package org.frontline.partners;

import com.nimbusds.jose.jwk.ECKey;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import org.frontline.Frontline;
import org.frontline.identity.TokenService;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.partners.Partners.call;
import static org.frontline.partners.Partners.claimsOf;
import static org.frontline.partners.Partners.login;
import static org.frontline.partners.Partners.ok;
import static org.frontline.partners.Partners.secretClient;
import static org.frontline.partners.Partners.tokenWithSecret;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.testing.ApiInstances.awaitTrue;
import static org.frontline.testing.ApiInstances.clientOf;
import static org.frontline.testing.ApiInstances.gauge;
import static org.frontline.testing.ApiInstances.metricsOf;
import static org.frontline.testing.ApiInstances.terminateListener;
import static org.frontline.testing.ApiInstances.unannounced;
import static org.frontline.testing.TestEnvironment.await;

/**
 * Removing a partner credential ends the access tokens issued with it (their {@code sid} is the credential), from the
 * next request on, on every instance, judged from memory (identity/EndedSessions of the kind
 * PartnerCallers.REMOVED_CREDENTIALS) that is filled at start-up and kept true by the database's notices (V196). The
 * client's other credentials, and their tokens, go on.
 */
@FrontlineTest
class CredentialRemovalTest {
  private static final String UNAUTHORIZED = "urn:frontline:problem:unauthorized";
  private static final String LISTENING = "frontline_removed_partner_credentials_listening";
  private static final String CHANNEL = PartnerCallers.REMOVED_CREDENTIALS.channel();

  /** A secret client with two credentials: the first (created with it) and a second added as a rotation. */
  private record Rotated(String id, String firstCredential, String firstSecret, String secondCredential,
                         String secondSecret) {
    String firstToken(TestEnvironment env) {
      return ok(tokenWithSecret(env, id, firstSecret, null), 200).getString("access_token");
    }

    String secondToken(TestEnvironment env) {
      return ok(tokenWithSecret(env, id, secondSecret, null), 200).getString("access_token");
    }
  }

  @Test
  void aTokenOfTheRemovedCredentialIsRefusedAtOnceAndTheOtherCredentialsTokensKeepWorking(TestEnvironment env) {
    awaitTrue(() -> gauge(env.managementUri("/metrics"), LISTENING) == 1, "removals judged from memory");
    Rotated client = rotated(env);
    String leaked = client.firstToken(env);
    String leakedToo = client.firstToken(env);
    String healthy = client.secondToken(env);
    // Each token names the credential it was issued with.
    assertThat(claimsOf(leaked).getString("sid")).isEqualTo(client.firstCredential());
    assertThat(claimsOf(healthy).getString("sid")).isEqualTo(client.secondCredential());
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'partner.token.issue' AND object_id = ? "
        + "AND details->>'credentialId' = ?", client.id(), client.firstCredential())).isEqualTo(2);
    assertThat(events(env.client(), leaked).statusCode()).isEqualTo(200);

    JsonObject after = ok(remove(env, client.id(), client.firstCredential()), 200);

    // No waiting: the instance that removed it refuses its tokens from the very next request on.
    assertRefused(env, env.client(), leaked);
    assertRefused(env, env.client(), leakedToo);
    assertThat(events(env.client(), healthy).statusCode()).isEqualTo(200);
    assertThat(events(env.client(), client.secondToken(env)).statusCode()).isEqualTo(200);
    assertThat(after.getJsonArray("credentials").stream().map(c -> ((JsonObject) c).getString("id")))
        .containsExactly(client.secondCredential());
    assertThat(env.count("SELECT count(*) FROM partner_credential WHERE id = ?::uuid AND removed_at IS NOT NULL",
        client.firstCredential())).isEqualTo(1);
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'partner-client.credential.remove' "
        + "AND object_id = ? AND details->>'credentialId' = ? AND details->'tokensEnded' = 'true'", client.id(),
        client.firstCredential())).isEqualTo(1);
    assertThat(env.count("SELECT count(*) FROM partner_client WHERE id = ?::uuid AND disabled_at IS NULL",
        client.id())).isEqualTo(1);
  }

  @Test
  void aTokenOfAKeyIsRefusedOnceTheKeyIsRemoved(TestEnvironment env) throws Exception {
    ECKey leakedKey = Partners.ecKey("2026-a");
    ECKey otherKey = Partners.ecKey("2026-b");
    JsonObject client = Partners.keyClient(env, List.of("events:read"), List.of(TONGZHOU), List.of("SITE"),
        leakedKey, otherKey);
    String id = client.getString("id");
    String leakedCredential = credentialOfKid(client, "2026-a");
    String leaked = ok(Partners.tokenWithAssertion(env, Partners.assertion(env, leakedKey, id), null), 200)
        .getString("access_token");
    String healthy = ok(Partners.tokenWithAssertion(env, Partners.assertion(env, otherKey, id), null), 200)
        .getString("access_token");
    assertThat(claimsOf(leaked).getString("sid")).isEqualTo(leakedCredential);
    assertThat(claimsOf(healthy).getString("sid")).isEqualTo(credentialOfKid(client, "2026-b"));

    ok(remove(env, id, leakedCredential), 200);

    assertRefused(env, env.client(), leaked);
    assertThat(events(env.client(), healthy).statusCode()).isEqualTo(200);
  }

  @Test
  void aSecondInstanceRefusesTheTokensOnceAnnounced(TestEnvironment env) throws Exception {
    Frontline second = env.startApiInstance(Map.of());
    try {
      WebClient secondClient = clientOf(env, second);
      Rotated client = rotated(env);
      String leaked = client.firstToken(env);
      String healthy = client.secondToken(env);
      awaitTrue(() -> gauge(metricsOf(second), LISTENING) == 1, "the second instance judges from memory");
      assertThat(events(secondClient, leaked).statusCode()).isEqualTo(200);

      ok(remove(env, client.id(), client.firstCredential()), 200);

      awaitTrue(() -> events(secondClient, leaked).statusCode() == 401, "the second instance hears of the removal");
      assertRefused(env, secondClient, leaked);
      assertThat(events(secondClient, healthy).statusCode()).isEqualTo(200);
    } finally {
      second.stop().get(30, TimeUnit.SECONDS);
    }
  }

  /**
   * An instance reads the credentials removed lately when it starts, and from then on judges from memory: one removed
   * without a notice before it started is refused there, one removed so after it started is not (no read per
   * request), which the listening instance has not heard of either.
   */
  @Test
  void anInstanceLoadsTheCredentialsRemovedLatelyAtStartAndReadsNoneAfter(TestEnvironment env) throws Exception {
    Rotated before = rotated(env);
    Rotated after = rotated(env);
    String removedBefore = before.firstToken(env);
    String removedAfter = after.firstToken(env);
    String untouched = before.secondToken(env);
    awaitTrue(() -> gauge(env.managementUri("/metrics"), LISTENING) == 1, "removals judged from memory");
    removeUnannounced(env, before.firstCredential());
    Frontline second = env.startApiInstance(Map.of());
    try {
      WebClient secondClient = clientOf(env, second);
      awaitTrue(() -> gauge(metricsOf(second), LISTENING) == 1, "the second instance has loaded");
      assertRefused(env, secondClient, removedBefore);
      assertThat(events(secondClient, untouched).statusCode()).isEqualTo(200);

      removeUnannounced(env, after.firstCredential());
      assertThat(events(secondClient, removedAfter).statusCode()).isEqualTo(200);
      assertThat(events(env.client(), removedAfter).statusCode()).isEqualTo(200);
    } finally {
      second.stop().get(30, TimeUnit.SECONDS);
    }
  }

  /**
   * While the notices cannot arrive every token's credential is read from the database, and listening again loads
   * what was removed meanwhile: a credential removed without a notice is refused while deaf and after.
   */
  @Test
  void whileDeafCredentialsAreReadAndListeningAgainLoadsWhatWasMissed(TestEnvironment env) throws Exception {
    URI metrics = env.managementUri("/metrics");
    awaitTrue(() -> gauge(metrics, LISTENING) == 1, "removals judged from memory");
    Rotated missed = rotated(env);
    Rotated missedToo = rotated(env);
    String read = missed.firstToken(env);
    String loaded = missedToo.firstToken(env);
    String healthy = missed.secondToken(env);
    removeUnannounced(env, missed.firstCredential());
    removeUnannounced(env, missedToo.firstCredential());
    assertThat(events(env.client(), read).statusCode()).as("unheard of").isEqualTo(200);
    // Listening again takes 0.5 s: should a scrape miss that window, the listener is ended once more.
    terminateListener(env, CHANNEL);
    awaitTrue(() -> {
      if (gauge(metrics, LISTENING) == 0) {
        return true;
      }
      terminateListener(env, CHANNEL);
      return false;
    }, "removed credentials read from the database");
    // Read from the database (or, should listening have started again already, loaded).
    assertRefused(env, env.client(), read);
    awaitTrue(() -> gauge(metrics, LISTENING) == 1, "listening again");
    // Never read: judged from memory, which the load has filled.
    assertRefused(env, env.client(), loaded);
    assertThat(events(env.client(), healthy).statusCode()).isEqualTo(200);
  }

  /** A partner token issued before tokens named their credential (no sid) keeps working until it expires. */
  @Test
  void aPartnerTokenWithoutACredentialKeepsWorkingUntilItExpires(TestEnvironment env) throws Exception {
    Rotated client = rotated(env);
    var cfg = env.app().config().tokens();
    String old = new TokenService(cfg.issuer(), cfg.audience(), env.app().signingKeys(), Clock.systemUTC())
        .issueForClient(UUID.fromString(client.id()), List.of("events:read"), List.of(TONGZHOU), List.of("SITE"), null);
    assertThat(claimsOf(old).containsKey("sid")).isFalse();
    String leaked = client.firstToken(env);

    ok(remove(env, client.id(), client.firstCredential()), 200);

    assertRefused(env, env.client(), leaked);
    assertThat(events(env.client(), old).statusCode()).isEqualTo(200);
  }

  private static Rotated rotated(TestEnvironment env) {
    JsonObject client = secretClient(env, List.of("events:read"), List.of(TONGZHOU), List.of("SITE"));
    String id = client.getString("id");
    JsonObject added = ok(call(env, login(env, "admin"), HttpMethod.POST, "/v1/partner-clients/" + id + "/credentials",
        new JsonObject()), 200);
    return new Rotated(id, client.getJsonArray("credentials").getJsonObject(0).getString("id"),
        client.getString("clientSecret"), added.getString("addedCredentialId"), added.getString("clientSecret"));
  }

  private static String credentialOfKid(JsonObject client, String kid) {
    return client.getJsonArray("credentials").stream().map(JsonObject.class::cast)
        .filter(c -> kid.equals(c.getString("kid"))).findFirst().orElseThrow().getString("id");
  }

  private static HttpResponse<Buffer> remove(TestEnvironment env, String clientId, String credentialId) {
    return call(env, login(env, "admin"), HttpMethod.DELETE, "/v1/partner-clients/" + clientId + "/credentials/"
        + credentialId, null);
  }

  /** Removes a credential as an admin would, but with the database's notices off for it (triggers off). */
  private static void removeUnannounced(TestEnvironment env, String credentialId) throws Exception {
    assertThat(unannounced(env, "UPDATE partner_credential SET removed_at = now() WHERE id = '" + credentialId
        + "' AND removed_at IS NULL")).isEqualTo(1);
  }

  /** The partner feed, with {@code token}. */
  private static HttpResponse<Buffer> events(WebClient client, String token) {
    return await(client.get("/v1/events?limit=1").putHeader("Authorization", "Bearer " + token).send());
  }

  /** The one 401 invalid_token of a token refused, audited with the reason. */
  private static void assertRefused(TestEnvironment env, WebClient client, String token) {
    HttpResponse<Buffer> r = events(client, token);
    assertProblem(r, 401, UNAUTHORIZED);
    assertThat(r.getHeader("WWW-Authenticate")).isEqualTo("Bearer error=\"invalid_token\"");
    assertThat(env.string("SELECT details->>'reason' FROM audit_log WHERE action = 'auth.token.rejected' "
        + "AND request_id = ?", r.getHeader("X-Request-Id"))).isEqualTo("credential removed");
  }
}
