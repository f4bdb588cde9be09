-- Retention of webhook secrets and subscriptions (notify/Retention): a secret past its expiry (ended by a rotation)
-- never signs again and is deleted; a subscription deleted longer ago than the webhook delivery window is deleted
-- with its secrets once none of its deliveries is left. These indexes find them, oldest first.
CREATE INDEX webhook_secret_expiry_idx ON webhook_secret (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX webhook_subscription_deleted_idx ON webhook_subscription (deleted_at) WHERE deleted_at IS NOT NULL;
