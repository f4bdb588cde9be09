package org.frontline.evidence;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.Random;
import java.util.UUID;
import io.vertx.core.json.JsonObject;
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
    UUID report = aReport(env);
    try (Connection c = env.jdbc(); var st = c.createStatement()) {
      c.setAutoCommit(false);
      try {
        // A history of 20,000 hashed photos (rolled back below): on a table of a few rows any plan is as cheap.
        st.execute("INSERT INTO attachment (id, report_id, ordinal, declared_sha256, declared_size,"
            + " declared_content_type, dhash) SELECT gen_random_uuid(), '" + report + "', 100 + n,"
            + " sha256(n::text::bytea), 1000, 'image/jpeg', (random() * 9e18)::bigint * (CASE WHEN n % 2 = 0 THEN 1"
            + " ELSE -1 END) FROM generate_series(1, 20000) n");
        st.execute("ANALYZE attachment");
        st.execute("SET LOCAL plan_cache_mode = force_generic_plan");
        // The statement of EvidenceRepository.nearest, as the service prepares it.
        st.execute("PREPARE nearest(uuid, bigint, uuid) AS " + EvidenceRepository.NEAREST_BANDED);
        StringBuilder plan = new StringBuilder();
        try (ResultSet rs = st.executeQuery("EXPLAIN EXECUTE nearest('" + UUID.randomUUID() + "', 42, '"
            + UUID.randomUUID() + "')")) {
          while (rs.next()) {
            plan.append(rs.getString(1)).append('\n');
          }
        }
        assertThat(plan.toString()).as(plan.toString()).contains("attachment_dhash_bands_idx");
      } finally {
        st.execute("DEALLOCATE ALL");
        c.rollback();
      }
    }
  }

  /** A report of officer.xu's, through the API (attachments need one). */
  private static UUID aReport(TestEnvironment env) {
    JsonObject login = new JsonObject().put("username", "officer.xu")
        .put("password", org.frontline.dev.DemoOrganisation.PASSWORD);
    String token = TestEnvironment.await(env.client().post("/v1/auth/login").sendJsonObject(login))
        .bodyAsJsonObject().getString("access_token");
    UUID id = UUID.randomUUID();
    var created = TestEnvironment.await(env.client().post("/v1/reports").putHeader("Authorization", "Bearer " + token)
        .sendJsonObject(new JsonObject().put("id", id.toString()).put("type", "SITE")
            .put("unitId", org.frontline.dev.DemoOrganisation.HUAISI.toString())
            .put("capturedAt", "2026-11-20T08:30:00Z")
            .put("location", new JsonObject().put("lat", 32.45).put("lon", 119.43))
            .put("title", "Band index").put("body", new JsonObject())));
    assertThat(created.statusCode()).as(created.bodyAsString()).isEqualTo(201);
    return id;
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
