-- The escalation check (every 5 s, on every dispatcher instance) looks for unopened alerts of the urgent kinds only.
-- notification_escalation_idx (V41) held every unopened alert of every kind, ordered by time alone: the alerts of
-- kinds that are never escalated (report.completed, most of them) stay unopened for good, and the check read and
-- filtered out all of them, so its cost grew with the whole unread history. Kind first, then time: the check reads
-- the urgent kinds' alerts only.
CREATE INDEX notification_escalation_kind_idx ON notification (event_type, created_at)
  WHERE opened_at IS NULL AND escalated_at IS NULL;
DROP INDEX notification_escalation_idx;
