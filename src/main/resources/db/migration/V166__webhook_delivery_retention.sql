-- Retention of webhook deliveries (notify/Retention): a delivery a replay refers to (replay_of) is kept while the
-- replay is; this index answers "is it referred to?" per candidate. Replays are few, so the index is small.
CREATE INDEX webhook_delivery_replay_of_idx ON webhook_delivery (replay_of) WHERE replay_of IS NOT NULL;
