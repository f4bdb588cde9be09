-- The store clean-up an ended upload still owes: its multipart upload aborted and the object at its key deleted
-- (unless that object is its attachment's). cleanup_after is when the sweeper may take it (again); null when nothing
-- is owed. Set when an upload expires, and when an abort or delete of an ending upload failed; the sweeper leases a
-- row by moving cleanup_after ahead, and clears it once the store is clean.
ALTER TABLE upload ADD COLUMN cleanup_after timestamptz;
CREATE INDEX upload_cleanup_idx ON upload (cleanup_after) WHERE cleanup_after IS NOT NULL;

-- Before this column the sweeper only aborted an expired upload's multipart upload: an object assembled before a
-- crash stayed at its key, and so did a multipart upload whose abort failed when a refused upload was marked FAILED.
-- Both clean-ups are harmless to repeat: every ended upload that may have left something is cleaned once more.
UPDATE upload SET cleanup_after = now() WHERE status IN ('EXPIRED', 'FAILED');
