package org.frontline.media;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Every size a HEIF file's {@code meta} box gives to an image that a decoder would allocate, so that the pixel cap
 * is checked against each: the declared sizes ({@code ispe}), the coded sizes of the HEVC streams (the sequence
 * parameter set in each {@code hvcC}: libde265 allocates its frames from these, whatever {@code ispe} says) and the
 * output size of each grid image (its descriptor, in {@code idat} or in the file: libheif allocates the full canvas
 * from it). A file whose HEVC configuration cannot be read is unreadable, as is one without any {@code ispe}: the
 * caller refuses it rather than let a decoder find out. A grid descriptor that is not within the bytes given adds
 * nothing: with the head of an upload only, it may lie further (the media worker checks again with the whole file
 * before decoding); in a whole file, libheif cannot read it either and decodes nothing.
 */
final class HeifSizes {

  /** A grid's descriptor is at most 12 bytes (version, flags, rows, columns, two 32-bit sides). */
  private static final int GRID_DESCRIPTOR = 12;
  private static final int MAX_DEPTH = 8;
  private static final int NAL_SPS = 33;

  private final List<Dimensions> declared = new ArrayList<>();
  private final List<Dimensions> coded = new ArrayList<>();
  private final Set<Long> gridItems = new HashSet<>();
  private final List<Location> locations = new ArrayList<>();
  /** The most tiles of any grid whose descriptor was read (rows x columns). */
  private long gridTiles;
  private int idatFrom = -1;
  private int idatTo = -1;
  private boolean unreadable;

  private record Location(long item, int method, long offset) {}

  private HeifSizes() {}

  /**
   * The largest width and the largest height over all sizes found (each side's maximum: conservative for grids,
   * thumbnails and auxiliary images alike); empty when the file is unreadable.
   *
   * @param meta the {@code meta} box's body (after its 8-byte header)
   * @param file the whole file, for a grid descriptor stored outside the {@code meta} box
   */
  static Optional<Dimensions> largest(byte[] meta, MediaBytes file) throws IOException {
    HeifSizes sizes = new HeifSizes();
    sizes.walk(meta, 4, meta.length, 0); // meta is a full box: version and flags first
    if (sizes.unreadable || sizes.declared.isEmpty()) {
      return Optional.empty();
    }
    List<Dimensions> all = new ArrayList<>(sizes.declared);
    all.addAll(sizes.coded);
    all.addAll(sizes.grids(meta, file));
    long w = 0;
    long h = 0;
    for (Dimensions d : all) {
      w = Math.max(w, d.width());
      h = Math.max(h, d.height());
    }
    return Optional.of(new Dimensions(w, h));
  }

  /**
   * The most tiles (rows x columns) of a grid image in the file, 0 without one: libheif decodes every tile of the
   * primary grid, one HEVC decode each, whatever the canvas. The descriptor's counts are read, not the grid's item
   * references: one tile item may be referenced in every position.
   */
  static long gridTiles(byte[] meta, MediaBytes file) throws IOException {
    HeifSizes sizes = new HeifSizes();
    sizes.walk(meta, 4, meta.length, 0);
    sizes.grids(meta, file);
    return sizes.gridTiles;
  }

  /** The output sizes of the grid descriptors within the bytes given (and their most tiles, kept). */
  private List<Dimensions> grids(byte[] meta, MediaBytes file) throws IOException {
    List<Dimensions> found = new ArrayList<>();
    for (Location at : locations) {
      if (gridItems.contains(at.item())) {
        grid(at, meta, file).ifPresent(found::add);
      }
    }
    return found;
  }

  private void walk(byte[] b, int from, int to, int depth) {
    int i = from;
    while (depth < MAX_DEPTH && i + 8 <= to) {
      long size = MediaSniffer.u32(b, i);
      String type = new String(b, i + 4, 4, StandardCharsets.ISO_8859_1);
      if (size < 8 || i + size > to) {
        return;
      }
      int end = (int) (i + size);
      int body = i + 8;
      switch (type) {
        case "iprp", "ipco" -> walk(b, body, end, depth + 1);
        case "ispe" -> {
          if (end - body >= 12) {
            declared.add(new Dimensions(MediaSniffer.u32(b, body + 4), MediaSniffer.u32(b, body + 8)));
          }
        }
        case "hvcC" -> hvcc(b, body, end);
        case "iinf" -> iinf(b, body, end);
        case "iloc" -> iloc(new Reader(b, body, end));
        case "idat" -> {
          idatFrom = body;
          idatTo = end;
        }
        default -> { }
      }
      i = end;
    }
  }

  /** Item infos: which items are grids. Only {@code infe} version 2 and 3 name an item type. */
  private void iinf(byte[] b, int from, int to) {
    int version = from < to ? b[from] & 0xFF : 0;
    int i = from + 4 + (version == 0 ? 2 : 4);
    while (i + 8 <= to) {
      long size = MediaSniffer.u32(b, i);
      if (size < 8 || i + size > to) {
        return;
      }
      int end = (int) (i + size);
      if (new String(b, i + 4, 4, StandardCharsets.ISO_8859_1).equals("infe")) {
        Reader infe = new Reader(b, i + 8, end);
        int v = infe.u8();
        infe.skip(3);
        if (v >= 2) {
          long item = v == 2 ? infe.u16() : infe.u32();
          infe.skip(2); // protection index
          if (infe.ok(4) && new String(b, infe.at, 4, StandardCharsets.ISO_8859_1).equals("grid")) {
            gridItems.add(item);
          }
        }
      }
      i = end;
    }
  }

  /** Item locations: where each item's first extent starts. */
  private void iloc(Reader r) {
    int version = r.u8();
    r.skip(3);
    int sizes = r.u16();
    int offsetSize = sizes >>> 12;
    int lengthSize = (sizes >>> 8) & 0xF;
    int baseSize = (sizes >>> 4) & 0xF;
    int indexSize = version == 1 || version == 2 ? sizes & 0xF : 0;
    long count = version < 2 ? r.u16() : r.u32();
    for (long n = 0; n < count && r.ok(1); n++) {
      long item = version < 2 ? r.u16() : r.u32();
      int method = version == 1 || version == 2 ? r.u16() & 0xF : 0;
      r.skip(2); // data reference index
      long base = r.sized(baseSize);
      int extents = r.u16();
      if (extents > 0) { // the first extent is where a descriptor starts; the others are skipped in one go
        r.sized(indexSize);
        long offset = r.sized(offsetSize);
        r.sized(lengthSize);
        if (r.ok(0)) {
          locations.add(new Location(item, method, base + offset));
        }
        r.skip((extents - 1) * (indexSize + offsetSize + lengthSize));
      }
    }
    if (!r.ok(0)) {
      unreadable = true;
    }
  }

  /**
   * The output size a grid descriptor declares (version, flags, rows - 1, columns - 1, then the sides); empty when
   * it is not within the bytes given.
   */
  private Optional<Dimensions> grid(Location at, byte[] meta, MediaBytes file) throws IOException {
    byte[] d;
    if (at.method() == 0) {
      d = file.read(at.offset(), GRID_DESCRIPTOR);
    } else if (at.method() == 1 && idatFrom >= 0 && at.offset() >= 0 && at.offset() < idatTo - idatFrom) {
      int from = (int) (idatFrom + at.offset());
      d = java.util.Arrays.copyOfRange(meta, from, Math.min(idatTo, from + GRID_DESCRIPTOR));
    } else {
      return Optional.empty();
    }
    if (d.length < 8) {
      return Optional.empty();
    }
    gridTiles = Math.max(gridTiles, (long) ((d[2] & 0xFF) + 1) * ((d[3] & 0xFF) + 1));
    boolean wide = (d[1] & 1) != 0;
    if (!wide) {
      return Optional.of(new Dimensions((d[4] & 0xFF) << 8 | d[5] & 0xFF, (d[6] & 0xFF) << 8 | d[7] & 0xFF));
    }
    return d.length < 12 ? Optional.empty()
        : Optional.of(new Dimensions(MediaSniffer.u32(d, 4), MediaSniffer.u32(d, 8)));
  }

  /** An HEVC decoder configuration: the coded size of each sequence parameter set in it. */
  private void hvcc(byte[] b, int from, int to) {
    Reader r = new Reader(b, from, to);
    r.skip(22);
    int arrays = r.u8();
    for (int a = 0; a < arrays; a++) {
      int nalType = r.u8() & 0x3F;
      int nalus = r.u16();
      for (int n = 0; n < nalus; n++) {
        int length = r.u16();
        if (!r.ok(length)) { // also when the count above ran past the box
          unreadable = true;
          return;
        }
        if (nalType == NAL_SPS) {
          Optional<Dimensions> size = spsSize(b, r.at, r.at + length);
          if (size.isEmpty()) {
            unreadable = true;
            return;
          }
          coded.add(size.get());
        }
        r.skip(length);
      }
    }
    if (!r.ok(0)) {
      unreadable = true;
    }
  }

  /** pic_width/height_in_luma_samples of an HEVC sequence parameter set (H.265 7.3.2.2), read up to them. */
  static Optional<Dimensions> spsSize(byte[] b, int from, int to) {
    Bits s = new Bits(unescape(b, from, to));
    s.skip(16); // NAL unit header
    s.skip(4); // sps_video_parameter_set_id
    int maxSubLayersMinus1 = (int) s.read(3);
    s.skip(1); // temporal id nesting
    // profile_tier_level(1, maxSubLayersMinus1): general part, 96 bits
    s.skip(96);
    boolean[] profilePresent = new boolean[maxSubLayersMinus1];
    boolean[] levelPresent = new boolean[maxSubLayersMinus1];
    for (int i = 0; i < maxSubLayersMinus1; i++) {
      profilePresent[i] = s.read(1) == 1;
      levelPresent[i] = s.read(1) == 1;
    }
    if (maxSubLayersMinus1 > 0) {
      s.skip(2 * (8 - maxSubLayersMinus1));
    }
    for (int i = 0; i < maxSubLayersMinus1; i++) {
      s.skip(profilePresent[i] ? 88 : 0);
      s.skip(levelPresent[i] ? 8 : 0);
    }
    s.ue(); // sps_seq_parameter_set_id
    if (s.ue() == 3) { // chroma_format_idc 4:4:4
      s.skip(1); // separate_colour_plane_flag
    }
    long width = s.ue();
    long height = s.ue();
    return s.overrun ? Optional.empty() : Optional.of(new Dimensions(width, height));
  }

  /** The RBSP: a NAL unit without its emulation prevention bytes (00 00 03 → 00 00). */
  private static byte[] unescape(byte[] b, int from, int to) {
    byte[] out = new byte[Math.max(0, to - from)];
    int n = 0;
    int zeros = 0;
    for (int i = from; i < to; i++) {
      int v = b[i] & 0xFF;
      if (zeros >= 2 && v == 3) {
        zeros = 0;
        continue;
      }
      zeros = v == 0 ? zeros + 1 : 0;
      out[n++] = (byte) v;
    }
    return java.util.Arrays.copyOf(out, n);
  }

  /** Big-endian fields within a box; reading past its end marks the reader, and yields zeros. */
  private static final class Reader {
    private final byte[] b;
    private final int to;
    private int at;
    private boolean overrun;

    Reader(byte[] b, int from, int to) {
      this.b = b;
      this.at = from;
      this.to = to;
    }

    boolean ok(int more) {
      return !overrun && at + (long) more <= to;
    }

    void skip(int n) {
      if (!ok(n)) {
        overrun = true;
      }
      at += n;
    }

    long sized(int bytes) {
      long v = 0;
      for (int i = 0; i < bytes; i++) {
        v = v << 8 | u8();
      }
      return v;
    }

    int u8() {
      if (!ok(1)) {
        overrun = true;
        at++;
        return 0;
      }
      return b[at++] & 0xFF;
    }

    int u16() {
      return (int) sized(2);
    }

    long u32() {
      return sized(4);
    }
  }

  /** An RBSP's bits, with Exp-Golomb codes; reading past the end marks it. */
  private static final class Bits {
    private final byte[] b;
    private long bit;
    private boolean overrun;

    Bits(byte[] b) {
      this.b = b;
    }

    void skip(int n) {
      bit += n;
      if (bit > 8L * b.length) {
        overrun = true;
      }
    }

    long read(int n) {
      long v = 0;
      for (int i = 0; i < n; i++) {
        if (bit >= 8L * b.length) {
          overrun = true;
          return 0;
        }
        v = v << 1 | ((b[(int) (bit >>> 3)] >>> (7 - (bit & 7))) & 1);
        bit++;
      }
      return v;
    }

    /** ue(v); more than 31 leading zeros is no valid code for a size. */
    long ue() {
      int zeros = 0;
      while (read(1) == 0) {
        if (overrun || ++zeros > 31) {
          overrun = true;
          return 0;
        }
      }
      return (1L << zeros) - 1 + read(zeros);
    }
  }
}
