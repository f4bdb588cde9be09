package org.frontline.identity;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import org.frontline.platform.db.ChangeListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The sessions (refresh-token families, an access token's {@code sid}) ended within the last access-token lifetime,
 * so that authentication refuses their access tokens without reading the database per request. A session ends when
 * its refresh tokens are revoked (a logout, a refresh token's reuse, a password reset or a disable, or anyone's
 * UPDATE): the database announces it on {@link #CHANNEL} at commit (V193), and the instance that ended it also
 * remembers it before answering.
 *
 * <p>Unlike {@link AccountCache} this is a list of refusals, so what matters is what it might have missed: when
 * listening starts (at start-up, and again after the listening connection was lost) the sessions ended within
 * {@link #REMEMBERED} are read from the database, and only once they are in is the list trusted; until then, and
 * whenever the announcements cannot reach it, a token's session is read from the database. A session known to be
 * ended is refused in any case (an ended session never comes back). Entries are forgotten once no access token of
 * theirs can still be accepted, so memory holds at most the sessions ended within one lifetime.
 */
public final class EndedSessions implements ChangeListener.Subscriber {
  private static final Logger log = LoggerFactory.getLogger(EndedSessions.class);
  public static final String CHANNEL = "frontline_session_ended";
  /**
   * How long an ended session is remembered: an access token's lifetime and the clock leeway, plus a minute for a
   * revoking transaction's {@code now()} (its start) before its commit and for clocks apart.
   */
  static final Duration REMEMBERED = TokenService.ACCESS_TOKEN_TTL.plus(TokenService.LEEWAY).plusMinutes(1);
  private static final long RELOAD_RETRY_MILLIS = 1_000;
  private static final long SWEEP_INTERVAL_NANOS = TimeUnit.MINUTES.toNanos(1);

  private final Vertx vertx;
  private final Pool pool;
  /** Session id -> when it may be forgotten (System.nanoTime()). */
  private final ConcurrentHashMap<UUID, Long> ended = new ConcurrentHashMap<>();
  private final AtomicLong lastSweep = new AtomicLong(System.nanoTime());
  /** Bumped whenever listening starts or stops: a load begun under an older one does not make the list trusted. */
  private final AtomicLong epoch = new AtomicLong();
  private volatile boolean trusted;

  /** {@code vertx}: for the retry of a failed load; null (tests, commands): never listening, every session read. */
  public EndedSessions(Vertx vertx, Pool pool) {
    this.vertx = vertx;
    this.pool = pool;
  }

  /** Whether the session has ended; from memory when trusted or known ended, else from the database. */
  public Future<Boolean> ended(UUID session) {
    if (session == null) {
      return Future.succeededFuture(false);
    }
    Long until = ended.get(session);
    if (until != null && until - System.nanoTime() > 0) {
      return Future.succeededFuture(true);
    }
    if (trusted) {
      return Future.succeededFuture(false);
    }
    return pool.preparedQuery("SELECT EXISTS (SELECT 1 FROM refresh_token WHERE family_id = $1 AND revoked_at IS NOT NULL)")
        .execute(Tuple.of(session))
        .map(rows -> {
          boolean revoked = rows.iterator().next().getBoolean(0);
          if (revoked) {
            remember(session, REMEMBERED);
          }
          return revoked;
        });
  }

  /** This instance ended the session (committed): refused here from the next request on, before any notice. */
  public void endedHere(UUID session) {
    remember(session, REMEMBERED);
  }

  /** Whether sessions are judged from memory now (announcements heard and the recent ones loaded). */
  public boolean trusted() {
    return trusted;
  }

  /** How many ended sessions are held. */
  public int size() {
    return ended.size();
  }

  @Override
  public void listening() {
    load(epoch.incrementAndGet());
  }

  @Override
  public void deaf() {
    epoch.incrementAndGet();
    trusted = false;
  }

  @Override
  public void notified(String payload) {
    try {
      remember(UUID.fromString(payload), REMEMBERED);
    } catch (IllegalArgumentException e) {
      log.warn("ignoring a malformed notice on {}: {}", CHANNEL, payload);
    }
  }

  /**
   * Reads the sessions ended within {@link #REMEMBERED}, each kept for what is left of it, then trusts the list if
   * still listening as when the load began. Whatever ends meanwhile is announced (listening already): nothing falls
   * between the two.
   */
  private void load(long since) {
    pool.preparedQuery("""
            SELECT family_id, extract(epoch FROM max(revoked_at) + make_interval(secs => $1) - now())::float8 AS left_seconds
            FROM refresh_token WHERE revoked_at > now() - make_interval(secs => $1) GROUP BY family_id""")
        .execute(Tuple.of((double) REMEMBERED.toSeconds()))
        .onSuccess(rows -> {
          rows.forEach(r -> remember(r.getUUID("family_id"),
              Duration.ofMillis((long) (r.getDouble("left_seconds") * 1000))));
          if (epoch.get() == since) {
            trusted = true;
            log.info("{} sessions ended within the last {} min loaded; judged from memory", rows.size(),
                REMEMBERED.toMinutes());
          }
        })
        .onFailure(e -> {
          log.warn("cannot load the ended sessions ({}); retrying in {} ms", e.toString(), RELOAD_RETRY_MILLIS);
          vertx.setTimer(RELOAD_RETRY_MILLIS, id -> {
            if (epoch.get() == since) {
              load(since);
            }
          });
        });
  }

  private void remember(UUID session, Duration left) {
    long now = System.nanoTime();
    ended.merge(session, now + left.toNanos(), (a, b) -> a - b > 0 ? a : b);
    long last = lastSweep.get();
    if (now - last > SWEEP_INTERVAL_NANOS && lastSweep.compareAndSet(last, now)) {
      ended.values().removeIf(until -> until - now <= 0);
    }
  }
}
