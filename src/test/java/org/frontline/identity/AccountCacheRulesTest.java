package org.frontline.identity;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;

/** The cache of callers' rules, one by one, with reads whose completion the test decides. */
class AccountCacheRulesTest {
  private static final UUID ID = UUID.randomUUID();
  private static final AccountCache.CallerAccount ACTIVE =
      new AccountCache.CallerAccount(ID, false, List.of("officer"), List.of(), null);
  private static final AccountCache.CallerAccount DISABLED =
      new AccountCache.CallerAccount(ID, true, List.of("officer"), List.of(), null);

  private final AtomicInteger reads = new AtomicInteger();

  private Function<UUID, Future<Optional<AccountCache.CallerAccount>>> reading(AccountCache.CallerAccount account) {
    return id -> {
      reads.incrementAndGet();
      return Future.succeededFuture(Optional.of(account));
    };
  }

  @Test
  void aReadIsKeptWhileListeningAndServedFromMemory() {
    AccountCache cache = new AccountCache();
    cache.listening();
    assertThat(cache.get(ID, reading(ACTIVE)).result()).contains(ACTIVE);
    assertThat(cache.get(ID, reading(DISABLED)).result()).contains(ACTIVE);
    assertThat(reads).hasValue(1);
  }

  @Test
  void nothingIsKeptOrServedWhileDeaf() {
    AccountCache cache = new AccountCache();
    assertThat(cache.get(ID, reading(ACTIVE)).result()).contains(ACTIVE);
    assertThat(cache.get(ID, reading(DISABLED)).result()).contains(DISABLED);
    cache.listening();
    cache.get(ID, reading(ACTIVE));
    cache.deaf();
    assertThat(cache.get(ID, reading(DISABLED)).result()).contains(DISABLED);
    assertThat(reads).hasValue(4);
  }

  @Test
  void aReadThatRacedAChangeIsAnsweredButNotKept() {
    AccountCache cache = new AccountCache();
    cache.listening();
    Promise<Optional<AccountCache.CallerAccount>> slowRead = Promise.promise();
    Future<Optional<AccountCache.CallerAccount>> first = cache.get(ID, id -> slowRead.future());
    cache.notified(ID.toString()); // the account changed while the read was on its way
    slowRead.complete(Optional.of(ACTIVE)); // what the read saw before the change
    assertThat(first.result()).contains(ACTIVE);
    assertThat(cache.get(ID, reading(DISABLED)).result()).contains(DISABLED);
  }

  @Test
  void anAnnouncementForgetsTheAccountAndStarForgetsEveryone() {
    AccountCache cache = new AccountCache();
    cache.listening();
    UUID other = UUID.randomUUID();
    cache.get(ID, reading(ACTIVE));
    cache.get(other, reading(ACTIVE));
    cache.notified(ID.toString());
    assertThat(cache.get(ID, reading(DISABLED)).result()).contains(DISABLED);
    assertThat(cache.get(other, reading(DISABLED)).result()).contains(ACTIVE);
    cache.notified("*");
    assertThat(cache.get(other, reading(DISABLED)).result()).contains(DISABLED);
    cache.notified("not a uuid"); // anything unreadable forgets everything too
    assertThat(cache.get(ID, reading(ACTIVE)).result()).contains(ACTIVE);
  }

  @Test
  void listeningAgainStartsEmpty() {
    AccountCache cache = new AccountCache();
    cache.listening();
    cache.get(ID, reading(ACTIVE));
    cache.deaf();
    cache.listening();
    assertThat(cache.get(ID, reading(DISABLED)).result()).contains(DISABLED);
  }
}
