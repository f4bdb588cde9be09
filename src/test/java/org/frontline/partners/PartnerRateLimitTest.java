package org.frontline.partners;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.partners.Partners.call;
import static org.frontline.partners.Partners.login;
import static org.frontline.partners.Partners.newClient;
import static org.frontline.partners.Partners.ok;
import static org.frontline.partners.Partners.partnerToken;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;

/** Per-client rate limit of partner calls: beyond the client's calls per minute, 429 with Retry-After. */
@FrontlineTest
class PartnerRateLimitTest {

  @Test
  void aClientBeyondItsLimitGets429WithRetryAfterAndOthersAreUnaffected(TestEnvironment env) {
    String admin = login(env, "admin");
    JsonObject limited = ok(call(env, admin, HttpMethod.POST, "/v1/partner-clients", newClient("Limited",
        "client_secret_basic", List.of("events:read"), List.of(TONGZHOU), List.of("SITE")).put("rateLimitPerMinute", 3)), 201);
    assertThat(limited.getInteger("rateLimitPerMinute")).isEqualTo(3);
    JsonObject other = Partners.secretClient(env, List.of("events:read"), List.of(TONGZHOU), List.of("SITE"));
    assertThat(other.getInteger("rateLimitPerMinute")).isEqualTo(600);
    String token = partnerToken(env, limited);
    String otherToken = partnerToken(env, other);

    // Four calls; should a minute boundary fall between them (a new window), the round is run again once.
    List<Integer> statuses = new ArrayList<>();
    HttpResponse<Buffer> fourth = null;
    for (int round = 0; round < 2 && !statuses.equals(List.of(200, 200, 200, 429)); round++) {
      statuses.clear();
      for (int i = 0; i < 4; i++) {
        fourth = call(env, token, HttpMethod.GET, "/v1/events", null);
        statuses.add(fourth.statusCode());
      }
      if (!statuses.equals(List.of(200, 200, 200, 429))) {
        // Start the second round in a fresh window of our own.
        try (var c = env.jdbc(); var st = c.createStatement()) {
          st.executeUpdate("DELETE FROM partner_rate");
        } catch (java.sql.SQLException e) {
          throw new IllegalStateException(e);
        }
      }
    }
    assertThat(statuses).containsExactly(200, 200, 200, 429);
    assertProblem(fourth, 429, "urn:frontline:problem:too-many-requests");
    int retryAfter = Integer.parseInt(fourth.getHeader("Retry-After"));
    assertThat(retryAfter).isBetween(1, 60);
    // Counted before the role check, so on people's operations too: the same 429, as the contract declares.
    HttpResponse<Buffer> people = call(env, token, HttpMethod.GET, "/v1/me", null);
    assertProblem(people, 429, "urn:frontline:problem:too-many-requests");
    assertThat(people.getHeader("Retry-After")).isNotNull();
    assertProblem(call(env, token, HttpMethod.POST, "/v1/reports", new JsonObject()), 429,
        "urn:frontline:problem:too-many-requests");
    // Another client is not limited by this one.
    ok(call(env, otherToken, HttpMethod.GET, "/v1/events", null), 200);
    // The token endpoint is not a partner call: a new token is still issued.
    partnerToken(env, limited);
  }
}
