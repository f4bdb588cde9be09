package org.frontline.media;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Decides a photo's type from its bytes alone (magic numbers); declared content types and filenames are never
 * consulted. Allowed: JPEG, PNG, HEIC/HEIF. Everything else is refused with a reason, and so are polyglots: files
 * that start like an allowed image but carry markup or script in their first 64 KiB, or a ZIP archive's end record
 * in their tail (a JPEG followed by a ZIP opens as either).
 */
public final class MediaSniffer {

  public static final String JPEG = "image/jpeg";
  public static final String PNG = "image/png";
  public static final String HEIC = "image/heic";
  public static final String HEIF = "image/heif";

  /**
   * The name a file is served under: made by the server from the attachment id, the variant and the type (never the
   * client's filename), so it needs no quoting in a Content-Disposition.
   */
  public static String servedName(java.util.UUID attachmentId, String variant, String contentType) {
    return attachmentId + "-" + variant + "." + extension(contentType);
  }

  /** The file name extension of a sniffed type ("bin" for any other). */
  private static String extension(String contentType) {
    return switch (contentType == null ? "" : contentType) {
      case JPEG -> "jpg";
      case PNG -> "png";
      case HEIC -> "heic";
      case HEIF -> "heif";
      default -> "bin";
    };
  }

  /** How much of the head is scanned for embedded markup. */
  static final int HEAD_SCAN = 64 * 1024;
  /** A ZIP end-of-central-directory record lies within the last 22 + 65535 (comment) bytes. */
  static final int TAIL_SCAN = 22 + 65535;

  private static final byte[] PNG_MAGIC = {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  private static final byte[] ZIP_EOCD = {'P', 'K', 0x05, 0x06};
  private static final byte[] ZIP_CEN = {'P', 'K', 0x01, 0x02};
  private static final Set<String> HEIC_BRANDS = Set.of("heic", "heix", "hevc", "hevx");
  private static final Set<String> HEIF_BRANDS = Set.of("mif1", "msf1", "heif");
  private static final Set<String> AVIF_BRANDS = Set.of("avif", "avis");
  /** Lower-case ASCII; matched case-insensitively. Random image data holds such a sequence with negligible odds. */
  private static final List<String> EMBEDDED_MARKUP =
      List.of("<script", "<html", "<?php", "<iframe", "<body", "<!doctype html", "<svg", "%pdf-");

  public SniffResult sniff(MediaBytes bytes) throws IOException {
    long size = bytes.size();
    byte[] head = bytes.read(0, HEAD_SCAN);
    byte[] tail = size <= HEAD_SCAN ? head : bytes.read(Math.max(0, size - TAIL_SCAN), TAIL_SCAN);
    return sniff(head, tail);
  }

  public SniffResult sniff(byte[] wholeFile) {
    return sniff(wholeFile.length <= HEAD_SCAN ? wholeFile : java.util.Arrays.copyOf(wholeFile, HEAD_SCAN),
        wholeFile.length <= TAIL_SCAN
            ? wholeFile
            : java.util.Arrays.copyOfRange(wholeFile, wholeFile.length - TAIL_SCAN, wholeFile.length));
  }

  /**
   * @param head the first bytes of the file (up to 64 KiB)
   * @param tail the last bytes of the file (up to 65557), or the whole file when it is small
   */
  public SniffResult sniff(byte[] head, byte[] tail) {
    if (head.length == 0) {
      return new SniffResult.Refused("empty file");
    }
    String type = imageType(head);
    if (type == null) {
      return new SniffResult.Refused(whatElse(head));
    }
    if (type.startsWith("!")) {
      return new SniffResult.Refused(type.substring(1));
    }
    String markup = findMarkup(head);
    if (markup != null) {
      return new SniffResult.Refused("polyglot: " + type + " containing '" + markup + "' within its first 64 KiB");
    }
    if (hasZipEndRecord(tail)) {
      return new SniffResult.Refused("polyglot: " + type + " with a ZIP archive appended");
    }
    return new SniffResult.Sniffed(type);
  }

  /** The allowed type the magic says, "!reason" for an ISO BMFF file of a refused brand, or null. */
  private static String imageType(byte[] h) {
    if (h.length >= 3 && u8(h, 0) == 0xFF && u8(h, 1) == 0xD8 && u8(h, 2) == 0xFF) {
      return JPEG;
    }
    if (startsWith(h, PNG_MAGIC)) {
      return PNG;
    }
    if (h.length >= 12 && ascii(h, 4, 4).equals("ftyp")) {
      return isoBmffType(h);
    }
    return null;
  }

  private static String isoBmffType(byte[] h) {
    long boxSize = u32(h, 0);
    if (boxSize < 16 || boxSize > 4096 || boxSize > h.length || (boxSize - 16) % 4 != 0) {
      return "!malformed ISO BMFF ftyp box";
    }
    String major = ascii(h, 8, 4);
    boolean avif = AVIF_BRANDS.contains(major);
    boolean heic = HEIC_BRANDS.contains(major);
    boolean heif = HEIF_BRANDS.contains(major);
    for (int i = 16; i + 4 <= boxSize; i += 4) {
      String brand = ascii(h, i, 4);
      avif |= AVIF_BRANDS.contains(brand);
      heic |= HEIC_BRANDS.contains(brand);
      heif |= HEIF_BRANDS.contains(brand);
    }
    // An AVIF brand anywhere (major, or compatible under the generic mif1): AV1 pixels, whatever else is listed.
    if (avif) {
      return "!AVIF is not an allowed photo type";
    }
    if (heic) {
      return HEIC;
    }
    if (heif) {
      return HEIF;
    }
    return "!ISO BMFF file of brand '" + printable(major) + "' (video or other), not a HEIF photo";
  }

  /** Names what a refused file is, for the reason. */
  private static String whatElse(byte[] h) {
    if (startsWithAscii(h, "GIF87a") || startsWithAscii(h, "GIF89a")) {
      return "GIF is not an allowed photo type";
    }
    if (h.length >= 12 && startsWithAscii(h, "RIFF") && ascii(h, 8, 4).equals("WEBP")) {
      return "WebP is not an allowed photo type";
    }
    if (startsWithAscii(h, "%PDF")) {
      return "PDF document";
    }
    if (startsWithAscii(h, "PK\u0003\u0004") || startsWithAscii(h, "PK\u0005\u0006")
        || startsWithAscii(h, "PK\u0007\u0008")) {
      return "ZIP archive";
    }
    if (h.length >= 4 && u8(h, 0) == 0x7F && ascii(h, 1, 3).equals("ELF")) {
      return "executable (ELF)";
    }
    if (startsWithAscii(h, "MZ")) {
      return "executable (PE/DOS)";
    }
    if (h.length >= 4) {
      long m = u32(h, 0);
      if (m == 0xFEEDFACEL || m == 0xFEEDFACFL || m == 0xCEFAEDFEL || m == 0xCFFAEDFEL || m == 0xCAFEBABEL) {
        return "executable (Mach-O or Java class)";
      }
    }
    if (startsWithAscii(h, "#!")) {
      return "script";
    }
    if (startsWithMarkup(h)) {
      return "markup (SVG, XML or HTML)";
    }
    if (startsWithAscii(h, "BM")) {
      return "BMP is not an allowed photo type";
    }
    if (startsWithAscii(h, "II*\u0000") || startsWithAscii(h, "MM\u0000*")) {
      return "TIFF is not an allowed photo type";
    }
    return "unrecognised content: not JPEG, PNG or HEIC/HEIF";
  }

  /** Text whose first visible character is '<', after any BOM (UTF-8/16/32), whitespace and NULs of UTF-16/32. */
  private static boolean startsWithMarkup(byte[] h) {
    int i = 0;
    if (h.length >= 3 && u8(h, 0) == 0xEF && u8(h, 1) == 0xBB && u8(h, 2) == 0xBF) {
      i = 3;
    } else if (h.length >= 2 && ((u8(h, 0) == 0xFE && u8(h, 1) == 0xFF) || (u8(h, 0) == 0xFF && u8(h, 1) == 0xFE))) {
      i = 2;
    }
    for (; i < h.length && i < 4096; i++) {
      int b = u8(h, i);
      if (b == 0 || b == ' ' || b == '\t' || b == '\r' || b == '\n' || b == 0x0C) {
        continue;
      }
      return b == '<';
    }
    return false;
  }

  /**
   * A ZIP end-of-central-directory record as readers find one: the signature followed by a single-disk layout (both
   * disk numbers 0 and the disk's entry count equal to the total, as every appended archive has), or by a comment
   * length that ends exactly at the end of the bytes, or with a central directory header signature where its size
   * says the directory starts. unzip, Python's zipfile and java.util.zip check neither the disk numbers nor the
   * counts, so the single-disk layout alone let an archive with those fields changed through. The bare 4-byte
   * signature alone would turn up by chance in about one photo in 65000 (compressed data is near random); each of
   * the extra conditions makes that ~2^-32 or less.
   */
  static boolean hasZipEndRecord(byte[] tail) {
    for (int i = indexOf(tail, ZIP_EOCD, 0); i >= 0; i = indexOf(tail, ZIP_EOCD, i + 1)) {
      if (i + 22 > tail.length) {
        return false;
      }
      boolean singleDisk = u16le(tail, i + 4) == 0 && u16le(tail, i + 6) == 0
          && u16le(tail, i + 8) == u16le(tail, i + 10);
      boolean commentToEnd = i + 22 + u16le(tail, i + 20) == tail.length;
      long directoryAt = i - u32le(tail, i + 12);
      boolean directoryFound = directoryAt >= 0 && directoryAt < i
          && indexOf(java.util.Arrays.copyOfRange(tail, (int) directoryAt, (int) directoryAt + 4), ZIP_CEN, 0) == 0;
      if (singleDisk || commentToEnd || directoryFound) {
        return true;
      }
    }
    return false;
  }

  private static long u32le(byte[] b, int i) {
    return u16le(b, i) | ((long) u16le(b, i + 2) << 16);
  }

  private static int u16le(byte[] b, int i) {
    return u8(b, i) | (u8(b, i + 1) << 8);
  }

  /**
   * The first marker of {@link #EMBEDDED_MARKUP} (in its order) that {@code head} contains, or null: one pass over
   * the bytes, comparing ASCII case-insensitively only where a marker's first byte ('<' or '%') stands (this runs on
   * every upload's head).
   */
  private static String findMarkup(byte[] head) {
    int best = EMBEDDED_MARKUP.size();
    for (int i = 0; i < head.length && best > 0; i++) {
      byte b = head[i];
      if (b != '<' && b != '%') {
        continue;
      }
      for (int m = 0; m < best; m++) {
        if (matchesIgnoreCase(head, i, MARKUP_BYTES.get(m))) {
          best = m;
        }
      }
    }
    return best < EMBEDDED_MARKUP.size() ? EMBEDDED_MARKUP.get(best) : null;
  }

  private static final List<byte[]> MARKUP_BYTES = EMBEDDED_MARKUP.stream()
      .map(m -> m.getBytes(StandardCharsets.US_ASCII)).toList();

  /** Whether {@code lowerNeedle} (lower-case ASCII) stands at {@code at}, ignoring ASCII case. */
  private static boolean matchesIgnoreCase(byte[] haystack, int at, byte[] lowerNeedle) {
    if (at + lowerNeedle.length > haystack.length) {
      return false;
    }
    for (int j = 0; j < lowerNeedle.length; j++) {
      int b = haystack[at + j];
      if (b >= 'A' && b <= 'Z') {
        b += 'a' - 'A';
      }
      if (b != lowerNeedle[j]) {
        return false;
      }
    }
    return true;
  }

  static int indexOf(byte[] haystack, byte[] needle, int from) {
    outer:
    for (int i = Math.max(0, from); i <= haystack.length - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  private static boolean startsWith(byte[] h, byte[] magic) {
    return h.length >= magic.length && indexOf(java.util.Arrays.copyOf(h, magic.length), magic, 0) == 0;
  }

  private static boolean startsWithAscii(byte[] h, String magic) {
    return startsWith(h, magic.getBytes(StandardCharsets.ISO_8859_1));
  }

  private static String ascii(byte[] h, int off, int len) {
    return new String(h, off, len, StandardCharsets.ISO_8859_1);
  }

  private static String printable(String s) {
    return s.replaceAll("[^\\x20-\\x7E]", "?");
  }

  static int u8(byte[] b, int i) {
    return b[i] & 0xFF;
  }

  static long u32(byte[] b, int i) {
    return ((long) u8(b, i) << 24) | (u8(b, i + 1) << 16) | (u8(b, i + 2) << 8) | u8(b, i + 3);
  }
}
