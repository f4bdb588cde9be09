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

  /**
   * Readiness asks whether the dependencies answer, not whether this instance's pools have room: with every
   * connection of the database pool held and every thread of the blocking pool busy (a load peak), it stays 200,
   * where it was a 503 after its 3 s check timeout (a load balancer would then take every busy instance out at once).
   */
  @Test
  void readinessStaysUpWhileThePoolsAreBusy(TestEnvironment env) throws Exception {
    io.vertx.sqlclient.Pool pool = env.app().database().pool();
    java.util.List<io.vertx.sqlclient.SqlConnection> held = new java.util.ArrayList<>();
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    java.util.List<io.vertx.core.Future<Object>> busy = new java.util.ArrayList<>();
    try {
      for (int i = 0; i < env.app().config().database().poolSize(); i++) {
        held.add(TestEnvironment.await(pool.getConnection()));
      }
      for (int i = 0; i < env.app().config().workerPoolSize(); i++) {
        busy.add(env.app().blocking().executeBlocking(() -> release.await(30, java.util.concurrent.TimeUnit.SECONDS),
            false));
      }
      HttpResponse<String> r = get(env, "/health/ready");
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      io.vertx.core.json.JsonObject body = new io.vertx.core.json.JsonObject(r.body());
      assertThat(statusOf(body, "database")).isEqualTo("UP");
      assertThat(statusOf(body, "object-store")).isEqualTo("UP");
    } finally {
      release.countDown();
      held.forEach(c -> c.close());
      busy.forEach(TestEnvironment::await);
    }
  }

  /**
   * A store that takes connections and never answers (hung, not down) is DOWN once its check has waited 3 s: 503
   * naming it, as for a store that refuses connections (the health checks' own timeout answered 500).
   */
  @Test
  void aStoreThatNeverAnswersMakesReadiness503NamingIt(TestEnvironment env) throws Exception {
    int port = env.s3().port();
    env.s3().stop();
    java.util.List<java.net.Socket> accepted = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.net.ServerSocket silent = new java.net.ServerSocket();
    Thread acceptor = new Thread(() -> {
      try {
        while (true) {
          accepted.add(silent.accept()); // read nothing, answer nothing
        }
      } catch (java.io.IOException closed) {
        // the test is over
      }
    }, "silent-store");
    try {
      silent.setReuseAddress(true);
      silent.bind(new java.net.InetSocketAddress("127.0.0.1", port));
      acceptor.setDaemon(true);
      acceptor.start();
      HttpResponse<String> r = get(env, "/health/ready");
      assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
      io.vertx.core.json.JsonObject body = new io.vertx.core.json.JsonObject(r.body());
      assertThat(statusOf(body, "object-store")).isEqualTo("DOWN");
      assertThat(statusOf(body, "database")).isEqualTo("UP");
      assertThat(r.body()).contains("no answer within 3 s");
      assertThat(accepted).as("the check reached the silent store").isNotEmpty();
    } finally {
      silent.close();
      acceptor.join(5_000);
      // Reset, not closed: a closing socket would hold the port (FIN_WAIT) and the store could not bind it again.
      for (java.net.Socket socket : accepted) {
        socket.setSoLinger(true, 0);
        socket.close();
      }
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> {
        env.s3().restart();
        return true;
      });
    }
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20))
        .until(() -> get(env, "/health/ready").statusCode() == 200);
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

  @Test
  void readinessSaysDownAsSoonAsTheServiceStopsWhileAnInFlightWriteFinishes(TestEnvironment env) throws Exception {
    // A process of its own (API only), with a grace period long enough to look at it while it drains.
    java.util.Map<String, String> settings = new java.util.HashMap<>(env.settings());
    settings.put("FRONTLINE_ROLES", "api");
    settings.put("FRONTLINE_HTTP_PORT", String.valueOf(TestEnvironment.freePort()));
    settings.put("FRONTLINE_MANAGEMENT_PORT", String.valueOf(TestEnvironment.freePort()));
    settings.put("FRONTLINE_SHUTDOWN_GRACE_SECONDS", "30");
    var config = org.frontline.config.ConfigLoader.load(org.frontline.config.FrontlineConfig.Mode.PRODUCTION,
        settings, java.util.Map.of());
    org.frontline.Frontline app = org.frontline.Frontline.start(config, (vertx, blocking) ->
            io.vertx.core.Future.succeededFuture(new org.frontline.platform.push.RecordingPushGateway()))
        .toCompletionStage().toCompletableFuture().get(60, java.util.concurrent.TimeUnit.SECONDS);
    java.net.URI management = java.net.URI.create("http://127.0.0.1:" + config.http().managementPort());
    try {
      HttpResponse<String> login = http.send(HttpRequest.newBuilder(
              java.net.URI.create("http://127.0.0.1:" + config.http().port() + "/v1/auth/login"))
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(
              "{\"username\":\"officer.zhang\",\"password\":\"frontline-dev\"}"))
          .build(), HttpResponse.BodyHandlers.ofString());
      assertThat(login.statusCode()).as(login.body()).isEqualTo(200);
      String token = new io.vertx.core.json.JsonObject(login.body()).getString("access_token");
      String deviceToken = "shutdown-" + java.util.UUID.randomUUID();
      byte[] body = new io.vertx.core.json.JsonObject().put("token", deviceToken).put("platform", "android").encode()
          .getBytes(java.nio.charset.StandardCharsets.UTF_8);
      try (java.net.Socket socket = new java.net.Socket("127.0.0.1", config.http().port())) {
        socket.setSoTimeout(20_000);
        var out = socket.getOutputStream();
        out.write(("POST /v1/devices HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token
            + "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " + body.length
            + "\r\n\r\n")
            .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        // The server has the request (its body handler asks for the body) before the stop begins.
        var in = new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(),
            java.nio.charset.StandardCharsets.US_ASCII));
        assertThat(in.readLine()).isEqualTo("HTTP/1.1 100 Continue");
        assertThat(in.readLine()).isEmpty();
        assertThat(readiness(management).statusCode()).isEqualTo(200);

        java.util.concurrent.CompletableFuture<Void> stopped = app.stop();
        // Draining: not ready (every check says why), yet alive, and the write in flight is still served.
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5))
            .until(() -> readiness(management).statusCode() == 503);
        io.vertx.core.json.JsonObject ready = new io.vertx.core.json.JsonObject(readiness(management).body());
        assertThat(ready.getString("status")).isEqualTo("DOWN");
        assertThat(statusOf(ready, "database")).isEqualTo("DOWN");
        assertThat(http.send(HttpRequest.newBuilder(management.resolve("/health/live")).build(),
            HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
        assertThat(stopped).isNotDone();

        out.write(body);
        out.flush();
        assertThat(in.readLine()).isEqualTo("HTTP/1.1 201 Created");
        stopped.get(30, java.util.concurrent.TimeUnit.SECONDS);
      }
      try (var c = env.jdbc(); var st = c.prepareStatement("SELECT count(*) FROM device WHERE token = ?")) {
        st.setString(1, deviceToken);
        try (var rs = st.executeQuery()) {
          rs.next();
          assertThat(rs.getInt(1)).isEqualTo(1);
        }
      }
    } finally {
      app.stop().get(30, java.util.concurrent.TimeUnit.SECONDS);
    }
  }

  private static HttpResponse<String> readiness(java.net.URI management) throws Exception {
    return http.send(HttpRequest.newBuilder(management.resolve("/health/ready")).timeout(Duration.ofSeconds(15))
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  static String statusOf(io.vertx.core.json.JsonObject body, String id) {
    return body.getJsonArray("checks").stream().map(c -> (io.vertx.core.json.JsonObject) c)
        .filter(c -> c.getString("id").equals(id)).findFirst().orElseThrow().getString("status");
  }
}
