-- Feed positions that never go backwards across a logical restore (pg_dump/pg_restore, logical replication). The
-- outbox's txid (V71) was the writing transaction's id: a restored cluster starts its transaction ids again from a
-- few hundred while the restored rows, and every cursor partners and webhook subscriptions hold, keep the old
-- cluster's, so every new event sorted before them and was never served again. txid is now the event's feed
-- position: its transaction's id plus the clock's shift; the feed's horizon is the reading snapshot's xmin plus the
-- same shift. With shift 0 (every database until a restore) both are what they were: existing rows and cursors keep
-- their meaning. FeedClock raises the shift when it finds a stored position that no transaction of this cluster
-- could have written (at start-up and every minute), under an EXCLUSIVE lock on outbox (see NOTES "Partners").
-- floor: a position no event may be written below from now on (the shift is raised to at least it, and every check
-- moves it to xmin + shift). A restored clock's floor is the old cluster's, so an event written before the shift
-- is raised is refused (FL001, a 503) rather than stored behind every cursor, where no partner would ever see it.
CREATE TABLE feed_clock (
  one   boolean PRIMARY KEY DEFAULT true CHECK (one),
  shift bigint NOT NULL DEFAULT 0 CHECK (shift >= 0),
  floor bigint NOT NULL DEFAULT 0
);
INSERT INTO feed_clock DEFAULT VALUES;

-- The position of an event written now. VOLATILE: the clock is read with a snapshot of its own, taken once the
-- INSERT holds its lock on outbox, so a raise (which waits for that lock) is either wholly before or wholly after.
CREATE FUNCTION feed_position() RETURNS xid8 LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  clock feed_clock;
  pos bigint;
BEGIN
  SELECT * INTO STRICT clock FROM feed_clock;
  pos := pg_current_xact_id()::text::bigint + clock.shift;
  IF pos < clock.floor THEN
    RAISE EXCEPTION 'event feed position % is below the feed clock''s floor % (a restored database whose feed clock is not raised yet)',
      pos, clock.floor USING ERRCODE = 'FL001';
  END IF;
  RETURN pos::text::xid8;
END $$;

-- The feed serves events below this position: the reading statement's snapshot xmin plus the shift. STABLE: it
-- reads the clock with the calling statement's own snapshot, the one whose xmin it adds.
CREATE FUNCTION feed_horizon() RETURNS xid8 LANGUAGE sql STABLE AS $$
  SELECT (pg_snapshot_xmin(pg_current_snapshot())::text::bigint + shift)::text::xid8 FROM feed_clock
$$;

ALTER TABLE outbox ALTER COLUMN txid SET DEFAULT feed_position();
