package org.frontline.reports;

import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.SqlConnection;
import org.frontline.identity.Actor;
import org.frontline.identity.AdminAudit;
import org.frontline.identity.Page;
import org.frontline.identity.Scope;
import org.frontline.platform.db.Database;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemException;
import org.frontline.platform.http.ProblemType;

import java.security.MessageDigest;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * Field reports: exactly-once submission by the client-minted id, and reads within the caller's visibility.
 */
public final class ReportService {
  /** Roles that read reports of other authors in their scope (officers read only their own). */
  static final List<String> READER_ROLES = List.of("supervisor", "assessor", "admin");

  /** The outcome of a submission: the body to answer with, and whether it was created now (201) or a repeat (200). */
  public record Submission(boolean created, UUID id, String body) {}

  private final Database database;
  private final ReportRepository reports = new ReportRepository();
  private final AdminAudit audit;
  private final LinkedRecords linked;
  /** Group commit; until {@link #start} every submission is written alone. */
  private volatile SubmissionBatcher batcher;

  public ReportService(Database database, AdminAudit audit, LinkedRecords linked) {
    this.database = database;
    this.audit = audit;
    this.linked = linked;
  }

  /**
   * Runs {@code work}; the submissions it makes on this thread reach the batcher together, so they are written in
   * one group (the items of a batch request): posted one by one from this thread, the batcher's own thread could
   * start a group with the first few while the rest are still being posted.
   */
  public <T> T together(Supplier<T> work) {
    if (GATHERING.get() != null) {
      return work.get();
    }
    List<SubmissionBatcher.Pending> gathered = new ArrayList<>();
    GATHERING.set(gathered);
    try {
      return work.get();
    } finally {
      GATHERING.remove();
      if (!gathered.isEmpty()) {
        batcher.submitAll(gathered);
      }
    }
  }

  private static final ThreadLocal<List<SubmissionBatcher.Pending>> GATHERING = new ThreadLocal<>();

  /** Starts group commit: one batcher for the process, on an event-loop context of its own. */
  public void start(Vertx vertx, MeterRegistry registry) {
    batcher = new SubmissionBatcher(((VertxInternal) vertx).createEventLoopContext(), database, reports,
        this::submitAlone, new GroupCommitMetrics(registry));
  }

  /**
   * Stores the envelope once. The primary key decides between concurrent submissions of one id (INSERT ... ON
   * CONFLICT DO NOTHING, then read what won); a repeat of the same canonical envelope by its author answers the
   * stored 201 body, anything else under that id is a conflict.
   *
   * <p>A report that links no other record is written with the concurrent submissions of the process in one
   * transaction ({@link SubmissionBatcher}: group commit); one with links (milestone, enterprise) is written alone,
   * as its links are checked and applied in its own transaction ({@link LinkedRecords}).
   */
  public Future<Submission> submit(Actor actor, Envelope envelope) {
    byte[] sha256 = CanonicalJson.sha256(envelope.canonical());
    OffsetDateTime receivedAt = Instant.now().truncatedTo(ChronoUnit.MICROS).atOffset(ZoneOffset.UTC);
    String status = envelope.attachments().isEmpty() ? "COMPLETE" : "AWAITING_MEDIA";
    // A reader's own report says it is not flagged, as a read of it will: the one representation.
    Boolean flagged = !actor.isSystem() && isReader(actor) ? Boolean.FALSE : null;
    String response = initialView(actor.accountId(), envelope, status, receivedAt, flagged).toJson().encode();
    // The answer is delivered on the submitter's context, whichever thread completes it (the batcher's).
    ContextInternal caller = (ContextInternal) Vertx.currentContext();
    SubmissionBatcher.Pending pending = new SubmissionBatcher.Pending(actor, envelope, sha256, status, receivedAt,
        response, caller == null ? Promise.promise() : caller.promise());
    if (batcher != null && !LinkedRecords.hasLinks(envelope)) {
      List<SubmissionBatcher.Pending> gathering = GATHERING.get();
      if (gathering != null) {
        gathering.add(pending);
        return pending.answer().future();
      }
      return batcher.submit(pending);
    }
    return submitAlone(pending);
  }

  /**
   * One submission in a transaction of its own. The linked record is checked and updated only when the report is
   * created now (after its row is written, so a failure rolls it back): a repeat answers what was stored and never
   * records progress twice.
   */
  private Future<Submission> submitAlone(SubmissionBatcher.Pending p) {
    Actor actor = p.actor();
    Envelope envelope = p.envelope();
    return database.inTransaction(conn -> actor.scope(conn)
            .compose(scope -> reports.unitInScope(conn, scope, envelope.unitId())
                .compose(inScope -> inScope ? write(conn, actor, p) : repeatOutOfScope(conn, actor, p))))
        .recover(e -> Future.failedFuture(isUniqueViolation(e, "attachment_pkey")
            ? new ProblemException(Problem.of(ProblemType.CONFLICT,
                "An attachment id of this report is already used by another report; mint new attachment ids."))
            : e));
  }

  /** The submission's report (its unit in scope) unless its id is taken: then a repeat or a conflict. */
  private Future<Submission> write(SqlConnection conn, Actor actor, SubmissionBatcher.Pending p) {
    Envelope envelope = p.envelope();
    String status = p.status();
    return reports.insert(conn, envelope, actor.accountId(), status, p.receivedAt(), p.sha256(), p.response())
        .compose(inserted -> inserted.isEmpty()
            ? reports.existing(conn, envelope.id()).map(existing -> judge(existing, actor, envelope, p.sha256()))
            // The links are judged against the scope read again: the insert's foreign-key lock on the unit waits for
            // a move of it (a move rewrites the unique path, locking the rows FOR UPDATE), and the scope read before
            // then would miss a move of a unit the author covers.
            : actor.scope(conn).compose(scope -> linked.check(conn, actor, scope, envelope))
                .compose(v -> reports.insertAttachments(conn, envelope))
                .compose(v -> "COMPLETE".equals(status) ? reports.insertCompletedEvent(conn, envelope.id(),
                    envelope.unitId(), actor.accountId(), envelope.type()) : Future.succeededFuture())
                .compose(v -> audit.success(conn, actor, "report.create", "report", envelope.id(),
                    envelope.unitId(), auditDetails(p)))
                .map(v -> new Submission(true, envelope.id(), inserted.get())));
  }

  /**
   * A submission whose unit is no longer live or in its author's scope: when the author's own report is already
   * stored under its id, it is judged as any repeat (the stored 201 body, or a conflict), since the first answer may
   * have been lost before the unit left the scope; else the 422. Anyone else's id answers the 422 as before.
   */
  private Future<Submission> repeatOutOfScope(SqlConnection conn, Actor actor, SubmissionBatcher.Pending p) {
    Envelope envelope = p.envelope();
    return reports.existing(conn, envelope.id()).map(existing -> {
      if (existing == null || !existing.authorId().equals(actor.accountId())) {
        throw unprocessable("body/unitId", "No live org unit " + envelope.unitId() + " in your scope.");
      }
      return judge(existing, actor, envelope, p.sha256());
    });
  }

  /**
   * The report.create entry's details. {@code requestSha256} (the stored {@code report.request_sha256}: the SHA-256 of
   * the envelope's canonical text, whose manifest names each photo's SHA-256) ties the report as submitted to the
   * chain, so an inspector can tell an envelope changed in the table since from the one the author sent.
   */
  static JsonObject auditDetails(SubmissionBatcher.Pending p) {
    return new JsonObject().put("type", p.envelope().type()).put("status", p.status())
        .put("attachments", p.envelope().attachments().size())
        .put("requestSha256", HexFormat.of().formatHex(p.sha256()));
  }

  /**
   * A submission under an id already taken: the same canonical envelope (or one that differs only in how a number
   * is written) by the same author is a repeat (the stored 201 body, answered 200); anything else is a conflict
   * (thrown as a problem), naming the differing fields only to the author.
   */
  static Submission judge(ReportRepository.Existing existing, Actor actor, Envelope envelope, byte[] sha256) {
    if (!existing.authorId().equals(actor.accountId())) {
      // Another author's report: say nothing of it.
      throw new ProblemException(Problem.of(ProblemType.CONFLICT,
          "The report id " + envelope.id() + " is already taken; mint a new id."));
    }
    List<String> differences = differences(existing, envelope.raw(), sha256);
    if (differences.isEmpty()) {
      return new Submission(false, envelope.id(), existing.responseText());
    }
    throw new ProblemException(Problem.of(ProblemType.CONFLICT,
            "A different report was already submitted under id " + envelope.id() + "; differing fields: "
                + String.join(", ", differences) + ".")
        .with("differences", differences));
  }

  /**
   * Where {@code envelope} (its canonical SHA-256 {@code sha256}) differs from the one stored, as a repeat is judged;
   * none: the same envelope. The same JSON value written otherwise is the same (8 and 8.0, 1e2 and 100 are one
   * number; one instant at another offset; a default left out or written).
   */
  private static List<String> differences(ReportRepository.Existing existing, JsonObject envelope, byte[] sha256) {
    if (MessageDigest.isEqual(existing.requestSha256(), sha256)) {
      return List.of();
    }
    return CanonicalJson.differences(Envelope.withDefaults(existing.request()), Envelope.withDefaults(envelope))
        .stream()
        .filter(at -> !at.equals("/capturedAt") || !sameCaptureTime(existing.request(), envelope))
        .toList();
  }

  /**
   * A refused envelope (400 or 422) that repeats a report its author stored: the stored 201 body when its id is a
   * report of {@code actor} whose stored request is this same envelope (as {@link #judge} compares them), else empty
   * and the refusal stands. A phone resends a report whose answer it never got, and the server may have been
   * upgraded meanwhile with a stricter rule than the one that stored it (a title of only U+3000): the report is
   * stored all the same, and a 400 would make the phone drop it. Another author's id or another envelope keeps the
   * refusal (no conflict is told for an envelope that could not be stored anyway). One primary-key read, made only
   * after a refusal: accepted submissions never come here.
   */
  public Future<Optional<Submission>> repeatOf(Actor actor, Object envelope) {
    if (!(envelope instanceof JsonObject sent) || !(sent.getValue("id") instanceof String id)
        || !UUID_FORM.matcher(id).matches()) {
      return Future.succeededFuture(Optional.empty());
    }
    UUID reportId = UUID.fromString(id);
    return reports.existing(database.pool(), reportId).map(existing -> existing != null
        && existing.authorId().equals(actor.accountId())
        && differences(existing, sent, CanonicalJson.sha256(CanonicalJson.encode(sent))).isEmpty()
        ? Optional.of(new Submission(false, reportId, existing.responseText())) : Optional.empty());
  }

  /** A UUID as the contract writes one (UUID.fromString also takes "1-2-3-4-5"). */
  private static final java.util.regex.Pattern UUID_FORM =
      java.util.regex.Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

  /**
   * Whether the stored envelope's capturedAt is the instant this one names, as stored (UTC, to the microsecond): a
   * phone that had no network had no time zone either, and once it has one it may write the same instant of its
   * queue at another offset ("...T02:00:00Z" then "...T10:00:00+08:00"). One report, as 8 and 8.0 are one number.
   */
  private static boolean sameCaptureTime(JsonObject stored, JsonObject envelope) {
    try {
      return stored.getValue("capturedAt") instanceof String first
          && envelope.getValue("capturedAt") instanceof String second
          && Envelope.captureTime(first).equals(Envelope.captureTime(second));
    } catch (ProblemException storedUnderOlderRules) {
      return false;
    }
  }

  public Future<JsonObject> get(Actor actor, UUID id) {
    var pool = database.pool();
    return actor.scope(pool)
        .compose(scope -> reports.find(pool, actor.accountId(), isReader(actor), scope, id))
        .compose(found -> found.map(r -> Future.succeededFuture(r.toJson()))
            .orElseGet(() -> Future.failedFuture(notFound(id))));
  }

  public Future<Page<JsonObject>> list(Actor actor, ReportRepository.Filter filter, String cursor, Integer limit) {
    String filters = filter.cursorFilters();
    String after = Page.decode(cursor, Page.TimeId::valid, filters);
    Page.TimeId last = after == null ? null : Page.TimeId.parse(after);
    OffsetDateTime afterReceived = last == null ? null : last.at();
    UUID afterId = last == null ? null : last.id();
    int size = Page.limit(limit);
    if ((filter.hasEvidenceFlags() != null || filter.evidenceChecks() != null) && !isReader(actor)) {
      return Future.failedFuture(new ProblemException(Problem.of(ProblemType.FORBIDDEN,
          "Only supervisors, assessors and admins may filter by evidence flags or checks.")));
    }
    var pool = database.pool();
    return actor.scope(pool)
        .compose(scope -> reports.list(pool, actor.accountId(), isReader(actor), scope, filter, afterReceived, afterId,
            size + 1))
        .map(rows -> {
          Page<ReportView> page = Page.of(rows, size, r -> Page.TimeId.key(r.receivedAt(), r.id()), filters);
          return new Page<>(page.items().stream().map(ReportView::toJson).toList(), page.nextCursor());
        });
  }


  static boolean isReader(Actor actor) {
    return READER_ROLES.stream().anyMatch(actor.caller()::hasRole);
  }

  private static ReportView initialView(UUID authorId, Envelope e, String status, OffsetDateTime receivedAt,
                                        Boolean flagged) {
    // Nothing is checked yet: a reader is told so (pending), as a read before the workers' round would.
    String checks = flagged == null ? null : ReportView.CHECKS_PENDING;
    List<ReportView.AttachmentView> attachments = new java.util.ArrayList<>();
    for (int i = 0; i < e.attachments().size(); i++) {
      Envelope.Declaration d = e.attachments().get(i);
      attachments.add(new ReportView.AttachmentView(d.id(), i, "PENDING", d.contentType(), d.size(), d.sha256(),
          d.filename(), checks, null));
    }
    return new ReportView(e.id(), e.type(), e.unitId(), authorId, status, e.title(), e.text(), e.capturedAt(),
        receivedAt, "COMPLETE".equals(status) ? receivedAt : null, e.location(), e.body(), attachments, List.of(),
        flagged, checks, null);
  }

  /** A report that is not there or outside the caller's scope: the same 404. */
  static ProblemException notFound(UUID id) {
    return new ProblemException(Problem.of(ProblemType.NOT_FOUND, "No report " + id + " in your scope."));
  }

  static ProblemException unprocessable(String field, String reason) {
    return new ProblemException(Problem.of(ProblemType.UNPROCESSABLE, reason)
        .withErrors(List.of(new Problem.FieldError(field, reason))));
  }

  private static boolean isUniqueViolation(Throwable e, String constraint) {
    for (Throwable c = e; c != null; c = c.getCause()) {
      if (c instanceof PgException pg && "23505".equals(pg.getSqlState()) && constraint.equals(pg.getConstraint())) {
        return true;
      }
    }
    return false;
  }
}
