package org.frontline;

import io.vertx.core.Future;
import org.frontline.config.ConfigLoader;
import org.frontline.config.FrontlineConfig;
import org.frontline.platform.push.RecordingPushGateway;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * FRONTLINE_ROLES: a process runs the API, the workers, or both. Started here beside the test service, on the same
 * database, each with its own ports.
 */
@FrontlineTest
class ProcessRolesTest {
  private static final HttpClient HTTP = TestEnvironment.checkedHttp();

  @Test
  void anApiOnlyProcessServesTheApiAndRunsNoWorker(TestEnvironment env) throws Exception {
    Map<String, String> settings = settings(env, "api");
    Frontline app = start(settings);
    try {
      HttpResponse<String> login = HTTP.send(HttpRequest.newBuilder(api(settings, "/v1/auth/login"))
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString("{\"username\":\"officer.xu\",\"password\":\"frontline-dev\"}"))
          .build(), HttpResponse.BodyHandlers.ofString());
      assertThat(login.statusCode()).as(login.body()).isEqualTo(200);
      assertThat(get(management(settings, "/health/ready")).statusCode()).isEqualTo(200);
      // No dispatcher here: its push counters are registered by the dispatcher only.
      String metrics = get(management(settings, "/metrics")).body();
      assertThat(metrics).contains("frontline_account_cache_listening").doesNotContain("frontline_push_sent_total");
    } finally {
      app.stop().get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void aWorkersOnlyProcessListensOnNoApiPort(TestEnvironment env) throws Exception {
    Map<String, String> settings = settings(env, "workers");
    Frontline app = start(settings);
    try {
      assertThat(get(management(settings, "/health/ready")).statusCode()).isEqualTo(200);
      assertThat(get(management(settings, "/metrics")).body()).contains("frontline_push_sent_total");
      assertThatThrownBy(() -> get(api(settings, "/v1/me"))).isInstanceOf(ConnectException.class);
    } finally {
      app.stop().get(30, TimeUnit.SECONDS);
    }
  }

  private static Map<String, String> settings(TestEnvironment env, String roles) {
    Map<String, String> settings = new HashMap<>(env.settings());
    settings.put("FRONTLINE_ROLES", roles);
    settings.put("FRONTLINE_HTTP_PORT", String.valueOf(TestEnvironment.freePort()));
    settings.put("FRONTLINE_MANAGEMENT_PORT", String.valueOf(TestEnvironment.freePort()));
    return settings;
  }

  private static Frontline start(Map<String, String> settings) throws Exception {
    FrontlineConfig config = ConfigLoader.load(FrontlineConfig.Mode.PRODUCTION, settings, Map.of());
    return Frontline.start(config, (vertx, blocking) -> Future.succeededFuture(new RecordingPushGateway()))
        .toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  private static URI api(Map<String, String> settings, String path) {
    return URI.create("http://127.0.0.1:" + settings.get("FRONTLINE_HTTP_PORT") + path);
  }

  private static URI management(Map<String, String> settings, String path) {
    return URI.create("http://127.0.0.1:" + settings.get("FRONTLINE_MANAGEMENT_PORT") + path);
  }

  private static HttpResponse<String> get(URI uri) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
  }
}
