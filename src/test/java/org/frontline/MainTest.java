package org.frontline;

import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The command line as an operator meets it: exit statuses and the messages that name what is wrong. */
@FrontlineTest
class MainTest {

  record Run(int status, String out, String err) {}

  static synchronized Run run(Map<String, String> env, String... args) {
    PrintStream out = System.out;
    PrintStream err = System.err;
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
      int status = Main.commandLine(env).execute(args);
      return new Run(status, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(out);
      System.setErr(err);
    }
  }

  @Test
  void helpListsTheCommandsAndEverySetting() {
    Run r = run(Map.of(), "--help");
    assertThat(r.status()).isZero();
    assertThat(r.out()).contains("dev", "start", "migrate", "admin");
    for (var setting : org.frontline.config.Setting.values()) {
      assertThat(r.out()).contains(setting.env());
    }
  }

  @Test
  void startWithoutSettingsExitsTwoNamingEachMissingOne() {
    Run r = run(Map.of(), "start");
    assertThat(r.status()).isEqualTo(2);
    assertThat(r.err()).contains("FRONTLINE_DATABASE_URL: missing", "FRONTLINE_S3_ENDPOINT: missing",
        "FRONTLINE_KEY_ENCRYPTION_KEY: missing", "FRONTLINE_FIREBASE_CREDENTIALS_FILE: missing");
  }

  @Test
  void startWithAMalformedKeyEncryptionKeyExitsTwoNamingIt(TestEnvironment env) {
    Map<String, String> settings = new HashMap<>(env.settings());
    settings.put("FRONTLINE_KEY_ENCRYPTION_KEY", "c2hvcnQ=");
    Run r = run(settings, "start");
    assertThat(r.status()).isEqualTo(2);
    assertThat(r.err()).contains("FRONTLINE_KEY_ENCRYPTION_KEY: must be the base64 of exactly 32 bytes");
  }

  /** A key-encryption key of 32 random bytes, not the one the stored signing keys were sealed with. */
  static String otherKey() {
    byte[] key = new byte[32];
    new java.security.SecureRandom().nextBytes(key);
    return java.util.Base64.getEncoder().encodeToString(key);
  }

  @Test
  void startWithAWeakKeyEncryptionKeyExitsTwoNamingIt(TestEnvironment env) {
    Map<String, String> settings = new HashMap<>(env.settings());
    settings.put("FRONTLINE_HTTP_PORT", String.valueOf(TestEnvironment.freePort()));
    settings.put("FRONTLINE_MANAGEMENT_PORT", String.valueOf(TestEnvironment.freePort()));
    settings.put("FRONTLINE_KEY_ENCRYPTION_KEY", java.util.Base64.getEncoder().encodeToString(new byte[32]));
    for (String[] command : new String[][] {{"start"}, {"admin", "rotate-keys"}}) {
      Run r = run(settings, command);
      assertThat(r.status()).as(r.err()).isEqualTo(2);
      assertThat(r.err()).as(String.join(" ", command)).contains("FRONTLINE_KEY_ENCRYPTION_KEY: a weak key "
          + "(one byte value repeated); production needs 32 random bytes (openssl rand -base64 32)\n")
          .doesNotContain("\tat ");
    }
  }

  @Test
  void startWithAKeyEncryptionKeyThatDoesNotOpenTheStoredKeysExitsOne(TestEnvironment env) {
    Map<String, String> settings = new HashMap<>(env.settings());
    settings.put("FRONTLINE_KEY_ENCRYPTION_KEY", otherKey());
    Run r = run(settings, "start");
    assertThat(r.status()).isEqualTo(1);
  }

  @Test
  void aLogLevelInTheConfigFileIsApplied(TestEnvironment env, @org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
      throws Exception {
    java.nio.file.Path file = java.nio.file.Files.writeString(tmp.resolve("frontline.properties"),
        "FRONTLINE_LOG_LEVEL=WARN\n");
    Map<String, String> settings = new HashMap<>(env.settings());
    settings.put("FRONTLINE_CONFIG_FILE", file.toString());
    // A key-encryption key that opens nothing: the start gets past the configuration, then fails (no server left).
    settings.put("FRONTLINE_KEY_ENCRYPTION_KEY", otherKey());
    ch.qos.logback.classic.Logger frontline =
        (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("org.frontline");
    try {
      assertThat(run(settings, "start").status()).isEqualTo(1);
      assertThat(frontline.getLevel()).isEqualTo(ch.qos.logback.classic.Level.WARN);
      assertThat(org.slf4j.LoggerFactory.getLogger(Main.class).isInfoEnabled()).isFalse();
    } finally {
      frontline.setLevel(ch.qos.logback.classic.Level.INFO);
    }
  }

  @Test
  void aPortInUseExitsTwoNamingTheSettingsWithoutAStackTrace(TestEnvironment env) {
    Map<String, String> settings = new HashMap<>(env.settings()); // the test service holds both of its ports
    Run api = run(settings, "start");
    assertThat(api.status()).as(api.err()).isEqualTo(2);
    assertThat(api.err()).contains("FRONTLINE_HTTP_HOST/FRONTLINE_HTTP_PORT: cannot listen on 127.0.0.1:"
        + settings.get("FRONTLINE_HTTP_PORT") + " (").doesNotContain("\tat ");

    settings.put("FRONTLINE_HTTP_PORT", String.valueOf(TestEnvironment.freePort()));
    Run management = run(settings, "start");
    assertThat(management.status()).as(management.err()).isEqualTo(2);
    assertThat(management.err()).contains("FRONTLINE_MANAGEMENT_HOST/FRONTLINE_MANAGEMENT_PORT: cannot listen on "
        + "127.0.0.1:" + settings.get("FRONTLINE_MANAGEMENT_PORT") + " (").doesNotContain("\tat ");
    // The API it had opened is closed before the failure is reported (not awaited: right after the return).
    assertThat(refused(Integer.parseInt(settings.get("FRONTLINE_HTTP_PORT")))).isTrue();
  }

  private static boolean refused(int port) {
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
      return false;
    } catch (java.io.IOException refused) {
      return true;
    }
  }

  @Test
  void aFailedStartFailsOnlyOnceWhatItOpenedIsClosed(TestEnvironment env) throws Exception {
    Map<String, String> settings = new HashMap<>(env.settings()); // the test service holds the management port
    settings.put("FRONTLINE_HTTP_PORT", String.valueOf(TestEnvironment.freePort()));
    var config = org.frontline.config.ConfigLoader.load(org.frontline.config.FrontlineConfig.Mode.PRODUCTION,
        settings, Map.of());
    java.util.concurrent.atomic.AtomicReference<io.vertx.core.Vertx> vertx =
        new java.util.concurrent.atomic.AtomicReference<>();
    var start = Frontline.start(config, (v, blocking) -> {
      vertx.set(v);
      return io.vertx.core.Future.succeededFuture(new org.frontline.platform.push.RecordingPushGateway());
    }).toCompletionStage().toCompletableFuture();
    assertThat(start).failsWithin(java.time.Duration.ofSeconds(60))
        .withThrowableOfType(java.util.concurrent.ExecutionException.class)
        .havingCause().isInstanceOf(org.frontline.config.ConfigException.class)
        .withMessageContaining("FRONTLINE_MANAGEMENT_HOST/FRONTLINE_MANAGEMENT_PORT: cannot listen on");
    // At once, nothing awaited: the API port it had opened is closed and its Vert.x (event loops, pools) is gone.
    assertThat(refused(Integer.parseInt(settings.get("FRONTLINE_HTTP_PORT")))).isTrue();
    assertThat(((io.vertx.core.internal.VertxInternal) vertx.get()).nettyEventLoopGroup().isTerminated()).isTrue();
  }

  @Test
  void aDatabaseThatCannotBeReachedIsNamedWithoutAStackTrace(TestEnvironment env) {
    int port = TestEnvironment.freePort();
    Map<String, String> settings = Map.of(
        "FRONTLINE_DATABASE_URL", "postgresql://frontline:topsecretpw@127.0.0.1:" + port + "/frontline",
        "FRONTLINE_KEY_ENCRYPTION_KEY", otherKey());
    Map<String, String> all = new HashMap<>(env.settings());
    all.putAll(settings);
    for (String[] command : new String[][] {{"migrate"}, {"admin", "rotate-keys"}, {"start"}}) {
      Run r = run(command[0].equals("start") ? all : settings, command);
      assertThat(r.status()).as(r.err()).isEqualTo(1);
      assertThat(r.err()).as(String.join(" ", command))
          .contains("cannot migrate the database (FRONTLINE_DATABASE_URL): ", "127.0.0.1:" + port)
          .doesNotContain("\tat ", "topsecretpw");
    }
  }

  /**
   * An object store that cannot be reached at start: one plain line naming the setting and what failed, exit 1 (a
   * dependency, for a supervisor to start it again), no stack trace; before, "cannot start:
   * DependencyUnavailableException: object-store unavailable" and the trace, naming neither setting nor address.
   */
  @Test
  void anObjectStoreThatCannotBeReachedIsNamedWithoutAStackTrace(TestEnvironment env) {
    int port = TestEnvironment.freePort();
    Map<String, String> settings = new HashMap<>(env.settings());
    settings.put("FRONTLINE_HTTP_PORT", String.valueOf(TestEnvironment.freePort()));
    settings.put("FRONTLINE_MANAGEMENT_PORT", String.valueOf(TestEnvironment.freePort()));
    settings.put("FRONTLINE_S3_ENDPOINT", "http://127.0.0.1:" + port);
    settings.remove("FRONTLINE_S3_PUBLIC_ENDPOINT");
    Run r = run(settings, "start");
    assertThat(r.status()).as(r.err()).isEqualTo(1);
    assertThat(r.err()).contains("cannot start: the object store (FRONTLINE_S3_ENDPOINT) is unavailable: ",
        "127.0.0.1:" + port);
    assertThat(r.err() + r.out()).doesNotContain("\tat ", settings.get("FRONTLINE_S3_SECRET_KEY"));
  }

  @Test
  void aFirebaseCredentialsFileThatIsNoServiceAccountExitsTwoNamingIt(TestEnvironment env,
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
    java.nio.file.Path file = java.nio.file.Files.writeString(tmp.resolve("firebase.json"), "{}");
    Map<String, String> settings = new HashMap<>(env.settings());
    settings.put("FRONTLINE_HTTP_PORT", String.valueOf(TestEnvironment.freePort()));
    settings.put("FRONTLINE_MANAGEMENT_PORT", String.valueOf(TestEnvironment.freePort()));
    settings.put("FRONTLINE_PUSH_GATEWAY", "firebase");
    settings.put("FRONTLINE_FIREBASE_CREDENTIALS_FILE", file.toString());
    Run r = run(settings, "start");
    assertThat(r.status()).as(r.err()).isEqualTo(2);
    assertThat(r.err()).contains("FRONTLINE_FIREBASE_CREDENTIALS_FILE: '" + file + "' is not a usable "
        + "service-account file (").doesNotContain("\tat ");
  }

  @Test
  void adminRotateKeysRotatesWithOnlyTheDatabaseAndTheKeyEncryptionKey(TestEnvironment env) throws Exception {
    String before = env.app().signingKeys().keys().current().kid();
    Map<String, String> settings = new HashMap<>();
    settings.put("FRONTLINE_DATABASE_URL", env.settings().get("FRONTLINE_DATABASE_URL"));
    Run missing = run(settings, "admin", "rotate-keys");
    assertThat(missing.status()).isEqualTo(2);
    assertThat(missing.err()).contains("FRONTLINE_KEY_ENCRYPTION_KEY: missing");

    settings.put("FRONTLINE_KEY_ENCRYPTION_KEY", env.settings().get("FRONTLINE_KEY_ENCRYPTION_KEY"));
    Run r = run(settings, "admin", "rotate-keys");
    assertThat(r.status()).as(r.err()).isZero();
    assertThat(r.out()).contains("signing keys rotated:", "superseded [" + before + "]");
    TestEnvironment.await(env.app().signingKeys().reload());
    var keys = env.app().signingKeys().keys();
    assertThat(keys.current().kid()).isNotEqualTo(before);
    assertThat(keys.published()).containsKey(before).hasSize(2);

    settings.put("FRONTLINE_KEY_ENCRYPTION_KEY", otherKey());
    Run wrongKek = run(settings, "admin", "rotate-keys");
    assertThat(wrongKek.status()).isEqualTo(1);
    assertThat(wrongKek.err()).contains("FRONTLINE_KEY_ENCRYPTION_KEY");
    TestEnvironment.await(env.app().signingKeys().reload());
    assertThat(env.app().signingKeys().keys().published()).hasSize(2);
  }

  /**
   * `admin retire-key` (the API unreachable, or its admin accounts in doubt): the running instance stops trusting
   * the key as soon as the change is announced (no accounts here: another test of this class truncates them), a new
   * key is current, and the CLI's retirement is audited.
   */
  @Test
  void adminRetireKeyRetiresAKeyAtOnceForTheRunningInstances(TestEnvironment env) throws Exception {
    String leaked = env.string("SELECT kid FROM signing_key WHERE state = 'current'");
    assertThat(env.app().signingKeys().keys().published()).containsKey(leaked);
    Map<String, String> settings = new HashMap<>();
    settings.put("FRONTLINE_DATABASE_URL", env.settings().get("FRONTLINE_DATABASE_URL"));
    settings.put("FRONTLINE_KEY_ENCRYPTION_KEY", env.settings().get("FRONTLINE_KEY_ENCRYPTION_KEY"));

    Run r = run(settings, "admin", "retire-key", leaked);
    assertThat(r.status()).as(r.err()).isZero();
    String successor = env.string("SELECT kid FROM signing_key WHERE state = 'current'");
    assertThat(successor).isNotEqualTo(leaked);
    assertThat(r.out()).contains("signing key " + leaked + " retired; " + successor + " is current");
    assertThat(env.string("SELECT state FROM signing_key WHERE kid = ?", leaked)).isEqualTo("retired");
    assertThat(env.string("SELECT actor_label || ' ' || (details->>'replacedBy') FROM audit_log"
        + " WHERE action = 'signing-key.retire' AND object_id = ?", leaked)).isEqualTo("cli " + successor);
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (env.app().signingKeys().keys().published().containsKey(leaked)) {
      assertThat(System.nanoTime()).as("the running instance hears of the retirement").isLessThan(deadline);
      Thread.sleep(20);
    }
    assertThat(env.app().signingKeys().keys().current().kid()).isEqualTo(successor);

    Run unknown = run(settings, "admin", "retire-key", "es256-no-such-key");
    assertThat(unknown.status()).isEqualTo(1);
    assertThat(unknown.err()).contains("cannot retire the signing key", "No signing key es256-no-such-key.");
    assertThat(run(settings, "admin", "retire-key").status()).isEqualTo(2);
    assertThat(env.string("SELECT kid FROM signing_key WHERE state = 'current'")).isEqualTo(successor);
  }

  @Test
  void migrateOnAMigratedDatabaseAppliesNothing(TestEnvironment env) {
    Run r = run(Map.of("FRONTLINE_DATABASE_URL", env.settings().get("FRONTLINE_DATABASE_URL")), "migrate");
    assertThat(r.status()).isZero();
    assertThat(r.out()).contains("migrations applied: 0");
    assertThat(run(Map.of(), "migrate").err()).contains("FRONTLINE_DATABASE_URL: missing");
  }

  @Test
  void bootstrapRefusesAShortPasswordAndASecondAdministrator(TestEnvironment env) throws Exception {
    Map<String, String> settings = new HashMap<>();
    settings.put("FRONTLINE_DATABASE_URL", env.settings().get("FRONTLINE_DATABASE_URL"));
    settings.put("FRONTLINE_ADMIN_PASSWORD", "short");
    String[] args = {"admin", "bootstrap", "--unit-name", "Another Province", "--username", "root.admin",
        "--display-name", "Root"};
    Run shortPassword = run(settings, args);
    assertThat(shortPassword.status()).isEqualTo(2);
    assertThat(shortPassword.err()).contains("FRONTLINE_ADMIN_PASSWORD: a password of at least 12 characters");

    settings.put("FRONTLINE_ADMIN_PASSWORD", "a-long-enough-password");
    Run badKind = run(settings, "admin", "bootstrap", "--unit-name", "Another Province", "--unit-kind", "province",
        "--username", "root.admin", "--display-name", "Root");
    assertThat(badKind.status()).isEqualTo(2);
    assertThat(badKind.err()).contains("--unit-kind: must be one of PROVINCE, CITY, DISTRICT, COUNTY, TOWNSHIP, "
        + "PARK, BUREAU, got 'province'").doesNotContain("\tat ");

    Run second = run(settings, args);
    assertThat(second.status()).isEqualTo(1);
    assertThat(second.err()).contains("an administrator exists already");
    try (var c = env.jdbc(); var st = c.createStatement();
         var rs = st.executeQuery("SELECT count(*) FROM org_unit WHERE name = 'Another Province'")) {
      rs.next();
      assertThat(rs.getInt(1)).isZero();
    }
  }

  @Test
  void bootstrapCreatesTheRootUnitAndFirstAdministratorOfAnEmptyInstallation(TestEnvironment env) throws Exception {
    // Beside the running service, whose loops may deadlock with a TRUNCATE (40P01 once): its retrying helper.
    env.inTransactionBesideTheService(st -> st.execute("TRUNCATE account, org_unit CASCADE"));
    Map<String, String> settings = Map.of(
        "FRONTLINE_DATABASE_URL", env.settings().get("FRONTLINE_DATABASE_URL"),
        "FRONTLINE_ADMIN_PASSWORD", "a-long-enough-password");
    Run r = run(settings, "admin", "bootstrap", "--unit-name", "江苏省 Jiangsu", "--username", "root.admin",
        "--display-name", "Root Admin");
    assertThat(r.status()).as(r.err()).isZero();
    try (var c = env.jdbc(); var st = c.createStatement();
         var rs = st.executeQuery("SELECT a.roles::text, u.name, u.parent_id IS NULL, u.path = '/' || u.id || '/' "
             + "FROM account a JOIN org_unit u ON u.id = a.home_unit_id WHERE a.username = 'root.admin'")) {
      assertThat(rs.next()).isTrue();
      assertThat(rs.getString(1)).isEqualTo("{admin}");
      assertThat(rs.getString(2)).isEqualTo("江苏省 Jiangsu");
      assertThat(rs.getBoolean(3)).isTrue();
      assertThat(rs.getBoolean(4)).isTrue();
    }
    // the password works through the API
    var login = TestEnvironment.await(env.client().post("/v1/auth/login").sendJsonObject(
        new io.vertx.core.json.JsonObject().put("username", "root.admin").put("password", "a-long-enough-password")));
    assertThat(login.statusCode()).isEqualTo(200);
  }
}
