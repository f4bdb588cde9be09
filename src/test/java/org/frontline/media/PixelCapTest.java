package org.frontline.media;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class PixelCapTest {

  private final PixelCap cap = PixelCap.DEFAULT;
  private final DimensionReader reader = new DimensionReader();

  @Test
  void realJpegAndPngDimensions() throws IOException {
    byte[] jpeg = TestImages.jpeg(TestImages.scene(640, 480, 1), 0.8f);
    byte[] png = TestImages.png(TestImages.scene(300, 200, 1));
    assertThat(reader.read(MediaBytes.of(jpeg), MediaSniffer.JPEG)).contains(new Dimensions(640, 480));
    assertThat(reader.read(MediaBytes.of(png), MediaSniffer.PNG)).contains(new Dimensions(300, 200));
    assertThat(cap.check(MediaBytes.of(jpeg), MediaSniffer.JPEG))
        .isEqualTo(new PixelCap.Result.Within(new Dimensions(640, 480)));
  }

  @Test
  void jpegWithExifBeforeTheFrameHeader() throws IOException {
    byte[] photo = new ExifSegment().make("Samsung").gps(48.5, 35.0).dateTimeOriginal("2026:11:20 14:03:27")
        .spliceInto(TestImages.jpeg(TestImages.scene(400, 300, 1), 0.8f));
    assertThat(reader.read(MediaBytes.of(photo), MediaSniffer.JPEG)).contains(new Dimensions(400, 300));
  }

  @Test
  void pngBombRefusedFromItsHeaderAlone() throws IOException {
    byte[] bomb = TestImages.pngHeader(100_000, 100_000);
    assertThat(bomb.length).isLessThan(100);
    PixelCap.Result r = cap.check(MediaBytes.of(bomb), MediaSniffer.PNG);
    assertThat(r).isInstanceOf(PixelCap.Result.Refused.class);
    assertThat(((PixelCap.Result.Refused) r).reason()).contains("100000x100000").contains("20000");
  }

  @Test
  void pngAboveThePixelCapButUnderTheSideCapRefused() throws IOException {
    PixelCap.Result r = cap.check(MediaBytes.of(TestImages.pngHeader(10_000, 8_000)), MediaSniffer.PNG);
    assertThat(((PixelCap.Result.Refused) r).reason()).contains("80000000 pixels exceeds the cap of 50000000");
  }

  @Test
  void pngWithSidesBeyondSigned32BitsRefused() throws IOException {
    PixelCap.Result r = cap.check(MediaBytes.of(TestImages.pngHeader(0xFFFFFFFFL, 1)), MediaSniffer.PNG);
    assertThat(r).isInstanceOf(PixelCap.Result.Refused.class);
  }

  @Test
  void jpegBombRefusedForEachFrameType() throws IOException {
    for (int sof : new int[] {0xC0, 0xC1, 0xC2}) {
      byte[] bomb = TestImages.jpegHeader(65_000, 65_000, sof);
      assertThat(reader.read(MediaBytes.of(bomb), MediaSniffer.JPEG)).contains(new Dimensions(65_000, 65_000));
      assertThat(cap.check(MediaBytes.of(bomb), MediaSniffer.JPEG)).isInstanceOf(PixelCap.Result.Refused.class);
    }
  }

  @Test
  void jpegOfTenThousandSquaredRefusedByPixels() throws IOException {
    PixelCap.Result r = cap.check(MediaBytes.of(TestImages.jpegHeader(10_000, 10_000, 0xC0)), MediaSniffer.JPEG);
    assertThat(((PixelCap.Result.Refused) r).reason()).contains("100000000 pixels");
  }

  @Test
  void jpegWithoutFrameHeaderOrZeroHeightRefusedAsUnreadable() throws IOException {
    byte[] noFrame = {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xD9};
    assertThat(cap.check(MediaBytes.of(noFrame), MediaSniffer.JPEG))
        .isEqualTo(new PixelCap.Result.Refused("image header declares no readable dimensions", Optional.empty()));
    assertThat(cap.check(MediaBytes.of(TestImages.jpegHeader(100, 0, 0xC0)), MediaSniffer.JPEG))
        .isInstanceOf(PixelCap.Result.Refused.class);
    byte[] truncated = java.util.Arrays.copyOf(TestImages.jpegHeader(100, 100, 0xC0), 8);
    assertThat(cap.check(MediaBytes.of(truncated), MediaSniffer.JPEG)).isInstanceOf(PixelCap.Result.Refused.class);
  }

  @Test
  void heifIspeRead() throws IOException {
    byte[] heic = TestImages.heif("heic", new String[] {"mif1", "heic"}, 512, 512, 4032, 3024, 320, 240);
    assertThat(reader.read(MediaBytes.of(heic), MediaSniffer.HEIC)).contains(new Dimensions(4032, 3024));
    assertThat(cap.check(MediaBytes.of(heic), MediaSniffer.HEIC)).isInstanceOf(PixelCap.Result.Within.class);
  }

  @Test
  void heifBombRefused() throws IOException {
    byte[] bomb = TestImages.heif("heic", new String[] {"mif1"}, 512, 512, 90_000, 90_000);
    PixelCap.Result r = cap.check(MediaBytes.of(bomb), MediaSniffer.HEIC);
    assertThat(((PixelCap.Result.Refused) r).reason()).contains("90000x90000");
  }

  @Test
  void heifWithoutIspeRefusedAsUnreadable() throws IOException {
    byte[] none = TestImages.heif("heic", new String[] {"mif1"});
    assertThat(cap.check(MediaBytes.of(none), MediaSniffer.HEIC)).isInstanceOf(PixelCap.Result.Refused.class);
  }

  @Test
  void customCap() {
    PixelCap small = new PixelCap(1_000_000, 2_000);
    assertThat(small.check(new Dimensions(1000, 1000))).isInstanceOf(PixelCap.Result.Within.class);
    assertThat(small.check(new Dimensions(1001, 1000))).isInstanceOf(PixelCap.Result.Refused.class);
    assertThat(small.check(new Dimensions(2001, 10))).isInstanceOf(PixelCap.Result.Refused.class);
  }
}
