package org.frontline.platform.db;

import io.vertx.core.Future;
import io.vertx.sqlclient.Row;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * A page of a list read newest first and filtered by a condition whose index does not give the list's order (a
 * report's bbox, an audit entry's time window). Read from that index and sorted, a condition most rows pass (a whole
 * district's box, the last year) reads all of them on every page; walked in the list's order and filtered, one few
 * recent rows pass reads every newer row. So a page first walks at most {@link #ROWS} of the newest rows the other
 * filters pass, each marked whether it passes the condition: the page is theirs when they fill it or were all there
 * were; only otherwise does the caller's second statement read the condition's rows from its index, sorted.
 */
public final class BoundedWalk {
  /** The rows a walk reads at the most. */
  public static final int ROWS = 2000;

  private BoundedWalk() {}

  /**
   * The walk: the columns {@code select} of the rows of {@code table} ({@code alias}) that pass {@code condition}
   * among the first {@link #ROWS} of {@code WHERE where ORDER BY order} (by their place in it: {@code n}), at most
   * {@code $limitParam} of them, and the walk's last row when it was reached. Each row is read again by its
   * {@code key} ({@code LATERAL ... LIMIT 1}: as a plain join, the generic plan hash-joined a scan of the table).
   */
  public static String sql(String select, String table, String alias, String key, String where, String order,
                           String condition, int limitParam) {
    return sqlFrom(select, table + " " + alias + " WHERE " + where, table, alias, key, order, condition, limitParam);
  }

  /**
   * As {@link #sql}, walking the rows of {@code source}, a FROM item named {@code alias} with the rows of
   * {@code table} to walk (e.g. a UNION ALL of parts, each read from its own index in the list's order, at most
   * {@link #ROWS} each): a list whose rows no single index gives in order.
   */
  public static String sqlFrom(String select, String source, String table, String alias, String key, String order,
                               String condition, int limitParam) {
    return "SELECT " + select + ", w.n, w.passes FROM (SELECT " + alias + "." + key + " AS walked, row_number() OVER"
        + " (ORDER BY " + order + ") AS n, " + condition + " AS passes FROM " + source
        + " ORDER BY " + order + " LIMIT " + ROWS + ") w JOIN LATERAL (SELECT * FROM " + table + " " + alias
        + " WHERE " + alias + "." + key + " = w.walked LIMIT 1) " + alias + " ON true WHERE w.passes OR w.n = " + ROWS
        + " ORDER BY w.n LIMIT $" + limitParam;
  }

  /**
   * The page (at most {@code limit} rows) from the rows the walk returned, or {@code otherwise}'s when they neither
   * fill it nor were all there were.
   */
  public static Future<List<Row>> page(Iterable<Row> walked, int limit, Supplier<Future<List<Row>>> otherwise) {
    List<Row> passing = new ArrayList<>();
    boolean all = true;
    for (Row r : walked) {
      if (r.getBoolean("passes")) {
        passing.add(r);
      }
      all &= r.getLong("n") != ROWS;
    }
    return passing.size() == limit || all ? Future.succeededFuture(passing) : otherwise.get();
  }
}
