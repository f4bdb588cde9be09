package org.frontline.identity;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.notify.Retention;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.QueryPlans;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.identity.Tokens.loginOk;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.testing.TestEnvironment.await;

/**
 * Retention of refresh tokens: a family whose tokens have all expired goes, whole; a live family keeps its spent,
 * expired tokens, so presenting one of them is still detected as reuse and revokes the family.
 */
@FrontlineTest
class RefreshTokenRetentionTest {
  private static final String INVALID_GRANT = "urn:frontline:problem:invalid-grant";

  private static HttpResponse<Buffer> refresh(TestEnvironment env, String refreshToken) {
    return await(env.client().post("/v1/auth/refresh").sendJsonObject(new JsonObject().put("refresh_token",
        refreshToken)));
  }

  private static String rotated(TestEnvironment env, String refreshToken) {
    HttpResponse<Buffer> r = refresh(env, refreshToken);
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    return r.bodyAsJsonObject().getString("refresh_token");
  }

  private static byte[] hash(String token) throws Exception {
    return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.US_ASCII));
  }

  /** Moves the token's expiry a day into the past. */
  private static void expire(TestEnvironment env, String token) throws Exception {
    try (Connection c = env.jdbc(); PreparedStatement ps = c.prepareStatement(
        "UPDATE refresh_token SET expires_at = now() - interval '1 day' WHERE token_hash = ?")) {
      ps.setBytes(1, hash(token));
      assertThat(ps.executeUpdate()).isEqualTo(1);
    }
  }

  private static long rows(TestEnvironment env, String token) throws Exception {
    return env.count("SELECT count(*) FROM refresh_token WHERE token_hash = ?", hash(token));
  }

  private static String state(TestEnvironment env, String token) throws Exception {
    return env.string("SELECT CASE WHEN revoked_at IS NULL THEN 'live' ELSE 'revoked' END FROM refresh_token"
        + " WHERE token_hash = decode('" + java.util.HexFormat.of().formatHex(hash(token)) + "', 'hex')");
  }

  /**
   * With 5,000 spent, expired tokens of live families and nothing to delete, the statement's generic plan reads a
   * handful of rows (the ended families are found through the unspent tokens' expiry index). Rolled back.
   */
  private static void theStatementReadsOnlyWhatItDeletes(TestEnvironment env) throws Exception {
    QueryPlans.rolledBack(env, st -> {
      st.execute("WITH a AS (SELECT id FROM account WHERE username = 'officer.xu'),"
          + " f AS (SELECT gen_random_uuid() AS family FROM generate_series(1, 50))"
          + " INSERT INTO refresh_token (id, account_id, family_id, token_hash, issued_at, expires_at, used_at)"
          + " SELECT gen_random_uuid(), a.id, f.family, sha256(gen_random_uuid()::text::bytea),"
          + " now() - interval '40 days', now() - interval '10 days', now() - interval '39 days'"
          + " FROM a, f, generate_series(1, 100)");
      st.execute("INSERT INTO refresh_token (id, account_id, family_id, token_hash, expires_at)"
          + " SELECT gen_random_uuid(), account_id, family_id, sha256(gen_random_uuid()::text::bytea),"
          + " now() + interval '20 days' FROM refresh_token WHERE used_at > now() - interval '39 days'"
          + " AND used_at < now() - interval '38 days' GROUP BY account_id, family_id");
      st.execute("ANALYZE refresh_token");
      QueryPlans.assertReadsOnlyAFew(st, "tokens", "int", Retention.REFRESH_TOKENS, 100);
    });
  }

  @Test
  void endedFamiliesGoAndLiveFamiliesKeepTheirSpentTokens(TestEnvironment env) throws Exception {
    // Ended: both tokens of the family expired (the second never used).
    String ended1 = loginOk(env, "officer.xu").getString("refresh_token");
    String ended2 = rotated(env, ended1);
    expire(env, ended1);
    expire(env, ended2);
    // Live: two spent tokens expired long ago, the newest still valid.
    String live1 = loginOk(env, "officer.xu").getString("refresh_token");
    String live2 = rotated(env, live1);
    String live3 = rotated(env, live2);
    expire(env, live1);
    expire(env, live2);
    // Logged out (revoked) but not yet expired: kept until its tokens expire.
    String out1 = loginOk(env, "officer.xu").getString("refresh_token");
    String out2 = rotated(env, out1);
    expire(env, out1);
    HttpResponse<Buffer> logout = await(env.client().post("/v1/auth/logout")
        .putHeader("Authorization", "Bearer " + loginOk(env, "officer.xu").getString("access_token"))
        .sendJsonObject(new JsonObject().put("refresh_token", out2)));
    assertThat(logout.statusCode()).as(logout.bodyAsString()).isEqualTo(204);

    // Two processes sweeping at once: neither fails, the ended family's rows are deleted once.
    Future<Retention.Swept> one = env.app().retention().sweep();
    Future<Retention.Swept> two = env.app().retention().sweep();
    await(Future.join(one, two));
    assertThat(one.succeeded()).as(String.valueOf(one.cause())).isTrue();
    assertThat(two.succeeded()).as(String.valueOf(two.cause())).isTrue();
    assertThat(one.result().refreshTokens() + two.result().refreshTokens()).isGreaterThanOrEqualTo(2);

    assertThat(rows(env, ended1) + rows(env, ended2)).isZero();
    for (String kept : List.of(live1, live2, live3, out1, out2)) {
      assertThat(rows(env, kept)).as(kept).isEqualTo(1);
    }
    // An ended family's token is unknown now: the same answer as before.
    assertProblem(refresh(env, ended2), 401, INVALID_GRANT);

    // A spent token of the live family presented again, a month after it expired: reuse, the family is revoked.
    assertProblem(refresh(env, live1), 401, INVALID_GRANT);
    assertThat(state(env, live3)).isEqualTo("revoked");
    assertProblem(refresh(env, live3), 401, INVALID_GRANT);
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'auth.refresh.reuse-detected'"
        + " AND object_id = (SELECT family_id::text FROM refresh_token WHERE token_hash = ?)", hash(live1)))
        .isEqualTo(1);

    // Once the revoked families' last tokens expire, they go too.
    expire(env, out2);
    expire(env, live3);
    await(env.app().retention().sweep());
    for (String gone : List.of(live1, live2, live3, out1, out2)) {
      assertThat(rows(env, gone)).as(gone).isZero();
    }
    assertThat(await(env.app().retention().sweep()).refreshTokens()).isZero();
    theStatementReadsOnlyWhatItDeletes(env);
  }

  private static void sql(TestEnvironment env, String sql) throws Exception {
    try (Connection c = env.jdbc(); var st = c.createStatement()) {
      st.execute(sql);
    }
  }

  /**
   * A refresh that raced the account's disabling: the disabling revoked the tokens it saw while the refresh issued
   * one more, committed after (unseen by the revocation); that token presented once the account is disabled gets no
   * successor, and its family is revoked. The account is disabled here as the race leaves it: its newest token not
   * revoked. Once the family's tokens have expired, it goes like any other.
   */
  @Test
  void aFamilyWhoseRefreshMetADisabledAccountGoesOnceItsTokensHaveExpired(TestEnvironment env) throws Exception {
    String first = loginOk(env, "officer.zhang").getString("refresh_token");
    String second = rotated(env, first);
    sql(env, "UPDATE account SET disabled_at = now() WHERE username = 'officer.zhang'");
    try {
      assertProblem(refresh(env, second), 401, INVALID_GRANT);
      assertThat(List.of(state(env, first), state(env, second))).containsOnly("revoked");
      // Presented again: refused as before, and no reuse (nothing was issued for it).
      assertProblem(refresh(env, second), 401, INVALID_GRANT);
      assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'auth.refresh.reuse-detected'"
          + " AND object_id = (SELECT family_id::text FROM refresh_token WHERE token_hash = ?)", hash(second)))
          .isZero();

      expire(env, first);
      expire(env, second);
      assertThat(await(env.app().retention().sweep()).refreshTokens()).isEqualTo(2);
      assertThat(rows(env, first) + rows(env, second)).isZero();
    } finally {
      sql(env, "UPDATE account SET disabled_at = NULL WHERE username = 'officer.zhang'");
    }
  }

  /** V173's statement (its comments dropped), so that a test can run it again or EXPLAIN it. */
  private static String v173() throws Exception {
    return java.nio.file.Files.readAllLines(java.nio.file.Path.of(
            "src/main/resources/db/migration/V173__refresh_token_family_without_unspent.sql")).stream()
        .filter(line -> !line.startsWith("--")).collect(java.util.stream.Collectors.joining("\n"))
        .replaceAll(";\\s*$", "");
  }

  /**
   * V173 runs over every refresh token at migration: with 100 revoked families of 100 tokens (as a logout leaves
   * them) and 5 left without an unspent token, its scans read each token about once (it looked up the newest of each
   * revoked token's family per token: 100 reads of its family per token, a minute at startup for 300,000 tokens in
   * families of 300) and gives back exactly the 5 newest tokens. Rolled back.
   */
  @Test
  void v173ReadsEachTokenOnceOverManyRevokedFamilies(TestEnvironment env) throws Exception {
    QueryPlans.rolledBack(env, st -> {
      st.execute("CREATE TEMP TABLE f ON COMMIT DROP AS SELECT gen_random_uuid() AS family, n"
          + " FROM generate_series(1, 105) n");
      st.execute("INSERT INTO refresh_token (id, account_id, family_id, token_hash, issued_at, expires_at, used_at,"
          + " revoked_at)"
          + " SELECT gen_random_uuid(), a.id, f.family, sha256(gen_random_uuid()::text::bytea),"
          + " now() - (100 - g) * interval '1 minute', now() + interval '20 days',"
          + " CASE WHEN g < 100 OR f.n > 100 THEN now() END, now()"
          + " FROM account a, f, generate_series(1, 100) g WHERE a.username = 'officer.xu'");
      st.execute("ANALYZE refresh_token");
      long tokens = count(st, "SELECT count(*) FROM refresh_token");
      StringBuilder plan = new StringBuilder();
      try (var rs = st.executeQuery("EXPLAIN (ANALYZE, COSTS OFF) " + v173())) {
        while (rs.next()) {
          plan.append(rs.getString(1)).append('\n');
        }
      }
      // The rows every scan of the plan read, over all its loops.
      long read = 0;
      var scan = java.util.regex.Pattern.compile("Scan .*actual time=\\S+ rows=(\\d+) loops=(\\d+)").matcher(plan);
      while (scan.find()) {
        read += Long.parseLong(scan.group(1)) * Long.parseLong(scan.group(2));
      }
      assertThat(read).as(plan.toString()).isPositive().isLessThan(3 * tokens);
      // Each family's newest token unspent (the 100 as they were, the 5 given back), no other.
      assertThat(count(st, "SELECT count(*) FROM refresh_token WHERE used_at IS NULL"
          + " AND family_id IN (SELECT family FROM f)")).isEqualTo(105);
      assertThat(count(st, "SELECT count(*) FROM refresh_token WHERE used_at IS NULL"
          + " AND family_id IN (SELECT family FROM f) AND issued_at < now() - interval '30 seconds'")).isZero();
    });
  }

  private static long count(java.sql.Statement st, String sql) throws Exception {
    try (var rs = st.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /**
   * The families such a refresh left before V173 (every token spent, the family revoked) are given their newest
   * token back unspent by V173's statement (run here again over one made as they were), and then go; a live family
   * is left as it was.
   */
  @Test
  void familiesLeftWithoutAnUnspentTokenAreGivenOneByV173AndGo(TestEnvironment env) throws Exception {
    String first = loginOk(env, "officer.zhang").getString("refresh_token");
    String second = rotated(env, first);
    sql(env, "UPDATE refresh_token SET used_at = coalesce(used_at, now()), revoked_at = now() WHERE family_id ="
        + " (SELECT family_id FROM refresh_token WHERE token_hash = decode('"
        + java.util.HexFormat.of().formatHex(hash(second)) + "', 'hex'))");
    expire(env, first);
    expire(env, second);
    String live1 = loginOk(env, "officer.zhang").getString("refresh_token");
    String live2 = rotated(env, live1);
    await(env.app().retention().sweep());
    assertThat(rows(env, first) + rows(env, second)).isEqualTo(2);

    sql(env, v173());
    // The ended family's newest token unspent again; the live family's spent one still spent.
    List<Long> unspent = new java.util.ArrayList<>();
    for (String token : List.of(first, second, live1, live2)) {
      unspent.add(env.count("SELECT count(*) FROM refresh_token WHERE used_at IS NULL AND token_hash = ?",
          hash(token)));
    }
    assertThat(unspent).containsExactly(0L, 1L, 0L, 1L);
    assertThat(state(env, live2)).isEqualTo("live");
    assertThat(await(env.app().retention().sweep()).refreshTokens()).isEqualTo(2);
    assertThat(rows(env, first) + rows(env, second)).isZero();
    assertThat(rows(env, live1) + rows(env, live2)).isEqualTo(2);
    assertThat(rotated(env, live2)).isNotBlank();
  }
}
