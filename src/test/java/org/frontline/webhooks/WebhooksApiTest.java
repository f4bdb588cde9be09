package org.frontline.webhooks;

import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.webhooks.Webhooks.call;
import static org.frontline.webhooks.Webhooks.client;
import static org.frontline.webhooks.Webhooks.count;
import static org.frontline.webhooks.Webhooks.login;
import static org.frontline.webhooks.Webhooks.ok;
import static org.frontline.webhooks.Webhooks.partner;
import static org.frontline.webhooks.Webhooks.subscribe;
import static org.frontline.webhooks.Webhooks.token;

/** Subscriptions through the API: who may do what, refused targets, and the rows that result. */
@FrontlineTest
class WebhooksApiTest {
  private static final String FORBIDDEN = "urn:frontline:problem:forbidden";
  private static final String NOT_FOUND = "urn:frontline:problem:not-found";
  private static final String UNPROCESSABLE = "urn:frontline:problem:unprocessable";

  @Test
  void aPartnerSubscribesListsAndDeletes(TestEnvironment env) {
    String token = partner(env, List.of(TONGZHOU));
    JsonObject sub = subscribe(env, token, "https://hooks.partner.example/frontline");
    assertThat(sub.getString("status")).isEqualTo("ACTIVE");
    assertThat(sub.getJsonArray("eventTypes")).containsExactly("report.completed");
    assertThat(sub.getJsonArray("secrets")).hasSize(1);
    String id = sub.getString("id");
    // The secret is stored sealed, never in clear.
    assertThat(count(env, "SELECT count(*) FROM webhook_secret WHERE subscription_id = ?::uuid "
        + "AND position(convert_to(?, 'UTF8') IN secret_sealed) = 0", id, sub.getString("secret"))).isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'webhook.create' AND object_id = ?", id))
        .isEqualTo(1);
    JsonArray listed = ok(call(env, token, HttpMethod.GET, "/v1/webhooks", null), 200).getJsonArray("items");
    assertThat(listed).hasSize(1);
    assertThat(listed.getJsonObject(0).getString("id")).isEqualTo(id);
    assertThat(listed.getJsonObject(0).containsKey("secret")).isFalse();

    assertThat(call(env, token, HttpMethod.DELETE, "/v1/webhooks/" + id, null).statusCode()).isEqualTo(204);
    assertThat(ok(call(env, token, HttpMethod.GET, "/v1/webhooks", null), 200).getJsonArray("items")).isEmpty();
    assertProblem(call(env, token, HttpMethod.GET, "/v1/webhooks/" + id, null), 404, NOT_FOUND);
    assertThat(count(env, "SELECT count(*) FROM webhook_subscription WHERE id = ?::uuid AND deleted_at IS NOT NULL", id))
        .isEqualTo(1);
  }

  @Test
  void theAuditEntryOfASubscriptionMasksItsUrlsQueryValues(TestEnvironment env) throws Exception {
    // Receivers often take a credential in the query; the audit log keeps its entries for ever, the subscription not.
    String token = partner(env, List.of(TONGZHOU));
    String url = "https://hooks.partner.example/in?token=s3cr3t-c0de&region=cn&b4re-s3cr3t";
    String id = subscribe(env, token, url).getString("id");
    assertThat(ok(call(env, token, HttpMethod.GET, "/v1/webhooks/" + id, null), 200).getString("url")).isEqualTo(url);
    assertThat(count(env, "SELECT count(*) FROM webhook_subscription WHERE id = ?::uuid AND url = ?", id, url))
        .isEqualTo(1);
    String sha256 = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
        .digest(url.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'webhook.create' AND object_id = ?"
            + " AND details->>'url' = 'https://hooks.partner.example/in?token=***&region=***&***'"
            + " AND details->>'urlSha256' = ? AND details->'eventTypes' = '[\"report.completed\"]'", id, sha256))
        .isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE details::text LIKE '%s3cr3t%'")).isZero();
  }

  @Test
  void refusedTargetsAreA422NamingTheUrl(TestEnvironment env) {
    String token = partner(env, List.of(TONGZHOU));
    long before = count(env, "SELECT count(*) FROM webhook_subscription");
    for (String url : List.of("https://10.0.0.1/h", "https://172.16.0.1/h", "https://192.168.0.1/h",
        "https://169.254.169.254/latest/meta-data", "https://[fd00:ec2::254]/latest", "https://[fe80::1]/h",
        "https://[fc00::1]/h", "https://0.0.0.0/h", "https://224.0.0.1/h", "https://[ff02::1]/h", "ftp://example.org/h",
        "https://user:pw@example.org/h",
        // Ports no delivery can use: every attempt would fail until the subscription is disabled.
        "https://example.org:0/h", "https://example.org:65536/h", "https://example.org:99999/h")) {
      JsonObject problem = assertProblem(call(env, token, HttpMethod.POST, "/v1/webhooks", new JsonObject()
          .put("url", url).put("eventTypes", new JsonArray().add("report.completed"))), 422, UNPROCESSABLE);
      assertThat(problem.getJsonArray("errors").getJsonObject(0).getString("field")).as(url).isEqualTo("body/url");
    }
    assertThat(count(env, "SELECT count(*) FROM webhook_subscription")).isEqualTo(before);
    // An unknown event kind or an extra field: the contract's 400.
    assertProblem(call(env, token, HttpMethod.POST, "/v1/webhooks", new JsonObject().put("url", "https://example.org/h")
        .put("eventTypes", new JsonArray().add("report.deleted"))), 400, "urn:frontline:problem:validation-failed");
    assertProblem(call(env, token, HttpMethod.POST, "/v1/webhooks", new JsonObject().put("url", "https://example.org/h")
        .put("eventTypes", new JsonArray().add("report.completed")).put("secret", "mine")), 400,
        "urn:frontline:problem:validation-failed");
  }

  @Test
  void peopleAndPartnersWithoutTheScopeGet403AndAnotherPartnersSubscriptionIs404(TestEnvironment env) {
    String owner = partner(env, List.of(TONGZHOU));
    String id = subscribe(env, owner, "https://hooks.partner.example/a").getString("id");
    String other = partner(env, List.of(TONGZHOU));
    String reader = token(env, client(env, List.of("events:read"), List.of(TONGZHOU)));
    JsonObject body = new JsonObject().put("url", "https://example.org/h")
        .put("eventTypes", new JsonArray().add("report.completed"));
    for (String person : List.of("officer.xu", "supervisor.tongzhou", "admin")) {
      String t = login(env, person);
      assertProblem(call(env, t, HttpMethod.POST, "/v1/webhooks", body), 403, FORBIDDEN);
      assertProblem(call(env, t, HttpMethod.GET, "/v1/webhooks/" + id, null), 403, FORBIDDEN);
    }
    assertProblem(call(env, reader, HttpMethod.POST, "/v1/webhooks", body), 403, FORBIDDEN);
    assertProblem(call(env, reader, HttpMethod.GET, "/v1/webhooks", null), 403, FORBIDDEN);
    assertProblem(call(env, other, HttpMethod.GET, "/v1/webhooks/" + id, null), 404, NOT_FOUND);
    assertProblem(call(env, other, HttpMethod.DELETE, "/v1/webhooks/" + id, null), 404, NOT_FOUND);
    assertProblem(call(env, other, HttpMethod.POST, "/v1/webhooks/" + id + "/secret", null), 404, NOT_FOUND);
    assertProblem(call(env, other, HttpMethod.POST, "/v1/webhooks/" + id + "/enable", null), 404, NOT_FOUND);
    assertProblem(call(env, other, HttpMethod.GET, "/v1/webhooks/" + id + "/deliveries", null), 404, NOT_FOUND);
    assertProblem(call(env, other, HttpMethod.POST, "/v1/webhooks/" + id + "/deliveries/1/replay", null), 404, NOT_FOUND);
    assertThat(ok(call(env, other, HttpMethod.GET, "/v1/webhooks", null), 200).getJsonArray("items")).isEmpty();
    // Unchanged: still live, one secret.
    assertThat(count(env, "SELECT count(*) FROM webhook_subscription WHERE id = ?::uuid AND deleted_at IS NULL", id))
        .isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM webhook_secret WHERE subscription_id = ?::uuid", id)).isEqualTo(1);
    // The owner's replay of a delivery that is not its own: 404.
    assertProblem(call(env, owner, HttpMethod.POST, "/v1/webhooks/" + id + "/deliveries/123456/replay", null), 404,
        NOT_FOUND);
  }

  @Test
  void anAdminListsAClientsSubscriptions(TestEnvironment env) {
    JsonObject client = client(env, List.of("webhooks:manage"), List.of(TONGZHOU));
    String token = token(env, client);
    String id = subscribe(env, token, "https://hooks.partner.example/b").getString("id");
    JsonArray items = ok(call(env, login(env, "admin"), HttpMethod.GET, "/v1/partner-clients/" + client.getString("id")
        + "/webhooks", null), 200).getJsonArray("items");
    assertThat(items).hasSize(1);
    assertThat(items.getJsonObject(0).getString("id")).isEqualTo(id);
    assertThat(items.getJsonObject(0).containsKey("secret")).isFalse();
    assertProblem(call(env, token, HttpMethod.GET, "/v1/partner-clients/" + client.getString("id") + "/webhooks", null),
        403, FORBIDDEN);
    assertProblem(call(env, login(env, "admin"), HttpMethod.GET, "/v1/partner-clients/" + java.util.UUID.randomUUID()
        + "/webhooks", null), 404, NOT_FOUND);
  }

  @Test
  void concurrentCreatesNeverExceedTheSubscriptionCap(TestEnvironment env) {
    JsonObject client = client(env, List.of("events:read", "webhooks:manage"), List.of(TONGZHOU));
    String token = token(env, client);
    for (int i = 0; i < WebhookService.MAX_SUBSCRIPTIONS - 2; i++) {
      subscribe(env, token, "https://hooks.partner.example/n" + i);
    }
    // Two places left; eight creates at once: exactly two succeed, the others are 409.
    List<io.vertx.core.Future<io.vertx.ext.web.client.HttpResponse<io.vertx.core.buffer.Buffer>>> sent =
        new java.util.ArrayList<>();
    for (int i = 0; i < 8; i++) {
      sent.add(env.client().post("/v1/webhooks").putHeader("Authorization", "Bearer " + token)
          .sendJsonObject(new JsonObject().put("url", "https://hooks.partner.example/race" + i)
              .put("eventTypes", new JsonArray().add("report.completed"))));
    }
    org.frontline.testing.TestEnvironment.await(io.vertx.core.Future.join(sent));
    List<Integer> statuses = sent.stream().map(f -> f.result().statusCode()).toList();
    assertThat(statuses.stream().filter(s -> s == 201)).as(statuses.toString()).hasSize(2);
    assertThat(statuses.stream().filter(s -> s == 409)).as(statuses.toString()).hasSize(6);
    assertThat(count(env, "SELECT count(*) FROM webhook_subscription WHERE client_id = ?::uuid AND deleted_at IS NULL",
        client.getString("id"))).isEqualTo(WebhookService.MAX_SUBSCRIPTIONS);
  }

  @Test
  void aRotationOverlapOutOfRangeIs422(TestEnvironment env) {
    String token = partner(env, List.of(TONGZHOU));
    String id = subscribe(env, token, "https://hooks.partner.example/c").getString("id");
    assertProblem(call(env, token, HttpMethod.POST, "/v1/webhooks/" + id + "/secret",
        new JsonObject().put("previousExpireInSeconds", 8 * 86400)), 422, UNPROCESSABLE);
    // Beyond a long: 2^64 wrapped to an overlap of 0 (the live secret ended at once), 2^64 + 3600 to an hour.
    for (String huge : List.of("18446744073709551616", "18446744073709555216", "1e30")) {
      JsonObject p = assertProblem(call(env, token, HttpMethod.POST, "/v1/webhooks/" + id + "/secret",
          new JsonObject().put("previousExpireInSeconds", new java.math.BigDecimal(huge).toBigIntegerExact())), 422,
          UNPROCESSABLE);
      assertThat(p.getJsonArray("errors").getJsonObject(0).getString("field")).as(huge)
          .isEqualTo("body/previousExpireInSeconds");
    }
    assertThat(count(env, "SELECT count(*) FROM webhook_secret WHERE subscription_id = ?::uuid", id)).isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM webhook_secret WHERE subscription_id = ?::uuid AND expires_at IS NULL",
        id)).isEqualTo(1);
  }

  @Test
  void rotationsWithAnOverlapKeepAtMostTenLiveSecrets(TestEnvironment env) {
    // Every live secret signs every delivery: 300 rotations with a week's overlap made a 14 KB webhook-signature
    // header (receivers behind nginx refuse a header line over 8 KB), and each rotation's answer listed them all.
    String token = partner(env, List.of(TONGZHOU));
    String id = subscribe(env, token, "https://hooks.partner.example/d").getString("id");
    JsonObject week = new JsonObject().put("previousExpireInSeconds", 7 * 86400);
    for (int i = 0; i < 9; i++) {
      ok(call(env, token, HttpMethod.POST, "/v1/webhooks/" + id + "/secret", week), 200);
    }
    assertProblem(call(env, token, HttpMethod.POST, "/v1/webhooks/" + id + "/secret", week), 409,
        "urn:frontline:problem:conflict");
    assertThat(count(env, "SELECT count(*) FROM webhook_secret WHERE subscription_id = ?::uuid", id)).isEqualTo(10);
    // Without an overlap (a leaked secret): always possible, and the new secret is the only live one.
    JsonObject rotated = ok(call(env, token, HttpMethod.POST, "/v1/webhooks/" + id + "/secret",
        new JsonObject().put("previousExpireInSeconds", 0)), 200);
    assertThat(rotated.getJsonArray("secrets")).hasSize(1);
  }
}
