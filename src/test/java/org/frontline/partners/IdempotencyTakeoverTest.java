package org.frontline.partners;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import org.frontline.platform.http.IdempotencyKeys;
import org.frontline.platform.http.ProblemException;
import org.frontline.platform.http.ProblemType;
import org.frontline.testing.Waits;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.frontline.dev.DemoOrganisation.HANJIANG;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.partners.Partners.secretClient;
import static org.frontline.testing.TestEnvironment.await;

/**
 * An idempotency key whose first request outlived {@link IdempotencyKeys#ABANDONED_SECONDS} is taken over by the
 * next request with that key; the first request, when it finally ends, must neither store its answer (its write
 * rolls back) nor free the new owner's claim. The age is simulated by setting the claim's {@code created_at} back;
 * each request's write (a figure row) waits for the test's go inside its transaction.
 */
@FrontlineTest
class IdempotencyTakeoverTest {

  private record Takeover(IdempotencyKeys keys, UUID client, String key, JsonObject body, Promise<Void> firstGo,
      Future<IdempotencyKeys.Answer> first, Promise<Void> secondGo, Future<IdempotencyKeys.Answer> second,
      UUID secondClaim) {}

  /** A write of one figure row named {@code metric}, then a wait for {@code go}, answering 201 with the metric. */
  private static Function<SqlConnection, Future<IdempotencyKeys.Answer>> write(UUID client, String metric,
      Future<Void> go) {
    return conn -> conn.preparedQuery("INSERT INTO partner_figure (id, client_id, unit_id, metric, period_from,"
            + " period_to, value, unit_of_measure) VALUES ($1, $2, $3, $4, DATE '2026-10-01', DATE '2026-11-01', 1,"
            + " 'count')")
        .execute(Tuple.of(UUID.randomUUID(), client, HUAISI, metric))
        .compose(v -> go)
        .map(new IdempotencyKeys.Answer(201, new JsonObject().put("metric", metric)));
  }

  /** The first request in its write, its claim made old, the second request in its write under a new claim. */
  private static Takeover takeover(TestEnvironment env, String name) throws Exception {
    secretClient(env, List.of("figures:write"), List.of(HANJIANG), List.of("SITE"));
    UUID client = UUID.fromString(env.string("SELECT id::text FROM partner_client LIMIT 1"));
    IdempotencyKeys keys = IdempotencyKeys.forPartners(env.app().database().pool());
    String key = name + "-" + UUID.randomUUID();
    JsonObject body = new JsonObject().put("figure", name);
    Promise<Void> firstGo = Promise.promise();
    Future<IdempotencyKeys.Answer> first = keys.once(client, key, body, write(client, name + "-first", firstGo.future()));
    Waits.until(java.time.Duration.ofSeconds(10), "the first request's claim", () -> env.count(
        "SELECT count(*) FROM partner_idempotency WHERE key = ? AND status IS NULL", key) == 1);
    String firstClaim = env.string("SELECT claim::text FROM partner_idempotency WHERE key = ?", key);
    try (var c = env.jdbc(); var ps = c.prepareStatement("UPDATE partner_idempotency"
        + " SET created_at = now() - make_interval(secs => ?) WHERE key = ?")) {
      ps.setInt(1, IdempotencyKeys.ABANDONED_SECONDS + 1);
      ps.setString(2, key);
      assertThat(ps.executeUpdate()).isEqualTo(1);
    }
    Promise<Void> secondGo = Promise.promise();
    Future<IdempotencyKeys.Answer> second = keys.once(client, key, body,
        write(client, name + "-second", secondGo.future()));
    Waits.until(java.time.Duration.ofSeconds(10), "the second request's claim", () -> !firstClaim.equals(
        env.string("SELECT claim::text FROM partner_idempotency WHERE key = ?", key)));
    UUID secondClaim = UUID.fromString(env.string("SELECT claim::text FROM partner_idempotency WHERE key = ?", key));
    assertThat(first.isComplete()).isFalse();
    return new Takeover(keys, client, key, body, firstGo, first, secondGo, second, secondClaim);
  }

  private static void assertConflict(Future<?> f) {
    assertThatThrownBy(() -> await(f)).isInstanceOfSatisfying(ProblemException.class,
        e -> assertThat(e.problem().type()).isEqualTo(ProblemType.CONFLICT));
  }

  @Test
  void theFirstOwnerFailingLaterLeavesTheNewOwnersClaim(TestEnvironment env) throws Exception {
    Takeover t = takeover(env, "takeover-failed");
    t.firstGo().fail(new IllegalStateException("the first request failed"));
    assertThatThrownBy(() -> await(t.first())).hasMessageContaining("the first request failed");

    // The new owner's claim is still there: a third request with the key is a conflict and writes nothing.
    assertThat(env.string("SELECT concat_ws('|', claim, coalesce(status::text, '-')) FROM partner_idempotency"
        + " WHERE key = ?", t.key())).isEqualTo(t.secondClaim() + "|-");
    AtomicBoolean thirdRan = new AtomicBoolean();
    assertConflict(t.keys().once(t.client(), t.key(), t.body(), conn -> {
      thirdRan.set(true);
      return Future.succeededFuture(new IdempotencyKeys.Answer(201, new JsonObject()));
    }));
    assertThat(thirdRan).isFalse();

    t.secondGo().complete();
    assertThat(await(t.second()).body().getString("metric")).isEqualTo("takeover-failed-second");
    assertThat(env.string("SELECT string_agg(metric, ',') FROM partner_figure WHERE metric LIKE 'takeover-failed-%'"))
        .isEqualTo("takeover-failed-second");
    // A replay answers what the new owner stored.
    assertThat(await(t.keys().once(t.client(), t.key(), t.body(), conn -> Future.failedFuture("not run")))
        .body().getString("metric")).isEqualTo("takeover-failed-second");
  }

  @Test
  void theFirstOwnerSucceedingLaterStoresNothingAndItsWriteRollsBack(TestEnvironment env) throws Exception {
    Takeover t = takeover(env, "takeover-late");
    t.firstGo().complete();
    assertConflict(t.first());
    assertThat(env.string("SELECT concat_ws('|', claim, coalesce(status::text, '-')) FROM partner_idempotency"
        + " WHERE key = ?", t.key())).isEqualTo(t.secondClaim() + "|-");
    assertThat(env.count("SELECT count(*) FROM partner_figure WHERE metric LIKE 'takeover-late-%'")).isZero();

    t.secondGo().complete();
    assertThat(await(t.second()).body().getString("metric")).isEqualTo("takeover-late-second");
    assertThat(env.string("SELECT string_agg(metric, ',') FROM partner_figure WHERE metric LIKE 'takeover-late-%'"))
        .isEqualTo("takeover-late-second");
    assertThat(env.string("SELECT concat_ws('|', status, response::jsonb ->> 'metric') FROM partner_idempotency"
        + " WHERE key = ?", t.key())).isEqualTo("201|takeover-late-second");
  }
}
