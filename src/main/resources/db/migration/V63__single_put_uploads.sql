-- An upload no larger than one part (5 MiB: most photos) is received whole and stored with one PUT: it has no
-- S3 multipart upload, so no multipart upload id. Its sha256_state is then always the initial state; for larger
-- uploads it is the state at the last part boundary (the tail is hashed again on resume).
ALTER TABLE upload ALTER COLUMN multipart_upload_id DROP NOT NULL;
