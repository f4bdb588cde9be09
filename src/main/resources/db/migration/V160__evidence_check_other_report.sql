-- The other report an EXACT_REUSE or NEAR_DUPLICATE check names in its detail: a reader who may not read that report
-- (it lies outside their scope, within a wider supervisor's) is shown the detail without its id (ReportRepository).
ALTER TABLE evidence_check ADD COLUMN other_report_id uuid;
UPDATE evidence_check
   SET other_report_id = substring(detail FROM 'report ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})')::uuid
 WHERE code IN ('EXACT_REUSE', 'NEAR_DUPLICATE') AND detail ~ 'report [0-9a-f]{8}-';
