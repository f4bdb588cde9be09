-- Retention of retired devices (notify/Retention): a device retired (idle, replaced, removed, or called dead by FCM)
-- longer ago than FRONTLINE_RETENTION_DEVICE_DAYS is deleted; this index finds them, oldest retirement first.
CREATE INDEX device_retired_idx ON device (retired_at) WHERE retired_at IS NOT NULL;
-- Deleting a device cascades to its push deliveries: without an index on device_id, each device deleted read the
-- whole of push_delivery to find them.
CREATE INDEX push_delivery_device_idx ON push_delivery (device_id);
