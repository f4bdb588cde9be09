package org.frontline.identity;

import org.junit.jupiter.api.Test;

import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class KeyEncryptionTest {
  private static KeyEncryption random() {
    byte[] k = new byte[32];
    new SecureRandom().nextBytes(k);
    return new KeyEncryption(new SecretKeySpec(k, "AES"));
  }

  @Test
  void roundTripsAndBindsTheKid() {
    KeyEncryption kek = random();
    byte[] secret = "pkcs8 bytes".getBytes(StandardCharsets.UTF_8);
    byte[] sealed = kek.encrypt("kid-1", secret);
    assertThat(sealed).hasSize(12 + secret.length + 16);
    assertThat(kek.decrypt("kid-1", sealed)).isEqualTo(secret);
    assertThat(kek.encrypt("kid-1", secret)).as("fresh nonce each time").isNotEqualTo(sealed);
    assertThatThrownBy(() -> kek.decrypt("kid-2", sealed)).isInstanceOf(KeyEncryption.WrongKeyException.class);
  }

  @Test
  void anotherKeyEncryptionKeyIsNamedAsTheLikelyCause() {
    byte[] sealed = random().encrypt("kid-1", new byte[40]);
    assertThatThrownBy(() -> random().decrypt("kid-1", sealed))
        .isInstanceOf(KeyEncryption.WrongKeyException.class)
        .hasMessageContaining("FRONTLINE_KEY_ENCRYPTION_KEY");
    assertThatThrownBy(() -> new KeyEncryption(new SecretKeySpec(new byte[16], "AES")))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
