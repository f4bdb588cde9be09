-- Figures partners send in (scope figures:write): one value per client, unit, metric and period [from, to); a
-- later write of the same client, unit, metric and period replaces the value (a correction), audited each time.
CREATE TABLE partner_figure (
  id               uuid PRIMARY KEY,
  client_id        uuid NOT NULL REFERENCES partner_client (id),
  unit_id          uuid NOT NULL REFERENCES org_unit (id),
  metric           text NOT NULL CHECK (length(metric) <= 64 AND metric ~ '^[a-z][a-z0-9]*(-[a-z0-9]+)*$'),
  period_from      date NOT NULL,
  period_to        date NOT NULL CHECK (period_to > period_from),
  value            numeric(19, 4) NOT NULL,
  unit_of_measure  text NOT NULL CHECK (length(unit_of_measure) BETWEEN 1 AND 32),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (client_id, unit_id, metric, period_from, period_to)
);
-- Supervisors' reads: the figures of a unit (subtree joins org_unit by id) within a period.
CREATE INDEX partner_figure_unit_period_idx ON partner_figure (unit_id, period_from);

-- Idempotency keys (Idempotency-Key header) per client: the fingerprint of the first request's body, and once it
-- is done its answer (status null: still in flight). The claim is its own committed insert, so a concurrent
-- duplicate sees it at once (409) instead of waiting on the first request's transaction. Kept 24 hours, swept.
CREATE TABLE partner_idempotency (
  client_id       uuid NOT NULL REFERENCES partner_client (id),
  key             text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
  request_sha256  bytea NOT NULL CHECK (length(request_sha256) = 32),
  status          int,
  response        text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (client_id, key)
);
CREATE INDEX partner_idempotency_created_idx ON partner_idempotency (created_at);
