-- Sibling names were unique by lower(name) only: '邗江区' beside '邗江区　' (an ideographic space), 'Hanjiang' beside
-- the full-width 'Ｈａｎｊｉａｎｇ', or 'Guazhou  Town' beside 'Guazhou Town' read the same aloud and on screen, yet were
-- two live units. Names are now compared as Unicode NFKC (full-width forms, compatibility ideographs and odd spaces as
-- their plain forms), runs of white space as one space, case ignored; the name itself is stored as it was typed
-- (OrgUnitService strips white space around it). Existing live siblings that collide under this rule must be
-- renamed or retired before this migration can run: it stops naming them.
DO $$
DECLARE
  clashes text;
BEGIN
  SELECT string_agg(format('%s (%s)', names, parent), '; ') INTO clashes FROM (
    SELECT coalesce(parent_id::text, 'root') AS parent, string_agg(quote_literal(name), ', ' ORDER BY name) AS names
    FROM org_unit WHERE retired_at IS NULL
    GROUP BY parent_id, lower(btrim(regexp_replace(normalize(name, NFKC), '[[:space:]]+', ' ', 'g')))
    HAVING count(*) > 1) c;
  IF clashes IS NOT NULL THEN
    RAISE EXCEPTION 'live sibling org units whose names read the same; rename or retire all but one of each: %', clashes;
  END IF;
END $$;

DROP INDEX org_unit_sibling_name_idx;
CREATE UNIQUE INDEX org_unit_sibling_name_idx ON org_unit (coalesce(parent_id, '00000000-0000-0000-0000-000000000000'),
  lower(btrim(regexp_replace(normalize(name, NFKC), '[[:space:]]+', ' ', 'g')))) WHERE retired_at IS NULL;
