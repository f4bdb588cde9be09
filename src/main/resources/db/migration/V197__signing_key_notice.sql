-- A signing key retired at once (it leaked: identity/RotationService.retire) must stop verifying on every instance
-- from the next request on, not at each instance's next reload of the keys (every 30 s). Every change to the table,
-- by whoever makes it (the API, `admin rotate-keys`/`retire-key`, an operator's UPDATE), is announced on the channel
-- frontline_signing_key at commit (one notice per transaction: PostgreSQL folds identical ones), and each API
-- instance reloads its keys when it hears one (identity/KeyRing, on the identity ChangeListener's connection).
CREATE FUNCTION frontline_signing_key_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('frontline_signing_key', '');
  RETURN NULL;
END $$;

CREATE TRIGGER signing_key_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON signing_key
  FOR EACH STATEMENT EXECUTE FUNCTION frontline_signing_key_changed();
