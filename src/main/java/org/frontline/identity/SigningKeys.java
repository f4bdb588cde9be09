package org.frontline.identity;

import io.vertx.core.json.JsonObject;

import java.math.BigInteger;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.HexFormat;
import java.util.regex.Pattern;

/** ES256 (EC P-256) signing keys: generation, key ids, and the public half as an RFC 7517 JWK. */
public final class SigningKeys {
  /** The shape of every key id we issue or accept. */
  public static final Pattern KID = Pattern.compile("[A-Za-z0-9._-]{1,64}");
  private static final DateTimeFormatter KID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
      .withZone(ZoneOffset.UTC);
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Base64.Encoder ENC = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder DEC = Base64.getUrlDecoder();

  /** A key pair with its id. */
  public record SigningKey(String kid, ECPrivateKey privateKey, ECPublicKey publicKey) {
    @Override
    public String toString() {
      return "SigningKey[" + kid + "]";
    }
  }

  private SigningKeys() {}

  /** A new P-256 key with a fresh id: es256-&lt;UTC time&gt;-&lt;random&gt;. */
  public static SigningKey generate(Instant now) {
    byte[] suffix = new byte[4];
    RANDOM.nextBytes(suffix);
    return generate("es256-" + KID_TIME.format(now) + "-" + HexFormat.of().formatHex(suffix));
  }

  public static SigningKey generate(String kid) {
    if (!KID.matcher(kid).matches()) {
      throw new IllegalArgumentException("a key id must match " + KID.pattern());
    }
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
      KeyPair pair = generator.generateKeyPair();
      return new SigningKey(kid, (ECPrivateKey) pair.getPrivate(), (ECPublicKey) pair.getPublic());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot generate an EC P-256 key", e);
    }
  }

  /** The public key as a JWK (never the private part). */
  public static JsonObject publicJwk(String kid, ECPublicKey key) {
    ECPoint w = key.getW();
    return new JsonObject()
        .put("kty", "EC")
        .put("crv", "P-256")
        .put("x", ENC.encodeToString(unsigned32(w.getAffineX())))
        .put("y", ENC.encodeToString(unsigned32(w.getAffineY())))
        .put("kid", kid)
        .put("use", "sig")
        .put("alg", "ES256");
  }

  /** The P-256 public key of a JWK written by {@link #publicJwk}. */
  public static ECPublicKey publicKey(JsonObject jwk) {
    if (!"EC".equals(jwk.getString("kty")) || !"P-256".equals(jwk.getString("crv"))) {
      throw new IllegalArgumentException("not an EC P-256 JWK");
    }
    try {
      return (ECPublicKey) KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(new ECPoint(
          new BigInteger(1, DEC.decode(jwk.getString("x"))), new BigInteger(1, DEC.decode(jwk.getString("y")))),
          p256()));
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("not a valid P-256 public key", e);
    }
  }

  /** The private key from its PKCS#8 encoding. */
  public static ECPrivateKey privateKey(byte[] pkcs8) {
    try {
      ECPrivateKey key = (ECPrivateKey) KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
      if (key.getParams().getCurve().getField().getFieldSize() != 256) {
        throw new IllegalArgumentException("not a P-256 key");
      }
      return key;
    } catch (GeneralSecurityException | ClassCastException e) {
      throw new IllegalArgumentException("not an EC P-256 private key", e);
    }
  }

  private static ECParameterSpec p256() throws GeneralSecurityException {
    AlgorithmParameters params = AlgorithmParameters.getInstance("EC");
    params.init(new ECGenParameterSpec("secp256r1"));
    return params.getParameterSpec(ECParameterSpec.class);
  }

  private static byte[] unsigned32(BigInteger v) {
    byte[] raw = v.toByteArray();
    byte[] out = new byte[32];
    int len = Math.min(raw.length, 32);
    System.arraycopy(raw, raw.length - len, out, 32 - len, len);
    return out;
  }
}
