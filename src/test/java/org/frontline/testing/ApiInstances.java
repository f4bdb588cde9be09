package org.frontline.testing;

import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import org.frontline.Frontline;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * For tests of what every API instance must hear of (identity/EndedSessions, AccountCache): a second instance's
 * client and /metrics ({@link TestEnvironment#startApiInstance}), gauges, waiting for a condition, the listening
 * connection ended, and changes made with the database's notices off.
 */
public final class ApiInstances {
  private ApiInstances() {}

  /** A client of {@code instance}'s API port. */
  public static WebClient clientOf(TestEnvironment env, Frontline instance) {
    return env.checked(WebClient.create(instance.vertx(), new WebClientOptions().setDefaultHost("127.0.0.1")
        .setDefaultPort(instance.config().http().port())));
  }

  /** {@code instance}'s /metrics on its management port. */
  public static URI metricsOf(Frontline instance) {
    return URI.create("http://127.0.0.1:" + instance.config().http().managementPort() + "/metrics");
  }

  /** A gauge's value on a management port's /metrics (-1 when absent). */
  public static double gauge(URI metrics, String name) {
    try {
      String body = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()
          .send(HttpRequest.newBuilder(metrics).build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
      Matcher m = Pattern.compile("(?m)^" + name + "(?:\\{[^}]*\\})? ([0-9.eE+-]+)$").matcher(body);
      return m.find() ? Double.parseDouble(m.group(1)) : -1;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Waits up to 10 s for {@code condition} ({@link Waits#until}). */
  public static void awaitTrue(BooleanSupplier condition, String what) {
    Waits.until(java.time.Duration.ofSeconds(10), what, condition);
  }

  /** Ends every session listening to {@code channel} (PostgreSQL terminates its backend): the service's listener. */
  public static void terminateListener(TestEnvironment env, String channel) {
    try (Connection c = env.jdbc(); var st = c.createStatement()) {
      st.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
          + "AND query LIKE '%LISTEN " + channel + "%'");
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Runs {@code update} in a transaction of its own with the triggers off (so no notice); its row count. */
  public static int unannounced(TestEnvironment env, String update) throws SQLException {
    try (Connection c = env.jdbc(); var st = c.createStatement()) {
      c.setAutoCommit(false);
      st.execute("SET LOCAL session_replication_role = replica");
      int rows = st.executeUpdate(update);
      c.commit();
      return rows;
    }
  }
}
