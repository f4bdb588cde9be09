package org.frontline.partners;

import io.vertx.core.json.JsonObject;

import java.math.BigInteger;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.EllipticCurve;
import java.security.spec.RSAPublicKeySpec;
import java.util.Base64;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The public keys a partner registers for {@code private_key_jwt} (RFC 7517 JWKs given inline, never fetched): an EC
 * P-256 key pinned to ES256 or an RSA key of at least 2048 bits pinned to RS256, each with a kid. Anything else,
 * private key material included, is refused with the reason.
 */
final class PartnerKeys {
  static final Pattern KID = Pattern.compile("[A-Za-z0-9._~:+=-]{1,128}");
  /** Private parts (EC d; RSA d, p, q, dp, dq, qi, oth; symmetric k): never accepted, never stored. */
  private static final Set<String> PRIVATE = Set.of("d", "p", "q", "dp", "dq", "qi", "oth", "k");
  /** Members that point elsewhere for the key: we never fetch, so they are refused rather than ignored. */
  private static final Set<String> REMOTE = Set.of("x5u", "jku", "x5c");
  private static final Base64.Decoder DEC = Base64.getUrlDecoder();
  private static final ECParameterSpec P256 = p256();

  /** A validated key: its kid, pinned algorithm, the public JWK as stored, and the JCA key. */
  record Key(String kid, String alg, JsonObject jwk, PublicKey publicKey) {}

  /** Why a JWK was refused (the caller names the field). */
  static final class InvalidKeyException extends Exception {
    InvalidKeyException(String reason) {
      super(reason, null, false, false);
    }
  }

  private PartnerKeys() {}

  static Key parse(JsonObject jwk) throws InvalidKeyException {
    for (String name : jwk.fieldNames()) {
      if (PRIVATE.contains(name)) {
        throw new InvalidKeyException("A private key member (" + name + ") was sent: register the public key only.");
      }
      if (REMOTE.contains(name)) {
        throw new InvalidKeyException("Key URLs and certificate chains (" + name + ") are not accepted: give the key inline.");
      }
    }
    Object kid = jwk.getValue("kid");
    if (!(kid instanceof String k) || !KID.matcher(k).matches()) {
      throw new InvalidKeyException("kid is required (1-128 characters of A-Z a-z 0-9 . _ ~ : + = -).");
    }
    Object use = jwk.getValue("use");
    if (use != null && !"sig".equals(use)) {
      throw new InvalidKeyException("use must be sig.");
    }
    String kty = string(jwk, "kty");
    String alg = string(jwk, "alg");
    if ("EC".equals(kty)) {
      if (!"ES256".equals(alg)) {
        throw new InvalidKeyException("An EC key must have alg ES256.");
      }
      if (!"P-256".equals(jwk.getValue("crv"))) {
        throw new InvalidKeyException("An EC key must be on curve P-256.");
      }
      BigInteger x = coordinate(jwk, "x");
      BigInteger y = coordinate(jwk, "y");
      if (!onCurve(x, y)) {
        throw new InvalidKeyException("The point (x, y) is not on P-256.");
      }
      PublicKey key = generate("EC", new ECPublicKeySpec(new ECPoint(x, y), P256));
      return new Key(k, alg, new JsonObject().put("kty", "EC").put("crv", "P-256").put("x", jwk.getString("x"))
          .put("y", jwk.getString("y")).put("kid", k).put("alg", alg).put("use", "sig"), key);
    }
    if ("RSA".equals(kty)) {
      if (!"RS256".equals(alg)) {
        throw new InvalidKeyException("An RSA key must have alg RS256.");
      }
      BigInteger n = unsigned(jwk, "n");
      BigInteger e = unsigned(jwk, "e");
      if (n.bitLength() < 2048 || n.bitLength() > 8192) {
        throw new InvalidKeyException("An RSA modulus must have 2048 to 8192 bits.");
      }
      if (!e.testBit(0) || e.compareTo(BigInteger.valueOf(3)) < 0 || e.bitLength() > 32 || !n.testBit(0)) {
        throw new InvalidKeyException("The RSA key is malformed (exponent or modulus).");
      }
      PublicKey key = generate("RSA", new RSAPublicKeySpec(n, e));
      return new Key(k, alg, new JsonObject().put("kty", "RSA").put("n", jwk.getString("n"))
          .put("e", jwk.getString("e")).put("kid", k).put("alg", alg).put("use", "sig"), key);
    }
    throw new InvalidKeyException("kty must be EC (P-256, ES256) or RSA (RS256).");
  }

  /** The JCA key of a stored (already validated) JWK. */
  static PublicKey publicKey(JsonObject stored) {
    try {
      return parse(stored).publicKey();
    } catch (InvalidKeyException e) {
      throw new IllegalStateException("a stored partner key is invalid: " + e.getMessage());
    }
  }

  private static String string(JsonObject jwk, String name) throws InvalidKeyException {
    Object v = jwk.getValue(name);
    if (!(v instanceof String s)) {
      throw new InvalidKeyException(name + " is required.");
    }
    return s;
  }

  private static BigInteger unsigned(JsonObject jwk, String name) throws InvalidKeyException {
    String s = string(jwk, name);
    try {
      byte[] bytes = DEC.decode(s);
      if (bytes.length == 0) {
        throw new InvalidKeyException(name + " is empty.");
      }
      return new BigInteger(1, bytes);
    } catch (IllegalArgumentException e) {
      throw new InvalidKeyException(name + " is not base64url.");
    }
  }

  private static BigInteger coordinate(JsonObject jwk, String name) throws InvalidKeyException {
    String s = string(jwk, name);
    try {
      byte[] bytes = DEC.decode(s);
      if (bytes.length != 32) {
        throw new InvalidKeyException(name + " must be 32 bytes (RFC 7518 section 6.2.1.2).");
      }
      return new BigInteger(1, bytes);
    } catch (IllegalArgumentException e) {
      throw new InvalidKeyException(name + " is not base64url.");
    }
  }

  /** y^2 = x^3 + ax + b (mod p), with both coordinates in the field: the JDK does not check it on import. */
  private static boolean onCurve(BigInteger x, BigInteger y) {
    EllipticCurve curve = P256.getCurve();
    BigInteger p = ((java.security.spec.ECFieldFp) curve.getField()).getP();
    if (x.signum() < 0 || x.compareTo(p) >= 0 || y.signum() < 0 || y.compareTo(p) >= 0) {
      return false;
    }
    BigInteger left = y.multiply(y).mod(p);
    BigInteger right = x.pow(3).add(curve.getA().multiply(x)).add(curve.getB()).mod(p);
    return left.equals(right);
  }

  private static PublicKey generate(String algorithm, java.security.spec.KeySpec spec) throws InvalidKeyException {
    try {
      return KeyFactory.getInstance(algorithm).generatePublic(spec);
    } catch (GeneralSecurityException e) {
      throw new InvalidKeyException("The key cannot be used: " + e.getMessage());
    }
  }

  private static ECParameterSpec p256() {
    try {
      AlgorithmParameters params = AlgorithmParameters.getInstance("EC");
      params.init(new ECGenParameterSpec("secp256r1"));
      return params.getParameterSpec(ECParameterSpec.class);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
