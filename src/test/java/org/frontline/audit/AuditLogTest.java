package org.frontline.audit;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.dev.DemoOrganisation;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.frontline.audit.AuditTesting.accessToken;
import static org.frontline.audit.AuditTesting.entries;
import static org.frontline.audit.AuditTesting.login;
import static org.frontline.audit.AuditTesting.loginOk;
import static org.frontline.audit.AuditTesting.tamper;
import static org.frontline.audit.AuditTesting.verify;
import static org.frontline.testing.TestEnvironment.await;

/** What the audit log records, that its chain holds under concurrency, and that verify finds tampering. */
@FrontlineTest
class AuditLogTest {
  private static final String SECRET_TRIED = "not-the-password-42";

  @BeforeEach
  void emptyLog(TestEnvironment env) throws SQLException {
    AuditTesting.clearAuditAndThrottle(env);
  }

  @Test
  void loginsFailuresReuseAndLogoutAreRecordedInOneChain(TestEnvironment env) throws Exception {
    JsonObject xu = loginOk(env, "officer.xu");
    assertThat(login(env, "officer.xu", SECRET_TRIED).statusCode()).isEqualTo(401);
    assertThat(login(env, "nobody.here", SECRET_TRIED).statusCode()).isEqualTo(401);
    String first = xu.getString("refresh_token");
    HttpResponse<Buffer> rotated = refresh(env, first);
    assertThat(rotated.statusCode()).isEqualTo(200);
    assertThat(refresh(env, first).statusCode()).isEqualTo(401); // reuse: the family is revoked
    JsonObject zhang = loginOk(env, "officer.zhang");
    HttpResponse<Buffer> logout = await(env.client().post("/v1/auth/logout")
        .putHeader("Authorization", "Bearer " + zhang.getString("access_token"))
        .sendJsonObject(new JsonObject().put("refresh_token", zhang.getString("refresh_token"))));
    assertThat(logout.statusCode()).isEqualTo(204);

    List<AuditEntry> log = entries(env);
    assertThat(log).extracting(AuditEntry::action).containsExactly("auth.login", "auth.login.failed",
        "auth.login.failed", "auth.refresh.reuse-detected", "auth.login", "auth.logout");
    UUID xuId = accountId(env, "officer.xu");
    UUID zhangId = accountId(env, "officer.zhang");

    AuditEntry ok = log.get(0);
    assertThat(ok.actorId()).isEqualTo(xuId);
    assertThat(ok.actorLabel()).isEqualTo("officer.xu");
    assertThat(ok.outcome()).isEqualTo("SUCCESS");
    assertThat(ok.unitId()).isEqualTo(DemoOrganisation.HUAISI);
    assertThat(ok.unitPath()).endsWith("/" + DemoOrganisation.HUAISI + "/");
    assertThat(ok.clientAddress()).isEqualTo("127.0.0.1");
    assertThat(ok.requestId()).isNotBlank();

    AuditEntry failed = log.get(1);
    assertThat(failed.actorId()).isNull();
    assertThat(failed.actorLabel()).isEqualTo("officer.xu");
    assertThat(failed.outcome()).isEqualTo("FAILURE");
    assertThat(failed.objectId()).isEqualTo(xuId.toString());
    assertThat(failed.unitId()).isEqualTo(DemoOrganisation.HUAISI);
    assertThat(failed.details().getString("reason")).isEqualTo("wrong-password");

    AuditEntry unknown = log.get(2);
    assertThat(unknown.actorLabel()).isEqualTo("nobody.here");
    assertThat(unknown.outcome()).isEqualTo("FAILURE");
    assertThat(unknown.unitId()).isNull();
    assertThat(unknown.details().getString("reason")).isEqualTo("unknown-account");

    AuditEntry reuse = log.get(3);
    assertThat(reuse.actorId()).isEqualTo(xuId);
    assertThat(reuse.outcome()).isEqualTo("DENIED");
    assertThat(reuse.objectType()).isEqualTo("refresh-token-family");
    assertThat(reuse.details().getInteger("revokedTokens")).isEqualTo(2);

    AuditEntry out = log.get(5);
    assertThat(out.actorId()).isEqualTo(zhangId);
    assertThat(out.outcome()).isEqualTo("SUCCESS");
    assertThat(out.unitId()).isEqualTo(DemoOrganisation.TONGZHOU);
    assertThat(out.details().getInteger("revokedTokens")).isEqualTo(1);

    // the chain: gap-free seq, each prev_hash the hash before, each hash recomputable from the row
    byte[] previous = new byte[32];
    for (int i = 0; i < log.size(); i++) {
      AuditEntry e = log.get(i);
      assertThat(e.seq()).isEqualTo(i + 1);
      assertThat(e.prevHash()).isEqualTo(previous);
      assertThat(e.hash()).isEqualTo(AuditChain.hash(e));
      previous = e.hash();
    }
    // never a password anywhere in the log
    try (Connection c = env.jdbc(); Statement s = c.createStatement();
         var rs = s.executeQuery("SELECT count(*) FROM audit_log a WHERE a::text LIKE '%" + SECRET_TRIED + "%'")) {
      rs.next();
      assertThat(rs.getInt(1)).isZero();
    }
    JsonObject result = verify(env, accessToken(env, "admin")).bodyAsJsonObject();
    assertThat(result.getBoolean("ok")).isTrue();
    assertThat(result.getLong("checked")).isEqualTo(7); // the six above and the admin's login
  }

  @Test
  void aThrottledLoginIsRecorded(TestEnvironment env) throws Exception {
    for (int i = 0; i < 5; i++) {
      assertThat(login(env, "officer.zhang", SECRET_TRIED).statusCode()).isEqualTo(401);
    }
    HttpResponse<Buffer> throttled = login(env, "officer.zhang", "frontline-dev");
    assertThat(throttled.statusCode()).isEqualTo(429);
    AuditEntry last = entries(env).get(5);
    assertThat(last.action()).isEqualTo("auth.login.throttled");
    assertThat(last.actorLabel()).isEqualTo("officer.zhang");
    assertThat(last.outcome()).isEqualTo("DENIED");
    assertThat(last.details().getLong("retryAfterSeconds")).isPositive();
  }

  @Test
  void concurrentLoginsFormOneUnbrokenChain(TestEnvironment env) throws Exception {
    List<String> users = List.of("admin", "officer.xu", "officer.zhang", "supervisor.hanjiang",
        "supervisor.tongzhou");
    List<Future<HttpResponse<Buffer>>> racing = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      racing.add(env.client().post("/v1/auth/login").sendJsonObject(new JsonObject()
          .put("username", users.get(i % users.size())).put("password", "frontline-dev")));
    }
    await(Future.join(racing));
    assertThat(racing).allSatisfy(f -> assertThat(f.result().statusCode()).isEqualTo(200));

    List<AuditEntry> log = entries(env);
    assertThat(log).hasSize(20);
    assertThat(log).extracting(AuditEntry::seq).containsExactlyElementsOf(
        java.util.stream.LongStream.rangeClosed(1, 20).boxed().toList());
    JsonObject result = verify(env, racing.get(0).result().bodyAsJsonObject().getString("access_token"))
        .bodyAsJsonObject();
    assertThat(result.getBoolean("ok")).as(result.encode()).isTrue();
    assertThat(result.getLong("checked")).isEqualTo(20);
    assertThat(result.containsKey("firstBroken")).isFalse();
  }

  @Test
  void updateAndDeleteAreRefusedByTheDatabase(TestEnvironment env) throws Exception {
    loginOk(env, "officer.xu");
    try (Connection c = env.jdbc(); Statement s = c.createStatement()) {
      assertThatThrownBy(() -> s.executeUpdate("UPDATE audit_log SET actor_label = 'someone' WHERE seq = 1"))
          .isInstanceOf(SQLException.class).hasMessageContaining("append-only");
      assertThatThrownBy(() -> s.executeUpdate("DELETE FROM audit_log WHERE seq = 1"))
          .isInstanceOf(SQLException.class).hasMessageContaining("append-only");
      assertThatThrownBy(() -> s.execute("TRUNCATE audit_log"))
          .isInstanceOf(SQLException.class).hasMessageContaining("append-only");
    }
    assertThat(entries(env)).hasSize(1);
  }

  @Test
  void verifyNamesARowChangedInTheDatabase(TestEnvironment env) throws Exception {
    for (String user : List.of("officer.xu", "officer.zhang", "supervisor.hanjiang")) {
      loginOk(env, user);
    }
    tamper(env, "UPDATE audit_log SET details = '{\"tokenFamily\": \"forged\"}' WHERE seq = 2");
    JsonObject result = verify(env, accessToken(env, "admin")).bodyAsJsonObject();
    assertThat(result.getBoolean("ok")).isFalse();
    assertThat(result.getLong("checked")).isEqualTo(1);
    assertThat(result.getJsonObject("firstBroken").getLong("seq")).isEqualTo(2);
    assertThat(result.getJsonObject("firstBroken").getString("reason")).isEqualTo("content-changed");
  }

  @Test
  void verifyNamesARowChangedWithItsHashRecomputed(TestEnvironment env) throws Exception {
    for (String user : List.of("officer.xu", "officer.zhang", "supervisor.hanjiang")) {
      loginOk(env, user);
    }
    // The head at the newest entry: had the service's checkpoint last run between the second and third logins, the
    // head would record seq 2's hash and name seq 2 (content-changed), which is the head's check, not this one.
    checkpoint(env);
    AuditEntry second = entries(env).get(1);
    AuditEntry forged = new AuditEntry(second.seq(), second.at(), second.actorId(), "someone.else",
        second.action(), second.objectType(), second.objectId(), second.unitId(), second.unitPath(),
        second.clientAddress(), second.requestId(), second.outcome(), second.details(), second.prevHash(), null);
    String hash = HexFormat.of().formatHex(AuditChain.hash(forged));
    tamper(env, "UPDATE audit_log SET actor_label = 'someone.else', hash = '\\x" + hash + "' WHERE seq = 2");
    JsonObject broken = verify(env, accessToken(env, "admin")).bodyAsJsonObject().getJsonObject("firstBroken");
    assertThat(broken.getLong("seq")).isEqualTo(3);
    assertThat(broken.getString("reason")).isEqualTo("prev-hash-mismatch");
  }

  @Test
  void verifyNamesADeletedRow(TestEnvironment env) throws Exception {
    for (String user : List.of("officer.xu", "officer.zhang", "supervisor.hanjiang", "supervisor.tongzhou")) {
      loginOk(env, user);
    }
    tamper(env, "DELETE FROM audit_log WHERE seq = 2");
    JsonObject result = verify(env, accessToken(env, "admin")).bodyAsJsonObject();
    assertThat(result.getBoolean("ok")).isFalse();
    assertThat(result.getLong("checked")).isEqualTo(1);
    assertThat(result.getJsonObject("firstBroken").getLong("seq")).isEqualTo(2);
    assertThat(result.getJsonObject("firstBroken").getString("reason")).isEqualTo("seq-gap");
  }

  /**
   * Entries reordered (two exchange places, each keeping its seq) or inserted (a copy of an entry put after it, the
   * later ones renumbered, its hash recomputed so that it fits the entry before): verify names the first entry out of
   * place. The chain's head is at the newest entry, so a tail recomputed to fit would be named too.
   */
  @Test
  void verifyNamesReorderedAndInsertedEntries(TestEnvironment env) throws Exception {
    for (String user : List.of("officer.xu", "officer.zhang", "supervisor.hanjiang", "supervisor.tongzhou")) {
      loginOk(env, user);
    }
    checkpoint(env);
    String columns = "at, actor_id, actor_label, action, object_type, object_id, unit_id, unit_path, client_address,"
        + " request_id, outcome, details, prev_hash, hash";
    tamper(env, "UPDATE audit_log SET seq = seq + 1000 WHERE seq IN (2, 3);"
        + " UPDATE audit_log SET seq = 3 WHERE seq = 1002; UPDATE audit_log SET seq = 2 WHERE seq = 1003");
    JsonObject reordered = verify(env, accessToken(env, "admin")).bodyAsJsonObject();
    assertThat(reordered.getBoolean("ok")).isFalse();
    assertThat(reordered.getJsonObject("firstBroken").getLong("seq")).isEqualTo(2);
    assertThat(reordered.getJsonObject("firstBroken").getString("reason")).isEqualTo("prev-hash-mismatch");
    tamper(env, "UPDATE audit_log SET seq = seq + 1000 WHERE seq IN (2, 3);"
        + " UPDATE audit_log SET seq = 3 WHERE seq = 1002; UPDATE audit_log SET seq = 2 WHERE seq = 1003");
    assertThat(verify(env, accessToken(env, "admin")).bodyAsJsonObject().getBoolean("ok")).isTrue();

    AuditEntry second = entries(env).get(1);
    AuditEntry copy = new AuditEntry(3, second.at(), second.actorId(), second.actorLabel(), second.action(),
        second.objectType(), second.objectId(), second.unitId(), second.unitPath(), second.clientAddress(),
        second.requestId(), second.outcome(), second.details(), second.hash(), null);
    String hash = HexFormat.of().formatHex(AuditChain.hash(copy));
    tamper(env, "UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 3; UPDATE audit_log SET seq = seq - 999"
        + " WHERE seq > 1000; INSERT INTO audit_log (seq, " + columns + ") SELECT 3, " + columns.replace(
            "prev_hash, hash", "hash, '\\x" + hash + "'") + " FROM audit_log WHERE seq = 2");
    assertThat(entries(env)).extracting(AuditEntry::seq).startsWith(1L, 2L, 3L, 4L);
    JsonObject inserted = verify(env, accessToken(env, "admin")).bodyAsJsonObject();
    assertThat(inserted.getBoolean("ok")).isFalse();
    assertThat(inserted.getLong("checked")).isEqualTo(3);
    assertThat(inserted.getJsonObject("firstBroken").getLong("seq")).isEqualTo(4);
    assertThat(inserted.getJsonObject("firstBroken").getString("reason")).isEqualTo("prev-hash-mismatch");
  }

  /** Details that are no JSON object were written by no writer: verify names the row (it answered 500). */
  @Test
  void verifyNamesARowWhoseDetailsWereMadeSomethingElseThanAnObject(TestEnvironment env) throws Exception {
    for (String user : List.of("officer.xu", "officer.zhang", "supervisor.hanjiang")) {
      loginOk(env, user);
    }
    tamper(env, "UPDATE audit_log SET details = '[\"forged\"]' WHERE seq = 2");
    HttpResponse<Buffer> response = verify(env, accessToken(env, "admin"));
    assertThat(response.statusCode()).as(response.bodyAsString()).isEqualTo(200);
    JsonObject result = response.bodyAsJsonObject();
    assertThat(result.getBoolean("ok")).isFalse();
    assertThat(result.getLong("checked")).isEqualTo(1);
    assertThat(result.getJsonObject("firstBroken").getLong("seq")).isEqualTo(2);
    assertThat(result.getJsonObject("firstBroken").getString("reason")).isEqualTo("content-changed");
    try (Connection c = env.jdbc()) {
      assertThat(AuditVerification.verify(c).firstBroken().seq()).isEqualTo(2);
    }
  }

  /** A number is hashed as its exact stored decimal: one changed beyond a double's digits is found. */
  @Test
  void verifyNamesANumberChangedBeyondTheDigitsOfADouble(TestEnvironment env) throws Exception {
    AuditLog audit = env.app().audit();
    for (int i = 0; i < 3; i++) {
      await(audit.record(env.app().database().pool(), new AuditEvent(null, "system", "test.event", null, null,
          null, null, null, AuditEvent.Outcome.SUCCESS, new JsonObject().put("i", i).put("quantity", 12.5))));
    }
    assertThat(verify(env, accessToken(env, "admin")).bodyAsJsonObject().getBoolean("ok")).isTrue();
    tamper(env, "UPDATE audit_log SET details = jsonb_set(details, '{quantity}', '12.50000000000000000001') "
        + "WHERE seq = 2");
    JsonObject result = verify(env, accessToken(env, "admin")).bodyAsJsonObject();
    assertThat(result.getBoolean("ok")).as(result.encode()).isFalse();
    assertThat(result.getJsonObject("firstBroken").getLong("seq")).isEqualTo(2);
    assertThat(result.getJsonObject("firstBroken").getString("reason")).isEqualTo("content-changed");
  }

  /**
   * Review: the newest entries have no entry after them to show their deletion: deleting the tail left a shorter
   * chain that verified as intact, and the next entry continued it seamlessly. The head (V148) names the gap.
   */
  @Test
  void verifyNamesDeletedNewestEntriesAndTheChainGoesOnFromItsHead(TestEnvironment env) throws Exception {
    for (String user : List.of("officer.xu", "officer.zhang", "supervisor.hanjiang", "supervisor.tongzhou")) {
      loginOk(env, user);
    }
    checkpoint(env); // what every process does each second
    tamper(env, "DELETE FROM audit_log WHERE seq >= 3");
    checkpoint(env); // after the deletion, the head stays where it was
    JsonObject result = verify(env, accessToken(env, "admin")).bodyAsJsonObject();
    // the admin's own login (seq 5) goes on from the head, not from seq 2: the gap stays
    assertThat(entries(env)).extracting(AuditEntry::seq).containsExactly(1L, 2L, 5L);
    assertThat(result.getBoolean("ok")).as(result.encode()).isFalse();
    assertThat(result.getLong("checked")).isEqualTo(2);
    assertThat(result.getJsonObject("firstBroken").getLong("seq")).isEqualTo(3);
    assertThat(result.getJsonObject("firstBroken").getString("reason")).isEqualTo("seq-gap");
    try (Connection c = env.jdbc()) {
      assertThat(AuditVerification.verify(c).firstBroken()).isEqualTo(new ChainVerifier.Broken(3,
          ChainVerifier.Reason.SEQ_GAP, "entries 3 to 4 are missing; the next entry present is 5"));
    }
  }

  /** The tail deleted with nothing appended since: the chain ends before its head. */
  @Test
  void verifyOverJdbcNamesATailDeletedLast(TestEnvironment env) throws Exception {
    for (String user : List.of("officer.xu", "officer.zhang", "supervisor.hanjiang")) {
      loginOk(env, user);
    }
    checkpoint(env);
    tamper(env, "DELETE FROM audit_log WHERE seq = 3");
    try (Connection c = env.jdbc()) {
      ChainVerifier.Result result = AuditVerification.verify(c);
      assertThat(result.checked()).isEqualTo(2);
      assertThat(result.firstBroken().seq()).isEqualTo(3);
      assertThat(result.firstBroken().reason()).isEqualTo(ChainVerifier.Reason.SEQ_GAP);
      try (Statement s = c.createStatement()) {
        // A row inserted by other means than audit_append does not stop the appends that follow.
        s.executeUpdate("INSERT INTO audit_log (seq, at, actor_label, action, outcome, prev_hash, hash) VALUES (4, "
            + "now(), 'x', 'test.inserted', 'SUCCESS', '\\x" + "00".repeat(32) + "', '\\x" + "11".repeat(32) + "')");
        loginOk(env, "officer.xu");
        assertThat(entries(env)).extracting(AuditEntry::seq).containsExactly(1L, 2L, 4L, 5L);
        assertThatThrownBy(() -> s.executeUpdate("UPDATE audit_head SET seq = 2"))
            .isInstanceOf(SQLException.class).hasMessageContaining("only moves forward");
        assertThatThrownBy(() -> s.executeUpdate("DELETE FROM audit_head"))
            .isInstanceOf(SQLException.class).hasMessageContaining("only moves forward");
      }
    }
  }

  /** Moves the head forward now, as each process does every second (AuditLog.HEAD_INTERVAL). */
  private static void checkpoint(TestEnvironment env) throws SQLException {
    try (Connection c = env.jdbc(); Statement s = c.createStatement()) {
      s.execute("SELECT audit_checkpoint()");
    }
  }

  @Test
  void theServiceMovesTheHeadToTheNewestEntryWithinASecondOrSo(TestEnvironment env) throws Exception {
    loginOk(env, "officer.xu");
    loginOk(env, "officer.zhang");
    long newest = env.count("SELECT max(seq) FROM audit_log");
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
        .until(() -> env.count("SELECT coalesce((SELECT seq FROM audit_head), 0)") >= newest);
    assertThat(env.count("SELECT count(*) FROM audit_head h JOIN audit_log l USING (seq) WHERE l.hash = h.hash"))
        .isEqualTo(1);
  }

  @Test
  void verifyWalksAChainLongerThanOneBatch(TestEnvironment env) throws Exception {
    AuditLog audit = env.app().audit();
    for (int i = 0; i < AuditRepository.BATCH + 20; i++) {
      await(audit.record(env.app().database().pool(), new AuditEvent(null, "system", "test.event", null, null,
          null, null, null, AuditEvent.Outcome.SUCCESS, new JsonObject().put("i", i).put("f", 1.5)
              .put("nested", new JsonObject().put("z", "\u00e9\n\"").put("a", List.of(1, "x"))))));
    }
    JsonObject result = verify(env, accessToken(env, "admin")).bodyAsJsonObject();
    assertThat(result.getBoolean("ok")).as(result.encode()).isTrue();
    assertThat(result.getLong("checked")).isEqualTo(AuditRepository.BATCH + 21);
    tamper(env, "DELETE FROM audit_log WHERE seq = " + (AuditRepository.BATCH + 5));
    JsonObject broken = verify(env, accessToken(env, "admin")).bodyAsJsonObject().getJsonObject("firstBroken");
    assertThat(broken.getLong("seq")).isEqualTo(AuditRepository.BATCH + 5);
  }

  /**
   * The database hashes (audit_append) and the verifier in Java recomputes: the two must agree on every kind of
   * field, multi-byte text and every JSON value kind included, several entries in one append.
   */
  @Test
  void theDatabasesHashesAreTheOnesTheVerifierComputes(TestEnvironment env) throws Exception {
    AuditLog audit = env.app().audit();
    UUID unit = DemoOrganisation.HANJIANG;
    UUID actor = accountId(env, "admin");
    JsonObject details = new JsonObject().put("label", "Ōfficer ✓ 😀").put("ctl", "a\u0001b\u001f\t\\\"/")
        .put("dec", new java.math.BigDecimal("1.50")).put("exp", 1e3).put("neg", -0.0).put("big", Long.MAX_VALUE)
        .put("t", true).put("f", false).putNull("nothing").put("empty", "").put("list", List.of(List.of(), Map.of()))
        .put("Zed", 1).put("alpha", new JsonObject().put("b", 2).put("a", 1));
    await(audit.recordAll(env.app().database().pool(), List.of(
        new AuditEvent(actor, "Ōfficer ✓ 😀", "test.kinds", "report", UUID.randomUUID().toString(), unit,
            "2001:db8::1", "req-ÿ", AuditEvent.Outcome.DENIED, details),
        new AuditEvent(null, null, "test.nulls", null, null, null, null, null, AuditEvent.Outcome.FAILURE, null),
        new AuditEvent(null, "", "test.empty", "", "", UUID.randomUUID(), "", "", AuditEvent.Outcome.SUCCESS,
            new JsonObject()))));
    List<AuditEntry> log = entries(env);
    assertThat(log).extracting(AuditEntry::action).containsExactly("test.kinds", "test.nulls", "test.empty");
    assertThat(log).extracting(AuditEntry::seq).containsExactly(1L, 2L, 3L);
    assertThat(log.get(0).unitPath()).isNotBlank();
    assertThat(log.get(1).actorLabel()).isEqualTo("anonymous");
    assertThat(log.get(2).unitPath()).as("a unit that does not exist has no path").isNull();
    for (AuditEntry e : log) {
      assertThat(HexFormat.of().formatHex(AuditChain.hash(e))).as("entry %d", e.seq())
          .isEqualTo(HexFormat.of().formatHex(e.hash()));
    }
    assertThat(log.get(1).prevHash()).isEqualTo(log.get(0).hash());
    JsonObject result = verify(env, accessToken(env, "admin")).bodyAsJsonObject();
    assertThat(result.getBoolean("ok")).as(result.encode()).isTrue();
  }

  @Test
  void anEntryRecordedInATransactionThatRollsBackIsGone(TestEnvironment env) throws Exception {
    AuditLog audit = env.app().audit();
    Future<Void> rolledBack = env.app().database().inTransaction(conn -> audit.record(conn, new AuditEvent(null,
            "system", "test.rolled-back", null, null, null, null, null, AuditEvent.Outcome.SUCCESS, null))
        .compose(v -> Future.failedFuture("the change failed")));
    assertThatThrownBy(() -> await(rolledBack)).isNotNull();
    await(audit.record(env.app().database().pool(), new AuditEvent(null, "system", "test.kept", null, null, null,
        null, null, AuditEvent.Outcome.SUCCESS, null)));
    List<AuditEntry> log = entries(env);
    assertThat(log).extracting(AuditEntry::action).containsExactly("test.kept");
    assertThat(log.get(0).seq()).isEqualTo(1);
  }

  private static HttpResponse<Buffer> refresh(TestEnvironment env, String token) {
    return await(env.client().post("/v1/auth/refresh").sendJsonObject(new JsonObject().put("refresh_token", token)));
  }

  static UUID accountId(TestEnvironment env, String username) throws SQLException {
    try (Connection c = env.jdbc(); var ps = c.prepareStatement("SELECT id FROM account WHERE username = ?")) {
      ps.setString(1, username);
      try (var rs = ps.executeQuery()) {
        rs.next();
        return rs.getObject(1, UUID.class);
      }
    }
  }
}
