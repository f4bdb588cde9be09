package org.frontline.media;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * HEIC grids crafted from a single-image HEIC (HeicEncoder's): its HEVC configuration and coded bytes become the
 * tiles of a grid of any rows and columns, one item per tile or one item referenced in every position (one copy of
 * the bytes: the decode work of thousands of tiles in a few KB).
 */
public final class HeicGrid {
  private HeicGrid() {}

  /** A grid of rows x columns tiles of the single-image HEIC {@code tile}, declaring a canvas of width x height. */
  public static byte[] of(byte[] tile, int rows, int columns, int width, int height) {
    return of(tile, rows, columns, width, height, false);
  }

  /** As above; {@code oneItem}: one tile item, referenced by the grid in every position. */
  public static byte[] of(byte[] tile, int rows, int columns, int width, int height, boolean oneItem) {
    long[] extent = null;
    // The tile's hvcC, ispe and coded bytes (the first extent of item 1, the image libheif wrote).
    ByteBuffer meta = child(ByteBuffer.wrap(tile), "meta");
    meta.position(meta.position() + 4);
    ByteBuffer ipco = child(child(meta.duplicate(), "iprp"), "ipco");
    byte[] hvcC = whole(ipco.duplicate(), "hvcC");
    ByteBuffer ispe = child(ipco.duplicate(), "ispe");
    ispe.getInt();
    int tileW = ispe.getInt();
    int tileH = ispe.getInt();
    ByteBuffer iloc = child(meta.duplicate(), "iloc");
    int version = iloc.get();
    iloc.position(iloc.position() + 3);
    int sizes = iloc.getShort() & 0xFFFF;
    int offsetSize = sizes >> 12;
    int lengthSize = (sizes >> 8) & 0xF;
    int baseSize = (sizes >> 4) & 0xF;
    int indexSize = version >= 1 ? sizes & 0xF : 0;
    int items = version < 2 ? iloc.getShort() & 0xFFFF : iloc.getInt();
    for (int i = 0; i < items && extent == null; i++) {
      long id = version < 2 ? iloc.getShort() & 0xFFFF : iloc.getInt();
      if (version >= 1) {
        iloc.getShort();
      }
      iloc.getShort();
      long base = read(iloc, baseSize);
      int extents = iloc.getShort() & 0xFFFF;
      for (int e = 0; e < extents; e++) {
        read(iloc, indexSize);
        long off = read(iloc, offsetSize);
        long len = read(iloc, lengthSize);
        if (id == 1 && extent == null) {
          extent = new long[] {base + off, len};
        }
      }
    }
    byte[] coded = java.util.Arrays.copyOfRange(tile, (int) extent[0], (int) (extent[0] + extent[1]));
    int refs = rows * columns;
    int tiles = oneItem ? 1 : refs;

    ByteArrayOutputStream iinf = new ByteArrayOutputStream();
    iinf.writeBytes(new byte[] {0, 0, 0, 0});
    iinf.writeBytes(u16(tiles + 1));
    iinf.writeBytes(infe(1, "grid"));
    for (int t = 0; t < tiles; t++) {
      iinf.writeBytes(infe(t + 2, "hvc1"));
    }
    ByteArrayOutputStream dimg = new ByteArrayOutputStream();
    dimg.writeBytes(u16(1));
    dimg.writeBytes(u16(refs));
    for (int t = 0; t < refs; t++) {
      dimg.writeBytes(u16(oneItem ? 2 : t + 2));
    }
    ByteArrayOutputStream ipcoOut = new ByteArrayOutputStream();
    ipcoOut.writeBytes(hvcC);
    ipcoOut.writeBytes(ispeBox(tileW, tileH));
    ipcoOut.writeBytes(ispeBox(width, height));
    ByteArrayOutputStream ipma = new ByteArrayOutputStream();
    ipma.writeBytes(new byte[] {0, 0, 0, 0});
    ipma.writeBytes(u32(tiles + 1));
    ipma.writeBytes(u16(1));
    ipma.writeBytes(new byte[] {1, 3});
    for (int t = 0; t < tiles; t++) {
      ipma.writeBytes(u16(t + 2));
      ipma.writeBytes(new byte[] {2, (byte) 0x81, 2});
    }
    byte[] ftyp = box("ftyp", concat("heic".getBytes(StandardCharsets.ISO_8859_1), new byte[4],
        "mif1heic".getBytes(StandardCharsets.ISO_8859_1)));
    byte[] descriptor = concat(new byte[] {0, 0, (byte) (rows - 1), (byte) (columns - 1)}, u16(width), u16(height));
    // iloc: version 0, 4-byte offsets and lengths; the offsets need the meta box's size, which they do not change.
    long mdatData = 0;
    byte[] metaBox = null;
    for (int pass = 0; pass < 2; pass++) {
      ByteArrayOutputStream ilocOut = new ByteArrayOutputStream();
      ilocOut.writeBytes(new byte[] {0, 0, 0, 0, 0x44, 0});
      ilocOut.writeBytes(u16(tiles + 1));
      ilocOut.writeBytes(concat(u16(1), u16(0), u16(1), u32(mdatData), u32(descriptor.length)));
      for (int t = 0; t < tiles; t++) {
        ilocOut.writeBytes(concat(u16(t + 2), u16(0), u16(1), u32(mdatData + descriptor.length), u32(coded.length)));
      }
      metaBox = box("meta", concat(new byte[4],
          box("hdlr", concat(new byte[8], "pict".getBytes(StandardCharsets.ISO_8859_1), new byte[13])),
          box("pitm", concat(new byte[4], u16(1))),
          box("iinf", iinf.toByteArray()),
          box("iref", concat(new byte[4], box("dimg", dimg.toByteArray()))),
          box("iprp", concat(box("ipco", ipcoOut.toByteArray()), box("ipma", ipma.toByteArray()))),
          box("iloc", ilocOut.toByteArray())));
      mdatData = ftyp.length + metaBox.length + 8;
    }
    return concat(ftyp, metaBox, box("mdat", concat(descriptor, coded)));
  }

  private static long read(ByteBuffer b, int size) {
    return switch (size) {
      case 0 -> 0;
      case 4 -> b.getInt() & 0xFFFFFFFFL;
      case 8 -> b.getLong();
      default -> throw new IllegalArgumentException("size " + size);
    };
  }

  /** The body of the first child box of this type (the buffer positioned at the parent's body). */
  private static ByteBuffer child(ByteBuffer b, String type) {
    ByteBuffer whole = ByteBuffer.wrap(whole(b, type));
    whole.position(8);
    return whole.slice();
  }

  private static byte[] whole(ByteBuffer b, String type) {
    while (b.remaining() >= 8) {
      int start = b.position();
      int size = b.getInt();
      byte[] t = new byte[4];
      b.get(t);
      if (new String(t, StandardCharsets.ISO_8859_1).equals(type)) {
        byte[] out = new byte[size];
        b.position(start);
        b.get(out);
        return out;
      }
      b.position(start + size);
    }
    throw new IllegalArgumentException("no " + type + " box");
  }

  private static byte[] infe(int id, String type) {
    return box("infe", concat(new byte[] {2, 0, 0, 0}, u16(id), u16(0), type.getBytes(StandardCharsets.ISO_8859_1),
        new byte[1]));
  }

  private static byte[] ispeBox(int w, int h) {
    return box("ispe", concat(new byte[4], u32(w), u32(h)));
  }

  private static byte[] u16(long v) {
    return new byte[] {(byte) (v >> 8), (byte) v};
  }

  private static byte[] u32(long v) {
    return new byte[] {(byte) (v >> 24), (byte) (v >> 16), (byte) (v >> 8), (byte) v};
  }

  private static byte[] box(String type, byte[] body) {
    return concat(u32(8 + body.length), type.getBytes(StandardCharsets.ISO_8859_1), body);
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }
}
