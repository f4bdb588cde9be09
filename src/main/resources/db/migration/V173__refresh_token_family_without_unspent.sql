-- A refresh that met a disabled account (racing the disabling, which revoked the tokens it saw) spent its token,
-- issued no successor and revoked the family: a family without an unspent token, which retention (found by the
-- unspent tokens' expiry, V165) never saw. Such a token is now left unspent and revoked (AuthService); the families
-- left before get the same: their newest token unspent again (it was never rotated). They are all revoked, so
-- nothing can be refreshed from them; retention deletes them once their tokens have expired.
-- In one pass over the table: the families without an unspent token first (an anti-join with the unspent ones,
-- one per live family), then the newest token of each. (The newest of every revoked token's family looked up per
-- row read each family once per token: quadratic, a minute for 300,000 tokens in families of 300.)
UPDATE refresh_token t SET used_at = NULL
WHERE t.revoked_at IS NOT NULL
  AND t.id IN (SELECT DISTINCT ON (n.family_id) n.id FROM refresh_token n
               WHERE NOT EXISTS (SELECT 1 FROM refresh_token u WHERE u.family_id = n.family_id AND u.used_at IS NULL)
               ORDER BY n.family_id, n.issued_at DESC, n.id DESC);
