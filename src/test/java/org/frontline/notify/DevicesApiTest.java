package org.frontline.notify;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.notify.Alerts.count;
import static org.frontline.notify.Alerts.login;
import static org.frontline.notify.Alerts.registerDevice;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.testing.TestEnvironment.await;

@FrontlineTest
class DevicesApiTest {

  private static HttpResponse<Buffer> list(TestEnvironment env, String at) {
    return await(env.client().get("/v1/devices").putHeader("Authorization", "Bearer " + at).send());
  }

  private static HttpResponse<Buffer> delete(TestEnvironment env, String at, String id) {
    return await(env.client().delete("/v1/devices/" + id).putHeader("Authorization", "Bearer " + at).send());
  }

  @Test
  void registeringIsIdempotentByTokenAndRefreshesTheDevice(TestEnvironment env) throws Exception {
    String at = login(env, "supervisor.hanjiang");
    HttpResponse<Buffer> first = registerDevice(env, at, new JsonObject().put("token", "dev-token-1")
        .put("platform", "android").put("appVersion", "1.0.0").put("locale", "zh-CN"));
    assertThat(first.statusCode()).as(first.bodyAsString()).isEqualTo(201);
    JsonObject created = first.bodyAsJsonObject();
    assertThat(first.getHeader("Location")).isEqualTo("/v1/devices/" + created.getString("id"));
    Thread.sleep(20);
    HttpResponse<Buffer> again = registerDevice(env, at, new JsonObject().put("token", "dev-token-1")
        .put("platform", "android").put("appVersion", "1.1.0").put("locale", "en"));
    assertThat(again.statusCode()).as(again.bodyAsString()).isEqualTo(200);
    JsonObject refreshed = again.bodyAsJsonObject();
    assertThat(refreshed.getString("id")).isEqualTo(created.getString("id"));
    assertThat(refreshed.getString("appVersion")).isEqualTo("1.1.0");
    assertThat(refreshed.getString("locale")).isEqualTo("en");
    assertThat(refreshed.getString("lastSeenAt")).isGreaterThan(created.getString("lastSeenAt"));
    assertThat(count(env, "SELECT count(*) FROM device WHERE token = 'dev-token-1'")).isEqualTo(1);

    JsonArray items = list(env, at).bodyAsJsonObject().getJsonArray("items");
    assertThat(items).hasSize(1);
    assertThat(items.getJsonObject(0).getString("token")).isEqualTo("dev-token-1");
  }

  @Test
  void aTokenRegisteredByAnotherAccountMovesToIt(TestEnvironment env) {
    String hanjiang = login(env, "supervisor.hanjiang");
    String tongzhou = login(env, "supervisor.tongzhou");
    String id = registerDevice(env, hanjiang, new JsonObject().put("token", "moving-token").put("platform", "ios"))
        .bodyAsJsonObject().getString("id");
    HttpResponse<Buffer> moved = registerDevice(env, tongzhou,
        new JsonObject().put("token", "moving-token").put("platform", "ios"));
    assertThat(moved.statusCode()).isEqualTo(200);
    assertThat(count(env, "SELECT count(*) FROM device WHERE token = 'moving-token' AND account_id = ?",
        Alerts.accountId("supervisor.tongzhou"))).isEqualTo(1);
    assertThat(list(env, hanjiang).bodyAsJsonObject().getJsonArray("items").stream()
        .map(o -> ((JsonObject) o).getString("token"))).doesNotContain("moving-token");
    // The former owner can no longer remove it: it is not theirs.
    assertProblem(delete(env, hanjiang, id), 404, "urn:frontline:problem:not-found");
    assertThat(count(env, "SELECT count(*) FROM device WHERE id = ?::uuid AND retired_at IS NULL", id)).isEqualTo(1);
  }

  @Test
  void deleteRetiresOnlyTheCallersOwnDevice(TestEnvironment env) {
    String xu = login(env, "officer.xu");
    String zhang = login(env, "officer.zhang");
    String id = registerDevice(env, xu, new JsonObject().put("token", "xu-phone").put("platform", "android"))
        .bodyAsJsonObject().getString("id");
    assertProblem(delete(env, zhang, id), 404, "urn:frontline:problem:not-found");
    assertProblem(delete(env, xu, UUID.randomUUID().toString()), 404, "urn:frontline:problem:not-found");
    assertThat(delete(env, xu, id).statusCode()).isEqualTo(204);
    assertThat(count(env, "SELECT count(*) FROM device WHERE id = ?::uuid AND retired_reason = 'DELETED'", id))
        .isEqualTo(1);
    assertThat(list(env, xu).bodyAsJsonObject().getJsonArray("items")).isEmpty();
    assertProblem(delete(env, xu, id), 404, "urn:frontline:problem:not-found");
    // Registering it again brings it back.
    assertThat(registerDevice(env, xu, new JsonObject().put("token", "xu-phone").put("platform", "android"))
        .statusCode()).isEqualTo(200);
    assertThat(list(env, xu).bodyAsJsonObject().getJsonArray("items")).hasSize(1);
  }

  @Test
  void anUnknownPlatformIsRefused(TestEnvironment env) {
    JsonObject p = assertProblem(registerDevice(env, login(env, "officer.xu"),
        new JsonObject().put("token", "t").put("platform", "blackberry")), 400, "urn:frontline:problem:validation-failed");
    assertThat(p.encode()).contains("body/platform");
  }

  @Test
  void aMissingTokenIsRefused(TestEnvironment env) {
    JsonObject p = assertProblem(registerDevice(env, login(env, "officer.xu"),
        new JsonObject().put("platform", "web")), 400, "urn:frontline:problem:validation-failed");
    assertThat(p.encode()).contains("body/token");
  }

  /**
   * The contract took any string of up to 4096 characters, but the token's unique index holds at most 2704 bytes: a
   * token of 4096 ASCII characters, or 1500 Chinese ones (4500 bytes), failed the insert with a 500. FCM and APNs
   * tokens are visible ASCII, far shorter: anything else is the token's 400, and nothing is stored.
   */
  @Test
  void tokensOutsideVisibleAsciiOrOver2048CharactersAre400AndStoreNothing(TestEnvironment env) {
    String at = login(env, "officer.zhang");
    java.util.Random random = new java.util.Random(7);
    StringBuilder ascii = new StringBuilder();
    StringBuilder chinese = new StringBuilder();
    for (int i = 0; i < 4096; i++) {
      ascii.append((char) ('!' + random.nextInt('~' - '!' + 1)));
      chinese.append((char) (0x4E00 + random.nextInt(20000)));
    }
    long before = count(env, "SELECT count(*) FROM device");
    for (String token : java.util.List.of(ascii.toString(), ascii.substring(0, 2049), chinese.substring(0, 1500),
        " ", "two words", "tok\u00e9n", "line\nbreak")) {
      JsonObject p = assertProblem(registerDevice(env, at, new JsonObject().put("token", token)
          .put("platform", "android")), 400, "urn:frontline:problem:validation-failed");
      assertThat(p.getJsonArray("errors").getJsonObject(0).getString("field")).as(token.substring(0,
          Math.min(20, token.length()))).isEqualTo("body/token");
    }
    assertThat(count(env, "SELECT count(*) FROM device")).isEqualTo(before);

    String longest = ascii.substring(0, 2048);
    HttpResponse<Buffer> created = registerDevice(env, at, new JsonObject().put("token", longest)
        .put("platform", "android"));
    assertThat(created.statusCode()).as(created.bodyAsString()).isEqualTo(201);
    assertThat(created.bodyAsJsonObject().getString("token")).isEqualTo(longest);
    assertThat(count(env, "SELECT count(*) FROM device WHERE token = ? AND account_id = ? AND retired_at IS NULL",
        longest, Alerts.accountId("officer.zhang"))).isEqualTo(1);
    assertThat(delete(env, at, created.bodyAsJsonObject().getString("id")).statusCode()).isEqualTo(204);
  }

  @Test
  void devicesNeedAnAccessToken(TestEnvironment env) {
    assertProblem(await(env.client().get("/v1/devices").send()), 401, "urn:frontline:problem:unauthorized");
  }

  @Test
  void tokensIdleBeyond270DaysAreRetiredBySweep(TestEnvironment env) throws Exception {
    String at = login(env, "officer.zhang");
    registerDevice(env, at, new JsonObject().put("token", "old-phone").put("platform", "android"));
    registerDevice(env, at, new JsonObject().put("token", "new-phone").put("platform", "android"));
    Alerts.update(env, "UPDATE device SET last_seen_at = now() - interval '271 days' WHERE token = 'old-phone'");
    int retired = await(new DeviceRepository(env.app().database().pool()).retireIdle());
    assertThat(retired).isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM device WHERE token = 'old-phone' AND retired_reason = 'IDLE'"))
        .isEqualTo(1);
    assertThat(list(env, at).bodyAsJsonObject().getJsonArray("items")).hasSize(1);
  }

  /**
   * 2,500 idle tokens are retired in batches by two sweeps at once, each token once; one a registration holds (its
   * row locked) neither stops the sweeps nor is retired under it: it is left for a later sweep. The single UPDATE
   * waited on that lock with every other idle row locked meanwhile.
   */
  @Test
  void idleTokensAreRetiredInBatchesAndOneHeldByAWriterIsLeftForLater(TestEnvironment env) throws Exception {
    UUID account = Alerts.accountId("officer.xu");
    Alerts.update(env, "INSERT INTO device (id, account_id, token, platform, last_seen_at) SELECT gen_random_uuid(),"
        + " ?, 'idle-batch-' || g, 'android', now() - interval '300 days' FROM generate_series(1, 2500) g", account);
    DeviceRepository devices = new DeviceRepository(env.app().database().pool());
    try (java.sql.Connection held = env.jdbc(); var st = held.createStatement()) {
      held.setAutoCommit(false);
      st.execute("SELECT 1 FROM device WHERE token = 'idle-batch-7' FOR UPDATE");
      var one = devices.retireIdle();
      var two = devices.retireIdle();
      int retired = one.toCompletionStage().toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS)
          + two.toCompletionStage().toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS);
      assertThat(retired).isEqualTo(2499);
      assertThat(count(env, "SELECT count(*) FROM device WHERE token LIKE 'idle-batch-%' AND retired_reason = 'IDLE'"))
          .isEqualTo(2499);
      assertThat(count(env, "SELECT count(*) FROM device WHERE token = 'idle-batch-7' AND retired_at IS NULL"))
          .isEqualTo(1);
      held.rollback();
      assertThat(await(devices.retireIdle())).isEqualTo(1);
      assertThat(count(env, "SELECT count(*) FROM device WHERE token LIKE 'idle-batch-%' AND retired_at IS NULL"))
          .isZero();
      assertThat(list(env, login(env, "officer.xu")).bodyAsJsonObject().getJsonArray("items").stream()
          .map(i -> ((JsonObject) i).getString("token")).filter(t -> t.startsWith("idle-batch-")).toList()).isEmpty();
    } finally {
      Alerts.update(env, "DELETE FROM device WHERE token LIKE 'idle-batch-%'");
    }
  }

  @Test
  void anAccountKeepsAtMostTenLiveDevicesTheLeastRecentlySeenGoFirst(TestEnvironment env) throws Exception {
    String at = login(env, "assessor.tongzhou");
    UUID account = Alerts.accountId("assessor.tongzhou");
    String live = "SELECT count(*) FROM device WHERE account_id = ? AND retired_at IS NULL";
    try {
      for (int i = 1; i <= 12; i++) {
        assertThat(registerDevice(env, at, new JsonObject().put("token", "cap-" + i).put("platform", "android"))
            .statusCode()).isEqualTo(201);
      }
      assertThat(count(env, live, account)).isEqualTo(DeviceRepository.MAX_LIVE_PER_ACCOUNT);
      assertThat(count(env, "SELECT count(*) FROM device WHERE token IN ('cap-1', 'cap-2')"
          + " AND retired_reason = 'REPLACED'")).isEqualTo(2);
      JsonArray items = list(env, at).bodyAsJsonObject().getJsonArray("items");
      assertThat(items).hasSize(10);
      assertThat(items.getJsonObject(0).getString("token")).isEqualTo("cap-12");

      // The first phone comes back: it is live again, and the least recently seen of the others makes room.
      assertThat(registerDevice(env, at, new JsonObject().put("token", "cap-1").put("platform", "android"))
          .statusCode()).isEqualTo(200);
      assertThat(count(env, "SELECT count(*) FROM device WHERE token = 'cap-1' AND retired_at IS NULL")).isEqualTo(1);
      assertThat(count(env, "SELECT count(*) FROM device WHERE token = 'cap-3' AND retired_reason = 'REPLACED'"))
          .isEqualTo(1);
      assertThat(count(env, live, account)).isEqualTo(10);

      // Twenty registrations at once: still ten live devices, among them every one of the last answered.
      java.util.List<io.vertx.core.Future<HttpResponse<Buffer>>> all = new java.util.ArrayList<>();
      for (int i = 0; i < 20; i++) {
        all.add(env.client().post("/v1/devices").putHeader("Authorization", "Bearer " + at)
            .sendJsonObject(new JsonObject().put("token", "burst-" + i).put("platform", "ios")));
      }
      await(io.vertx.core.Future.all(all));
      all.forEach(f -> assertThat(f.result().statusCode()).isEqualTo(201));
      assertThat(count(env, live, account)).isEqualTo(10);
      assertThat(count(env, "SELECT count(*) FROM device WHERE account_id = ? AND token LIKE 'burst-%'", account))
          .isEqualTo(20);
      // Another account's devices are never counted nor retired by these.
      assertThat(count(env, "SELECT count(*) FROM device WHERE retired_reason = 'REPLACED' AND account_id <> ?",
          account)).isZero();
    } finally {
      Alerts.update(env, "UPDATE device SET retired_at = now(), retired_reason = 'DELETED'"
          + " WHERE account_id = ? AND retired_at IS NULL", account);
    }
  }
}
