package org.frontline.media;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.IOException;
import org.junit.jupiter.api.Test;

class PerceptualHashTest {

  private final DerivedImages derived = new DerivedImages(PixelCap.DEFAULT);
  private final BufferedImage original = TestImages.scene(1200, 900, 42);

  private long hash(byte[] bytes, String type, int orientation) throws IOException {
    // As the media worker hashes: the upright thumbnail of its one decode.
    return derived.derive(MediaBytes.of(bytes), type, orientation).orElseThrow().dHash();
  }

  @Test
  void reEncodedAndResizedCopyIsANearDuplicate() throws IOException {
    long a = hash(TestImages.jpeg(original, 0.92f), MediaSniffer.JPEG, 1);
    long b = hash(TestImages.jpeg(TestImages.resized(original, 1000, 750), 0.55f), MediaSniffer.JPEG, 1);
    long c = hash(TestImages.png(TestImages.resized(original, 640, 480)), MediaSniffer.PNG, 1);
    assertThat(PerceptualHash.hammingDistance(a, b)).isLessThanOrEqualTo(PerceptualHash.NEAR_DUPLICATE_BITS);
    assertThat(PerceptualHash.nearDuplicate(a, b)).isTrue();
    assertThat(PerceptualHash.nearDuplicate(a, c)).isTrue();
  }

  @Test
  void differentPhotosAreNot() throws IOException {
    long a = hash(TestImages.jpeg(original, 0.92f), MediaSniffer.JPEG, 1);
    for (long seed = 1; seed <= 5; seed++) {
      long other = hash(TestImages.jpeg(TestImages.scene(1200, 900, seed), 0.92f), MediaSniffer.JPEG, 1);
      assertThat(PerceptualHash.hammingDistance(a, other)).as("seed %d", seed)
          .isGreaterThan(PerceptualHash.NEAR_DUPLICATE_BITS);
    }
  }

  @Test
  void orientationIsAppliedBeforeHashing() throws IOException {
    // The same scene stored sideways with orientation 6 (rotate 90 degrees clockwise to view) hashes as the upright.
    BufferedImage sideways = ImageDecoding.orient(original, 8); // rotated counter-clockwise
    long upright = hash(TestImages.jpeg(original, 0.9f), MediaSniffer.JPEG, 1);
    long stored = hash(TestImages.jpeg(sideways, 0.9f), MediaSniffer.JPEG, 6);
    assertThat(PerceptualHash.nearDuplicate(upright, stored)).isTrue();
    long ignoringOrientation = hash(TestImages.jpeg(sideways, 0.9f), MediaSniffer.JPEG, 1);
    assertThat(PerceptualHash.nearDuplicate(upright, ignoringOrientation)).isFalse();
  }

  @Test
  void hammingDistance() {
    assertThat(PerceptualHash.hammingDistance(0L, -1L)).isEqualTo(64);
    assertThat(PerceptualHash.hammingDistance(0b1011L, 0b0001L)).isEqualTo(2);
    assertThat(PerceptualHash.nearDuplicate(0L, 0b111111L)).isTrue();
    assertThat(PerceptualHash.nearDuplicate(0L, 0b1111111L)).isFalse();
  }

  @Test
  void aHeicAndAJpegOfOneSceneAreNearDuplicatesAndOtherScenesAreNot() throws IOException {
    HeicEncoder.assumeAvailable();
    assertThat(ImageDecoding.canDecode(MediaSniffer.HEIC)).isTrue();
    assertThat(ImageDecoding.canDecode(MediaSniffer.HEIF)).isTrue();
    long heic = hash(HeicEncoder.heic(original, null), MediaSniffer.HEIC, 1);
    long jpeg = hash(TestImages.jpeg(TestImages.resized(original, 1000, 750), 0.7f), MediaSniffer.JPEG, 1);
    assertThat(PerceptualHash.hammingDistance(heic, jpeg)).isLessThanOrEqualTo(PerceptualHash.NEAR_DUPLICATE_BITS);
    for (long seed = 1; seed <= 3; seed++) {
      long other = hash(HeicEncoder.heic(TestImages.scene(1200, 900, seed), null), MediaSniffer.HEIC, 1);
      assertThat(PerceptualHash.hammingDistance(heic, other)).as("seed %d", seed)
          .isGreaterThan(PerceptualHash.NEAR_DUPLICATE_BITS);
    }
  }

  @Test
  void aHeicIsHashedAsHeifSaysNotAsItsExifOrientationSays() throws IOException {
    // HEIF rotates with its own irot box (libheif applies it); the EXIF tag of a HEIC is not applied on top.
    HeicEncoder.assumeAvailable();
    long upright = hash(TestImages.jpeg(original, 0.9f), MediaSniffer.JPEG, 1);
    long heic = hash(HeicEncoder.heic(original, new ExifSegment().orientation(6).tiff()), MediaSniffer.HEIC, 6);
    assertThat(PerceptualHash.nearDuplicate(upright, heic)).isTrue();
  }

  @Test
  void aHeicWithoutImageDataIsAnErrorNotAHash() {
    HeicEncoder.assumeAvailable();
    byte[] heic = TestImages.heif("heic", new String[] {"mif1"}, 4032, 3024);
    assertThatThrownBy(() -> derived.derive(MediaBytes.of(heic), MediaSniffer.HEIC, 1))
        .isInstanceOf(IOException.class).hasMessageContaining("libheif error");
  }

  @Test
  void aBombIsNeverDecoded() {
    assertThatThrownBy(() -> derived.derive(MediaBytes.of(TestImages.pngHeader(100_000, 100_000)), MediaSniffer.PNG, 1))
        .isInstanceOf(IOException.class).hasMessageContaining("not decoded");
  }
}
