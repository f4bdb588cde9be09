package org.frontline.testing;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;

import java.sql.Connection;
import java.sql.Statement;
import java.util.Arrays;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.testing.TestEnvironment.await;

/**
 * For tests of a write that locks a row while another admin moves units of the tree: a caller whose scope is one new
 * unit, what a move writes (in a transaction of the test's own, not yet committed), and a request sent while that
 * transaction holds its locks, answered once it has committed.
 */
public final class ScopeMoves {
  /** The demo organisation's password of its accounts (the province admin's too). */
  private static final String DEMO_PASSWORD = "frontline-dev";
  private static final String PASSWORD = "Scope-Moves-2026";

  /** An account at home in {@code unit} (its scope: that unit's subtree), and a token of it. */
  public record ScopedCaller(UUID id, UUID unit, String token) {}

  private ScopeMoves() {}

  /** A new unit under {@code parent}, made by the province admin. */
  public static UUID unit(TestEnvironment env, UUID parent) {
    JsonObject unit = ok(call(env, provinceAdmin(env), HttpMethod.POST, "/v1/org-units", new JsonObject()
        .put("parentId", parent.toString()).put("name", "Unit " + UUID.randomUUID()).put("kind", "TOWNSHIP")), 201);
    return UUID.fromString(unit.getString("id"));
  }

  /** A new account with {@code roles} at home in {@code home}, made by the province admin; signed in. */
  public static ScopedCaller caller(TestEnvironment env, UUID home, String... roles) {
    String username = "scope.moves." + UUID.randomUUID().toString().substring(0, 8);
    JsonObject account = ok(call(env, provinceAdmin(env), HttpMethod.POST, "/v1/accounts", new JsonObject()
        .put("username", username).put("displayName", "Scope moves " + username)
        .put("roles", new JsonArray(Arrays.asList((Object[]) roles))).put("homeUnitId", home.toString())
        .put("password", PASSWORD)), 201);
    return new ScopedCaller(UUID.fromString(account.getString("id")), home, token(env, username, PASSWORD));
  }

  public static String provinceAdmin(TestEnvironment env) {
    return token(env, "admin", DEMO_PASSWORD);
  }

  /**
   * What POST /v1/org-units/{id}/move writes (OrgUnitRepository.moveSubtree), in the transaction of {@code st}: the
   * unit and its whole subtree go under {@code newParent}, each of their rows locked until that transaction ends.
   */
  public static void move(Statement st, UUID unit, UUID newParent) throws java.sql.SQLException {
    int moved = st.executeUpdate("WITH m AS (SELECT u.path AS old, p.path || u.id || '/' AS new FROM org_unit u, "
        + "org_unit p WHERE u.id = '" + unit + "' AND p.id = '" + newParent + "') UPDATE org_unit o SET "
        + "path = m.new || substr(o.path, length(m.old) + 1), parent_id = CASE WHEN o.id = '" + unit + "' THEN '"
        + newParent + "'::uuid ELSE o.parent_id END, updated_at = now() FROM m "
        + "WHERE o.path >= m.old AND o.path < subtree_end(m.old)");
    assertThat(moved).as("units moved").isPositive();
  }

  /**
   * Runs {@code hold} in a transaction of its own and, before it commits, sends {@code request}; once the request
   * waits for a lock (a statement matching {@code queryLike}: it fails when the request answered without waiting),
   * commits, and answers the request's response.
   */
  public static <T> T whileHeld(TestEnvironment env, TestEnvironment.SqlWork hold, String queryLike,
                                Supplier<T> request) throws Exception {
    try (Connection c = env.jdbc(); Statement st = c.createStatement()) {
      c.setAutoCommit(false);
      hold.run(st);
      CompletableFuture<T> sent = CompletableFuture.supplyAsync(request);
      env.awaitLockWait(queryLike, sent);
      c.commit();
      return sent.get(20, TimeUnit.SECONDS);
    }
  }

  public static HttpResponse<Buffer> call(TestEnvironment env, String token, HttpMethod method, String path,
                                          JsonObject body) {
    var request = env.client().request(method, path).putHeader("Authorization", "Bearer " + token);
    return await(body == null ? request.send() : request.sendJsonObject(body));
  }

  public static JsonObject ok(HttpResponse<Buffer> r, int status) {
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(status);
    return r.body() == null || r.body().length() == 0 ? null : r.bodyAsJsonObject();
  }

  private static String token(TestEnvironment env, String username, String password) {
    HttpResponse<Buffer> r = await(env.client().post("/v1/auth/login").sendJsonObject(
        new JsonObject().put("username", username).put("password", password)));
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    return r.bodyAsJsonObject().getString("access_token");
  }
}
