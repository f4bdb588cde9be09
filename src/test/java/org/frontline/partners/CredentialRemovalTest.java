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
import org.frontline.testing.TokenRefusals;
import org.junit.jupiter.api.Test;

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
import static org.frontline.testing.ApiInstances.clientOf;
import static org.frontline.testing.TestEnvironment.await;

/**
 * Removing a partner credential ends the access tokens issued with it (their {@code sid} is the credential), from the
 * next request on, on every instance: each request's read of its client probes the credential too
 * (PartnerCallers). The client's other credentials, and their tokens, go on.
 */
@FrontlineTest
class CredentialRemovalTest {

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
  void aSecondInstanceRefusesTheTokensAtOnceToo(TestEnvironment env) throws Exception {
    Frontline second = env.startApiInstance(Map.of());
    try {
      WebClient secondClient = clientOf(env, second);
      Rotated client = rotated(env);
      String leaked = client.firstToken(env);
      String healthy = client.secondToken(env);
      assertThat(events(secondClient, leaked).statusCode()).isEqualTo(200);

      ok(remove(env, client.id(), client.firstCredential()), 200);

      assertRefused(env, secondClient, leaked);
      assertThat(events(secondClient, healthy).statusCode()).isEqualTo(200);
    } finally {
      second.stop().get(30, TimeUnit.SECONDS);
    }
  }

  /** A credential removed by other means than the API (an operator's UPDATE) ends its tokens as well. */
  @Test
  void aCredentialRemovedInTheDatabaseEndsItsTokensToo(TestEnvironment env) throws Exception {
    Rotated client = rotated(env);
    String leaked = client.firstToken(env);
    String healthy = client.secondToken(env);
    assertThat(events(env.client(), leaked).statusCode()).isEqualTo(200);
    try (java.sql.Connection c = env.jdbc(); var st = c.prepareStatement("UPDATE partner_credential"
        + " SET removed_at = now() WHERE id = ?::uuid")) {
      st.setString(1, client.firstCredential());
      assertThat(st.executeUpdate()).isEqualTo(1);
    }
    assertRefused(env, env.client(), leaked);
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

  /** The partner feed, with {@code token}. */
  private static HttpResponse<Buffer> events(WebClient client, String token) {
    return await(client.get("/v1/events?limit=1").putHeader("Authorization", "Bearer " + token).send());
  }

  /** The one 401 invalid_token of a token refused, audited with the reason. */
  private static void assertRefused(TestEnvironment env, WebClient client, String token) {
    TokenRefusals.assertRefused(env, events(client, token), "credential removed");
  }
}
