package org.frontline.config;

import org.frontline.config.FrontlineConfig.Mode;
import org.frontline.config.FrontlineConfig.PushGatewayKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConfigLoaderTest {

  @TempDir
  Path tmp;

  /** base64 of 32 random bytes (openssl rand -base64 32): production refuses a weak key. */
  static final String KEK = "LRifU9LgrRmP5VEedrxvvpuHGy5Sgc5xsLOhtLOKU3U=";

  /** A complete production environment; each test breaks one thing. */
  private Map<String, String> production() throws IOException {
    Path firebase = Files.writeString(tmp.resolve("firebase.json"), "{}");
    Map<String, String> env = new HashMap<>();
    env.put("FRONTLINE_DATABASE_URL", "postgresql://app:s3cret@db.internal:5433/frontline?sslmode=require");
    env.put("FRONTLINE_S3_ENDPOINT", "http://minio:9000");
    env.put("FRONTLINE_S3_ACCESS_KEY", "access");
    env.put("FRONTLINE_S3_SECRET_KEY", "secret");
    env.put("FRONTLINE_FIREBASE_CREDENTIALS_FILE", firebase.toString());
    env.put("FRONTLINE_JWT_ISSUER", "https://frontline.example.gov.cn");
    env.put("FRONTLINE_KEY_ENCRYPTION_KEY", KEK);
    env.put("HOME", "/root");
    return env;
  }

  private static void assertProblems(Map<String, String> env, String... expected) {
    assertThatThrownBy(() -> ConfigLoader.load(Mode.PRODUCTION, env, Map.of()))
        .isInstanceOf(ConfigException.class)
        .satisfies(e -> assertThat(((ConfigException) e).problems()).containsExactlyInAnyOrder(expected));
  }

  @Test
  void completeProductionEnvironmentGivesTypedConfiguration() throws IOException {
    FrontlineConfig c = ConfigLoader.load(Mode.PRODUCTION, production(), Map.of());
    assertThat(c.mode()).isEqualTo(Mode.PRODUCTION);
    assertThat(c.http().port()).isEqualTo(8080);
    assertThat(c.http().managementPort()).isEqualTo(9090);
    assertThat(c.http().shutdownGrace()).isEqualTo(Duration.ofSeconds(8));
    assertThat(c.database().host()).isEqualTo("db.internal");
    assertThat(c.database().port()).isEqualTo(5433);
    assertThat(c.database().database()).isEqualTo("frontline");
    assertThat(c.database().user()).isEqualTo("app");
    assertThat(c.database().password()).isEqualTo("s3cret");
    assertThat(c.database().ssl()).isTrue();
    assertThat(c.database().toString()).doesNotContain("s3cret");
    assertThat(c.objectStore().bucket()).isEqualTo("frontline-media");
    assertThat(c.objectStore().toString()).doesNotContain("secret");
    assertThat(c.push().gateway()).isEqualTo(PushGatewayKind.FIREBASE);
    assertThat(c.tokens().audience()).isEqualTo("frontline-api");
    assertThat(c.workerPoolSize()).isEqualTo(16);
  }

  @Test
  void emptyEnvironmentNamesEveryMissingSetting() {
    assertProblems(Map.of(),
        "FRONTLINE_DATABASE_URL: missing (or set PGHOST, PGDATABASE, PGUSER, PGPASSWORD)",
        "FRONTLINE_S3_ENDPOINT: missing (" + Setting.S3_ENDPOINT.description() + ")",
        "FRONTLINE_S3_ACCESS_KEY: missing (" + Setting.S3_ACCESS_KEY.description() + ")",
        "FRONTLINE_S3_SECRET_KEY: missing (" + Setting.S3_SECRET_KEY.description() + ")",
        "FRONTLINE_FIREBASE_CREDENTIALS_FILE: missing (" + Setting.FIREBASE_CREDENTIALS_FILE.description() + ")",
        "FRONTLINE_JWT_ISSUER: missing (" + Setting.JWT_ISSUER.description() + ")",
        "FRONTLINE_KEY_ENCRYPTION_KEY: missing (" + Setting.KEY_ENCRYPTION_KEY.description() + ")");
  }

  @Test
  void badPortIsNamed() throws IOException {
    Map<String, String> env = production();
    env.put("FRONTLINE_HTTP_PORT", "eighty");
    assertProblems(env, "FRONTLINE_HTTP_PORT: must be a port number 0-65535, got 'eighty'");
    env.put("FRONTLINE_HTTP_PORT", "70000");
    assertProblems(env, "FRONTLINE_HTTP_PORT: must be a port number 0-65535, got '70000'");
  }

  @Test
  void retentionWindowsAreDaysAndAnEventOutlivesItsAlertsAndADeviceItsDeliveries() throws IOException {
    Map<String, String> env = production();
    FrontlineConfig defaults = ConfigLoader.load(Mode.PRODUCTION, env, Map.of());
    assertThat(defaults.retention()).isEqualTo(new FrontlineConfig.Retention(Duration.ofDays(90), Duration.ofDays(90),
        Duration.ofDays(14), Duration.ofDays(30), Duration.ofDays(30)));
    env.put("FRONTLINE_RETENTION_DEVICE_DAYS", "7");
    assertProblems(env, "FRONTLINE_RETENTION_DEVICE_DAYS: must be at least FRONTLINE_RETENTION_DELIVERY_DAYS (14):"
        + " a device's deliveries go with it, got 7");
    env.put("FRONTLINE_RETENTION_DEVICE_DAYS", "14");
    assertThat(ConfigLoader.load(Mode.PRODUCTION, env, Map.of()).retention().devices()).isEqualTo(Duration.ofDays(14));
    env.put("FRONTLINE_RETENTION_EVENT_DAYS", "30");
    assertProblems(env, "FRONTLINE_RETENTION_EVENT_DAYS: must be at least FRONTLINE_RETENTION_NOTIFICATION_DAYS (90)"
        + " and FRONTLINE_RETENTION_DELIVERY_DAYS (14): an event is kept while its alerts are, got 30");
    env.put("FRONTLINE_RETENTION_NOTIFICATION_DAYS", "30");
    assertThat(ConfigLoader.load(Mode.PRODUCTION, env, Map.of()).retention().notifications())
        .isEqualTo(Duration.ofDays(30));
  }

  @Test
  void managementPortMustDifferFromApiPort() throws IOException {
    Map<String, String> env = production();
    env.put("FRONTLINE_MANAGEMENT_PORT", "8080");
    assertProblems(env, "FRONTLINE_MANAGEMENT_PORT: must differ from FRONTLINE_HTTP_PORT (both 8080)");
  }

  @Test
  void outOfRangeNumbersAreNamed() throws IOException {
    Map<String, String> env = production();
    env.put("FRONTLINE_BODY_LIMIT_BYTES", "10");
    env.put("FRONTLINE_WORKER_POOL_SIZE", "0");
    env.put("FRONTLINE_DATABASE_POOL_SIZE", "many");
    assertProblems(env,
        "FRONTLINE_BODY_LIMIT_BYTES: must be an integer from 1024 to 67108864, got '10'",
        "FRONTLINE_WORKER_POOL_SIZE: must be an integer from 1 to 256, got '0'",
        "FRONTLINE_DATABASE_POOL_SIZE: must be an integer from 1 to 500, got 'many'");
  }

  @Test
  void databaseUrlProblemsAreNamedWithoutThePassword() throws IOException {
    Map<String, String> env = production();
    env.put("FRONTLINE_DATABASE_URL", "mysql://app:pw@db/frontline");
    assertProblems(env, "FRONTLINE_DATABASE_URL: must start with postgresql://, got scheme 'mysql'");
    env.put("FRONTLINE_DATABASE_URL", "postgresql://app:topsecret@db.internal/");
    assertProblems(env, "FRONTLINE_DATABASE_URL: missing database name in 'postgresql://app:***@db.internal/'");
    env.put("FRONTLINE_DATABASE_URL", "postgresql://db.internal/frontline");
    assertProblems(env, "FRONTLINE_DATABASE_URL: missing user, password in 'postgresql://db.internal/frontline'");
    env.put("FRONTLINE_DATABASE_URL", "postgresql://app:top@secret@db.internal/frontline");
    assertProblems(env,
        "FRONTLINE_DATABASE_URL: missing host, user, password in 'postgresql://app:***@db.internal/frontline'");
    env.put("FRONTLINE_DATABASE_URL", "postgresql://db.internal/?user=app&password=topsecret&sslmode=require");
    assertProblems(env, "FRONTLINE_DATABASE_URL: missing database name in "
        + "'postgresql://db.internal/?user=app&password=***&sslmode=require'");
    env.put("FRONTLINE_DATABASE_URL", "postgresql://app:pw@db.internal/frontline?sslmode=sometimes");
    assertProblems(env, "FRONTLINE_DATABASE_URL: unknown sslmode 'sometimes'");
  }

  @Test
  void aPlusInTheDatabaseUrlIsAPlusAsForLibpq() throws IOException {
    // openssl rand -base64 makes passwords with '+': form decoding made it a space, and the start then failed with
    // "password authentication failed", naming nothing.
    Map<String, String> env = production();
    env.put("FRONTLINE_DATABASE_URL", "postgresql://app%2Bro:pa+ss%2Fw0rd@db.internal/frontline");
    FrontlineConfig c = ConfigLoader.load(Mode.PRODUCTION, env, Map.of());
    assertThat(c.database().user()).isEqualTo("app+ro");
    assertThat(c.database().password()).isEqualTo("pa+ss/w0rd");
    env.put("FRONTLINE_DATABASE_URL", "postgresql://db.internal/frontline?user=app&password=a+b%20c");
    assertThat(ConfigLoader.load(Mode.PRODUCTION, env, Map.of()).database().password()).isEqualTo("a+b c");
  }

  @Test
  void libpqVariablesStandInForTheUrl() throws IOException {
    Map<String, String> env = production();
    env.remove("FRONTLINE_DATABASE_URL");
    env.put("PGHOST", "pg");
    env.put("PGDATABASE", "fl");
    env.put("PGUSER", "u");
    env.put("PGPASSWORD", "p");
    FrontlineConfig c = ConfigLoader.load(Mode.PRODUCTION, env, Map.of());
    assertThat(c.database().host()).isEqualTo("pg");
    assertThat(c.database().port()).isEqualTo(5432);
    env.remove("PGPASSWORD");
    assertProblems(env, "FRONTLINE_DATABASE_URL: missing (or set PGPASSWORD)");
  }

  @Test
  void clientsReachTheStoreWhereTheServiceDoesUnlessAPublicEndpointIsSet() throws IOException {
    Map<String, String> env = production();
    assertThat(ConfigLoader.load(Mode.PRODUCTION, env, Map.of()).objectStore().publicEndpoint())
        .isEqualTo("http://minio:9000");
    env.put("FRONTLINE_S3_PUBLIC_ENDPOINT", "https://media.example.gov.cn");
    FrontlineConfig c = ConfigLoader.load(Mode.PRODUCTION, env, Map.of());
    assertThat(c.objectStore().publicEndpoint()).isEqualTo("https://media.example.gov.cn");
    assertThat(c.objectStore().endpoint()).isEqualTo("http://minio:9000");
  }

  @Test
  void urlsBucketAndPushGatewayAreChecked() throws IOException {
    Map<String, String> env = production();
    env.put("FRONTLINE_S3_ENDPOINT", "minio:9000");
    env.put("FRONTLINE_S3_PUBLIC_ENDPOINT", "media.example.gov.cn");
    env.put("FRONTLINE_S3_BUCKET", "Frontline_Media");
    env.put("FRONTLINE_PUSH_GATEWAY", "pigeon");
    env.put("FRONTLINE_JWT_ISSUER", "ftp://x");
    assertProblems(env,
        "FRONTLINE_S3_ENDPOINT: must be an http(s) URL, got 'minio:9000'",
        "FRONTLINE_S3_PUBLIC_ENDPOINT: must be an http(s) URL, got 'media.example.gov.cn'",
        "FRONTLINE_S3_BUCKET: 'Frontline_Media' is not a valid bucket name (3-63 lower-case letters, digits, dots, hyphens)",
        "FRONTLINE_PUSH_GATEWAY: must be 'firebase' or 'recording', got 'pigeon'",
        "FRONTLINE_JWT_ISSUER: must be an http(s) URL, got 'ftp://x'");
  }

  @Test
  void anObjectStoreUrlWithAPathIsNamedRatherThanFailingTheStart() throws IOException {
    // The MinIO client throws "no path allowed in endpoint" when the service builds it: a stack trace, exit 1.
    Map<String, String> env = production();
    env.put("FRONTLINE_S3_ENDPOINT", "http://minio:9000/frontline-media");
    env.put("FRONTLINE_S3_PUBLIC_ENDPOINT", "https://media.example.gov.cn/s3?x=1");
    assertProblems(env,
        "FRONTLINE_S3_ENDPOINT: must be an http(s) URL of a host and port only (the bucket is FRONTLINE_S3_BUCKET), "
            + "got 'http://minio:9000/frontline-media'",
        "FRONTLINE_S3_PUBLIC_ENDPOINT: must be an http(s) URL of a host and port only (the bucket is "
            + "FRONTLINE_S3_BUCKET), got 'https://media.example.gov.cn/s3?x=1'");
    env.put("FRONTLINE_S3_ENDPOINT", "http://minio:9000/");
    env.put("FRONTLINE_S3_PUBLIC_ENDPOINT", "https://media.example.gov.cn");
    assertThat(ConfigLoader.load(Mode.PRODUCTION, env, Map.of()).objectStore().endpoint())
        .isEqualTo("http://minio:9000/");
  }

  @Test
  void missingFilesAndDirectoriesAreNamed() throws IOException {
    Map<String, String> env = production();
    env.put("FRONTLINE_FIREBASE_CREDENTIALS_FILE", tmp.resolve("nope.json").toString());
    assertProblems(env,
        "FRONTLINE_FIREBASE_CREDENTIALS_FILE: cannot read file '" + tmp.resolve("nope.json") + "'");
  }

  @Test
  void keyEncryptionKeyMustBeBase64OfThirtyTwoBytes() throws IOException {
    Map<String, String> env = production();
    String expected = "FRONTLINE_KEY_ENCRYPTION_KEY: must be the base64 of exactly 32 bytes (openssl rand -base64 32)";
    env.put("FRONTLINE_KEY_ENCRYPTION_KEY", java.util.Base64.getEncoder().encodeToString(new byte[16]));
    assertProblems(env, expected);
    env.put("FRONTLINE_KEY_ENCRYPTION_KEY", "not base64 at all!");
    assertProblems(env, expected);
    env.put("FRONTLINE_KEY_ENCRYPTION_KEY", KEK);
    assertThat(ConfigLoader.load(Mode.PRODUCTION, env, Map.of()).tokens().keyEncryptionKey().getEncoded()).hasSize(32);
    assertThat(ConfigLoader.load(Mode.PRODUCTION, env, Map.of()).tokens().toString()).doesNotContain(KEK);
  }

  @Test
  void aWeakKeyEncryptionKeyIsRefusedInProductionOnly() throws IOException {
    java.util.Base64.Encoder base64 = java.util.Base64.getEncoder();
    byte[] sequence = new byte[32];
    byte[] halves = new byte[32];
    byte[] fewValues = new byte[32];
    byte[] random = java.util.Base64.getDecoder().decode(KEK);
    for (int i = 0; i < 32; i++) {
      sequence[i] = (byte) i;
      halves[i] = random[i % 16];
      fewValues[i] = (byte) (random[i] & 0x07);
    }
    Map<String, String> weak = new java.util.LinkedHashMap<>();
    weak.put(base64.encodeToString(new byte[32]), "one byte value repeated");
    weak.put(base64.encodeToString(halves), "a pattern of 16 bytes repeated");
    weak.put(base64.encodeToString(sequence), "bytes in an even sequence");
    weak.put(base64.encodeToString(fewValues), "only 8 distinct byte values");
    weak.put(base64.encodeToString("correct horse battery staple 123".getBytes(java.nio.charset.StandardCharsets.US_ASCII)),
        "printable text, not random bytes");
    Map<String, String> env = production();
    for (var key : weak.entrySet()) {
      env.put("FRONTLINE_KEY_ENCRYPTION_KEY", key.getKey());
      assertProblems(env, "FRONTLINE_KEY_ENCRYPTION_KEY: a weak key (" + key.getValue() + "); production needs 32 "
          + "random bytes (openssl rand -base64 32)");
      assertThatThrownBy(() -> ConfigLoader.loadKeyAdmin(env)).isInstanceOf(ConfigException.class)
          .hasMessageContaining("FRONTLINE_KEY_ENCRYPTION_KEY: a weak key");
      // Dev mode (and the tests' own instances of it) take any key of 32 bytes.
      Map<String, String> forced = Map.of(
          "FRONTLINE_DATABASE_URL", "postgresql://u:p@127.0.0.1:5555/frontline",
          "FRONTLINE_S3_ENDPOINT", "http://127.0.0.1:9999",
          "FRONTLINE_S3_ACCESS_KEY", "a", "FRONTLINE_S3_SECRET_KEY", "b",
          "FRONTLINE_KEY_ENCRYPTION_KEY", key.getKey());
      assertThat(ConfigLoader.load(Mode.DEV, Map.of(), forced).tokens().keyEncryptionKey().getEncoded())
          .isEqualTo(java.util.Base64.getDecoder().decode(key.getKey()));
    }
    // A thousand keys from a random generator: none is taken for weak.
    java.security.SecureRandom generator = new java.security.SecureRandom();
    for (int i = 0; i < 1000; i++) {
      byte[] key = new byte[32];
      generator.nextBytes(key);
      assertThat(ConfigLoader.weakness(key)).as(base64.encodeToString(key)).isNull();
    }
  }

  @Test
  void recordingGatewayNeedsNoCredentials() throws IOException {
    Map<String, String> env = production();
    env.remove("FRONTLINE_FIREBASE_CREDENTIALS_FILE");
    env.put("FRONTLINE_PUSH_GATEWAY", "recording");
    assertThat(ConfigLoader.load(Mode.PRODUCTION, env, Map.of()).push().gateway()).isEqualTo(PushGatewayKind.RECORDING);
  }

  @Test
  void unknownFrontlineVariableIsReportedSoATypoIsNotSilentlyIgnored() throws IOException {
    Map<String, String> env = production();
    env.put("FRONTLINE_HTTP_PROT", "8081");
    assertProblems(env, "FRONTLINE_HTTP_PROT: unknown setting (see --help for the list)");
  }

  @Test
  void kubernetesServiceVariablesOfAServiceNamedFrontlineDoNotStopTheStart() throws IOException {
    // A Service "frontline" (and "frontline-metrics") in the pod's namespace: Kubernetes sets these in every pod.
    Map<String, String> env = production();
    env.put("FRONTLINE_SERVICE_HOST", "10.96.12.7");
    env.put("FRONTLINE_SERVICE_PORT", "8080");
    env.put("FRONTLINE_SERVICE_PORT_HTTP", "8080");
    env.put("FRONTLINE_PORT", "tcp://10.96.12.7:8080");
    env.put("FRONTLINE_PORT_8080_TCP", "tcp://10.96.12.7:8080");
    env.put("FRONTLINE_PORT_8080_TCP_PROTO", "tcp");
    env.put("FRONTLINE_PORT_8080_TCP_PORT", "8080");
    env.put("FRONTLINE_PORT_8080_TCP_ADDR", "10.96.12.7");
    env.put("FRONTLINE_METRICS_SERVICE_HOST", "fd00::12");
    env.put("FRONTLINE_METRICS_PORT_9090_TCP", "tcp://[fd00::12]:9090");
    assertThat(ConfigLoader.load(Mode.PRODUCTION, env, Map.of()).http().port()).isEqualTo(8080);
    // A mistyped setting still is one.
    env.put("FRONTLINE_HTPP_PORT", "8081");
    env.put("FRONTLINE_SERVICE_HOST", "frontline.example.org");
    assertProblems(env, "FRONTLINE_HTPP_PORT: unknown setting (see --help for the list)",
        "FRONTLINE_SERVICE_HOST: unknown setting (see --help for the list)");
  }

  @Test
  void fileIsReadAndEnvironmentWins() throws IOException {
    Map<String, String> env = production();
    Path file = Files.writeString(tmp.resolve("frontline.properties"),
        "FRONTLINE_HTTP_PORT=8181\nFRONTLINE_MANAGEMENT_PORT=9191\nFRONTLINE_S3_BUCKET=from-file\n");
    env.put("FRONTLINE_CONFIG_FILE", file.toString());
    env.put("FRONTLINE_HTTP_PORT", "8282");
    FrontlineConfig c = ConfigLoader.load(Mode.PRODUCTION, env, Map.of());
    assertThat(c.http().port()).isEqualTo(8282);
    assertThat(c.http().managementPort()).isEqualTo(9191);
    assertThat(c.objectStore().bucket()).isEqualTo("from-file");
  }

  @Test
  void unreadableOrWrongFileIsNamed() throws IOException {
    Map<String, String> env = production();
    env.put("FRONTLINE_CONFIG_FILE", tmp.resolve("missing.properties").toString());
    assertProblems(env, "FRONTLINE_CONFIG_FILE: cannot read file '" + tmp.resolve("missing.properties") + "'");
    Path file = Files.writeString(tmp.resolve("bad.properties"), "HTTP_PORT=1\n");
    env.put("FRONTLINE_CONFIG_FILE", file.toString());
    assertProblems(env, "FRONTLINE_CONFIG_FILE: unknown setting 'HTTP_PORT' in '" + file + "'");
  }

  @Test
  void devModeNeedsOnlyWhatDevModeProvides() throws IOException {
    Map<String, String> forced = Map.of(
        "FRONTLINE_DATABASE_URL", "postgresql://u:p@127.0.0.1:5555/frontline",
        "FRONTLINE_S3_ENDPOINT", "http://127.0.0.1:9999",
        "FRONTLINE_S3_ACCESS_KEY", "a", "FRONTLINE_S3_SECRET_KEY", "b",
        "FRONTLINE_KEY_ENCRYPTION_KEY", KEK);
    FrontlineConfig c = ConfigLoader.load(Mode.DEV, Map.of(), forced);
    assertThat(c.http().host()).isEqualTo("127.0.0.1");
    assertThat(c.push().gateway()).isEqualTo(PushGatewayKind.RECORDING);
    assertThat(c.tokens().issuer()).isEqualTo("http://127.0.0.1:8080");
  }

  @Test
  void devModesIssuerFollowsTheApiPortUnlessGiven() {
    // 8080 in use, so the developer moves the API: the discovery document must not send partners to port 8080.
    Map<String, String> forced = Map.of(
        "FRONTLINE_DATABASE_URL", "postgresql://u:p@127.0.0.1:5555/frontline",
        "FRONTLINE_S3_ENDPOINT", "http://127.0.0.1:9999",
        "FRONTLINE_S3_ACCESS_KEY", "a", "FRONTLINE_S3_SECRET_KEY", "b",
        "FRONTLINE_KEY_ENCRYPTION_KEY", KEK);
    Map<String, String> env = new HashMap<>(Map.of("FRONTLINE_HTTP_PORT", "8081"));
    assertThat(ConfigLoader.load(Mode.DEV, env, forced).tokens().issuer()).isEqualTo("http://127.0.0.1:8081");
    env.put("FRONTLINE_HTTP_HOST", "192.168.1.20");
    assertThat(ConfigLoader.load(Mode.DEV, env, forced).tokens().issuer()).isEqualTo("http://192.168.1.20:8081");
    env.put("FRONTLINE_JWT_ISSUER", "https://dev.example.org");
    assertThat(ConfigLoader.load(Mode.DEV, env, forced).tokens().issuer()).isEqualTo("https://dev.example.org");
  }

  @Test
  void databaseOnlyLoadIgnoresOtherSettings() {
    assertThat(ConfigLoader.loadDatabase(Map.of("FRONTLINE_DATABASE_URL", "postgresql://u:p@h/d")).host())
        .isEqualTo("h");
    assertThatThrownBy(() -> ConfigLoader.loadDatabase(Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("FRONTLINE_DATABASE_URL: missing");
  }

  @Test
  void rolesNameWhatTheProcessRuns() throws IOException {
    assertThat(ConfigLoader.load(Mode.PRODUCTION, production(), Map.of()).roles())
        .isEqualTo(FrontlineConfig.Roles.ALL);
    Map<String, String> api = production();
    api.put("FRONTLINE_ROLES", "api");
    assertThat(ConfigLoader.load(Mode.PRODUCTION, api, Map.of()).roles()).isEqualTo(new FrontlineConfig.Roles(true, false));
    Map<String, String> both = production();
    both.put("FRONTLINE_ROLES", " workers , api ");
    assertThat(ConfigLoader.load(Mode.PRODUCTION, both, Map.of()).roles()).isEqualTo(FrontlineConfig.Roles.ALL);
    Map<String, String> wrong = production();
    wrong.put("FRONTLINE_ROLES", "api,dispatcher");
    assertProblems(wrong, "FRONTLINE_ROLES: must be api, workers or api,workers, got 'api,dispatcher'");
  }
}
