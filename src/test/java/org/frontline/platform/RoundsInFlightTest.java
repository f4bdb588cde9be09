package org.frontline.platform;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import org.frontline.testing.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** A stop's wait for the work in flight: until it ends, and no longer than the bound. */
class RoundsInFlightTest {
  private final Vertx vertx = Vertx.vertx();
  private final RoundsInFlight rounds = new RoundsInFlight("test rounds");

  @AfterEach
  void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void idleAtOnceWithNothingAtWorkElseWhenTheLastRoundEnds() throws Exception {
    assertThat(rounds.idle(vertx).isComplete()).isTrue();

    Promise<Void> first = Promise.promise();
    Promise<Void> second = Promise.promise();
    rounds.track(first.future());
    rounds.track(second.future());
    Future<Void> idle = rounds.idle(vertx, Duration.ofSeconds(30));
    first.complete();
    assertThat(idle.isComplete()).isFalse();
    second.fail("failed rounds end too");
    assertThat(idle.toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS)).isNull();
  }

  @Test
  void aRoundThatNeverEndsHoldsTheStopOnlyUpToTheBoundAndIsSaid() throws Exception {
    rounds.track(Promise.<Void>promise().future());
    try (LogCapture log = LogCapture.of(RoundsInFlight.class, "%level %msg%n")) {
      long start = System.nanoTime();
      rounds.idle(vertx, Duration.ofMillis(300)).toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);

      assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(300));
      assertThat(log.text()).isEqualTo(
          "WARN Stopping with test rounds still at work after 300 ms: left to their leases\n");
    }
  }
}
