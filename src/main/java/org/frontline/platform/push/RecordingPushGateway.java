package org.frontline.platform.push;

import io.vertx.core.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.UUID;

/**
 * {@link PushGateway} for when no Firebase credentials are configured (dev): logs each message, keeps the most
 * recent ones in memory for inspection, and reports every message as delivered. Sends nothing anywhere.
 */
public final class RecordingPushGateway implements PushGateway {

  private static final Logger LOG = LoggerFactory.getLogger(RecordingPushGateway.class);

  public static final int DEFAULT_CAPACITY = 1000;

  private final int capacity;
  private final Deque<Recorded> recent; // guarded by itself

  /** One message as recorded: the id it was "sent" under and when. */
  public record Recorded(String id, Instant at, PushMessage message) {}

  public RecordingPushGateway() {
    this(DEFAULT_CAPACITY);
  }

  public RecordingPushGateway(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be at least 1, was " + capacity);
    }
    this.capacity = capacity;
    this.recent = new ArrayDeque<>(Math.min(capacity, 1024));
  }

  @Override
  public Future<List<PushResult>> send(List<PushMessage> messages) {
    List<PushResult> results = new ArrayList<>(messages.size());
    for (PushMessage message : messages) {
      String id = "recorded-" + UUID.randomUUID();
      LOG.info("push {} to {}: title={} data={}", id, shorten(message.token()), message.title(), message.data());
      synchronized (recent) {
        if (recent.size() == capacity) {
          recent.removeFirst();
        }
        recent.addLast(new Recorded(id, Instant.now(), message));
      }
      results.add(new PushResult.Delivered(id));
    }
    return Future.succeededFuture(List.copyOf(results));
  }

  @Override
  public String name() {
    return "recording";
  }

  /** The last {@code capacity} messages sent, oldest first, newest last; an immutable snapshot. */
  public List<PushMessage> recent() {
    return recorded().stream().map(Recorded::message).toList();
  }

  /** As {@link #recent()}, with each message's id and time (the dev-only view, GET /dev/pushes). */
  public List<Recorded> recorded() {
    synchronized (recent) {
      return List.copyOf(recent);
    }
  }

  /** Forgets every recorded message (tests). */
  public void clear() {
    synchronized (recent) {
      recent.clear();
    }
  }

  /** Device tokens are credentials of a sort: log only enough to tell them apart. */
  public static String shorten(String token) {
    return token.length() <= 12 ? token : token.substring(0, 6) + "…" + token.substring(token.length() - 4);
  }
}
