package org.frontline.media;

/**
 * One evidence check with the values that decided it, so a supervisor sees why a photo was flagged.
 *
 * @param code      what was checked, e.g. {@code PHOTO_GPS_DISTANCE}
 * @param outcome   passed or flagged
 * @param measured  the measured value in {@code unit}, null when the check measures nothing (a missing field)
 * @param threshold the bound it was held to in {@code unit}, null when none applies
 * @param unit      "m", "s", "bits" or null
 * @param detail    one sentence for people
 * @param otherReport the other report the detail names (exact reuse, near-duplicate), null when none: a reader who
 *                  may not read it is shown the detail without its id
 */
public record EvidenceCheck(String code, Outcome outcome, Double measured, Double threshold, String unit,
    String detail, String otherReport) {

  public enum Outcome { PASSED, FLAGGED }

  public boolean flagged() {
    return outcome == Outcome.FLAGGED;
  }

  static EvidenceCheck of(String code, boolean flagged, Double measured, Double threshold, String unit, String detail) {
    return of(code, flagged, measured, threshold, unit, detail, null);
  }

  static EvidenceCheck of(String code, boolean flagged, Double measured, Double threshold, String unit, String detail,
                          String otherReport) {
    return new EvidenceCheck(code, flagged ? Outcome.FLAGGED : Outcome.PASSED, measured, threshold, unit, detail,
        otherReport);
  }
}
