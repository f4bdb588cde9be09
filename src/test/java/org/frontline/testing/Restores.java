package org.frontline.testing;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The database as a logical restore (pg_dump/pg_restore into a new cluster, or logical replication) leaves it for
 * the event feed: every stored feed position is the old cluster's, far above this cluster's transaction ids.
 */
public final class Restores {
  /** How many transactions further along the old cluster was. */
  public static final long FURTHER_ALONG = 1_000_000_000_000L;

  private Restores() {}

  /**
   * Raises every stored feed position by {@link #FURTHER_ALONG}: the outbox's, the webhook subscriptions' cursors
   * and, with {@code clock} (a dump taken with the feed clock in place, V185), the clock's floor; without, the clock
   * is as a dump from before it would leave it (created by the migration, below the restored rows).
   */
  public static void fromAClusterFurtherAlong(TestEnvironment env, boolean clock) throws SQLException {
    try (Connection c = env.jdbc(); Statement st = c.createStatement()) {
      st.executeUpdate("UPDATE outbox SET txid = (txid::text::bigint + " + FURTHER_ALONG + ")::text::xid8");
      Map<String, String> cursors = new LinkedHashMap<>();
      try (ResultSet rs = st.executeQuery("SELECT id::text, feed_cursor FROM webhook_subscription")) {
        while (rs.next()) {
          cursors.put(rs.getString(1), rs.getString(2));
        }
      }
      try (PreparedStatement ps = c.prepareStatement("UPDATE webhook_subscription SET feed_cursor = ? WHERE id = ?::uuid")) {
        for (Map.Entry<String, String> e : cursors.entrySet()) {
          ps.setString(1, cursor(e.getValue()));
          ps.setString(2, e.getKey());
          ps.executeUpdate();
        }
      }
      if (clock) {
        st.executeUpdate("UPDATE feed_clock SET floor = floor + " + FURTHER_ALONG);
      }
    }
  }

  /** An event feed cursor (base64url of "position:id") as the old cluster handed it out. */
  public static String cursor(String cursor) {
    String[] key = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8).split(":");
    return Base64.getUrlEncoder().withoutPadding().encodeToString(
        ((Long.parseLong(key[0]) + FURTHER_ALONG) + ":" + key[1]).getBytes(StandardCharsets.UTF_8));
  }
}
