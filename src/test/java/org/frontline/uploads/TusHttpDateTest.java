package org.frontline.uploads;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

import static org.assertj.core.api.Assertions.assertThat;

/** Upload-Expires is an RFC 7231 IMF-fixdate (tus 1.0.0): two-digit day, English names, GMT. */
class TusHttpDateTest {
  static final String IMF_FIXDATE = "(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \\d{2} "
      + "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \\d{4} \\d{2}:\\d{2}:\\d{2} GMT";

  @Test
  void daysOneToNineHaveTwoDigits() {
    assertThat(TusUploadHandler.HTTP_DATE.format(Instant.parse("2026-12-01T05:23:58Z")))
        .isEqualTo("Tue, 01 Dec 2026 05:23:58 GMT");
    for (int day = 1; day <= 9; day++) {
      Instant at = Instant.parse("2026-03-0" + day + "T00:00:07Z");
      String text = TusUploadHandler.HTTP_DATE.format(at);
      assertThat(text).matches(IMF_FIXDATE).contains(", 0" + day + " Mar 2026 00:00:07 GMT");
      // What an HTTP date parser reads back is the same instant.
      assertThat(ZonedDateTime.parse(text, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant()).isEqualTo(at);
    }
    assertThat(TusUploadHandler.HTTP_DATE.format(Instant.parse("2026-11-27T23:59:59.999Z")))
        .isEqualTo("Fri, 27 Nov 2026 23:59:59 GMT");
  }

  @Test
  void namesAreEnglishWhateverTheDefaultLocale() {
    Locale before = Locale.getDefault();
    try {
      Locale.setDefault(Locale.CHINA);
      assertThat(TusUploadHandler.HTTP_DATE.format(Instant.parse("2026-01-05T08:00:00Z")))
          .isEqualTo("Mon, 05 Jan 2026 08:00:00 GMT");
    } finally {
      Locale.setDefault(before);
    }
  }
}
