-- The stored 201 body of a report is answered again, byte for byte, to a repeat of the same submission: it is
-- opaque text, never queried, so it is kept as text. As jsonb it was parsed on every insert and printed again for
-- every answer (and the first answer had to be read back from the database to equal later ones); as text, the
-- service answers the very string it stored. Existing rows keep jsonb's printing, which is what they answered.
ALTER TABLE report ALTER COLUMN response TYPE text USING response::text;
