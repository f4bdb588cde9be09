package org.frontline.reports;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import org.frontline.identity.Actor;
import org.frontline.identity.AdminAudit;
import org.frontline.identity.Scope;
import org.frontline.platform.db.Database;
import org.frontline.platform.db.Transaction;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemException;
import org.frontline.platform.http.ProblemType;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Objects;
import java.util.UUID;

/**
 * Supervisors' reviews of reports: a decision (ACCEPTED or RETURNED) on a COMPLETE report of a unit in the reviewer's
 * scope, never on their own. Each review is a new row of report_review (the history, append-only), the report's
 * latest decision is kept on it for the list's filter, the review is audited (report.review) and a RETURNED report's
 * author is told (report.returned), all in one transaction.
 */
public final class ReviewService {
  /** The outbox event of a RETURNED review: an alert to the report's author (AlertRules). */
  public static final String RETURNED_EVENT = "report.returned";
  /**
   * The most reviews a report holds: its history is read whole (GET .../reviews, not paginated), and each review must
   * change the decision, which does not bound them (RETURNED and ACCEPTED in turn, each RETURNED a push to the author).
   */
  static final int MAX_REVIEWS = 100;

  private final Database database;
  private final AdminAudit audit;

  public ReviewService(Database database, AdminAudit audit) {
    this.database = database;
    this.audit = audit;
  }

  /**
   * Reviews the report. The report is locked first (reviews of one report one after another), then the reviewer's
   * scope read (Actor.scopeAfterLocking). A decision that is the report's latest already, with the same comment, is a
   * repeat: its review is answered again and nothing is written; with another comment it is a 409 naming the latest.
   */
  public <R> Future<R> review(Actor actor, UUID reportId, String decision, String comment, Transaction<R> tx) {
    return tx.run(conn -> actor.scopeAfterLocking(conn, "report", reportId)
        .compose(scope -> conn.preparedQuery("SELECT r.unit_id, r.author_id, r.status FROM report r WHERE r.id = $1"
                + " AND " + Scope.sqlForUnitId("r.unit_id", 2))
            .execute(Tuple.of(reportId, (Object) scope.paths())))
        .compose(rows -> {
          if (rows.size() == 0) {
            throw ReportService.notFound(reportId);
          }
          Row report = rows.iterator().next();
          if (report.getUUID("author_id").equals(actor.accountId())) {
            throw new ProblemException(Problem.of(ProblemType.FORBIDDEN,
                "A report is not reviewed by its author: another supervisor covering its unit reviews it."));
          }
          String status = report.getString("status");
          if (!"COMPLETE".equals(status)) {
            throw new ProblemException(Problem.of(ProblemType.CONFLICT, "The report is " + status
                    + ": only a COMPLETE report is reviewed (its photos are still to come).")
                .with("currentStatus", status));
          }
          return ReportRepository.latestReviews(conn, new UUID[] {reportId})
              .compose(latest -> decide(conn, actor, report.getUUID("unit_id"), report.getUUID("author_id"),
                  reportId, decision, comment, latest.get(reportId)));
        }));
  }

  private Future<JsonObject> decide(SqlClient conn, Actor actor, UUID unitId, UUID authorId, UUID reportId,
                                    String decision, String comment, ReportReview latest) {
    if (latest != null && latest.decision().equals(decision)) {
      if (Objects.equals(latest.comment(), comment)) {
        return Future.succeededFuture(latest.toJson());
      }
      throw new ProblemException(Problem.of(ProblemType.CONFLICT, "The report is " + decision + " already (review "
              + latest.seq() + "), with another comment; its reviews are kept as they are.")
          .with("currentReview", latest.toJson()));
    }
    if (latest != null && latest.seq() >= MAX_REVIEWS) {
      throw new ProblemException(Problem.of(ProblemType.CONFLICT, "The report has " + MAX_REVIEWS + " reviews, the"
              + " most a report holds; its reviews are kept as they are.")
          .with("currentReview", latest.toJson()));
    }
    OffsetDateTime now = Instant.now().truncatedTo(ChronoUnit.MICROS).atOffset(ZoneOffset.UTC);
    ReportReview review = new ReportReview(UUID.randomUUID(), reportId, latest == null ? 1 : latest.seq() + 1,
        decision, comment, actor.accountId(), now);
    return conn.preparedQuery("INSERT INTO report_review (" + ReportReview.COLUMNS + ")"
            + " VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .execute(Tuple.from(new Object[] {review.id(), reportId, review.seq(), decision, comment, actor.accountId(),
            now}))
        .compose(v -> conn.preparedQuery("UPDATE report SET review_decision = $2 WHERE id = $1")
            .execute(Tuple.of(reportId, decision)))
        .compose(v -> ReportReview.RETURNED.equals(decision) ? conn.preparedQuery("INSERT INTO outbox (event_type,"
                + " aggregate_type, aggregate_id, unit_id, payload) VALUES ($1, 'report', $2, NULL, $3)")
            .execute(Tuple.of(RETURNED_EVENT, reportId, new JsonObject().put("reportId", reportId.toString())
                .put("unitId", unitId.toString()).put("authorId", authorId.toString())
                .put("reviewId", review.id().toString()))).mapEmpty() : Future.succeededFuture())
        .compose(v -> audit.success(conn, actor, "report.review", "report", reportId, unitId, new JsonObject()
            .put("reviewId", review.id().toString()).put("seq", review.seq()).put("decision", decision)
            .put("comment", comment != null)))
        .map(v -> review.toJson());
  }

  /**
   * The report's reviews, oldest first, for whoever may read the report (its author too: a returned report's comment
   * is for them). At most {@link #MAX_REVIEWS}.
   */
  public Future<JsonObject> history(Actor actor, UUID reportId) {
    var pool = database.pool();
    return actor.scope(pool)
        .compose(scope -> ReportRepository.readable(pool, actor.accountId(), ReportService.isReader(actor), scope,
            reportId))
        .compose(readable -> !readable ? Future.failedFuture(ReportService.notFound(reportId))
            : pool.preparedQuery("SELECT " + ReportReview.COLUMNS + " FROM report_review WHERE report_id = $1"
                + " ORDER BY seq").execute(Tuple.of(reportId)))
        .map(rows -> {
          JsonArray items = new JsonArray();
          rows.forEach(r -> items.add(ReportReview.of(r).toJson()));
          return new JsonObject().put("items", items);
        });
  }

  /** A RETURNED review without a comment: 400 naming body/comment, as the contract's rule (its if/then) says. */
  static void requireComment(String decision, String comment) {
    if (ReportReview.RETURNED.equals(decision) && comment == null) {
      throw new ProblemException(Problem.of(ProblemType.VALIDATION_FAILED, "The request does not match the contract.")
          .withErrors(List.of(new Problem.FieldError("body/comment", "Required when the decision is RETURNED: say "
              + "what the author should do."))));
    }
  }
}
