package org.frontline.media;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.media.TestImages.box;
import static org.frontline.media.TestImages.concat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The HEIF pixel cap covers every size a decoder allocates from: the declared one (ispe), the HEVC stream's coded
 * one (its sequence parameter set) and a grid's canvas, so a file cannot declare a small image and carry a big one.
 */
class HeifSizesTest {

  private final DimensionReader reader = new DimensionReader();

  @Test
  void aRealHeicDeclaresAndCodesTheSameSize() throws IOException {
    byte[] heic = HeicEncoder.heic(TestImages.scene(640, 480, 1), null);
    assertThat(reader.read(MediaBytes.of(heic), MediaSniffer.HEIC)).contains(new Dimensions(640, 480));
  }

  @Test
  void aHeicWhoseIspeUnderstatesItsHevcStreamIsMeasuredByTheStream() throws IOException {
    byte[] heic = HeicEncoder.heic(TestImages.scene(640, 480, 1), null);
    byte[] lying = withIspe(heic, 64, 48);
    PixelCap small = new PixelCap(100_000, 1_000);
    assertThat(small.check(new Dimensions(64, 48))).isInstanceOf(PixelCap.Result.Within.class);

    assertThat(reader.read(MediaBytes.of(lying), MediaSniffer.HEIC)).contains(new Dimensions(640, 480));
    PixelCap.Result r = small.check(MediaBytes.of(lying), MediaSniffer.HEIC);
    assertThat(r).isInstanceOf(PixelCap.Result.Refused.class);
    assertThat(((PixelCap.Result.Refused) r).reason()).contains("640x480");
  }

  @Test
  void spsWithSubLayersAndEmulationPreventionBytes() {
    // Two sub-layers (both with profile and level), 4:4:4 with its colour plane flag, 20000 x 64 coded.
    Bitstream s = new Bitstream();
    s.bits(0x4201, 16).bits(0, 4).bits(1, 3).bits(1, 1).bits(0, 96);
    s.bits(1, 1).bits(1, 1).bits(0, 2 * 7).bits(0, 88).bits(0, 8);
    s.ue(0).ue(3).bits(0, 1).ue(20_000).ue(64).bits(1, 1);
    byte[] nal = escaped(s.bytes());
    assertThat(nal.length).isGreaterThan(s.bytes().length); // the 96 zero bits needed escaping
    assertThat(HeifSizes.spsSize(nal, 0, nal.length)).contains(new Dimensions(20_000, 64));
  }

  @Test
  void aTruncatedSpsOrHevcConfigurationIsUnreadable() throws IOException {
    byte[] sps = new Bitstream().bits(0x4201, 16).bits(0, 8).bytes();
    assertThat(HeifSizes.spsSize(sps, 0, sps.length)).isEmpty();

    byte[] heic = HeicEncoder.heic(TestImages.scene(64, 64, 1), null);
    int hvcc = indexOf(heic, "hvcC");
    byte[] cut = heic.clone();
    cut[hvcc + 4 + 22 + 1 + 1] = (byte) 0x7F; // the first array claims 0x7Fxx NAL units
    assertThat(PixelCap.DEFAULT.check(MediaBytes.of(cut), MediaSniffer.HEIC))
        .isEqualTo(new PixelCap.Result.Refused("image header declares no readable dimensions", Optional.empty()));
  }

  @Test
  void aGridCanvasInIdatBeyondTheCapIsRefusedThoughIspeSaysLittle() throws IOException {
    byte[] grid = gridDescriptor(30_000, 30_000);
    byte[] iloc = ilocVersion1(1, 1, 0); // item 1, construction method 1 (idat), offset 0
    byte[] file = heifWith(concat(iinfWithGrid(1), iloc, box("idat", grid)), new byte[0]);

    assertThat(reader.read(MediaBytes.of(file), MediaSniffer.HEIC)).contains(new Dimensions(30_000, 30_000));
    PixelCap.Result r = PixelCap.DEFAULT.check(MediaBytes.of(file), MediaSniffer.HEIC);
    assertThat(((PixelCap.Result.Refused) r).reason()).contains("30000x30000");
  }

  @Test
  void aGridDescriptorInTheFileIsReadWhereIlocPointsAndSixteenBitSidesToo() throws IOException {
    byte[] descriptor = {0, 0, 1, 1, (byte) 0x2E, (byte) 0xE0, (byte) 0x2E, (byte) 0xE0}; // 16-bit: 12000 x 12000
    byte[] withoutOffset = heifWith(concat(iinfWithGrid(7), ilocVersion1(7, 0, 0)), descriptor);
    int at = indexOf(withoutOffset, "mdat") + 4;
    byte[] file = heifWith(concat(iinfWithGrid(7), ilocVersion1(7, 0, at)), descriptor);
    assertThat(file.length).isEqualTo(withoutOffset.length);

    assertThat(reader.read(MediaBytes.of(file), MediaSniffer.HEIC)).contains(new Dimensions(12_000, 12_000));
    assertThat(PixelCap.DEFAULT.check(MediaBytes.of(file), MediaSniffer.HEIC))
        .isInstanceOf(PixelCap.Result.Refused.class);
  }

  @Test
  void aGridDescriptorBeyondTheHeadCountsOnceTheWholeFileIsRead() throws IOException {
    byte[] descriptor = gridDescriptor(30_000, 30_000);
    byte[] whole = heifWith(concat(iinfWithGrid(3), ilocVersion1(3, 0, 0)), concat(new byte[4096], descriptor));
    int at = indexOf(whole, "mdat") + 4 + 4096;
    whole = heifWith(concat(iinfWithGrid(3), ilocVersion1(3, 0, at)), concat(new byte[4096], descriptor));
    byte[] head = java.util.Arrays.copyOf(whole, at + 4); // an upload's first bytes: the descriptor not yet there

    assertThat(PixelCap.DEFAULT.check(MediaBytes.of(head), MediaSniffer.HEIC))
        .isEqualTo(new PixelCap.Result.Within(new Dimensions(512, 512)));
    assertThat(PixelCap.DEFAULT.check(MediaBytes.of(whole), MediaSniffer.HEIC))
        .isInstanceOf(PixelCap.Result.Refused.class);
  }

  @Test
  void aGridWithoutItsIdatAddsNothingForLibheifCannotReadItEither() throws IOException {
    byte[] file = heifWith(concat(iinfWithGrid(1), ilocVersion1(1, 1, 0)), new byte[0]);
    assertThat(reader.read(MediaBytes.of(file), MediaSniffer.HEIC)).contains(new Dimensions(512, 512));
  }

  @Test
  void itemsThatAreNoGridAreNotReadAsOne() throws IOException {
    byte[] infe = fullBox("infe", 2, concat(new byte[] {0, 1, 0, 0}, ascii("hvc1"), new byte[] {0}));
    byte[] iinf = fullBox("iinf", 0, concat(new byte[] {0, 1}, infe));
    byte[] file = heifWith(concat(iinf, ilocVersion1(1, 1, 0), box("idat", gridDescriptor(30_000, 30_000))),
        new byte[0]);
    assertThat(reader.read(MediaBytes.of(file), MediaSniffer.HEIC)).contains(new Dimensions(512, 512));
  }

  // --- building HEIF boxes

  /** ftyp, then meta holding an ispe of 512 x 512 and the given boxes, then mdat holding {@code mdat}. */
  private static byte[] heifWith(byte[] metaChildren, byte[] mdat) {
    byte[] ispe = new byte[12];
    TestImages.put32(ispe, 4, 512);
    TestImages.put32(ispe, 8, 512);
    byte[] meta = concat(new byte[4], box("iprp", box("ipco", box("ispe", ispe))), metaChildren);
    return concat(box("ftyp", concat(ascii("heic"), new byte[4], ascii("mif1"))), box("meta", meta),
        box("mdat", mdat));
  }

  private static byte[] iinfWithGrid(int item) {
    byte[] infe = fullBox("infe", 2, concat(new byte[] {(byte) (item >> 8), (byte) item, 0, 0}, ascii("grid"),
        new byte[] {0}));
    return fullBox("iinf", 0, concat(new byte[] {0, 1}, infe));
  }

  /** iloc version 1: 4-byte offsets and lengths, no base offset, one item with one extent. */
  private static byte[] ilocVersion1(int item, int method, long offset) {
    byte[] body = new byte[2 + 2 + 2 + 2 + 2 + 2 + 4 + 4];
    body[0] = 0x44; // offset size 4, length size 4
    body[1] = 0x00; // base offset size 0, index size 0
    body[3] = 1; // one item
    body[4] = (byte) (item >> 8);
    body[5] = (byte) item;
    body[7] = (byte) method;
    body[11] = 1; // one extent
    TestImages.put32(body, 12, offset);
    TestImages.put32(body, 16, 12);
    return fullBox("iloc", 1, body);
  }

  private static byte[] gridDescriptor(long width, long height) {
    byte[] d = new byte[12];
    d[1] = 1; // 32-bit sides
    d[2] = 1;
    d[3] = 1;
    TestImages.put32(d, 4, width);
    TestImages.put32(d, 8, height);
    return d;
  }

  private static byte[] fullBox(String type, int version, byte[] body) {
    return box(type, concat(new byte[] {(byte) version, 0, 0, 0}, body));
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  /** The file with every ispe's sides replaced. */
  private static byte[] withIspe(byte[] file, long width, long height) {
    byte[] out = file.clone();
    int from = 0;
    int at;
    int found = 0;
    while ((at = indexOf(out, "ispe", from)) >= 0) {
      TestImages.put32(out, at + 8, width);
      TestImages.put32(out, at + 12, height);
      from = at + 4;
      found++;
    }
    assertThat(found).isPositive();
    return out;
  }

  private static int indexOf(byte[] b, String fourcc) {
    int at = indexOf(b, fourcc, 0);
    assertThat(at).isNotNegative();
    return at;
  }

  private static int indexOf(byte[] b, String fourcc, int from) {
    byte[] f = ascii(fourcc);
    for (int i = from; i + 4 <= b.length; i++) {
      if (b[i] == f[0] && b[i + 1] == f[1] && b[i + 2] == f[2] && b[i + 3] == f[3]) {
        return i;
      }
    }
    return -1;
  }

  /** An RBSP as a NAL unit: 00 00 followed by 00..03 gets an emulation prevention byte. */
  private static byte[] escaped(byte[] rbsp) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int zeros = 0;
    for (byte b : rbsp) {
      if (zeros >= 2 && (b & 0xFF) <= 3) {
        out.write(3);
        zeros = 0;
      }
      out.write(b);
      zeros = b == 0 ? zeros + 1 : 0;
    }
    return out.toByteArray();
  }

  /** Writes bits and Exp-Golomb codes, most significant first. */
  private static final class Bitstream {
    private final StringBuilder bits = new StringBuilder();

    Bitstream bits(long value, int n) {
      for (int i = n - 1; i >= 0; i--) {
        bits.append(i < 64 && ((value >>> i) & 1) == 1 ? '1' : '0');
      }
      return this;
    }

    Bitstream ue(long value) {
      long v = value + 1;
      int len = 64 - Long.numberOfLeadingZeros(v);
      return bits(0, len - 1).bits(v, len);
    }

    byte[] bytes() {
      byte[] out = new byte[(bits.length() + 7) / 8];
      for (int i = 0; i < bits.length(); i++) {
        if (bits.charAt(i) == '1') {
          out[i / 8] |= (byte) (0x80 >>> (i % 8));
        }
      }
      return out;
    }
  }
}
