package org.frontline.media;

import java.time.Duration;

/**
 * Bounds of the evidence checks.
 *
 * @param minDistanceM    photo GPS may lie this far from the report location whatever the accuracy
 * @param accuracyFactor  ... or this many times the phone's reported accuracy, whichever is larger
 * @param photoSkew       photo time vs the report's capturedAt, either way
 * @param captureAhead    capturedAt later than the server's receipt (a clock ahead)
 * @param captureAge      capturedAt earlier than the receipt (offline queues legitimately hold reports for days)
 * @param nearDuplicateBits dHash Hamming distance at or below which two photos are near-duplicates
 */
public record EvidenceThresholds(double minDistanceM, double accuracyFactor, Duration photoSkew,
    Duration captureAhead, Duration captureAge, int nearDuplicateBits) {

  public static final EvidenceThresholds DEFAULT = new EvidenceThresholds(200, 3, Duration.ofHours(1),
      Duration.ofMinutes(5), Duration.ofDays(3), PerceptualHash.NEAR_DUPLICATE_BITS);

  public double distanceThresholdM(double accuracyM) {
    double acc = Double.isFinite(accuracyM) && accuracyM > 0 ? accuracyM : 0;
    return Math.max(minDistanceM, accuracyFactor * acc);
  }
}
