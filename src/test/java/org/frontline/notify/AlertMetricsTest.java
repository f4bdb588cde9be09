package org.frontline.notify;

import org.frontline.platform.push.FakeFcmServer.Outcome;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.notify.Alerts.awaitUntil;
import static org.frontline.notify.Alerts.deliveryStatus;
import static org.frontline.notify.Alerts.device;
import static org.frontline.notify.Alerts.reportCompleted;

/** The dispatcher's meters on the shared registry, as Prometheus scrapes them from the management port. */
@FrontlineTest
public class AlertMetricsTest {

  @Test
  void sentFailedDeadLetteredAndQueueGaugesAppearInMetrics(TestEnvironment env) throws Exception {
    double sentBefore = value(scrape(env), "frontline_push_sent_total");
    device(env, "supervisor.hanjiang", "metrics-ok");
    device(env, "supervisor.hanjiang", "metrics-gone");
    env.fcm().respond("metrics-gone", Outcome.unregistered());
    UUID report = reportCompleted(env, HUAISI);
    awaitUntil(Duration.ofSeconds(20), "both deliveries settled", () -> "SENT".equals(deliveryStatus(env, report,
        "metrics-ok")) && "DEAD".equals(deliveryStatus(env, report, "metrics-gone")));
    awaitUntil(Duration.ofSeconds(5), "counters updated", () -> {
      String m = scrape(env);
      return value(m, "frontline_push_sent_total") >= sentBefore + 1
          && value(m, "frontline_push_failed_total\\{reason=\"UNREGISTERED\",?\\}") >= 1
          && value(m, "frontline_push_dead_lettered_total") >= 1;
    });
    String metrics = scrape(env);
    assertThat(metrics).contains("# TYPE frontline_push_retried_total counter");
    assertThat(metrics).contains("# TYPE frontline_alerts_escalated_total counter");
    // The queue gauges are refreshed by the periodic check (every 5 s), not per scrape.
    assertThat(metrics).contains("# TYPE frontline_outbox_pending gauge");
    assertThat(metrics).contains("# TYPE frontline_outbox_oldest_pending_age_seconds gauge");
    assertThat(metrics).contains("# TYPE frontline_push_pending gauge");
    assertThat(value(metrics, "frontline_outbox_pending")).isGreaterThanOrEqualTo(0);
  }

  @Test
  void theFeedHorizonGaugeShowsAnOpenTransactionHoldingTheFeedBack(TestEnvironment env) throws Exception {
    try (java.sql.Connection c = env.jdbc(); java.sql.Statement st = c.createStatement()) {
      c.setAutoCommit(false);
      // A transaction with a transaction id, left open: the feed serves no event committed after it began.
      st.execute("SELECT pg_current_xact_id()");
      awaitUntil(Duration.ofSeconds(20), "the gauge shows the open transaction", () -> value(scrape(env),
          "frontline_outbox_feed_horizon_age_seconds") >= 1);
      c.rollback();
    }
    assertThat(scrape(env)).contains("# TYPE frontline_outbox_feed_horizon_age_seconds gauge");
  }

  @Test
  void reasonLabelsStayBounded() {
    assertThat(AlertMetrics.reasonCode("QUOTA_EXCEEDED: slow down")).isEqualTo("QUOTA_EXCEEDED");
    assertThat(AlertMetrics.reasonCode("UNREGISTERED: Requested entity was not found.")).isEqualTo("UNREGISTERED");
    assertThat(AlertMetrics.reasonCode("device retired or moved to another account")).isEqualTo("DEVICE_RETIRED");
    assertThat(AlertMetrics.reasonCode("recipient account disabled")).isEqualTo("RECIPIENT_DISABLED");
    assertThat(AlertMetrics.reasonCode("recipient no longer covers the alert's unit"))
        .isEqualTo("RECIPIENT_OUT_OF_SCOPE");
    assertThat(AlertMetrics.reasonCode("recipient no longer holds the supervisor role"))
        .isEqualTo("RECIPIENT_ROLE_REMOVED");
    assertThat(AlertMetrics.reasonCode("sendEach failed: timeout")).isEqualTo("BATCH_FAILED");
    assertThat(AlertMetrics.reasonCode("something else 123")).isEqualTo("OTHER");
    assertThat(AlertMetrics.reasonCode(null)).isEqualTo("OTHER");
  }

  public static String scrape(TestEnvironment env) {
    try {
      HttpResponse<String> r = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()
          .send(HttpRequest.newBuilder(env.managementUri("/metrics")).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      return r.body();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** The value of a sample line (name, optional labels given as a regex); 0 when absent. */
  public static double value(String metrics, String sample) {
    Matcher m = Pattern.compile("(?m)^" + sample + "(?:\\{[^}]*\\})? ([0-9.eE+-]+)$").matcher(metrics);
    return m.find() ? Double.parseDouble(m.group(1)) : 0;
  }
}
