package org.frontline.identity;

import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;

/**
 * Encrypts signing keys at rest: AES-256-GCM under the key-encryption key from configuration, a random 96-bit
 * nonce per encryption, the key id bound as associated data (a ciphertext moved to another row does not decrypt).
 * Stored form: nonce (12) || ciphertext || tag (16).
 */
public final class KeyEncryption {
  private static final int NONCE = 12;
  private static final int TAG_BITS = 128;
  private static final SecureRandom RANDOM = new SecureRandom();

  /** The stored ciphertext does not open under this key-encryption key (wrong key, or altered data). */
  public static final class WrongKeyException extends RuntimeException {
    WrongKeyException(String kid) {
      super("cannot decrypt signing key " + kid + ": is FRONTLINE_KEY_ENCRYPTION_KEY the one it was stored with?");
    }
  }

  private final SecretKey kek;

  public KeyEncryption(SecretKey kek) {
    if (kek == null || kek.getEncoded() == null || kek.getEncoded().length != 32) {
      throw new IllegalArgumentException("the key-encryption key must be 32 bytes");
    }
    this.kek = kek;
  }

  public byte[] encrypt(String kid, byte[] plaintext) {
    try {
      byte[] nonce = new byte[NONCE];
      RANDOM.nextBytes(nonce);
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.ENCRYPT_MODE, kek, new GCMParameterSpec(TAG_BITS, nonce));
      cipher.updateAAD(aad(kid));
      byte[] sealed = cipher.doFinal(plaintext);
      byte[] out = Arrays.copyOf(nonce, NONCE + sealed.length);
      System.arraycopy(sealed, 0, out, NONCE, sealed.length);
      return out;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM encryption failed", e);
    }
  }

  public byte[] decrypt(String kid, byte[] stored) {
    if (stored == null || stored.length <= NONCE + TAG_BITS / 8) {
      throw new WrongKeyException(kid);
    }
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.DECRYPT_MODE, kek, new GCMParameterSpec(TAG_BITS, stored, 0, NONCE));
      cipher.updateAAD(aad(kid));
      return cipher.doFinal(stored, NONCE, stored.length - NONCE);
    } catch (AEADBadTagException e) {
      throw new WrongKeyException(kid);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM decryption failed", e);
    }
  }

  private static byte[] aad(String kid) {
    return ("frontline-signing-key:" + kid).getBytes(StandardCharsets.UTF_8);
  }
}
