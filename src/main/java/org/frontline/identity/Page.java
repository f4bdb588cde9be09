package org.frontline.identity;

import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemType;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.UUID;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * One page of a keyset-paginated list, and the opaque cursor that continues it (the sort key of the last item, and
 * for a filtered list a hash of its filters, base64url-encoded). Limits are capped here, so no client can ask for an unbounded page.
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

  /**
   * From {@code limit + 1} rows of a filtered list: the first {@code limit}, and a cursor bound to {@code filters}
   * ({@link #filters}) when there were more.
   */
  public static <T> Page<T> of(List<T> rows, int limit, Function<T, String> sortKey, String filters) {
    return of(rows, limit, row -> sortKey.apply(row) + FILTERS + filters);
  }

  /** Between a cursor's sort key and the hash of the filters it was issued for; in no sort key. */
  private static final char FILTERS = '#';

  /**
   * What a cursor of a filtered list is bound to: the list's name and its filter values as the query means them
   * (null: not filtering; a time as its instant, -0.0 as 0.0, arrays item by item), as a short hash. A cursor is a
   * position in one list: used with other filters it continued from its place in rows it was never read from
   * (silently wrong pages), so {@link #decode(String, Predicate, String)} refuses it.
   */
  public static String filters(String list, Object... values) {
    StringBuilder text = new StringBuilder(list);
    for (Object value : values) {
      String v = normalised(value);
      // length-prefixed, so no value can pass for two
      text.append('\n').append(v == null ? "-" : v.length() + ":" + v);
    }
    try {
      byte[] sha = java.security.MessageDigest.getInstance("SHA-256").digest(text.toString().getBytes(StandardCharsets.UTF_8));
      return Base64.getUrlEncoder().withoutPadding().encodeToString(java.util.Arrays.copyOf(sha, 6));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String normalised(Object value) {
    if (value == null) {
      return null;
    }
    if (value instanceof OffsetDateTime t) {
      return t.toInstant().toString();
    }
    if (value instanceof Double d) {
      return String.valueOf(d + 0.0);
    }
    if (value instanceof double[] a) {
      return java.util.Arrays.stream(a).mapToObj(d -> String.valueOf(d + 0.0))
          .collect(java.util.stream.Collectors.joining(","));
    }
    return value.toString();
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

    /**
     * The page of {@code size} read by a query ended with {@link #newestFirst(StringBuilder, List, String, int)},
     * its cursor bound to {@code filters} ({@link Page#filters}).
     */
    public static <T> Page<T> newestFirst(Iterable<io.vertx.sqlclient.Row> rows, int size,
                                          Function<io.vertx.sqlclient.Row, T> item, String filters) {
      List<io.vertx.sqlclient.Row> list = new java.util.ArrayList<>();
      rows.forEach(list::add);
      Page<io.vertx.sqlclient.Row> page = of(list, size,
          r -> key(r.getOffsetDateTime("created_at"), r.getUUID("id")), filters);
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
  public static String decode(String cursor, Predicate<String> valid) {
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
    throw cursorProblem("The cursor is not one this list returned.",
        "Not a cursor of this list; pass nextCursor as given.");
  }

  /**
   * The sort key in a cursor of a filtered list ({@link #of(List, int, Function, String)}), or null for none: a
   * cursor that is not one of ours, or was returned for other filters than {@code filters}, is a 400 naming
   * query/cursor.
   */
  public static String decode(String cursor, Predicate<String> valid, String filters) {
    String bound = decode(cursor, key -> {
      int at = key.lastIndexOf(FILTERS);
      return at >= 0 && valid.test(key.substring(0, at));
    });
    if (bound == null) {
      return null;
    }
    int at = bound.lastIndexOf(FILTERS);
    if (!bound.substring(at + 1).equals(filters)) {
      throw cursorProblem("The cursor was returned for other filters than these.",
          "Returned with other filters; send the filters it was returned with, or start again without a cursor.");
    }
    return bound.substring(0, at);
  }

  private static RuntimeException cursorProblem(String detail, String reason) {
    return Problem.of(ProblemType.VALIDATION_FAILED, detail)
        .withErrors(List.of(new Problem.FieldError("query/cursor", reason))).toException();
  }
}
