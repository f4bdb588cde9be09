-- Failed-login counters, per account name and per client address, shared by every instance (instances are
-- stateless). A fixed window opens at the first failure; when it has passed, the next failure opens a new one.
CREATE TABLE login_throttle (
  key           text PRIMARY KEY,          -- 'account:<username>' or 'address:<ip>'
  failures      integer NOT NULL CHECK (failures > 0),
  window_start  timestamptz NOT NULL
);

-- Opaque refresh tokens, stored only as the SHA-256 of the token. Every token issued by rotation from one login
-- shares the login's family_id, so reuse of a spent token can revoke the whole family (RFC 9700 section 4.14).
CREATE TABLE refresh_token (
  id          uuid PRIMARY KEY,
  account_id  uuid NOT NULL REFERENCES account (id) ON DELETE CASCADE,
  family_id   uuid NOT NULL,
  token_hash  bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
  issued_at   timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  revoked_at  timestamptz
);
CREATE INDEX refresh_token_family_idx ON refresh_token (family_id);
CREATE INDEX refresh_token_account_idx ON refresh_token (account_id);
