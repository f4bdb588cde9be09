-- The indexes of the review filter (GET /v1/reports?review=...; V195 adds report.review_decision). Built
-- CONCURRENTLY, as V192's: a plain CREATE INDEX holds off every report INSERT for the whole build (every COMPLETE
-- report enters report_review_pending_idx). A failed build leaves an INVALID index and the migration failed: each
-- DROP makes a run after `flyway repair` build it anew.

-- review=ACCEPTED / RETURNED: the reviewed reports, newest received first. Written only at review time.
DROP INDEX CONCURRENTLY IF EXISTS report_reviewed_idx;
CREATE INDEX CONCURRENTLY report_reviewed_idx ON report (review_decision, received_at DESC, id) WHERE review_decision IS NOT NULL;

-- review=PENDING (COMPLETE, never reviewed), newest received first, for the reports whose report-level checks are
-- done: a report enters it when its checks are recorded (the report checker's UPDATE of report_checks_due, or the
-- completion of its last photo, both off the request path and already rewriting the row's index entries, as
-- report_checks_due is in report_checks_due_idx's predicate) and leaves it at its first review. The few COMPLETE
-- reports still awaiting the checker (report_checks_due not false) are read from report_checks_due_idx, merged in.
DROP INDEX CONCURRENTLY IF EXISTS report_review_pending_idx;
CREATE INDEX CONCURRENTLY report_review_pending_idx ON report (received_at DESC, id)
  WHERE status = 'COMPLETE' AND report_checks_due IS FALSE AND review_decision IS NULL;
