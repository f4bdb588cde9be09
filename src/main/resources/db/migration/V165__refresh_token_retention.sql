-- Retention of refresh tokens (notify/Retention): a family's rows are kept until all of them have expired (reuse
-- detection needs a spent token's row for as long as it could be presented), then deleted together. The family's
-- newest token is its only unspent one (rotation spends one and issues the next), so the expired unspent rows are
-- the ended families, in the order they ended; this index finds them without reading the live families' history.
CREATE INDEX refresh_token_unspent_expiry_idx ON refresh_token (expires_at) WHERE used_at IS NULL;
