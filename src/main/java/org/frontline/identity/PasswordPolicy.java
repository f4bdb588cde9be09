package org.frontline.identity;

import java.util.Locale;
import java.util.Optional;

/**
 * The password policy, as the contract states it: 12 to 256 characters (the contract checks the length), not
 * containing the username, not one repeated character, and not of a single class of characters (lower-case,
 * upper-case, digits, anything else). Length matters most (NIST SP 800-63B); the rest refuses the obvious.
 */
public final class PasswordPolicy {
  public static final int MIN_LENGTH = 12;
  public static final int MAX_LENGTH = 256;

  private PasswordPolicy() {}

  /** Why the password is refused, or empty when it is acceptable. */
  public static Optional<String> violation(String username, String password) {
    int length = password.codePointCount(0, password.length());
    if (length < MIN_LENGTH || length > MAX_LENGTH) {
      return Optional.of("The password must have " + MIN_LENGTH + " to " + MAX_LENGTH + " characters.");
    }
    if (username != null && password.toLowerCase(Locale.ROOT).contains(username.toLowerCase(Locale.ROOT))) {
      return Optional.of("The password must not contain the username.");
    }
    if (password.codePoints().distinct().count() == 1) {
      return Optional.of("The password must not be one repeated character.");
    }
    boolean lower = password.codePoints().anyMatch(c -> c >= 'a' && c <= 'z');
    boolean upper = password.codePoints().anyMatch(c -> c >= 'A' && c <= 'Z');
    boolean digit = password.codePoints().anyMatch(c -> c >= '0' && c <= '9');
    boolean other = password.codePoints().anyMatch(c -> !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z')
        && !(c >= '0' && c <= '9'));
    int classes = (lower ? 1 : 0) + (upper ? 1 : 0) + (digit ? 1 : 0) + (other ? 1 : 0);
    if (classes < 2) {
      return Optional.of("The password must mix at least two kinds of characters (lower-case, upper-case, digits, others).");
    }
    return Optional.empty();
  }
}
