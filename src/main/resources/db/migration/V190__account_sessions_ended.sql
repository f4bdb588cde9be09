-- When the account's sessions were last ended (a password reset, a disable): access tokens issued up to that second
-- are refused, like its refresh tokens (revoked in the same statement). Without it a reset left the old access tokens
-- working until they expired, and a disabled account enabled again got them back.
ALTER TABLE account ADD COLUMN sessions_ended_at timestamptz;
