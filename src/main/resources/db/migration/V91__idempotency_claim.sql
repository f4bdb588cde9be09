-- The claim of an idempotency key: a nonce per claim (the first request's, or the one that took an abandoned key
-- over). The claimant's final answer and its clean-up after a failure are conditioned on it, so a request whose
-- claim was taken over can neither store its answer (its write rolls back) nor delete the new owner's claim.
ALTER TABLE partner_idempotency ADD COLUMN claim uuid;
