package org.frontline.uploads;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Map;

/**
 * A tus {@code Upload-Checksum}: the digest a chunk must have, by one of {@link #ALGORITHMS}. tus 1.0.0 requires
 * every server with the checksum extension to take {@code sha1}; {@code sha256} is what our app sends.
 */
record ChunkChecksum(String algorithm, byte[] digest) {
  /** tus names to the JDK's (Tus-Checksum-Algorithm lists them: {@link #ADVERTISED}). */
  static final Map<String, String> ALGORITHMS = Map.of("sha1", "SHA-1", "sha256", "SHA-256");
  /** The Tus-Checksum-Algorithm header's value. */
  static final String ADVERTISED = "sha1,sha256";

  /** A new digest of this checksum's algorithm. */
  MessageDigest newDigest() {
    return newDigest(algorithm);
  }

  /** A new digest of the tus algorithm {@code algorithm} (one of {@link #ALGORITHMS}). */
  static MessageDigest newDigest(String algorithm) {
    try {
      return MessageDigest.getInstance(ALGORITHMS.get(algorithm));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
