package org.frontline.enterprises;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class UsccTest {
  @Test
  void theKnownExampleVerifies() {
    assertThat(Uscc.checkCharacter("91350100M000100Y4")).isEqualTo('3');
    assertThat(Uscc.valid("91350100M000100Y43")).isTrue();
  }

  @Test
  void theCheckCharacterFollowsGb32100() {
    // sum of weights x values for 91320000MA1000001: computed by hand from the standard's table.
    String prefix = "91320000MA1000001";
    int[] w = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
    int sum = 0;
    for (int i = 0; i < 17; i++) {
      sum += Uscc.ALPHABET.indexOf(prefix.charAt(i)) * w[i];
    }
    int c = 31 - sum % 31;
    assertThat(Uscc.checkCharacter(prefix)).isEqualTo(Uscc.ALPHABET.charAt(c == 31 ? 0 : c));
    assertThat(Uscc.valid(prefix + Uscc.checkCharacter(prefix))).isTrue();
  }

  @Test
  void aWrongCheckCharacterOrAForeignCharacterIsInvalid() {
    assertThat(Uscc.valid("91350100M000100Y44")).isFalse();
    assertThat(Uscc.valid("91350100M000100Y4" + "0")).isFalse();
    assertThat(Uscc.wellFormed("91350100M000100Y44")).isTrue();
    for (String bad : new String[] {"91350100I000100Y43", "91350100O000100Y43", "91350100Z000100Y43",
        "91350100S000100Y43", "91350100V000100Y43", "91350100m000100Y43", "91350100M000100Y4", "91350100M000100Y433"}) {
      assertThat(Uscc.wellFormed(bad)).as(bad).isFalse();
      assertThat(Uscc.valid(bad)).as(bad).isFalse();
    }
  }

  @Test
  void aCheckValueOf31IsZero() {
    // Search a prefix whose sum is a multiple of 31: its check character must be '0'.
    for (int n = 0; n < 100_000; n++) {
      String prefix = String.format("91320000MA%07d", n);
      int sum = 0;
      int[] w = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
      for (int i = 0; i < 17; i++) {
        sum += Uscc.ALPHABET.indexOf(prefix.charAt(i)) * w[i];
      }
      if (sum % 31 == 0) {
        assertThat(Uscc.checkCharacter(prefix)).isEqualTo('0');
        return;
      }
    }
    throw new AssertionError("no prefix with sum divisible by 31 found");
  }
}
