-- Each service instance keeps the accounts of recent callers in memory (identity/AccountCache) instead of reading
-- the account on every request. Any change to an account or to the units it covers is announced on the channel
-- frontline_account with the account id, whoever makes it (the service, another instance, an operator's psql), and
-- a TRUNCATE announces '*' (forget everything). NOTIFY is delivered at commit, so a rolled-back change says nothing.
CREATE FUNCTION frontline_account_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM pg_notify('frontline_account', '*');
  ELSIF TG_TABLE_NAME = 'account' THEN
    PERFORM pg_notify('frontline_account', (CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END)::text);
    IF TG_OP = 'UPDATE' AND OLD.id <> NEW.id THEN
      PERFORM pg_notify('frontline_account', OLD.id::text);
    END IF;
  ELSE
    PERFORM pg_notify('frontline_account', (CASE WHEN TG_OP = 'DELETE' THEN OLD.account_id ELSE NEW.account_id END)::text);
    IF TG_OP = 'UPDATE' AND OLD.account_id <> NEW.account_id THEN
      PERFORM pg_notify('frontline_account', OLD.account_id::text);
    END IF;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER account_changed AFTER INSERT OR UPDATE OR DELETE ON account
  FOR EACH ROW EXECUTE FUNCTION frontline_account_changed();
CREATE TRIGGER account_truncated AFTER TRUNCATE ON account
  FOR EACH STATEMENT EXECUTE FUNCTION frontline_account_changed();
CREATE TRIGGER account_scope_changed AFTER INSERT OR UPDATE OR DELETE ON account_scope
  FOR EACH ROW EXECUTE FUNCTION frontline_account_changed();
CREATE TRIGGER account_scope_truncated AFTER TRUNCATE ON account_scope
  FOR EACH STATEMENT EXECUTE FUNCTION frontline_account_changed();
