package org.frontline.evidence;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import org.frontline.identity.Scope;
import org.frontline.media.EvidenceCheck;
import org.frontline.media.EvidenceChecks;
import org.frontline.uploads.UploadRepository;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The media worker's SQL. Work is claimed with {@code FOR UPDATE SKIP LOCKED} and a lease: concurrent instances never
 * claim the same attachment, and an attachment of an instance that died is claimed again once its lease expired.
 * Results are recorded only while the claim is still this instance's.
 *
 * <p>Comparison scope of exact reuse and near-duplicates: the subtrees of the active supervisors whose scope covers
 * the report's unit (the people who would compare the photos), plus the report's own unit subtree when no
 * supervisor covers it. Reports by any author count, the report itself does not.
 */
final class EvidenceRepository {
  private static final Logger LOG = LoggerFactory.getLogger(EvidenceRepository.class);

  /** A claimed stored attachment with what its checks need of the report. */
  record Job(UUID attachmentId, UUID reportId, UUID unitId, String objectKey, String contentType, long size,
             byte[] sha256, double lat, double lon, double accuracyM, boolean mock, OffsetDateTime capturedAt,
             OffsetDateTime receivedAt, int attempts) {}

  /** Another report carrying a matching photo. */
  record Match(String reportId, int distance) {}

  private final Pool pool;

  EvidenceRepository(Pool pool) {
    this.pool = pool;
  }

  /**
   * Claims up to {@code limit} attachments to process. One whose last attempt never finished (claimed
   * {@code maxAttempts} times, still PENDING once its lease ran out: the process died while on it, maybe crashed by
   * the file itself in native decoding) is not processed again but returned among {@link Claim#abandoned}, claimed,
   * for the caller to FAIL with its checks-unavailable flag ({@link #fail}), so a poisoned photo cannot take down
   * worker after worker forever; a caller that dies before that leaves it to be abandoned at a later claim.
   */
  /** What a claim took: the jobs to process, and those to abandon instead (their last error in {@code error}). */
  record Claim(List<Job> jobs, List<Abandoned> abandoned) {}

  /** A claimed attachment whose every attempt was used up without finishing, with the last error recorded. */
  record Abandoned(Job job, String error) {}

  Future<Claim> claim(String instance, int limit, Duration lease, int maxAttempts) {
    return pool.preparedQuery("WITH c AS (SELECT id, media_attempts >= $4 AS abandon FROM attachment"
            + " WHERE status = 'STORED' AND media_status = 'PENDING'"
            + " AND (media_lease_until IS NULL OR media_lease_until < now())"
            + " ORDER BY stored_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)"
            + " UPDATE attachment a SET media_claimed_by = $2,"
            + " media_lease_until = now() + $3 * interval '1 millisecond',"
            + " media_attempts = a.media_attempts + CASE WHEN c.abandon THEN 0 ELSE 1 END"
            + " FROM c, report r WHERE a.id = c.id AND r.id = a.report_id"
            + " RETURNING a.id, a.report_id, r.unit_id, a.object_key, a.content_type, a.declared_size,"
            + " a.declared_sha256, r.lat, r.lon, coalesce(r.accuracy_m, 0) AS accuracy_m, r.location_mock,"
            + " r.captured_at, r.request ->> 'capturedAt' AS captured_at_sent, r.received_at, a.media_attempts,"
            + " a.media_error, c.abandon")
        .execute(Tuple.of(limit, instance, lease.toMillis(), maxAttempts))
        .map(rows -> {
          List<Job> jobs = new ArrayList<>();
          List<Abandoned> abandoned = new ArrayList<>();
          for (Row r : rows) {
            Job job = new Job(r.getUUID("id"), r.getUUID("report_id"), r.getUUID("unit_id"), r.getString("object_key"),
                r.getString("content_type"), r.getLong("declared_size"), r.getBuffer("declared_sha256").getBytes(),
                r.getDouble("lat"), r.getDouble("lon"), r.getDouble("accuracy_m"), r.getBoolean("location_mock"),
                asSent(r.getOffsetDateTime("captured_at"), r.getString("captured_at_sent")),
                r.getOffsetDateTime("received_at"), r.getInteger("media_attempts"));
            if (Boolean.TRUE.equals(r.getBoolean("abandon"))) {
              LOG.warn("media processing of attachment {} abandoned: its {} attempt(s) never finished",
                  job.attachmentId(), job.attempts());
              abandoned.add(new Abandoned(job, r.getString("media_error")));
            } else {
              jobs.add(job);
            }
          }
          return new Claim(jobs, abandoned);
        });
  }

  /**
   * The report's capture time in the offset the phone sent it with (the column keeps the instant only): the photo's
   * wall-clock time is read in the phone's zone when the photo does not say its own.
   */
  static OffsetDateTime asSent(OffsetDateTime stored, String sent) {
    try {
      OffsetDateTime parsed = sent == null ? null : OffsetDateTime.parse(sent);
      return parsed != null && parsed.isEqual(stored) ? parsed : stored;
    } catch (java.time.format.DateTimeParseException e) {
      return stored;
    }
  }

  /** Items waiting for a worker, and the age in milliseconds of the oldest (0 when none). */
  record Backlog(long count, long oldestMillis) {}

  /** Stored photos waiting for the media worker (from {@code attachment_media_pending_idx}). */
  Future<Backlog> backlog() {
    return backlog("attachment", "stored_at", "status = 'STORED' AND media_status = 'PENDING'");
  }

  /** COMPLETE reports waiting for the report checker (from {@code report_checks_due_idx}, its claim's condition). */
  Future<Backlog> reportBacklog() {
    return backlog("report", "received_at", "status = 'COMPLETE' AND report_checks_due IS NOT FALSE");
  }

  private Future<Backlog> backlog(String table, String since, String where) {
    return pool.query("SELECT count(*) AS n, coalesce((extract(epoch FROM now() - min(" + since + ")) * 1000)::bigint,"
            + " 0) AS oldest FROM " + table + " WHERE " + where)
        .execute()
        .map(rows -> {
          Row r = rows.iterator().next();
          return new Backlog(r.getLong("n"), r.getLong("oldest"));
        });
  }

  /** The comparison scope (see the class comment) as a CTE {@code covers(path)}; $1 is the report's unit id. */
  private static final String COVERS = "WITH target AS (SELECT path FROM org_unit WHERE id = $1),"
      + " covers AS (SELECT cover.path FROM target JOIN org_unit cover ON " + Scope.within("target.path", "cover.path")
      + " JOIN account_scope s ON s.unit_id = cover.id JOIN account a ON a.id = s.account_id"
      + " WHERE 'supervisor' = ANY (a.roles) AND a.disabled_at IS NULL"
      + " UNION SELECT path FROM target) ";

  private static final String IN_COVERS = " EXISTS (SELECT 1 FROM org_unit u WHERE u.id = r.unit_id AND EXISTS"
      + " (SELECT 1 FROM covers WHERE " + Scope.within("u.path", "covers.path") + "))";

  /**
   * The first other stored attachment in scope with these exact bytes: of another report first, else another photo
   * of the same report.
   */
  Future<Optional<EvidenceChecks.Reuse>> exactReuse(Job job) {
    return pool.preparedQuery(COVERS + "SELECT o.report_id::text, o.id::text, o.report_id = $3 AS same"
            + " FROM attachment o JOIN report r ON r.id = o.report_id"
            + " WHERE o.status = 'STORED' AND o.declared_sha256 = $2 AND o.id <> $4 AND" + IN_COVERS
            + " ORDER BY o.report_id = $3, o.stored_at, o.id LIMIT 1")
        .execute(Tuple.of(job.unitId(), Buffer.buffer(job.sha256()), job.reportId(), job.attachmentId()))
        .map(rows -> {
          if (rows.size() == 0) {
            return Optional.empty();
          }
          Row r = rows.iterator().next();
          return Optional.of(new EvidenceChecks.Reuse(r.getString(0), r.getString(1), r.getBoolean(2)));
        });
  }

  /**
   * Hashes within this many bits of each other share one of the 8 indexed bands of 8 bits (V98, dhash_bands): a
   * search up to this distance reads only the photos that share a band.
   */
  static final int BANDED_WITHIN = 7;

  private static final String NEAREST_FIRST = " ORDER BY d, o.stored_at, o.id LIMIT 1";
  static final String NEAREST = COVERS + "SELECT o.report_id::text, bit_count((o.dhash # $2)::bit(64)) AS d"
      + " FROM attachment o JOIN report r ON r.id = o.report_id"
      + " WHERE o.dhash IS NOT NULL AND o.report_id <> $3 AND" + IN_COVERS + NEAREST_FIRST;
  /**
   * The candidates sharing a band first, on their own (a materialised CTE: planned alone, they are read through the
   * band index whatever the planner thinks of the scope's tables), then their scope and distance.
   */
  static final String NEAREST_BANDED = COVERS.strip() + ", o AS MATERIALIZED (SELECT report_id, dhash, stored_at, id"
      + " FROM attachment WHERE dhash IS NOT NULL AND dhash_bands(dhash) && dhash_bands($2) AND report_id <> $3)"
      + " SELECT o.report_id::text, bit_count((o.dhash # $2)::bit(64)) AS d FROM o JOIN report r ON r.id = o.report_id"
      + " WHERE" + IN_COVERS + NEAREST_FIRST;

  /**
   * The other report in scope with the photo nearest by dHash (Hamming distance), looked for among the photos
   * within {@code within} bits (by the band index when {@code within} is at most {@link #BANDED_WITHIN}; a farther
   * photo may be answered too, or not), if any was hashed.
   */
  Future<Optional<Match>> nearest(Job job, long dHash, int within) {
    return pool.preparedQuery(within <= BANDED_WITHIN ? NEAREST_BANDED : NEAREST)
        .execute(Tuple.of(job.unitId(), dHash, job.reportId()))
        .map(rows -> {
          if (rows.size() == 0) {
            return Optional.<Match>empty();
          }
          Row r = rows.iterator().next();
          return Optional.of(new Match(r.getString(0), r.getLong(1).intValue()));
        });
  }

  /**
   * Records the outcome of one attachment in one transaction: the attachment DONE (only while still claimed by
   * {@code instance}; otherwise nothing is written), its checks and the report-level checks (once per report), and,
   * when this is the report's first flag, {@code report.flagged} and the {@code report.evidence-flagged} event.
   * Answers whether the report became flagged now.
   */
  Future<Boolean> record(String instance, Job job, List<EvidenceCheck> reportChecks, List<EvidenceCheck> photoChecks,
                         Long dHash, JsonObject exif, String thumbKey, String displayKey, String note) {
    return pool.withTransaction(conn -> conn.preparedQuery("UPDATE attachment SET media_status = 'DONE',"
                + " media_done_at = now(), media_lease_until = NULL, media_error = $7, dhash = $3, exif = $4,"
                + " thumb_key = $5, display_key = $6, media_unavailable_since = NULL, media_unavailable_tries = 0"
                + " WHERE id = $1 AND media_claimed_by = $2 AND media_status = 'PENDING' RETURNING id")
            .execute(Tuple.from(new Object[] {job.attachmentId(), instance, dHash, exif, thumbKey, displayKey,
                note}))
            .compose(done -> {
              if (done.size() == 0) {
                return Future.failedFuture(new IllegalStateException("lost the claim of attachment "
                    + job.attachmentId()));
              }
              return checksAndFlag(conn, job, reportChecks, photoChecks);
            }));
  }

  /**
   * Inserts the checks (the report-level ones once per report) and, when one is flagged and the report was not yet,
   * sets {@code report.flagged} and writes the {@code report.evidence-flagged} event; whether the report became
   * flagged now.
   */
  private static Future<Boolean> checksAndFlag(SqlConnection conn, Job job, List<EvidenceCheck> reportChecks,
                                               List<EvidenceCheck> photoChecks) {
    List<Tuple> batch = new ArrayList<>();
    for (EvidenceCheck c : reportChecks) {
      batch.add(checkRow(job, null, c));
    }
    for (EvidenceCheck c : photoChecks) {
      batch.add(checkRow(job, job.attachmentId(), c));
    }
    return conn.preparedQuery(INSERT_CHECK)
        .executeBatch(batch)
        .compose(v -> {
          JsonArray flags = new JsonArray();
          reportChecks.stream().filter(EvidenceCheck::flagged).forEach(c -> flags.add(c.code()));
          photoChecks.stream().filter(EvidenceCheck::flagged).forEach(c -> flags.add(c.code()));
          if (flags.isEmpty()) {
            return Future.succeededFuture(false);
          }
          return flag(conn, job.reportId(), job.attachmentId(), flags);
        });
  }

  /**
   * Sets {@code report.flagged} and writes the {@code report.evidence-flagged} event (its {@code attachmentId} null
   * for a report without photos) unless the report was flagged already; whether it became flagged now.
   */
  private static Future<Boolean> flag(SqlConnection conn, UUID reportId, UUID attachmentId, JsonArray flags) {
    return flag(conn, reportId, attachmentId, flags, true);
  }

  /** As above; without {@code alert}, the flag alone (no event: a report stored before V170, checked late). */
  private static Future<Boolean> flag(SqlConnection conn, UUID reportId, UUID attachmentId, JsonArray flags,
                                      boolean alert) {
    // The report row lock orders two attachments flagged at once: only the first writes the event.
    return conn.preparedQuery("UPDATE report SET flagged = true WHERE id = $1 AND NOT flagged"
            + " RETURNING unit_id, author_id, type")
        .execute(Tuple.of(reportId))
        .compose(first -> {
          if (first.size() == 0 || !alert) {
            return Future.succeededFuture(false);
          }
          Row r = first.iterator().next();
          return conn.preparedQuery("""
                  INSERT INTO outbox (event_type, aggregate_type, aggregate_id, unit_id, payload)
                  VALUES ('report.evidence-flagged', 'report', $1, $2,
                          jsonb_build_object('reportId', $1::uuid::text, 'unitId', $2::uuid::text,
                                             'authorId', $3::uuid::text, 'type', $4::text,
                                             'attachmentId', $5::uuid::text, 'flags', $6::jsonb))
                  ON CONFLICT DO NOTHING""")
              .execute(Tuple.of(reportId, r.getUUID("unit_id"), r.getUUID("author_id"), r.getString("type"),
                  attachmentId, flags))
              .map(true);
        });
  }

  /**
   * A COMPLETE report due for the report checker, with what its report-level checks need; {@code older}: stored
   * before V170 ({@code report_checks_due} NULL); {@code checked}: whether its report-level checks are left to its
   * photos (it has some, and they recorded them or will).
   */
  record DueReport(UUID reportId, boolean hasPhotos, boolean older, boolean checked, double lat, double lon,
                   double accuracyM, boolean mock, OffsetDateTime capturedAt, OffsetDateTime receivedAt) {}

  /**
   * A report the checker flags, and whether with its alert (not for a report stored before V170, checked late:
   * months of old reports must not become urgent alerts at once; V162 did the same).
   */
  private record Flagged(UUID reportId, JsonArray flags, boolean alert) {}

  /** What one round of the report checker did: the reports it took, and those it flagged. */
  record ReportRound(int reports, int flagged) {}

  /**
   * One round of the report checker, in one transaction: claims up to {@code limit} COMPLETE reports still due
   * ({@code report_checks_due} not false: V170; {@code FOR NO KEY UPDATE SKIP LOCKED}, so workers of any number of
   * processes never take one report at once, and a worker that dies rolls its round back), records the
   * report-level checks of those without photos (once per report: the unique index, {@code ON CONFLICT DO
   * NOTHING}), flags the report and writes its {@code report.evidence-flagged} event when one is flagged, and
   * marks them all done. A report with photos is marked done without checks: its first photo records them. Reports
   * stored before V170 are flagged without the event, and those whose photos all FAILED before V162 without their
   * report-level checks get them.
   */
  Future<ReportRound> checkReports(int limit, java.util.function.Function<DueReport, List<EvidenceCheck>> checks) {
    return pool.withTransaction(conn -> conn.preparedQuery("SELECT r.id, r.lat, r.lon,"
            + " coalesce(r.accuracy_m, 0) AS accuracy_m, r.location_mock, r.captured_at, r.received_at,"
            + " EXISTS (SELECT 1 FROM attachment a WHERE a.report_id = r.id) AS has_photos,"
            + " r.report_checks_due IS NULL AS older,"
            + " EXISTS (SELECT 1 FROM evidence_check e WHERE e.report_id = r.id AND e.attachment_id IS NULL)"
            + " OR EXISTS (SELECT 1 FROM attachment a WHERE a.report_id = r.id AND a.media_status = 'PENDING')"
            + " AS checked FROM report r"
            + " WHERE r.status = 'COMPLETE' AND r.report_checks_due IS NOT FALSE"
            + " ORDER BY r.received_at LIMIT $1 FOR NO KEY UPDATE OF r SKIP LOCKED")
        .execute(Tuple.of(limit))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.succeededFuture(new ReportRound(0, 0));
          }
          List<UUID> ids = new ArrayList<>();
          List<Tuple> batch = new ArrayList<>();
          List<Flagged> flagged = new ArrayList<>();
          for (Row r : rows) {
            DueReport due = new DueReport(r.getUUID("id"), r.getBoolean("has_photos"), r.getBoolean("older"),
                r.getBoolean("checked"), r.getDouble("lat"), r.getDouble("lon"), r.getDouble("accuracy_m"),
                r.getBoolean("location_mock"), r.getOffsetDateTime("captured_at"), r.getOffsetDateTime("received_at"));
            ids.add(due.reportId());
            // A report with photos gets them with its first photo; one stored before V170 whose photos all FAILED
            // before they did (V162 could not compute them) gets them here.
            if (due.hasPhotos() && !(due.older() && !due.checked())) {
              continue;
            }
            JsonArray flags = new JsonArray();
            for (EvidenceCheck c : checks.apply(due)) {
              batch.add(checkRow(due.reportId(), null, c));
              if (c.flagged()) {
                flags.add(c.code());
              }
            }
            if (!flags.isEmpty()) {
              flagged.add(new Flagged(due.reportId(), flags, !due.older()));
            }
          }
          Future<?> inserted = batch.isEmpty() ? Future.succeededFuture()
              : conn.preparedQuery(INSERT_CHECK).executeBatch(batch);
          return inserted.compose(v -> {
            Future<Integer> chain = Future.succeededFuture(0);
            for (var f : flagged) {
              chain = chain.compose(n -> flag(conn, f.reportId(), null, f.flags(), f.alert())
                  .map(now -> now ? n + 1 : n));
            }
            return chain;
          }).compose(n -> conn.preparedQuery("UPDATE report SET report_checks_due = false WHERE id = ANY ($1)")
              .execute(Tuple.of(ids.toArray(new UUID[0])))
              .map(done -> new ReportRound(ids.size(), n)));
        }));
  }

  /** How a failed attempt ended: the attachment waits for another try, FAILED, or was no longer this instance's. */
  enum Failure { RETRIED, FAILED, LOST }

  /**
   * A failed attempt, recorded while the claim is still {@code instance}'s. A permanent failure ({@code unavailable}
   * false) used one of the attempts: retried after {@code retryAfter}, FAILED after {@code maxAttempts}. A store or
   * database that could not be reached ({@code unavailable}) gives the attempt back: retried after {@code retryAfter}
   * doubled per such failure in a row, at most {@code retryCap}, until the first of them is {@code unavailableFor} old,
   * then FAILED. Once FAILED (as for an abandoned attachment, {@code abandoned}), in the same transaction: the
   * report-level checks (once per report), the photo's {@code unavailable} check, the report's flag and event, and
   * its copies' keys as unowned objects (an attempt may have put them without recording them).
   */
  Future<Failure> fail(String instance, Job job, String error, boolean unavailable, boolean abandoned,
                       MediaWorkerVerticle.Settings settings, List<EvidenceCheck> reportChecks,
                       EvidenceCheck checksUnavailable) {
    String sql;
    List<Object> params = new ArrayList<>(List.of(job.attachmentId(), instance,
        error.length() > 500 ? error.substring(0, 500) : error, settings.retryAfter().toMillis()));
    if (abandoned) {
      sql = "media_status = 'FAILED', media_unavailable_since = NULL, media_unavailable_tries = 0,"
          + " media_lease_until = now() + $4 * interval '1 millisecond'";
    } else if (unavailable) {
      sql = "media_status = CASE WHEN media_unavailable_since <= now() - $6 * interval '1 millisecond'"
          + " THEN 'FAILED' ELSE 'PENDING' END, media_attempts = media_attempts - 1,"
          + " media_unavailable_since = coalesce(media_unavailable_since, now()),"
          + " media_unavailable_tries = media_unavailable_tries + 1, media_lease_until = now()"
          + " + least($4::float8 * power(2, least(media_unavailable_tries, 40)), $5) * interval '1 millisecond'";
      params.add((double) settings.retryCap().toMillis());
      params.add(settings.unavailableFor().toMillis());
    } else {
      sql = "media_status = CASE WHEN media_attempts >= $5 THEN 'FAILED' ELSE 'PENDING' END,"
          + " media_unavailable_since = NULL, media_unavailable_tries = 0,"
          + " media_lease_until = now() + $4 * interval '1 millisecond'";
      params.add(settings.maxAttempts());
    }
    return pool.withTransaction(conn -> conn.preparedQuery("UPDATE attachment SET media_error = $3, " + sql
            + " WHERE id = $1 AND media_claimed_by = $2 AND media_status = 'PENDING' RETURNING media_status")
        .execute(Tuple.from(params))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.succeededFuture(Failure.LOST);
          }
          if (!"FAILED".equals(rows.iterator().next().getString(0))) {
            return Future.succeededFuture(Failure.RETRIED);
          }
          // Copies an attempt put and could not record (its worker died after the PUT, its record failed) are no
          // row's: owed to the upload sweeper, which deletes them once old (a worker whose lease ran out may still
          // be putting them).
          return checksAndFlag(conn, job, reportChecks, List.of(checksUnavailable))
              .compose(flagged -> UploadRepository.unowned(conn, job.attachmentId(),
                  List.of(MediaWorkerVerticle.derivedKey(job.attachmentId(), "thumb"),
                      MediaWorkerVerticle.derivedKey(job.attachmentId(), "display"))))
              .map(Failure.FAILED);
        }));
  }

  private static Tuple checkRow(Job job, UUID attachmentId, EvidenceCheck c) {
    return checkRow(job.reportId(), attachmentId, c);
  }

  private static Tuple checkRow(UUID reportId, UUID attachmentId, EvidenceCheck c) {
    UUID other = c.otherReport() == null ? null : UUID.fromString(c.otherReport());
    return Tuple.from(new Object[] {reportId, attachmentId, c.code(), c.outcome().name(), c.measured(),
        c.threshold(), c.unit(), c.detail(), other});
  }

  /** One check; a check already recorded (the report-level ones once per report) is left as it is. */
  private static final String INSERT_CHECK = "INSERT INTO evidence_check (report_id, attachment_id, code, outcome,"
      + " measured, threshold, unit, detail, other_report_id)"
      + " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING";
}
