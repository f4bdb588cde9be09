-- Webhooks (issue 7, item 4): partner subscriptions of URLs to event kinds, their signing secrets, and one delivery
-- row per (subscription, event) plus replays.

-- A subscription of a partner client. feed_cursor is an EventFeed cursor: the events after it are yet to be turned
-- into deliveries (each subscription reads the feed as its client would, so the grant filter is the feed's own).
-- failing_since/consecutive_failures: since the last successful delivery; past the limits it is disabled.
CREATE TABLE webhook_subscription (
  id                    uuid PRIMARY KEY,
  client_id             uuid NOT NULL REFERENCES partner_client (id),
  url                   text NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
  event_types           text[] NOT NULL,
  feed_cursor           text NOT NULL,
  created_at            timestamptz NOT NULL DEFAULT now(),
  deleted_at            timestamptz,
  disabled_at           timestamptz,
  disabled_reason       text,
  failing_since         timestamptz,
  consecutive_failures  int NOT NULL DEFAULT 0
);
CREATE INDEX webhook_subscription_client_idx ON webhook_subscription (client_id, created_at DESC, id DESC)
  WHERE deleted_at IS NULL;

-- Signing secrets (Standard Webhooks whsec_...), AES-GCM encrypted under the key-encryption key (the server must
-- have the secret itself to sign). Several live at once during a rotation's overlap: every live one signs.
CREATE TABLE webhook_secret (
  id               uuid PRIMARY KEY,
  subscription_id  uuid NOT NULL REFERENCES webhook_subscription (id),
  secret_sealed    bytea NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  expires_at       timestamptz
);
CREATE INDEX webhook_secret_subscription_idx ON webhook_secret (subscription_id);

-- One message of one event to one subscription. body is fixed when the row is written, so every attempt (and a
-- replay) sends and signs the same bytes under the same message id (webhook-id). order_key (the report id): a row
-- is sent only when no older PENDING row of the same subscription and key exists (per-report ordering).
-- No foreign key to outbox: the body is self-contained, and outbox retention must not depend on delivery history.
CREATE TABLE webhook_delivery (
  id               bigserial PRIMARY KEY,
  subscription_id  uuid NOT NULL REFERENCES webhook_subscription (id),
  event_id         bigint NOT NULL,
  event_type       text NOT NULL,
  message_id       text NOT NULL,
  order_key        text NOT NULL,
  body             text NOT NULL,
  replay_of        bigint REFERENCES webhook_delivery (id),
  status           text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
  attempts         int NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  claimed_by       text,
  lease_until      timestamptz,
  last_status      int,
  last_error       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  finished_at      timestamptz,
  CHECK ((status = 'PENDING') = (finished_at IS NULL))
);
-- An event is turned into a delivery once per subscription, whatever races happen (replays are extra rows).
CREATE UNIQUE INDEX webhook_delivery_once ON webhook_delivery (subscription_id, event_id) WHERE replay_of IS NULL;
CREATE INDEX webhook_delivery_due_idx ON webhook_delivery (next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX webhook_delivery_order_idx ON webhook_delivery (subscription_id, order_key, id) WHERE status = 'PENDING';
CREATE INDEX webhook_delivery_list_idx ON webhook_delivery (subscription_id, id DESC);
