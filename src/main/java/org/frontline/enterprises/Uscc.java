package org.frontline.enterprises;

/**
 * The Unified Social Credit Code (统一社会信用代码, GB 32100-2015): 18 characters of the alphabet
 * {@value #ALPHABET} (no I, O, S, V, Z), the last a check character over the first 17.
 */
public final class Uscc {
  /** The code characters in the order of their values 0..30. */
  public static final String ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  private static final int[] WEIGHTS = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};

  private Uscc() {}

  /** 18 characters of the alphabet (what the contract's pattern checks); says nothing of the check character. */
  public static boolean wellFormed(String code) {
    if (code == null || code.length() != 18) {
      return false;
    }
    for (int i = 0; i < 18; i++) {
      if (ALPHABET.indexOf(code.charAt(i)) < 0) {
        return false;
      }
    }
    return true;
  }

  /** The check character for the first 17 characters (which must be of the alphabet). */
  public static char checkCharacter(String first17) {
    if (first17.length() != 17) {
      throw new IllegalArgumentException("17 characters expected");
    }
    int sum = 0;
    for (int i = 0; i < 17; i++) {
      int value = ALPHABET.indexOf(first17.charAt(i));
      if (value < 0) {
        throw new IllegalArgumentException("not a code character: " + first17.charAt(i));
      }
      sum += value * WEIGHTS[i];
    }
    int check = 31 - sum % 31;
    return ALPHABET.charAt(check == 31 ? 0 : check);
  }

  /** Well formed and its 18th character is the check character of the first 17. */
  public static boolean valid(String code) {
    return wellFormed(code) && checkCharacter(code.substring(0, 17)) == code.charAt(17);
  }
}
