package org.frontline.identity;

import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemType;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.UUID;
import java.util.function.Function;

/**
 * One page of a keyset-paginated list, and the opaque cursor that continues it (the sort key of the last item,
 * base64url-encoded). Limits are capped here, so no client can ask for an unbounded page.
 */
public record Page<T>(List<T> items, String nextCursor) {
  public static final int DEFAULT_LIMIT = 50;
  public static final int MAX_LIMIT = 200;

  /**
   * The {@code limit} query value as sent (null when absent), for every list's own cap. The contract has checked it
   * is an integer >= 1, which JSON Schema reads as a number with no fraction: {@code 2.0} is 2 and {@code 1e2} 100.
   * One beyond an int asks for more than any cap, like any large one.
   */
  public static Integer requested(String limit) {
    if (limit == null) {
      return null;
    }
    try {
      return Integer.valueOf(limit);
    } catch (NumberFormatException e) {
      try {
        java.math.BigDecimal value = new java.math.BigDecimal(limit.trim());
        return value.compareTo(java.math.BigDecimal.valueOf(Integer.MAX_VALUE)) >= 0 ? Integer.MAX_VALUE
            : Math.max(1, value.intValue());
      } catch (NumberFormatException | ArithmeticException notANumber) {
        return Integer.MAX_VALUE;
      }
    }
  }

  /** The page size to use for a requested limit (null: the default), capped at {@link #MAX_LIMIT}. */
  public static int limit(Integer requested) {
    return requested == null ? DEFAULT_LIMIT : Math.max(1, Math.min(requested, MAX_LIMIT));
  }

  /** From {@code limit + 1} rows: the first {@code limit}, and a cursor when there were more. */
  public static <T> Page<T> of(List<T> rows, int limit, Function<T, String> sortKey) {
    if (rows.size() <= limit) {
      return new Page<>(List.copyOf(rows), null);
    }
    List<T> items = List.copyOf(rows.subList(0, limit));
    return new Page<>(items, encode(sortKey.apply(items.get(limit - 1))));
  }

  /**
   * The sort key of a list ordered by (a time, an id), newest first, written {@code <RFC 3339 time>|<uuid>}; the one
   * reading of such keys for every list that pages this way.
   */
  public record TimeId(OffsetDateTime at, UUID id) {
    /** True when {@code key} is such a key (for {@link #decode}). */
    public static boolean valid(String key) {
      try {
        parse(key);
        return true;
      } catch (RuntimeException e) {
        return false;
      }
    }

    /** The key of a row at {@code at} with {@code id}: the instant in UTC, '|', the id (what {@link #parse} reads). */
    public static String key(OffsetDateTime at, UUID id) {
      return at.withOffsetSameInstant(java.time.ZoneOffset.UTC) + "|" + id;
    }

    /**
     * Ends a query (its parameters so far in {@code params}) as one newest-first page over {@code p.created_at,
     * p.id}: the rows after the key {@code after} (when not null), the order, and a limit of {@code size + 1}, one
     * more than the page, to know whether another follows (see {@link #newestFirst(Iterable, int, Function)}).
     */
    public static String newestFirst(StringBuilder sql, List<Object> params, String after, int size) {
      if (after != null) {
        TimeId last = parse(after);
        params.add(last.at());
        params.add(last.id());
        sql.append(" AND (p.created_at, p.id) < ($").append(params.size() - 1).append(", $").append(params.size())
            .append(")");
      }
      params.add(size + 1);
      return sql.append(" ORDER BY p.created_at DESC, p.id DESC LIMIT $").append(params.size()).toString();
    }

    /** The page of {@code size} read by a query ended with {@link #newestFirst(StringBuilder, List, String, int)}. */
    public static <T> Page<T> newestFirst(Iterable<io.vertx.sqlclient.Row> rows, int size,
                                          Function<io.vertx.sqlclient.Row, T> item) {
      List<io.vertx.sqlclient.Row> list = new java.util.ArrayList<>();
      rows.forEach(list::add);
      Page<io.vertx.sqlclient.Row> page = of(list, size,
          r -> key(r.getOffsetDateTime("created_at"), r.getUUID("id")));
      return new Page<>(page.items().stream().map(item).toList(), page.nextCursor());
    }

    /**
     * The time and id of a key; fails on anything else, and on a time whose year in UTC is not 0001-9999: every key
     * we write is a stored time, and one beyond PostgreSQL's timestamptz (a cursor made up as {@code +294277-...})
     * failed the query, a 500.
     */
    public static TimeId parse(String key) {
      int bar = key.indexOf('|');
      if (bar < 0) {
        throw new IllegalArgumentException("no '|' in " + key);
      }
      OffsetDateTime at = OffsetDateTime.parse(key.substring(0, bar));
      int year = at.withOffsetSameInstant(java.time.ZoneOffset.UTC).getYear();
      if (year < 1 || year > 9999) {
        throw new IllegalArgumentException("year " + year + " in " + key);
      }
      return new TimeId(at, UUID.fromString(key.substring(bar + 1)));
    }
  }

  static String encode(String key) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(key.getBytes(StandardCharsets.UTF_8));
  }

  /** The sort key in a cursor, or null for none; a cursor that is not one of ours is a 400 naming query/cursor. */
  public static String decode(String cursor, java.util.function.Predicate<String> valid) {
    if (cursor == null) {
      return null;
    }
    try {
      String key = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
      if (valid.test(key)) {
        return key;
      }
    } catch (IllegalArgumentException e) {
      // falls through to the problem below
    }
    throw Problem.of(ProblemType.VALIDATION_FAILED, "The cursor is not one this list returned.")
        .withErrors(List.of(new Problem.FieldError("query/cursor", "Not a cursor of this list; pass nextCursor as given.")))
        .toException();
  }
}
