package org.frontline.reports;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.TestEnvironment;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.testing.TestEnvironment.await;

/** Envelopes, logins and row counts for the report tests. */
final class ReportFixtures {
  private static final Map<String, String> TOKENS = new ConcurrentHashMap<>();

  private ReportFixtures() {}

  static UUID account(String username) {
    return UUID.nameUUIDFromBytes(("frontline-demo:account:" + username).getBytes(StandardCharsets.UTF_8));
  }

  /** Each test class starts from re-seeded data (tokens of earlier classes no longer hold): call in @BeforeAll. */
  static void forgetTokens() {
    TOKENS.clear();
  }

  /** A token per username for the running test class; logins are successful ones only. */
  static String token(TestEnvironment env, String username) {
    return TOKENS.computeIfAbsent(username, k -> {
      HttpResponse<Buffer> r = await(env.client().post("/v1/auth/login")
          .sendJsonObject(new JsonObject().put("username", username).put("password", "frontline-dev")));
      assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
      return r.bodyAsJsonObject().getString("access_token");
    });
  }

  static String sha(int n) {
    return String.format("%064x", n);
  }

  static JsonObject attachment(UUID id, int n) {
    return new JsonObject().put("id", id.toString()).put("sha256", sha(n)).put("size", 1000 + n)
        .put("contentType", "image/jpeg").put("filename", "IMG_" + n + ".jpg");
  }

  /**
   * The fixtures' capture time: an hour before this run, the same for every envelope (repeats must match). A report
   * captured days before it is received is flagged by the report-level checks (CAPTURE_RECEIPT_SKEW), with an alert.
   */
  static final String CAPTURED_AT = java.time.Instant.now().minus(java.time.Duration.ofHours(1))
      .truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();

  /** A SITE report in Huaisi (officer.xu's unit) without attachments. */
  static JsonObject site(UUID id) {
    return new JsonObject()
        .put("id", id.toString())
        .put("type", "SITE")
        .put("unitId", HUAISI.toString())
        .put("capturedAt", CAPTURED_AT)
        .put("location", new JsonObject().put("lat", 32.45).put("lon", 119.43).put("accuracyM", 8.5)
            .put("provider", "gps").put("mock", false))
        .put("title", "Bridge repair at Huaisi")
        .put("text", "Work under way")
        .put("body", new JsonObject().put("observations", new JsonArray().add("Scaffolding up")));
  }

  static JsonObject withAttachments(JsonObject envelope, JsonObject... attachments) {
    JsonArray array = new JsonArray();
    for (JsonObject a : attachments) {
      array.add(a);
    }
    return envelope.copy().put("attachments", array);
  }

  static HttpResponse<Buffer> post(TestEnvironment env, String username, String path, JsonObject body) {
    return await(env.client().post(path).putHeader("Authorization", "Bearer " + token(env, username))
        .sendJsonObject(body));
  }

  /** The body exactly as written (numbers and escapes as the test spells them). */
  static HttpResponse<Buffer> postText(TestEnvironment env, String username, String path, String json) {
    return await(env.client().post(path).putHeader("Authorization", "Bearer " + token(env, username))
        .putHeader("Content-Type", "application/json").sendBuffer(Buffer.buffer(json)));
  }

  static HttpResponse<Buffer> get(TestEnvironment env, String username, String path) {
    return await(env.client().get(path).putHeader("Authorization", "Bearer " + token(env, username)).send());
  }

  static long count(TestEnvironment env, String sql, Object... params) throws SQLException {
    return env.count(sql, params);
  }

  static String string(TestEnvironment env, String sql, Object... params) throws SQLException {
    try (Connection c = env.jdbc(); PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < params.length; i++) {
        ps.setObject(i + 1, params[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }

  /** Every page of the list with limit 2, as the ids in order. */
  static List<String> walk(TestEnvironment env, String username, String query) {
    List<String> ids = new ArrayList<>();
    String cursor = null;
    do {
      HttpResponse<Buffer> r = get(env, username, "/v1/reports?" + query + "&limit=2"
          + (cursor == null ? "" : "&cursor=" + cursor));
      assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
      JsonObject page = r.bodyAsJsonObject();
      page.getJsonArray("items").forEach(o -> ids.add(((JsonObject) o).getString("id")));
      cursor = page.getString("nextCursor");
    } while (cursor != null);
    return ids;
  }

  /**
   * {@code n} copies of report {@code seed} at {@code unit}, checks recorded, with the review decision {@code decision}
   * (SQL: NULL or a literal), received at {@code at} (SQL) plus 1 ms, 2 ms, ...; their ids.
   */
  static List<String> copies(Statement st, UUID seed, UUID unit, int n, String decision, String at)
      throws SQLException {
    return copies(st, seed, null, unit, n, decision, at);
  }

  /** As {@link #copies(Statement, UUID, UUID, int, String, String)}, by {@code author} (null: the seed's). */
  static List<String> copies(Statement st, UUID seed, UUID author, UUID unit, int n, String decision, String at)
      throws SQLException {
    List<String> ids = new ArrayList<>();
    try (var rs = st.executeQuery("INSERT INTO report (id, author_id, unit_id, type, status, title, captured_at,"
        + " received_at, completed_at, lat, lon, accuracy_m, location_provider, location_mock, body, request,"
        + " request_sha256, response, report_checks_due, review_decision) SELECT gen_random_uuid(), "
        + (author == null ? "author_id" : "'" + author + "'") + ", '" + unit + "', type, status, title, captured_at, "
        + at + " + g * interval '1 millisecond', completed_at, lat, lon, accuracy_m, location_provider,"
        + " location_mock, body, request, request_sha256, response, false, " + decision
        + " FROM report, generate_series(1, " + n + ") g WHERE id = '" + seed + "' ORDER BY g RETURNING id")) {
      while (rs.next()) {
        ids.add(rs.getString(1));
      }
    }
    return ids;
  }

  /** The ids in the opposite order (copies' are oldest first). */
  static List<String> newestFirst(List<String> ids) {
    List<String> reversed = new ArrayList<>(ids);
    Collections.reverse(reversed);
    return reversed;
  }
}
