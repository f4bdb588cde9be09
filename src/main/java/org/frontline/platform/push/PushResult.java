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
   * {@code quota}: whether a quota refused it, and whose (see {@link Quota}); a quota refusal says nothing against the
   * message itself, so it costs the delivery none of its attempts.
   */
  record RetryAfter(Duration after, String reason, Quota quota) implements PushResult {
    public RetryAfter(Duration after, String reason) {
      this(after, reason, Quota.NONE);
    }
  }

  /** Which quota refused a message, if any. */
  enum Quota {
    /** None: the retry costs the delivery an attempt. */
    NONE,
    /**
     * The provider's project-wide quota is exhausted (429 RESOURCE_EXHAUSTED / QUOTA_EXCEEDED, and no message of the
     * batch went through), or the message was held back while the gateway pauses for it ({@link PushGateway#paused()}).
     */
    PROJECT,
    /**
     * The device's own message rate (FCM answers it with the same QUOTA_EXCEEDED): other messages of the same batch
     * went through, so only this one waits; {@code after} is FCM's Retry-After, zero without one.
     */
    DEVICE
  }

  /**
   * The message itself is wrong or was refused for good (INVALID_ARGUMENT about the payload,
   * THIRD_PARTY_AUTH_ERROR...): no retry.
   */
  record PermanentFailure(String reason) implements PushResult {}
}
