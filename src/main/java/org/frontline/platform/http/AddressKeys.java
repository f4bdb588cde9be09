package org.frontline.platform.http;

import io.netty.util.NetUtil;

import java.util.Arrays;

/**
 * The part of a client's address that throttles and rate limits count under. An IPv4 address is counted as it is.
 * An IPv6 client is given a /64 at least (a home or a phone network's prefix; RFC 6177) and may take any address
 * in it, so counting each address would hand it 2^64 budgets: an IPv6 address counts under its /64. An IPv4 address
 * written as IPv6 (::ffff:a.b.c.d, what a dual-stack socket reports) counts as that IPv4 address. Anything that is
 * no IP literal is counted as it is (never looked up).
 */
public final class AddressKeys {
  private static final byte[] MAPPED_PREFIX = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff};

  private AddressKeys() {}

  /** The key {@code address} is counted under; null for null. */
  public static String of(String address) {
    if (address == null) {
      return null;
    }
    byte[] bytes = NetUtil.createByteArrayFromIpAddressString(address);
    if (bytes == null || bytes.length != 16) {
      return address;
    }
    if (Arrays.equals(bytes, 0, MAPPED_PREFIX.length, MAPPED_PREFIX, 0, MAPPED_PREFIX.length)) {
      return NetUtil.bytesToIpAddress(bytes, MAPPED_PREFIX.length, 4);
    }
    Arrays.fill(bytes, 8, 16, (byte) 0);
    return NetUtil.bytesToIpAddress(bytes) + "/64";
  }
}
