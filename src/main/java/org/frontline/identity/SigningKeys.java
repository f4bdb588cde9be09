package org.frontline.identity;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPairGenerator;
import java.security.interfaces.ECPrivateKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * ES256 signing keys kept as PKCS#8 PEM files in one directory; the file name without ".pem" is the key id.
 * Dev mode generates one; production mounts them (or a secret store writes them).
 */
public final class SigningKeys {
  private static final Pattern KID = Pattern.compile("[A-Za-z0-9._-]{1,64}");

  public record SigningKey(String kid, ECPrivateKey privateKey) {}

  private SigningKeys() {}

  /** Loads every key of {@code dir}, oldest name first; fails naming the file that is not an EC P-256 key. */
  public static List<SigningKey> load(Path dir) throws IOException {
    List<SigningKey> keys = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path file : files.filter(f -> f.getFileName().toString().endsWith(".pem"))
          .sorted(Comparator.comparing(Path::toString)).toList()) {
        String name = file.getFileName().toString();
        String kid = name.substring(0, name.length() - 4);
        if (!KID.matcher(kid).matches()) {
          throw new IOException(file + ": the key id (file name) must match " + KID.pattern());
        }
        keys.add(new SigningKey(kid, parse(file)));
      }
    }
    if (keys.isEmpty()) {
      throw new IOException(dir + ": no *.pem signing key");
    }
    return keys;
  }

  /** Makes sure {@code dir} holds at least one key, generating one when it holds none. Returns the keys. */
  public static List<SigningKey> ensure(Path dir) throws IOException {
    Files.createDirectories(dir);
    boolean none;
    try (Stream<Path> files = Files.list(dir)) {
      none = files.noneMatch(f -> f.getFileName().toString().endsWith(".pem"));
    }
    if (none) {
      generate(dir, "es256-" + LocalDate.now(ZoneOffset.UTC));
    }
    return load(dir);
  }

  public static Path generate(Path dir, String kid) throws IOException {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"));
      byte[] pkcs8 = generator.generateKeyPair().getPrivate().getEncoded();
      String pem = "-----BEGIN PRIVATE KEY-----\n"
          + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(pkcs8)
          + "\n-----END PRIVATE KEY-----\n";
      Path file = dir.resolve(kid + ".pem");
      Files.writeString(file, pem, StandardCharsets.US_ASCII);
      try {
        Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
      } catch (UnsupportedOperationException ignored) {
        // not a POSIX file system; nothing more we can do
      }
      return file;
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot generate an EC P-256 key", e);
    }
  }

  private static ECPrivateKey parse(Path file) throws IOException {
    String pem = Files.readString(file, StandardCharsets.US_ASCII);
    if (!pem.contains("-----BEGIN PRIVATE KEY-----")) {
      throw new IOException(file + ": not a PKCS#8 PEM private key (expected -----BEGIN PRIVATE KEY-----)");
    }
    String base64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    try {
      var key = KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(base64)));
      ECPrivateKey ec = (ECPrivateKey) key;
      if (ec.getParams().getCurve().getField().getFieldSize() != 256) {
        throw new IOException(file + ": not a P-256 key");
      }
      return ec;
    } catch (GeneralSecurityException | IllegalArgumentException | ClassCastException e) {
      throw new IOException(file + ": not an EC P-256 private key (" + e.getMessage() + ")");
    }
  }
}
