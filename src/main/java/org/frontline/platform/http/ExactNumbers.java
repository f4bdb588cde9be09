package org.frontline.platform.http;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.math.BigDecimal;

/**
 * A number of a JSON body as the exact decimal that was sent: the parsed body holds a double, which cannot carry 17
 * or more significant digits (12345678901234.567 became .566, and 12345678901234.5678 passed for 3 decimals).
 */
public final class ExactNumbers {
  private static final JsonFactory JSON = new JsonFactory();

  private ExactNumbers() {}

  /**
   * Digits before or after the point beyond which a number can only have been written with an exponent (the parser
   * takes no number longer than 1000 characters), and no field keeps.
   */
  static final int MAX_SCALE = 1000;

  /**
   * The number at {@code path} (object keys as strings, array indices as integers) in {@code raw}, or null when
   * there is none there. A repeated key counts by its last occurrence, as in the parsed body.
   *
   * <p>An exponent far past the digits written ({@code 0e-2000000}, {@code 1e-2000000}) made a decimal whose plain
   * form ({@code toPlainString}, used in answers, refusals and SQL) has millions of digits: the zero was a 500 (the
   * numeric column refused it), the other a 422 whose detail carried the digits twice (4 MB for a 70-byte request;
   * {@code 1e-999999999} a gigabyte on the event loop). Such a number is taken in its shortest exact form (a zero is
   * 0); one that still has more than {@link #MAX_SCALE} digits after the point is a 400 naming the field.
   */
  public static BigDecimal at(Buffer raw, Object... path) {
    BigDecimal exact;
    try (JsonParser parser = JSON.createParser(raw.getBytes())) {
      exact = parser.nextToken() == null ? null : at(parser, path, 0);
    } catch (IOException e) {
      return null; // validated already: not reached
    }
    if (exact == null || Math.abs(exact.scale()) <= MAX_SCALE) {
      return exact;
    }
    exact = exact.stripTrailingZeros();
    if (Math.abs(exact.scale()) <= MAX_SCALE) {
      return exact;
    }
    StringBuilder field = new StringBuilder("body");
    for (Object step : path) {
      field.append('/').append(step);
    }
    throw new ProblemException(Problem.of(ProblemType.VALIDATION_FAILED, "The request does not match the contract.")
        .withErrors(java.util.List.of(new Problem.FieldError(field.toString(), "A number with more than "
            + MAX_SCALE + " digits after the point (or before it); no field keeps so many."))));
  }

  /** The parser stands on the first token of a value; it is left on that value's last token. */
  private static BigDecimal at(JsonParser parser, Object[] path, int depth) throws IOException {
    JsonToken token = parser.currentToken();
    if (depth == path.length) {
      if (token == JsonToken.VALUE_NUMBER_INT || token == JsonToken.VALUE_NUMBER_FLOAT) {
        return parser.getDecimalValue();
      }
      parser.skipChildren();
      return null;
    }
    BigDecimal found = null;
    if (token == JsonToken.START_OBJECT && path[depth] instanceof String key) {
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String name = parser.currentName();
        parser.nextToken();
        if (name.equals(key)) {
          found = at(parser, path, depth + 1);
        } else {
          parser.skipChildren();
        }
      }
      return found;
    }
    if (token == JsonToken.START_ARRAY && path[depth] instanceof Integer index) {
      for (int i = 0; parser.nextToken() != JsonToken.END_ARRAY; i++) {
        if (i == index) {
          found = at(parser, path, depth + 1);
        } else {
          parser.skipChildren();
        }
      }
      return found;
    }
    parser.skipChildren();
    return null;
  }

  /**
   * A stored JSON object (text we wrote, or jsonb as text) whose numbers with a fraction or an exponent are the exact
   * decimals written ({@code BigDecimal}, which an answer encodes as such), not doubles: {@code new JsonObject(text)}
   * turned a report's quantity 12345678901234.567 into 1.2345678901234568E13 in every read and batch answer.
   */
  public static JsonObject object(String json) {
    try {
      return (JsonObject) value(json);
    } catch (IOException e) {
      throw new IllegalStateException("stored JSON that does not parse", e);
    }
  }

  /**
   * The JSON value of {@code text} (null for none) with numbers as {@link #object} reads them: objects and arrays as
   * JsonObject and JsonArray, numbers with a fraction or an exponent as BigDecimal, integers as integers.
   */
  public static Object value(String text) throws IOException {
    try (JsonParser parser = JSON.createParser(text)) {
      return parser.nextToken() == null ? null : value(parser);
    }
  }

  /** The value the parser stands on (its first token); the parser is left on its last token. */
  private static Object value(JsonParser parser) throws IOException {
    switch (parser.currentToken()) {
      case START_OBJECT -> {
        JsonObject object = new JsonObject();
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
          String name = parser.currentName();
          parser.nextToken();
          object.put(name, value(parser));
        }
        return object;
      }
      case START_ARRAY -> {
        JsonArray array = new JsonArray();
        while (parser.nextToken() != JsonToken.END_ARRAY) {
          array.add(value(parser));
        }
        return array;
      }
      case VALUE_STRING -> {
        return parser.getText();
      }
      case VALUE_NUMBER_INT -> {
        return parser.getNumberValue();
      }
      case VALUE_NUMBER_FLOAT -> {
        return parser.getDecimalValue();
      }
      case VALUE_TRUE -> {
        return Boolean.TRUE;
      }
      case VALUE_FALSE -> {
        return Boolean.FALSE;
      }
      case VALUE_NULL -> {
        return null;
      }
      default -> throw new IOException("unexpected " + parser.currentToken());
    }
  }
}
