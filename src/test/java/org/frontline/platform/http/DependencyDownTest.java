package org.frontline.platform.http;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.LogCapture;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

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

    LogCapture log = LogCapture.of(Problems.class, "%requestId %msg%n");
    env.stopPostgres();
    try (log) {
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
      assertThat(log.text()).contains("db-down-check-1 503 on POST /v1/auth/login");
    } finally {
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

  /**
   * PostgreSQL shutting down (or starting up) refuses new sessions with FATAL 57P03 "the database system is shutting
   * down": a request whose pool had to connect then is the database unavailable (503 naming it, Retry-After, one
   * WARN line), not an internal error with a stack trace per request; nothing of it is written, and the pool
   * connects again once the database is back. A smart shutdown (SIGTERM) keeps the server refusing new sessions while
   * one of the test's stays open; the service's own sessions are ended so that its pool must connect.
   */
  @Test
  void aDatabaseShuttingDownIsUnavailableNotAnInternalError(TestEnvironment env) throws Exception {
    assumeThat(env.postgres()).as("needs the embedded PostgreSQL, which the test can stop").isNotNull();
    assertThat(await(env.client().post("/v1/auth/login").sendJsonObject(LOGIN)).statusCode()).isEqualTo(200);

    LogCapture log = LogCapture.of(Problems.class, "%level %requestId %msg%n");
    try (log; java.sql.Connection held = env.jdbc(); java.sql.Statement st = held.createStatement()) {
      String dataDir = env.string("SHOW data_directory");
      long postmaster = Long.parseLong(java.nio.file.Files.readAllLines(
          java.nio.file.Path.of(dataDir, "postmaster.pid")).get(0).strip());
      ProcessHandle.of(postmaster).orElseThrow().destroy(); // SIGTERM: smart shutdown
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> {
        try (java.sql.Connection refused = env.jdbc()) {
          return false;
        } catch (java.sql.SQLException e) {
          return "57P03".equals(e.getSQLState()); // new sessions are refused from now on
        }
      });
      st.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'frontline'");

      for (int i = 1; i <= 3; i++) {
        HttpResponse<Buffer> r = await(env.client().post("/v1/auth/login")
            .putHeader("X-Request-Id", "db-shutting-down-" + i).sendJsonObject(LOGIN));
        JsonObject problem = ProblemsAndContractTest.assertProblem(r, 503,
            "urn:frontline:problem:dependency-unavailable");
        assertThat(problem.getString("dependency")).isEqualTo("database");
        assertThat(r.getHeader("Retry-After")).isEqualTo("5");
      }
      assertThat(log.text()).contains("WARN db-shutting-down-1 503 on POST /v1/auth/login")
          .doesNotContain("ERROR", "unhandled failure", "57P03");
    } finally {
      env.stopPostgres();
      env.restartPostgres();
    }

    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20))
        .until(() -> await(env.client().post("/v1/auth/login").sendJsonObject(LOGIN)).statusCode() == 200);
    // The refused logins wrote nothing.
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE request_id LIKE 'db-shutting-down-%'")).isZero();
  }

  /**
   * A handler's query on a pooled connection PostgreSQL had just closed fails with "Connection is not active now":
   * the database unreachable (503 naming it), not an internal error (a 500, as the message has no lower-case
   * "closed").
   */
  @Test
  void aQueryOnAConnectionTheServerClosedIsTheDatabaseUnavailable(TestEnvironment env) throws Exception {
    Throwable failure = org.frontline.testing.DatabaseFailures.queryOnAConnectionTheServerClosed(env);

    assertThat(Problems.isConnectionFailure(failure)).as(failure.toString()).isTrue();
  }
}
