package org.frontline.audit;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The hash of an audit entry, defined so that an outside auditor can recompute it from the table alone.
 *
 * <pre>
 * hash = SHA-256( UTF-8( "frontline-audit-v1" + F(prev_hash) + F(seq) + F(at) + F(actor_id) + F(actor_label)
 *                        + F(action) + F(object_type) + F(object_id) + F(unit_id) + F(unit_path)
 *                        + F(client_address) + F(request_id) + F(outcome) + F(details) ) )
 *
 * F(null)  = "|~"
 * F(value) = "|" + n + ":" + value     where n is the length of value in UTF-8 bytes, in decimal
 *
 * prev_hash       64 lowercase hex digits; for seq 1 the genesis value, 64 zeros
 * seq             decimal, no leading zeros
 * at              UTC, exactly six fraction digits: 2025-01-31T08:15:00.123456Z
 * actor_id, unit_id  lowercase UUID with hyphens
 * outcome         SUCCESS, FAILURE or DENIED
 * details         canonical JSON: no whitespace; object members sorted by key (UTF-16 code units, as RFC 8785);
 *                 strings escape only '"' '\' (as \" \\), \b \f \n \r \t, other characters below U+0020 as
 *                 \\u00xx (lowercase hex), everything else literal; numbers as their exact decimal value in plain
 *                 notation without exponent, trailing fractional zeros or trailing point (1.50 -> 1.5, 1e3 -> 1000,
 *                 -0 -> 0); true, false, null.
 * other fields    the text as stored
 * </pre>
 * The length prefixes make the encoding unambiguous whatever the fields contain.
 */
public final class AuditChain {
  public static final String VERSION = "frontline-audit-v1";
  private static final byte[] GENESIS = new byte[32];
  private static final HexFormat HEX = HexFormat.of();
  private static final DateTimeFormatter AT = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSS'Z'")
      .withZone(ZoneOffset.UTC);

  private AuditChain() {}

  /** The prev_hash of the first entry. */
  public static byte[] genesis() {
    return GENESIS.clone();
  }

  public static byte[] hash(AuditEntry e) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(canonical(e).getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException x) {
      throw new IllegalStateException(x);
    }
  }

  /** The text that is hashed (see the class comment). */
  public static String canonical(AuditEntry e) {
    StringBuilder sb = new StringBuilder(VERSION);
    field(sb, e.prevHash() == null ? null : HEX.formatHex(e.prevHash()));
    field(sb, Long.toString(e.seq()));
    field(sb, formatAt(e.at()));
    field(sb, e.actorId() == null ? null : e.actorId().toString());
    field(sb, e.actorLabel());
    field(sb, e.action());
    field(sb, e.objectType());
    field(sb, e.objectId());
    field(sb, e.unitId() == null ? null : e.unitId().toString());
    field(sb, e.unitPath());
    field(sb, e.clientAddress());
    field(sb, e.requestId());
    field(sb, e.outcome());
    field(sb, e.details() == null ? null : canonicalJson(e.details()));
    return sb.toString();
  }

  public static String formatAt(Instant at) {
    return at == null ? null : AT.format(at);
  }

  public static String hex(byte[] bytes) {
    return bytes == null ? null : HEX.formatHex(bytes);
  }

  private static void field(StringBuilder sb, String value) {
    if (value == null) {
      sb.append("|~");
    } else {
      sb.append('|').append(value.getBytes(StandardCharsets.UTF_8).length).append(':').append(value);
    }
  }

  /** Canonical JSON of a value made of JSON-native types (see the class comment). */
  public static String canonicalJson(Object value) {
    StringBuilder sb = new StringBuilder();
    writeJson(sb, value);
    return sb.toString();
  }

  @SuppressWarnings("unchecked")
  private static void writeJson(StringBuilder sb, Object value) {
    if (value == null) {
      sb.append("null");
    } else if (value instanceof JsonObject o) {
      writeObject(sb, o.getMap());
    } else if (value instanceof Map<?, ?> m) {
      writeObject(sb, (Map<String, Object>) m);
    } else if (value instanceof JsonArray a) {
      writeArray(sb, a.getList());
    } else if (value instanceof List<?> l) {
      writeArray(sb, l);
    } else if (value instanceof String s) {
      writeString(sb, s);
    } else if (value instanceof Boolean b) {
      sb.append(b);
    } else if (value instanceof Number n) {
      BigDecimal d = new BigDecimal(n.toString()).stripTrailingZeros();
      sb.append(d.signum() == 0 ? "0" : d.toPlainString());
    } else {
      throw new IllegalArgumentException("not a JSON value: " + value.getClass().getName());
    }
  }

  private static void writeObject(StringBuilder sb, Map<String, Object> map) {
    sb.append('{');
    boolean first = true;
    for (Map.Entry<String, Object> member : new TreeMap<>(map).entrySet()) {
      if (!first) {
        sb.append(',');
      }
      first = false;
      writeString(sb, member.getKey());
      sb.append(':');
      writeJson(sb, member.getValue());
    }
    sb.append('}');
  }

  private static void writeArray(StringBuilder sb, List<?> list) {
    sb.append('[');
    for (int i = 0; i < list.size(); i++) {
      if (i > 0) {
        sb.append(',');
      }
      writeJson(sb, list.get(i));
    }
    sb.append(']');
  }

  private static void writeString(StringBuilder sb, String s) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\b' -> sb.append("\\b");
        case '\f' -> sb.append("\\f");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    sb.append('"');
  }
}
