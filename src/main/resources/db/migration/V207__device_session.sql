-- A device belongs to the session (login: refresh-token family, an access token's sid) that registered it. When that
-- session ends (a logout, a refresh token's reuse, a password reset or a disable revoke its family), its devices are
-- retired (SIGNED_OUT) in the same transaction: a phone logged out, handed over or stolen no longer shows the
-- account's alerts (lock screen) until someone logs in on it and registers it again. NULL: registered with an access
-- token naming no session (issued before sessions were named); such a device stays as it was.
ALTER TABLE device ADD COLUMN session_id uuid;
CREATE INDEX device_session_idx ON device (session_id) WHERE retired_at IS NULL;

ALTER TABLE device DROP CONSTRAINT device_retired_reason_check,
  ADD CONSTRAINT device_retired_reason_check
    CHECK (retired_reason IN ('UNREGISTERED', 'DELETED', 'IDLE', 'REPLACED', 'SIGNED_OUT'));

-- Per revoked token (a family revoked at once is a few probes of the partial index; the second finds nothing live).
CREATE FUNCTION frontline_session_devices_retired() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE device SET retired_at = now(), retired_reason = 'SIGNED_OUT'
    WHERE session_id = NEW.family_id AND retired_at IS NULL;
  RETURN NULL;
END $$;

CREATE TRIGGER refresh_token_revoked_devices AFTER UPDATE OF revoked_at ON refresh_token
  FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
  EXECUTE FUNCTION frontline_session_devices_retired();
