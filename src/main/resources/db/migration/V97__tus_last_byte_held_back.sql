-- An ACTIVE upload no longer stands at "offset" = length: ChunkReceiver.persist holds the last byte back, and only the
-- completion (COMPLETED, the attachment STORED) brings the offset to the length. A tus client reading
-- Upload-Offset = Upload-Length on HEAD (tus-js-client on resume) takes the upload for done and sends nothing more,
-- so an upload saved so before, all bytes in but not completed, left its attachment PENDING for good.
-- Such rows now hold one byte back from their tail; the client sends it again and its PATCH completes the upload.
UPDATE upload SET "offset" = "offset" - 1, tail = substring(tail FROM 1 FOR octet_length(tail) - 1)
WHERE status = 'ACTIVE' AND "offset" = length AND octet_length(tail) > 0;
-- Without a tail (every byte in stored parts), the SHA-256 state covers all of them and cannot be wound back: the
-- upload starts again from 0 (its parts are sent again under the same numbers, in the same multipart upload).
UPDATE upload SET "offset" = 0, parts = '[]'::jsonb, tail = '\x'::bytea, sha256_state = NULL
WHERE status = 'ACTIVE' AND "offset" = length;
