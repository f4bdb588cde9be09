-- The chain's head: the seq and hash of the newest entry, moved forward every second by audit_checkpoint (below).
-- A hash chain shows an edited or deleted entry by the entries after it; the newest entries have none after them,
-- so deleting them (the tail) left a shorter chain that verified as intact. The verifier compares the chain
-- with this row: entries missing up to its seq are a seq-gap, a newest entry whose hash is not its hash was replaced.
-- audit_append goes on from the head, not from the newest entry left. Like audit_log it refuses an UPDATE that goes
-- back, DELETE and TRUNCATE: shortening the chain unseen takes disabling both tables' triggers.
CREATE TABLE audit_head (
  id    boolean PRIMARY KEY DEFAULT true CHECK (id),
  seq   bigint NOT NULL CHECK (seq > 0),
  hash  bytea NOT NULL CHECK (length(hash) = 32)
);

CREATE FUNCTION audit_head_forward_only() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' OR NEW.seq <= OLD.seq THEN
    RAISE EXCEPTION 'audit_head only moves forward: % is not allowed', TG_OP
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER audit_head_forward_only
  BEFORE UPDATE OR DELETE ON audit_head
  FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only();
CREATE TRIGGER audit_head_no_truncate
  BEFORE TRUNCATE ON audit_head
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

INSERT INTO audit_head (id, seq, hash) SELECT true, seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1;

-- audit_append (V94), going on from the head when the chain ends before it.
CREATE OR REPLACE FUNCTION audit_append(actor_ids uuid[], actor_labels text[], actions text[], object_types text[],
                             object_ids text[], unit_ids uuid[], client_addresses text[], request_ids text[],
                             outcomes text[], details text[]) RETURNS bigint
  LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  n int := coalesce(cardinality(actions), 0);
  last_seq bigint;
  prev bytea;
  log_seq bigint;
  log_hash bytea;
  entry_at timestamptz;
  at_field text;
  paths text[];
  rest text[];
  parsed jsonb[];
  hashes bytea[] := '{}';
  prevs bytea[] := '{}';
  seqs bigint[] := '{}';
BEGIN
  IF n = 0 THEN
    RETURN NULL;
  END IF;
  -- Before the lock, all that does not depend on the chain or the time: the unit paths, the encoding of the fields
  -- after at (one query, where audit_field is inlined), the details parsed.
  SELECT array_agg(u.path ORDER BY k),
         array_agg(audit_field(actor_ids[k]::text) || audit_field(actor_labels[k]) || audit_field(actions[k])
                   || audit_field(object_types[k]) || audit_field(object_ids[k]) || audit_field(unit_ids[k]::text)
                   || audit_field(u.path) || audit_field(client_addresses[k]) || audit_field(request_ids[k])
                   || audit_field(outcomes[k]) || audit_field(details[k]) ORDER BY k),
         array_agg(details[k]::jsonb ORDER BY k)
    INTO paths, rest, parsed
  FROM generate_subscripts(actions, 1) AS k LEFT JOIN org_unit u ON u.id = unit_ids[k];
  -- AuditLog.LOCK_KEY ("FLAUDIT\0"). A VOLATILE function's queries each take a fresh snapshot (READ COMMITTED), so
  -- the read below, after the lock, sees every entry committed before the lock was granted.
  PERFORM pg_advisory_xact_lock(5065495515358647296);
  -- The chain goes on from its head: were the newest entries deleted, the next one still follows the last recorded,
  -- and the gap stays for the verifier to name. From the last entry when that is further on (a row inserted by other
  -- means than this function: appends then still work, as before) or there is no head (an empty log).
  SELECT seq, hash INTO last_seq, prev FROM audit_head;
  SELECT seq, hash INTO log_seq, log_hash FROM audit_log ORDER BY seq DESC LIMIT 1;
  IF log_seq IS NOT NULL AND (last_seq IS NULL OR log_seq > last_seq) THEN
    last_seq := log_seq;
    prev := log_hash;
  END IF;
  IF last_seq IS NULL THEN
    last_seq := 0;
    prev := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
  END IF;
  entry_at := clock_timestamp();
  at_field := audit_field(to_char(entry_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'));
  FOR k IN 1..n LOOP
    last_seq := last_seq + 1;
    prevs := array_append(prevs, prev);
    -- F(prev_hash) is "|64:" + 64 hex digits.
    prev := sha256(convert_to('frontline-audit-v1|64:' || encode(prev, 'hex') || '|' || length(last_seq::text) || ':'
                              || last_seq || at_field || rest[k], 'UTF8'));
    hashes := array_append(hashes, prev);
    seqs := array_append(seqs, last_seq);
  END LOOP;
  INSERT INTO audit_log (seq, at, actor_id, actor_label, action, object_type, object_id, unit_id, unit_path,
                         client_address, request_id, outcome, details, prev_hash, hash)
  SELECT seqs[k], entry_at, actor_ids[k], actor_labels[k], actions[k], object_types[k], object_ids[k], unit_ids[k],
         paths[k], client_addresses[k], request_ids[k], outcomes[k], parsed[k], prevs[k], hashes[k]
  FROM generate_subscripts(actions, 1) AS k
  ORDER BY k;
  RETURN last_seq;
END;
$$;

-- Moves the head to the newest committed entry (forward only: a head already further on, or a chain whose tail was
-- deleted, leaves it where it is). Called every second by each Frontline process (AuditLog.HEAD_INTERVAL), not by
-- audit_append: one row updated by every append, under the chain's lock, cost the report path a sixth of its rate
-- (bench/README.md, session 10). So a deletion of entries appended within the last second before it goes unseen;
-- anything older shows as a gap.
CREATE FUNCTION audit_checkpoint() RETURNS bigint
  LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  newest_seq bigint;
  newest_hash bytea;
BEGIN
  SELECT seq, hash INTO newest_seq, newest_hash FROM audit_log ORDER BY seq DESC LIMIT 1;
  IF newest_seq IS NULL THEN
    RETURN NULL;
  END IF;
  INSERT INTO audit_head AS h (id, seq, hash) VALUES (true, newest_seq, newest_hash)
    ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash WHERE h.seq < excluded.seq;
  RETURN newest_seq;
END;
$$;
