-- Photos the media worker FAILED before outages were told from failures of the photo itself (V161): those whose
-- last error was the object store or the database being unreachable are given another run (the worker now retries
-- such failures for 24 h without using attempts); the others, FAILED for good, get the flagged
-- PHOTO_CHECKS_UNAVAILABLE check the worker now records, and their reports the flag (no alert for these old ones).
UPDATE attachment
   SET media_status = 'PENDING', media_attempts = 0, media_lease_until = NULL, media_claimed_by = NULL
 WHERE media_status = 'FAILED' AND status = 'STORED' AND media_error NOT LIKE 'abandoned:%'
   AND (media_error LIKE '%DependencyUnavailableException%' OR media_error LIKE '%ConnectException%'
        OR media_error LIKE '%ClosedConnectionException%' OR media_error LIKE '%TimeoutException%'
        OR media_error LIKE '%SocketException%' OR media_error LIKE '%minio.errors.ServerException%'
        OR media_error LIKE '%Connection reset%');

INSERT INTO evidence_check (report_id, attachment_id, code, outcome, detail)
SELECT report_id, id, 'PHOTO_CHECKS_UNAVAILABLE', 'FLAGGED',
       'the evidence checks of this photo could not run: ' || CASE WHEN media_error LIKE 'abandoned:%'
         THEN 'its processing never finished' ELSE 'the photo could not be read or processed' END
  FROM attachment WHERE media_status = 'FAILED'
ON CONFLICT DO NOTHING;

UPDATE report r SET flagged = true
 WHERE NOT r.flagged AND EXISTS (SELECT 1 FROM attachment a WHERE a.report_id = r.id AND a.media_status = 'FAILED');
