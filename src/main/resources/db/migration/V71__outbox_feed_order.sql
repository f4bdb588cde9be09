-- The partner event feed reads the outbox in commit-safe order. bigserial ids are handed out at insert, not at
-- commit: an event with id 10 may commit after one with id 11, and a reader that had moved past 11 would skip 10
-- forever. Each event records the id of its writing transaction; the feed serves only events whose transaction is
-- older than the oldest one still running (pg_snapshot_xmin of the reading statement's snapshot), ordered by
-- (txid, id). Every transaction still running, or yet to start, has a txid >= that xmin, so no event can appear
-- later behind a position already served. Existing rows get the migration's own txid (id breaks the tie).
ALTER TABLE outbox ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX outbox_feed_idx ON outbox (txid, id);
