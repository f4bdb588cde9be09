package org.frontline.media;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.Optional;

/**
 * Reads the declared width and height from the header only, without decoding any pixel: JPEG's SOFn segment, PNG's
 * IHDR chunk; for HEIF, each side's largest over every size its {@code meta} box gives an image (HeifSizes).
 */
public final class DimensionReader {

  /** A HEIF {@code meta} box larger than this is not read (it holds item properties, normally a few KiB). */
  static final int MAX_META_BOX = 4 * 1024 * 1024;
  /** JPEG segments walked before the frame header, at most. */
  static final int MAX_JPEG_SEGMENTS = 4096;

  /** Empty when the header declares no readable dimensions (the caller refuses such a file too). */
  public Optional<Dimensions> read(MediaBytes bytes, String contentType) throws IOException {
    try (InputStream in = bytes.open()) {
      return switch (contentType) {
        case MediaSniffer.JPEG -> jpeg(new DataInputStream(new java.io.BufferedInputStream(in)));
        case MediaSniffer.PNG -> png(bytes.read(0, 24));
        case MediaSniffer.HEIC, MediaSniffer.HEIF ->
            heif(new DataInputStream(new java.io.BufferedInputStream(in)), bytes);
        default -> Optional.empty();
      };
    } catch (EOFException truncated) {
      return Optional.empty();
    }
  }

  private static Optional<Dimensions> png(byte[] h) {
    if (h.length < 24 || !new String(h, 12, 4, java.nio.charset.StandardCharsets.ISO_8859_1).equals("IHDR")) {
      return Optional.empty();
    }
    return positive(MediaSniffer.u32(h, 16), MediaSniffer.u32(h, 20));
  }

  private static Optional<Dimensions> jpeg(DataInputStream in) throws IOException {
    if (in.readUnsignedByte() != 0xFF || in.readUnsignedByte() != 0xD8) {
      return Optional.empty();
    }
    for (int segments = 0; segments < MAX_JPEG_SEGMENTS; segments++) {
      int b = in.readUnsignedByte();
      if (b != 0xFF) {
        return Optional.empty();
      }
      int marker;
      do {
        marker = in.readUnsignedByte(); // fill bytes 0xFF may precede a marker
      } while (marker == 0xFF);
      if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
        continue; // stand-alone markers, no length
      }
      if (marker == 0xD9 || marker == 0xDA) {
        return Optional.empty(); // end of image or scan data before any frame header
      }
      int length = in.readUnsignedShort();
      if (length < 2) {
        return Optional.empty();
      }
      if (isStartOfFrame(marker)) {
        in.readUnsignedByte(); // sample precision
        int height = in.readUnsignedShort();
        int width = in.readUnsignedShort();
        return positive(width, height); // height 0 (defined later by DNL) is refused as unreadable
      }
      in.skipNBytes(length - 2);
    }
    return Optional.empty();
  }

  /** SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC). */
  private static boolean isStartOfFrame(int marker) {
    return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
  }

  private static Optional<Dimensions> heif(DataInputStream in, MediaBytes bytes) throws IOException {
    Optional<byte[]> meta = heifMeta(in);
    return meta.isEmpty() ? Optional.empty()
        : HeifSizes.largest(meta.get(), bytes).flatMap(d -> positive(d.width(), d.height()));
  }

  /** The most tiles of a grid image in a HEIF file (HeifSizes.gridTiles); 0 when its meta box cannot be read. */
  static long heifGridTiles(MediaBytes bytes) throws IOException {
    try (InputStream in = bytes.open()) {
      Optional<byte[]> meta = heifMeta(new DataInputStream(new java.io.BufferedInputStream(in)));
      return meta.isEmpty() ? 0 : HeifSizes.gridTiles(meta.get(), bytes);
    } catch (EOFException truncated) {
      return 0;
    }
  }

  /** The body of a HEIF file's {@code meta} box, if found among the first top-level boxes and not too large. */
  private static Optional<byte[]> heifMeta(DataInputStream in) throws IOException {
    // Top-level boxes: ftyp, meta, mdat... The meta box holds iprp/ipco/ispe.
    for (int boxes = 0; boxes < 64; boxes++) {
      long size = in.readInt() & 0xFFFFFFFFL;
      String type = fourcc(in.readInt());
      long header = 8;
      if (size == 1) {
        size = in.readLong();
        header = 16;
      } else if (size == 0) {
        return Optional.empty(); // box to end of file, and no meta seen before it
      }
      if (size < header) {
        return Optional.empty();
      }
      long body = size - header;
      if (type.equals("meta")) {
        if (body > MAX_META_BOX) {
          return Optional.empty();
        }
        byte[] meta = in.readNBytes((int) body);
        return meta.length == body ? Optional.of(meta) : Optional.empty();
      }
      in.skipNBytes(body);
    }
    return Optional.empty();
  }

  private static String fourcc(int v) {
    return new String(new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v},
        java.nio.charset.StandardCharsets.ISO_8859_1);
  }

  private static Optional<Dimensions> positive(long w, long h) {
    return w > 0 && h > 0 ? Optional.of(new Dimensions(w, h)) : Optional.empty();
  }
}
