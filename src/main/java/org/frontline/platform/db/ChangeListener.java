package org.frontline.platform.db;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Listens to PostgreSQL NOTIFY channels on one connection of its own, for as long as it runs, and tells each
 * channel's subscriber when it is listening and when it is not: whoever relies on the notifications (a cache) must
 * not trust what it holds while no notification can reach it, and must forget everything when listening starts
 * again, since whatever was announced in between is lost. A lost connection is retried after 0.5 s, doubling up to
 * 30 s. All channels are listened to in one statement, so they are heard, or not, together.
 */
public final class ChangeListener {
  private static final Logger log = LoggerFactory.getLogger(ChangeListener.class);
  private static final long FIRST_RETRY_MILLIS = 500;
  private static final long MAX_RETRY_MILLIS = 30_000;

  /** What the listener reports, always on the listening connection's event loop. */
  public interface Subscriber {
    /** Listening (again): every later change will be notified; earlier ones may have been missed. */
    void listening();

    /** Not listening any more: changes from now on go unannounced until {@link #listening()}. */
    void deaf();

    void notified(String payload);
  }

  private final Vertx vertx;
  private final Database database;
  /** Channel -> its subscriber. */
  private final Map<String, Subscriber> subscribers;
  private final String channels;
  private PgConnection connection;
  private boolean stopped;
  private long retryMillis = FIRST_RETRY_MILLIS;
  /** A retry is scheduled (a failed LISTEN both fails the attempt and closes the connection: one retry for both). */
  private boolean retryPending;

  /** {@code subscribers}: each channel's subscriber, told in this order. */
  public ChangeListener(Vertx vertx, Database database, Map<String, Subscriber> subscribers) {
    if (subscribers.isEmpty()) {
      throw new IllegalArgumentException("no channel to listen to");
    }
    for (String channel : subscribers.keySet()) {
      if (!channel.matches("[a-z_][a-z0-9_]*")) {
        throw new IllegalArgumentException("not a plain channel name: " + channel);
      }
    }
    this.vertx = vertx;
    this.database = database;
    this.subscribers = new LinkedHashMap<>(subscribers);
    this.channels = String.join(", ", subscribers.keySet());
  }

  /** The statement that listens to every channel (as the database's activity view shows it). */
  public String listenStatement() {
    return subscribers.keySet().stream().map(c -> "LISTEN " + c).collect(Collectors.joining("; "));
  }

  /** Starts listening; the future completes once listening, or fails on the first attempt (retries go on). */
  public Future<Void> start() {
    return connect().onFailure(e -> retryLater());
  }

  private Future<Void> connect() {
    return database.dedicatedConnection().compose(conn -> {
      synchronized (this) {
        if (stopped) {
          return conn.close();
        }
        connection = conn;
      }
      conn.notificationHandler(n -> {
        Subscriber subscriber = subscribers.get(n.getChannel());
        if (subscriber != null) {
          subscriber.notified(n.getPayload());
        }
      });
      conn.closeHandler(v -> {
        synchronized (this) {
          connection = null;
        }
        subscribers.values().forEach(Subscriber::deaf);
        if (!isStopped()) {
          log.warn("stopped listening to {}: connection closed; retrying", channels);
          retryLater();
        }
      });
      return conn.query(listenStatement()).execute()
          .onSuccess(rows -> {
            retryMillis = FIRST_RETRY_MILLIS;
            subscribers.values().forEach(Subscriber::listening);
          })
          .onFailure(e -> conn.close())
          .<Void>mapEmpty();
    });
  }

  private synchronized boolean isStopped() {
    return stopped;
  }

  private synchronized void retryLater() {
    if (stopped || retryPending) {
      return;
    }
    retryPending = true;
    long delay = retryMillis;
    retryMillis = Math.min(retryMillis * 2, MAX_RETRY_MILLIS);
    vertx.setTimer(delay, id -> {
      synchronized (this) {
        retryPending = false;
      }
      if (!isStopped()) {
        connect().onFailure(e -> {
          log.warn("cannot listen to {} ({}); retrying in {} ms", channels, e.toString(), retryMillis);
          retryLater();
        });
      }
    });
  }

  public Future<Void> stop() {
    PgConnection conn;
    synchronized (this) {
      stopped = true;
      conn = connection;
      connection = null;
    }
    return conn == null ? Future.succeededFuture() : conn.close();
  }
}
