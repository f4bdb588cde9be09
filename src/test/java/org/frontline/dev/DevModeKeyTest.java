package org.frontline.dev;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;

import static org.assertj.core.api.Assertions.assertThat;

class DevModeKeyTest {
  @Test
  void devModeGeneratesAPrivateKeyEncryptionKeyOnceAndKeepsIt(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("key-encryption-key");
    String first = DevMode.keyEncryptionKey(file);
    assertThat(Base64.getDecoder().decode(first)).hasSize(32);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
    assertThat(DevMode.keyEncryptionKey(file)).isEqualTo(first);
  }
}
