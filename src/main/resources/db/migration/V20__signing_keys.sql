-- ES256 signing keys, shared by every instance (instances are stateless). The private key is stored encrypted with
-- AES-256-GCM under the key-encryption key from configuration (FRONTLINE_KEY_ENCRYPTION_KEY): 12-byte nonce ||
-- ciphertext || 16-byte tag, the kid bound as associated data. It is erased when the key is retired.
--   next      published, not yet signing (reserved: rotation today activates a new key at once)
--   current   signs new tokens; exactly one
--   previous  published, verifies only (tokens signed before the rotation stay valid)
--   retired   no longer published: tokens signed by it are rejected
CREATE TABLE signing_key (
  kid              text PRIMARY KEY CHECK (kid ~ '^[A-Za-z0-9._-]{1,64}$'),
  state            text NOT NULL CHECK (state IN ('next', 'current', 'previous', 'retired')),
  public_jwk       jsonb NOT NULL,
  private_key_enc  bytea CHECK (private_key_enc IS NULL OR length(private_key_enc) > 28),
  created_at       timestamptz NOT NULL DEFAULT now(),
  activated_at     timestamptz,          -- began signing
  superseded_at    timestamptz,          -- stopped signing (became previous)
  retired_at       timestamptz,          -- unpublished
  CHECK ((state = 'retired') = (retired_at IS NOT NULL)),
  CHECK ((state = 'retired') = (private_key_enc IS NULL)),
  CHECK (state NOT IN ('current', 'previous') OR activated_at IS NOT NULL),
  CHECK (state <> 'previous' OR superseded_at IS NOT NULL)
);
CREATE UNIQUE INDEX signing_key_one_current_idx ON signing_key (state) WHERE state = 'current';
