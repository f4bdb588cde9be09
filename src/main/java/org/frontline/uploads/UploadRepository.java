package org.frontline.uploads;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import org.frontline.audit.AuditEvent;
import org.frontline.audit.AuditLog;
import org.frontline.platform.objectstore.ObjectStore.Part;
import org.frontline.reports.AttachmentLedger;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/** The {@code upload} table. */
public final class UploadRepository {
  private static final String COLUMNS = """
      id, attachment_id, report_id, author_id, length, "offset", object_key, multipart_upload_id, parts, tail,
      sha256_state, status, expires_at""";

  /**
   * Whether the upload's attachment is STORED (by this upload, another one or a direct completion), for a query on
   * {@code upload}: an ACTIVE upload of it can never complete.
   */
  private static final String ATTACHMENT_STORED =
      "EXISTS (SELECT 1 FROM attachment a WHERE a.id = upload.attachment_id AND a.status = 'STORED')";

  /**
   * How long after an upload ended a writer may still put an object at its key: a completion on another instance
   * that read it ACTIVE (its PUT or CompleteMultipartUpload in flight) takes seconds; one this late has failed or
   * died. Every upload that ends other than COMPLETED is cleaned once more this long after its end ({@link #finish},
   * {@link #cleaned}), so what such a writer left when its server died before its own clean-up goes too.
   */
  public static final Duration LATE_WRITES = Duration.ofHours(1);

  /** Expiries are audited in the transaction that marks them. */
  private static final AuditLog AUDIT = new AuditLog();
  private final Pool pool;

  public UploadRepository(Pool pool) {
    this.pool = pool;
  }

  public Pool pool() {
    return pool;
  }

  /**
   * What a creation found: the attachment's declaration, and whether the new upload's row was inserted (only when
   * the attachment is its author's, PENDING and declared at the upload's length; else the declaration says why).
   */
  record Created(AttachmentLedger.Declared declared, boolean inserted) {}

  /**
   * A creation in one statement: reads the declaration of the new ACTIVE upload {@code u}'s attachment
   * ({@link AttachmentLedger#DECLARED}) and inserts the row when the attachment is {@code u}'s author's, PENDING and
   * declared at {@code u}'s length. Empty when the report has no such attachment.
   */
  Future<Optional<Created>> create(Upload u) {
    return pool.preparedQuery("WITH d AS (" + AttachmentLedger.DECLARED + """
            ), ins AS (
              INSERT INTO upload (id, attachment_id, report_id, author_id, length, "offset", object_key,
                                  multipart_upload_id, parts, tail, sha256_state, status, expires_at)
              SELECT $3::uuid, d.id, d.report_id, d.author_id, d.declared_size, 0, $6::text, NULL, '[]',
                     '\\x'::bytea, $7::bytea, 'ACTIVE', $8::timestamptz
              FROM d
              WHERE d.author_id = $4 AND d.status = 'PENDING' AND d.declared_size = $5
              RETURNING id)
            SELECT d.*, EXISTS (SELECT 1 FROM ins) AS inserted FROM d""")
        .execute(Tuple.from(new Object[] {u.attachmentId(), u.reportId(), u.id(), u.authorId(), u.length(),
            u.objectKey(), Buffer.buffer(u.sha256State()), utc(u.expiresAt())}))
        .map(rows -> rows.size() == 0 ? Optional.empty() : Optional.of(new Created(
            AttachmentLedger.declared(rows.iterator().next()), rows.iterator().next().getBoolean("inserted"))));
  }

  /** The multipart upload started for an upload just inserted (its row exists before the store call). */
  Future<Void> recordMultipart(UUID id, String multipartUploadId) {
    return pool.preparedQuery("UPDATE upload SET multipart_upload_id = $2 WHERE id = $1")
        .execute(Tuple.of(id, multipartUploadId))
        .mapEmpty();
  }

  /**
   * An upload whose multipart upload the store did not start (or whose answer was lost): FAILED, owing a clean-up,
   * so the sweeper aborts whatever the store may have started at its key.
   */
  Future<Void> startFailed(UUID id, String failure) {
    return pool.preparedQuery("""
            UPDATE upload SET status = 'FAILED', failure = $2, finished_at = now(), cleanup_after = now()
            WHERE id = $1 AND status = 'ACTIVE'""")
        .execute(Tuple.of(id, failure))
        .mapEmpty();
  }

  /** The tail of an ACTIVE upload still at {@code offset}; empty when it moved on or ended meanwhile. */
  public Future<Optional<byte[]>> tail(UUID id, long offset) {
    return pool.preparedQuery("SELECT tail FROM upload WHERE id = $1 AND \"offset\" = $2 AND status = 'ACTIVE'")
        .execute(Tuple.of(id, offset))
        .map(rows -> rows.size() == 0 ? Optional.empty() : Optional.of(rows.iterator().next().getBuffer(0).getBytes()));
  }

  /** An upload and the declaration of its attachment (immutable: size, SHA-256, content type, the report's unit). */
  public record Found(Upload upload, AttachmentLedger.Declared declared) {}

  /**
   * An upload without its tail (an empty one), with its attachment's declaration, in one statement: what HEAD,
   * termination and a PATCH waiting for its part permit need, without the up to 5 MiB of bytes not yet in a part (a
   * PATCH reads them once it holds a permit: {@link #tail}); the PATCH judges and completes the upload against the
   * declaration read here. An ACTIVE upload whose attachment is STORED already reads as
   * {@link Upload.Status#SUPERSEDED}.
   */
  public Future<Optional<Found>> find(UUID id) {
    return pool.preparedQuery("SELECT " + qualified("upload").replace("upload.tail,", "'\\x'::bytea AS tail,")
            .replace("upload.status,", "CASE WHEN upload.status = 'ACTIVE' AND a.status = 'STORED' THEN 'SUPERSEDED'"
                + " ELSE upload.status END AS status,")
            + ", r.unit_id, a.declared_size, a.declared_sha256, a.declared_content_type, a.status AS attachment_status"
            + " FROM upload JOIN attachment a ON a.id = upload.attachment_id JOIN report r ON r.id = upload.report_id"
            + " WHERE upload.id = $1")
        .execute(Tuple.of(id))
        .map(rows -> {
          if (rows.size() == 0) {
            return Optional.empty();
          }
          Row r = rows.iterator().next();
          Upload upload = upload(r);
          return Optional.of(new Found(upload, new AttachmentLedger.Declared(upload.attachmentId(), upload.reportId(),
              upload.authorId(), r.getUUID("unit_id"), r.getLong("declared_size"),
              HexFormat.of().formatHex(r.getBuffer("declared_sha256").getBytes()), r.getString("declared_content_type"),
              r.getString("attachment_status"))));
        });
  }

  /**
   * Records progress of an ACTIVE upload, only when nobody moved it since {@code expectedOffset} was read (another
   * instance, a termination, the sweeper) and its attachment was not stored meanwhile (it is then superseded): false
   * when the row was not updated.
   */
  public Future<Boolean> saveProgress(UUID id, long expectedOffset, long offset, List<Part> parts, byte[] tail,
                                      byte[] sha256State) {
    return pool.preparedQuery("""
            UPDATE upload SET "offset" = $3, parts = $4, tail = $5, sha256_state = $6
            WHERE id = $1 AND "offset" = $2 AND status = 'ACTIVE'""" + " AND NOT " + ATTACHMENT_STORED)
        .execute(Tuple.of(id, expectedOffset, offset, partsJson(parts), Buffer.buffer(tail),
            Buffer.buffer(sha256State)))
        .map(rows -> rows.rowCount() == 1);
  }

  /** The report of an attachment, or empty when there is no such attachment. */
  public Future<Optional<UUID>> reportOf(UUID attachmentId) {
    return pool.preparedQuery("SELECT report_id FROM attachment WHERE id = $1")
        .execute(Tuple.of(attachmentId))
        .map(rows -> rows.size() == 0 ? Optional.empty() : Optional.of(rows.iterator().next().getUUID("report_id")));
  }

  /** Whether the attachment is STORED with {@code objectKey} as its object (the evidence). */
  Future<Boolean> holdsStored(UUID attachmentId, String objectKey) {
    return pool.preparedQuery("SELECT 1 FROM attachment WHERE id = $1 AND status = 'STORED' AND object_key = $2")
        .execute(Tuple.of(attachmentId, objectKey))
        .map(rows -> rows.size() == 1);
  }

  /** Ends an ACTIVE upload with {@code status}; false when it was not ACTIVE any more. */
  public Future<Boolean> finish(UUID id, Upload.Status status, String failure) {
    return finish(pool, id, status, failure);
  }

  /**
   * Ends an ACTIVE upload with {@code status}. One that ends other than COMPLETED owes the store one more clean-up
   * {@link #LATE_WRITES} after its end (unless one is owed sooner already): its caller cleans the store right away,
   * but a server that dies before that clean-up, or a completion on another instance whose PUT lands after it and
   * that dies before its own clean-up, would leave an object at the key that nothing owes.
   */
  Future<Boolean> finish(SqlClient client, UUID id, Upload.Status status, String failure) {
    return client.preparedQuery("""
            UPDATE upload SET status = $2, failure = $3, finished_at = now(), tail = '\\x'::bytea,
                              "offset" = CASE WHEN $2 = 'COMPLETED' THEN length ELSE "offset" END,
                              cleanup_after = CASE WHEN $2 = 'COMPLETED' THEN cleanup_after
                                                   ELSE coalesce(cleanup_after, now() + make_interval(secs => $4)) END
            WHERE id = $1 AND status = 'ACTIVE'""")
        .execute(Tuple.of(id, status.name(), failure, (double) LATE_WRITES.toSeconds()))
        .map(rows -> rows.rowCount() == 1);
  }

  /**
   * Marks up to {@code limit} ACTIVE uploads past their expiry EXPIRED, owing their store clean-up, and audits each
   * ({@code attachment.upload.expired}, by the system, at its report's unit, how far it had come), in one short
   * transaction (no lock held afterwards), and returns the ones this call marked: of two sweepers at once, each
   * upload is marked (and returned, and audited) by one only. The store is cleaned afterwards, outside any
   * transaction, by whichever sweeper claims the clean-up ({@link #claimCleanups}).
   */
  Future<List<Upload>> expireDue(int limit) {
    return pool.withTransaction(conn -> conn.preparedQuery("""
            WITH due AS (SELECT id FROM upload WHERE status = 'ACTIVE' AND expires_at <= now()
                         ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)
            UPDATE upload u SET status = 'EXPIRED', finished_at = now(), tail = '\\x'::bytea, cleanup_after = now(),
                   failure = 'expired at ' || to_char(u.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
            FROM due, report r
            WHERE u.id = due.id AND u.status = 'ACTIVE' AND u.expires_at <= now() AND r.id = u.report_id
            RETURNING r.unit_id AS report_unit_id,\s""" + qualified("u"))
        .execute(Tuple.of(limit))
        .compose(rows -> {
          List<Upload> out = new ArrayList<>();
          List<AuditEvent> events = new ArrayList<>();
          rows.forEach(r -> {
            Upload upload = upload(r);
            out.add(upload);
            events.add(new AuditEvent(null, "system", "attachment.upload.expired", "attachment",
                upload.attachmentId().toString(), r.getUUID("report_unit_id"), null, null, AuditEvent.Outcome.SUCCESS,
                UploadService.progress(upload).put("reportId", upload.reportId().toString())));
          });
          return events.isEmpty() ? Future.succeededFuture(out) : AUDIT.recordAll(conn, events).map(out);
        }));
  }

  /**
   * Records that the store may still hold something of this upload (its multipart upload, or an object at its key)
   * because an abort or delete failed: the sweeper cleans it once the upload is no longer ACTIVE (an ACTIVE one is
   * cleaned when it ends or expires).
   */
  public Future<Void> owesStoreCleanup(UUID id) {
    return pool.preparedQuery("UPDATE upload SET cleanup_after = now() WHERE id = $1")
        .execute(Tuple.of(id))
        .mapEmpty();
  }

  /**
   * A store clean-up an ended upload owes: abort {@code multipartUploadId} (when there is one), delete
   * {@code objectKey} unless {@code attachmentsObject} (its attachment is STORED under that very key).
   */
  record Cleanup(UUID id, String objectKey, String multipartUploadId, long length, boolean attachmentsObject) {}

  /**
   * Claims up to {@code limit} clean-ups due of uploads no longer ACTIVE, in one short statement, by moving their
   * {@code cleanup_after} {@code lease} ahead: of two sweepers at once each is claimed by one; one that fails (or
   * whose sweeper dies) is claimed again once the lease is over. Whether the attachment is STORED under the upload's
   * key is read here and cannot change afterwards: the key is this upload's own, and an attachment is stored under
   * it only together with the upload's move from ACTIVE to COMPLETED, in one transaction.
   */
  Future<List<Cleanup>> claimCleanups(int limit, Duration lease) {
    return pool.preparedQuery("""
            WITH due AS (SELECT id FROM upload WHERE cleanup_after <= now() AND status <> 'ACTIVE'
                         ORDER BY cleanup_after LIMIT $1 FOR UPDATE SKIP LOCKED)
            UPDATE upload u SET cleanup_after = now() + make_interval(secs => $2)
            FROM due WHERE u.id = due.id AND u.status <> 'ACTIVE' AND u.cleanup_after <= now()
            RETURNING u.id, u.object_key, u.multipart_upload_id, u.length,
                      EXISTS (SELECT 1 FROM attachment a WHERE a.id = u.attachment_id AND a.status = 'STORED'
                                                          AND a.object_key = u.object_key) AS attachments_object""")
        .execute(Tuple.of(limit, (double) lease.toSeconds()))
        .map(rows -> {
          List<Cleanup> out = new ArrayList<>();
          rows.forEach(r -> out.add(new Cleanup(r.getUUID("id"), r.getString("object_key"),
              r.getString("multipart_upload_id"), r.getLong("length"), r.getBoolean("attachments_object"))));
          return out;
        });
  }

  /**
   * The store holds nothing more of this upload: its clean-up is no longer owed, unless it ended other than
   * COMPLETED less than {@link #LATE_WRITES} ago (then once more at that time: a late writer may still put an object
   * at its key; a COMPLETED upload's key is its attachment's object, never deleted).
   */
  Future<Void> cleaned(UUID id) {
    // Only while the sweeper's lease is what the row says: a clean-up owed meanwhile (owesStoreCleanup: a late
    // PUT's delete the store refused, say) set it to now(), and stays owed.
    return pool.preparedQuery("""
            UPDATE upload SET cleanup_after = CASE WHEN status <> 'COMPLETED'
                                                        AND finished_at > now() - make_interval(secs => $2)
                                                   THEN finished_at + make_interval(secs => $2) END
            WHERE id = $1 AND status <> 'ACTIVE' AND cleanup_after > now()""")
        .execute(Tuple.of(id, (double) LATE_WRITES.toSeconds()))
        .mapEmpty();
  }

  /**
   * The status of each attachment of {@code attachmentReports} (attachment id to its report id) that exists with
   * that report; an attachment missing from the answer does not exist (or not in that report).
   */
  Future<Map<UUID, String>> attachmentStatuses(Map<UUID, UUID> attachmentReports) {
    UUID[] ids = attachmentReports.keySet().toArray(UUID[]::new);
    return pool.preparedQuery("SELECT id, report_id, status FROM attachment WHERE id = ANY($1)")
        .execute(Tuple.of(ids))
        .map(rows -> {
          Map<UUID, String> out = new HashMap<>();
          rows.forEach(r -> {
            if (r.getUUID("report_id").equals(attachmentReports.get(r.getUUID("id")))) {
              out.put(r.getUUID("id"), r.getString("status"));
            }
          });
          return out;
        });
  }

  /**
   * Records, before the copy, that a direct-upload completion writes {@code objectKey} for {@code attachmentId}:
   * until {@link #owned} (or {@link #forgetUnowned}) the object is nobody's and the sweeper deletes it once old.
   */
  Future<Void> writingUnowned(UUID attachmentId, String objectKey) {
    return pool.preparedQuery("INSERT INTO unowned_object (object_key, attachment_id) VALUES ($1, $2)")
        .execute(Tuple.of(objectKey, attachmentId))
        .mapEmpty();
  }

  /**
   * In {@code client}'s transaction: the objects at {@code objectKeys} (which may or may not exist) are nobody's, and
   * the sweeper deletes them once old unless {@code attachmentId} holds one (as its object or a copy) by then.
   */
  public static Future<Void> unowned(SqlClient client, UUID attachmentId, List<String> objectKeys) {
    return client.preparedQuery("INSERT INTO unowned_object (object_key, attachment_id) SELECT k, $2"
            + " FROM unnest($1::text[]) AS k ON CONFLICT (object_key) DO NOTHING")
        .execute(Tuple.of(objectKeys.toArray(String[]::new), attachmentId))
        .mapEmpty();
  }

  /**
   * In the transaction that stores the attachment under {@code objectKey}: the object is the attachment's now.
   * Fails (so the transaction rolls back) when a sweeper claimed the entry: it may be deleting the object.
   */
  Future<Void> owned(SqlClient client, String objectKey) {
    return client.preparedQuery("DELETE FROM unowned_object WHERE object_key = $1 AND claimed_until IS NULL")
        .execute(Tuple.of(objectKey))
        .compose(rows -> rows.rowCount() == 1 ? Future.<Void>succeededFuture()
            : Future.failedFuture(new IllegalStateException("object " + objectKey + " was claimed by the sweeper")));
  }

  /** The unowned object at {@code objectKey} was deleted (or is the attachment's): nothing is owed any more. */
  Future<Void> forgetUnowned(String objectKey) {
    return pool.preparedQuery("DELETE FROM unowned_object WHERE object_key = $1")
        .execute(Tuple.of(objectKey))
        .mapEmpty();
  }

  /**
   * An unowned object to delete, unless {@code attachmentsObject} (its attachment is STORED under that key, has it as
   * a served copy, or may be given it: a served copy of a photo PENDING in the media worker).
   */
  record Unowned(String objectKey, boolean attachmentsObject) {}

  /**
   * Claims up to {@code limit} unowned objects written before {@code writtenBefore}, in one short statement, by
   * moving their {@code claimed_until} {@code lease} ahead (of two sweepers each is claimed by one; one that fails
   * is claimed again after the lease). Once claimed an entry can no longer be {@link #owned}, so whether the
   * attachment is STORED under the key, read here, cannot change afterwards. A served copy's entry (a FAILED photo's,
   * {@link #unowned}) is the attachment's while it names the copy, and while the photo is PENDING again (a migration
   * ran FAILED photos again: a worker may be putting the copy; it records it, or fails the photo and so owes it
   * again); such an entry is forgotten, the object kept.
   */
  Future<List<Unowned>> claimUnowned(Instant writtenBefore, int limit, Duration lease) {
    return pool.preparedQuery("""
            WITH due AS (SELECT object_key FROM unowned_object
                         WHERE created_at <= $1 AND (claimed_until IS NULL OR claimed_until <= now())
                         ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)
            UPDATE unowned_object u SET claimed_until = now() + make_interval(secs => $3)
            FROM due WHERE u.object_key = due.object_key
            RETURNING u.object_key,
                      EXISTS (SELECT 1 FROM attachment a WHERE a.id = u.attachment_id AND a.status = 'STORED'
                                    AND (u.object_key IN (a.object_key, a.thumb_key, a.display_key)
                                         OR a.media_status = 'PENDING' AND u.object_key LIKE 'derived/%'))
                        AS attachments_object""")
        .execute(Tuple.of(utc(writtenBefore), limit, (double) lease.toSeconds()))
        .map(rows -> {
          List<Unowned> out = new ArrayList<>();
          rows.forEach(r -> out.add(new Unowned(r.getString("object_key"), r.getBoolean("attachments_object"))));
          return out;
        });
  }

  /** {@link #COLUMNS} with a table alias (a join, the RETURNING of an UPDATE ... FROM). */
  private static String qualified(String alias) {
    StringBuilder out = new StringBuilder();
    for (String column : COLUMNS.split(",")) {
      out.append(out.isEmpty() ? "" : ", ").append(alias).append('.').append(column.strip());
    }
    return out.toString();
  }

  private static JsonArray partsJson(List<Part> parts) {
    JsonArray a = new JsonArray();
    parts.forEach(p -> a.add(new JsonObject().put("number", p.number()).put("etag", p.etag()).put("size", p.size())));
    return a;
  }

  private static OffsetDateTime utc(Instant i) {
    return i.atOffset(ZoneOffset.UTC);
  }

  private static Upload upload(Row r) {
    List<Part> parts = new ArrayList<>();
    Object raw = r.getValue("parts");
    JsonArray a = raw instanceof JsonArray ja ? ja : new JsonArray(raw.toString());
    for (int i = 0; i < a.size(); i++) {
      JsonObject p = a.getJsonObject(i);
      parts.add(new Part(p.getInteger("number"), p.getString("etag"), p.getLong("size")));
    }
    Buffer state = r.getBuffer("sha256_state");
    return new Upload(r.getUUID("id"), r.getUUID("attachment_id"), r.getUUID("report_id"), r.getUUID("author_id"),
        r.getLong("length"), r.getLong("offset"), r.getString("object_key"), r.getString("multipart_upload_id"),
        parts, r.getBuffer("tail").getBytes(), state == null ? null : state.getBytes(),
        Upload.Status.valueOf(r.getString("status")), r.getOffsetDateTime("expires_at").toInstant());
  }
}
