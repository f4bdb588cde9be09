-- Retention of login throttle counters (notify/Retention): a row whose window has passed counts for nothing (the next
-- failure opens a new window), yet every failed login under a new name or from a new address left one for good.
-- This index finds the passed windows, oldest first.
CREATE INDEX login_throttle_window_idx ON login_throttle (window_start);
