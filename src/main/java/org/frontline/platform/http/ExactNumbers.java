package org.frontline.platform.http;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.vertx.core.buffer.Buffer;

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
   * The number at {@code path} (object keys as strings, array indices as integers) in {@code raw}, or null when
   * there is none there. A repeated key counts by its last occurrence, as in the parsed body.
   */
  public static BigDecimal at(Buffer raw, Object... path) {
    try (JsonParser parser = JSON.createParser(raw.getBytes())) {
      return parser.nextToken() == null ? null : at(parser, path, 0);
    } catch (IOException e) {
      return null; // validated already: not reached
    }
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
}
