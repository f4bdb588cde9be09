package org.frontline.platform.http;

import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

@FrontlineTest
class ManagementTest {
  private static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  static HttpResponse<String> get(TestEnvironment env, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(env.managementUri(path)).timeout(Duration.ofSeconds(15)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void liveness(TestEnvironment env) throws Exception {
    HttpResponse<String> r = get(env, "/health/live");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("{\"status\":\"UP\"}");
  }

  @Test
  void readinessReportsEachDependency(TestEnvironment env) throws Exception {
    HttpResponse<String> r = get(env, "/health/ready");
    assertThat(r.statusCode()).isEqualTo(200);
    io.vertx.core.json.JsonObject body = new io.vertx.core.json.JsonObject(r.body());
    assertThat(body.getString("status")).isEqualTo("UP");
    assertThat(body.getJsonArray("checks").stream().map(c -> ((io.vertx.core.json.JsonObject) c).getString("id")))
        .containsExactlyInAnyOrder("database", "object-store");
  }

  @Test
  void objectStoreDownMakesReadiness503NamingIt(TestEnvironment env) throws Exception {
    env.s3().stop();
    try {
      HttpResponse<String> r = get(env, "/health/ready");
      assertThat(r.statusCode()).isEqualTo(503);
      io.vertx.core.json.JsonObject body = new io.vertx.core.json.JsonObject(r.body());
      assertThat(body.getString("status")).isEqualTo("DOWN");
      assertThat(statusOf(body, "object-store")).isEqualTo("DOWN");
      assertThat(statusOf(body, "database")).isEqualTo("UP");
    } finally {
      env.s3().restart();
    }
    assertThat(get(env, "/health/ready").statusCode()).isEqualTo(200);
  }

  @Test
  void metricsArePrometheusTextWithServerPoolJvmAndWorkerPool(TestEnvironment env) throws Exception {
    get(env, "/health/ready"); // exercises the database pool and the worker pool
    java.net.http.HttpResponse<String> api = http.send(HttpRequest.newBuilder(env.apiUri("/openapi.yaml")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(api.statusCode()).isEqualTo(200);
    HttpResponse<String> r = get(env, "/metrics");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
    assertThat(r.body())
        .contains("vertx_http_server_requests_total")
        .contains("jvm_memory_used_bytes")
        .contains("pool_name=\"frontline-blocking\"")
        .contains("pool_name=\"frontline-db\"");
  }

  /**
   * A method a client makes up counts as OTHER: each one was a new series of every HTTP server meter (a client
   * could grow the registry and the /metrics page without bound).
   */
  @Test
  void madeUpMethodsShareOneMetricsSeries(TestEnvironment env) throws Exception {
    String prefix = "MADEUP" + Long.toString(System.nanoTime(), 36).toUpperCase(java.util.Locale.ROOT);
    for (int i = 0; i < 3; i++) {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(env.apiUri("/v1/me"))
          .method(prefix + i, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(405);
    }
    String metrics = get(env, "/metrics").body();
    assertThat(metrics).doesNotContain(prefix).contains("method=\"OTHER\"").contains("method=\"GET\"");
  }

  static String statusOf(io.vertx.core.json.JsonObject body, String id) {
    return body.getJsonArray("checks").stream().map(c -> (io.vertx.core.json.JsonObject) c)
        .filter(c -> c.getString("id").equals(id)).findFirst().orElseThrow().getString("status");
  }
}
