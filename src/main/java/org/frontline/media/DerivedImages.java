package org.frontline.media;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Optional;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * The copies served to people: a thumbnail and a display-size JPEG, upright (EXIF orientation applied) and carrying
 * no metadata at all. They are drawn into a fresh raster and written by ImageIO with no metadata object, so no EXIF,
 * GPS, XMP or ICC segment of the original can travel along; only the JFIF header ImageIO always writes remains.
 * Photos smaller than the target are not enlarged. Blocking: run on a worker.
 */
public final class DerivedImages {

  public static final int THUMB_LONG_SIDE = 320;
  public static final int DISPLAY_LONG_SIDE = 1600;
  static final float JPEG_QUALITY = 0.85f;

  /** One derived JPEG. */
  public record Derived(String variant, byte[] jpeg, int width, int height) {
    public String contentType() {
      return MediaSniffer.JPEG;
    }
  }

  /** Both variants of one photo, and its dHash (computed on the upright thumbnail). */
  public record Variants(Derived thumb, Derived display, long dHash) {}

  private final PixelCap cap;

  public DerivedImages(PixelCap cap) {
    this.cap = cap;
  }

  /**
   * Thumbnail and display copy of a JPEG, PNG or (with libheif installed, see {@link Heif}) HEIC/HEIF photo, and its
   * dHash, from one decode; empty for a type not decodable here (HEIC/HEIF without libheif).
   * Throws IOException for a file above the pixel cap or that does not decode.
   */
  public Optional<Variants> derive(MediaBytes bytes, String contentType, int orientation) throws IOException {
    Optional<BufferedImage> decoded = ImageDecoding.decode(bytes, contentType, cap, DISPLAY_LONG_SIDE);
    if (decoded.isEmpty()) {
      return Optional.empty();
    }
    BufferedImage display = ImageDecoding.orient(scaled(decoded.get(), DISPLAY_LONG_SIDE),
        ImageDecoding.orientationToApply(contentType, orientation));
    BufferedImage thumb = scaled(display, THUMB_LONG_SIDE);
    return Optional.of(new Variants(jpeg("thumb", thumb), jpeg("display", display), PerceptualHash.dHash(thumb)));
  }


  /** Scaled down so the long side is at most {@code longSide}, by successive halvings for quality; RGB always. */
  static BufferedImage scaled(BufferedImage src, int longSide) {
    int w = src.getWidth();
    int h = src.getHeight();
    double factor = Math.min(1.0, (double) longSide / Math.max(w, h));
    int targetW = Math.max(1, (int) Math.round(w * factor));
    int targetH = Math.max(1, (int) Math.round(h * factor));
    BufferedImage current = src;
    int cw = w;
    int ch = h;
    do {
      cw = Math.max(targetW, cw / 2 >= targetW ? cw / 2 : targetW);
      ch = Math.max(targetH, ch / 2 >= targetH ? ch / 2 : targetH);
      BufferedImage next = new BufferedImage(cw, ch, BufferedImage.TYPE_INT_RGB);
      Graphics2D g = next.createGraphics();
      g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
      g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
      g.setColor(java.awt.Color.WHITE); // transparent PNG areas become white, not black
      g.fillRect(0, 0, cw, ch);
      g.drawImage(current, 0, 0, cw, ch, null);
      g.dispose();
      current = next;
    } while (cw > targetW || ch > targetH);
    return current;
  }

  private static Derived jpeg(String variant, BufferedImage img) throws IOException {
    ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (MemoryCacheImageOutputStream ios = new MemoryCacheImageOutputStream(out)) {
      writer.setOutput(ios);
      ImageWriteParam p = writer.getDefaultWriteParam();
      p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
      p.setCompressionQuality(JPEG_QUALITY);
      writer.write(null, new IIOImage(img, null, null), p);
    } finally {
      writer.dispose();
    }
    return new Derived(variant, out.toByteArray(), img.getWidth(), img.getHeight());
  }
}
