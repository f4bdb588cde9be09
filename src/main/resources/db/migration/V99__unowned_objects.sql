-- Objects a direct-upload completion writes to their final key (reports/{r}/{a}/{random}) that no attachment owns
-- yet. A row is inserted before the copy and deleted in the transaction that marks the attachment STORED under
-- that key (or once the completion deleted its copy after losing): a row that stays is an orphan (the completion
-- lost while the store was down, the database failed, its server died between the copy and the commit). The
-- sweeper deletes the object of a row older than an hour (nothing in progress is that old) unless the attachment
-- is STORED under that very key, then the row. claimed_until is the sweeper's lease: a claimed row can no longer
-- be owned (the completion's delete requires it unclaimed, so its transaction fails instead of storing an object
-- the sweeper may be deleting).
CREATE TABLE unowned_object (
  object_key    text PRIMARY KEY,
  attachment_id uuid NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  claimed_until timestamptz
);
CREATE INDEX unowned_object_created_idx ON unowned_object (created_at);
