package org.frontline.dev;

import io.vertx.core.Future;
import org.frontline.Frontline;
import org.frontline.Main.Running;
import org.frontline.config.ConfigLoader;
import org.frontline.config.FrontlineConfig;
import org.frontline.config.FrontlineConfig.Mode;
import org.frontline.config.Setting;
import org.frontline.platform.db.Migrations;
import org.frontline.platform.dev.EmbeddedPostgresServer;
import org.frontline.platform.dev.InProcessS3Server;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * Everything on one machine with nothing installed: embedded PostgreSQL and an in-process S3 server keeping their
 * data under ./data, generated signing keys, the recording push gateway and the demo organisation.
 */
public final class DevMode {
  private static final Logger log = LoggerFactory.getLogger(DevMode.class);
  static final String S3_ACCESS_KEY = "frontline-dev";
  static final String S3_SECRET_KEY = "frontline-dev-secret";

  private DevMode() {}

  public static Running start(Map<String, String> env) throws Exception {
    long t0 = System.nanoTime();
    Path data = dataDir(env);
    Files.createDirectories(data);
    EmbeddedPostgresServer postgres = EmbeddedPostgresServer.start(data.resolve("postgres"), 0);
    InProcessS3Server s3;
    try {
      s3 = InProcessS3Server.start(data.resolve("objects"), S3_ACCESS_KEY, S3_SECRET_KEY);
    } catch (Exception e) {
      postgres.close();
      throw e;
    }
    Map<String, String> forced = new HashMap<>();
    forced.put(Setting.DATABASE_URL.env(), "postgresql://" + postgres.user() + ":" + postgres.password() + "@"
        + postgres.host() + ":" + postgres.port() + "/" + postgres.database());
    forced.put(Setting.S3_ENDPOINT.env(), s3.endpoint());
    forced.put(Setting.S3_ACCESS_KEY.env(), S3_ACCESS_KEY);
    forced.put(Setting.S3_SECRET_KEY.env(), S3_SECRET_KEY);
    String generated = generatedKeyUnlessGiven(env, data);
    if (generated != null) {
      forced.put(Setting.KEY_ENCRYPTION_KEY.env(), generated);
    }

    FrontlineConfig config;
    try {
      config = ConfigLoader.load(Mode.DEV, env, forced);
      ConfigLoader.applyLogLevel(config);
      Migrations.migrate(config.database());
      int created = DemoOrganisation.seed(config.database());
      if (created > 0) {
        log.info("seeded the demo organisation ({} accounts)", created);
      }
      int cases = DemoCases.seed(config.database());
      if (cases > 0) {
        log.info("seeded the demo cases of docs/DOMAIN.md ({} rows)", cases);
      }
    } catch (Exception e) {
      s3.close();
      postgres.close();
      throw e;
    }
    Future<Frontline> app = Frontline.start(config).onSuccess(started -> banner(config, postgres, data, t0));
    Running inner = Running.of(app, config.http().shutdownGrace());
    return new Running() {
      @Override
      public Future<?> started() {
        return inner.started();
      }

      @Override
      public CompletionStage<Void> stop() {
        return inner.stop().whenComplete((v, e) -> {
          s3.close();
          postgres.close();
        });
      }

      @Override
      public Duration shutdownGrace() {
        return inner.shutdownGrace();
      }
    };
  }

  /** The data folder: FRONTLINE_DATA_DIR from the environment or FRONTLINE_CONFIG_FILE, else ./data. */
  static Path dataDir(Map<String, String> env) {
    String dir = ConfigLoader.given(Mode.DEV, env, Setting.DATA_DIR);
    return Path.of(dir == null ? "./data" : dir).toAbsolutePath().normalize();
  }

  /**
   * The data folder's key-encryption key, to force, unless one is given (environment or FRONTLINE_CONFIG_FILE:
   * forced values win over both, so a key given in the file was silently replaced by the generated one).
   */
  static String generatedKeyUnlessGiven(Map<String, String> env, Path data) throws java.io.IOException {
    return ConfigLoader.given(Mode.DEV, env, Setting.KEY_ENCRYPTION_KEY) != null ? null
        : keyEncryptionKey(data.resolve("key-encryption-key"));
  }

  /**
   * The key-encryption key of this data directory, generated (32 random bytes, base64, file mode 600) on first run.
   * The signing keys themselves live, encrypted under it, in the embedded database.
   */
  static String keyEncryptionKey(Path file) throws java.io.IOException {
    if (Files.exists(file)) {
      return Files.readString(file, java.nio.charset.StandardCharsets.US_ASCII).trim();
    }
    byte[] raw = new byte[32];
    new java.security.SecureRandom().nextBytes(raw);
    String key = java.util.Base64.getEncoder().encodeToString(raw);
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.deleteIfExists(tmp);
    try {
      Files.createFile(tmp, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
          java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
    } catch (UnsupportedOperationException e) {
      Files.createFile(tmp);
    }
    Files.writeString(tmp, key + "\n", java.nio.charset.StandardCharsets.US_ASCII);
    Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    log.info("generated the key-encryption key of the signing keys: {}", file);
    return key;
  }

  private static void banner(FrontlineConfig config, EmbeddedPostgresServer pg, Path data, long t0) {
    String api = "http://" + config.http().host() + ":" + config.http().port();
    String management = "http://" + config.http().managementHost() + ":" + config.http().managementPort();
    StringBuilder b = new StringBuilder("\n\n  Frontline dev mode is up.\n\n");
    b.append("  API          ").append(api).append("   (contract: ").append(api).append("/openapi.yaml)\n");
    b.append("  Management   ").append(management).append("   (/health/live, /health/ready, /metrics)\n");
    // The pushes are recorded, not sent: where a newcomer watches an alert go out (README, "Watch an alert go out").
    b.append("  Pushes       ").append(management).append("/dev/pushes   (recorded, not sent; newest first)\n");
    b.append("  PostgreSQL   psql postgresql://").append(pg.user()).append(':').append(pg.password()).append('@')
        .append(pg.host()).append(':').append(pg.port()).append('/').append(pg.database()).append('\n');
    b.append("  Data         ").append(data).append('\n');
    b.append("\n  Demo logins (password: ").append(DemoOrganisation.PASSWORD).append(")\n");
    for (var account : DemoOrganisation.ACCOUNTS) {
      String unit = DemoOrganisation.UNITS.stream().filter(u -> u.id().equals(account.homeUnitId())).findFirst()
          .orElseThrow().name();
      b.append(String.format("    %-22s %-11s %s%n", account.username(), String.join(",", account.roles()), unit));
    }
    b.append(String.format("%n  Started in %d ms. Ctrl-C stops.%n", (System.nanoTime() - t0) / 1_000_000));
    log.info(b.toString());
  }
}
