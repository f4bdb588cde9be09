-- Postings: an officer sent to one of the four front lines at a unit for a period (open-ended when ends_on is null),
-- optionally to a project or an enterprise portfolio. Overlapping postings of one officer exist only where the
-- supervisor stated it (overlap_allowed).
CREATE TABLE posting (
  id              uuid PRIMARY KEY,
  officer_id      uuid NOT NULL REFERENCES account (id),
  front_line      text NOT NULL CHECK (front_line IN ('INVESTMENT_PROMOTION', 'MAJOR_PROJECT', 'PETITION_STABILITY',
                                                      'ENVIRONMENTAL')),
  unit_id         uuid NOT NULL REFERENCES org_unit (id),
  starts_on       date NOT NULL,
  ends_on         date,
  project_id      uuid REFERENCES project (id),
  enterprise_ids  uuid[] NOT NULL DEFAULT '{}',
  overlap_allowed boolean NOT NULL DEFAULT false,
  created_by      uuid REFERENCES account (id),
  created_at      timestamptz NOT NULL DEFAULT now(),
  CHECK (ends_on IS NULL OR ends_on >= starts_on)
);
-- Keyset pagination (newest first), the unit filter, and an officer's postings (overlap check, /v1/me).
CREATE INDEX posting_created_idx ON posting (created_at DESC, id DESC);
CREATE INDEX posting_unit_idx ON posting (unit_id);
CREATE INDEX posting_officer_idx ON posting (officer_id, starts_on);
