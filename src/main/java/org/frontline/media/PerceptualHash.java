package org.frontline.media;

import java.awt.image.BufferedImage;

/**
 * dHash: the photo shrunk to 9x8 grey cells (area averages), one bit per pair of horizontally adjacent cells (set when
 * the left one is brighter). Re-encoding, resizing and mild colour changes keep most bits; another scene does not.
 * Computed on the image as seen (EXIF orientation applied), so a rotated re-save of the same photo still matches; a
 * HEIC and a JPEG of one scene match too.
 */
public final class PerceptualHash {

  /** Hamming distance at or below which two photos count as near-duplicates. */
  public static final int NEAR_DUPLICATE_BITS = 6;
  /** The hash's length in bits. */
  public static final int BITS = 64;
  private PerceptualHash() {}

  /**
   * The 64-bit dHash of an image as seen (upright). The media worker hashes the thumbnail it makes anyway
   * ({@link DerivedImages.Variants#dHash()}): one decode per photo for both, and 320 px are far more than 72 cells need.
   */
  public static long dHash(BufferedImage img) {
    int w = img.getWidth();
    int h = img.getHeight();
    double[][] sum = new double[8][9];
    long[][] count = new long[8][9];
    for (int y = 0; y < h; y++) {
      int cy = (int) ((long) y * 8 / h);
      for (int x = 0; x < w; x++) {
        int cx = (int) ((long) x * 9 / w);
        int rgb = img.getRGB(x, y);
        sum[cy][cx] += 0.299 * ((rgb >> 16) & 0xFF) + 0.587 * ((rgb >> 8) & 0xFF) + 0.114 * (rgb & 0xFF);
        count[cy][cx]++;
      }
    }
    long bits = 0;
    for (int y = 0; y < 8; y++) {
      for (int x = 0; x < 8; x++) {
        double left = sum[y][x] / Math.max(1, count[y][x]);
        double right = sum[y][x + 1] / Math.max(1, count[y][x + 1]);
        bits = (bits << 1) | (left > right ? 1 : 0);
      }
    }
    return bits;
  }

  public static int hammingDistance(long a, long b) {
    return Long.bitCount(a ^ b);
  }

  public static boolean nearDuplicate(long a, long b) {
    return nearDuplicate(a, b, NEAR_DUPLICATE_BITS);
  }

  public static boolean nearDuplicate(long a, long b, int maxBits) {
    return hammingDistance(a, b) <= maxBits;
  }
}
