package org.frontline.webhooks;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The target policy as production runs it (no loopback, https only), and as dev mode relaxes it. */
class WebhookTargetsTest {
  private final WebhookTargets production = new WebhookTargets(false);
  private final WebhookTargets dev = new WebhookTargets(true);

  @ParameterizedTest
  @ValueSource(strings = {
      "https://127.0.0.1/hook", "https://127.8.9.10/hook", "https://[::1]/hook",               // loopback
      "https://10.0.0.1/hook", "https://172.16.5.4/hook", "https://192.168.1.1/hook",           // RFC 1918
      "https://[fc00::1]/hook", "https://[fd12:3456::1]/hook",                                  // fc00::/7
      "https://169.254.1.1/hook", "https://[fe80::1]/hook",                                     // link-local
      "https://169.254.169.254/latest/meta-data", "https://[fd00:ec2::254]/latest",            // metadata
      "https://0.0.0.0/hook", "https://[::]/hook", "https://0.1.2.3/hook",                      // unspecified
      "https://224.0.0.1/hook", "https://[ff02::1]/hook", "https://255.255.255.255/hook",      // multicast, broadcast
      "https://100.64.0.1/hook", "https://[::ffff:127.0.0.1]/hook", "https://[::ffff:10.0.0.1]/hook",
      "https://2130706433/hook", "https://127.1/hook",                                          // odd loopback forms
      "https://192.0.0.8/hook", "https://198.18.0.1/hook", "https://198.19.255.1/hook",         // special purpose
      "https://240.0.0.1/hook", "https://250.1.2.3/hook",                                       // reserved 240/4
      "https://[64:ff9b::7f00:1]/hook", "https://[64:ff9b::10.0.0.1]/hook",                    // NAT64 of private
      "https://[64:ff9b::169.254.169.254]/hook", "https://[64:ff9b:1::a00:1]/hook",             // NAT64, local NAT64
      "https://[2002:7f00:1::1]/hook", "https://[2002:5db8:d70e::1]/hook",                      // 6to4 (any)
      "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",                                     // Teredo
      "https://[::127.0.0.1]/hook", "https://[::10.0.0.1]/hook", "https://[::169.254.169.254]/hook", // IPv4-compatible
      "https://[::ffff:0:127.0.0.1]/hook", "https://[::ffff:0:192.168.0.1]/hook"})              // IPv4-translated
  void privateAndSpecialAddressesAreRefusedInProduction(String url) {
    assertThatThrownBy(() -> production.checkUrl(url)).isInstanceOf(WebhookTargets.RefusedTarget.class);
    assertThatThrownBy(() -> production.resolve(url)).isInstanceOf(WebhookTargets.RefusedTarget.class);
  }

  @ParameterizedTest
  @ValueSource(strings = {"http://partner.example/hook", "ftp://partner.example/hook", "file:///etc/passwd",
      "https://user:pw@partner.example/hook", "https://partner.example/hook#x", "not a url", "https:///nohost",
      "https://partner.example:0/hook", "https://partner.example:65536/hook", "https://partner.example:99999/hook"})
  void onlyPlainHttpsUrlsAreAccepted(String url) {
    assertThatThrownBy(() -> production.checkUrl(url)).isInstanceOf(WebhookTargets.RefusedTarget.class);
  }

  @Test
  void aNameIsJudgedByTheAddressItResolvesTo() throws Exception {
    // The name passes the form check; at delivery it resolves to 127.0.0.1 and is refused there, without saying
    // what it resolved to.
    assertThat(production.checkUrl("https://localhost/hook").getHost()).isEqualTo("localhost");
    assertThatThrownBy(() -> production.resolve("https://localhost/hook"))
        .isInstanceOf(WebhookTargets.RefusedTarget.class)
        .hasMessageContaining("does not resolve to an address webhooks may reach").hasMessageNotContaining("127.0.0.1");
  }

  @Test
  void devModeAllowsHttpAndLoopbackOnly() throws Exception {
    WebhookTargets.Target t = dev.resolve("http://localhost:8123/hook?x=1");
    assertThat(t.address().isLoopbackAddress()).isTrue();
    assertThat(t.port()).isEqualTo(8123);
    assertThat(t.tls()).isFalse();
    assertThat(t.requestUri()).isEqualTo("/hook?x=1");
    assertThat(t.host()).isEqualTo("localhost");
    assertThatThrownBy(() -> dev.checkUrl("http://10.0.0.1/hook")).isInstanceOf(WebhookTargets.RefusedTarget.class);
    assertThatThrownBy(() -> dev.checkUrl("http://169.254.169.254/")).isInstanceOf(WebhookTargets.RefusedTarget.class);
    assertThatThrownBy(() -> dev.checkUrl("ftp://127.0.0.1/")).isInstanceOf(WebhookTargets.RefusedTarget.class);
  }

  @Test
  void aPublicAddressIsAccepted() throws Exception {
    WebhookTargets.Target t = production.resolve("https://93.184.215.14/hook");
    assertThat(t.tls()).isTrue();
    assertThat(t.port()).isEqualTo(443);
    assertThat(t.address().getHostAddress()).isEqualTo("93.184.215.14");
    // An IPv6 address carrying a public IPv4 address through NAT64 is a public target too; so is plain IPv6.
    assertThat(production.resolve("https://[64:ff9b::93.184.215.14]/hook").address().getHostAddress())
        .isEqualTo("64:ff9b:0:0:0:0:5db8:d70e");
    assertThat(production.resolve("https://[2606:2800:220:1::1]/hook").tls()).isTrue();
  }
}
