package org.frontline.platform.http;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamReadException;
import io.vertx.core.buffer.Buffer;

import java.io.IOException;
import java.util.List;

/**
 * What Vert.x's JSON parser lets through and JSON (RFC 8259) does not settle: a member named twice in one object
 * (Vert.x keeps the last value and silently drops the other, as an unknown field would have been dropped) and
 * comments ({@code /* *}{@code /}, {@code //}: Vert.x's parser allows them, JSON has none). One streaming pass over
 * the raw body, nothing built: a few microseconds for a report envelope.
 */
final class StrictJson {
  private static final JsonFactory STRICT = JsonFactory.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

  private StrictJson() {}

  /** The problem of a body (already parsed by Vert.x) that names a member twice or holds a comment, or null. */
  static ProblemException check(Buffer body) {
    JsonParser parser = null;
    try {
      parser = STRICT.createParser(body.getBytes());
      while (parser.nextToken() != null) {
        // only the parser's own checks matter
      }
      return null;
    } catch (StreamReadException e) {
      if (parser != null && e.getMessage() != null && e.getMessage().startsWith("Duplicate field")) {
        String at = "body" + parser.getParsingContext().pathAsPointer();
        return new ProblemException(Problem.of(ProblemType.VALIDATION_FAILED, "The request does not match the contract.")
            .withErrors(List.of(new Problem.FieldError(at, "The member appears more than once in its object; "
                + "send it once."))));
      }
      return new ProblemException(Problem.of(ProblemType.MALFORMED_REQUEST, "The request body is not valid JSON."));
    } catch (IOException e) {
      throw new IllegalStateException(e); // reading a byte array
    } finally {
      if (parser != null) {
        try {
          parser.close();
        } catch (IOException ignored) {
          // a byte array
        }
      }
    }
  }
}
