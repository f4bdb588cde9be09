package org.frontline.media;

import java.awt.Color;
import java.awt.GradientPaint;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/** Photos made in the tests: a "scene" of shapes drawn from a seed, written by ImageIO, plus crafted headers. */
public final class TestImages {

  private TestImages() {}

  public static BufferedImage scene(int width, int height, long seed) {
    BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    Random r = new Random(seed);
    g.setPaint(new GradientPaint(0, 0, new Color(r.nextInt(0xFFFFFF)), width, height, new Color(r.nextInt(0xFFFFFF))));
    g.fillRect(0, 0, width, height);
    for (int i = 0; i < 12; i++) {
      g.setColor(new Color(r.nextInt(0xFFFFFF)));
      int w = width / 8 + r.nextInt(width / 3);
      int h = height / 8 + r.nextInt(height / 3);
      int x = r.nextInt(width - w / 2);
      int y = r.nextInt(height - h / 2);
      if (r.nextBoolean()) {
        g.fillOval(x, y, w, h);
      } else {
        g.fillRect(x, y, w, h);
      }
    }
    g.dispose();
    return img;
  }

  public static byte[] jpeg(BufferedImage img, float quality) {
    try {
      ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      try (MemoryCacheImageOutputStream ios = new MemoryCacheImageOutputStream(out)) {
        writer.setOutput(ios);
        ImageWriteParam p = writer.getDefaultWriteParam();
        p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
        p.setCompressionQuality(quality);
        writer.write(null, new IIOImage(img, null, null), p);
      } finally {
        writer.dispose();
      }
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * A flat progressive JPEG of {@code side} x {@code side} whose last scan (a few bytes) is repeated {@code extra}
   * more times: a valid file (decoders warn at most) that costs a whole image's worth of decoding per scan.
   */
  public static byte[] scanBomb(int side, int extra) {
    try {
      ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      try (MemoryCacheImageOutputStream ios = new MemoryCacheImageOutputStream(out)) {
        writer.setOutput(ios);
        ImageWriteParam p = writer.getDefaultWriteParam();
        p.setProgressiveMode(ImageWriteParam.MODE_DEFAULT);
        writer.write(null, new IIOImage(new BufferedImage(side, side, BufferedImage.TYPE_INT_RGB), null, null), p);
      } finally {
        writer.dispose();
      }
      byte[] jpeg = out.toByteArray();
      int last = -1;
      for (int i = 0; i + 1 < jpeg.length; i++) {
        if ((jpeg[i] & 0xFF) == 0xFF && (jpeg[i + 1] & 0xFF) == 0xDA) {
          last = i;
        }
      }
      int eoi = jpeg.length - 2;
      ByteArrayOutputStream bomb = new ByteArrayOutputStream();
      bomb.write(jpeg, 0, eoi);
      for (int i = 0; i < extra; i++) {
        bomb.write(jpeg, last, eoi - last);
      }
      bomb.write(jpeg, eoi, 2);
      return bomb.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static byte[] png(BufferedImage img) {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ImageIO.write(img, "png", out);
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static BufferedImage resized(BufferedImage src, int width, int height) {
    BufferedImage out = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = out.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
    g.drawImage(src, 0, 0, width, height, null);
    g.dispose();
    return out;
  }

  /** A PNG of signature and IHDR only, declaring any size: a pixel bomb's header. */
  public static byte[] pngHeader(long width, long height) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A});
    byte[] ihdr = new byte[13];
    put32(ihdr, 0, width);
    put32(ihdr, 4, height);
    ihdr[8] = 8; // bit depth
    ihdr[9] = 2; // RGB
    out.writeBytes(chunk("IHDR", ihdr));
    out.writeBytes(chunk("IEND", new byte[0]));
    return out.toByteArray();
  }

  public static byte[] chunk(String type, byte[] data) {
    byte[] c = new byte[12 + data.length];
    put32(c, 0, data.length);
    byte[] t = type.getBytes(StandardCharsets.ISO_8859_1);
    System.arraycopy(t, 0, c, 4, 4);
    System.arraycopy(data, 0, c, 8, data.length);
    java.util.zip.CRC32 crc = new java.util.zip.CRC32();
    crc.update(c, 4, 4 + data.length);
    put32(c, 8 + data.length, crc.getValue());
    return c;
  }

  /** A JPEG of SOI, a comment, SOF0 declaring any size, and EOI: a pixel bomb's header. */
  public static byte[] jpegHeader(int width, int height, int sofMarker) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(new byte[] {(byte) 0xFF, (byte) 0xD8});
    byte[] comment = "made by a test".getBytes(StandardCharsets.US_ASCII);
    out.writeBytes(new byte[] {(byte) 0xFF, (byte) 0xFE, 0, (byte) (comment.length + 2)});
    out.writeBytes(comment);
    out.writeBytes(new byte[] {(byte) 0xFF, (byte) sofMarker, 0, 11, 8,
        (byte) (height >> 8), (byte) height, (byte) (width >> 8), (byte) width, 1, 1, 0x11, 0});
    out.writeBytes(new byte[] {(byte) 0xFF, (byte) 0xD9});
    return out.toByteArray();
  }

  /** A HEIF head: ftyp with the given brands, then meta/iprp/ipco holding one ispe per size pair. */
  public static byte[] heif(String major, String[] compatible, long... sizes) {
    ByteArrayOutputStream ftyp = new ByteArrayOutputStream();
    ftyp.writeBytes(major.getBytes(StandardCharsets.ISO_8859_1));
    ftyp.writeBytes(new byte[4]);
    for (String b : compatible) {
      ftyp.writeBytes(b.getBytes(StandardCharsets.ISO_8859_1));
    }
    ByteArrayOutputStream ipco = new ByteArrayOutputStream();
    for (int i = 0; i + 1 < sizes.length; i += 2) {
      byte[] ispe = new byte[12];
      put32(ispe, 4, sizes[i]);
      put32(ispe, 8, sizes[i + 1]);
      ipco.writeBytes(box("ispe", ispe));
    }
    byte[] iprp = box("iprp", box("ipco", ipco.toByteArray()));
    ByteArrayOutputStream meta = new ByteArrayOutputStream();
    meta.writeBytes(new byte[4]); // version, flags
    meta.writeBytes(box("hdlr", new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 'p', 'i', 'c', 't', 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0}));
    meta.writeBytes(iprp);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(box("ftyp", ftyp.toByteArray()));
    out.writeBytes(box("meta", meta.toByteArray()));
    out.writeBytes(box("mdat", new byte[64]));
    return out.toByteArray();
  }

  public static byte[] box(String type, byte[] body) {
    byte[] b = new byte[8 + body.length];
    put32(b, 0, b.length);
    System.arraycopy(type.getBytes(StandardCharsets.ISO_8859_1), 0, b, 4, 4);
    System.arraycopy(body, 0, b, 8, body.length);
    return b;
  }

  public static void put32(byte[] b, int off, long v) {
    b[off] = (byte) (v >>> 24);
    b[off + 1] = (byte) (v >>> 16);
    b[off + 2] = (byte) (v >>> 8);
    b[off + 3] = (byte) v;
  }

  public static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  public static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }
}
