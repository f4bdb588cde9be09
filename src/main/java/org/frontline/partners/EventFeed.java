package org.frontline.partners;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import org.frontline.identity.Caller;
import org.frontline.identity.Page;
import org.frontline.identity.Scope;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemType;

import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The partner event feed ({@code GET /v1/events}): outbox events on reports, within the partner's grant (unit
 * subtrees through {@link Scope}, report types), in a durable order a partner can resume from any item's cursor.
 * The order is (feed position, event id), the position being the writing transaction's id plus the {@link FeedClock}'s
 * shift, and only events whose transaction is older than every running one are served (V71, V185: positions below
 * {@code feed_horizon()}): an event still being written is held back, and nothing after it is served before it, so a
 * cursor never skips an event that commits late.
 */
public final class EventFeed {
  /** The event kinds partners see (and may subscribe webhooks to); later kinds join here. */
  public static final List<String> KINDS = List.of("report.completed");
  private static final Pattern KEY = Pattern.compile("(\\d{1,20}):(\\d{1,19})");

  /**
   * Events read past the cursor for one page, at most. A page read every event after its cursor until it had found
   * its items: a partner whose grant had no new event (a quiet district among a province's reports) read the whole
   * feed after its cursor on every poll, and so did the webhook fan-out every round for each such subscription; its
   * empty page handed the same cursor back. Now a page reads at most this many and its cursor moves past them.
   */
  static final int READ_LIMIT = 1000;

  /**
   * A page: kinds $1, after position $2 (text) and id $3, report types $4, scope paths $5, page size $6. Served through
   * outbox_feed_idx from the cursor up to the horizon, at most {@link #READ_LIMIT} events (EventFeedTest checks the
   * plan); the limit is written in, not a parameter: a generic plan guessed a third of the table for {@code LIMIT $6}
   * and hash-joined every report. Answers the granted events read and the last event read (granted or not: where
   * the next page starts), the granted ones up to the page size.
   */
  static final String PAGE = """
      SELECT id, txid::text AS txid, event_type, aggregate_id, unit_id, type, created_at, granted
      FROM (SELECT joined.*, count(*) FILTER (WHERE granted) OVER w AS granted_so_far,
                   row_number() OVER w = count(*) OVER () AS last_read
            FROM (SELECT o.id, o.txid, o.event_type, o.aggregate_id, r.unit_id, r.type, o.created_at,
                         coalesce(r.type = ANY ($4) AND\s""" + Scope.sql("r.path", 5) + """
      , false) AS granted
                  FROM (SELECT id, txid, event_type, aggregate_id, created_at FROM outbox
                        WHERE aggregate_type = 'report' AND event_type = ANY ($1)
                          AND txid < feed_horizon()
                          AND (txid, id) > ($2::text::xid8, $3)
                        ORDER BY txid, id
                        LIMIT\s""" + READ_LIMIT + """
      ) o
                  -- by the report's key (LIMIT keeps it a lookup: a join was planned as a scan of every report)
                  LEFT JOIN LATERAL (SELECT r.unit_id, r.type, u.path FROM report r JOIN org_unit u ON u.id = r.unit_id
                                     WHERE r.id = o.aggregate_id LIMIT 1) r ON true) joined
            WINDOW w AS (ORDER BY txid, id)) seen
      WHERE (granted AND granted_so_far <= $6) OR last_read
      ORDER BY seen.txid, seen.id""";

  private final Pool pool;

  public EventFeed(Pool pool) {
    this.pool = pool;
  }

  public Future<JsonObject> page(Caller caller, String after, Integer limit) {
    return page(pool, caller, after, Page.limit(limit));
  }

  /**
   * A page of the feed read through {@code client} (webhook fan-out reads it inside its own transaction, as the
   * subscribing client: the same grant filter, order and cursors as the partner's own reads).
   */
  public static Future<JsonObject> page(SqlClient pool, Caller caller, String after, int size) {
    long[] position;
    try {
      position = decode(after);
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
    List<String> types = caller.client() == null ? List.of() : caller.client().reportTypes();
    return Scope.of(pool, caller).compose(scope -> pool.preparedQuery(PAGE)
        .execute(Tuple.of(KINDS.toArray(String[]::new), Long.toUnsignedString(position[0]), position[1],
            types.toArray(String[]::new), (Object) scope.paths(), size)))
        .map(rows -> {
          JsonArray items = new JsonArray();
          String last = after;
          for (Row r : rows) {
            if (items.size() == size) {
              break;
            }
            last = encode(r.getString("txid"), r.getLong("id"));
            if (!r.getBoolean("granted")) {
              continue; // the last event read, outside the grant: the next page starts after it
            }
            items.add(new JsonObject()
                .put("id", Long.toString(r.getLong("id")))
                .put("cursor", last)
                .put("type", r.getString("event_type"))
                .put("occurredAt", DateTimeFormatter.ISO_INSTANT.format(
                    r.getOffsetDateTime("created_at").withOffsetSameInstant(ZoneOffset.UTC)))
                .put("data", new JsonObject()
                    .put("reportId", r.getUUID("aggregate_id").toString())
                    .put("unitId", r.getUUID("unit_id").toString())
                    .put("reportType", r.getString("type"))));
          }
          return new JsonObject().put("items", items).put("nextCursor", last);
        });
  }

  /**
   * A cursor before every event not yet served and after none that is: events committed from now on (and any still
   * being written) come after it. A new webhook subscription starts here.
   */
  public static Future<String> now(SqlClient client) {
    return client.query("SELECT feed_horizon()::text").execute()
        .map(rows -> encode(rows.iterator().next().getString(0), 0));
  }

  static String encode(String txid, long id) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString((txid + ":" + id).getBytes(StandardCharsets.UTF_8));
  }

  /** (txid, id) of a cursor; none: the start of what is retained. A cursor not ours is a 400 naming query/after. */
  private static long[] decode(String cursor) {
    if (cursor == null) {
      return new long[] {0, 0};
    }
    try {
      Matcher m = KEY.matcher(new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8));
      if (m.matches()) {
        return new long[] {Long.parseUnsignedLong(m.group(1)), Long.parseLong(m.group(2))};
      }
    } catch (IllegalArgumentException e) {
      // falls through to the problem below
    }
    throw Problem.of(ProblemType.VALIDATION_FAILED, "The cursor is not one this feed returned.")
        .withErrors(List.of(new Problem.FieldError("query/after", "Not a cursor of this feed; pass a cursor as given.")))
        .toException();
  }
}
