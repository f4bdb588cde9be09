-- GET /v1/reports?evidenceChecks=...: the photos whose checks are outstanding (PENDING: not stored yet, waiting for
-- the media worker or retried through an outage) or could not run (FAILED), by report. PENDING and UNAVAILABLE are
-- read from here (with report_checks_due_idx) instead of walking every report in scope; DONE probes it per report.
-- One entry per declared photo until it is checked (it then leaves the index; a FAILED one stays).
CREATE INDEX attachment_checks_open_idx ON attachment (report_id) WHERE media_status IN ('PENDING', 'FAILED');
