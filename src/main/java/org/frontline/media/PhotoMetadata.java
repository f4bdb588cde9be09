package org.frontline.media;

import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Optional;

/**
 * What a photo's EXIF says about itself. Every field may be missing: phones strip GPS when location is off, and
 * apps re-encode without EXIF.
 *
 * @param capturedLocal  DateTimeOriginal, a wall-clock time without zone
 * @param captureOffset  OffsetTimeOriginal, when the camera wrote it
 * @param gps            the GPS position, with altitude when present
 * @param make           device make (IFD0 Make)
 * @param model          device model (IFD0 Model)
 * @param orientation    EXIF orientation 1..8 (1 when absent or invalid)
 */
public record PhotoMetadata(
    Optional<LocalDateTime> capturedLocal,
    Optional<ZoneOffset> captureOffset,
    Optional<GpsPosition> gps,
    Optional<String> make,
    Optional<String> model,
    int orientation) {

  public static final PhotoMetadata NONE =
      new PhotoMetadata(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), 1);

  /** A GPS fix from EXIF; {@code altitudeM} is metres above sea level (negative below), when present. */
  public record GpsPosition(double lat, double lon, Optional<Double> altitudeM) {}

  /** The capture instant when the camera recorded its offset. */
  public Optional<OffsetDateTime> capturedAt() {
    return capturedLocal.flatMap(t -> captureOffset.map(t::atOffset));
  }
}
