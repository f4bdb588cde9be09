-- The review filter's own reports (GET /v1/reports?review=..., the caller's own reports outside the units they read
-- as a reader: every report of an officer): the second statement of a narrow page read them from
-- report_author_received_idx and dropped those in another review state, so an officer with many reports of which
-- few are reviewed read all of them on every page. These give each author's pending (reviewed) reports in the list's
-- order. Same predicates as V198's and V199's, so the same writes: an entry when a report's checks are recorded
-- (pending) or when it is reviewed, none at the INSERT. Built CONCURRENTLY, as V192's, V198's and V199's; each DROP
-- makes a run after `flyway repair` build a failed (INVALID) index anew.

DROP INDEX CONCURRENTLY IF EXISTS report_author_reviewed_idx;
CREATE INDEX CONCURRENTLY report_author_reviewed_idx ON report (author_id, review_decision, received_at DESC, id)
  WHERE review_decision IS NOT NULL;

DROP INDEX CONCURRENTLY IF EXISTS report_author_review_pending_idx;
CREATE INDEX CONCURRENTLY report_author_review_pending_idx ON report (author_id, received_at DESC, id)
  WHERE status = 'COMPLETE' AND report_checks_due IS FALSE AND review_decision IS NULL;
