package org.frontline.partners;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;

/**
 * The event feed's clock (V185): an event's feed position ({@code outbox.txid}) is its writing transaction's id plus
 * the clock's shift, and the feed serves the positions below its statement's snapshot xmin plus the same shift
 * ({@code feed_horizon()}). A database moved by a logical dump and restore (or logical replication) keeps its rows
 * and cursors but starts its transaction ids again from a few hundred: {@link #check} finds a stored position that no
 * transaction of this cluster could have written, and raises the shift so that every event from now on comes after
 * every position stored or handed out. Every process checks at start-up, before it serves, and every
 * {@link #INTERVAL} (a cluster switched under running processes); the clock's floor refuses the events written
 * before that ({@link org.frontline.platform.db.Database#FEED_CLOCK_BEHIND}, a 503 the writer retries) instead of
 * storing them behind every cursor.
 */
public final class FeedClock {
  private static final Logger log = LoggerFactory.getLogger(FeedClock.class);
  /** How often every process checks the clock (and moves its floor). */
  public static final Duration INTERVAL = Duration.ofMinutes(1);

  private static final String XMIN = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint";
  private static final String XMAX = "pg_snapshot_xmax(pg_current_snapshot())::text::bigint";
  /**
   * The highest position stored (c: the clock's row): the floor (the positions of events already deleted by
   * retention are below it), the outbox's last event (through outbox_feed_idx) and the webhook subscriptions' cursors
   * (base64url of "position:id", EventFeed.encode). Partners' own cursors are positions of stored or deleted events.
   */
  private static final String HIGHEST = "greatest(c.floor,"
      + " coalesce((SELECT txid FROM outbox ORDER BY txid DESC LIMIT 1)::text::bigint, 0),"
      + " coalesce((SELECT max(split_part(convert_from(decode(rpad(translate(feed_cursor, '-_', '+/'),"
      + " (length(feed_cursor) + 3) / 4 * 4, '='), 'base64'), 'UTF8'), ':', 1)::bigint) FROM webhook_subscription), 0))";
  /**
   * The clock is right when nothing stored is past the next transaction's position (a cursor taken at an idle moment
   * may be exactly at it): then the floor moves up to this snapshot's xmin + shift, below which no transaction
   * still running or yet to start can write.
   */
  static final String ADVANCE = "UPDATE feed_clock c SET floor = greatest(c.floor, " + XMIN + " + c.shift)"
      + " WHERE " + HIGHEST + " <= " + XMAX + " + c.shift";
  /**
   * Run with outbox locked EXCLUSIVE (no event being written, none until the commit): the shift such that the oldest
   * running transaction's position is one past the highest stored; the floor at that position.
   */
  static final String RAISE = "WITH was AS (SELECT shift, " + XMAX + " AS next FROM feed_clock)"
      + " UPDATE feed_clock c SET shift = " + HIGHEST + " + 1 - " + XMIN + ", floor = " + HIGHEST + " + 1"
      + " WHERE " + HIGHEST + " > " + XMAX + " + c.shift"
      + " RETURNING (SELECT shift FROM was) AS was, c.shift, c.floor - 1 AS highest,"
      + " (SELECT shift + next FROM was) AS next";

  private FeedClock() {}

  /**
   * Checks the clock and raises it if the database was restored. Several processes may check at once: a raise locks
   * outbox EXCLUSIVE first, which waits for every transaction writing an event and holds off new ones until it
   * commits; the next raise then finds the clock right (its statement's snapshot is taken after its lock).
   */
  public static Future<Void> check(Pool pool) {
    return pool.query(ADVANCE).execute().compose(advanced -> advanced.rowCount() == 1 ? Future.<Void>succeededFuture()
        : pool.withTransaction(conn -> conn.query("LOCK TABLE outbox IN EXCLUSIVE MODE").execute()
                .compose(locked -> conn.query(RAISE).execute()))
            .map(raised -> {
              for (Row r : raised) {
                log.warn("The event feed's stored positions reach {} but this database's next transaction is at {}: it"
                    + " was restored from another cluster. Feed clock shift raised from {} to {}: new events come"
                    + " after every stored event and cursor.", r.getLong("highest"), r.getLong("next"),
                    r.getLong("was"), r.getLong("shift"));
              }
              return null;
            }));
  }
}
