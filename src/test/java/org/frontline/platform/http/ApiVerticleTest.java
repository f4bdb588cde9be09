package org.frontline.platform.http;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import org.frontline.config.FrontlineConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.frontline.testing.TestEnvironment.await;

/**
 * The API server's own behaviour, on a small contract of its own: internal failures leave no internals, a
 * request past its time gets a 503 problem, and a graceful stop finishes in-flight requests but takes no new ones.
 */
class ApiVerticleTest {
  private Vertx vertx;
  private WebClient client;
  private String deployment;

  private void deploy(Duration requestTimeout, Duration grace) throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    FrontlineConfig.Http http = new FrontlineConfig.Http("127.0.0.1", port, "127.0.0.1", 0, 65536, requestTimeout, grace);
    ApiRoutes routes = () -> Map.<String, Handler<RoutingContext>>of(
        "boom", rc -> {
          throw new IllegalStateException("secret internal detail: password=hunter2");
        },
        "slow", rc -> {
          long ms = Long.parseLong(rc.request().getParam("ms"));
          vertx.setTimer(Math.max(1, ms), t -> rc.response().putHeader("Content-Type", "text/plain").end("done"));
        });
    deployment = await(vertx.deployVerticle(new ApiVerticle("platform-test-api.yaml", http, List.of(routes))));
    client = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(port)
        .setKeepAlive(false));
  }

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
  }

  @AfterEach
  void tearDown() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void anUnexpectedFailureIsA500ProblemWithoutInternals() throws Exception {
    deploy(Duration.ofSeconds(30), Duration.ofSeconds(1));
    HttpResponse<Buffer> r = await(client.get("/boom").send());
    ProblemsAndContractTest.assertProblem(r, 500, "urn:frontline:problem:internal");
    assertThat(r.bodyAsString()).doesNotContain("secret").doesNotContain("hunter2").doesNotContain("IllegalState");
    assertThat(r.bodyAsJsonObject().getString("detail")).contains("request id");
  }

  @Test
  void aRequestPastItsTimeIsA503ProblemWithRetryAfter() throws Exception {
    deploy(Duration.ofSeconds(1), Duration.ofSeconds(1));
    HttpResponse<Buffer> r = await(client.get("/slow?ms=3000").send());
    ProblemsAndContractTest.assertProblem(r, 503, "urn:frontline:problem:timeout");
    assertThat(r.getHeader("Retry-After")).isEqualTo("5");
  }

  @Test
  void invalidQueryParameterIsNamed() throws Exception {
    deploy(Duration.ofSeconds(30), Duration.ofSeconds(1));
    HttpResponse<Buffer> r = await(client.get("/slow?ms=-5").send());
    var problem = ProblemsAndContractTest.assertProblem(r, 400, "urn:frontline:problem:validation-failed");
    assertThat(problem.getJsonArray("errors").getJsonObject(0).getString("field")).as(r.bodyAsString()).isEqualTo("query/ms");

    HttpResponse<Buffer> missing = await(client.get("/slow").send());
    var missingProblem = ProblemsAndContractTest.assertProblem(missing, 400, "urn:frontline:problem:validation-failed");
    assertThat(missingProblem.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("query/ms");

    HttpResponse<Buffer> notANumber = await(client.get("/slow?ms=soon").send());
    var nanProblem = ProblemsAndContractTest.assertProblem(notANumber, 400, "urn:frontline:problem:validation-failed");
    assertThat(nanProblem.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("query/ms");
  }

  @Test
  void gracefulStopFinishesInFlightRequestsAndRefusesNewOnes() throws Exception {
    deploy(Duration.ofSeconds(30), Duration.ofSeconds(5));
    Future<HttpResponse<Buffer>> inFlight = client.get("/slow?ms=1500").send();
    Thread.sleep(300); // the request is being served
    long t0 = System.nanoTime();
    Future<Void> undeployed = vertx.undeploy(deployment);

    HttpResponse<Buffer> r = await(inFlight);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.bodyAsString()).isEqualTo("done");
    await(undeployed);
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
    assertThatThrownBy(() -> await(client.get("/slow?ms=1").send())).hasMessageContaining("Connection refused");
  }

  @Test
  void gracefulStopIsBoundedByTheGracePeriod() throws Exception {
    deploy(Duration.ofSeconds(30), Duration.ofSeconds(1));
    Future<HttpResponse<Buffer>> tooSlow = client.get("/slow?ms=20000").send();
    Thread.sleep(300);
    long t0 = System.nanoTime();
    await(vertx.undeploy(deployment));
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(4));
    assertThatThrownBy(() -> await(tooSlow)).isNotNull();
  }
}
