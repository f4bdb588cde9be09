package org.frontline.notify;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.dev.DemoOrganisation;
import org.frontline.testing.TestEnvironment;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.testing.TestEnvironment.await;

/** Test helpers for alerts: log in, register devices, write outbox events as the reports feature does, wait. */
final class Alerts {
  private Alerts() {}

  static String login(TestEnvironment env, String username) {
    HttpResponse<Buffer> r = await(env.client().post("/v1/auth/login").sendJsonObject(
        new JsonObject().put("username", username).put("password", DemoOrganisation.PASSWORD)));
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    return r.bodyAsJsonObject().getString("access_token");
  }

  static UUID accountId(String username) {
    return DemoOrganisation.ACCOUNTS.stream().filter(a -> a.username().equals(username)).findFirst().orElseThrow()
        .id();
  }

  static HttpResponse<Buffer> registerDevice(TestEnvironment env, String accessToken, JsonObject body) {
    return await(env.client().post("/v1/devices").putHeader("Authorization", "Bearer " + accessToken)
        .sendJsonObject(body));
  }

  /** Registers {@code token} for the account, once earlier tests' events are dispatched; returns the device id. */
  static String device(TestEnvironment env, String username, String token) throws InterruptedException {
    env.awaitEventsDispatched();
    HttpResponse<Buffer> r = registerDevice(env, login(env, username),
        new JsonObject().put("token", token).put("platform", "android").put("appVersion", "1.0.0"));
    assertThat(r.statusCode()).as(r.bodyAsString()).isIn(200, 201);
    return r.bodyAsJsonObject().getString("id");
  }

  /** Writes a report.completed event as the reports feature does; returns the report id. */
  static UUID reportCompleted(TestEnvironment env, UUID unitId) throws SQLException {
    return reportsCompleted(env, unitId, 1).get(0);
  }

  static List<UUID> reportsCompleted(TestEnvironment env, UUID unitId, int n) throws SQLException {
    List<UUID> ids = new ArrayList<>();
    try (Connection c = env.jdbc(); PreparedStatement ps = c.prepareStatement("INSERT INTO outbox (event_type,"
        + " aggregate_type, aggregate_id, unit_id, payload) VALUES ('report.completed', 'report', ?, ?, ?::jsonb)")) {
      for (int i = 0; i < n; i++) {
        UUID reportId = UUID.randomUUID();
        ps.setObject(1, reportId);
        ps.setObject(2, unitId);
        ps.setString(3, new JsonObject().put("reportId", reportId.toString()).put("unitId", unitId.toString())
            .put("authorId", accountId("officer.xu").toString()).put("type", "SITE").encode());
        ps.addBatch();
        ids.add(reportId);
      }
      ps.executeBatch();
    }
    return ids;
  }

  static long count(TestEnvironment env, String sql, Object... params) {
    return env.count(sql, params);
  }

  static void update(TestEnvironment env, String sql, Object... params) throws SQLException {
    try (Connection c = env.jdbc(); PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < params.length; i++) {
        ps.setObject(i + 1, params[i]);
      }
      ps.executeUpdate();
    }
  }

  static void awaitUntil(Duration timeout, String what, BooleanSupplier condition) throws InterruptedException {
    org.frontline.testing.Waits.until(timeout, what, condition);
  }

  /** The status of the delivery of the report's alert to the device with this token. */
  static String deliveryStatus(TestEnvironment env, UUID reportId, String token) {
    try (Connection c = env.jdbc(); PreparedStatement ps = c.prepareStatement("SELECT p.status FROM push_delivery p"
        + " JOIN outbox o ON o.id = p.event_id JOIN device d ON d.id = p.device_id"
        + " WHERE o.aggregate_id = ? AND d.token = ?")) {
      ps.setObject(1, reportId);
      ps.setString(2, token);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }
}
