package org.frontline.platform.push;

import io.vertx.core.Future;

import java.util.List;

/**
 * Sends push messages to devices. One result per message, in the order given. The future fails only when
 * the whole call could not be attempted; per-message failures are results, not exceptions.
 */
public interface PushGateway {

  /** FCM accepts at most this many messages per sendEach call; larger lists are split. */
  int MAX_BATCH = 500;

  Future<List<PushResult>> send(List<PushMessage> messages);

  /** A short name for logs and metrics: "firebase" or "recording". */
  String name();

  /**
   * How long sends are still paused for the whole process because the provider said its quota is exhausted (zero:
   * not paused). While paused, {@link #send} calls the provider for nothing: every message is a quota
   * {@link PushResult.RetryAfter}.
   */
  default java.time.Duration paused() {
    return java.time.Duration.ZERO;
  }

  /** How many such pauses began since start. */
  default long pauses() {
    return 0;
  }
}
