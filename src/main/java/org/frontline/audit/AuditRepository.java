package org.frontline.audit;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Arrays;
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
    return pool.preparedQuery("SELECT " + AuditEntry.COLUMNS + """
             FROM audit_log a
            WHERE (EXISTS (SELECT 1 FROM unnest($1::text[]) AS p
                           WHERE a.unit_path >= p COLLATE "C" AND a.unit_path < subtree_end(p) COLLATE "C")
                   OR ($2 AND a.unit_id IS NULL))
              AND ($3::text IS NULL OR a.action = $3)
              AND ($4::uuid IS NULL OR a.actor_id = $4)
              AND ($5::timestamptz IS NULL OR a.at >= $5)
              AND ($6::timestamptz IS NULL OR a.at < $6)
              AND ($7::bigint IS NULL OR a.seq < $7)
            ORDER BY a.seq DESC
            LIMIT $8""")
        .execute(Tuple.from(Arrays.asList(scope.paths().toArray(String[]::new), scope.includesRoot(), q.action(),
            q.actorId(), utc(q.from()), utc(q.to()), q.beforeSeq(), q.limit())))
        .map(rows -> {
          List<AuditEntry> entries = new ArrayList<>();
          rows.forEach(r -> entries.add(entry(r)));
          return entries;
        });
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
