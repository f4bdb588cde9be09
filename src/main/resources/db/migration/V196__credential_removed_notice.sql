-- A partner access token names the credential it was issued with (its `sid`); removing the credential (a leaked
-- key or secret) must end those tokens too, on every instance, without a database read per request. As V193 does
-- for people's sessions, every removal, by whoever makes it, is announced on the channel
-- frontline_credential_removed with the credential id at commit, and an instance that starts or listens again reads
-- the credentials removed lately (identity/EndedSessions, partners/PartnerCallers.REMOVED_CREDENTIALS). The table
-- holds a few credentials per client: that read needs no index.
CREATE FUNCTION frontline_credential_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('frontline_credential_removed', NEW.id::text);
  RETURN NULL;
END $$;

CREATE TRIGGER partner_credential_removed AFTER UPDATE OF removed_at ON partner_credential
  FOR EACH ROW WHEN (OLD.removed_at IS NULL AND NEW.removed_at IS NOT NULL)
  EXECUTE FUNCTION frontline_credential_removed();
