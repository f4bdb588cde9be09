package org.frontline.docs;

import org.frontline.config.Setting;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The README's configuration table is the one generated from {@link Setting}: a new setting cannot go undocumented. */
class SettingsDocumentedTest {

  @Test
  void readmeTableEqualsTheSettings() throws Exception {
    String readme = Files.readString(Path.of("README.md"));
    int start = readme.indexOf('\n', readme.indexOf("<!-- settings-table:start")) + 1;
    int end = readme.indexOf("<!-- settings-table:end -->");
    assertThat(start).isPositive();
    assertThat(end).isGreaterThan(start);
    assertThat(readme.substring(start, end)).isEqualTo(Setting.markdownTable());
  }

  @Test
  void readmeStartsWithTheTwoCommandsAndCiRunsTheSecond() throws Exception {
    String readme = Files.readString(Path.of("README.md"));
    String block = readme.substring(readme.indexOf("```sh\n") + 6, readme.indexOf("```", readme.indexOf("```sh\n") + 6));
    assertThat(block.lines().toList()).hasSize(2);
    assertThat(block.lines().toList().get(0)).startsWith("mvn -q -DskipTests package && java -jar target/frontline.jar dev");
    String testCommand = block.lines().toList().get(1).replaceAll("\\s+#.*", "").trim();
    // The first command .ci/run runs (after set and cd) is exactly the test command, and it stops on its failure.
    java.util.List<String> commands = Files.readString(Path.of(".ci/run")).lines().map(String::trim)
        .filter(l -> !l.isEmpty() && !l.startsWith("#") && !l.startsWith("set ") && !l.startsWith("cd ")).toList();
    assertThat(commands.get(0)).isIn(testCommand, "exec " + testCommand);
    assertThat(Files.readString(Path.of(".ci/run"))).contains("set -euo pipefail\n");
  }
}
