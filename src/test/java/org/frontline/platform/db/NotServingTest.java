package org.frontline.platform.db;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Which SQLSTATEs answer 503 (the database does not serve now: try again) rather than 500. A state a statement of ours
 * causes is never "unavailable": phones would retry for ever, and operators would see a warning, not the error.
 * DependencyDownTest checks the answers through the real stack for a restart.
 */
class NotServingTest {

  @ParameterizedTest
  @ValueSource(strings = {"08000", "08001", "08003", "08006", "53000", "53100", "53200", "53300", "57P01", "57P02",
      "57P03"})
  void aConnectionFailureExhaustedResourcesOrARestartIsTheDatabaseNotServing(String sqlState) {
    assertThat(Database.notServing(sqlState)).isTrue();
  }

  @ParameterizedTest
  @ValueSource(strings = {"08P01", "53400", "40001", "40P01", "57014", "23505", "42601", "XX000"})
  void whatAStatementOfOursCausesIsNot(String sqlState) {
    assertThat(Database.notServing(sqlState)).isFalse();
  }
}
