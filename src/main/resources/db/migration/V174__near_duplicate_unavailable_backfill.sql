-- Photos the media worker checked without decoding their pixels (a HEIF grid of too many tiles, a JPEG of too many
-- scans, pixels refused or corrupt, HEIC before libheif) have no dHash: their near-duplicate comparison never ran and
-- nothing said so. The worker now records a flagged NEAR_DUPLICATE_UNAVAILABLE check for such a photo; the photos
-- checked before get it here, with the reason media_error kept, and their reports the flag (no alert for these old
-- ones, as V162).
INSERT INTO evidence_check (report_id, attachment_id, code, outcome, detail)
SELECT report_id, id, 'NEAR_DUPLICATE_UNAVAILABLE', 'FLAGGED',
       'the photo''s pixels were not decoded, so it could not be compared with other photos for near-duplicates'
         || ' and no served copies were made: '
         || coalesce(regexp_replace(media_error, '^pixels not decoded: ', ''), 'no decoder for its type then')
  FROM attachment
 WHERE media_status = 'DONE' AND dhash IS NULL
ON CONFLICT DO NOTHING;

UPDATE report SET flagged = true
 WHERE NOT flagged AND id IN (SELECT report_id FROM evidence_check WHERE code = 'NEAR_DUPLICATE_UNAVAILABLE');
