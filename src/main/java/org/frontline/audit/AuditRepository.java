package org.frontline.audit;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import org.frontline.platform.db.BoundedWalk;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/** The SQL that reads the audit log: scoped pages for admins, and the whole chain in batches for verification. */
public final class AuditRepository {
  /** Rows per batch when the chain is walked. */
  static final int BATCH = 500;

  /** The unit subtrees a caller covers: their paths, and whether one of them is a root (sees unit-less entries). */
  public record Scope(List<String> paths, boolean includesRoot) {}

  /** Filters of a page of the log, newest first; null means "any". {@code beforeSeq} is the keyset cursor. */
  public record Query(String action, UUID actorId, Instant from, Instant to, Long beforeSeq, int limit) {}

  private final Pool pool;

  public AuditRepository(Pool pool) {
    this.pool = pool;
  }

  public Future<Scope> scopeOf(List<UUID> unitIds) {
    return pool.preparedQuery("SELECT path, parent_id IS NULL AS root FROM org_unit WHERE id = ANY ($1)")
        .execute(Tuple.of(unitIds.toArray(UUID[]::new)))
        .map(rows -> {
          List<String> paths = new ArrayList<>();
          boolean root = false;
          for (Row r : rows) {
            paths.add(r.getString("path"));
            root |= r.getBoolean("root");
          }
          return new Scope(List.copyOf(paths), root);
        });
  }

  /** Entries within the scope matching the query, newest first, at most {@code limit}. */
  public Future<List<AuditEntry>> page(Scope scope, Query q) {
    List<Object> params = scopeParams(scope);
    String sql = pageSql(q, params);
    Future<List<Row>> page;
    if (q.from() == null && q.to() == null) {
      page = rows(sql, params);
    } else {
      List<Object> walkParams = scopeParams(scope);
      page = rows(windowWalkSql(q, walkParams), walkParams)
          .compose(walked -> BoundedWalk.page(walked, q.limit(), () -> rows(sql, params)));
    }
    return page.map(rows -> rows.stream().map(AuditRepository::entry).toList());
  }

  private Future<List<Row>> rows(String sql, List<Object> params) {
    return pool.preparedQuery(sql).execute(Tuple.from(params)).map(rows -> {
      List<Row> list = new ArrayList<>();
      rows.forEach(list::add);
      return list;
    });
  }

  private static List<Object> scopeParams(Scope scope) {
    return new ArrayList<>(List.of(scope.paths().toArray(String[]::new), scope.includesRoot()));
  }

  /**
   * A page's statement: only the filters given, so that a prepared statement's generic plan may use their indexes
   * (`$n IS NULL OR ...` serves every query with one plan, the walk of the whole log by seq): an action's entries from
   * audit_log_action_idx, a time window's from audit_log_at_idx, sorted (the second statement of such a page:
   * {@link BoundedWalk}). {@code params} holds $1 and $2 (the scope's paths, and whether it sees unit-less entries)
   * and gets the filters' values and the limit appended.
   */
  static String pageSql(Query q, List<Object> params) {
    String conditions = conditions(q, params);
    String window = "";
    if (q.from() != null || q.to() != null) {
      // The window against the log's first and last times (an end of audit_log_at_idx each) before the page is read:
      // a window before the log's start, or after its end, is answered at once whichever plan serves the page.
      int first = params.size() + 1;
      window = " AND " + window(q, params) + " AND "
          + window(q, first, "(SELECT max(at) FROM audit_log)", "(SELECT min(at) FROM audit_log)");
    }
    params.add(q.limit());
    return "SELECT " + AuditEntry.COLUMNS + " FROM audit_log a WHERE " + conditions + window
        + " ORDER BY a.seq DESC LIMIT $" + params.size();
  }

  /** The first statement of a page with a time window: the walk of the newest entries ({@link BoundedWalk}). */
  static String windowWalkSql(Query q, List<Object> params) {
    String conditions = conditions(q, params);
    String window = window(q, params);
    params.add(q.limit());
    return BoundedWalk.sql(AuditEntry.COLUMNS, "audit_log", "a", "seq", conditions, "a.seq DESC", window,
        params.size());
  }

  /** The scope, and the filters given but the time window, and the cursor. */
  private static String conditions(Query q, List<Object> params) {
    StringBuilder sql = new StringBuilder("""
        (EXISTS (SELECT 1 FROM unnest($1::text[]) AS p
                 WHERE a.unit_path >= p COLLATE "C" AND a.unit_path < subtree_end(p) COLLATE "C")
         OR ($2 AND a.unit_id IS NULL))""");
    if (q.action() != null) {
      params.add(q.action());
      sql.append(" AND a.action = $").append(params.size());
    }
    if (q.actorId() != null) {
      params.add(q.actorId());
      sql.append(" AND a.actor_id = $").append(params.size());
    }
    if (q.beforeSeq() != null) {
      params.add(q.beforeSeq());
      sql.append(" AND a.seq < $").append(params.size());
    }
    return sql.toString();
  }

  /** "The entry is in the time window" ({@code from} and {@code to} when given, appended to {@code params}). */
  private static String window(Query q, List<Object> params) {
    String window = window(q, params.size() + 1, "a.at", "a.at");
    if (q.from() != null) {
      params.add(utc(q.from()));
    }
    if (q.to() != null) {
      params.add(utc(q.to()));
    }
    return window;
  }

  /** "{@code atFrom} >= from AND {@code atTo} < to" (those given), the bounds in parameters from {@code $first}. */
  private static String window(Query q, int first, String atFrom, String atTo) {
    List<String> bounds = new ArrayList<>();
    if (q.from() != null) {
      bounds.add(atFrom + " >= $" + first++);
    }
    if (q.to() != null) {
      bounds.add(atTo + " < $" + first);
    }
    return "(" + String.join(" AND ", bounds) + ")";
  }

  /** The next batch of the chain after {@code afterSeq}, in seq order (keyset, so memory stays bounded). */
  public Future<List<AuditEntry>> batchAfter(long afterSeq, int size) {
    return pool.preparedQuery("SELECT " + AuditEntry.COLUMNS + " FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2")
        .execute(Tuple.of(afterSeq, size))
        .map(rows -> {
          List<AuditEntry> entries = new ArrayList<>();
          rows.forEach(r -> entries.add(entry(r)));
          return entries;
        });
  }

  /** The chain's head (V148): the seq and hash of the newest entry appended; null when none was recorded. */
  public Future<ChainVerifier.Head> head() {
    return pool.query(HEAD).execute().map(rows -> rows.size() == 0 ? null
        : new ChainVerifier.Head(rows.iterator().next().getLong("seq"), bytes(rows.iterator().next(), "hash")));
  }

  /** The chain's head over JDBC. */
  public static ChainVerifier.Head head(Connection c) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(HEAD); ResultSet rs = ps.executeQuery()) {
      return rs.next() ? new ChainVerifier.Head(rs.getLong("seq"), rs.getBytes("hash")) : null;
    }
  }

  private static final String HEAD = "SELECT seq, hash FROM audit_head";

  /** The next batch over JDBC (the command line has no Vert.x). */
  public static List<AuditEntry> batchAfter(Connection c, long afterSeq, int size) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT " + AuditEntry.COLUMNS + " FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?")) {
      ps.setLong(1, afterSeq);
      ps.setInt(2, size);
      List<AuditEntry> entries = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          entries.add(AuditEntry.fromColumns(rs.getLong("seq"), rs.getObject("at", OffsetDateTime.class).toInstant(),
              rs.getObject("actor_id", UUID.class), rs.getString("actor_label"), rs.getString("action"),
              rs.getString("object_type"), rs.getString("object_id"), rs.getObject("unit_id", UUID.class),
              rs.getString("unit_path"), rs.getString("client_address"), rs.getString("request_id"),
              rs.getString("outcome"), rs.getString("details"), rs.getBytes("prev_hash"), rs.getBytes("hash")));
        }
      }
      return entries;
    }
  }

  private static OffsetDateTime utc(Instant t) {
    return t == null ? null : t.atOffset(java.time.ZoneOffset.UTC);
  }

  private static AuditEntry entry(Row r) {
    return AuditEntry.fromColumns(r.getLong("seq"), r.getOffsetDateTime("at").toInstant(), r.getUUID("actor_id"),
        r.getString("actor_label"), r.getString("action"), r.getString("object_type"), r.getString("object_id"),
        r.getUUID("unit_id"), r.getString("unit_path"), r.getString("client_address"), r.getString("request_id"),
        r.getString("outcome"), r.getString("details"), bytes(r, "prev_hash"), bytes(r, "hash"));
  }

  private static byte[] bytes(Row r, String column) {
    var b = r.getBuffer(column);
    return b == null ? null : b.getBytes();
  }
}
