-- How many times FCM refused a delivery for its device's own message rate (QUOTA_EXCEEDED that FirebasePushGateway
-- finds to be the device's, not the project's; notify/OutboxDispatcherVerticle). Such a refusal spends none of the
-- delivery's attempts (it never makes a dead letter); without a Retry-After it sets the delivery's backoff: 10 s
-- doubling per refusal, capped at 1 h. A constant default: no table rewrite.
ALTER TABLE push_delivery ADD COLUMN device_throttles int NOT NULL DEFAULT 0;
