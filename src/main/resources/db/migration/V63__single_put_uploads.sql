-- An upload no larger than one part (5 MiB: most photos) is received whole and stored with one PUT: it has no
-- S3 multipart upload, so no multipart upload id. Its sha256_state is then always the initial state; for larger
-- uploads it is the state at the last part boundary (the tail is hashed again on resume).
ALTER TABLE upload ALTER COLUMN multipart_upload_id DROP NOT NULL;

-- Until now sha256_state covered the tail too; from now on it stops at the last part boundary and the tail is hashed
-- again on resume. An upload saved the old way with a tail would be hashed wrong: let the sweeper expire it now
-- (its multipart upload is aborted; the phone's tus client gets 410 and starts a new upload).
UPDATE upload SET expires_at = now()
WHERE status = 'ACTIVE' AND multipart_upload_id IS NOT NULL AND octet_length(tail) > 0;
