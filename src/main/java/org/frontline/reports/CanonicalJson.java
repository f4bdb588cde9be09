package org.frontline.reports;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The canonical form of an envelope (object keys sorted, recursively), its SHA-256 (what "the same body" means for
 * exactly-once submission), and the JSON pointers at which two envelopes differ (for the 409).
 */
final class CanonicalJson {
  private CanonicalJson() {}

  static Object canonical(Object value) {
    if (value instanceof JsonObject o) {
      Map<String, Object> sorted = new TreeMap<>();
      o.forEach(e -> sorted.put(e.getKey(), canonical(e.getValue())));
      return new JsonObject(new java.util.LinkedHashMap<>(sorted));
    }
    if (value instanceof JsonArray a) {
      JsonArray out = new JsonArray();
      a.forEach(v -> out.add(canonical(v)));
      return out;
    }
    return value;
  }

  /** The canonical JSON text of an envelope. */
  static String encode(JsonObject envelope) {
    return ((JsonObject) canonical(envelope)).encode();
  }

  /** The SHA-256 of a canonical JSON text, as {@code request_sha256} stores it. */
  static byte[] sha256(String canonical) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(canonical.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** JSON pointers (RFC 6901) of every leaf that differs, is missing on one side, or changed kind. */
  static List<String> differences(Object a, Object b) {
    List<String> out = new ArrayList<>();
    diff("", a, b, out);
    return out;
  }

  private static void diff(String at, Object a, Object b, List<String> out) {
    if (a instanceof JsonObject x && b instanceof JsonObject y) {
      TreeSet<String> keys = new TreeSet<>(x.fieldNames());
      keys.addAll(y.fieldNames());
      for (String k : keys) {
        String child = at + "/" + k.replace("~", "~0").replace("/", "~1");
        if (x.containsKey(k) != y.containsKey(k)) {
          out.add(child);
        } else {
          diff(child, x.getValue(k), y.getValue(k), out);
        }
      }
    } else if (a instanceof JsonArray x && b instanceof JsonArray y) {
      for (int i = 0; i < Math.max(x.size(), y.size()); i++) {
        if (i >= x.size() || i >= y.size()) {
          out.add(at + "/" + i);
        } else {
          diff(at + "/" + i, x.getValue(i), y.getValue(i), out);
        }
      }
    } else if (a instanceof Number x && b instanceof Number y) {
      if (new BigDecimal(x.toString()).compareTo(new BigDecimal(y.toString())) != 0) {
        out.add(at);
      }
    } else if (!Objects.equals(a, b)) {
      out.add(at.isEmpty() ? "/" : at);
    }
  }
}
