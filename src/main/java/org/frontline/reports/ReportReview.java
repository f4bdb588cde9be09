package org.frontline.reports;

import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;

import java.time.OffsetDateTime;
import java.util.UUID;

/**
 * One supervisor's review of a report (a row of report_review, never changed): its decision, ACCEPTED or RETURNED,
 * the comment (required when RETURNED), who reviewed and when. {@code seq} orders a report's reviews (1, 2, ...).
 */
record ReportReview(UUID id, UUID reportId, int seq, String decision, String comment, UUID reviewerId,
                    OffsetDateTime reviewedAt) {

  static final String ACCEPTED = "ACCEPTED";
  static final String RETURNED = "RETURNED";

  /** The columns {@link #of} reads. */
  static final String COLUMNS = "id, report_id, seq, decision, comment, reviewer_id, reviewed_at";

  static ReportReview of(Row r) {
    return new ReportReview(r.getUUID("id"), r.getUUID("report_id"), r.getInteger("seq"), r.getString("decision"),
        r.getString("comment"), r.getUUID("reviewer_id"), r.getOffsetDateTime("reviewed_at"));
  }

  JsonObject toJson() {
    return new JsonObject()
        .put("id", id.toString())
        .put("reportId", reportId.toString())
        .put("seq", seq)
        .put("decision", decision)
        .put("comment", comment)
        .put("reviewerId", reviewerId.toString())
        .put("reviewedAt", ReportView.time(reviewedAt));
  }
}
