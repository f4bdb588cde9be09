package org.frontline.media;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.awt.image.BufferedImage;
import java.awt.image.DataBufferInt;
import java.io.IOException;
import java.io.InputStream;
import java.util.Optional;

/**
 * HEIC/HEIF pixels, decoded by the system's libheif (with libde265 for HEVC, as Debian's and Ubuntu's {@code libheif1}
 * package provides) through JNA. ImageIO has no HEIF reader and no Java one is kept up, while libheif is the decoder
 * of GIMP, ImageMagick and libvips, maintained with security updates by the distribution.
 *
 * <p>Optional at run time: without the library (a development machine that lacks it) {@link #available()} is false
 * and HEIC photos get no dHash and no served copies, as before; the start-up log says which. The production image
 * installs it (docker/Dockerfile).
 *
 * <p>Bounds: the caller has checked the declared dimensions against the {@link PixelCap} before (ImageDecoding);
 * libheif is told the same side limit and to decode on the calling thread only (the worker pool bounds how many
 * decode at once). The file is copied once into native memory and the decoded RGB raster (3 bytes per pixel, at most
 * the cap's 50 MP: 150 MB) lives in native memory until the subsampled copy is made: only that copy, near the wanted
 * size, is on the Java heap. Native code reading untrusted bytes can crash the process: the media worker gives up an
 * attachment whose processing never finished after its attempts (EvidenceRepository.claim), so a poisoned photo
 * cannot crash a worker forever.
 */
public final class Heif {
  private static final Logger LOG = LoggerFactory.getLogger(Heif.class);
  private static final HeifLibrary LIB = load("heif");

  private Heif() {}

  /** The library by its name ("heif": libheif.so.1), or null when it cannot be used here (logged). */
  static HeifLibrary load(String name) {
    try {
      HeifLibrary lib = Native.load(name, HeifLibrary.class);
      HeifLibrary.HeifError init = lib.heif_init(null);
      if (init.failed()) {
        LOG.warn("libheif {} failed to initialise ({}): HEIC photos get no dHash and no served copies",
            lib.heif_get_version(), init);
        return null;
      }
      if (lib.heif_have_decoder_for_format(HeifLibrary.COMPRESSION_HEVC) == 0) {
        LOG.warn("libheif {} has no HEVC decoder: HEIC photos get no dHash and no served copies",
            lib.heif_get_version());
        return null;
      }
      LOG.info("HEIC/HEIF decoding by libheif {}", lib.heif_get_version());
      return lib;
    } catch (LinkageError e) { // no libheif, or JNA could not load its own native part
      LOG.warn("libheif not found ({}): HEIC photos get no dHash and no served copies; install libheif1",
          e.getMessage());
      return null;
    }
  }

  /** Whether HEIC/HEIF photos can be decoded here. */
  public static boolean available() {
    return LIB != null;
  }

  /** The libheif version in use, if any. */
  public static Optional<String> version() {
    return available() ? Optional.of(LIB.heif_get_version()) : Optional.empty();
  }

  /**
   * The primary image, as it is meant to be seen (the file's rotation, mirror and crop applied), keeping every
   * {@code step}-th pixel in each direction. The caller has checked the pixel cap. Blocking and CPU-heavy: a worker's.
   *
   * @throws IOException when libheif is absent, or the file does not decode (the message says why)
   */
  static BufferedImage decode(MediaBytes bytes, int step, PixelCap cap) throws IOException {
    if (LIB == null) {
      throw new IOException("HEIC/HEIF decoding is not available (libheif not installed)");
    }
    long size = bytes.size();
    if (size <= 0 || size > Integer.MAX_VALUE) {
      throw new IOException("not decoded: " + size + " bytes");
    }
    try (Memory file = new Memory(size)) {
      copy(bytes, file);
      Pointer context = LIB.heif_context_alloc();
      if (context == null) {
        throw new IOException("not decoded: libheif could not allocate a context");
      }
      try {
        LIB.heif_context_set_maximum_image_size_limit(context, (int) Math.min(Integer.MAX_VALUE, cap.maxSide() + 1));
        LIB.heif_context_set_max_decoding_threads(context, 0);
        check(LIB.heif_context_read_from_memory_without_copy(context, file, size, null));
        PointerByReference handleRef = new PointerByReference();
        check(LIB.heif_context_get_primary_image_handle(context, handleRef));
        Pointer handle = handleRef.getValue();
        try {
          long pixels = (long) LIB.heif_image_handle_get_width(handle) * LIB.heif_image_handle_get_height(handle);
          if (pixels > cap.maxPixels()) {
            throw new IOException("not decoded: " + pixels + " pixels, above the cap of " + cap.maxPixels());
          }
          PointerByReference imageRef = new PointerByReference();
          check(LIB.heif_decode_image(handle, imageRef, HeifLibrary.COLORSPACE_RGB,
              HeifLibrary.CHROMA_INTERLEAVED_RGB, null));
          Pointer image = imageRef.getValue();
          try {
            return subsampled(image, Math.max(1, step));
          } finally {
            LIB.heif_image_release(image);
          }
        } finally {
          LIB.heif_image_handle_release(handle);
        }
      } finally {
        LIB.heif_context_free(context);
      }
    }
  }

  private static void copy(MediaBytes bytes, Memory into) throws IOException {
    byte[] chunk = new byte[64 * 1024];
    long at = 0;
    try (InputStream in = bytes.open()) {
      int n;
      while (at < into.size() && (n = in.read(chunk, 0, (int) Math.min(chunk.length, into.size() - at))) > 0) {
        into.write(at, chunk, 0, n);
        at += n;
      }
    }
    if (at != into.size()) {
      throw new IOException("not decoded: read " + at + " of " + into.size() + " bytes");
    }
  }

  private static BufferedImage subsampled(Pointer image, int step) throws IOException {
    int w = LIB.heif_image_get_width(image, HeifLibrary.CHANNEL_INTERLEAVED);
    int h = LIB.heif_image_get_height(image, HeifLibrary.CHANNEL_INTERLEAVED);
    IntByReference strideRef = new IntByReference();
    Pointer plane = LIB.heif_image_get_plane_readonly(image, HeifLibrary.CHANNEL_INTERLEAVED, strideRef);
    if (w <= 0 || h <= 0 || plane == null) {
      throw new IOException("not decoded: libheif returned no RGB plane");
    }
    long stride = strideRef.getValue();
    int outW = (w + step - 1) / step;
    int outH = (h + step - 1) / step;
    BufferedImage out = new BufferedImage(outW, outH, BufferedImage.TYPE_INT_RGB);
    int[] pixels = ((DataBufferInt) out.getRaster().getDataBuffer()).getData();
    byte[] row = new byte[w * 3];
    for (int y = 0; y < outH; y++) {
      plane.read((long) y * step * stride, row, 0, row.length);
      int o = y * outW;
      for (int x = 0; x < outW; x++) {
        int i = x * step * 3;
        pixels[o + x] = (row[i] & 0xFF) << 16 | (row[i + 1] & 0xFF) << 8 | (row[i + 2] & 0xFF);
      }
    }
    return out;
  }

  private static void check(HeifLibrary.HeifError error) throws IOException {
    if (error.failed()) {
      throw new IOException("not decoded: " + error);
    }
  }
}
