package org.frontline.media;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds a minimal EXIF APP1 segment by hand (big-endian TIFF: IFD0 with Make, Model, Orientation and pointers to an
 * Exif IFD holding DateTimeOriginal/OffsetTimeOriginal and a GPS IFD), and splices it after a JPEG's SOI. The JDK
 * cannot write EXIF; metadata-extractor reading back what was written here is itself tested.
 */
final class ExifSegment {

  private static final int BYTE = 1;
  private static final int ASCII = 2;
  private static final int SHORT = 3;
  private static final int LONG = 4;
  private static final int RATIONAL = 5;

  private String make;
  private String model;
  private Integer orientation;
  private String dateTimeOriginal;
  private String offsetTimeOriginal;
  private Double lat;
  private Double lon;
  private Double altitude;
  private String latRef;
  private long[] latParts;
  private String lonRef;
  private long[] lonParts;

  ExifSegment make(String v) { make = v; return this; }
  ExifSegment model(String v) { model = v; return this; }
  ExifSegment orientation(int v) { orientation = v; return this; }
  ExifSegment dateTimeOriginal(String v) { dateTimeOriginal = v; return this; }
  ExifSegment offsetTimeOriginal(String v) { offsetTimeOriginal = v; return this; }
  ExifSegment gps(double latitude, double longitude) { lat = latitude; lon = longitude; return this; }
  ExifSegment altitude(double metres) { altitude = metres; return this; }

  /**
   * GPS as written, rational by rational: {@code latitude} and {@code longitude} are degrees, minutes and seconds as
   * numerator, denominator pairs (6 numbers each), for values no camera should write.
   */
  ExifSegment gpsRationals(String latitudeRef, long[] latitude, String longitudeRef, long[] longitude) {
    latRef = latitudeRef;
    latParts = latitude;
    lonRef = longitudeRef;
    lonParts = longitude;
    return this;
  }

  private record Entry(int tag, int type, int count, byte[] value) {}

  /** The JPEG with this EXIF segment inserted right after SOI. */
  byte[] spliceInto(byte[] jpeg) {
    byte[] app1 = app1();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(jpeg, 0, 2);
    out.writeBytes(app1);
    out.write(jpeg, 2, jpeg.length - 2);
    return out.toByteArray();
  }

  byte[] app1() {
    byte[] tiff = tiff();
    byte[] body = TestImages.concat("Exif\0\0".getBytes(StandardCharsets.ISO_8859_1), tiff);
    int length = body.length + 2;
    return TestImages.concat(new byte[] {(byte) 0xFF, (byte) 0xE1, (byte) (length >> 8), (byte) length}, body);
  }

  byte[] tiff() {
    List<Entry> exif = new ArrayList<>();
    if (dateTimeOriginal != null) {
      exif.add(ascii(0x9003, dateTimeOriginal));
    }
    if (offsetTimeOriginal != null) {
      exif.add(ascii(0x9011, offsetTimeOriginal));
    }
    List<Entry> gps = new ArrayList<>();
    if (latParts != null) {
      gps.add(new Entry(0x0000, BYTE, 4, new byte[] {2, 3, 0, 0}));
      gps.add(ascii(0x0001, latRef));
      gps.add(new Entry(0x0002, RATIONAL, 3, rationals(latParts)));
      gps.add(ascii(0x0003, lonRef));
      gps.add(new Entry(0x0004, RATIONAL, 3, rationals(lonParts)));
    }
    if (lat != null) {
      gps.add(new Entry(0x0000, BYTE, 4, new byte[] {2, 3, 0, 0}));
      gps.add(ascii(0x0001, lat >= 0 ? "N" : "S"));
      gps.add(new Entry(0x0002, RATIONAL, 3, dms(Math.abs(lat))));
      gps.add(ascii(0x0003, lon >= 0 ? "E" : "W"));
      gps.add(new Entry(0x0004, RATIONAL, 3, dms(Math.abs(lon))));
      if (altitude != null) {
        gps.add(new Entry(0x0005, BYTE, 1, new byte[] {(byte) (altitude < 0 ? 1 : 0)}));
        gps.add(new Entry(0x0006, RATIONAL, 1, rationals(new long[] {Math.round(Math.abs(altitude) * 100), 100})));
      }
    }
    List<Entry> ifd0 = new ArrayList<>();
    if (make != null) {
      ifd0.add(ascii(0x010F, make));
    }
    if (model != null) {
      ifd0.add(ascii(0x0110, model));
    }
    if (orientation != null) {
      ifd0.add(new Entry(0x0112, SHORT, 1, new byte[] {0, (byte) (int) orientation}));
    }
    // Pointers are LONG offsets from the TIFF header; their IFDs follow IFD0 in this order.
    int ifd0Size = size(ifd0.size() + (exif.isEmpty() ? 0 : 1) + (gps.isEmpty() ? 0 : 1), ifd0);
    int exifAt = 8 + ifd0Size;
    int gpsAt = exifAt + (exif.isEmpty() ? 0 : size(exif.size(), exif));
    if (!exif.isEmpty()) {
      ifd0.add(new Entry(0x8769, LONG, 1, ByteBuffer.allocate(4).putInt(exifAt).array()));
    }
    if (!gps.isEmpty()) {
      ifd0.add(new Entry(0x8825, LONG, 1, ByteBuffer.allocate(4).putInt(gpsAt).array()));
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(new byte[] {'M', 'M', 0, 42, 0, 0, 0, 8});
    out.writeBytes(ifd(ifd0, 8));
    if (!exif.isEmpty()) {
      out.writeBytes(ifd(exif, exifAt));
    }
    if (!gps.isEmpty()) {
      out.writeBytes(ifd(gps, gpsAt));
    }
    return out.toByteArray();
  }

  private static int size(int entries, List<Entry> withData) {
    int data = 0;
    for (Entry e : withData) {
      if (e.value().length > 4) {
        data += (e.value().length + 1) & ~1;
      }
    }
    return 2 + 12 * entries + 4 + data;
  }

  private static byte[] ifd(List<Entry> entries, int at) {
    entries.sort((a, b) -> Integer.compare(a.tag(), b.tag()));
    ByteBuffer head = ByteBuffer.allocate(2 + 12 * entries.size() + 4);
    ByteArrayOutputStream data = new ByteArrayOutputStream();
    int dataAt = at + head.capacity();
    head.putShort((short) entries.size());
    for (Entry e : entries) {
      head.putShort((short) e.tag()).putShort((short) e.type()).putInt(e.count());
      if (e.value().length <= 4) {
        byte[] inline = new byte[4];
        System.arraycopy(e.value(), 0, inline, 0, e.value().length);
        head.put(inline);
      } else {
        head.putInt(dataAt + data.size());
        data.writeBytes(e.value());
        if (e.value().length % 2 == 1) {
          data.write(0);
        }
      }
    }
    head.putInt(0); // no next IFD
    return TestImages.concat(head.array(), data.toByteArray());
  }

  private static Entry ascii(int tag, String s) {
    byte[] v = (s + "\0").getBytes(StandardCharsets.ISO_8859_1);
    return new Entry(tag, ASCII, v.length, v);
  }

  private static byte[] dms(double decimal) {
    long d = (long) Math.floor(decimal);
    double minutes = (decimal - d) * 60;
    long m = (long) Math.floor(minutes);
    long s = Math.round((minutes - m) * 60 * 10_000);
    return rationals(new long[] {d, 1, m, 1, s, 10_000});
  }

  private static byte[] rationals(long[] parts) {
    ByteBuffer b = ByteBuffer.allocate(4 * parts.length);
    for (long p : parts) {
      b.putInt((int) p);
    }
    return b.array();
  }
}
