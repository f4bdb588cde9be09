package org.frontline.identity;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import org.frontline.identity.TokenService.KeySet;
import org.frontline.platform.RoundFailures;
import org.frontline.platform.db.ChangeListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;

/**
 * This instance's cache of the published signing keys. The table is the only authority: the cache is reloaded
 * when a change to it is announced on {@link #CHANNEL} (V197: any rotation or retirement, wherever made; heard on
 * the identity {@link ChangeListener}'s connection), when listening starts (again: what was announced meanwhile is
 * lost), every {@link #REFRESH_INTERVAL} (the bound while announcements cannot reach it), after a rotation or a
 * retirement made here, and on demand when a token names a well-formed kid the cache does not know (a key rotated
 * in elsewhere, not announced yet). On-demand reloads are coalesced and at most one starts per
 * {@link #MIN_RELOAD_INTERVAL}, so tokens with made-up kids cannot hammer the database; a request waits for a reload
 * that started after it arrived, so a genuine new kid is never rejected for being early. Reloads may end out of
 * order: one that started before the last applied one is dropped, so an older read never brings a retired key back.
 */
public final class KeyRing implements TokenService.KeySource, ChangeListener.Subscriber {
  private static final Logger log = LoggerFactory.getLogger(KeyRing.class);
  public static final Duration REFRESH_INTERVAL = Duration.ofSeconds(30);
  public static final Duration MIN_RELOAD_INTERVAL = Duration.ofSeconds(2);
  /** Where the database announces every change to the signing keys (V197). */
  public static final String CHANNEL = "frontline_signing_key";

  private final Vertx vertx;
  private final SigningKeyStore store;
  private volatile KeySet keys;
  private final RoundFailures refreshes = new RoundFailures(log, "signing key refresh (the cached keys are kept)");
  private long timer = -1;
  private long lastOnDemandStart = System.nanoTime() - MIN_RELOAD_INTERVAL.toNanos();
  private Future<Void> inFlight;
  private Promise<Void> next;
  private final java.util.concurrent.atomic.AtomicLong onDemandReloads = new java.util.concurrent.atomic.AtomicLong();
  /** Numbers each reload as it starts; the keys held are those of {@link #applied}. */
  private final java.util.concurrent.atomic.AtomicLong reloadsStarted = new java.util.concurrent.atomic.AtomicLong();
  private long applied;

  public KeyRing(Vertx vertx, SigningKeyStore store) {
    this.vertx = vertx;
    this.store = store;
  }

  /** Loads the keys (generating a first one in an empty installation) and starts the periodic refresh. */
  public Future<Void> start() {
    return reload().onSuccess(v -> timer = vertx.setPeriodic(REFRESH_INTERVAL.toMillis(), id -> reload()
        .onComplete(refreshes::record)));
  }

  public void stop() {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
  }

  /** Reads the published keys from the table now; creates a current key first when there is none. */
  public Future<Void> reload() {
    long started = reloadsStarted.incrementAndGet();
    return store.loadPublished()
        .compose(ks -> ks.current() != null ? Future.succeededFuture(ks)
            : store.ensureCurrent().compose(created -> store.loadPublished()))
        .map(ks -> {
          if (ks.current() == null) {
            throw new IllegalStateException("no current signing key");
          }
          apply(started, ks);
          return null;
        });
  }

  private synchronized void apply(long started, KeySet ks) {
    if (started < applied) {
      return; // a later reload was applied already: this one may have read the table before a change
    }
    applied = started;
    KeySet before = keys;
    keys = keeping(before, ks);
    if (before == null || !before.published().keySet().equals(ks.published().keySet())
        || !before.current().kid().equals(ks.current().kid())) {
      log.info("signing keys loaded: current {}, published {}", ks.current().kid(), ks.published().keySet());
    }
  }

  /**
   * {@code read}, holding the very objects of {@code before} for the keys that did not change: TokenService serves a
   * verified token again only while its key is the same object, so a reload that changed nothing (every
   * {@link #REFRESH_INTERVAL}) must not make every token in use be verified again.
   */
  private static KeySet keeping(KeySet before, KeySet read) {
    if (before == null) {
      return read;
    }
    java.util.Map<String, SigningKeys.SigningKey> published = new java.util.LinkedHashMap<>();
    read.published().forEach((kid, key) -> published.put(kid, same(before, key)));
    return new KeySet(published, same(before, read.current()), read.retired());
  }

  private static SigningKeys.SigningKey same(KeySet before, SigningKeys.SigningKey key) {
    SigningKeys.SigningKey held = before.published().get(key.kid());
    return key.equals(held) ? held : key;
  }

  /** Listening (again): changes announced while deaf were missed, so the keys are read now. */
  @Override
  public void listening() {
    reload().onComplete(refreshes::record);
  }

  /** Not listening: the periodic reload is what bounds how late a change is seen, until listening again. */
  @Override
  public void deaf() {}

  @Override
  public void notified(String payload) {
    reload().onComplete(refreshes::record);
  }

  /** How many on-demand reloads have started (for tests and metrics). */
  public long onDemandReloads() {
    return onDemandReloads.get();
  }

  @Override
  public KeySet keys() {
    KeySet k = keys;
    if (k == null) {
      throw new IllegalStateException("signing keys not loaded yet");
    }
    return k;
  }

  @Override
  public synchronized Future<Void> reloadFor(String kid) {
    if (next != null) {
      return next.future();
    }
    Promise<Void> promise = Promise.promise();
    next = promise;
    Future<Void> before = inFlight == null ? Future.succeededFuture() : inFlight;
    before.onComplete(ar -> {
      long delayMs;
      synchronized (this) {
        delayMs = (lastOnDemandStart + MIN_RELOAD_INTERVAL.toNanos() - System.nanoTime()) / 1_000_000;
      }
      if (delayMs < 1) {
        startNext();
      } else {
        vertx.setTimer(delayMs, t -> startNext());
      }
    });
    log.debug("token with unknown kid {}: reloading the signing keys", kid);
    return promise.future();
  }

  private void startNext() {
    Promise<Void> promise;
    Future<Void> reload;
    synchronized (this) {
      promise = next;
      next = null;
      lastOnDemandStart = System.nanoTime();
      onDemandReloads.incrementAndGet();
      reload = reload();
      inFlight = reload;
    }
    reload.onComplete(ar -> {
      synchronized (this) {
        if (inFlight == reload) {
          inFlight = null;
        }
      }
      promise.handle(ar);
    });
  }
}
