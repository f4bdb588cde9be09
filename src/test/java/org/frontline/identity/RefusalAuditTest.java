package org.frontline.identity;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import org.frontline.Frontline;
import org.frontline.config.ConfigLoader;
import org.frontline.config.FrontlineConfig.Mode;
import org.frontline.audit.AuditEvent;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.testing.TestEnvironment.await;

/**
 * Refusals anyone can send at line rate (refused bearer tokens, throttled logins; forbidden calls of an account, per
 * account and operation) grow the audit chain by a bounded
 * number of entries: per client address and reason, the first at once, the rest counted into one summary entry per
 * interval; the metrics count every one. The shared test service audits each refusal (its tests look them up one by
 * one), so this runs a second instance, on the same database, with the rule on (a 3 s interval, not a minute).
 * Each client comes from its own loopback address.
 */
@FrontlineTest
class RefusalAuditTest {
  static final Duration INTERVAL = Duration.ofSeconds(3);
  private static Frontline instance;
  private final List<WebClient> clients = new ArrayList<>();
  private final List<org.frontline.testing.LogCapture> captures = new ArrayList<>();

  @BeforeAll
  static void start(TestEnvironment env) throws Exception {
    Map<String, String> settings = new HashMap<>(env.settings());
    settings.put("FRONTLINE_HTTP_PORT", String.valueOf(TestEnvironment.freePort()));
    settings.put("FRONTLINE_MANAGEMENT_PORT", String.valueOf(TestEnvironment.freePort()));
    settings.put("FRONTLINE_ROLES", "api");
    settings.put("FRONTLINE_AUTH_REFUSAL_AUDIT_SECONDS", String.valueOf(INTERVAL.toSeconds()));
    instance = Frontline.start(ConfigLoader.load(Mode.PRODUCTION, settings, Map.of()))
        .toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    if (instance != null) {
      instance.stop().get(30, TimeUnit.SECONDS);
    }
  }

  @org.junit.jupiter.api.AfterEach
  void closeClients() {
    clients.forEach(WebClient::close);
    captures.forEach(org.frontline.testing.LogCapture::close);
  }

  /** A client of the second instance connecting from {@code localAddress}. */
  private WebClient from(TestEnvironment env, String localAddress) {
    WebClient client = WebClient.create(env.app().vertx(), new WebClientOptions().setDefaultHost("127.0.0.1")
        .setDefaultPort(instance.config().http().port()).setLocalAddress(localAddress),
        new io.vertx.core.http.PoolOptions().setHttp1MaxSize(20));
    clients.add(client);
    return client;
  }

  /** {@code n} requests, 20 at a time; every answer. */
  private static List<HttpResponse<Buffer>> burst(int n,
      java.util.function.Supplier<Future<HttpResponse<Buffer>>> call) {
    List<HttpResponse<Buffer>> answers = new ArrayList<>();
    for (int i = 0; i < n; i += 20) {
      List<Future<HttpResponse<Buffer>>> wave = new ArrayList<>();
      for (int j = i; j < Math.min(n, i + 20); j++) {
        wave.add(call.get());
      }
      wave.forEach(f -> answers.add(await(f)));
    }
    return answers;
  }

  /** The entries of {@code action} from {@code address} after seq {@code after}: {seq, request id, details}. */
  private static List<Object[]> entries(TestEnvironment env, String action, String address, long after)
      throws Exception {
    try (Connection c = env.jdbc(); PreparedStatement ps = c.prepareStatement("SELECT seq, request_id, details::text "
        + "FROM audit_log WHERE action = ? AND client_address = ? AND seq > ? ORDER BY seq")) {
      ps.setString(1, action);
      ps.setString(2, address);
      ps.setLong(3, after);
      List<Object[]> rows = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          rows.add(new Object[] {rs.getLong(1), rs.getString(2), new JsonObject(rs.getString(3))});
        }
      }
      return rows;
    }
  }

  /** How many refusals the entries stand for (an entry that does not say stands for one). */
  private static long refusalsIn(List<Object[]> rows) {
    return rows.stream().mapToLong(r -> ((JsonObject) r[2]).getLong("refusals", 1L)).sum();
  }

  private static long lastSeq(TestEnvironment env) {
    return env.count("SELECT coalesce(max(seq), 0) FROM audit_log");
  }

  private static boolean eventually(Duration limit, BooleanSupplier condition) throws InterruptedException {
    long end = System.nanoTime() + limit.toNanos();
    while (System.nanoTime() < end) {
      if (condition.getAsBoolean()) {
        return true;
      }
      Thread.sleep(100);
    }
    return condition.getAsBoolean();
  }

  /** The value of a Prometheus sample of the second instance's /metrics (0 when absent). */
  private double metric(TestEnvironment env, String sample) {
    String text = await(env.client().get(instance.config().http().managementPort(), "127.0.0.1", "/metrics").send())
        .bodyAsString();
    return text.lines().filter(l -> l.startsWith(sample + " ")).mapToDouble(l -> Double.parseDouble(
        l.substring(l.lastIndexOf(' ') + 1))).findFirst().orElse(0);
  }

  @Test
  void aFloodOfRefusedTokensFromOneAddressIsAFewEntriesThatCountItAndAnotherAddressIsStillAudited(
      TestEnvironment env) throws Exception {
    long before = lastSeq(env);
    String rejected = "frontline_auth_refusals_total{action=\"auth.token.rejected\"}";
    String folded = "frontline_auth_refusals_folded_total{action=\"auth.token.rejected\"}";
    double rejectedBefore = metric(env, rejected);
    double foldedBefore = metric(env, folded);
    org.frontline.testing.LogCapture logged = org.frontline.testing.LogCapture.of(RefusalAudit.class, "%msg%n");
    org.frontline.testing.LogCapture handlerLogged = org.frontline.testing.LogCapture.of(BearerAuthHandler.class,
        "%msg%n");
    captures.addAll(List.of(logged, handlerLogged));
    WebClient attacker = from(env, "127.0.0.5");
    long started = System.nanoTime();
    List<HttpResponse<Buffer>> answers = new ArrayList<>(burst(150, () -> attacker.get("/v1/me")
        .putHeader("Authorization", "Bearer not-a-token").send()));
    // Another address, amid the flood: audited at once, with its own request id.
    HttpResponse<Buffer> other = await(from(env, "127.0.0.6").get("/v1/me")
        .putHeader("Authorization", "Bearer not-a-token").putHeader("X-Request-Id", "refusal-other-address").send());
    answers.addAll(burst(150, () -> attacker.get("/v1/me")
        .putHeader("Authorization", "Bearer not-a-token").send()));
    Duration took = Duration.ofNanos(System.nanoTime() - started);
    assertThat(answers).hasSize(300).allSatisfy(r -> assertProblem(r, 401, "urn:frontline:problem:unauthorized"));
    assertProblem(other, 401, "urn:frontline:problem:unauthorized");
    List<Object[]> otherEntries = entries(env, "auth.token.rejected", "127.0.0.6", before);
    assertThat(otherEntries).hasSize(1);
    assertThat(otherEntries.get(0)[1]).isEqualTo("refusal-other-address");
    assertThat(((JsonObject) otherEntries.get(0)[2]).getLong("refusals", 1L)).isEqualTo(1);

    // The flood: its first refusal at once, the rest counted into a summary per interval, all 300 accounted for.
    assertThat(eventually(INTERVAL.multipliedBy(3), () -> {
      try {
        return refusalsIn(entries(env, "auth.token.rejected", "127.0.0.5", before)) == 300;
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    })).as("the summaries count every refusal").isTrue();
    List<Object[]> flood = entries(env, "auth.token.rejected", "127.0.0.5", before);
    long windows = took.toMillis() / INTERVAL.toMillis() + 1;
    assertThat(flood.size()).as("entries for 300 refusals sent in %s", took).isBetween(2, (int) (1 + windows + 1));
    JsonObject first = (JsonObject) flood.get(0)[2];
    assertThat(flood.get(0)[1]).as("the first refusal is audited with its request id").isNotNull();
    assertThat(first.getLong("refusals")).isEqualTo(1);
    assertThat(first.getString("reason")).isEqualTo("not a compact JWS");
    assertThat(first.containsKey("summary")).isFalse();
    for (Object[] summary : flood.subList(1, flood.size())) {
      JsonObject details = (JsonObject) summary[2];
      assertThat(summary[1]).as("a summary stands for many requests").isNull();
      assertThat(details.getBoolean("summary")).isTrue();
      assertThat(details.getString("reason")).isEqualTo("not a compact JWS");
      assertThat(details.getLong("refusals")).isPositive();
      assertThat(java.time.Instant.parse(details.getString("from")))
          .isBefore(java.time.Instant.parse(details.getString("to")));
    }

    // The log folds the flood the same way: a line per entry, none per refusal only counted.
    assertThat(logged.text().lines().filter(l -> l.startsWith("auth.token.rejected from 127.0.0.5"))).as(logged.text())
        .hasSize(flood.size());
    assertThat(logged.text()).contains("auth.token.rejected from 127.0.0.5: ").contains("more refusals (not a compact JWS)");
    assertThat(handlerLogged.text()).doesNotContain("not a compact JWS");

    // The count is visible to an admin of the whole organisation through the audit API too.
    JsonArray listed = Admin.ok(Admin.get(env, Admin.token(env, "admin"),
        "/v1/audit?action=auth.token.rejected&limit=200"), 200).getJsonArray("items");
    long listedRefusals = listed.stream().map(o -> (JsonObject) o)
        .filter(e -> "127.0.0.5".equals(e.getString("clientAddress")) && e.getLong("seq") > before)
        .mapToLong(e -> e.getJsonObject("details").getLong("refusals")).sum();
    assertThat(listedRefusals).isEqualTo(300);

    // The metrics count every refusal, audited one by one or not.
    assertThat(metric(env, rejected) - rejectedBefore).isEqualTo(301);
    assertThat(metric(env, folded) - foldedBefore).isEqualTo(299);
  }

  /**
   * A client rotating through the addresses of its IPv6 /64 has one window: its first refusal is audited with the
   * exact address, the rest counted into one summary naming the prefix (the tests' clients connect over IPv4, so the
   * refusals are given to a RefusalAudit of the service's database directly).
   */
  @Test
  void refusalsFromManyAddressesOfOneIpv6PrefixAreOneEntryAndASummary(TestEnvironment env) throws Exception {
    long after = lastSeq(env);
    RefusalAudit refusals = new RefusalAudit(env.app().vertx(), env.app().database().pool(), env.app().audit(),
        Duration.ofHours(1), new io.micrometer.core.instrument.simple.SimpleMeterRegistry(), java.time.Clock.systemUTC());
    for (int i = 1; i <= 50; i++) {
      await(refusals.refused(new AuditEvent(null, "anonymous", "auth.token.rejected", null, null, null,
          "2001:db8:1:2::" + Integer.toHexString(i), "rotating-" + i, AuditEvent.Outcome.DENIED, null), "bad signature"));
    }
    await(refusals.refused(new AuditEvent(null, "anonymous", "auth.token.rejected", null, null, null,
        "2001:db8:1:3::1", "next-prefix", AuditEvent.Outcome.DENIED, null), "bad signature"));
    await(refusals.flush());

    List<Object[]> first = entries(env, "auth.token.rejected", "2001:db8:1:2::1", after);
    assertThat(first).hasSize(1);
    assertThat(first.get(0)[1]).isEqualTo("rotating-1");
    List<Object[]> summary = entries(env, "auth.token.rejected", "2001:db8:1:2::/64", after);
    assertThat(summary).hasSize(1);
    assertThat(((JsonObject) summary.get(0)[2]).getLong("refusals")).isEqualTo(49L);
    assertThat(((JsonObject) summary.get(0)[2]).getBoolean("summary")).isTrue();
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'auth.token.rejected' AND seq > ?"
        + " AND client_address LIKE '2001:db8:1:2:%'", after)).isEqualTo(2);
    assertThat(entries(env, "auth.token.rejected", "2001:db8:1:3::1", after)).hasSize(1);
  }

  @Test
  void throttledLoginsFromOneAddressAreOneEntryAndASummary(TestEnvironment env) throws Exception {
    long before = lastSeq(env);
    WebClient client = from(env, "127.0.0.7");
    // An unknown username: 5 failures (each audited: they are bounded by the throttle), then 429s.
    List<HttpResponse<Buffer>> answers = burst(60, () -> client.post("/v1/auth/login")
        .sendJsonObject(new JsonObject().put("username", "nobody.refusal-audit").put("password", "wrong-password")));
    long throttled = answers.stream().filter(r -> r.statusCode() == 429).count();
    assertThat(answers).allSatisfy(r -> assertThat(r.statusCode()).isIn(401, 429));
    assertThat(answers.stream().filter(r -> r.statusCode() == 401).count()).isEqualTo(AuthService.MAX_FAILURES);
    assertThat(entries(env, "auth.login.failed", "127.0.0.7", before)).hasSize(AuthService.MAX_FAILURES);
    assertThat(eventually(INTERVAL.multipliedBy(3), () -> {
      try {
        return refusalsIn(entries(env, "auth.login.throttled", "127.0.0.7", before)) == throttled;
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    })).as("the summary counts every throttled attempt").isTrue();
    List<Object[]> entries = entries(env, "auth.login.throttled", "127.0.0.7", before);
    assertThat(entries.size()).isBetween(2, 4);
    assertThat(((JsonObject) entries.get(0)[2]).getLong("retryAfterSeconds")).isPositive();
    assertThat(((JsonObject) entries.get(1)[2]).getBoolean("summary")).isTrue();
  }

  @Test
  void aForbiddenCallRepeatedByOneAccountIsOneEntryAndASummaryNamingItAndAnotherAccountIsStillAudited(
      TestEnvironment env) throws Exception {
    long before = lastSeq(env);
    String xu = Admin.token(env, "officer.xu");
    String zhang = Admin.token(env, "officer.zhang");
    WebClient office = from(env, "127.0.0.8");
    List<HttpResponse<Buffer>> answers = new ArrayList<>(burst(20, () -> office.get("/v1/audit")
        .putHeader("Authorization", "Bearer " + xu).send()));
    // Another account behind the same office address: its own entry, at once.
    HttpResponse<Buffer> other = await(office.get("/v1/audit").putHeader("Authorization", "Bearer " + zhang)
        .putHeader("X-Request-Id", "denied-other-account").send());
    answers.addAll(burst(20, () -> office.get("/v1/audit").putHeader("Authorization", "Bearer " + xu).send()));
    assertThat(answers).hasSize(40).allSatisfy(r -> assertProblem(r, 403, "urn:frontline:problem:forbidden"));
    assertProblem(other, 403, "urn:frontline:problem:forbidden");

    String query = "SELECT actor_id::text, object_id, request_id, details::text FROM audit_log"
        + " WHERE action = 'access.denied' AND client_address = '127.0.0.8' AND actor_id = ?::uuid AND seq > ?"
        + " ORDER BY seq";
    java.util.function.Function<String, List<Object[]>> of = username -> {
      try (Connection c = env.jdbc(); PreparedStatement ps = c.prepareStatement(query)) {
        ps.setString(1, Admin.account(username).toString());
        ps.setLong(2, before);
        List<Object[]> rows = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            rows.add(new Object[] {rs.getString(1), rs.getString(2), rs.getString(3), new JsonObject(rs.getString(4))});
          }
        }
        return rows;
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    };
    List<Object[]> zhangs = of.apply("officer.zhang");
    assertThat(zhangs).hasSize(1);
    assertThat(zhangs.get(0)[2]).isEqualTo("denied-other-account");
    assertThat(((JsonObject) zhangs.get(0)[3]).getString("reason")).isEqualTo("role-not-held");

    assertThat(eventually(INTERVAL.multipliedBy(3), () -> of.apply("officer.xu").stream()
        .mapToLong(r -> ((JsonObject) r[3]).getLong("refusals")).sum() == 40))
        .as("the entries of officer.xu count every refusal").isTrue();
    List<Object[]> xus = of.apply("officer.xu");
    assertThat(xus.size()).isBetween(2, 4);
    assertThat(xus).allSatisfy(r -> assertThat(r[1]).isEqualTo("listAuditEntries"));
    assertThat(xus.get(0)[2]).as("the first is audited with its request id").isNotNull();
    for (Object[] summary : xus.subList(1, xus.size())) {
      assertThat(summary[2]).isNull();
      assertThat(((JsonObject) summary[3]).getBoolean("summary")).isTrue();
      assertThat(((JsonObject) summary[3]).getString("reason")).isEqualTo("role-not-held");
    }
  }
}
