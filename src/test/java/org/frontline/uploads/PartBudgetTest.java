package org.frontline.uploads;

import io.vertx.core.Future;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The memory bound of bodies received at once: permits are handed out first come first served. */
class PartBudgetTest {

  @Test
  void aBodyBeyondThePermitsWaitsForTheNextRelease() {
    PartBudget budget = new PartBudget(2);
    Future<Void> first = budget.acquire();
    Future<Void> second = budget.acquire();
    Future<Void> third = budget.acquire();
    Future<Void> fourth = budget.acquire();
    assertThat(first.succeeded()).isTrue();
    assertThat(second.succeeded()).isTrue();
    assertThat(third.isComplete()).isFalse();
    assertThat(fourth.isComplete()).isFalse();

    budget.release();
    assertThat(third.succeeded()).isTrue();
    assertThat(fourth.isComplete()).isFalse();
    budget.release();
    assertThat(fourth.succeeded()).isTrue();
    budget.release();
    budget.release();
    assertThat(budget.acquire().succeeded()).isTrue();
    assertThat(budget.acquire().succeeded()).isTrue();
    assertThat(budget.acquire().isComplete()).isFalse();
  }

  @Test
  void aSmallHeapStillGetsTwoPermitsAndABigOneAtMost64() {
    assertThat(PartBudget.fromHeap().permits()).isBetween(2, 64);
  }
}
