-- A refresh that met a disabled account (racing the disabling, which revoked the tokens it saw) spent its token,
-- issued no successor and revoked the family: a family without an unspent token, which retention (found by the
-- unspent tokens' expiry, V165) never saw. Such a token is now left unspent and revoked (AuthService); the families
-- left before get the same: their newest token unspent again (it was never rotated). They are all revoked, so
-- nothing can be refreshed from them; retention deletes them once their tokens have expired.
UPDATE refresh_token t SET used_at = NULL
WHERE t.revoked_at IS NOT NULL
  AND t.id = (SELECT n.id FROM refresh_token n WHERE n.family_id = t.family_id ORDER BY n.issued_at DESC, n.id DESC
              LIMIT 1)
  AND NOT EXISTS (SELECT 1 FROM refresh_token u WHERE u.family_id = t.family_id AND u.used_at IS NULL);
