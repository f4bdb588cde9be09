-- The administrative tree and the people who work in it.
-- "This unit and everything below it" is one indexed range query on the materialized path, also in generic
-- (prepared) plans, which a LIKE 'prefix%' with a parameter is not:
--   WHERE path >= $1 AND path < subtree_end($1)        ($1 = the ancestor's path, e.g. '/<root>/<city>/')
-- Paths are compared byte-wise (COLLATE "C"), and every descendant's path starts with its ancestor's.
CREATE TABLE org_unit (
  id          uuid PRIMARY KEY,
  parent_id   uuid REFERENCES org_unit (id),
  name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  kind        text NOT NULL CHECK (kind IN ('PROVINCE', 'CITY', 'DISTRICT', 'COUNTY', 'TOWNSHIP', 'PARK', 'BUREAU')),
  -- '/<root id>/<child id>/.../<this id>/'; unique, rewritten for the whole subtree when a unit moves.
  path        text COLLATE "C" NOT NULL UNIQUE CHECK (path ~ '^(/[0-9a-f-]{36})+/$'),
  retired_at  timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CHECK ((parent_id IS NULL) = (path = '/' || id::text || '/'))
);
-- The UNIQUE constraint's index on path serves subtree range scans.

-- The first path after every path that starts with p: p ends with '/', and '0' is the byte right after '/'.
CREATE FUNCTION subtree_end(p text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN left(p, -1) || '0';
CREATE INDEX org_unit_parent_idx ON org_unit (parent_id);
-- Sibling names are unique among live units, so a tree read aloud is never ambiguous.
CREATE UNIQUE INDEX org_unit_sibling_name_idx ON org_unit (coalesce(parent_id, '00000000-0000-0000-0000-000000000000'), lower(name))
  WHERE retired_at IS NULL;

CREATE TABLE account (
  id             uuid PRIMARY KEY,
  username       text NOT NULL CHECK (username ~ '^[a-z0-9][a-z0-9._-]{1,62}[a-z0-9]$'),
  display_name   text NOT NULL CHECK (length(btrim(display_name)) BETWEEN 1 AND 200),
  locale         text NOT NULL DEFAULT 'zh-CN' CHECK (locale IN ('zh-CN', 'en')),
  password_hash  text NOT NULL,
  roles          text[] NOT NULL CHECK (roles <@ ARRAY['officer', 'supervisor', 'assessor', 'admin']::text[]
                                        AND cardinality(roles) > 0),
  home_unit_id   uuid NOT NULL REFERENCES org_unit (id),
  disabled_at    timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX account_username_idx ON account (username);
CREATE INDEX account_home_unit_idx ON account (home_unit_id);

-- The unit subtrees an account covers (a supervisor may cover several). The home unit is always covered.
CREATE TABLE account_scope (
  account_id  uuid NOT NULL REFERENCES account (id) ON DELETE CASCADE,
  unit_id     uuid NOT NULL REFERENCES org_unit (id),
  PRIMARY KEY (account_id, unit_id)
);
CREATE INDEX account_scope_unit_idx ON account_scope (unit_id);
