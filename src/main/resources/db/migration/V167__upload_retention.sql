-- Retention of upload rows (notify/Retention): an ended upload (completed, terminated, refused, expired) that owes
-- the store nothing is deleted a while after its expiry; this index finds them by expiry.
CREATE INDEX upload_ended_expiry_idx ON upload (expires_at) WHERE status <> 'ACTIVE' AND cleanup_after IS NULL;
