package org.frontline.media;

import static org.assertj.core.api.Assertions.assertThat;

import com.drew.imaging.ImageMetadataReader;
import com.drew.metadata.Metadata;
import com.drew.metadata.exif.ExifIFD0Directory;
import com.drew.metadata.exif.ExifSubIFDDirectory;
import com.drew.metadata.exif.GpsDirectory;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class DerivedImagesTest {

  private final DerivedImages derived = new DerivedImages(PixelCap.DEFAULT);

  @Test
  void copiesCarryNoMetadataAtAll() throws Exception {
    byte[] original = new ExifSegment().make("Samsung").model("SM-A525F").dateTimeOriginal("2026:11:20 14:03:27")
        .gps(48.4647, 35.0462).altitude(140).spliceInto(TestImages.jpeg(TestImages.scene(2400, 1800, 9), 0.9f));
    Metadata before = ImageMetadataReader.readMetadata(new ByteArrayInputStream(original));
    assertThat(before.getFirstDirectoryOfType(GpsDirectory.class)).isNotNull();

    DerivedImages.Variants v = derived.derive(MediaBytes.of(original), MediaSniffer.JPEG, 1).orElseThrow();
    for (DerivedImages.Derived copy : new DerivedImages.Derived[] {v.thumb(), v.display()}) {
      Metadata m = ImageMetadataReader.readMetadata(new ByteArrayInputStream(copy.jpeg()));
      assertThat(m.getFirstDirectoryOfType(GpsDirectory.class)).as(copy.variant()).isNull();
      assertThat(m.getFirstDirectoryOfType(ExifIFD0Directory.class)).as(copy.variant()).isNull();
      assertThat(m.getFirstDirectoryOfType(ExifSubIFDDirectory.class)).as(copy.variant()).isNull();
      assertThat(new String(copy.jpeg(), StandardCharsets.ISO_8859_1)).doesNotContain("Exif").doesNotContain("Samsung");
      assertThat(new MediaSniffer().sniff(MediaBytes.of(copy.jpeg()))).isEqualTo(new SniffResult.Sniffed("image/jpeg"));
      assertThat(new PhotoMetadataReader().read(MediaBytes.of(copy.jpeg()))).isEqualTo(PhotoMetadata.NONE);
    }
  }

  @Test
  void sizesFollowTheLongSide() throws Exception {
    byte[] original = TestImages.jpeg(TestImages.scene(2400, 1800, 9), 0.9f);
    DerivedImages.Variants v = derived.derive(MediaBytes.of(original), MediaSniffer.JPEG, 1).orElseThrow();
    assertThat(v.display().width()).isEqualTo(1600);
    assertThat(v.display().height()).isEqualTo(1200);
    assertThat(v.thumb().width()).isEqualTo(320);
    assertThat(v.thumb().height()).isEqualTo(240);
    BufferedImage read = ImageIO.read(new ByteArrayInputStream(v.display().jpeg()));
    assertThat(read.getWidth()).isEqualTo(1600);
    assertThat(read.getHeight()).isEqualTo(1200);
  }

  @Test
  void orientationIsHonoured() throws Exception {
    // Stored 1200x800 landscape, orientation 6: seen as 800x1200 portrait.
    byte[] original = TestImages.jpeg(TestImages.scene(1200, 800, 5), 0.9f);
    DerivedImages.Variants v = derived.derive(MediaBytes.of(original), MediaSniffer.JPEG, 6).orElseThrow();
    assertThat(v.display().width()).isEqualTo(800);
    assertThat(v.display().height()).isEqualTo(1200);
    assertThat(v.thumb().width()).isEqualTo(213);
    assertThat(v.thumb().height()).isEqualTo(320);
  }

  @Test
  void rotationMovesPixelsTheRightWay() {
    // A 2x1 image: red at left, blue at right. Orientation 6 (rotate clockwise to view): red on top.
    BufferedImage src = new BufferedImage(2, 1, BufferedImage.TYPE_INT_RGB);
    src.setRGB(0, 0, 0xFF0000);
    src.setRGB(1, 0, 0x0000FF);
    BufferedImage six = ImageDecoding.orient(src, 6);
    assertThat(six.getWidth()).isEqualTo(1);
    assertThat(six.getRGB(0, 0) & 0xFFFFFF).isEqualTo(0xFF0000);
    assertThat(six.getRGB(0, 1) & 0xFFFFFF).isEqualTo(0x0000FF);
    BufferedImage eight = ImageDecoding.orient(src, 8);
    assertThat(eight.getRGB(0, 0) & 0xFFFFFF).isEqualTo(0x0000FF);
    BufferedImage three = ImageDecoding.orient(src, 3);
    assertThat(three.getRGB(0, 0) & 0xFFFFFF).isEqualTo(0x0000FF);
  }

  @Test
  void smallPhotosAreNotEnlargedAndPngWorks() throws Exception {
    byte[] png = TestImages.png(TestImages.scene(200, 100, 2));
    DerivedImages.Variants v = derived.derive(MediaBytes.of(png), MediaSniffer.PNG, 1).orElseThrow();
    assertThat(v.display().width()).isEqualTo(200);
    assertThat(v.thumb().width()).isEqualTo(200);
    assertThat(v.thumb().contentType()).isEqualTo("image/jpeg");
  }

  @Test
  void aHeicGetsUprightCopiesWithoutItsMetadata() throws Exception {
    HeicEncoder.assumeAvailable();
    BufferedImage scene = TestImages.scene(2000, 1500, 9);
    // An iPhone-like file: GPS, make and model in EXIF, and an EXIF orientation HEIF says not to apply again.
    byte[] exif = new ExifSegment().make("Apple").model("iPhone 15").dateTimeOriginal("2026:11:20 14:03:27")
        .gps(48.4647, 35.0462).orientation(6).tiff();
    byte[] heic = HeicEncoder.heic(scene, exif);
    assertThat(new MediaSniffer().sniff(MediaBytes.of(heic))).isEqualTo(new SniffResult.Sniffed(MediaSniffer.HEIC));
    assertThat(new PhotoMetadataReader().read(MediaBytes.of(heic)).gps()).isPresent();

    DerivedImages.Variants v = derived.derive(MediaBytes.of(heic), MediaSniffer.HEIC, 6).orElseThrow();
    assertThat(v.display().width()).isEqualTo(1600);
    assertThat(v.display().height()).isEqualTo(1200);
    assertThat(v.thumb().width()).isEqualTo(320);
    assertThat(v.thumb().height()).isEqualTo(240);
    for (DerivedImages.Derived copy : new DerivedImages.Derived[] {v.thumb(), v.display()}) {
      assertThat(new MediaSniffer().sniff(MediaBytes.of(copy.jpeg()))).isEqualTo(new SniffResult.Sniffed("image/jpeg"));
      assertThat(new PhotoMetadataReader().read(MediaBytes.of(copy.jpeg()))).isEqualTo(PhotoMetadata.NONE);
      assertThat(new String(copy.jpeg(), StandardCharsets.ISO_8859_1)).doesNotContain("Exif").doesNotContain("Apple");
    }
    // The pixels are the scene's: the display copy looks like the original (same dHash within the near bound).
    BufferedImage shown = ImageIO.read(new ByteArrayInputStream(v.display().jpeg()));
    assertThat(PerceptualHash.hammingDistance(PerceptualHash.dHash(shown), PerceptualHash.dHash(scene)))
        .isLessThanOrEqualTo(2);
  }

  @Test
  void aTenBitHeicAsHdrPhonesWriteItIsDecodedToo() throws Exception {
    HeicEncoder.assumeAvailable();
    BufferedImage scene = TestImages.scene(800, 600, 12);
    byte[] heic = HeicEncoder.heic(scene, null, 10);
    DerivedImages.Variants v = derived.derive(MediaBytes.of(heic), MediaSniffer.HEIC, 1).orElseThrow();
    assertThat(v.display().width()).isEqualTo(800);
    BufferedImage shown = ImageIO.read(new ByteArrayInputStream(v.display().jpeg()));
    assertThat(PerceptualHash.hammingDistance(PerceptualHash.dHash(shown), PerceptualHash.dHash(scene)))
        .isLessThanOrEqualTo(2);
    // Colours survive the 10-to-8-bit conversion: the mean brightness is the scene's, within a few levels.
    assertThat(Math.abs(meanGrey(shown) - meanGrey(scene))).isLessThan(4.0);
  }

  private static double meanGrey(BufferedImage img) {
    double sum = 0;
    for (int y = 0; y < img.getHeight(); y++) {
      for (int x = 0; x < img.getWidth(); x++) {
        int rgb = img.getRGB(x, y);
        sum += ((rgb >> 16) & 0xFF) + ((rgb >> 8) & 0xFF) + (rgb & 0xFF);
      }
    }
    return sum / (3.0 * img.getWidth() * img.getHeight());
  }

  @Test
  void aHeicThatDoesNotDecodeIsAnError() {
    HeicEncoder.assumeAvailable();
    byte[] heic = TestImages.heif("heic", new String[] {"mif1"}, 4032, 3024);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> derived.derive(MediaBytes.of(heic), MediaSniffer.HEIC, 1))
        .isInstanceOf(java.io.IOException.class).hasMessageContaining("not decoded");
  }

  @Test
  void aHeicAboveThePixelCapIsNeverHandedToTheDecoder() {
    HeicEncoder.assumeAvailable();
    byte[] bomb = TestImages.heif("heic", new String[] {"mif1"}, 512, 512, 90_000, 90_000);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> derived.derive(MediaBytes.of(bomb), MediaSniffer.HEIC, 1))
        .isInstanceOf(java.io.IOException.class).hasMessageContaining("not decoded").hasMessageNotContaining("libheif");
  }
}
