-- An account keeps at most 10 live devices (notify/DeviceRepository.MAX_LIVE_PER_ACCOUNT): registering an eleventh
-- retires the least recently seen of the others, with this reason.
ALTER TABLE device DROP CONSTRAINT device_retired_reason_check,
  ADD CONSTRAINT device_retired_reason_check
    CHECK (retired_reason IN ('UNREGISTERED', 'DELETED', 'IDLE', 'REPLACED'));
