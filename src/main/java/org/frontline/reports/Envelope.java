package org.frontline.reports;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemException;
import org.frontline.platform.http.ProblemType;
import org.frontline.platform.http.Rfc3339;
import org.frontline.platform.http.StorableStrings;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A report envelope as the phone sent it, after the contract's schema accepted it; {@code canonical} is its canonical
 * JSON (CanonicalJson), both what its SHA-256 is taken of and what is stored as the request.
 */
record Envelope(UUID id, String type, UUID unitId, OffsetDateTime capturedAt, Location location, String title,
                String text, JsonObject body, List<Declaration> attachments, JsonObject raw, String canonical) {

  record Location(double lat, double lon, Double accuracyM, String provider, boolean mock) {
    JsonObject toJson() {
      JsonObject json = new JsonObject().put("lat", lat).put("lon", lon);
      if (accuracyM != null) {
        json.put("accuracyM", accuracyM);
      }
      if (provider != null) {
        json.put("provider", provider);
      }
      return json.put("mock", mock);
    }
  }

  /** One declared photo; {@code filename} already sanitised. */
  record Declaration(UUID id, byte[] sha256, long size, String contentType, String filename) {
    String sha256Hex() {
      return HexFormat.of().formatHex(sha256);
    }
  }

  static final int MAX_FILENAME = 255;

  /** What an envelope without {@code attachments}, and a location without {@code mock}, are read as. */
  private static final JsonArray NO_ATTACHMENTS = new JsonArray();
  private static final boolean NO_MOCK = false;

  /**
   * The envelope with the members it may leave out written as they are read ({@code attachments} [],
   * {@code location.mock} false): the same report either way, stored and answered alike, so a repeat that writes a
   * default the first left out (or the other way round) is a repeat. Compared only when the canonical hashes differ.
   */
  static JsonObject withDefaults(JsonObject envelope) {
    JsonObject read = envelope.copy();
    if (!read.containsKey("attachments")) {
      read.put("attachments", NO_ATTACHMENTS.copy());
    }
    if (read.getValue("location") instanceof JsonObject loc && !loc.containsKey("mock")) {
      loc.put("mock", NO_MOCK);
    }
    return read;
  }

  /**
   * From JSON the contract's schema has accepted; the rules a schema cannot say (unique attachment ids) are
   * checked here, the same for a single envelope and a batch item.
   */
  static Envelope from(JsonObject json) {
    refuseUnstorable(json, "body");
    JsonObject loc = json.getJsonObject("location");
    Number accuracy = (Number) loc.getValue("accuracyM");
    List<Declaration> declarations = new ArrayList<>();
    JsonArray attachments = json.getJsonArray("attachments", NO_ATTACHMENTS);
    Map<UUID, Integer> seen = new HashMap<>();
    for (int i = 0; i < attachments.size(); i++) {
      JsonObject a = attachments.getJsonObject(i);
      UUID id = uuid(a.getString("id"), "body/attachments/" + i + "/id");
      Integer first = seen.putIfAbsent(id, i);
      if (first != null) {
        throw new ProblemException(Problem.of(ProblemType.UNPROCESSABLE, "Attachment ids must be unique in a report.")
            .withErrors(List.of(new Problem.FieldError("body/attachments/" + i + "/id",
                "The same id as body/attachments/" + first + "/id."))));
      }
      declarations.add(new Declaration(id, HexFormat.of().parseHex(a.getString("sha256")), a.getLong("size"),
          a.getString("contentType"), sanitiseFilename(a.getString("filename"))));
    }
    return new Envelope(uuid(json.getString("id"), "body/id"), json.getString("type"),
        uuid(json.getString("unitId"), "body/unitId"), time(json.getString("capturedAt"), "body/capturedAt"),
        new Location(((Number) loc.getValue("lat")).doubleValue(), ((Number) loc.getValue("lon")).doubleValue(),
            accuracy == null ? null : accuracy.doubleValue(), loc.getString("provider"), loc.getBoolean("mock", NO_MOCK)),
        json.getString("title"), json.getString("text"), json.getJsonObject("body"), List.copyOf(declarations), json,
        CanonicalJson.encode(json));
  }

  /**
   * Metadata only: no directory parts, no control characters (C0 and C1: \p{Cntrl} is ASCII only), format
   * characters (bidi overrides) or line and paragraph separators, at most 255 characters.
   */
  static String sanitiseFilename(String name) {
    if (name == null) {
      return null;
    }
    String base = name.substring(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
    String clean = base.replaceAll("[\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}]", "").strip();
    if (clean.equals(".") || clean.equals("..")) {
      clean = "";
    }
    if (clean.length() > MAX_FILENAME) {
      clean = clean.substring(0, clean.offsetByCodePoints(0, clean.codePointCount(0, MAX_FILENAME)));
    }
    return clean.isEmpty() ? null : clean;
  }

  /**
   * Strings that could not be stored as sent are refused, naming where: PostgreSQL stores no NUL character in text
   * or jsonb, and a lone UTF-16 surrogate (JSON allows the escape "\ud800") is no character at all: UTF-8 would
   * store it as '?', a silent change of what the officer wrote. The rule of every JSON body (StorableStrings).
   */
  private static void refuseUnstorable(Object value, String at) {
    StorableStrings.Unstorable wrong = StorableStrings.first(value, at);
    if (wrong != null) {
      throw invalid(wrong.at(), wrong.reason());
    }
  }

  /** A stored envelope's capturedAt as {@link #capturedAt} holds it (it was accepted when stored). */
  static OffsetDateTime captureTime(String value) {
    return time(value, "body/capturedAt");
  }

  private static UUID uuid(String value, String field) {
    try {
      return UUID.fromString(value);
    } catch (IllegalArgumentException e) {
      throw invalid(field, "Not a UUID.");
    }
  }

  /**
   * In UTC and to the microsecond, as stored (timestamptz) and so as answered, the 201 as every later read: a time
   * whose year there is not 0001-9999 has no RFC 3339 form to answer.
   */
  private static OffsetDateTime time(String value, String field) {
    OffsetDateTime utc = Rfc3339.parseCommon(value);
    try {
      utc = (utc != null ? utc : OffsetDateTime.parse(value))
          .withOffsetSameInstant(ZoneOffset.UTC).truncatedTo(ChronoUnit.MICROS);
    } catch (DateTimeParseException e) {
      throw invalid(field, "Not an RFC 3339 date-time.");
    }
    if (utc.getYear() < 1 || utc.getYear() > 9999) {
      throw invalid(field, "Not an RFC 3339 date-time in UTC (year " + utc.getYear() + ").");
    }
    return utc;
  }

  private static ProblemException invalid(String field, String reason) {
    return new ProblemException(Problem.of(ProblemType.VALIDATION_FAILED, "The request does not match the contract.")
        .withErrors(List.of(new Problem.FieldError(field, reason))));
  }
}
