-- Flood control and escalation of alerts.

-- What push an inbox notification got: ALERT its own, DIGEST one "N new alerts" push instead (the recipient was over
-- the flood limit), NONE (over the limit, a digest already went out in the window: inbox only).
-- escalated_at: when this (urgent, unopened) notification's event was re-sent to the supervisors one level up.
ALTER TABLE notification
  ADD COLUMN push          text NOT NULL DEFAULT 'ALERT' CHECK (push IN ('ALERT', 'DIGEST', 'NONE')),
  ADD COLUMN escalated_at  timestamptz;
-- A recipient's recent pushes (flood window).
CREATE INDEX notification_flood_idx ON notification (account_id, created_at);
-- Unopened, not yet escalated notifications, oldest first (the escalation check).
CREATE INDEX notification_escalation_idx ON notification (created_at)
  WHERE opened_at IS NULL AND escalated_at IS NULL;

-- An event is escalated at most once, whatever races happen between dispatcher instances.
CREATE UNIQUE INDEX outbox_escalated_once ON outbox ((payload ->> 'escalatedEventId'))
  WHERE event_type = 'alert.escalated';
