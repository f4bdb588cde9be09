-- Evidence checks of stored photos (media worker), their served copies, and the report's "flagged" index.

-- The media worker's state per attachment: a STORED attachment is claimed (FOR UPDATE SKIP LOCKED + lease) while
-- media_status is PENDING; DONE once its checks and derived copies are recorded; FAILED after bounded attempts.
ALTER TABLE attachment
  ADD COLUMN media_status      text NOT NULL DEFAULT 'PENDING' CHECK (media_status IN ('PENDING', 'DONE', 'FAILED')),
  ADD COLUMN media_claimed_by  text,
  ADD COLUMN media_lease_until timestamptz,
  ADD COLUMN media_attempts    int NOT NULL DEFAULT 0,
  ADD COLUMN media_error       text,
  ADD COLUMN media_done_at     timestamptz,
  ADD COLUMN dhash             bigint,           -- 64-bit dHash (PerceptualHash), null for HEIC/HEIF
  ADD COLUMN exif              jsonb,            -- what PhotoMetadataReader read (capture time, GPS, device)
  ADD COLUMN thumb_key         text UNIQUE,      -- server-generated keys of the derived copies (no metadata)
  ADD COLUMN display_key       text UNIQUE;
-- The worker's claim: stored attachments not processed yet.
CREATE INDEX attachment_media_pending_idx ON attachment (stored_at) WHERE status = 'STORED' AND media_status = 'PENDING';
CREATE INDEX attachment_dhash_idx ON attachment (report_id) WHERE dhash IS NOT NULL;

-- One check with the values that decided it. attachment_id is null for report-level checks (mock location,
-- capturedAt vs receipt), recorded once per report.
CREATE TABLE evidence_check (
  id             bigserial PRIMARY KEY,
  report_id      uuid NOT NULL REFERENCES report (id),
  attachment_id  uuid REFERENCES attachment (id),
  code           text NOT NULL,
  outcome        text NOT NULL CHECK (outcome IN ('PASSED', 'FLAGGED')),
  measured       double precision,
  threshold      double precision,
  unit           text,
  detail         text NOT NULL,
  checked_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX evidence_check_once ON evidence_check
  (report_id, coalesce(attachment_id, '00000000-0000-0000-0000-000000000000'::uuid), code);

-- Set by the worker when a report's first check is flagged: the hasEvidenceFlags filter reads this index.
ALTER TABLE report ADD COLUMN flagged boolean NOT NULL DEFAULT false;
CREATE INDEX report_flagged_received_idx ON report (received_at DESC, id) WHERE flagged;

-- At most one report.evidence-flagged per report.
CREATE UNIQUE INDEX outbox_report_flagged_once ON outbox (aggregate_id) WHERE event_type = 'report.evidence-flagged';
