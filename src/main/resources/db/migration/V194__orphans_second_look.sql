-- Orphans audit (issue 5 item 11). Before this, an upload that ended other than COMPLETED owed the store nothing
-- once its first clean-up had run, or when its server died before its own delete: an object a late completion put
-- at its key after that clean-up, or one its server never deleted, stayed for good. Every such upload still kept
-- (Retention deletes ended rows 7 days after their expiry) is cleaned once more. Repeating a clean-up is harmless
-- (aborting an unknown multipart upload and deleting a missing key succeed), and the sweeper never deletes the
-- object an attachment is stored under.
UPDATE upload SET cleanup_after = now()
 WHERE status IN ('EXPIRED', 'FAILED', 'ABORTED') AND cleanup_after IS NULL;

-- The thumb and display copies that a media attempt put and could not record stayed once the photo FAILED. Those of
-- every FAILED photo are owed to the sweeper as unowned objects (deleted an hour from now; the keys may not exist).
INSERT INTO unowned_object (object_key, attachment_id)
SELECT 'derived/' || a.id || '/' || v.variant || '.jpg', a.id
  FROM attachment a CROSS JOIN (VALUES ('thumb'), ('display')) AS v (variant)
 WHERE a.media_status = 'FAILED'
ON CONFLICT (object_key) DO NOTHING;
