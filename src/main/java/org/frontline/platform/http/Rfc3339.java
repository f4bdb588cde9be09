package org.frontline.platform.http;

import java.time.DateTimeException;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;

/**
 * The common shape of an RFC 3339 date-time, read by hand: {@code YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM)},
 * upper case, offset hours below 18. Every report carries one, and checking it with the contract's format table
 * (a regular expression, then {@code DateTimeFormatter.ISO_DATE_TIME}) and parsing it again cost about a tenth of
 * a report's time on the event loop. Anything outside this shape answers {@code null}: callers then take the general
 * path, so this never decides a refusal, and whatever it accepts the general path accepts with the same value
 * (Rfc3339Test).
 */
public final class Rfc3339 {
  private Rfc3339() {}

  /** The instant written in {@code s}, or {@code null} when {@code s} is not of the common shape or not a date. */
  public static OffsetDateTime parseCommon(String s) {
    int n = s.length();
    if (n < 20 || n > 35 || s.charAt(4) != '-' || s.charAt(7) != '-' || s.charAt(10) != 'T' || s.charAt(13) != ':'
        || s.charAt(16) != ':') {
      return null;
    }
    int year = digits(s, 0, 4);
    int month = digits(s, 5, 2);
    int day = digits(s, 8, 2);
    int hour = digits(s, 11, 2);
    int minute = digits(s, 14, 2);
    int second = digits(s, 17, 2);
    if ((year | month | day | hour | minute | second) < 0 || hour > 23 || minute > 59 || second > 59) {
      return null;
    }
    int at = 19;
    int nanos = 0;
    if (s.charAt(at) == '.') {
      int start = ++at;
      while (at < n && s.charAt(at) >= '0' && s.charAt(at) <= '9') {
        at++;
      }
      int count = at - start;
      if (count < 1 || count > 9) {
        return null;
      }
      nanos = digits(s, start, count);
      for (int i = count; i < 9; i++) {
        nanos *= 10;
      }
    }
    ZoneOffset offset;
    if (at == n - 1 && s.charAt(at) == 'Z') {
      offset = ZoneOffset.UTC;
    } else if (at == n - 6 && (s.charAt(at) == '+' || s.charAt(at) == '-') && s.charAt(at + 3) == ':') {
      int hours = digits(s, at + 1, 2);
      int minutes = digits(s, at + 4, 2);
      if (hours < 0 || minutes < 0 || hours > 17 || minutes > 59) {
        return null;
      }
      int sign = s.charAt(at) == '-' ? -1 : 1;
      offset = ZoneOffset.ofHoursMinutes(sign * hours, sign * minutes);
    } else {
      return null;
    }
    try {
      return OffsetDateTime.of(year, month, day, hour, minute, second, nanos, offset);
    } catch (DateTimeException notADate) { // month 13, 30 February
      return null;
    }
  }

  /** The non-negative number written by {@code count} ASCII digits at {@code from}, or -1. */
  private static int digits(String s, int from, int count) {
    int value = 0;
    for (int i = from; i < from + count; i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      value = value * 10 + (c - '0');
    }
    return value;
  }
}
