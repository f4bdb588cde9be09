-- Partner clients (systems that call the API with OAuth 2.0 client credentials), their credentials, and the
-- client-assertion replay table. Managed by admins; every change audited.
CREATE TABLE partner_client (
  id            uuid PRIMARY KEY,
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  auth_method   text NOT NULL CHECK (auth_method IN ('client_secret_basic', 'private_key_jwt')),
  scopes        text[] NOT NULL,     -- granted OAuth scopes: reports:read, events:read, figures:write
  unit_ids      uuid[] NOT NULL,     -- granted unit subtrees (each unit and everything below it)
  report_types  text[] NOT NULL,     -- granted report types
  created_by    uuid REFERENCES account (id),
  created_at    timestamptz NOT NULL DEFAULT now(),
  disabled_at   timestamptz
);
CREATE INDEX partner_client_created_idx ON partner_client (created_at DESC, id DESC);

-- A credential of a client: a server-generated secret (only its SHA-256 is kept: the secret has 256 random bits,
-- so a slow hash adds nothing) or one public JWK with its pinned algorithm. Several may be live at once: that is
-- the rotation overlap. A credential works while removed_at is null and expires_at (if any) is in the future.
CREATE TABLE partner_credential (
  id            uuid PRIMARY KEY,
  client_id     uuid NOT NULL REFERENCES partner_client (id),
  kind          text NOT NULL CHECK (kind IN ('secret', 'jwk')),
  secret_sha256 bytea CHECK (length(secret_sha256) = 32),
  kid           text,
  alg           text CHECK (alg IN ('ES256', 'RS256')),
  jwk           jsonb,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz,
  removed_at    timestamptz,
  CHECK ((kind = 'secret') = (secret_sha256 IS NOT NULL)),
  CHECK ((kind = 'jwk') = (kid IS NOT NULL AND alg IS NOT NULL AND jwk IS NOT NULL))
);
CREATE INDEX partner_credential_client_idx ON partner_credential (client_id);
-- A kid names one live key of a client (a removed key's kid may be reused).
CREATE UNIQUE INDEX partner_credential_live_kid ON partner_credential (client_id, kid)
  WHERE kind = 'jwk' AND removed_at IS NULL;

-- Client assertions (RFC 7523) already used, until they expire: the primary key makes a replay (even concurrent
-- ones) lose.
CREATE TABLE partner_assertion_jti (
  client_id   uuid NOT NULL REFERENCES partner_client (id),
  jti         text NOT NULL,
  expires_at  timestamptz NOT NULL,
  PRIMARY KEY (client_id, jti)
);
CREATE INDEX partner_assertion_jti_expiry_idx ON partner_assertion_jti (expires_at);
