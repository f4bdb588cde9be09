package org.frontline.media;

import com.drew.imaging.ImageMetadataReader;
import com.drew.imaging.ImageProcessingException;
import com.drew.lang.GeoLocation;
import com.drew.lang.Rational;
import com.drew.metadata.Metadata;
import com.drew.metadata.exif.ExifIFD0Directory;
import com.drew.metadata.exif.ExifSubIFDDirectory;
import com.drew.metadata.exif.GpsDirectory;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.format.ResolverStyle;
import java.util.Optional;

/**
 * Reads capture time, GPS, device and orientation with metadata-extractor (JPEG, PNG and HEIF alike). A photo whose
 * metadata cannot be parsed yields {@link PhotoMetadata#NONE}: the evidence checks then flag what is missing, the
 * upload itself is not refused for it. A PNG's EXIF is read from its eXIf chunk alone (see {@link #readPng}). Run on a
 * worker, not an event loop: it reads the stream.
 */
public final class PhotoMetadataReader {

  /**
   * Strict: the default (smart) resolver made an impossible date a real one ("2026:04:31" April 30, "24:00:00" the
   * next midnight), a time the photo does not say, which the skew check then passed. An impossible time is no time.
   */
  private static final DateTimeFormatter EXIF_TIME =
      DateTimeFormatter.ofPattern("uuuu:MM:dd HH:mm:ss").withResolverStyle(ResolverStyle.STRICT);

  public PhotoMetadata read(MediaBytes bytes) throws IOException {
    byte[] magic = bytes.read(0, PNG_MAGIC.length);
    if (java.util.Arrays.equals(magic, PNG_MAGIC)) {
      return readPng(bytes);
    }
    try (InputStream in = bytes.open()) {
      return read(in);
    }
  }

  private static final byte[] PNG_MAGIC = {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};

  /**
   * A PNG's EXIF is its {@code eXIf} chunk, read here alone: metadata-extractor's PNG reader inflates every zTXt,
   * compressed iTXt and iCCP chunk whole into memory, and a few MB of deflated zeros is gigabytes (a decompression
   * bomb: one upload would take the worker's heap, and the API's with it). Chunks are walked by their lengths; one
   * declaring more bytes than the file holds ends the walk.
   */
  private PhotoMetadata readPng(MediaBytes bytes) throws IOException {
    long size = bytes.size();
    long at = PNG_MAGIC.length;
    while (at + 12 <= size) {
      byte[] header = bytes.read(at, 8);
      long length = ((long) (header[0] & 0xFF) << 24) | ((header[1] & 0xFF) << 16) | ((header[2] & 0xFF) << 8)
          | (header[3] & 0xFF);
      String type = new String(header, 4, 4, java.nio.charset.StandardCharsets.ISO_8859_1);
      if (length > size - at - 12) {
        break;
      }
      if (type.equals("eXIf")) {
        Metadata metadata = new Metadata();
        try {
          new com.drew.metadata.exif.ExifReader().extract(new com.drew.lang.ByteArrayReader(
              bytes.read(at + 8, (int) length)), metadata);
        } catch (RuntimeException unreadable) {
          return PhotoMetadata.NONE;
        }
        return of(metadata);
      }
      if (type.equals("IEND")) {
        break;
      }
      at += 12 + length;
    }
    return PhotoMetadata.NONE;
  }

  public PhotoMetadata read(InputStream in) throws IOException {
    Metadata metadata;
    try {
      metadata = ImageMetadataReader.readMetadata(new BufferedInputStream(in));
    } catch (ImageProcessingException | IOException | RuntimeException unreadable) {
      // A file cut short or a segment longer than the file is metadata-extractor's EOFException ("End of data
      // reached."), not an ImageProcessingException, and odd HEIF boxes (an iloc field size it does not know) throw
      // NullPointerException, NegativeArraySizeException or IllegalArgumentException from its HEIF reader:
      // unreadable metadata all the same, not a failed photo.
      return PhotoMetadata.NONE;
    }
    return of(metadata);
  }

  private static PhotoMetadata of(Metadata metadata) {
    ExifIFD0Directory ifd0 = metadata.getFirstDirectoryOfType(ExifIFD0Directory.class);
    ExifSubIFDDirectory exif = metadata.getFirstDirectoryOfType(ExifSubIFDDirectory.class);
    GpsDirectory gps = metadata.getFirstDirectoryOfType(GpsDirectory.class);

    Optional<LocalDateTime> local = exif == null ? Optional.empty()
        : text(exif.getString(ExifSubIFDDirectory.TAG_DATETIME_ORIGINAL)).flatMap(PhotoMetadataReader::exifTime);
    Optional<ZoneOffset> offset = exif == null ? Optional.empty()
        : text(exif.getString(ExifSubIFDDirectory.TAG_TIME_ZONE_ORIGINAL)).flatMap(PhotoMetadataReader::offset);
    Optional<String> make = ifd0 == null ? Optional.empty() : text(ifd0.getString(ExifIFD0Directory.TAG_MAKE));
    Optional<String> model = ifd0 == null ? Optional.empty() : text(ifd0.getString(ExifIFD0Directory.TAG_MODEL));
    int orientation = 1;
    if (ifd0 != null) {
      Integer o = ifd0.getInteger(ExifIFD0Directory.TAG_ORIENTATION);
      if (o != null && o >= 1 && o <= 8) {
        orientation = o;
      }
    }
    return new PhotoMetadata(local, offset, gps(gps), make, model, orientation);
  }

  private static Optional<PhotoMetadata.GpsPosition> gps(GpsDirectory gps) {
    if (gps == null || !wellFormed(gps)) {
      return Optional.empty();
    }
    GeoLocation at = gps.getGeoLocation();
    if (at == null || at.isZero() || Math.abs(at.getLatitude()) > 90 || Math.abs(at.getLongitude()) > 180
        || Double.isNaN(at.getLatitude()) || Double.isNaN(at.getLongitude())) {
      return Optional.empty(); // 0,0 is what some cameras write when they have no fix
    }
    Optional<Double> altitude = Optional.empty();
    Rational alt = gps.getRational(GpsDirectory.TAG_ALTITUDE);
    if (alt != null && alt.getDenominator() != 0) {
      Integer ref = gps.getInteger(GpsDirectory.TAG_ALTITUDE_REF);
      double metres = alt.doubleValue();
      altitude = Optional.of(ref != null && ref == 1 ? -metres : metres);
    }
    return Optional.of(new PhotoMetadata.GpsPosition(at.getLatitude(), at.getLongitude(), altitude));
  }

  /**
   * A position as EXIF writes it: references N or S and E or W, minutes and seconds below 60. metadata-extractor reads
   * any other reference as north or east, and sums 31 degrees 87 minutes into 32.45: a position the photo does not
   * state, which the distance check then passed. Such GPS is none (flagged missing). Zero denominators make infinite
   * parts, refused here or by the range check below.
   */
  private static boolean wellFormed(GpsDirectory gps) {
    return reference(gps.getString(GpsDirectory.TAG_LATITUDE_REF), "N", "S")
        && reference(gps.getString(GpsDirectory.TAG_LONGITUDE_REF), "E", "W")
        && sexagesimal(gps.getRationalArray(GpsDirectory.TAG_LATITUDE))
        && sexagesimal(gps.getRationalArray(GpsDirectory.TAG_LONGITUDE));
  }

  private static boolean reference(String value, String positive, String negative) {
    return text(value).filter(r -> r.equalsIgnoreCase(positive) || r.equalsIgnoreCase(negative)).isPresent();
  }

  private static boolean sexagesimal(Rational[] dms) {
    return dms != null && dms.length == 3 && dms[1].doubleValue() < 60 && dms[2].doubleValue() < 60;
  }

  private static Optional<String> text(String s) {
    if (s == null) {
      return Optional.empty();
    }
    String t = s.replace("\u0000", "").strip();
    return t.isEmpty() ? Optional.empty() : Optional.of(t);
  }

  private static Optional<LocalDateTime> exifTime(String s) {
    try {
      return Optional.of(LocalDateTime.parse(s.length() > 19 ? s.substring(0, 19) : s, EXIF_TIME));
    } catch (DateTimeParseException unset) {
      return Optional.empty(); // "0000:00:00 00:00:00", blanks or an impossible date: no time
    }
  }

  private static Optional<ZoneOffset> offset(String s) {
    try {
      return Optional.of(ZoneOffset.of(s));
    } catch (java.time.DateTimeException bad) {
      return Optional.empty();
    }
  }
}
