package org.frontline.platform.push;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import org.frontline.Frontline;
import org.frontline.config.ConfigLoader;
import org.frontline.config.FrontlineConfig;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.testing.TestEnvironment.await;

/** GET /dev/pushes: on the management port in dev mode (recording gateway), absent in production. */
@FrontlineTest
class DevPushesTest {

  @Test
  void productionHasNoDevView(TestEnvironment env) {
    Vertx vertx = Vertx.vertx();
    try {
      WebClient client = WebClient.create(vertx);
      int port = env.app().config().http().managementPort();
      assertThat(env.app().config().mode()).isEqualTo(FrontlineConfig.Mode.PRODUCTION);
      assertThat(await(client.get(port, "127.0.0.1", "/dev/pushes").send()).statusCode()).isEqualTo(404);
      assertThat(await(client.get(port, "127.0.0.1", "/health/live").send()).statusCode()).isEqualTo(200);
    } finally {
      vertx.close();
    }
  }

  @Test
  void devModeListsWhatWouldHaveBeenPushedNewestFirst(TestEnvironment env) throws Exception {
    Map<String, String> settings = new HashMap<>(env.settings());
    settings.put("FRONTLINE_HTTP_PORT", String.valueOf(TestEnvironment.freePort()));
    settings.put("FRONTLINE_MANAGEMENT_PORT", String.valueOf(TestEnvironment.freePort()));
    FrontlineConfig config = ConfigLoader.load(FrontlineConfig.Mode.DEV, settings, Map.of());
    Frontline dev = Frontline.start(config).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    Vertx vertx = Vertx.vertx();
    try {
      assertThat(dev.push()).isInstanceOf(RecordingPushGateway.class);
      await(dev.push().send(List.of(
          new PushMessage("device-token-000001", "First", "one", Map.of("reportId", "r1"), "r1", true,
              Duration.ofHours(1)),
          new PushMessage("device-token-000002", "新的现场报告", "槐泗镇 提交了一份现场报告。",
              Map.of("eventType", "report.completed", "reportId", "r2"), "r2", true, Duration.ofHours(1)))));
      WebClient client = WebClient.create(vertx);
      HttpResponse<Buffer> r = await(client.get(config.http().managementPort(), "127.0.0.1", "/dev/pushes").send());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.getHeader("Content-Type")).isEqualTo("application/json");
      JsonObject body = r.bodyAsJsonObject();
      assertThat(body.getString("gateway")).isEqualTo("recording");
      assertThat(body.getInteger("total")).isEqualTo(2);
      JsonArray pushes = body.getJsonArray("pushes");
      assertThat(pushes).hasSize(2);
      JsonObject newest = pushes.getJsonObject(0);
      assertThat(newest.getString("title")).isEqualTo("新的现场报告");
      assertThat(newest.getString("body")).isEqualTo("槐泗镇 提交了一份现场报告。");
      assertThat(newest.getString("token")).isEqualTo("device…0002");
      assertThat(newest.getString("collapseKey")).isEqualTo("r2");
      assertThat(newest.getJsonObject("data").getMap()).containsEntry("eventType", "report.completed")
          .containsEntry("reportId", "r2");
      assertThat(newest.getString("id")).startsWith("recorded-");
      assertThat(pushes.getJsonObject(1).getString("title")).isEqualTo("First");

      HttpResponse<Buffer> limited = await(client.get(config.http().managementPort(), "127.0.0.1",
          "/dev/pushes?limit=1").send());
      assertThat(limited.bodyAsJsonObject().getJsonArray("pushes")).hasSize(1);
    } finally {
      vertx.close();
      dev.stop().get(30, TimeUnit.SECONDS);
    }
  }
}
