package org.frontline.uploads;

/** The media type of stored bytes from their first bytes (magic numbers), never from what the client said. */
final class ContentSniffer {
  private ContentSniffer() {}

  static String sniff(byte[] head) {
    if (startsWith(head, 0, 0xFF, 0xD8, 0xFF)) {
      return "image/jpeg";
    }
    if (startsWith(head, 0, 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A)) {
      return "image/png";
    }
    if (head.length >= 12 && startsWith(head, 4, 'f', 't', 'y', 'p')) {
      String brand = new String(head, 8, 4, java.nio.charset.StandardCharsets.US_ASCII);
      if (brand.startsWith("hei") || brand.startsWith("hev")) {
        return "image/heic";
      }
      if (brand.equals("mif1") || brand.equals("msf1")) {
        return "image/heif";
      }
    }
    return "application/octet-stream";
  }

  private static boolean startsWith(byte[] head, int at, int... magic) {
    if (head.length < at + magic.length) {
      return false;
    }
    for (int i = 0; i < magic.length; i++) {
      if ((head[at + i] & 0xFF) != magic[i]) {
        return false;
      }
    }
    return true;
  }
}
