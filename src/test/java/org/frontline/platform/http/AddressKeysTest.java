package org.frontline.platform.http;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class AddressKeysTest {

  @Test
  void anIpv4AddressCountsAsItIs() {
    assertThat(AddressKeys.of("192.0.2.77")).isEqualTo("192.0.2.77");
    assertThat(AddressKeys.of("127.0.0.9")).isEqualTo("127.0.0.9");
  }

  @Test
  void everyAddressOfAnIpv6SlashSixtyFourCountsAsOne() {
    String key = AddressKeys.of("2001:db8:1:2::a");
    assertThat(key).isEqualTo("2001:db8:1:2::/64");
    assertThat(AddressKeys.of("2001:0db8:0001:0002:ffff:ffff:ffff:ffff")).isEqualTo(key);
    assertThat(AddressKeys.of("2001:db8:1:2:0:0:0:1")).isEqualTo(key);
    assertThat(AddressKeys.of("2001:db8:1:3::a")).isEqualTo("2001:db8:1:3::/64");
    assertThat(AddressKeys.of("0:0:0:0:0:0:0:1")).isEqualTo("::/64");
  }

  @Test
  void anIpv4AddressWrittenAsIpv6CountsAsTheIpv4Address() {
    assertThat(AddressKeys.of("::ffff:192.0.2.77")).isEqualTo("192.0.2.77");
    assertThat(AddressKeys.of("0:0:0:0:0:ffff:c000:24d")).isEqualTo("192.0.2.77");
  }

  @Test
  void whatIsNoIpLiteralCountsAsItIsAndIsNeverLookedUp() {
    assertThat(AddressKeys.of("unknown")).isEqualTo("unknown");
    assertThat(AddressKeys.of("localhost")).isEqualTo("localhost");
    assertThat(AddressKeys.of("2001:db8::g")).isEqualTo("2001:db8::g");
    assertThat(AddressKeys.of(null)).isNull();
  }
}
