-- The audit chain's append, in the database: one call takes the chain's lock, reads the last entry, hashes and
-- inserts the new entries, so a writer holds the lock from this call to its commit and no client round trip in
-- between (before, the writer read the last entry, hashed in Java and sent the entries back: two round trips under
-- the lock). It lets a report group commit be one statement (SubmissionBatcher).
--
-- The hash is the one org.frontline.audit.AuditChain documents and the verifier (ChainVerifier, in Java)
-- recomputes: writer and verifier are two independent implementations of the same definition, and every test that
-- verifies the chain checks that they agree. The caller passes details already in canonical JSON (AuditChain
-- .canonicalJson): that text is what is hashed and what the jsonb column is parsed from.

-- F(value) of the canonical encoding: "|~" for null, else "|" + UTF-8 length + ":" + value.
CREATE FUNCTION audit_field(v text) RETURNS text
  LANGUAGE sql STABLE PARALLEL SAFE AS $$  -- STABLE as convert_to is: so it is inlined where it is called
  SELECT CASE WHEN v IS NULL THEN '|~' ELSE '|' || octet_length(convert_to(v, 'UTF8')) || ':' || v END
$$;

-- Appends one entry per array element, in array order, with consecutive seqs and one timestamp (clock time once the
-- lock is held). The lock is transaction-scoped: call it last in a transaction and commit right after. unit_path is
-- read from org_unit here. Returns the seq of the last entry appended (null when the arrays are empty or null).
CREATE FUNCTION audit_append(actor_ids uuid[], actor_labels text[], actions text[], object_types text[],
                             object_ids text[], unit_ids uuid[], client_addresses text[], request_ids text[],
                             outcomes text[], details text[]) RETURNS bigint
  LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  n int := coalesce(cardinality(actions), 0);
  last_seq bigint;
  prev bytea;
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
  SELECT seq, hash INTO last_seq, prev FROM audit_log ORDER BY seq DESC LIMIT 1;
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
