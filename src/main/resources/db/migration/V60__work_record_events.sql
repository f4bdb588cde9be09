-- Alert state of work records (issue 4): an event is written to the outbox when its state column flips from NULL,
-- by a conditional UPDATE in the same statement or transaction, so two watchers cannot both emit it.
-- at_risk_since / overdue_alerted_at are cleared when the milestone is back on track (a later crossing alerts again);
-- completed_alerted_at is never cleared (completed alerts once).
ALTER TABLE milestone
  ADD COLUMN at_risk_since        timestamptz,
  ADD COLUMN overdue_alerted_at   timestamptz,
  ADD COLUMN completed_alerted_at timestamptz;
-- The watcher's candidates: milestones not yet completed.
CREATE INDEX milestone_watch_idx ON milestone (id) WHERE completed_alerted_at IS NULL;

-- A request only moves forward: once overdue-alerted it is never alerted again.
ALTER TABLE service_request ADD COLUMN overdue_alerted_at timestamptz;
CREATE INDEX service_request_overdue_watch_idx ON service_request (due_at)
  WHERE status IN ('RECEIVED', 'COORDINATING') AND overdue_alerted_at IS NULL;

-- The actions an ENTERPRISE_SERVICE report appended to its request, in the report's order.
CREATE TABLE service_request_action (
  report_id           uuid NOT NULL REFERENCES report (id),
  ordinal             int NOT NULL CHECK (ordinal >= 0),
  service_request_id  uuid NOT NULL REFERENCES service_request (id) ON DELETE CASCADE,
  action              text NOT NULL CHECK (length(action) BETWEEN 1 AND 500),
  actor_id            uuid REFERENCES account (id),
  at                  timestamptz NOT NULL,
  PRIMARY KEY (report_id, ordinal)
);
CREATE INDEX service_request_action_idx ON service_request_action (service_request_id, at, report_id, ordinal);
