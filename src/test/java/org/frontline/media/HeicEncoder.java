package org.frontline.media;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Real HEIC files for tests, encoded by the system's libheif (x265), the same library production decodes with:
 * tests that need one call {@link #assumeAvailable()} first, so a machine without libheif skips them and says why.
 */
public final class HeicEncoder {

  /** The encoding half of heif.h. */
  public interface Lib extends Library {
    HeifLibrary.HeifError heif_context_get_encoder_for_format(Pointer context, int format, PointerByReference encoder);

    HeifLibrary.HeifError heif_encoder_set_lossy_quality(Pointer encoder, int quality);

    void heif_encoder_release(Pointer encoder);

    HeifLibrary.HeifError heif_image_create(int width, int height, int colorspace, int chroma,
                                            PointerByReference image);

    HeifLibrary.HeifError heif_image_add_plane(Pointer image, int channel, int width, int height, int bitDepth);

    Pointer heif_image_get_plane(Pointer image, int channel, IntByReference stride);

    void heif_image_release(Pointer image);

    HeifLibrary.HeifError heif_context_encode_image(Pointer context, Pointer image, Pointer encoder, Pointer options,
                                                    PointerByReference handle);

    HeifLibrary.HeifError heif_context_add_exif_metadata(Pointer context, Pointer handle, byte[] data, int size);

    void heif_image_handle_release(Pointer handle);

    Pointer heif_context_alloc();

    void heif_context_free(Pointer context);

    HeifLibrary.HeifError heif_context_write_to_file(Pointer context, String filename);

    int heif_have_encoder_for_format(int format);
  }

  private static final Lib LIB = load();

  private static Lib load() {
    try {
      Lib lib = Native.load("heif", Lib.class);
      return Heif.available() && lib.heif_have_encoder_for_format(HeifLibrary.COMPRESSION_HEVC) != 0 ? lib : null;
    } catch (LinkageError e) { // no libheif, or JNA could not load its own native part: the tests skip
      return null;
    }
  }

  private HeicEncoder() {}

  /** Skips the calling test unless libheif can both encode and decode HEIC here. */
  public static void assumeAvailable() {
    org.junit.jupiter.api.Assumptions.assumeTrue(LIB != null,
        "libheif with HEVC encoding and decoding is not installed (Debian: libheif1)");
  }

  /** The image as a HEIC file (quality 90, 8 bits); {@code exif}: a TIFF-headed EXIF block to attach, or null. */
  public static byte[] heic(BufferedImage img, byte[] exif) {
    return heic(img, exif, 8);
  }

  /** The image as a HEIC file of 8 or 10 bits per sample (10: as HDR phones write them). */
  public static byte[] heic(BufferedImage img, byte[] exif, int bitDepth) {
    assumeAvailable();
    Pointer context = LIB.heif_context_alloc();
    PointerByReference ref = new PointerByReference();
    try {
      check(LIB.heif_context_get_encoder_for_format(context, HeifLibrary.COMPRESSION_HEVC, ref));
      Pointer encoder = ref.getValue();
      try {
        check(LIB.heif_encoder_set_lossy_quality(encoder, 90));
        int w = img.getWidth();
        int h = img.getHeight();
        boolean deep = bitDepth > 8;
        // heif_chroma_interleaved_RRGGBB_LE (14): 16-bit little-endian samples holding bitDepth bits.
        check(LIB.heif_image_create(w, h, HeifLibrary.COLORSPACE_RGB, deep ? 14 : HeifLibrary.CHROMA_INTERLEAVED_RGB,
            ref));
        Pointer image = ref.getValue();
        try {
          check(LIB.heif_image_add_plane(image, HeifLibrary.CHANNEL_INTERLEAVED, w, h, bitDepth));
          IntByReference stride = new IntByReference();
          Pointer plane = LIB.heif_image_get_plane(image, HeifLibrary.CHANNEL_INTERLEAVED, stride);
          int bytes = deep ? 2 : 1;
          byte[] row = new byte[w * 3 * bytes];
          for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
              int rgb = img.getRGB(x, y);
              for (int c = 0; c < 3; c++) {
                int v = (rgb >> (16 - 8 * c)) & 0xFF;
                if (deep) {
                  int scaled = v << (bitDepth - 8) | v >> (16 - bitDepth);
                  row[(x * 3 + c) * 2] = (byte) scaled;
                  row[(x * 3 + c) * 2 + 1] = (byte) (scaled >> 8);
                } else {
                  row[x * 3 + c] = (byte) v;
                }
              }
            }
            plane.write((long) y * stride.getValue(), row, 0, row.length);
          }
          check(LIB.heif_context_encode_image(context, image, encoder, null, ref));
          Pointer handle = ref.getValue();
          if (exif != null) {
            check(LIB.heif_context_add_exif_metadata(context, handle, exif, exif.length));
          }
          LIB.heif_image_handle_release(handle);
        } finally {
          LIB.heif_image_release(image);
        }
      } finally {
        LIB.heif_encoder_release(encoder);
      }
      Path file = Files.createTempFile("frontline-test-", ".heic");
      try {
        check(LIB.heif_context_write_to_file(context, file.toString()));
        return Files.readAllBytes(file);
      } finally {
        Files.deleteIfExists(file);
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } finally {
      LIB.heif_context_free(context);
    }
  }

  private static void check(HeifLibrary.HeifError e) {
    if (e.failed()) {
      throw new IllegalStateException(e.toString());
    }
  }
}
