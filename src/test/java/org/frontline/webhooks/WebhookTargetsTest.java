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
      "https://2130706433/hook", "https://127.1/hook"})                                         // odd loopback forms
  void privateAndSpecialAddressesAreRefusedInProduction(String url) {
    assertThatThrownBy(() -> production.checkUrl(url)).isInstanceOf(WebhookTargets.RefusedTarget.class);
    assertThatThrownBy(() -> production.resolve(url)).isInstanceOf(WebhookTargets.RefusedTarget.class);
  }

  @ParameterizedTest
  @ValueSource(strings = {"http://partner.example/hook", "ftp://partner.example/hook", "file:///etc/passwd",
      "https://user:pw@partner.example/hook", "https://partner.example/hook#x", "not a url", "https:///nohost"})
  void onlyPlainHttpsUrlsAreAccepted(String url) {
    assertThatThrownBy(() -> production.checkUrl(url)).isInstanceOf(WebhookTargets.RefusedTarget.class);
  }

  @Test
  void aNameIsJudgedByTheAddressItResolvesTo() throws Exception {
    // The name passes the form check; at delivery it resolves to 127.0.0.1 and is refused there.
    assertThat(production.checkUrl("https://localhost/hook").getHost()).isEqualTo("localhost");
    assertThatThrownBy(() -> production.resolve("https://localhost/hook"))
        .isInstanceOf(WebhookTargets.RefusedTarget.class).hasMessageContaining("loopback");
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
  }
}
