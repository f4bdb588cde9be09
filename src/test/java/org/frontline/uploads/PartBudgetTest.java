package org.frontline.uploads;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpClosedException;
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
  void aWaiterWhoseConnectionClosesLeavesTheQueueAndAGrantedOneIsNotTakenBack() {
    PartBudget budget = new PartBudget(1);
    Promise<Void> firstGone = Promise.promise();
    Promise<Void> secondGone = Promise.promise();
    Promise<Void> thirdGone = Promise.promise();
    Future<Void> first = budget.acquire(firstGone.future());
    Future<Void> second = budget.acquire(secondGone.future());
    Future<Void> third = budget.acquire(thirdGone.future());
    assertThat(budget.waiting()).isEqualTo(2);

    secondGone.complete(); // its client went away while it waited
    assertThat(second.failed()).isTrue();
    assertThat(second.cause()).isInstanceOf(HttpClosedException.class);
    assertThat(budget.waiting()).isEqualTo(1);

    budget.release(); // first's permit passes to third, not to second
    assertThat(third.succeeded()).isTrue();
    firstGone.complete(); // granted already: nothing changes
    thirdGone.complete();
    assertThat(first.succeeded()).isTrue();
    assertThat(budget.available()).isZero();
    budget.release();
    assertThat(budget.available()).isEqualTo(1);
    assertThat(budget.waiting()).isZero();

    Promise<Void> gone = Promise.promise();
    gone.complete();
    assertThat(budget.acquire(gone.future()).succeeded()).as("a free permit is taken even so").isTrue();
    assertThat(budget.acquire(gone.future()).failed()).as("no waiting for a client already gone").isTrue();
    assertThat(budget.waiting()).isZero();
  }

  @Test
  void aSmallHeapStillGetsTwoPermitsAndABigOneAtMost64() {
    assertThat(PartBudget.fromHeap().permits()).isBetween(2, 64);
  }
}
