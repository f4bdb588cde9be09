package org.frontline.media;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class EvidenceChecksTest {

  private final EvidenceChecks checks = new EvidenceChecks(EvidenceThresholds.DEFAULT);
  private final OffsetDateTime capturedAt = OffsetDateTime.of(2026, 11, 20, 14, 10, 0, 0, ZoneOffset.ofHours(2));
  private final Instant receivedAt = capturedAt.toInstant().plusSeconds(120);
  private final ReportLocation here = new ReportLocation(48.4647, 35.0462, 10, false);

  private static PhotoMetadata photo(Double lat, Double lon, LocalDateTime local, ZoneOffset offset) {
    return new PhotoMetadata(Optional.ofNullable(local), Optional.ofNullable(offset),
        lat == null ? Optional.empty() : Optional.of(new PhotoMetadata.GpsPosition(lat, lon, Optional.empty())),
        Optional.empty(), Optional.empty(), 1);
  }

  private static EvidenceCheck find(List<EvidenceCheck> list, String code) {
    return list.stream().filter(c -> c.code().equals(code)).findFirst().orElseThrow();
  }

  @Test
  void haversineOfKnownDistances() {
    // One degree of latitude is about 111.2 km; Kyiv to Lviv about 468 km.
    assertThat(EvidenceChecks.haversineMetres(0, 0, 1, 0)).isCloseTo(111_195, within(10.0));
    assertThat(EvidenceChecks.haversineMetres(50.4501, 30.5234, 49.8397, 24.0297)).isCloseTo(468_000, within(3_000.0));
    assertThat(EvidenceChecks.haversineMetres(10, 20, 10, 20)).isZero();
  }

  @Test
  void photoTakenWhereAndWhenTheReportSaysPasses() {
    List<EvidenceCheck> list = checks.photoChecks(
        photo(48.4650, 35.0465, LocalDateTime.of(2026, 11, 20, 14, 2, 0), ZoneOffset.ofHours(2)), here, capturedAt, receivedAt);
    assertThat(list).extracting(EvidenceCheck::code).containsExactly("PHOTO_GPS_MISSING", "PHOTO_GPS_DISTANCE",
        "PHOTO_TIME_MISSING", "PHOTO_TIME_SKEW", "PHOTO_RECEIPT_SKEW");
    assertThat(list).noneMatch(EvidenceCheck::flagged);
    EvidenceCheck distance = find(list, "PHOTO_GPS_DISTANCE");
    assertThat(distance.measured()).isCloseTo(40.5, within(1.0));
    assertThat(distance.threshold()).isEqualTo(200.0);
    assertThat(distance.unit()).isEqualTo("m");
    EvidenceCheck skew = find(list, "PHOTO_TIME_SKEW");
    assertThat(skew.measured()).isEqualTo(480.0);
    assertThat(skew.threshold()).isEqualTo(3600.0);
  }

  @Test
  void photoFarFromTheReportLocationFlaggedWithItsValues() {
    // About 1.1 km north.
    EvidenceCheck distance = find(checks.photoChecks(photo(48.4747, 35.0462, null, null), here, capturedAt,
        receivedAt), "PHOTO_GPS_DISTANCE");
    assertThat(distance.flagged()).isTrue();
    assertThat(distance.measured()).isCloseTo(1112, within(2.0));
    assertThat(distance.threshold()).isEqualTo(200.0);
    assertThat(distance.detail()).contains("1112 m").contains("allowed 200 m");
  }

  @Test
  void distanceThresholdGrowsWithPoorAccuracy() {
    ReportLocation vague = new ReportLocation(48.4647, 35.0462, 500, false);
    EvidenceCheck distance = find(checks.photoChecks(photo(48.4747, 35.0462, null, null), vague, capturedAt,
        receivedAt), "PHOTO_GPS_DISTANCE");
    assertThat(distance.threshold()).isEqualTo(1500.0);
    assertThat(distance.flagged()).isFalse();
  }

  @Test
  void missingGpsAndTimeFlagged() {
    List<EvidenceCheck> list = checks.photoChecks(PhotoMetadata.NONE, here, capturedAt, receivedAt);
    assertThat(list).extracting(EvidenceCheck::code).containsExactly("PHOTO_GPS_MISSING", "PHOTO_TIME_MISSING");
    assertThat(list).allMatch(EvidenceCheck::flagged);
  }

  @Test
  void photoTimeSkewFlaggedEitherWay() {
    EvidenceCheck before = find(checks.photoChecks(
        photo(null, null, LocalDateTime.of(2026, 11, 20, 9, 0, 0), ZoneOffset.ofHours(2)), here, capturedAt, receivedAt),
        "PHOTO_TIME_SKEW");
    assertThat(before.flagged()).isTrue();
    assertThat(before.measured()).isEqualTo(5 * 3600 + 600.0);
    EvidenceCheck after = find(checks.photoChecks(
        photo(null, null, LocalDateTime.of(2026, 11, 21, 14, 10, 0), ZoneOffset.ofHours(2)), here, capturedAt, receivedAt),
        "PHOTO_TIME_SKEW");
    assertThat(after.flagged()).isTrue();
    assertThat(after.measured()).isEqualTo(-86_400.0);
    assertThat(after.detail()).contains("after");
  }

  @Test
  void photoOffsetIsHonouredAndItsAbsenceAssumesTheReportsOffset() {
    // 13:10 at +01:00 is 14:10 at +02:00: no skew.
    EvidenceCheck withOffset = find(checks.photoChecks(
        photo(null, null, LocalDateTime.of(2026, 11, 20, 13, 10, 0), ZoneOffset.ofHours(1)), here, capturedAt, receivedAt),
        "PHOTO_TIME_SKEW");
    assertThat(withOffset.measured()).isZero();
    EvidenceCheck assumed = find(checks.photoChecks(
        photo(null, null, LocalDateTime.of(2026, 11, 20, 14, 10, 0), null), here, capturedAt, receivedAt), "PHOTO_TIME_SKEW");
    assertThat(assumed.measured()).isZero();
    assertThat(assumed.detail()).contains("assumed +02:00");
    // A phone that sent its capturedAt in UTC: its camera's clock is read in China Standard Time, not in UTC.
    EvidenceCheck utc = find(checks.photoChecks(photo(null, null, LocalDateTime.of(2026, 11, 20, 20, 10, 0), null),
        here, capturedAt.withOffsetSameInstant(ZoneOffset.UTC), receivedAt), "PHOTO_TIME_SKEW");
    assertThat(utc.measured()).isZero();
    assertThat(utc.flagged()).isFalse();
    assertThat(utc.detail()).contains("assumed +08:00");
  }

  @Test
  void mockLocationFlagged() {
    ReportLocation mocked = new ReportLocation(48.4647, 35.0462, 3, true);
    EvidenceCheck mock = find(checks.reportChecks(mocked, capturedAt, capturedAt.toInstant()), "MOCK_LOCATION");
    assertThat(mock.flagged()).isTrue();
    assertThat(find(checks.reportChecks(here, capturedAt, capturedAt.toInstant()), "MOCK_LOCATION").flagged())
        .isFalse();
  }

  @Test
  void captureVersusReceipt() {
    Instant t = capturedAt.toInstant();
    EvidenceCheck queuedADay = find(checks.reportChecks(here, capturedAt, t.plusSeconds(86_400)),
        "CAPTURE_RECEIPT_SKEW");
    assertThat(queuedADay.flagged()).isFalse();
    assertThat(queuedADay.measured()).isEqualTo(86_400.0);
    assertThat(queuedADay.threshold()).isEqualTo(3 * 86_400.0);

    EvidenceCheck queuedAWeek = find(checks.reportChecks(here, capturedAt, t.plusSeconds(7 * 86_400)),
        "CAPTURE_RECEIPT_SKEW");
    assertThat(queuedAWeek.flagged()).isTrue();

    EvidenceCheck clockAhead = find(checks.reportChecks(here, capturedAt, t.minusSeconds(3600)),
        "CAPTURE_RECEIPT_SKEW");
    assertThat(clockAhead.flagged()).isTrue();
    assertThat(clockAhead.measured()).isEqualTo(-3600.0);
    assertThat(clockAhead.threshold()).isEqualTo(-300.0);

    EvidenceCheck slightlyAhead = find(checks.reportChecks(here, capturedAt, t.minusSeconds(60)),
        "CAPTURE_RECEIPT_SKEW");
    assertThat(slightlyAhead.flagged()).isFalse();
  }

  @Test
  void aPhotoTakenAfterTheServerReceivedTheReportIsFlagged() {
    // capturedAt 5 min before receipt, the photo 55 min after capturedAt: both within their bounds, 50 min late.
    Instant received = capturedAt.toInstant().plusSeconds(300);
    PhotoMetadata late = photo(null, null, LocalDateTime.of(2026, 11, 20, 15, 5, 0), ZoneOffset.ofHours(2));
    List<EvidenceCheck> list = checks.photoChecks(late, here, capturedAt, received);
    assertThat(find(list, "PHOTO_TIME_SKEW").flagged()).isFalse();
    EvidenceCheck receipt = find(list, "PHOTO_RECEIPT_SKEW");
    assertThat(receipt.flagged()).isTrue();
    assertThat(receipt.measured()).isEqualTo(-3000.0);
    assertThat(receipt.threshold()).isEqualTo(-300.0);
    assertThat(receipt.detail()).isEqualTo("the photo's capture time is 50 min after the server received the report");
    EvidenceCheck inTime = find(checks.photoChecks(late, here, capturedAt, received.plusSeconds(3600)),
        "PHOTO_RECEIPT_SKEW");
    assertThat(inTime.flagged()).isFalse();
    assertThat(inTime.measured()).isEqualTo(600.0);
  }

  @Test
  void reuseAndNearDuplicateRecords() {
    assertThat(checks.exactReuse(Optional.of(new EvidenceChecks.Reuse("r-1", "a-1", false))).flagged()).isTrue();
    assertThat(checks.exactReuse(Optional.of(new EvidenceChecks.Reuse("r-1", "a-1", true))).flagged()).isTrue();
    assertThat(checks.exactReuse(Optional.empty()).flagged()).isFalse();
    EvidenceCheck near = checks.nearDuplicate(Optional.of(4), Optional.of("r-2"), 64);
    assertThat(near.flagged()).isTrue();
    assertThat(near.measured()).isEqualTo(4.0);
    assertThat(near.threshold()).isEqualTo(6.0);
    assertThat(checks.nearDuplicate(Optional.of(20), Optional.of("r-3"), 64).flagged()).isFalse();
    assertThat(checks.nearDuplicate(Optional.empty(), Optional.empty(), 64).flagged()).isFalse();
    assertThat(checks.nearDuplicate(Optional.empty(), Optional.empty(), 64).detail())
        .isEqualTo("no other photo to compare with");
    EvidenceCheck none = checks.nearDuplicate(Optional.empty(), Optional.empty(), 7);
    assertThat(none.flagged()).isFalse();
    assertThat(none.detail()).isEqualTo("no other photo differs by 7 or fewer of 64 hash bits");
  }

  @Test
  void endToEndFromAPhotoWithExif() throws Exception {
    byte[] photo = new ExifSegment().dateTimeOriginal("2026:11:20 14:05:00").offsetTimeOriginal("+02:00")
        .gps(48.4648, 35.0463).spliceInto(TestImages.jpeg(TestImages.scene(80, 60, 3), 0.8f));
    PhotoMetadata m = new PhotoMetadataReader().read(MediaBytes.of(photo));
    List<EvidenceCheck> list = checks.photoChecks(m, here, capturedAt, receivedAt);
    assertThat(list).noneMatch(EvidenceCheck::flagged);
    assertThat(find(list, "PHOTO_TIME_SKEW").measured()).isEqualTo(300.0);
  }
}
