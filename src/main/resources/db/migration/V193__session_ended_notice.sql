-- Logout, a refresh token's reuse, a password reset or a disable revoke a session's refresh tokens (its family);
-- its access tokens (`sid` = the family) must stop as well, on every instance, without a database read per request.
-- Each instance keeps the sessions ended within the last access-token lifetime in memory (identity/EndedSessions):
-- every revocation, by whoever makes it, is announced on the channel frontline_session_ended with the family id
-- (at commit; a family revoked in one statement is one notice, PostgreSQL folding identical ones of a transaction),
-- and an instance that starts or listens again reads the families revoked lately through the index below.
CREATE FUNCTION frontline_session_ended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('frontline_session_ended', NEW.family_id::text);
  RETURN NULL;
END $$;

CREATE TRIGGER refresh_token_revoked AFTER UPDATE OF revoked_at ON refresh_token
  FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
  EXECUTE FUNCTION frontline_session_ended();

CREATE INDEX refresh_token_revoked_idx ON refresh_token (revoked_at) WHERE revoked_at IS NOT NULL;
