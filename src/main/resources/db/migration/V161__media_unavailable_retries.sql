-- The media worker's retries of a photo while the object store or database is unreachable (MediaWorkerVerticle): such
-- a failure gives its attempt back and is retried with a growing delay; the first of the current run of them and how
-- many there were. Reset by any other outcome.
ALTER TABLE attachment
  ADD COLUMN media_unavailable_since timestamptz,
  ADD COLUMN media_unavailable_tries int NOT NULL DEFAULT 0;
