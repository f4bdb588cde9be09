package org.frontline.media;

import com.sun.jna.Library;
import com.sun.jna.Pointer;
import com.sun.jna.Structure;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;

/**
 * The part of libheif's C API (heif.h, present since libheif 1.13; Debian 12 ships 1.15) that {@link Heif} decodes
 * with. Public only because JNA builds its proxy and structures by reflection; use {@link Heif}.
 */
public interface HeifLibrary extends Library {

  int COLORSPACE_RGB = 1;
  int CHROMA_INTERLEAVED_RGB = 10;
  int CHANNEL_INTERLEAVED = 10;
  int COMPRESSION_HEVC = 1;

  /** {@code struct heif_error}, returned by value; code 0 is success, message is never null. */
  @Structure.FieldOrder({"code", "subcode", "message"})
  class HeifError extends Structure implements Structure.ByValue {
    public int code;
    public int subcode;
    public String message;

    public boolean failed() {
      return code != 0;
    }

    @Override
    public String toString() {
      return "libheif error " + code + "." + subcode + ": " + message;
    }
  }

  String heif_get_version();

  HeifError heif_init(Pointer params);

  /** Non-zero when a decoder for the format is built in or loaded; HEVC (HEIC) is format 1. */
  int heif_have_decoder_for_format(int format);

  Pointer heif_context_alloc();

  void heif_context_free(Pointer context);

  /** Refuses images wider or taller than this before decoding (libheif's own guard, beside {@link PixelCap}). */
  void heif_context_set_maximum_image_size_limit(Pointer context, int maximumWidth);

  void heif_context_set_max_decoding_threads(Pointer context, int maxThreads);

  HeifError heif_context_read_from_memory_without_copy(Pointer context, Pointer memory, long size, Pointer options);

  HeifError heif_context_get_primary_image_handle(Pointer context, PointerByReference handle);

  int heif_image_handle_get_width(Pointer handle);

  int heif_image_handle_get_height(Pointer handle);

  void heif_image_handle_release(Pointer handle);

  /** Decodes with the file's transformations (rotation, mirror, crop) applied: the image as it is meant to be seen. */
  HeifError heif_decode_image(Pointer handle, PointerByReference image, int colorspace, int chroma, Pointer options);

  int heif_image_get_width(Pointer image, int channel);

  int heif_image_get_height(Pointer image, int channel);

  Pointer heif_image_get_plane_readonly(Pointer image, int channel, IntByReference stride);

  void heif_image_release(Pointer image);
}
