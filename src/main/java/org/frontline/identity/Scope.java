package org.frontline.identity;

import io.vertx.core.Future;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;

import java.util.List;
import java.util.UUID;

/**
 * The one scoping rule: the unit subtrees a caller may see, as their materialized paths. Every repository query
 * that returns or changes unit-owned data filters with {@link #sql} (bound to {@link #paths}), so an object
 * outside the scope is indistinguishable from one that does not exist. An admin's scope is its covered subtrees,
 * like everyone's.
 */
public final class Scope {
  /** Every unit (the path of every unit starts with '/'); for the system itself, e.g. seeding. Never a caller's. */
  private static final Scope EVERYTHING = new Scope(new String[] {"/"});

  private final String[] paths;

  private Scope(String[] paths) {
    this.paths = paths;
  }

  /** The caller's scope: the paths of the units it covers, read now (a unit may have moved since login). */
  public static Future<Scope> of(SqlClient client, Caller caller) {
    return client.preparedQuery("SELECT coalesce(array_agg(path ORDER BY path), '{}') FROM org_unit WHERE id = ANY ($1)")
        .execute(Tuple.of(caller.scopeUnitIds().toArray(UUID[]::new)))
        .map(rows -> new Scope(rows.iterator().next().getArrayOfStrings(0)));
  }

  public static Scope everything() {
    return EVERYTHING;
  }

  /** Bind this as the parameter that {@link #sql} names. */
  public String[] paths() {
    return paths;
  }

  /**
   * Whether a unit at {@code path} lies in the scope, decided in Java: the same rule as {@link #within} (a
   * descendant's path starts with its ancestor's, which ends with '/'), for code that already holds the path.
   */
  public boolean covers(String path) {
    for (String p : paths) {
      if (path.startsWith(p)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether the scope covers a whole organisation: a root unit's subtree (a root's path is one segment, '/id/'), or
   * everything.
   */
  public boolean coversARoot() {
    for (String p : paths) {
      if (p.equals("/") || p.indexOf('/', 1) == p.length() - 1) {
        return true;
      }
    }
    return false;
  }

  public List<String> pathList() {
    return List.of(paths);
  }

  /**
   * The SQL condition "the unit at {@code pathExpr} is in the scope", with the scope's paths bound as parameter
   * {@code $param} (a text[]). Each subtree is the indexed range {@code path >= p AND path < subtree_end(p)}.
   */
  public static String sql(String pathExpr, int param) {
    return "EXISTS (SELECT 1 FROM unnest($" + param + "::text[]) AS scope(p) WHERE " + within(pathExpr, "scope.p") + ")";
  }

  /**
   * The SQL condition "the unit at {@code pathExpr} lies in the subtree rooted at {@code subtreePathExpr}": the
   * indexed range every scope check uses. For queries that go the other way round, e.g. who covers a given unit.
   */
  public static String within(String pathExpr, String subtreePathExpr) {
    return pathExpr + " >= " + subtreePathExpr + " AND " + pathExpr + " < subtree_end(" + subtreePathExpr + ")";
  }

  /** The same condition for data that refers to a unit by id: the unit {@code unitIdExpr} is in the scope. */
  public static String sqlForUnitId(String unitIdExpr, int param) {
    return "EXISTS (SELECT 1 FROM org_unit scope_unit WHERE scope_unit.id = " + unitIdExpr + " AND "
        + sql("scope_unit.path", param) + ")";
  }
}
