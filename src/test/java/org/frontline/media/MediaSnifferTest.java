package org.frontline.media;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.media.TestImages.ascii;
import static org.frontline.media.TestImages.concat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MediaSnifferTest {

  private final MediaSniffer sniffer = new MediaSniffer();
  private final byte[] jpeg = TestImages.jpeg(TestImages.scene(64, 48, 1), 0.9f);

  private SniffResult sniff(byte[] bytes) throws IOException {
    return sniffer.sniff(MediaBytes.of(bytes));
  }

  private void assertRefused(byte[] bytes, String reasonPart) throws IOException {
    SniffResult r = sniff(bytes);
    assertThat(r).isInstanceOf(SniffResult.Refused.class);
    assertThat(((SniffResult.Refused) r).reason()).contains(reasonPart);
  }

  @Test
  void jpegFromTheBytes() throws IOException {
    assertThat(sniff(jpeg)).isEqualTo(new SniffResult.Sniffed("image/jpeg"));
  }

  @Test
  void pngFromTheBytes() throws IOException {
    assertThat(sniff(TestImages.png(TestImages.scene(32, 32, 2)))).isEqualTo(new SniffResult.Sniffed("image/png"));
  }

  @Test
  void heicByMajorBrand() throws IOException {
    assertThat(sniff(TestImages.heif("heic", new String[] {"mif1", "heic"}, 4032, 3024)))
        .isEqualTo(new SniffResult.Sniffed("image/heic"));
  }

  @Test
  void heifByCompatibleBrand() throws IOException {
    assertThat(sniff(TestImages.heif("zzzz", new String[] {"mif1"}, 100, 100)))
        .isEqualTo(new SniffResult.Sniffed("image/heif"));
    assertThat(sniff(TestImages.heif("mif1", new String[] {"hevc"}, 100, 100)))
        .isEqualTo(new SniffResult.Sniffed("image/heic"));
  }

  @Test
  void videoAndAvifInIsoBmffRefused() throws IOException {
    assertRefused(TestImages.heif("isom", new String[] {"isom", "mp42"}, 100, 100), "not a HEIF photo");
    assertRefused(TestImages.heif("avif", new String[] {"mif1", "miaf"}, 100, 100), "AVIF");
    // The major brand may be the generic mif1 with avif among the compatible ones (the image is AV1 all the same).
    assertRefused(TestImages.heif("mif1", new String[] {"mif1", "avif", "miaf"}, 100, 100), "AVIF");
    assertRefused(TestImages.heif("mif1", new String[] {"mif1", "avis"}, 100, 100), "AVIF");
    assertRefused(TestImages.heif("heic", new String[] {"mif1", "heic", "avif"}, 100, 100), "AVIF");
  }

  @Test
  void fromAFileSource(@TempDir Path dir) throws IOException {
    Path f = dir.resolve("photo.svg"); // the name says SVG; the bytes say JPEG
    Files.write(f, jpeg);
    assertThat(sniffer.sniff(MediaBytes.of(f))).isEqualTo(new SniffResult.Sniffed("image/jpeg"));
  }

  @Test
  void svgRefused() throws IOException {
    assertRefused(ascii("<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>"), "markup");
  }

  @Test
  void xmlWithBomAndWhitespaceRefused() throws IOException {
    assertRefused(concat(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF}, ascii(" \r\n\t<?xml version=\"1.0\"?><svg/>")),
        "markup");
  }

  @Test
  void utf16HtmlRefused() throws IOException {
    assertRefused(concat(new byte[] {(byte) 0xFF, (byte) 0xFE}, "<html>".getBytes(java.nio.charset.StandardCharsets.UTF_16LE)),
        "markup");
  }

  @Test
  void htmlRefused() throws IOException {
    assertRefused(ascii("\n\n<!DOCTYPE html><html><body>hi</body></html>"), "markup");
  }

  @Test
  void pdfRefused() throws IOException {
    assertRefused(ascii("%PDF-1.7\n1 0 obj\n<<>>\nendobj\n"), "PDF");
  }

  @Test
  void zipRefused() throws IOException {
    assertRefused(zip(), "ZIP archive");
  }

  @Test
  void elfRefused() throws IOException {
    assertRefused(concat(new byte[] {0x7F, 'E', 'L', 'F', 2, 1, 1, 0}, new byte[56]), "ELF");
  }

  @Test
  void peRefused() throws IOException {
    assertRefused(concat(ascii("MZ"), new byte[62]), "PE");
  }

  @Test
  void machORefused() throws IOException {
    assertRefused(new byte[] {(byte) 0xCF, (byte) 0xFA, (byte) 0xED, (byte) 0xFE, 7, 0, 0, 1}, "Mach-O");
  }

  @Test
  void gifRefused() throws IOException {
    assertRefused(ascii("GIF89a\u0001\u0000\u0001\u0000\u0000\u0000\u0000;"), "GIF");
  }

  @Test
  void webpRefused() throws IOException {
    assertRefused(concat(ascii("RIFF"), new byte[] {26, 0, 0, 0}, ascii("WEBPVP8 "), new byte[14]), "WebP");
  }

  @Test
  void emptyAndUnknownRefused() throws IOException {
    assertRefused(new byte[0], "empty");
    assertRefused(ascii("just some text"), "unrecognised");
  }

  @Test
  void jpegWithHtmlPayloadRefused() throws IOException {
    // A comment segment right after SOI carrying a page: the file is a valid JPEG and a browser-sniffable page.
    byte[] payload = ascii("<html><script>fetch('/steal')</script></html>");
    byte[] com = concat(new byte[] {(byte) 0xFF, (byte) 0xFE, 0, (byte) (payload.length + 2)}, payload);
    byte[] polyglot = concat(new byte[] {(byte) 0xFF, (byte) 0xD8}, com, java.util.Arrays.copyOfRange(jpeg, 2, jpeg.length));
    assertRefused(polyglot, "polyglot: image/jpeg containing '<script'");
  }

  @Test
  void pngWithPhpPayloadRefused() throws IOException {
    assertRefused(concat(TestImages.png(TestImages.scene(16, 16, 3)), ascii("<?php system($_GET['c']); ?>")),
        "<?php");
  }

  @Test
  void jpegWithZipAppendedRefused() throws IOException {
    assertRefused(concat(jpeg, zip()), "ZIP archive appended");
  }

  @Test
  void anAppendedZipWhoseEndRecordClaimsAnotherDiskOrOtherCountsIsStillFound() throws IOException {
    // unzip, Python's zipfile and java.util.zip open these all the same: they check neither field.
    byte[] multiDisk = zip();
    int end = multiDisk.length - 22;
    multiDisk[end + 4] = 1; // this disk's number
    multiDisk[end + 6] = 1; // the central directory's disk
    assertRefused(concat(jpeg, multiDisk), "ZIP archive appended");
    byte[] counts = zip();
    counts[end + 8] = 0; // entries on this disk, the total left at 1
    assertRefused(concat(jpeg, counts), "ZIP archive appended");
    // Bytes after the comment: java.util.zip finds the archive by its central directory instead.
    assertRefused(concat(jpeg, multiDisk, new byte[] {1, 2, 3}), "ZIP archive appended");
  }

  @Test
  void aStrayZipSignatureInImageDataIsNotAnArchive() throws IOException {
    // The 4 signature bytes by chance in compressed data, followed by anything but a single-disk layout.
    byte[] stray = concat(ascii("PK"), new byte[] {5, 6, 7, 1, 3, 0, 9, 9, 1, 1}, new byte[12]);
    byte[] jpegWithStray = concat(java.util.Arrays.copyOf(jpeg, jpeg.length - 2), stray, new byte[] {(byte) 0xFF,
        (byte) 0xD9});
    assertThat(sniff(jpegWithStray)).isEqualTo(new SniffResult.Sniffed("image/jpeg"));
  }

  @Test
  void anEmptyZipAppendedIsFound() throws IOException {
    byte[] emptyZip = concat(ascii("PK"), new byte[] {5, 6}, new byte[18]);
    assertRefused(concat(jpeg, emptyZip), "ZIP archive appended");
  }

  @Test
  void zipTrailerBeyondTheHeadScanIsStillFound() throws IOException {
    byte[] big = TestImages.jpeg(TestImages.scene(1200, 900, 4), 0.95f);
    byte[] polyglot = concat(big, new byte[200_000], zip());
    assertThat(polyglot.length).isGreaterThan(MediaSniffer.HEAD_SCAN + MediaSniffer.TAIL_SCAN);
    assertRefused(polyglot, "ZIP archive appended");
  }

  private static byte[] zip() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ZipOutputStream z = new ZipOutputStream(out)) {
      z.putNextEntry(new ZipEntry("index.html"));
      z.write(ascii("hello"));
      z.closeEntry();
    }
    return out.toByteArray();
  }
}
