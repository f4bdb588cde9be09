-- The audit log: append-only and hash-chained. Each entry carries the SHA-256 of the previous entry (prev_hash)
-- and of its own content together with prev_hash (hash), so editing or deleting any entry breaks the chain from
-- there on. The canonical encoding that is hashed is documented in org.frontline.audit.AuditChain.
--
-- Appends are serialised by the writer (pg_advisory_xact_lock on the fixed key AuditLog.LOCK_KEY, held until the
-- writing transaction ends), so seq is gap-free and the chain is one line even with concurrent writers; the
-- primary key on seq would turn a fork into an error rather than a second chain.
CREATE TABLE audit_log (
  seq             bigint PRIMARY KEY CHECK (seq > 0),
  at              timestamptz NOT NULL,
  actor_id        uuid,
  actor_label     text NOT NULL,
  action          text NOT NULL CHECK (length(action) BETWEEN 1 AND 100),
  object_type     text,
  object_id       text,
  unit_id         uuid,                       -- no foreign key: the log outlives whatever it describes
  unit_path       text COLLATE "C",           -- org_unit.path of unit_id when the entry was written (scoped reads)
  client_address  text,
  request_id      text,
  outcome         text NOT NULL CHECK (outcome IN ('SUCCESS', 'FAILURE', 'DENIED')),
  details         jsonb,
  prev_hash       bytea NOT NULL CHECK (length(prev_hash) = 32),
  hash            bytea NOT NULL UNIQUE CHECK (length(hash) = 32)
);
-- Scoped reads: entries of a unit subtree, newest first.
CREATE INDEX audit_log_unit_path_idx ON audit_log (unit_path, seq);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, seq) WHERE actor_id IS NOT NULL;

-- Append-only: UPDATE, DELETE and TRUNCATE raise. Changing an entry takes the deliberate step of disabling these
-- triggers (table owner or superuser), and even then verify names the first broken entry.
CREATE FUNCTION audit_log_append_only() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_no_update_or_delete
  BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate
  BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
