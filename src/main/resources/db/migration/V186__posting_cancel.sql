-- A posting cancelled before it started (an admin's mistake: wrong officer, unit or dates) is kept for the record,
-- with who cancelled it and when, and counts for nothing any more: no overlap, no current posting, no live
-- reference keeping its unit from being retired (PostingService.cancel; every reader filters cancelled_at IS NULL).
ALTER TABLE posting
  ADD COLUMN cancelled_at timestamptz,
  ADD COLUMN cancelled_by uuid REFERENCES account (id);
