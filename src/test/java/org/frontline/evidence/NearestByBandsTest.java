package org.frontline.evidence;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.Random;
import java.util.UUID;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

/**
 * Near-duplicates are looked up through the band index (V98): every photo within {@link
 * EvidenceRepository#BANDED_WITHIN} bits shares a band with the new one, whichever bits differ, and the lookup reads
 * the index rather than every hashed photo in scope. (EvidenceWorkerTest has the checks end to end.)
 */
@FrontlineTest
class NearestByBandsTest {

  @Test
  void hashesWithinSevenBitsShareABandWhicheverBitsDiffer(TestEnvironment env) throws Exception {
    Random random = new Random(20261127);
    try (Connection c = env.jdbc();
         PreparedStatement share = c.prepareStatement("SELECT dhash_bands(?) && dhash_bands(?)")) {
      for (int round = 0; round < 300; round++) {
        long a = random.nextLong(); // negative ones too: the shifts must not smear the sign into the bands
        int k = round % (EvidenceRepository.BANDED_WITHIN + 1);
        long b = a;
        int flipped = 0;
        while (flipped < k) {
          long bit = 1L << random.nextInt(64);
          if ((a & bit) == (b & bit)) {
            b ^= bit;
            flipped++;
          }
        }
        assertThat(Long.bitCount(a ^ b)).isEqualTo(k);
        assertThat(shares(share, a, b)).as("%016x and %016x, %d bits apart", a, b, k).isTrue();
      }
      // The worst case: one bit in each of 7 bands still leaves one band equal; in all 8 bands, none.
      long a = 0x8123_4567_89ab_cdefL;
      long sevenBands = a ^ 0x0001_0101_0101_0101L;
      long eightBands = a ^ 0x0101_0101_0101_0101L;
      assertThat(shares(share, a, sevenBands)).isTrue();
      assertThat(shares(share, a, eightBands)).isFalse();
    }
  }

  @Test
  void theLookupReadsTheBandIndex(TestEnvironment env) throws Exception {
    try (Connection c = env.jdbc(); var st = c.createStatement()) {
      st.execute("SET plan_cache_mode = force_generic_plan");
      st.execute("SET enable_seqscan = off");
      // The statement of EvidenceRepository.nearest, as the service prepares it.
      st.execute("PREPARE nearest(uuid, bigint, uuid) AS " + EvidenceRepository.NEAREST_BANDED
          + " ORDER BY d LIMIT 1");
      StringBuilder plan = new StringBuilder();
      try (ResultSet rs = st.executeQuery("EXPLAIN EXECUTE nearest('" + UUID.randomUUID() + "', 42, '"
          + UUID.randomUUID() + "')")) {
        while (rs.next()) {
          plan.append(rs.getString(1)).append('\n');
        }
      }
      assertThat(plan.toString()).contains("attachment_dhash_bands_idx");
    }
  }

  private static boolean shares(PreparedStatement share, long a, long b) throws Exception {
    share.setLong(1, a);
    share.setLong(2, b);
    try (ResultSet rs = share.executeQuery()) {
      rs.next();
      return rs.getBoolean(1);
    }
  }
}
