package org.frontline.platform.http;

import io.vertx.json.schema.impl.Format;
import org.junit.jupiter.api.Test;

import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The hand-read common shape never accepts what the contract's format table refuses, nor reads another instant. */
class Rfc3339Test {

  @Test
  void commonShapesAreReadAsTheLibraryReadsThem() {
    for (String s : List.of("2026-11-20T08:30:00Z", "2024-02-29T23:59:59.999999999+08:00", "0001-01-01T00:00:00.5-17:59",
        "9999-12-31T23:59:59.123Z", "2026-11-20T08:30:00-00:00", "2026-11-20T08:30:00.000001+05:30")) {
      OffsetDateTime common = Rfc3339.parseCommon(s);
      assertNotNull(common, s);
      assertEquals(OffsetDateTime.parse(s), common, s);
      assertTrue(Format.fastFormat("date-time", s), s);
    }
  }

  @Test
  void otherShapesAndImpossibleDatesAreLeftToTheGeneralPath() {
    for (String s : List.of("2026-02-29T08:30:00Z", "2026-04-31T08:30:00Z", "2026-13-01T08:30:00Z", "2026-00-10T08:30:00Z",
        "2026-11-20T24:00:00Z", "2026-11-20T08:60:00Z", "2026-11-20T23:59:60Z", "2026-11-20T08:30:00.Z",
        "2026-11-20T08:30:00.1234567890Z", "2026-11-20t08:30:00Z", "2026-11-20T08:30:00z", "2026-11-20 08:30:00Z",
        "2026-11-20T08:30:00+18:00", "2026-11-20T08:30:00+19:00", "2026-11-20T08:30:00+08", "2026-11-20T08:30:00+0800",
        "2026-11-20T08:30Z", "+2026-11-20T08:30:00Z", "2026-11-20T08:30:00", "2026-11-20T08:30:00+08:00[Asia/Shanghai]",
        "2026-11-20T08:30:00Z ", "２０２６-11-20T08:30:00Z", "2026-11-20T08:30:00+08:60")) {
      assertNull(Rfc3339.parseCommon(s), s);
    }
  }

  /** Random strings near the common shape: whatever the hand reading accepts, the library accepts with that value. */
  @Test
  void neverAcceptsWhatTheLibraryRefuses() {
    Random random = new Random(3339);
    String[] offsets = {"Z", "z", "+08:00", "-05:30", "+17:59", "+18:00", "-18:00", "+24:00", "+08", "+0800", "+8:00", ""};
    int accepted = 0;
    for (int i = 0; i < 40_000; i++) {
      StringBuilder b = new StringBuilder();
      b.append(pad(random.nextInt(10_000), 4)).append(random.nextInt(50) == 0 ? '/' : '-')
          .append(pad(random.nextInt(14), 2)).append('-').append(pad(random.nextInt(33), 2))
          .append(random.nextInt(50) == 0 ? 't' : 'T')
          .append(pad(random.nextInt(26), 2)).append(':').append(pad(random.nextInt(62), 2)).append(':')
          .append(pad(random.nextInt(62), 2));
      int fraction = random.nextInt(13) - 1;
      if (fraction >= 0) {
        b.append('.');
        for (int d = 0; d < fraction; d++) {
          b.append((char) ('0' + random.nextInt(10)));
        }
      }
      b.append(offsets[random.nextInt(offsets.length)]);
      String s = b.toString();
      OffsetDateTime common = Rfc3339.parseCommon(s);
      if (common != null) {
        accepted++;
        assertTrue(Format.fastFormat("date-time", s), s);
        assertEquals(OffsetDateTime.parse(s), common, s);
      } else if (Format.fastFormat("date-time", s)) {
        assertGeneralPathOnly(s);
      }
    }
    assertTrue(accepted > 1_000, "the common shape was exercised: " + accepted);
  }

  /** What the hand reading leaves to the general path but the library accepts: only shapes outside the common one. */
  private static void assertGeneralPathOnly(String s) {
    boolean common = s.length() >= 20 && s.charAt(10) == 'T'
        && (s.endsWith("Z") || s.matches(".*[+-](0\\d|1[0-7]):[0-5]\\d")) && s.matches("[0-9T:.+Z-]*")
        && !s.matches(".*\\.\\d{10,}.*") && !s.matches(".*\\.[^0-9].*");
    if (common) {
      try {
        OffsetDateTime.parse(s);
      } catch (DateTimeParseException e) {
        return;
      }
      throw new AssertionError("left to the general path though of the common shape: " + s);
    }
  }

  private static String pad(int value, int width) {
    String s = Integer.toString(value);
    return "0".repeat(Math.max(0, width - s.length())) + s;
  }
}
