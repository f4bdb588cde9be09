package org.frontline.identity;

import io.vertx.core.Future;
import org.frontline.platform.db.ChangeListener;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * The accounts of recent callers (status, roles, covered units), so that authenticating a request does not read
 * its account from the database each time. Kept true by the database itself: every change to an account or its
 * covered units, by whoever makes it, is announced on {@link #CHANNEL} at commit (migration V92), and the instance
 * that made a change also forgets it before answering, so a disabled account is refused from the next request on.
 *
 * <p>Nothing is served from memory unless the announcements can reach it: while the listening connection is down
 * every request reads its account as before, and when listening starts again the cache starts empty (what was
 * announced in between is lost). A read that raced a change is not kept: each change bumps a generation, and a
 * read whose generation moved while it ran is answered but not remembered. Entries also expire after
 * {@link #TTL_SECONDS}, a bound for the one case no notice covers: a listening connection dead without a sign.
 */
public final class AccountCache implements ChangeListener.Subscriber {
  public static final String CHANNEL = "frontline_account";
  static final int MAX_ENTRIES = 50_000;
  static final long TTL_SECONDS = 60;
  private static final long TTL_NANOS = TimeUnit.SECONDS.toNanos(TTL_SECONDS);

  /**
   * What authenticating a request needs of its account (never the password hash); {@code sessionsEndedAt} is when
   * a password reset or a disable last ended its sessions (null: never).
   */
  public record CallerAccount(UUID id, boolean disabled, List<String> roles, List<UUID> scope,
                              Instant sessionsEndedAt) {
    /**
     * Whether an access token issued at {@code issuedAt} (whole seconds, as its iat) belongs to a session ended
     * since: one issued within the second of the ending counts as ended too (it may have come before it).
     */
    public boolean endedSessionOf(Instant issuedAt) {
      return sessionsEndedAt != null && issuedAt.getEpochSecond() <= sessionsEndedAt.getEpochSecond();
    }
  }

  private record Entry(Optional<CallerAccount> account, long loadedAt) {}

  private final ConcurrentHashMap<UUID, Entry> entries = new ConcurrentHashMap<>();
  private final AtomicLong generation = new AtomicLong();
  private volatile boolean listening;

  /** The account from memory when known and trusted, else from {@code load} (remembered unless a change raced). */
  public Future<Optional<CallerAccount>> get(UUID id, Function<UUID, Future<Optional<CallerAccount>>> load) {
    if (listening) {
      Entry entry = entries.get(id);
      if (entry != null && System.nanoTime() - entry.loadedAt() < TTL_NANOS) {
        return Future.succeededFuture(entry.account());
      }
    }
    long before = generation.get();
    return load.apply(id).onSuccess(account -> remember(id, account, before));
  }

  private void remember(UUID id, Optional<CallerAccount> account, long before) {
    if (!listening || generation.get() != before) {
      return;
    }
    if (entries.size() >= MAX_ENTRIES) {
      entries.clear();
    }
    Entry entry = new Entry(account, System.nanoTime());
    entries.put(id, entry);
    // A change announced between the check above and the put: its removal may have run before the put.
    if (generation.get() != before) {
      entries.remove(id, entry);
    }
  }

  /** Forgets one account (this instance changed it; other instances hear it from the database). */
  public void invalidate(UUID id) {
    generation.incrementAndGet();
    entries.remove(id);
  }

  public void invalidateAll() {
    generation.incrementAndGet();
    entries.clear();
  }

  /** Whether accounts are served from memory now (the announcements can reach this instance). */
  public boolean trusted() {
    return listening;
  }

  @Override
  public void listening() {
    invalidateAll();
    listening = true;
  }

  @Override
  public void deaf() {
    listening = false;
    invalidateAll();
  }

  @Override
  public void notified(String payload) {
    if ("*".equals(payload)) {
      invalidateAll();
      return;
    }
    try {
      invalidate(UUID.fromString(payload));
    } catch (IllegalArgumentException e) {
      invalidateAll();
    }
  }
}
