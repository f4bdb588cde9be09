package org.frontline.media;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

/**
 * The bytes of one stored photo, read without trusting anything said about them. Ranged reads let the sniffer look
 * at the head and the tail only (an object store answers them with ranged GETs); {@link #open()} streams the whole.
 */
public interface MediaBytes {

  /** Total length in bytes. */
  long size() throws IOException;

  /** Up to {@code length} bytes from {@code offset}; fewer only at the end. */
  byte[] read(long offset, int length) throws IOException;

  /** A fresh stream over all bytes; the caller closes it. */
  InputStream open() throws IOException;

  static MediaBytes of(byte[] bytes) {
    Objects.requireNonNull(bytes, "bytes");
    return new MediaBytes() {
      @Override
      public long size() {
        return bytes.length;
      }

      @Override
      public byte[] read(long offset, int length) {
        int from = (int) Math.min(Math.max(0, offset), bytes.length);
        int to = (int) Math.min((long) from + Math.max(0, length), bytes.length);
        return Arrays.copyOfRange(bytes, from, to);
      }

      @Override
      public InputStream open() {
        return new ByteArrayInputStream(bytes);
      }
    };
  }

  static MediaBytes of(Path file) {
    Objects.requireNonNull(file, "file");
    return new MediaBytes() {
      @Override
      public long size() throws IOException {
        return Files.size(file);
      }

      @Override
      public byte[] read(long offset, int length) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
          long size = raf.length();
          long from = Math.min(Math.max(0, offset), size);
          int n = (int) Math.min(Math.max(0, length), size - from);
          byte[] out = new byte[n];
          raf.seek(from);
          raf.readFully(out);
          return out;
        }
      }

      @Override
      public InputStream open() throws IOException {
        return Files.newInputStream(file);
      }
    };
  }
}
