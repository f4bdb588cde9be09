package org.frontline.notify;

import java.time.Duration;
import java.util.Objects;

/**
 * Flood control, the one rule: a recipient gets at most {@code limit} pushes of their own within a sliding
 * {@code window}; the next alert in that window gets one digest push ("N new alerts") instead, and later ones within
 * the window none at all, except an urgent one ({@link AlertRules#urgentKinds()}), which always gets its own push
 * (and counts in the window): a flag on a report must not wait behind routine alerts. Every alert is still an inbox notification. The window is counted in the database
 * ({@code notification.created_at}, {@code push}), so time is the database's and any number of dispatcher
 * instances agree. Pushes on the same subject also collapse on the device (collapse key = the report id); digests
 * collapse into one another ({@link #DIGEST_COLLAPSE_KEY}).
 */
public record FloodControl(int limit, Duration window) {

  /** Defaults: 10 pushes per recipient per 10 minutes (FRONTLINE_ALERT_DIGEST_AFTER, ..._WINDOW_SECONDS). */
  public static final int DEFAULT_LIMIT = 10;
  public static final Duration DEFAULT_WINDOW = Duration.ofMinutes(10);
  /** No limit: every alert is pushed. */
  public static final FloodControl OFF = new FloodControl(0, DEFAULT_WINDOW);
  public static final String DIGEST_COLLAPSE_KEY = "digest";
  public static final String DIGEST_EVENT_TYPE = "alert.digest";

  /** What push one notification gets. */
  public enum Push { ALERT, DIGEST, NONE }

  public FloodControl {
    Objects.requireNonNull(window, "window");
    if (limit < 0 || window.isNegative() || window.isZero()) {
      throw new IllegalArgumentException("flood control needs limit >= 0 and a positive window");
    }
  }

  public static FloodControl defaults() {
    return new FloodControl(DEFAULT_LIMIT, DEFAULT_WINDOW);
  }

  public boolean enabled() {
    return limit > 0;
  }

  /**
   * @param eventType         the alert's event kind (an urgent one is always pushed)
   * @param ownPushesInWindow the recipient's notifications within the window that got their own push
   * @param digestInWindow    whether a digest went out to them within the window
   */
  public Push decide(String eventType, long ownPushesInWindow, boolean digestInWindow) {
    if (!enabled() || ownPushesInWindow < limit || AlertRules.urgentKinds().contains(eventType)) {
      return Push.ALERT;
    }
    return digestInWindow ? Push.NONE : Push.DIGEST;
  }

  /** The digest's text; {@code count} = the recipient's alerts within the window, this one included. */
  public static AlertRules.Text digestText(String locale, long count) {
    return "en".equals(locale)
        ? new AlertRules.Text(count + " new alerts", "Open Frontline to see them all.")
        : new AlertRules.Text(count + " 条新提醒", "打开 Frontline 查看全部提醒。");
  }
}
