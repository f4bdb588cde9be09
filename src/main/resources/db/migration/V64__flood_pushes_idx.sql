-- Flood control asks, for every alert, how many pushes (ALERT) and digests (DIGEST) a recipient got within the
-- window. Counting all of the recipient's notifications in the window grew with the window's volume (a supervisor
-- covering a busy district: hundreds of thousands of rows per alert); the pushes themselves are at most the limit
-- plus one digest per window, so an index of those alone bounds the count.
CREATE INDEX notification_pushes_idx ON notification (account_id, created_at) WHERE push <> 'NONE';
