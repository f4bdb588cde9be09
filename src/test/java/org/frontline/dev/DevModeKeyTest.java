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

  @Test
  void aDataFolderAndKeyGivenInTheConfigFileAreTheOnesUsed(@TempDir Path dir) throws Exception {
    String given = Base64.getEncoder().encodeToString(new byte[32]);
    Path config = Files.writeString(dir.resolve("dev.properties"),
        "FRONTLINE_DATA_DIR=" + dir.resolve("elsewhere") + "\nFRONTLINE_KEY_ENCRYPTION_KEY=" + given + "\n");
    java.util.Map<String, String> env = java.util.Map.of("FRONTLINE_CONFIG_FILE", config.toString());
    assertThat(DevMode.dataDir(env)).isEqualTo(dir.resolve("elsewhere"));
    assertThat(DevMode.generatedKeyUnlessGiven(env, dir)).isNull();
    assertThat(dir.resolve("key-encryption-key")).doesNotExist();

    // Given nowhere (or blank): this folder's key, generated once.
    java.util.Map<String, String> blank = java.util.Map.of("FRONTLINE_KEY_ENCRYPTION_KEY", " ");
    assertThat(DevMode.dataDir(blank)).isEqualTo(Path.of("./data").toAbsolutePath().normalize());
    String generated = DevMode.generatedKeyUnlessGiven(blank, dir);
    assertThat(Base64.getDecoder().decode(generated)).hasSize(32);
    assertThat(Files.readString(dir.resolve("key-encryption-key")).trim()).isEqualTo(generated);
  }
}
