package org.frontline.media;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class PhotoMetadataReaderTest {

  private final PhotoMetadataReader reader = new PhotoMetadataReader();
  private final byte[] plain = TestImages.jpeg(TestImages.scene(120, 90, 7), 0.85f);

  @Test
  void readsBackEverythingTheHandMadeSegmentSays() throws IOException {
    byte[] photo = new ExifSegment().make("Samsung").model("SM-A525F").orientation(6)
        .dateTimeOriginal("2026:11:20 14:03:27").offsetTimeOriginal("+03:00")
        .gps(48.4647, 35.0462).altitude(142.5).spliceInto(plain);
    PhotoMetadata m = reader.read(MediaBytes.of(photo));

    assertThat(m.make()).contains("Samsung");
    assertThat(m.model()).contains("SM-A525F");
    assertThat(m.orientation()).isEqualTo(6);
    assertThat(m.capturedLocal()).contains(LocalDateTime.of(2026, 11, 20, 14, 3, 27));
    assertThat(m.captureOffset()).contains(ZoneOffset.ofHours(3));
    assertThat(m.capturedAt()).contains(OffsetDateTime.of(2026, 11, 20, 14, 3, 27, 0, ZoneOffset.ofHours(3)));
    PhotoMetadata.GpsPosition gps = m.gps().orElseThrow();
    assertThat(gps.lat()).isCloseTo(48.4647, within(1e-6));
    assertThat(gps.lon()).isCloseTo(35.0462, within(1e-6));
    assertThat(gps.altitudeM()).hasValueSatisfying(a -> assertThat(a).isCloseTo(142.5, within(1e-9)));
    // and the sniffer still takes it for a plain JPEG
    assertThat(new MediaSniffer().sniff(MediaBytes.of(photo))).isEqualTo(new SniffResult.Sniffed("image/jpeg"));
  }

  @Test
  void southernWesternHemispheresAndBelowSeaLevel() throws IOException {
    byte[] photo = new ExifSegment().gps(-33.8688, -70.6693).altitude(-12).spliceInto(plain);
    PhotoMetadata.GpsPosition gps = reader.read(MediaBytes.of(photo)).gps().orElseThrow();
    assertThat(gps.lat()).isCloseTo(-33.8688, within(1e-6));
    assertThat(gps.lon()).isCloseTo(-70.6693, within(1e-6));
    assertThat(gps.altitudeM()).contains(-12.0);
  }

  @Test
  void aFileCutShortHasNoMetadataRatherThanFailing() throws IOException {
    byte[] photo = new ExifSegment().make("Samsung").gps(48.4647, 35.0462).spliceInto(plain);
    byte[] cut = java.util.Arrays.copyOf(photo, photo.length - plain.length + 300);
    assertThat(reader.read(MediaBytes.of(cut))).isEqualTo(PhotoMetadata.NONE);
  }

  @Test
  void timeWithoutOffset() throws IOException {
    byte[] photo = new ExifSegment().dateTimeOriginal("2026:11:20 14:03:27").spliceInto(plain);
    PhotoMetadata m = reader.read(MediaBytes.of(photo));
    assertThat(m.capturedLocal()).isPresent();
    assertThat(m.captureOffset()).isEmpty();
    assertThat(m.capturedAt()).isEmpty();
    assertThat(m.gps()).isEmpty();
  }

  @Test
  void blankTimeAndZeroGpsCountAsMissing() throws IOException {
    byte[] photo = new ExifSegment().dateTimeOriginal("0000:00:00 00:00:00").gps(0, 0).spliceInto(plain);
    PhotoMetadata m = reader.read(MediaBytes.of(photo));
    assertThat(m.capturedLocal()).isEmpty();
    assertThat(m.gps()).isEmpty();
  }

  @Test
  void photoWithoutExifHasNothing() throws IOException {
    assertThat(reader.read(MediaBytes.of(plain))).isEqualTo(PhotoMetadata.NONE);
    assertThat(reader.read(MediaBytes.of(TestImages.png(TestImages.scene(20, 20, 1))))).isEqualTo(PhotoMetadata.NONE);
  }

  @Test
  void aPngsCompressedTextIsNotInflatedButItsExifIsRead() throws Exception {
    // A zTXt chunk of 1.5 MB inflating to 1.5 GB (beyond the test JVM's heap): metadata-extractor inflated it whole.
    java.io.ByteArrayOutputStream deflated = new java.io.ByteArrayOutputStream();
    try (var z = new java.util.zip.DeflaterOutputStream(deflated, new java.util.zip.Deflater(1))) {
      byte[] zeros = new byte[1 << 20];
      for (int i = 0; i < 1536; i++) {
        z.write(zeros);
      }
    }
    byte[] ztxt = TestImages.concat(TestImages.ascii("Comment\0\0"), deflated.toByteArray());
    byte[] exif = new ExifSegment().dateTimeOriginal("2026:03:04 05:06:07").gps(32.45, 119.43).tiff();
    byte[] png = TestImages.png(TestImages.scene(20, 20, 1));
    // After the signature and IHDR (8 + 25 bytes): the bomb, then the EXIF.
    byte[] bomb = TestImages.concat(java.util.Arrays.copyOf(png, 33), TestImages.chunk("zTXt", ztxt),
        TestImages.chunk("iCCP", ztxt), TestImages.chunk("eXIf", exif), java.util.Arrays.copyOfRange(png, 33, png.length));

    PhotoMetadata m = reader.read(MediaBytes.of(bomb));

    assertThat(m.capturedLocal()).contains(LocalDateTime.of(2026, 3, 4, 5, 6, 7));
    assertThat(m.gps()).isPresent();
    assertThat(m.gps().get().lat()).isCloseTo(32.45, org.assertj.core.data.Offset.offset(1e-4));
  }

  @Test
  void aPngChunkDeclaringMoreBytesThanTheFileHoldsEndsTheReading() throws Exception {
    byte[] png = TestImages.png(TestImages.scene(20, 20, 1));
    byte[] lying = TestImages.concat(java.util.Arrays.copyOf(png, 33),
        new byte[] {0x7F, (byte) 0xFF, (byte) 0xFF, (byte) 0xF0, 'e', 'X', 'I', 'f', 1, 2, 3});
    assertThat(reader.read(MediaBytes.of(lying))).isEqualTo(PhotoMetadata.NONE);
  }

  @Test
  void heifWithoutExifYieldsNothing() throws IOException {
    byte[] heic = TestImages.heif("heic", new String[] {"mif1", "heic"}, 4032, 3024);
    assertThat(reader.read(MediaBytes.of(heic))).isEqualTo(PhotoMetadata.NONE);
  }

  @Test
  void garbageYieldsNothingRatherThanFailing() throws IOException {
    assertThat(reader.read(MediaBytes.of(TestImages.ascii("not an image at all")))).isEqualTo(PhotoMetadata.NONE);
  }
}
