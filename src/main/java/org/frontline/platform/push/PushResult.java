package org.frontline.platform.push;

import java.time.Duration;

/** What became of one message. */
public sealed interface PushResult {

  /** FCM accepted the message. */
  record Delivered(String messageId) implements PushResult {}

  /**
   * The token no longer names a device of ours (UNREGISTERED, SENDER_ID_MISMATCH, or INVALID_ARGUMENT saying it is
   * not a valid registration token): retire it.
   */
  record TokenInvalid(String reason) implements PushResult {}

  /**
   * A temporary failure (QUOTA_EXCEEDED, UNAVAILABLE, INTERNAL): try again, not sooner than {@code after}.
   * {@code quota}: the provider's project-wide quota was exhausted (429 / RESOURCE_EXHAUSTED), or the message was held
   * back while the gateway pauses for it ({@link PushGateway#paused()}): nothing against the message itself, so it
   * costs the delivery none of its attempts.
   */
  record RetryAfter(Duration after, String reason, boolean quota) implements PushResult {
    public RetryAfter(Duration after, String reason) {
      this(after, reason, false);
    }
  }

  /**
   * The message itself is wrong or was refused for good (INVALID_ARGUMENT about the payload,
   * THIRD_PARTY_AUTH_ERROR...): no retry.
   */
  record PermanentFailure(String reason) implements PushResult {}
}
