package org.frontline;

import com.sun.net.httpserver.HttpServer;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.config.ConfigLoader;
import org.frontline.config.FrontlineConfig.Mode;
import org.frontline.dev.DemoOrganisation;
import org.frontline.identity.KeyEncryption;
import org.frontline.platform.db.Migrations;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.LogCapture;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.frontline.MainTest.otherKey;
import static org.frontline.MainTest.run;

/**
 * {@code admin rekey}: an installation moves to a new key-encryption key (off a weak one too), every sealed value
 * re-encrypted in one transaction, audited once; servers on the new key sign, verify and deliver webhooks, a server
 * on the old key no longer starts; a failing re-key changes nothing. Each test has a database of its own: the shared
 * service keeps its key.
 */
@FrontlineTest
class RekeyCommandTest {
  private final List<String> databases = new ArrayList<>();
  private final List<Frontline> servers = new ArrayList<>();
  private TestEnvironment env;

  @AfterEach
  void dropOwnDatabases() throws Exception {
    for (Frontline f : servers) {
      f.stop().get(30, TimeUnit.SECONDS);
    }
    try (Connection c = env.jdbc(); Statement st = c.createStatement()) {
      for (String db : databases) {
        st.execute("DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
      }
    }
  }

  @Test
  void aRekeyMovesEverySealedValueToTheNewKeyAndOnlyServersOnItStart(TestEnvironment env) throws Exception {
    this.env = env;
    Map<String, String> old = installation();
    Frontline a = start(old);
    int portA = a.config().http().port();
    String admin = login(portA, "admin");
    assertThat(call(portA, admin, HttpMethod.POST, "/v1/admin/keys/rotate", null).statusCode()).isEqualTo(200);
    String officerToken = login(portA, "officer.zhang");
    try (Receiver receiver = new Receiver()) {
      String secret = subscribe(portA, admin, receiver.url());
      Map<String, byte[]> sealed = sealed(old);
      assertThat(sealed).hasSize(3); // two signing keys (current, previous), one webhook secret

      // A running instance holds the old key: refused, nothing changed.
      Map<String, String> rekey = rekeySettings(old, newKey());
      MainTest.Run refused = run(rekey, "admin", "rekey");
      assertThat(refused.status()).as(refused.out()).isEqualTo(1);
      assertThat(refused.err()).contains("cannot re-key, nothing was changed: ", "stop every instance first");
      assertSame(sealed, sealed(old));

      stop(a);
      MainTest.Run done = run(rekey, "admin", "rekey");
      assertThat(done.status()).as(done.err()).isZero();
      // One line says what was done (the rest of stdout is the console log).
      assertThat(done.out().lines().filter(l -> !l.matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} .*"))).hasSize(1);
      assertThat(done.out()).contains("re-encrypted under FRONTLINE_NEW_KEY_ENCRYPTION_KEY: 2 signing key(s) [",
          "1 webhook secret(s); 0 already under it");
      Map<String, byte[]> after = sealed(old);
      assertThat(after.keySet()).isEqualTo(sealed.keySet());
      after.forEach((id, bytes) -> assertThat(bytes).as(id).isNotEqualTo(sealed.get(id)));
      assertOpen(after, rekey.get("FRONTLINE_NEW_KEY_ENCRYPTION_KEY"));
      String entries = string(old, "SELECT count(*) || ' ' || min(details::text) FROM audit_log "
          + "WHERE action = 'key-encryption-key.rekey'");
      assertThat(entries).startsWith("1 ").doesNotContain(old.get("FRONTLINE_KEY_ENCRYPTION_KEY"),
          rekey.get("FRONTLINE_NEW_KEY_ENCRYPTION_KEY"));
      assertThat(run(Map.of("FRONTLINE_DATABASE_URL", old.get("FRONTLINE_DATABASE_URL")), "admin", "audit-verify")
          .status()).isZero();

      // Run twice (the operator's retry): nothing to do, nothing changed, no second entry.
      MainTest.Run again = run(rekey, "admin", "rekey");
      assertThat(again.status()).as(again.err()).isZero();
      assertThat(again.out()).contains("nothing to re-encrypt: all 3 sealed values already open under "
          + "FRONTLINE_NEW_KEY_ENCRYPTION_KEY");
      assertSame(after, sealed(old));
      assertThat(string(old, "SELECT count(*) FROM audit_log WHERE action = 'key-encryption-key.rekey'"))
          .isEqualTo("1");

      // The old key no longer starts a server, with the message it always had.
      Map<String, String> oldPorts = withFreePorts(old);
      try (LogCapture log = LogCapture.of(Main.class, "%msg%n")) {
        assertThat(run(oldPorts, "start").status()).isEqualTo(1);
        assertThat(log.text()).contains("is FRONTLINE_KEY_ENCRYPTION_KEY the one it was stored with?");
      }

      // The new key does: a token signed before the re-key still verifies, new ones are signed, webhooks signed.
      Map<String, String> next = withFreePorts(old);
      next.put("FRONTLINE_KEY_ENCRYPTION_KEY", rekey.get("FRONTLINE_NEW_KEY_ENCRYPTION_KEY"));
      Frontline b = start(next);
      int portB = b.config().http().port();
      assertThat(call(portB, officerToken, HttpMethod.GET, "/v1/me", null).statusCode()).isEqualTo(200);
      String fresh = login(portB, "officer.zhang");
      assertThat(call(portB, fresh, HttpMethod.GET, "/v1/me", null).statusCode()).isEqualTo(200);
      UUID reportId = report(portB, fresh);
      await().atMost(Duration.ofSeconds(30)).until(() -> !receiver.received.isEmpty());
      Received delivered = receiver.received.peek();
      assertThat(delivered.body()).contains(reportId.toString());
      assertThat(verifies(secret, delivered)).isTrue();
    }
  }

  @Test
  void aFailingRekeyLeavesEverythingUnderTheOldKeyAndAWeakKeyCanBeLeft(TestEnvironment env) throws Exception {
    this.env = env;
    Map<String, String> old = installation();
    Frontline a = start(old);
    int portA = a.config().http().port();
    subscribe(portA, login(portA, "admin"), "http://127.0.0.1:9/hook");
    stop(a);
    Map<String, byte[]> sealed = sealed(old);
    assertThat(sealed).hasSize(2);
    Map<String, String> rekey = rekeySettings(old, newKey());

    // Fails after the signing key's row was updated: the transaction takes it back.
    exec(old, "CREATE FUNCTION refuse_update() RETURNS trigger LANGUAGE plpgsql AS "
        + "$$ BEGIN RAISE EXCEPTION 'the disk is full'; END $$");
    exec(old, "CREATE TRIGGER refuse_update BEFORE UPDATE ON webhook_secret FOR EACH ROW EXECUTE FUNCTION "
        + "refuse_update()");
    MainTest.Run failed = run(rekey, "admin", "rekey");
    assertThat(failed.status()).isEqualTo(1);
    assertThat(failed.err()).contains("cannot re-key, nothing was changed: ", "the disk is full")
        .doesNotContain("\tat ");
    assertSame(sealed, sealed(old));
    assertOpen(sealed(old), old.get("FRONTLINE_KEY_ENCRYPTION_KEY"));
    exec(old, "DROP TRIGGER refuse_update ON webhook_secret");

    // A current key that opens nothing: refused, nothing changed, no entry.
    Map<String, String> wrong = new HashMap<>(rekey);
    wrong.put("FRONTLINE_KEY_ENCRYPTION_KEY", otherKey());
    MainTest.Run neither = run(wrong, "admin", "rekey");
    assertThat(neither.status()).isEqualTo(1);
    assertThat(neither.err()).contains("opens under neither FRONTLINE_KEY_ENCRYPTION_KEY nor "
        + "FRONTLINE_NEW_KEY_ENCRYPTION_KEY");
    assertSame(sealed, sealed(old));
    assertThat(string(old, "SELECT count(*) FROM audit_log WHERE action = 'key-encryption-key.rekey'"))
        .isEqualTo("0");

    // The new key is checked like the one a start takes; it must be another key.
    String weak = Base64.getEncoder().encodeToString(new byte[32]);
    for (String[] bad : new String[][] {{weak, "FRONTLINE_NEW_KEY_ENCRYPTION_KEY: a weak key (one byte value "
        + "repeated)"}, {old.get("FRONTLINE_KEY_ENCRYPTION_KEY"), "FRONTLINE_NEW_KEY_ENCRYPTION_KEY: the same key as "
        + "FRONTLINE_KEY_ENCRYPTION_KEY"}, {null, "FRONTLINE_NEW_KEY_ENCRYPTION_KEY: missing"}}) {
      Map<String, String> settings = new HashMap<>(rekey);
      if (bad[0] == null) {
        settings.remove("FRONTLINE_NEW_KEY_ENCRYPTION_KEY");
      } else {
        settings.put("FRONTLINE_NEW_KEY_ENCRYPTION_KEY", bad[0]);
      }
      MainTest.Run r = run(settings, "admin", "rekey");
      assertThat(r.status()).as(bad[1]).isEqualTo(2);
      assertThat(r.err()).contains(bad[1]).doesNotContain("\tat ");
    }
    assertSame(sealed, sealed(old));

    // An installation on a weak key (sealed under 32 zero bytes, as before production refused them) moves off it.
    rekey(old, old.get("FRONTLINE_KEY_ENCRYPTION_KEY"), weak);
    Map<String, String> offWeak = rekeySettings(old, newKey());
    offWeak.put("FRONTLINE_KEY_ENCRYPTION_KEY", weak);
    MainTest.Run moved = run(offWeak, "admin", "rekey");
    assertThat(moved.status()).as(moved.err()).isZero();
    assertThat(moved.out()).contains("1 signing key(s)", "1 webhook secret(s)");
    assertOpen(sealed(old), offWeak.get("FRONTLINE_NEW_KEY_ENCRYPTION_KEY"));
  }

  /**
   * Two re-keys of one database at once: the second is refused at once, saying that a re-key is already running;
   * the first then completes. The second waited on the key-state lock the first holds and failed on its timeout
   * ("canceling statement due to lock timeout"), or the first counted the second's connection as a running
   * instance's and refused.
   */
  @Test
  void aSecondRekeyWhileOneRunsIsRefusedSayingSo(TestEnvironment env) throws Exception {
    this.env = env;
    Map<String, String> old = installation();
    // A signing key sealed under the key in force (admin rotate-keys needs no server, so no ports).
    MainTest.Run rotated = run(Map.of("FRONTLINE_DATABASE_URL", old.get("FRONTLINE_DATABASE_URL"),
        "FRONTLINE_KEY_ENCRYPTION_KEY", old.get("FRONTLINE_KEY_ENCRYPTION_KEY")), "admin", "rotate-keys");
    assertThat(rotated.status()).as(rotated.err()).isZero();
    Map<String, byte[]> sealed = sealed(old);
    assertThat(sealed).hasSize(1);
    Map<String, String> rekey = rekeySettings(old, newKey());
    String db = ConfigLoader.loadDatabase(old).database();
    try (Connection reader = jdbc(old); Statement st = reader.createStatement()) {
      // A reader of webhook_secret holds the first re-key at its LOCK TABLE, its own locks taken.
      reader.setAutoCommit(false);
      st.execute("LOCK TABLE webhook_secret IN ACCESS SHARE MODE");
      CompletableFuture<Integer> first = CompletableFuture.supplyAsync(
          () -> Main.commandLine(rekey).execute("admin", "rekey"));
      await().atMost(Duration.ofSeconds(8)).until(() -> env.count("SELECT count(*) FROM pg_stat_activity "
          + "WHERE datname = ? AND wait_event_type = 'Lock'", db) == 1);
      MainTest.Run second = run(rekey, "admin", "rekey");
      assertThat(second.status()).as(second.out()).isEqualTo(1);
      assertThat(second.err()).contains("cannot re-key, nothing was changed: ",
          "another admin rekey is already running on this database");
      reader.commit();
      assertThat(first.get(30, TimeUnit.SECONDS)).isZero();
    }
    Map<String, byte[]> after = sealed(old);
    after.forEach((id, bytes) -> assertThat(bytes).as(id).isNotEqualTo(sealed.get(id)));
    assertOpen(after, rekey.get("FRONTLINE_NEW_KEY_ENCRYPTION_KEY"));
    assertThat(string(old, "SELECT count(*) FROM audit_log WHERE action = 'key-encryption-key.rekey'"))
        .isEqualTo("1");
  }

  // --- an installation of its own ---

  /** A new database with the demo organisation, and the shared settings with a random key-encryption key. */
  private Map<String, String> installation() throws Exception {
    String name = "rekey_" + UUID.randomUUID().toString().replace("-", "");
    try (Connection c = env.jdbc(); Statement st = c.createStatement()) {
      st.execute("CREATE DATABASE " + name);
    }
    databases.add(name);
    Map<String, String> settings = withFreePorts(env.settings());
    String url = settings.get("FRONTLINE_DATABASE_URL");
    settings.put("FRONTLINE_DATABASE_URL", url.substring(0, url.lastIndexOf('/') + 1) + name);
    settings.put("FRONTLINE_KEY_ENCRYPTION_KEY", newKey());
    // The public URL, the same for every server of the installation (a token of one is valid on the next).
    settings.put("FRONTLINE_JWT_ISSUER", "http://127.0.0.1:" + settings.get("FRONTLINE_HTTP_PORT"));
    var config = ConfigLoader.load(Mode.PRODUCTION, settings, Map.of());
    Migrations.migrate(config.database());
    DemoOrganisation.seed(config.database());
    return settings;
  }

  private static Map<String, String> withFreePorts(Map<String, String> settings) {
    Map<String, String> out = new HashMap<>(settings);
    out.put("FRONTLINE_HTTP_PORT", String.valueOf(TestEnvironment.freePort()));
    out.put("FRONTLINE_MANAGEMENT_PORT", String.valueOf(TestEnvironment.freePort()));
    return out;
  }

  private static String newKey() {
    return otherKey();
  }

  private static Map<String, String> rekeySettings(Map<String, String> installation, String newKey) {
    Map<String, String> settings = new HashMap<>();
    settings.put("FRONTLINE_DATABASE_URL", installation.get("FRONTLINE_DATABASE_URL"));
    settings.put("FRONTLINE_KEY_ENCRYPTION_KEY", installation.get("FRONTLINE_KEY_ENCRYPTION_KEY"));
    settings.put("FRONTLINE_NEW_KEY_ENCRYPTION_KEY", newKey);
    return settings;
  }

  private Frontline start(Map<String, String> settings) throws Exception {
    Frontline f = Frontline.start(ConfigLoader.load(Mode.PRODUCTION, settings, Map.of()))
        .toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    servers.add(f);
    return f;
  }

  /** Stops the server and waits until its sessions have left the database. */
  private void stop(Frontline f) throws Exception {
    servers.remove(f);
    f.stop().get(30, TimeUnit.SECONDS);
    String db = f.config().database().database();
    await().atMost(Duration.ofSeconds(10)).until(() -> env.count("SELECT count(*) FROM pg_stat_activity "
        + "WHERE datname = ? AND application_name = 'frontline'", db) == 0);
  }

  /** Every sealed value of the installation by row: signing keys' private keys, webhook secrets. */
  private Map<String, byte[]> sealed(Map<String, String> installation) throws Exception {
    Map<String, byte[]> out = new HashMap<>();
    try (Connection c = jdbc(installation); Statement st = c.createStatement();
         ResultSet rs = st.executeQuery("SELECT kid, private_key_enc FROM signing_key WHERE private_key_enc IS NOT NULL "
             + "UNION ALL SELECT 'webhook-secret:' || id, secret_sealed FROM webhook_secret")) {
      while (rs.next()) {
        out.put(rs.getString(1), rs.getBytes(2));
      }
    }
    return out;
  }

  private static void assertSame(Map<String, byte[]> expected, Map<String, byte[]> actual) {
    assertThat(actual.keySet()).isEqualTo(expected.keySet());
    expected.forEach((id, bytes) -> assertThat(actual.get(id)).as(id).isEqualTo(bytes));
  }

  /** Each value opens under {@code kek} (the associated data each is sealed with: its kid or secret id). */
  private static void assertOpen(Map<String, byte[]> sealed, String kek) {
    KeyEncryption keys = encryption(kek);
    sealed.forEach((id, bytes) -> assertThat(keys.decrypt(id, bytes)).as(id).isNotEmpty());
  }

  private static KeyEncryption encryption(String kek) {
    return new KeyEncryption(new SecretKeySpec(Base64.getDecoder().decode(kek), "AES"));
  }

  /** Re-seals every value from one key to another directly in the database (an installation made so by hand). */
  private void rekey(Map<String, String> installation, String from, String to) throws Exception {
    KeyEncryption a = encryption(from);
    KeyEncryption b = encryption(to);
    try (Connection c = jdbc(installation)) {
      for (var e : sealed(installation).entrySet()) {
        boolean secret = e.getKey().startsWith("webhook-secret:");
        try (var ps = c.prepareStatement(secret ? "UPDATE webhook_secret SET secret_sealed = ? WHERE id = ?::uuid"
            : "UPDATE signing_key SET private_key_enc = ? WHERE kid = ?")) {
          ps.setBytes(1, b.encrypt(e.getKey(), a.decrypt(e.getKey(), e.getValue())));
          ps.setString(2, secret ? e.getKey().substring("webhook-secret:".length()) : e.getKey());
          assertThat(ps.executeUpdate()).isEqualTo(1);
        }
      }
    }
  }

  private Connection jdbc(Map<String, String> installation) throws Exception {
    var db = ConfigLoader.loadDatabase(installation);
    return java.sql.DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
  }

  private void exec(Map<String, String> installation, String sql) throws Exception {
    try (Connection c = jdbc(installation); Statement st = c.createStatement()) {
      st.execute(sql);
    }
  }

  private String string(Map<String, String> installation, String sql) throws Exception {
    try (Connection c = jdbc(installation); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }

  // --- the API of an installation's server ---

  private HttpResponse<Buffer> call(int port, String token, HttpMethod method, String path, JsonObject body) {
    var request = env.client().request(method, port, "127.0.0.1", path).putHeader("Authorization", "Bearer " + token);
    return TestEnvironment.await(body == null ? request.send() : request.sendJsonObject(body));
  }

  private String login(int port, String username) {
    HttpResponse<Buffer> r = TestEnvironment.await(env.client().post(port, "127.0.0.1", "/v1/auth/login")
        .sendJsonObject(new JsonObject().put("username", username).put("password", DemoOrganisation.PASSWORD)));
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    return r.bodyAsJsonObject().getString("access_token");
  }

  /** A partner client of Tongzhou subscribed to report.completed at {@code url}; the subscription's secret. */
  private String subscribe(int port, String admin, String url) {
    HttpResponse<Buffer> client = call(port, admin, HttpMethod.POST, "/v1/partner-clients", new JsonObject()
        .put("name", "Assessment system").put("authMethod", "client_secret_basic")
        .put("scopes", new JsonArray().add("events:read").add("webhooks:manage"))
        .put("unitIds", new JsonArray().add(DemoOrganisation.TONGZHOU.toString()))
        .put("reportTypes", new JsonArray().add("SITE")));
    assertThat(client.statusCode()).as(client.bodyAsString()).isEqualTo(201);
    JsonObject c = client.bodyAsJsonObject();
    String basic = Base64.getEncoder().encodeToString((c.getString("id") + ":" + c.getString("clientSecret"))
        .getBytes(StandardCharsets.UTF_8));
    HttpResponse<Buffer> token = TestEnvironment.await(env.client().post(port, "127.0.0.1", "/oauth2/token")
        .putHeader("Authorization", "Basic " + basic)
        .sendForm(MultiMap.caseInsensitiveMultiMap().add("grant_type", "client_credentials")));
    assertThat(token.statusCode()).as(token.bodyAsString()).isEqualTo(200);
    HttpResponse<Buffer> sub = call(port, token.bodyAsJsonObject().getString("access_token"), HttpMethod.POST,
        "/v1/webhooks", new JsonObject().put("url", url).put("eventTypes", new JsonArray().add("report.completed")));
    assertThat(sub.statusCode()).as(sub.bodyAsString()).isEqualTo(201);
    return sub.bodyAsJsonObject().getString("secret");
  }

  /** A SITE report of Tongzhou without attachments: COMPLETE at once, one report.completed event. */
  private UUID report(int port, String token) {
    UUID id = UUID.randomUUID();
    JsonObject envelope = new JsonObject().put("id", id.toString()).put("type", "SITE")
        .put("unitId", DemoOrganisation.TONGZHOU.toString()).put("capturedAt", "2026-11-20T08:30:00Z")
        .put("location", new JsonObject().put("lat", 32.0).put("lon", 121.0).put("accuracyM", 8.5)
            .put("provider", "gps").put("mock", false))
        .put("title", "Site visit").put("body", new JsonObject().put("observations", new JsonArray().add("Seen")));
    HttpResponse<Buffer> r = call(port, token, HttpMethod.POST, "/v1/reports", envelope);
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(201);
    return id;
  }

  record Received(Map<String, String> headers, String body) {}

  /** A webhook receiver on 127.0.0.1 answering 204. */
  static final class Receiver implements AutoCloseable {
    final ConcurrentLinkedQueue<Received> received = new ConcurrentLinkedQueue<>();
    private final HttpServer server;

    Receiver() throws Exception {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      server.createContext("/hook", exchange -> {
        String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        Map<String, String> headers = new HashMap<>();
        exchange.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(java.util.Locale.ROOT), v.get(0)));
        received.add(new Received(headers, body));
        exchange.sendResponseHeaders(204, -1);
        exchange.close();
      });
      server.start();
    }

    String url() {
      return "http://127.0.0.1:" + server.getAddress().getPort() + "/hook";
    }

    @Override
    public void close() {
      server.stop(0);
    }
  }

  /** Standard Webhooks: one of the listed v1 signatures is the HMAC-SHA256 of "{id}.{timestamp}.{body}". */
  private static boolean verifies(String secret, Received r) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(Base64.getDecoder().decode(secret.substring("whsec_".length())), "HmacSHA256"));
    byte[] expected = mac.doFinal((r.headers().get("webhook-id") + "." + r.headers().get("webhook-timestamp") + "."
        + r.body()).getBytes(StandardCharsets.UTF_8));
    for (String signature : r.headers().get("webhook-signature").split(" ")) {
      if (MessageDigest.isEqual(expected, Base64.getDecoder().decode(signature.substring("v1,".length())))) {
        return true;
      }
    }
    return false;
  }
}
