-- A report row is about 3.6 KB before compression (body, the request as received, the stored 201 body), above the
-- 2 KB at which PostgreSQL compresses long values, so every report insert compresses three values. With pglz that was
-- a tenth of PostgreSQL's time per report in bench/ingest; lz4 compresses them as well at a fraction of the CPU (measured
-- on PostgreSQL 15 here: 100,000 such rows inserted in 1.1 s with lz4, 2.5-2.7 s with pglz, the same size on disk).
-- Only a server built with lz4 (PostgreSQL 14+ from PGDG, Debian, Ubuntu and the official images are) has it; on one
-- without (the embedded server of dev mode) the columns keep pglz. Values already stored keep their compression.
DO $$
BEGIN
  ALTER TABLE report ALTER COLUMN body SET COMPRESSION lz4,
                     ALTER COLUMN request SET COMPRESSION lz4,
                     ALTER COLUMN response SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
  RAISE NOTICE 'lz4 is not available on this server: report values stay compressed with pglz';
END
$$;
