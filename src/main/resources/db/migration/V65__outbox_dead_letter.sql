-- An event that fails to dispatch on its own, claim after claim (a rule that cannot handle its payload), is set
-- aside with the reason instead of being retried forever; the events after it are dispatched meanwhile.
ALTER TABLE outbox ADD COLUMN dispatch_error text;
