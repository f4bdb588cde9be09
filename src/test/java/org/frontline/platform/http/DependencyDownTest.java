package org.frontline.platform.http;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.frontline.testing.TestEnvironment.await;

/** When PostgreSQL goes away, readiness names it and the API answers 503 problems promptly instead of hanging. */
@FrontlineTest
class DependencyDownTest {

  private static final JsonObject LOGIN = new JsonObject().put("username", "officer.xu").put("password", "frontline-dev");

  @Test
  void databaseDownGivesReadiness503AndApi503WithRetryAfterThenRecovers(TestEnvironment env) throws Exception {
    assumeThat(env.postgres()).as("needs the embedded PostgreSQL, which the test can stop").isNotNull();
    assertThat(await(env.client().post("/v1/auth/login").sendJsonObject(LOGIN)).statusCode()).isEqualTo(200);

    ByteArrayOutputStream log = new ByteArrayOutputStream();
    OutputStreamAppender<ILoggingEvent> appender = capture(log);
    env.stopPostgres();
    try {
      var ready = ManagementTest.get(env, "/health/ready");
      assertThat(ready.statusCode()).isEqualTo(503);
      JsonObject readiness = new JsonObject(ready.body());
      assertThat(ManagementTest.statusOf(readiness, "database")).isEqualTo("DOWN");
      assertThat(ManagementTest.statusOf(readiness, "object-store")).isEqualTo("UP");

      long t0 = System.nanoTime();
      HttpResponse<Buffer> r = await(env.client().post("/v1/auth/login")
          .putHeader("X-Request-Id", "db-down-check-1").sendJsonObject(LOGIN));
      Duration took = Duration.ofNanos(System.nanoTime() - t0);
      JsonObject problem = ProblemsAndContractTest.assertProblem(r, 503, "urn:frontline:problem:dependency-unavailable");
      assertThat(problem.getString("dependency")).isEqualTo("database");
      assertThat(r.getHeader("Retry-After")).isEqualTo("5");
      assertThat(took).isLessThan(Duration.ofSeconds(10));
      // the request id is in the log line written while serving that request
      assertThat(log.toString(StandardCharsets.UTF_8)).contains("db-down-check-1 503 on POST /v1/auth/login");
    } finally {
      ((Logger) LoggerFactory.getLogger(Problems.class)).detachAppender(appender);
      env.restartPostgres();
    }

    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20))
        .until(() -> ManagementTest.get(env, "/health/ready").statusCode() == 200);
    // The pool reconnects: the same login works again and nothing was lost.
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20))
        .until(() -> await(env.client().post("/v1/auth/login").sendJsonObject(LOGIN)).statusCode() == 200);
    try (var c = env.jdbc(); var st = c.createStatement(); var rs = st.executeQuery("SELECT count(*) FROM account")) {
      rs.next();
      assertThat(rs.getInt(1)).isEqualTo(6);
    }
  }

  private static OutputStreamAppender<ILoggingEvent> capture(ByteArrayOutputStream out) {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern("%requestId %msg%n");
    encoder.start();
    OutputStreamAppender<ILoggingEvent> appender = new OutputStreamAppender<>();
    appender.setContext(context);
    appender.setEncoder(encoder);
    appender.setOutputStream(out);
    appender.start();
    ((Logger) LoggerFactory.getLogger(Problems.class)).addAppender(appender);
    return appender;
  }
}
