package org.frontline.media;

import java.io.IOException;
import java.util.Optional;

/**
 * Refuses images whose declared size is beyond what a worker may decode (HTTP 422), before any decoding: a 100 KB
 * PNG can declare 100000 x 100000 pixels and a decoder would try to allocate 40 GB for it.
 *
 * @param maxPixels width x height at most
 * @param maxSide   width and height each at most
 */
public record PixelCap(long maxPixels, long maxSide) {

  /** 50 megapixels (a 48 MP phone sensor fits), and no side above 20000. */
  public static final PixelCap DEFAULT = new PixelCap(50_000_000L, 20_000L);

  public PixelCap {
    if (maxPixels <= 0 || maxSide <= 0) {
      throw new IllegalArgumentException("pixel cap must be positive");
    }
  }

  /** The outcome: within the cap (with the declared size), or refused with the reason. */
  public sealed interface Result {
    record Within(Dimensions dimensions) implements Result {}

    /** {@code dimensions} is empty when the header declares none that can be read. */
    record Refused(String reason, Optional<Dimensions> dimensions) implements Result {}
  }

  public Result check(MediaBytes bytes, String sniffedContentType) throws IOException {
    Optional<Dimensions> declared = new DimensionReader().read(bytes, sniffedContentType);
    if (declared.isEmpty()) {
      return new Result.Refused("image header declares no readable dimensions", declared);
    }
    return check(declared.get());
  }

  public Result check(Dimensions d) {
    if (d.width() > maxSide || d.height() > maxSide) {
      return new Result.Refused("declared size " + d.width() + "x" + d.height() + " exceeds " + maxSide
          + " pixels on a side", Optional.of(d));
    }
    if (d.pixels() > maxPixels) {
      return new Result.Refused("declared size " + d.width() + "x" + d.height() + " = " + d.pixels()
          + " pixels exceeds the cap of " + maxPixels, Optional.of(d));
    }
    return new Result.Within(d);
  }
}
