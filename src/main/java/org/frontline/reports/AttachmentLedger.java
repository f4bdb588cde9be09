package org.frontline.reports;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;

import java.util.HexFormat;
import java.util.Optional;
import java.util.UUID;

/**
 * What the upload paths (tus, presigned PUT) need to know of declared attachments, and the one way an attachment
 * becomes STORED: in the same transaction, the report becomes COMPLETE when it was its last pending attachment,
 * and then (and only then) its {@code report.completed} event is written to the outbox.
 */
public final class AttachmentLedger {

  /** A declared attachment, as the manifest of its report describes it. */
  public record Declared(UUID attachmentId, UUID reportId, UUID authorId, UUID unitId, long size, String sha256Hex,
                         String contentType, String status) {}

  /** Outcome of {@link #markStored}: whether this made the report complete. */
  public record Stored(UUID reportId, boolean reportCompleted) {}

  /** A STORED attachment as its storing left it: the sniffed type, and whether storing it completed the report. */
  public record StoredState(String contentType, boolean reportCompleted) {}

  private final Pool pool;
  /** The report.completed event: the same statement as a report complete at once. */
  private final ReportRepository reports = new ReportRepository();

  public AttachmentLedger(Pool pool) {
    this.pool = pool;
  }

  /**
   * The query of a declared attachment: $1 the attachment, $2 its report; its row is read by {@link #declared(Row)}.
   * Public for a statement that reads the declaration and writes on it at once (the tus creation).
   */
  public static final String DECLARED = """
      SELECT a.id, a.report_id, r.author_id, r.unit_id, a.declared_size, a.declared_sha256,
             a.declared_content_type, a.status
      FROM attachment a JOIN report r ON r.id = a.report_id
      WHERE a.id = $1 AND a.report_id = $2""";

  /** The attachment {@code attachmentId} of report {@code reportId}, or empty when there is no such pair. */
  public Future<Optional<Declared>> declared(UUID reportId, UUID attachmentId) {
    return pool.preparedQuery(DECLARED)
        .execute(Tuple.of(attachmentId, reportId))
        .map(rows -> rows.size() == 0 ? Optional.<Declared>empty() : Optional.of(declared(rows.iterator().next())));
  }

  /**
   * The state of a STORED attachment (empty while it is not), as {@link #markStored} left it, for a repeated
   * completion to answer what the first one did. Storing the report's last attachment completes the report in the
   * same transaction, where {@code now()} is the transaction's start: both timestamps are then equal. Every other
   * attachment of the report was stored by a transaction of its own, whose start differs (two transactions starting
   * in the same microsecond aside).
   */
  public Future<Optional<StoredState>> storedState(UUID attachmentId) {
    return pool.preparedQuery("""
            SELECT a.content_type, r.status = 'COMPLETE' AND r.completed_at = a.stored_at AS completed_report
            FROM attachment a JOIN report r ON r.id = a.report_id
            WHERE a.id = $1 AND a.status = 'STORED'""")
        .execute(Tuple.of(attachmentId))
        .map(rows -> {
          if (rows.size() == 0) {
            return Optional.<StoredState>empty();
          }
          Row row = rows.iterator().next();
          return Optional.of(new StoredState(row.getString("content_type"), row.getBoolean("completed_report")));
        });
  }

  /**
   * Marks a PENDING attachment STORED under {@code objectKey} (size and SHA-256 already verified by the caller),
   * and completes the report when no attachment of it is pending any more, writing {@code report.completed} to the
   * outbox in the same transaction. Storing an attachment that is already STORED under the same key is a no-op.
   */
  public Future<Stored> markStored(UUID attachmentId, String objectKey, String sniffedContentType) {
    return pool.withTransaction(conn -> markStored(conn, attachmentId, objectKey, sniffedContentType));
  }

  public Future<Stored> markStored(SqlConnection conn, UUID attachmentId, String objectKey, String sniffedContentType) {
    return conn.preparedQuery("""
            UPDATE attachment SET status = 'STORED', object_key = $2, content_type = $3, stored_at = now()
            WHERE id = $1 AND status = 'PENDING'
            RETURNING report_id""")
        .execute(Tuple.of(attachmentId, objectKey, sniffedContentType))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.succeededFuture(null);
          }
          UUID reportId = rows.iterator().next().getUUID("report_id");
          // Lock the report row first, in its own statement: two last attachments stored at once must not both
          // (or neither) complete it. The completing UPDATE below then runs with a snapshot taken after the lock,
          // so it sees the other transaction's attachment once that one committed (READ COMMITTED). A report with
          // photos gets its report-level checks with its first photo: not due for the report checker (V170).
          return conn.preparedQuery("SELECT 1 FROM report WHERE id = $1 FOR UPDATE").execute(Tuple.of(reportId))
              .compose(locked -> conn.preparedQuery("""
                  UPDATE report SET status = 'COMPLETE', completed_at = now(), report_checks_due = false
                  WHERE id = $1 AND status = 'AWAITING_MEDIA'
                    AND NOT EXISTS (SELECT 1 FROM attachment WHERE report_id = $1 AND status <> 'STORED')
                  RETURNING id, unit_id, author_id, type""")
              .execute(Tuple.of(reportId))
              .compose(done -> {
                if (done.size() == 0) {
                  return Future.succeededFuture(new Stored(reportId, false));
                }
                Row r = done.iterator().next();
                return reports.insertCompletedEvent(conn, reportId, r.getUUID("unit_id"), r.getUUID("author_id"),
                        r.getString("type"))
                    .map(ignored -> new Stored(reportId, true));
              }));
        })
        .compose(stored -> stored != null ? Future.succeededFuture(stored)
            : conn.preparedQuery("SELECT report_id, status, object_key FROM attachment WHERE id = $1")
                .execute(Tuple.of(attachmentId))
                .compose(rows -> {
                  Row row = rows.size() == 0 ? null : rows.iterator().next();
                  if (row != null && "STORED".equals(row.getString("status"))
                      && objectKey.equals(row.getString("object_key"))) {
                    return Future.succeededFuture(new Stored(row.getUUID("report_id"), false));
                  }
                  return Future.failedFuture(new IllegalStateException("attachment " + attachmentId
                      + " is not pending (" + (row == null ? "missing" : row.getString("status")) + ")"));
                }));
  }

  /**
   * Records why an upload of a PENDING attachment was refused (e.g. SHA-256 mismatch). The attachment stays
   * PENDING: the phone may upload it again. {@code client}: the transaction that audits the rejection.
   */
  public Future<Void> recordRejection(SqlClient client, UUID attachmentId, String reason) {
    return client.preparedQuery("""
            UPDATE attachment SET last_rejection = $2
            WHERE id = $1 AND status = 'PENDING'""")
        .execute(Tuple.of(attachmentId, reason))
        .mapEmpty();
  }

  /** A row of {@link #DECLARED}. */
  public static Declared declared(Row row) {
    return new Declared(row.getUUID("id"), row.getUUID("report_id"), row.getUUID("author_id"),
        row.getUUID("unit_id"), row.getLong("declared_size"),
        HexFormat.of().formatHex(row.getBuffer("declared_sha256").getBytes()),
        row.getString("declared_content_type"), row.getString("status"));
  }
}
