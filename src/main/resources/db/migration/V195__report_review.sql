-- Supervisors' reviews of COMPLETE reports (POST /v1/reports/{id}/review). Each review is a row of its own, never
-- changed or deleted: a later review (RETURNED, then ACCEPTED once the officer followed up) is the next seq of the
-- report, and the history reads in seq order. The guard raises on UPDATE and DELETE as audit_log's does (changing a
-- review takes the owner's deliberate step of disabling it; each review is in the audit chain too, report.review).
CREATE TABLE report_review (
  id           uuid PRIMARY KEY,
  report_id    uuid NOT NULL REFERENCES report (id),
  seq          int NOT NULL CHECK (seq >= 1),
  decision     text NOT NULL CHECK (decision IN ('ACCEPTED', 'RETURNED')),
  comment      text CHECK (length(comment) BETWEEN 1 AND 2000),
  reviewer_id  uuid NOT NULL REFERENCES account (id),
  reviewed_at  timestamptz NOT NULL,
  UNIQUE (report_id, seq),
  CHECK (decision = 'ACCEPTED' OR comment IS NOT NULL)
);

CREATE FUNCTION report_review_append_only() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'report_review is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER report_review_no_update_or_delete
  BEFORE UPDATE OR DELETE ON report_review
  FOR EACH ROW EXECUTE FUNCTION report_review_append_only();

-- The report's latest decision (NULL: never reviewed), written with each review in its transaction, for the list's
-- review filter. The report INSERT does not name it (NULL, no default: no rewrite of the table, nothing more to
-- write per report), and neither of its indexes (V198) takes an entry at the INSERT: their predicates are false for a new row
-- (review_decision NULL; report_checks_due true, its default).
ALTER TABLE report ADD COLUMN review_decision text;

-- Its two partial indexes are built by V198, CONCURRENTLY (no writes to report held off while they build).
