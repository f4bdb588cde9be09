-- Idempotency-Key for people's record-creating writes (officers, supervisors, admins): one row per (account, key),
-- the same life as partner_idempotency (claim, answer, 24 h retention, swept by the writes). The fingerprint covers
-- the operation, its path and its body, so the same key on another operation or record is another request.
-- Both tables now also keep the answer's Location header, replayed with its status and body.
CREATE TABLE account_idempotency (
  account_id      uuid NOT NULL REFERENCES account (id),
  key             text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
  request_sha256  bytea NOT NULL CHECK (length(request_sha256) = 32),
  claim           uuid,
  status          int,
  response        text,
  location        text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, key)
);
CREATE INDEX account_idempotency_created_idx ON account_idempotency (created_at);

ALTER TABLE partner_idempotency ADD COLUMN location text;
