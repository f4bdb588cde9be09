package org.frontline.config;

import java.util.List;

/** The configuration cannot be used. Each problem names the setting and what is wrong with it. */
public final class ConfigException extends RuntimeException {
  private final List<String> problems;

  public ConfigException(List<String> problems) {
    super("invalid configuration:\n  - " + String.join("\n  - ", problems));
    this.problems = List.copyOf(problems);
  }

  public List<String> problems() { return problems; }
}
