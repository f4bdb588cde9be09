package org.frontline.platform.http;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.Set;

/**
 * Strings that could not be stored as sent are refused (400 naming where), for every JSON request body: PostgreSQL
 * stores no NUL character in text or jsonb (the insert failed: a 500), and a lone UTF-16 surrogate (JSON allows the
 * escape "\ud800") is no character at all: UTF-8 stores it as '?', a silent change of what was written.
 */
public final class StorableStrings {
  /**
   * Operations that judge their own bodies' strings: a report names the field itself, and one bad item of a batch
   * must sink only that item.
   */
  static final Set<String> SELF_CHECKED = Set.of("createReport", "createReportBatch");

  private StorableStrings() {}

  /** Where a string cannot be stored ({@code at}, a field path) and why. */
  public record Unstorable(String at, String reason) {}

  /** The problem for the first string of {@code value} (keys included) that cannot be stored, or null. */
  static ProblemException check(Object value, String at) {
    Unstorable wrong = first(value, at);
    return wrong == null ? null : new ProblemException(Problem.of(ProblemType.VALIDATION_FAILED,
        "The request does not match the contract.").withErrors(List.of(new Problem.FieldError(wrong.at(),
        wrong.reason()))));
  }

  /** The first string of {@code value} (keys included, depth first) that cannot be stored, or null. */
  public static Unstorable first(Object value, String at) {
    if (value instanceof String s) {
      String reason = unstorable(s);
      return reason == null ? null : new Unstorable(at, reason);
    }
    if (value instanceof JsonObject o) {
      for (var e : o) {
        Unstorable wrong = first(e.getKey(), at);
        if (wrong == null) {
          wrong = first(e.getValue(), at + "/" + e.getKey());
        }
        if (wrong != null) {
          return wrong;
        }
      }
    } else if (value instanceof JsonArray a) {
      for (int i = 0; i < a.size(); i++) {
        Unstorable wrong = first(a.getValue(i), at + "/" + i);
        if (wrong != null) {
          return wrong;
        }
      }
    }
    return null;
  }

  /** Why the string cannot be stored as it is, or null. */
  public static String unstorable(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\u0000') {
        return "NUL characters are not allowed.";
      }
      if (Character.isSurrogate(c)) {
        if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
          i++;
        } else {
          return "Not valid Unicode: an unpaired surrogate (\\u" + Integer.toHexString(c) + ") at character " + i
              + ".";
        }
      }
    }
    return null;
  }
}
