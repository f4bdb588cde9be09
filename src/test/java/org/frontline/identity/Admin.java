package org.frontline.identity;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.dev.DemoOrganisation;
import org.frontline.testing.TestEnvironment;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.testing.TestEnvironment.await;

/** Test helpers for the admin API: calls with a bearer token, the demo ids, and rows as JSON to compare. */
final class Admin {
  static final String NANTONG_ADMIN = "admin.nantong";
  static final String NANTONG_ADMIN_PASSWORD = "Nantong-Admin-2026";

  private Admin() {}

  static UUID account(String username) {
    return UUID.nameUUIDFromBytes(("frontline-demo:account:" + username).getBytes(StandardCharsets.UTF_8));
  }

  static String token(TestEnvironment env, String username) {
    return Tokens.loginOk(env, username).getString("access_token");
  }

  static String token(TestEnvironment env, String username, String password) {
    HttpResponse<Buffer> r = Tokens.login(env, username, password);
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    return r.bodyAsJsonObject().getString("access_token");
  }

  static HttpResponse<Buffer> call(TestEnvironment env, String token, HttpMethod method, String path, JsonObject body) {
    HttpRequest<Buffer> request = env.client().request(method, path).putHeader("Authorization", "Bearer " + token);
    return await(body == null ? request.send() : request.sendJsonObject(body));
  }

  static HttpResponse<Buffer> get(TestEnvironment env, String token, String path) {
    return call(env, token, HttpMethod.GET, path, null);
  }

  static HttpResponse<Buffer> post(TestEnvironment env, String token, String path, JsonObject body) {
    return call(env, token, HttpMethod.POST, path, body);
  }

  static JsonObject ok(HttpResponse<Buffer> r, int status) {
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(status);
    return r.body() == null || r.body().length() == 0 ? null : r.bodyAsJsonObject();
  }

  /** Creates (through the API, as the province admin) an admin whose scope is Nantong, once per test class. */
  static String nantongAdmin(TestEnvironment env) {
    return adminOnce(env, NANTONG_ADMIN, NANTONG_ADMIN_PASSWORD, new JsonObject()
        .put("displayName", "南通管理员 Nantong Admin").put("homeUnitId", DemoOrganisation.NANTONG.toString()));
  }

  /**
   * Creates (as {@link #nantongAdmin}) an admin at home in Yangzhou who also covers Nantong: a scope of two subtrees,
   * neither holding the other.
   */
  static String twoCitiesAdmin(TestEnvironment env) {
    return adminOnce(env, "admin.two-cities", "Two-Cities-Admin-2026", new JsonObject()
        .put("displayName", "两市管理员 Two Cities Admin").put("homeUnitId", DemoOrganisation.YANGZHOU.toString())
        .put("coveredUnitIds", new JsonArray().add(DemoOrganisation.NANTONG.toString())));
  }

  /** A token of the admin account {@code username}, created with {@code body}'s fields first if there is none. */
  private static String adminOnce(TestEnvironment env, String username, String password, JsonObject body) {
    // Never a failed login to find out (failures count against the test client's address).
    try {
      if (count(env, "SELECT count(*) FROM account WHERE username = ?", username) > 0) {
        return token(env, username, password);
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    ok(post(env, token(env, "admin"), "/v1/accounts", body.copy().put("username", username)
        .put("roles", new JsonArray().add("admin")).put("password", password)), 201);
    return token(env, username, password);
  }

  /** The row as JSON text (null when there is none), to compare before and after. */
  static String row(TestEnvironment env, String table, Object id) throws SQLException {
    try (Connection c = env.jdbc(); PreparedStatement ps = c.prepareStatement(
        "SELECT row_to_json(t)::text FROM " + table + " t WHERE id = ?")) {
      ps.setObject(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }

  static long count(TestEnvironment env, String sql, Object... params) throws SQLException {
    return env.count(sql, params);
  }

  static String string(TestEnvironment env, String sql, Object... params) throws SQLException {
    return env.string(sql, params);
  }
}
