-- The administrative tree and the people who work in it.
-- "This unit and everything below it" is one indexed prefix query on the materialized path:
--   WHERE path LIKE '<ancestor path>%'   (served by org_unit_path_idx, text_pattern_ops)
CREATE TABLE org_unit (
  id          uuid PRIMARY KEY,
  parent_id   uuid REFERENCES org_unit (id),
  name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  kind        text NOT NULL CHECK (kind IN ('PROVINCE', 'CITY', 'DISTRICT', 'COUNTY', 'TOWNSHIP', 'PARK', 'BUREAU')),
  -- '/<root id>/<child id>/.../<this id>/'; unique, rewritten for the whole subtree when a unit moves.
  path        text NOT NULL UNIQUE,
  retired_at  timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CHECK ((parent_id IS NULL) = (path = '/' || id::text || '/'))
);
CREATE INDEX org_unit_path_idx ON org_unit (path text_pattern_ops);
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
