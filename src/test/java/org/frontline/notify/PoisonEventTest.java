package org.frontline.notify;

import io.vertx.core.json.JsonObject;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.notify.Alerts.accountId;
import static org.frontline.notify.Alerts.awaitUntil;
import static org.frontline.notify.Alerts.count;

/**
 * An event its rule cannot handle (here a report.evidence-flagged whose flags are not a list) fails its batch: the
 * dispatcher then writes the batch's events one by one, so the others are alerted at once; the bad one is claimed
 * again later and, after {@link OutboxDispatcherVerticle#POISON_CLAIMS} claims, set aside with the reason.
 */
@FrontlineTest
class PoisonEventTest {

  @Test
  void aBadEventDoesNotHoldBackTheOthersAndIsSetAsideAfterItsLastClaim(TestEnvironment env) throws Exception {
    UUID supervisor = accountId("supervisor.hanjiang");
    List<Long> good = new ArrayList<>();
    long fresh;
    long worn;
    // One transaction: the dispatcher claims all of them in one batch.
    try (Connection c = env.jdbc()) {
      c.setAutoCommit(false);
      fresh = insert(c, "report.evidence-flagged", new JsonObject().put("flags", "not a list"), 0);
      for (int i = 0; i < 3; i++) {
        UUID report = UUID.randomUUID();
        good.add(insert(c, "report.completed", new JsonObject().put("reportId", report.toString())
            .put("unitId", HUAISI.toString()).put("type", "SITE"), 0));
      }
      worn = insert(c, "report.evidence-flagged", new JsonObject().put("flags", "not a list"),
          OutboxDispatcherVerticle.POISON_CLAIMS - 1);
      c.commit();
    }

    awaitUntil(Duration.ofSeconds(30), "the good events dispatched", () -> count(env,
        "SELECT count(*) FROM outbox WHERE id IN (?, ?, ?) AND dispatched_at IS NOT NULL", good.toArray()) == 3);
    awaitUntil(Duration.ofSeconds(30), "the worn-out event set aside", () -> count(env,
        "SELECT count(*) FROM outbox WHERE id = ? AND dispatched_at IS NOT NULL", worn) == 1);

    for (long id : good) {
      assertThat(count(env, "SELECT count(*) FROM notification WHERE event_id = ? AND account_id = ?", id, supervisor))
          .isEqualTo(1);
    }
    assertThat(string(env, "SELECT dispatch_error FROM outbox WHERE id = " + worn)).contains("ClassCastException");
    assertThat(count(env, "SELECT count(*) FROM notification WHERE event_id = ?", worn)).isZero();
    // The fresh one failed too, but has claims left: still pending, leased, retried after its lease.
    assertThat(count(env, "SELECT count(*) FROM outbox WHERE id = ? AND dispatched_at IS NULL AND dispatch_error IS NULL"
        + " AND claims = 1 AND lease_until > now()", fresh)).isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM notification WHERE event_id = ?", fresh)).isZero();
  }

  private static long insert(Connection c, String type, JsonObject payload, int claims) throws Exception {
    try (PreparedStatement ps = c.prepareStatement("INSERT INTO outbox (event_type, aggregate_type, aggregate_id,"
        + " unit_id, payload, claims) VALUES (?, 'report', ?, ?, ?::jsonb, ?) RETURNING id")) {
      ps.setString(1, type);
      ps.setObject(2, UUID.randomUUID());
      ps.setObject(3, HUAISI);
      ps.setString(4, payload.encode());
      ps.setInt(5, claims);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  private static String string(TestEnvironment env, String sql) throws Exception {
    return env.string(sql);
  }
}
