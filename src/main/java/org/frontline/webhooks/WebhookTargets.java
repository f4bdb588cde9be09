package org.frontline.webhooks;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.Locale;

/**
 * Which webhook targets may be called (server-side request forgery): https only, and never an address of the
 * service's own networks: loopback, private (RFC 1918, fc00::/7), carrier-grade NAT, link-local (169.254/16 with the
 * cloud metadata address 169.254.169.254, fe80::/10), the metadata address fd00:ec2::254, unspecified (0.0.0.0, ::)
 * or multicast. Checked when a URL is subscribed (literal addresses) and again at every delivery, after DNS
 * resolution: the delivery connects to the address checked here, so a name that resolves differently later (DNS
 * rebinding) cannot reach what was refused. {@code allowLoopback} (dev and the test service only) also admits
 * http:// and loopback addresses; nothing else.
 */
public final class WebhookTargets {

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
    try {
      addresses = isLiteral(host) ? new InetAddress[] {literal(host)} : InetAddress.getAllByName(host);
    } catch (UnknownHostException e) {
      throw new RefusedTarget("The host " + host + " does not resolve.");
    }
    for (InetAddress a : addresses) {
      check(a);
    }
    boolean tls = uri.getScheme().equalsIgnoreCase("https");
    int port = uri.getPort() > 0 ? uri.getPort() : tls ? 443 : 80;
    String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
    String requestUri = uri.getRawQuery() == null ? path : path + "?" + uri.getRawQuery();
    String bareHost = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
    return new Target(uri, tls, bareHost, port, requestUri, addresses[0]);
  }

  /** Refuses an address of the classes named in the class comment. */
  public void check(InetAddress a) throws RefusedTarget {
    if (a.isLoopbackAddress()) {
      if (allowLoopback) {
        return;
      }
      throw new RefusedTarget("The target " + a.getHostAddress() + " is a loopback address.");
    }
    if (a.isAnyLocalAddress() || isZeroNetwork(a)) {
      throw new RefusedTarget("The target " + a.getHostAddress() + " is an unspecified address.");
    }
    if (a.isMulticastAddress() || isBroadcast(a)) {
      throw new RefusedTarget("The target " + a.getHostAddress() + " is a multicast or broadcast address.");
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

  private static boolean isBroadcast(InetAddress a) {
    byte[] b = a.getAddress();
    return a instanceof Inet4Address && (b[0] & 0xff) >= 240;
  }
}
