package org.frontline.media;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class HeifTest {

  @Test
  void aMissingLibraryMeansNoHeifDecodingNotAFailure() {
    assertThat(Heif.load("frontline-no-such-library")).isNull();
  }

  @Test
  void theInstalledLibraryDecodesHevc() {
    HeicEncoder.assumeAvailable();
    assertThat(Heif.available()).isTrue();
    assertThat(Heif.version()).hasValueSatisfying(v -> assertThat(v).matches("1\\.\\d+\\.\\d+.*"));
    assertThat(Heif.load("heif")).isNotNull();
  }
}
