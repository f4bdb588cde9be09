-- Per-client rate limit of partner API calls: a fixed one-minute window per client, one row per client (the
-- upsert's row lock serialises a client's own counting only).
ALTER TABLE partner_client ADD COLUMN rate_limit_per_minute int NOT NULL DEFAULT 600
  CHECK (rate_limit_per_minute BETWEEN 1 AND 100000);
CREATE TABLE partner_rate (
  client_id     uuid PRIMARY KEY REFERENCES partner_client (id),
  window_start  timestamptz NOT NULL,
  calls         int NOT NULL
);
