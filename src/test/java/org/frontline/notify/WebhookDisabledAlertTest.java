package org.frontline.notify;

import io.vertx.core.json.JsonObject;
import org.frontline.platform.push.FakeFcmServer;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.notify.Alerts.awaitUntil;
import static org.frontline.notify.Alerts.count;
import static org.frontline.notify.Alerts.device;

/**
 * A webhook disabled for failing: its admins' push and inbox name the URL's host only. A receiver's URL often carries
 * its secret in the path or query, which a lock screen must not show, and a whole URL (2000 characters, 6 KB in
 * Chinese) was over FCM's payload limit: the alert was dead-lettered, never shown.
 */
@FrontlineTest
class WebhookDisabledAlertTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

  @Test
  void thePushAndTheInboxNameTheHostNotTheSecretOrTheWholeUrl(TestEnvironment env) throws Exception {
    device(env, "admin", "admin-webhook-phone");
    String secret = "T0A1B2C3/B9Z8Y7X6/s3cr3t-receiver-key";
    String url = "https://hooks.example.com/services/" + secret + "?token=s3cr3t-query/" + "回调".repeat(900);
    UUID subscription = disabled(env, url);

    awaitUntil(WAIT, "the admin's push sent", () -> count(env, "SELECT count(*) FROM push_delivery p"
        + " JOIN device d ON d.id = p.device_id JOIN outbox o ON o.id = p.event_id"
        + " WHERE d.token = 'admin-webhook-phone' AND o.aggregate_id = ? AND p.status = 'SENT'", subscription) == 1);
    FakeFcmServer.Request push = env.fcm().onlyRequestFor("admin-webhook-phone");
    assertThat(push.status()).isEqualTo(200);
    assertThat(push.notification().getString("body"))
        .isEqualTo("Webhook 分发客户 的 Webhook 持续投递失败，已停用：hooks.example.com。");
    assertThat(push.message().getJsonObject("data").getString("subscriptionId")).isEqualTo(subscription.toString());
    assertThat(push.message().encode()).doesNotContain("s3cr3t").doesNotContain("回调");
    assertThat(count(env, "SELECT count(*) FROM notification n JOIN outbox o ON o.id = n.event_id"
        + " WHERE o.aggregate_id = ? AND n.account_id = ? AND n.body LIKE '%：hooks.example.com。'"
        + " AND n.body NOT LIKE '%s3cr3t%'", subscription, Alerts.accountId("admin"))).isEqualTo(1);
  }

  /** A partner client granted Tongzhou and its webhook.disabled event, as the webhook deliverer writes it. */
  private static UUID disabled(TestEnvironment env, String url) throws Exception {
    UUID client = UUID.randomUUID();
    UUID subscription = UUID.randomUUID();
    try (Connection c = env.jdbc()) {
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO partner_client (id, name, auth_method, scopes,"
          + " unit_ids, report_types) VALUES (?, 'Webhook 分发客户', 'client_secret_basic', '{events:read}', ?, '{SITE}')")) {
        ps.setObject(1, client);
        ps.setArray(2, c.createArrayOf("uuid", new Object[] {TONGZHOU}));
        ps.executeUpdate();
      }
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO outbox (event_type, aggregate_type, aggregate_id,"
          + " unit_id, payload) VALUES ('webhook.disabled', 'webhook_subscription', ?, ?, ?::jsonb)")) {
        ps.setObject(1, subscription);
        ps.setObject(2, TONGZHOU);
        ps.setString(3, new JsonObject().put("subscriptionId", subscription.toString())
            .put("clientId", client.toString()).put("clientName", "Webhook 分发客户").put("url", url)
            .put("reason", "HTTP 500").encode());
        ps.executeUpdate();
      }
    }
    return subscription;
  }
}
