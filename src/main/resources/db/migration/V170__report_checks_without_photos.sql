-- Report-level evidence checks (mock location, capturedAt vs receipt) of COMPLETE reports without photos, run by the
-- workers (evidence/ReportChecksVerticle) off the request path; reports with photos keep getting them with their
-- first photo (media worker). report_checks_due: true (the default) for a report written from now on until a
-- worker has looked at it; the completion of a report's last photo sets it false (AttachmentLedger); a worker sets
-- it false in the transaction that records the checks. NULL on the rows written before this migration (no rewrite
-- of the table): the workers take those too, in batches, and check the ones without photos.
ALTER TABLE report ADD COLUMN report_checks_due boolean;
ALTER TABLE report ALTER COLUMN report_checks_due SET DEFAULT true;
-- The workers' claim. A report inserted COMPLETE (no photos) adds one entry here; one awaiting its photos adds none.
CREATE INDEX report_checks_due_idx ON report (received_at)
  WHERE status = 'COMPLETE' AND report_checks_due IS NOT FALSE;
