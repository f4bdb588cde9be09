package org.frontline.webhooks;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): the secret is {@code whsec_} + base64 of random
 * bytes; a signature is {@code v1,} + base64(HMAC-SHA256(secret bytes, "{webhook-id}.{webhook-timestamp}.{body}")),
 * and {@code webhook-signature} lists one per live secret, space-separated (two during a rotation's overlap).
 */
public final class WebhookSignatures {
  static final String PREFIX = "whsec_";
  private static final SecureRandom RANDOM = new SecureRandom();

  private WebhookSignatures() {}

  /** A new secret of 32 random bytes (the spec asks for 24 to 64). */
  public static byte[] newSecret() {
    byte[] key = new byte[32];
    RANDOM.nextBytes(key);
    return key;
  }

  /** The secret as shown to the partner. */
  public static String display(byte[] key) {
    return PREFIX + Base64.getEncoder().encodeToString(key);
  }

  public static String sign(byte[] key, String messageId, long timestampSeconds, String body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      byte[] signed = mac.doFinal((messageId + "." + timestampSeconds + "." + body).getBytes(StandardCharsets.UTF_8));
      return "v1," + Base64.getEncoder().encodeToString(signed);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }

  /** The {@code webhook-signature} header value for every live secret. */
  public static String header(List<byte[]> keys, String messageId, long timestampSeconds, String body) {
    return keys.stream().map(k -> sign(k, messageId, timestampSeconds, body)).collect(Collectors.joining(" "));
  }
}
