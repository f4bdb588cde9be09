-- The review filter by unit (GET /v1/reports?review=... for a caller whose scope, or unitId filter, is narrower than
-- the organisation): the second statement of such a page reads the pending (or reviewed) reports of the scope's
-- units from these, each unit's newest first, after a walk of V198's organisation-wide indexes did not fill the page
-- (platform/db/BoundedWalk). Same predicates as V198's, so same writes: an entry when a report's checks are recorded
-- (pending) or when it is reviewed, none at the INSERT. Built CONCURRENTLY, as V192's and V198's; each DROP makes a
-- run after `flyway repair` build a failed (INVALID) index anew.

DROP INDEX CONCURRENTLY IF EXISTS report_unit_reviewed_idx;
CREATE INDEX CONCURRENTLY report_unit_reviewed_idx ON report (unit_id, review_decision, received_at DESC, id)
  WHERE review_decision IS NOT NULL;

DROP INDEX CONCURRENTLY IF EXISTS report_unit_review_pending_idx;
CREATE INDEX CONCURRENTLY report_unit_review_pending_idx ON report (unit_id, received_at DESC, id)
  WHERE status = 'COMPLETE' AND report_checks_due IS FALSE AND review_decision IS NULL;
