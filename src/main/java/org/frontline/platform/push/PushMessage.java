package org.frontline.platform.push;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * One push to one device token. {@code collapseKey} makes later pushes of the same subject replace earlier ones
 * on the device (Android collapse_key, APNs apns-collapse-id); it may be null.
 */
public record PushMessage(
    String token,
    String title,
    String body,
    Map<String, String> data,
    String collapseKey,
    boolean highPriority,
    Duration timeToLive) {

  public PushMessage {
    Objects.requireNonNull(token, "token");
    data = data == null ? Map.of() : Map.copyOf(data);
    timeToLive = timeToLive == null ? Duration.ofDays(1) : timeToLive;
  }
}
