package org.frontline.webhooks;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.Locale;

/**
 * Which webhook targets may be called (server-side request forgery): https only (port 1 to 65535), and never an address of the
 * service's own networks: loopback, private (RFC 1918, fc00::/7), carrier-grade NAT, link-local (169.254/16 with the
 * cloud metadata address 169.254.169.254, fe80::/10), the metadata address fd00:ec2::254, unspecified (0.0.0.0, ::)
 * or multicast, and the IPv4 special-purpose blocks 192.0.0.0/24, 198.18.0.0/15 (benchmarking) and 240.0.0.0/4
 * (reserved). An IPv6 address that carries an IPv4 address (NAT64 64:ff9b::/96, IPv4-compatible ::a.b.c.d,
 * IPv4-translated ::ffff:0:a.b.c.d, IPv4-mapped) is judged by that IPv4 address too, since a NAT64 gateway or a
 * dual stack delivers it there; 6to4 (2002::/16), Teredo (2001::/32) and local-use NAT64 (64:ff9b:1::/48, where
 * the IPv4 address may sit at any of several offsets) are refused outright. Checked when a URL is subscribed (literal addresses) and again at every delivery, after DNS
 * resolution: the delivery connects to the address checked here, so a name that resolves differently later (DNS
 * rebinding) cannot reach what was refused. {@code allowLoopback} (dev and the test service only) also admits
 * http:// and loopback addresses; nothing else.
 */
public final class WebhookTargets {
  private static final Logger log = LoggerFactory.getLogger(WebhookTargets.class);

  /** A target refused, with the reason given to the partner. */
  public static final class RefusedTarget extends Exception {
    RefusedTarget(String reason) {
      super(reason, null, false, false);
    }
  }

  /** A checked target: where to connect (the checked address) and what to ask for (host, port, path). */
  public record Target(URI uri, boolean tls, String host, int port, String requestUri, InetAddress address) {}

  private final boolean allowLoopback;

  public WebhookTargets(boolean allowLoopback) {
    this.allowLoopback = allowLoopback;
  }

  /** The URL's form (scheme, host, no user info or fragment) and, when its host is an address literal, that address. */
  public URI checkUrl(String url) throws RefusedTarget {
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      throw new RefusedTarget("Not a URL: " + e.getReason() + ".");
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("https") && !(allowLoopback && scheme.equals("http"))) {
      throw new RefusedTarget("The URL must be https://.");
    }
    if (uri.getRawUserInfo() != null || uri.getRawFragment() != null) {
      throw new RefusedTarget("The URL may have no user information or fragment.");
    }
    String host = uri.getHost();
    if (host == null || host.isEmpty()) {
      throw new RefusedTarget("The URL has no host.");
    }
    // java.net.URI takes any digits as a port: 0 or 65536 would only fail at every delivery.
    if (uri.getPort() != -1 && (uri.getPort() < 1 || uri.getPort() > 65535)) {
      throw new RefusedTarget("The port must be from 1 to 65535.");
    }
    if (isLiteral(host)) {
      check(literal(host));
    }
    // A name is judged by what it resolves to, at each delivery (resolve): "localhost" is refused there.
    return uri;
  }

  /**
   * Resolves the URL's host (blocking: run it on a worker) and checks every address it resolves to; the first is
   * where the delivery connects. Any refused address refuses the target (a name mixing public and private
   * addresses is not trusted with either).
   */
  public Target resolve(String url) throws RefusedTarget {
    URI uri = checkUrl(url);
    String host = uri.getHost();
    InetAddress[] addresses;
    if (isLiteral(host)) {
      addresses = new InetAddress[] {literal(host)};
      check(addresses[0]);
    } else {
      addresses = resolveName(host);
    }
    boolean tls = uri.getScheme().equalsIgnoreCase("https");
    int port = uri.getPort() > 0 ? uri.getPort() : tls ? 443 : 80;
    String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
    String requestUri = uri.getRawQuery() == null ? path : path + "?" + uri.getRawQuery();
    String bareHost = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
    return new Target(uri, tls, bareHost, port, requestUri, addresses[0]);
  }

  /**
   * Every address of a name, each checked. The reason given (the delivery's lastError, which the partner reads) never
   * says what the name resolved to, nor tells a name that does not resolve from one refused: it read "The target
   * 10.1.2.3 is a private address", so a partner could map the service's internal DNS by subscribing names. The
   * full reason is logged.
   */
  private InetAddress[] resolveName(String host) throws RefusedTarget {
    try {
      InetAddress[] addresses = InetAddress.getAllByName(host);
      for (InetAddress a : addresses) {
        check(a);
      }
      return addresses;
    } catch (UnknownHostException | RefusedTarget e) {
      log.info("webhook target {} refused: {}", host, e instanceof RefusedTarget ? e.getMessage() : "does not resolve");
      throw new RefusedTarget("The host " + host + " does not resolve to an address webhooks may reach (public "
          + "addresses only).");
    }
  }

  /** Refuses an address of the classes named in the class comment. */
  public void check(InetAddress a) throws RefusedTarget {
    if (a.isLoopbackAddress()) {
      if (allowLoopback) {
        return;
      }
      throw new RefusedTarget("The target " + a.getHostAddress() + " is a loopback address.");
    }
    if (a instanceof Inet6Address) {
      checkTunnel(a);
      Inet4Address embedded = embeddedIPv4(a);
      if (embedded != null && !a.isAnyLocalAddress()) {
        try {
          check(embedded);
        } catch (RefusedTarget e) {
          throw new RefusedTarget("The target " + a.getHostAddress() + " carries the IPv4 address "
              + embedded.getHostAddress() + ": " + e.getMessage());
        }
      }
    }
    if (a.isAnyLocalAddress() || isZeroNetwork(a)) {
      throw new RefusedTarget("The target " + a.getHostAddress() + " is an unspecified address.");
    }
    if (a.isMulticastAddress() || isReserved(a)) {
      throw new RefusedTarget("The target " + a.getHostAddress() + " is a multicast, broadcast or reserved address.");
    }
    if (a.isLinkLocalAddress()) {
      throw new RefusedTarget("The target " + a.getHostAddress() + " is a link-local address (cloud metadata lives there).");
    }
    if (a.isSiteLocalAddress() || isUniqueLocal(a) || isSharedAddressSpace(a)) {
      throw new RefusedTarget("The target " + a.getHostAddress() + " is a private address.");
    }
  }

  private static boolean isLiteral(String host) {
    return host.startsWith("[") || host.matches("[0-9.]+");
  }

  /** An address literal, without any lookup (InetAddress parses literals itself). */
  private static InetAddress literal(String host) throws RefusedTarget {
    String bare = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
    if (!bare.contains(":") && !bare.matches("(\\d{1,3})(\\.\\d{1,3}){3}")) {
      // "127.1" or "2130706433" are loopback to many resolvers: only dotted quads are addresses here.
      throw new RefusedTarget("The host " + host + " is not a dotted-quad address or a name.");
    }
    try {
      return InetAddress.getByName(bare);
    } catch (UnknownHostException e) {
      throw new RefusedTarget("The host " + host + " is not an address.");
    }
  }

  /** fc00::/7: IPv6 unique local addresses (including the EC2 metadata address fd00:ec2::254). */
  private static boolean isUniqueLocal(InetAddress a) {
    return a instanceof Inet6Address && (a.getAddress()[0] & 0xfe) == 0xfc;
  }

  /** 100.64.0.0/10 (RFC 6598): carrier-grade NAT, internal to a provider's network. */
  private static boolean isSharedAddressSpace(InetAddress a) {
    byte[] b = a.getAddress();
    return a instanceof Inet4Address && (b[0] & 0xff) == 100 && (b[1] & 0xc0) == 64;
  }

  /** 0.0.0.0/8: "this network" (0.0.0.0 reaches the local host on Linux). */
  private static boolean isZeroNetwork(InetAddress a) {
    return a instanceof Inet4Address && a.getAddress()[0] == 0;
  }

  /**
   * 240.0.0.0/4 (reserved, with the broadcast address), 192.0.0.0/24 (IETF protocol assignments) and
   * 198.18.0.0/15 (benchmarking, used inside networks).
   */
  private static boolean isReserved(InetAddress a) {
    if (!(a instanceof Inet4Address)) {
      return false;
    }
    int b0 = a.getAddress()[0] & 0xff;
    int b1 = a.getAddress()[1] & 0xff;
    int b2 = a.getAddress()[2] & 0xff;
    return b0 >= 240 || (b0 == 192 && b1 == 0 && b2 == 0) || (b0 == 198 && (b1 & 0xfe) == 18);
  }

  /** 6to4, Teredo and local-use NAT64: tunnels to IPv4 addresses that are refused rather than decoded. */
  private static void checkTunnel(InetAddress a) throws RefusedTarget {
    byte[] b = a.getAddress();
    int w0 = ((b[0] & 0xff) << 8) | (b[1] & 0xff);
    int w1 = ((b[2] & 0xff) << 8) | (b[3] & 0xff);
    int w2 = ((b[4] & 0xff) << 8) | (b[5] & 0xff);
    if (w0 == 0x2002) {
      throw new RefusedTarget("The target " + a.getHostAddress() + " is a 6to4 address (2002::/16).");
    }
    if (w0 == 0x2001 && w1 == 0) {
      throw new RefusedTarget("The target " + a.getHostAddress() + " is a Teredo address (2001::/32).");
    }
    if (w0 == 0x64 && w1 == 0xff9b && w2 == 1) {
      throw new RefusedTarget("The target " + a.getHostAddress() + " is a local-use NAT64 address (64:ff9b:1::/48).");
    }
  }

  /**
   * The IPv4 address in the last 32 bits of a NAT64 (64:ff9b::/96), IPv4-compatible (::/96), IPv4-mapped
   * (::ffff:0:0/96) or IPv4-translated (::ffff:0:0:0/96) address; null for any other IPv6 address.
   */
  private static Inet4Address embeddedIPv4(InetAddress a) {
    byte[] b = a.getAddress();
    boolean nat64 = b[0] == 0 && b[1] == 0x64 && (b[2] & 0xff) == 0xff && (b[3] & 0xff) == 0x9b && zero(b, 4, 12);
    boolean compatible = zero(b, 0, 12);
    boolean mapped = zero(b, 0, 10) && (b[10] & 0xff) == 0xff && (b[11] & 0xff) == 0xff;
    boolean translated = zero(b, 0, 8) && (b[8] & 0xff) == 0xff && (b[9] & 0xff) == 0xff && zero(b, 10, 12);
    if (!(nat64 || compatible || mapped || translated)) {
      return null;
    }
    try {
      return (Inet4Address) InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]});
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);  // four bytes are always an address
    }
  }

  private static boolean zero(byte[] b, int from, int to) {
    for (int i = from; i < to; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    return true;
  }
}
