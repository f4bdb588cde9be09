package org.frontline.media;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.util.Iterator;
import java.util.Optional;
import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Decodes JPEG and PNG with ImageIO, subsampled on read so that memory follows the wanted size and not the photo's:
 * a 48 MP photo wanted at 1600 px decodes into about a 2000 px raster; HEIC/HEIF with libheif ({@link Heif}, when
 * installed; else empty), subsampled as it is copied out of native memory. The pixel cap is checked again from the
 * header first, so no caller can decode a bomb by forgetting it.
 */
final class ImageDecoding {

  /**
   * Scans (SOS markers) a JPEG may have to be decoded. A progressive decoder walks every block of the image once per
   * scan, and a scan of empty blocks takes a few bytes: 1000 of them made a 125 KB file of 16 MP that took ImageIO
   * 110 s, 50 MB days. Cameras and encoders write 1 (baseline) to about 12 (libjpeg's and mozjpeg's progressions).
   */
  static final int MAX_JPEG_SCANS = 100;

  /**
   * Tiles a HEIF grid may have to be decoded. libheif decodes each tile as an HEVC image of its own (about 3 ms for
   * the smallest, 64 x 64, whatever its content) and one tile item may fill every position: a 24 KB file of 110 x
   * 110 such tiles (a 7000 x 7000 canvas, within the pixel cap) took 40 s, and libheif 1.15 cannot be interrupted.
   * Phones write 512-pixel tiles, 192 for 48 MP (256-pixel ones would be about 760 at the 50 MP cap).
   */
  static final int MAX_HEIF_GRID_TILES = 1024;

  private ImageDecoding() {}

  static boolean canDecode(String contentType) {
    return MediaSniffer.JPEG.equals(contentType) || MediaSniffer.PNG.equals(contentType)
        || (isHeif(contentType) && Heif.available());
  }

  private static boolean isHeif(String contentType) {
    return MediaSniffer.HEIC.equals(contentType) || MediaSniffer.HEIF.equals(contentType);
  }

  /**
   * The EXIF orientation still to apply to what {@link #decode} returned. HEIF carries its own rotation and mirror
   * (irot, imir), which libheif has applied; the HEIF standard says the EXIF tag is then not to be applied again
   * (iPhones write both), so for HEIC/HEIF it is 1.
   */
  static int orientationToApply(String contentType, int exifOrientation) {
    return isHeif(contentType) ? 1 : exifOrientation;
  }

  /**
   * @param minLongSide the decoded image keeps at least this many pixels on its long side (when the photo has them)
   */
  static Optional<BufferedImage> decode(MediaBytes bytes, String contentType, PixelCap cap, int minLongSide)
      throws IOException {
    if (!canDecode(contentType)) {
      return Optional.empty();
    }
    PixelCap.Result checked = cap.check(bytes, contentType);
    if (checked instanceof PixelCap.Result.Refused refused) {
      throw new IOException("not decoded: " + refused.reason());
    }
    Dimensions d = ((PixelCap.Result.Within) checked).dimensions();
    int step = (int) Math.max(1, Math.max(d.width(), d.height()) / Math.max(1, minLongSide));
    if (isHeif(contentType)) {
      long tiles = DimensionReader.heifGridTiles(bytes);
      if (tiles > MAX_HEIF_GRID_TILES) {
        throw new IOException("not decoded: a grid of " + tiles + " tiles, above the limit of " + MAX_HEIF_GRID_TILES);
      }
      return Optional.of(Heif.decode(bytes, step, cap));
    }
    if (MediaSniffer.JPEG.equals(contentType)) {
      long scans = jpegScans(bytes);
      if (scans > MAX_JPEG_SCANS) {
        throw new IOException("not decoded: " + scans + " scans, above the limit of " + MAX_JPEG_SCANS);
      }
    }
    try (InputStream in = bytes.open(); ImageInputStream iis = ImageIO.createImageInputStream(in)) {
      Iterator<ImageReader> readers = ImageIO.getImageReaders(iis);
      if (!readers.hasNext()) {
        return Optional.empty();
      }
      ImageReader reader = readers.next();
      try {
        reader.setInput(iis, true, true);
        ImageReadParam param = reader.getDefaultReadParam();
        param.setSourceSubsampling(step, step, 0, 0);
        return Optional.of(reader.read(0, param));
      } finally {
        reader.dispose();
      }
    }
  }

  /**
   * The SOS markers in a JPEG: every 0xFF 0xDA. Entropy-coded data stuffs each 0xFF with 0x00 (or is followed by a
   * restart marker), so there the pair is always a marker; in other segments (EXIF, ICC) it may turn up by chance
   * now and then, or as an embedded thumbnail's own scans, a handful at most.
   */
  static long jpegScans(MediaBytes bytes) throws IOException {
    long scans = 0;
    byte[] buffer = new byte[64 * 1024];
    int previous = 0;
    try (InputStream in = bytes.open()) {
      for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
        for (int i = 0; i < n; i++) {
          int b = buffer[i] & 0xFF;
          if (previous == 0xFF && b == 0xDA) {
            scans++;
          }
          previous = b;
        }
      }
    }
    return scans;
  }

  /** The image as it should be seen, given EXIF orientation 1..8. */
  static BufferedImage orient(BufferedImage src, int orientation) {
    if (orientation <= 1 || orientation > 8) {
      return src;
    }
    int w = src.getWidth();
    int h = src.getHeight();
    boolean swap = orientation >= 5;
    BufferedImage dst = new BufferedImage(swap ? h : w, swap ? w : h, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int rgb = src.getRGB(x, y);
        switch (orientation) {
          case 2 -> dst.setRGB(w - 1 - x, y, rgb);
          case 3 -> dst.setRGB(w - 1 - x, h - 1 - y, rgb);
          case 4 -> dst.setRGB(x, h - 1 - y, rgb);
          case 5 -> dst.setRGB(y, x, rgb);
          case 6 -> dst.setRGB(h - 1 - y, x, rgb);
          case 7 -> dst.setRGB(h - 1 - y, w - 1 - x, rgb);
          default -> dst.setRGB(y, w - 1 - x, rgb); // 8
        }
      }
    }
    return dst;
  }
}
