-- Supervisor alerts: the devices push goes to, the outbox's dispatch state, one push delivery per
-- (event, recipient, device) and one inbox notification per (event, recipient).

-- A phone (or browser) of an account, by its FCM registration token. A token belongs to one account at a time: when
-- another account registers it, it moves. Retired (never deleted) when FCM says the token is dead, when its owner
-- removes it, or after 270 idle days; registering it again revives it.
CREATE TABLE device (
  id              uuid PRIMARY KEY,
  account_id      uuid NOT NULL REFERENCES account (id) ON DELETE CASCADE,
  token           text NOT NULL UNIQUE CHECK (length(token) BETWEEN 1 AND 4096),
  platform        text NOT NULL CHECK (platform IN ('android', 'ios', 'web')),
  app_version     text CHECK (length(app_version) <= 64),
  locale          text CHECK (locale IN ('zh-CN', 'en')),
  created_at      timestamptz NOT NULL DEFAULT now(),
  last_seen_at    timestamptz NOT NULL DEFAULT now(),
  retired_at      timestamptz,
  retired_reason  text CHECK (retired_reason IN ('UNREGISTERED', 'DELETED', 'IDLE')),
  CHECK ((retired_at IS NULL) = (retired_reason IS NULL))
);
CREATE INDEX device_account_idx ON device (account_id) WHERE retired_at IS NULL;
CREATE INDEX device_last_seen_idx ON device (last_seen_at) WHERE retired_at IS NULL;

-- Dispatch state of an outbox event: claimed by one dispatcher instance until lease_until; an expired lease is
-- claimed again by any instance. dispatched_at once its deliveries and notifications are written.
ALTER TABLE outbox
  ADD COLUMN dispatched_at  timestamptz,
  ADD COLUMN claimed_by     text,
  ADD COLUMN lease_until    timestamptz,
  ADD COLUMN claims         int NOT NULL DEFAULT 0;
CREATE INDEX outbox_pending_idx ON outbox (id) WHERE dispatched_at IS NULL;

-- One push to one device of one recipient for one event. The unique key is what makes re-processing an event
-- (after a lost lease) harmless: the second insert is a no-op, so a phone never gets the same alert twice.
CREATE TABLE push_delivery (
  id               bigserial PRIMARY KEY,
  event_id         bigint NOT NULL REFERENCES outbox (id),
  account_id       uuid NOT NULL REFERENCES account (id) ON DELETE CASCADE,
  device_id        uuid NOT NULL REFERENCES device (id) ON DELETE CASCADE,
  title            text NOT NULL,
  body             text NOT NULL,
  data             jsonb NOT NULL,
  collapse_key     text,
  status           text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SENT', 'DEAD')),
  attempts         int NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  claimed_by       text,
  lease_until      timestamptz,
  last_error       text,
  message_id       text,
  delivered_at     timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (event_id, account_id, device_id),
  CHECK ((status = 'SENT') = (delivered_at IS NOT NULL))
);
CREATE INDEX push_delivery_due_idx ON push_delivery (next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX push_delivery_dead_idx ON push_delivery (created_at) WHERE status = 'DEAD';

-- The in-app inbox: every alert, whether or not any push reached a device.
CREATE TABLE notification (
  id            uuid PRIMARY KEY,
  event_id      bigint NOT NULL REFERENCES outbox (id),
  account_id    uuid NOT NULL REFERENCES account (id) ON DELETE CASCADE,
  event_type    text NOT NULL,
  title         text NOT NULL,
  body          text NOT NULL,
  data          jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  delivered_at  timestamptz,
  opened_at     timestamptz,
  UNIQUE (event_id, account_id)
);
-- Unread first, newest first, per recipient.
CREATE INDEX notification_inbox_idx ON notification (account_id, (opened_at IS NOT NULL), created_at DESC, id DESC);
