package org.frontline.media;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Computes the evidence checks of a report and of each of its photos; every check is recorded, passed or flagged,
 * with its measured value and threshold. The report-level checks (mock location, capturedAt vs receipt) run once per
 * report; the photo checks once per photo. Exact SHA-256 reuse and near-duplicates need the database: their
 * records are made by {@link #exactReuse} and {@link #nearDuplicate} once the caller has looked the others up.
 */
public final class EvidenceChecks {

  public static final String MOCK_LOCATION = "MOCK_LOCATION";
  public static final String CAPTURE_RECEIPT_SKEW = "CAPTURE_RECEIPT_SKEW";
  public static final String PHOTO_GPS_MISSING = "PHOTO_GPS_MISSING";
  public static final String PHOTO_GPS_DISTANCE = "PHOTO_GPS_DISTANCE";
  public static final String PHOTO_TIME_MISSING = "PHOTO_TIME_MISSING";
  public static final String PHOTO_TIME_SKEW = "PHOTO_TIME_SKEW";
  /** The photo's capture time against the server's receipt of the report (same bounds as CAPTURE_RECEIPT_SKEW). */
  public static final String PHOTO_RECEIPT_SKEW = "PHOTO_RECEIPT_SKEW";
  public static final String EXACT_REUSE = "EXACT_REUSE";
  public static final String NEAR_DUPLICATE = "NEAR_DUPLICATE";
  /** A stored photo whose checks could not run (its processing FAILED): always flagged. */
  public static final String PHOTO_CHECKS_UNAVAILABLE = "PHOTO_CHECKS_UNAVAILABLE";
  /** A stored photo whose pixels were not decoded: no near-duplicate comparison, no served copies; always flagged. */
  public static final String NEAR_DUPLICATE_UNAVAILABLE = "NEAR_DUPLICATE_UNAVAILABLE";

  private static final double EARTH_RADIUS_M = 6_371_008.8; // mean radius (IUGG)
  /** Where the officers work (China Standard Time, as the service reckons local days): a UTC phone's assumed zone. */
  static final ZoneId LOCAL_ZONE = ZoneId.of("Asia/Shanghai");

  private final EvidenceThresholds thresholds;

  public EvidenceChecks(EvidenceThresholds thresholds) {
    this.thresholds = Objects.requireNonNull(thresholds, "thresholds");
  }

  public EvidenceThresholds thresholds() {
    return thresholds;
  }

  /** Checks of the report itself: the phone's mock-location flag, and capturedAt against the server's receipt. */
  public List<EvidenceCheck> reportChecks(ReportLocation location, OffsetDateTime capturedAt, Instant receivedAt) {
    List<EvidenceCheck> checks = new ArrayList<>();
    checks.add(EvidenceCheck.of(MOCK_LOCATION, location.mock(), null, null, null,
        location.mock() ? "the phone reported a mock (simulated) location" : "the phone reported a real location"));
    checks.add(receiptSkew(CAPTURE_RECEIPT_SKEW, capturedAt.toInstant(), receivedAt, "capturedAt"));
    return checks;
  }

  /**
   * A time the phone gave ({@code what}) against the server's receipt. Positive: before receipt (normal, queued
   * offline; at most {@code captureAge}); negative: after it, a clock ahead or a time made up (at most
   * {@code captureAhead}).
   */
  private EvidenceCheck receiptSkew(String code, Instant at, Instant receivedAt, String what) {
    double lag = seconds(Duration.between(at, receivedAt));
    if (lag < 0) {
      double bound = seconds(thresholds.captureAhead());
      return EvidenceCheck.of(code, -lag > bound, lag, -bound, "s",
          what + " is " + human(-lag) + " after the server received the report");
    }
    double bound = seconds(thresholds.captureAge());
    return EvidenceCheck.of(code, lag > bound, lag, bound, "s",
        "the server received the report " + human(lag) + " after " + what);
  }

  /**
   * Checks of one photo's EXIF against the report: GPS distance, capture time against capturedAt and against the
   * server's receipt (capturedAt within its bounds and the photo within an hour of it still let a photo be taken an
   * hour after the server received the report).
   */
  public List<EvidenceCheck> photoChecks(PhotoMetadata photo, ReportLocation location, OffsetDateTime capturedAt,
                                         Instant receivedAt) {
    List<EvidenceCheck> checks = new ArrayList<>();
    Optional<PhotoMetadata.GpsPosition> gps = photo.gps();
    checks.add(EvidenceCheck.of(PHOTO_GPS_MISSING, gps.isEmpty(), null, null, null,
        gps.isEmpty() ? "the photo carries no GPS position" : "the photo carries a GPS position"));
    gps.ifPresent(at -> {
      double metres = haversineMetres(at.lat(), at.lon(), location.lat(), location.lon());
      double bound = thresholds.distanceThresholdM(location.accuracyM());
      // The distance as `measured` gives it (to the decimetre): in whole metres, a photo 200.3 m away read
      // "taken 200 m ... (allowed 200 m)" on a flagged check.
      checks.add(EvidenceCheck.of(PHOTO_GPS_DISTANCE, metres > bound, round(metres), bound, "m",
          "the photo was taken " + trim(round(metres)) + " m from the report location (allowed "
              + Math.round(bound) + " m: max(" + Math.round(thresholds.minDistanceM()) + " m, "
              + trim(thresholds.accuracyFactor()) + " x accuracy " + Math.round(location.accuracyM()) + " m))"));
    });

    checks.add(EvidenceCheck.of(PHOTO_TIME_MISSING, photo.capturedLocal().isEmpty(), null, null, null,
        photo.capturedLocal().isEmpty() ? "the photo carries no capture time" : "the photo carries a capture time"));
    photo.capturedLocal().ifPresent(local -> {
      // Without OffsetTimeOriginal the camera's wall clock is read in the zone of the phone: the offset it sent
      // capturedAt with, unless that is UTC (many apps send UTC): then the zone the officers work in.
      boolean assumed = photo.captureOffset().isEmpty();
      ZoneOffset phone = capturedAt.getOffset().equals(ZoneOffset.UTC)
          ? LOCAL_ZONE.getRules().getOffset(capturedAt.toInstant()) : capturedAt.getOffset();
      ZoneOffset zone = photo.captureOffset().orElse(phone);
      OffsetDateTime taken = local.atOffset(zone);
      double skew = seconds(Duration.between(taken.toInstant(), capturedAt.toInstant()));
      double bound = seconds(thresholds.photoSkew());
      checks.add(EvidenceCheck.of(PHOTO_TIME_SKEW, Math.abs(skew) > bound, skew, bound, "s",
          "the photo was taken " + human(Math.abs(skew)) + (skew >= 0 ? " before" : " after")
              + " the report's capturedAt" + (assumed ? " (photo time zone assumed " + zone + ")"
              : "")));
      checks.add(receiptSkew(PHOTO_RECEIPT_SKEW, taken.toInstant(), receivedAt, "the photo's capture time"
          + (assumed ? " (time zone assumed " + zone + ")" : "")));
    });
    return checks;
  }

  /** Another stored photo with the same bytes: of another report, or another photo of the same report. */
  public record Reuse(String reportId, String attachmentId, boolean sameReport) {}

  /**
   * The same SHA-256 already stored on another report, or twice in this one (one picture counted as two pieces of
   * evidence): always flagged when there is one. Another report is named first when there is one.
   */
  public EvidenceCheck exactReuse(Optional<Reuse> reuse) {
    if (reuse.isPresent() && reuse.get().sameReport()) {
      return EvidenceCheck.of(EXACT_REUSE, true, null, null, null,
          "the same file is attached to this report twice (attachment " + reuse.get().attachmentId() + ")", null);
    }
    return EvidenceCheck.of(EXACT_REUSE, reuse.isPresent(), null, null, null,
        reuse.map(r -> "the same file was already submitted with report " + r.reportId())
            .orElse("no other report or photo of this one carries the same file"),
        reuse.map(Reuse::reportId).orElse(null));
  }

  /**
   * The photo could not be checked at all (its media processing FAILED): none of its checks exist, so a supervisor is
   * told, and the report flagged, rather than left to read the absence of checks as a clean photo.
   */
  public EvidenceCheck checksUnavailable(String why) {
    return EvidenceCheck.of(PHOTO_CHECKS_UNAVAILABLE, true, null, null, null,
        "the evidence checks of this photo could not run: " + why);
  }

  /**
   * The photo's pixels were not decoded (the media worker does not decode some files on purpose: a HEIF grid of too
   * many tiles, a JPEG of too many scans, pixels above the cap; or cannot: a corrupt file, no decoder here), so it has
   * no dHash to compare and no served copies. Flagged, so that such a photo cannot pass for one compared and found
   * unique: a crafted file would otherwise evade the near-duplicate check unseen.
   */
  public EvidenceCheck nearDuplicateUnavailable(String why) {
    return EvidenceCheck.of(NEAR_DUPLICATE_UNAVAILABLE, true, null, null, null,
        "the photo's pixels were not decoded, so it could not be compared with other photos for near-duplicates"
            + " and no served copies were made: " + why);
  }

  /** The dHash distance at or below which a photo is a near-duplicate. */
  public int nearDuplicateBits() {
    return thresholds.nearDuplicateBits();
  }

  /**
   * The nearest photo by dHash among those the caller looked up within {@code searchedBits} (64: all of them);
   * empty when there was none.
   */
  public EvidenceCheck nearDuplicate(Optional<Integer> nearestDistance, Optional<String> nearestReport,
                                     int searchedBits) {
    double bound = thresholds.nearDuplicateBits();
    if (nearestDistance.isEmpty()) {
      return EvidenceCheck.of(NEAR_DUPLICATE, false, null, bound, "bits", searchedBits >= PerceptualHash.BITS
          ? "no other photo to compare with"
          : "no other photo differs by " + searchedBits + " or fewer of 64 hash bits");
    }
    int d = nearestDistance.get();
    return EvidenceCheck.of(NEAR_DUPLICATE, d <= bound, (double) d, bound, "bits",
        "the most similar photo" + nearestReport.map(r -> " (report " + r + ")").orElse("") + " differs by " + d
            + " of 64 hash bits", nearestReport.orElse(null));
  }

  /** Great-circle distance in metres (haversine, mean Earth radius). */
  public static double haversineMetres(double lat1, double lon1, double lat2, double lon2) {
    double p1 = Math.toRadians(lat1);
    double p2 = Math.toRadians(lat2);
    double dp = p2 - p1;
    double dl = Math.toRadians(lon2 - lon1);
    double a = Math.sin(dp / 2) * Math.sin(dp / 2) + Math.cos(p1) * Math.cos(p2) * Math.sin(dl / 2) * Math.sin(dl / 2);
    return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
  }

  private static double seconds(Duration d) {
    return d.toMillis() / 1000.0;
  }

  private static double round(double metres) {
    return Math.round(metres * 10) / 10.0;
  }

  private static String trim(double v) {
    return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
  }

  private static String human(double seconds) {
    long s = Math.round(seconds);
    if (s < 120) {
      return s + " s";
    }
    if (s < 7200) {
      return (s / 60) + " min";
    }
    if (s < 172_800) {
      return (s / 3600) + " h";
    }
    return (s / 86_400) + " days";
  }
}
