package org.frontline;

import io.vertx.core.Vertx;
import org.frontline.audit.AuditLog;
import org.frontline.identity.KeyEncryption;
import org.frontline.identity.KeyEncryptionRekey;
import org.frontline.identity.RotationService;
import org.frontline.identity.SigningKeyStore;
import org.frontline.platform.db.Database;
import org.frontline.audit.AuditVerification;
import org.frontline.audit.ChainVerifier;
import org.frontline.config.ConfigException;
import org.frontline.config.ConfigLoader;
import org.frontline.config.FrontlineConfig;
import org.frontline.config.FrontlineConfig.Mode;
import org.frontline.config.Setting;
import org.frontline.dev.DevMode;
import org.frontline.identity.AccountBootstrap;
import org.frontline.platform.db.Migrations;
import org.flywaydb.core.api.FlywayException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;

/** The command line: {@code dev}, {@code start}, {@code migrate}, {@code admin bootstrap|audit-verify|rotate-keys|retire-key|rekey}. */
@Command(name = "frontline", mixinStandardHelpOptions = true, version = "frontline 0.1.0",
    description = "Field reporting backend: reports and photos from officers' phones, alerts to supervisors, "
        + "a secured API for partner systems.",
    subcommands = {Main.Dev.class, Main.Start.class, Main.Migrate.class, Main.Admin.class},
    footerHeading = "%nSettings (environment variables; FRONTLINE_CONFIG_FILE may hold them too, the environment wins):%n")
public final class Main implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(Main.class);

  /** Exit status when the configuration is unusable. */
  static final int EXIT_CONFIG = 2;
  /** Exit status when the service could not start. */
  static final int EXIT_START = 1;
  /** Exit status of {@code admin audit-verify} when the audit chain is broken. */
  static final int EXIT_AUDIT_BROKEN = 3;

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  /** The environment the commands read (the process environment; tests hand in their own). */
  final Map<String, String> env;

  Main(Map<String, String> env) {
    this.env = Map.copyOf(env);
  }

  public static void main(String[] args) {
    SLF4JBridgeHandler.removeHandlersForRootLogger();
    SLF4JBridgeHandler.install();
    int status = commandLine(System.getenv()).execute(args);
    if (status != 0 || !Boolean.getBoolean("frontline.serving")) {
      System.exit(status);
    }
  }

  static CommandLine commandLine(Map<String, String> env) {
    CommandLine cli = new CommandLine(new Main(env));
    cli.getCommandSpec().usageMessage().footer(Setting.helpTable());
    return cli;
  }

  @Override
  public Integer call() {
    spec.commandLine().usage(System.out);
    return 0;
  }

  @Command(name = "dev", mixinStandardHelpOptions = true,
      description = "Run everything on this machine: embedded PostgreSQL, in-process S3 on ./data, recording "
          + "push gateway, generated keys, seeded demo organisation.")
  static final class Dev implements Callable<Integer> {
    @CommandLine.ParentCommand
    Main main;

    @Override
    public Integer call() {
      return serve(() -> DevMode.start(main.env));
    }
  }

  @Command(name = "start", mixinStandardHelpOptions = true,
      description = "Production: everything from the environment; applies pending migrations, then serves.")
  static final class Start implements Callable<Integer> {
    @CommandLine.ParentCommand
    Main main;

    @Override
    public Integer call() {
      return serve(() -> {
        FrontlineConfig config = ConfigLoader.load(Mode.PRODUCTION, main.env, Map.of());
        ConfigLoader.applyLogLevel(config);
        Migrations.migrate(config.database());
        return Running.of(Frontline.start(config), config.http().shutdownGrace());
      });
    }
  }

  @Command(name = "migrate", mixinStandardHelpOptions = true,
      description = "Apply pending database migrations and exit (needs only the database settings).")
  static final class Migrate implements Callable<Integer> {
    @CommandLine.ParentCommand
    Main main;

    @Override
    public Integer call() {
      try {
        int applied = Migrations.migrate(ConfigLoader.loadDatabase(main.env));
        System.out.println("migrations applied: " + applied);
        return 0;
      } catch (ConfigException e) {
        System.err.println(e.getMessage());
        return EXIT_CONFIG;
      } catch (FlywayException e) {
        return cannotMigrate(e);
      }
    }
  }

  @Command(name = "admin", mixinStandardHelpOptions = true, description = "Administrative tasks.",
      subcommands = {Bootstrap.class, AuditVerify.class, RotateKeys.class, RetireKey.class, Rekey.class})
  static final class Admin implements Callable<Integer> {
    @CommandLine.ParentCommand
    Main main;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
      spec.commandLine().usage(System.out);
      return 0;
    }
  }

  @Command(name = "bootstrap", mixinStandardHelpOptions = true,
      description = "Create the root org unit and the first administrator of an empty installation. The password "
          + "is read from FRONTLINE_ADMIN_PASSWORD or asked for.")
  static final class Bootstrap implements Callable<Integer> {
    @CommandLine.ParentCommand
    Admin admin;

    @Option(names = "--unit-name", required = true, description = "Name of the root unit, e.g. \"江苏省 Jiangsu\".")
    String unitName;
    @Option(names = "--unit-kind", defaultValue = "PROVINCE", description = "PROVINCE (default), CITY, DISTRICT...")
    String unitKind;
    @Option(names = "--username", required = true, description = "Login of the administrator.")
    String username;
    @Option(names = "--display-name", required = true, description = "Name shown for the administrator.")
    String displayName;

    /** The kinds org_unit accepts (its CHECK constraint; OrgUnit.kind in the contract). */
    static final List<String> UNIT_KINDS = List.of("PROVINCE", "CITY", "DISTRICT", "COUNTY", "TOWNSHIP", "PARK",
        "BUREAU");

    @Override
    public Integer call() throws Exception {
      // Checked before anything is written: the database's CHECK constraint would end in a stack trace.
      if (!UNIT_KINDS.contains(unitKind)) {
        System.err.println("--unit-kind: must be one of " + String.join(", ", UNIT_KINDS) + ", got '" + unitKind + "'");
        return EXIT_CONFIG;
      }
      FrontlineConfig.Database db;
      try {
        db = ConfigLoader.loadDatabase(admin.main.env);
      } catch (ConfigException e) {
        System.err.println(e.getMessage());
        return EXIT_CONFIG;
      }
      String password = admin.main.env.get(Setting.ADMIN_PASSWORD.env());
      if (password == null && System.console() != null) {
        char[] typed = System.console().readPassword("Password for %s: ", username); // null at end of input
        password = typed == null ? null : new String(typed);
      }
      if (password == null || password.length() < 12) {
        System.err.println(Setting.ADMIN_PASSWORD.env() + ": a password of at least 12 characters is required");
        return EXIT_CONFIG;
      }
      try {
        Migrations.migrate(db);
      } catch (FlywayException e) {
        return cannotMigrate(e);
      }
      try (Connection c = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password())) {
        c.setAutoCommit(false);
        AccountBootstrap accounts = new AccountBootstrap(c);
        if (accounts.adminExists()) {
          System.err.println("an administrator exists already; bootstrap is for an empty installation");
          return EXIT_START;
        }
        UUID unit = UUID.nameUUIDFromBytes(("root:" + unitName).getBytes(StandardCharsets.UTF_8));
        accounts.ensureUnit(new AccountBootstrap.Unit(unit, null, unitName, unitKind));
        accounts.ensureAccount(new AccountBootstrap.Account(UUID.randomUUID(), username, displayName, "zh-CN",
            List.of("admin"), unit), password);
        c.commit();
      }
      System.out.println("administrator '" + username + "' created for unit '" + unitName + "'");
      return 0;
    }
  }

  @Command(name = "rotate-keys", mixinStandardHelpOptions = true,
      description = "Rotate the token signing keys: a new key signs from now on, the current one stays published "
          + "(verifies only) for the overlap, keys superseded longer ago are retired. Needs the database settings "
          + "and FRONTLINE_KEY_ENCRYPTION_KEY. Running instances pick the new key up as soon as the change is "
          + "announced to them (within 30 s should announcements be lost).")
  static final class RotateKeys implements Callable<Integer> {
    @CommandLine.ParentCommand
    Admin admin;

    @Override
    public Integer call() throws Exception {
      return overSigningKeys(admin, "cannot rotate the signing keys", rotation -> rotation.rotate(CLI)
          .map(rotated -> "signing keys rotated: " + rotated.activated() + " is current; superseded "
              + rotated.superseded() + "; retired " + rotated.retired()));
    }
  }

  @Command(name = "retire-key", mixinStandardHelpOptions = true,
      description = "Retire a signing key at once (it leaked): unpublished, its private key erased, its tokens "
          + "refused by every running instance as soon as the change is announced to it. Retiring the current key "
          + "makes a new one current in the same transaction. The same as POST /v1/admin/keys/{kid}/retire. Needs "
          + "the database settings and FRONTLINE_KEY_ENCRYPTION_KEY.")
  static final class RetireKey implements Callable<Integer> {
    @CommandLine.ParentCommand
    Admin admin;

    @CommandLine.Parameters(index = "0", paramLabel = "KID", description = "The key id (GET /v1/admin/keys).")
    String kid;

    @Override
    public Integer call() throws Exception {
      return overSigningKeys(admin, "cannot retire the signing key", rotation -> rotation.retire(CLI, kid)
          .map(done -> "signing key " + done.retired() + " retired"
              + (done.replacedBy() == null ? "" : "; " + done.replacedBy() + " is current")));
    }
  }

  /** The CLI in the audit log of key changes: no account, no address, no request. */
  private static final RotationService.Actor CLI = new RotationService.Actor(null, "cli", null, null);

  /**
   * Runs {@code work} on the signing keys over the database of the key-administration settings, after opening the
   * stored keys (which proves the key-encryption key is the right one before anything changes).
   */
  private static int overSigningKeys(Admin admin, String failure,
                                     java.util.function.Function<RotationService, io.vertx.core.Future<String>> work)
      throws Exception {
    FrontlineConfig.KeyAdmin settings;
    try {
      settings = ConfigLoader.loadKeyAdmin(admin.main.env);
    } catch (ConfigException e) {
      System.err.println(e.getMessage());
      return EXIT_CONFIG;
    }
    return overDatabase(settings.database(), failure, database -> {
      SigningKeyStore store = new SigningKeyStore(database.pool(), new KeyEncryption(settings.keyEncryptionKey()),
          java.time.Clock.systemUTC());
      return store.loadPublished().compose(keys -> work.apply(new RotationService(store, new AuditLog())));
    });
  }

  @Command(name = "rekey", mixinStandardHelpOptions = true,
      description = "Re-encrypt everything sealed under the key-encryption key (signing keys, webhook secrets) "
          + "under FRONTLINE_NEW_KEY_ENCRYPTION_KEY, in one transaction, audited. Reads the key in force from "
          + "FRONTLINE_KEY_ENCRYPTION_KEY (a weak one too). Stop every instance first (refused while one is "
          + "connected), then start them with the new key. A second run changes nothing.")
  static final class Rekey implements Callable<Integer> {
    @CommandLine.ParentCommand
    Admin admin;

    @Override
    public Integer call() throws Exception {
      FrontlineConfig.Rekey settings;
      try {
        settings = ConfigLoader.loadRekey(admin.main.env);
      } catch (ConfigException e) {
        System.err.println(e.getMessage());
        return EXIT_CONFIG;
      }
      return overDatabase(settings.database(), KeyEncryptionRekey.APPLICATION_NAME,
          "cannot re-key, nothing was changed", database ->
          new KeyEncryptionRekey(database.pool(), new KeyEncryption(settings.current()),
              new KeyEncryption(settings.next()), new AuditLog())
              .rekey(new RotationService.Actor(null, "cli", null, null))
              .map(done -> done.reencrypted() == 0
                  ? "nothing to re-encrypt: all " + done.alreadyUnderNewKey() + " sealed values already open under "
                      + Setting.NEW_KEY_ENCRYPTION_KEY.env()
                  : "re-encrypted under " + Setting.NEW_KEY_ENCRYPTION_KEY.env() + ": " + done.signingKeys().size()
                      + " signing key(s) " + done.signingKeys() + ", " + done.webhookSecrets() + " webhook secret(s); "
                      + done.alreadyUnderNewKey() + " already under it. Start the instances with it as "
                      + Setting.KEY_ENCRYPTION_KEY.env()));
    }
  }

  /**
   * An administrative command's work over the database (migrated first) on a Vert.x of its own: prints the line
   * {@code work} answers and returns 0, or prints {@code failure} with the cause and returns {@link #EXIT_START};
   * the pool and Vert.x are closed either way.
   */
  static int overDatabase(FrontlineConfig.Database settings, String failure,
                          java.util.function.Function<Database, io.vertx.core.Future<String>> work) throws Exception {
    return overDatabase(settings, Database.APPLICATION_NAME, failure, work);
  }

  /**
   * As {@link #overDatabase(FrontlineConfig.Database, String, java.util.function.Function)}, its sessions named
   * {@code applicationName}.
   */
  static int overDatabase(FrontlineConfig.Database settings, String applicationName, String failure,
                          java.util.function.Function<Database, io.vertx.core.Future<String>> work) throws Exception {
    try {
      Migrations.migrate(settings);
    } catch (FlywayException e) {
      return cannotMigrate(e);
    }
    Vertx vertx = Vertx.vertx();
    Database database = Database.connect(vertx, settings, applicationName);
    try {
      System.out.println(work.apply(database).toCompletionStage().toCompletableFuture()
          .get(60, java.util.concurrent.TimeUnit.SECONDS));
      return 0;
    } catch (java.util.concurrent.ExecutionException e) {
      System.err.println(failure + ": " + e.getCause().getMessage());
      return EXIT_START;
    } finally {
      database.close().toCompletionStage().toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS);
      vertx.close().toCompletionStage().toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS);
    }
  }

  @Command(name = "audit-verify", mixinStandardHelpOptions = true,
      description = "Recompute the audit log's hash chain (needs only the database settings). Exit status 0 when "
          + "intact, 3 when broken (the first broken entry is printed), 1 when the database cannot be read.")
  static final class AuditVerify implements Callable<Integer> {
    @CommandLine.ParentCommand
    Admin admin;

    @Override
    public Integer call() {
      FrontlineConfig.Database db;
      try {
        db = ConfigLoader.loadDatabase(admin.main.env);
      } catch (ConfigException e) {
        System.err.println(e.getMessage());
        return EXIT_CONFIG;
      }
      ChainVerifier.Result result;
      try (Connection c = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password())) {
        c.setReadOnly(true);
        result = AuditVerification.verify(c);
      } catch (java.sql.SQLException e) {
        System.err.println("cannot read the audit log: " + e.getMessage());
        return EXIT_START;
      }
      if (result.ok()) {
        System.out.println("audit log intact: " + result.checked() + " entries checked");
        return 0;
      }
      ChainVerifier.Broken broken = result.firstBroken();
      System.out.println("audit log BROKEN at seq " + broken.seq() + ": " + broken.reason().code() + " ("
          + broken.detail() + "); " + result.checked() + " entries intact before it");
      return EXIT_AUDIT_BROKEN;
    }
  }

  /**
   * The database cannot be reached (or a migration fails): Flyway's message says which URL, user and why; printed
   * plainly, exit 1, as a dependency that fails (not the configuration's exit 2).
   */
  static int cannotMigrate(FlywayException e) {
    System.err.println("cannot migrate the database (" + Setting.DATABASE_URL.env() + "): " + e.getMessage());
    return EXIT_START;
  }

  /** A starting service: when it is up, and how to stop it (the stage completes when everything is closed). */
  public interface Running {
    io.vertx.core.Future<?> started();

    java.util.concurrent.CompletionStage<Void> stop();

    java.time.Duration shutdownGrace();

    static Running of(io.vertx.core.Future<Frontline> app, java.time.Duration grace) {
      return new Running() {
        @Override
        public io.vertx.core.Future<?> started() {
          return app;
        }

        @Override
        public java.util.concurrent.CompletionStage<Void> stop() {
          // A stop asked for while starting waits for the start to finish, then undoes it.
          return app.toCompletionStage().handle((started, failure) -> started)
              .thenCompose(started -> started == null
                  ? java.util.concurrent.CompletableFuture.<Void>completedFuture(null) : started.stop());
        }

        @Override
        public java.time.Duration shutdownGrace() {
          return grace;
        }
      };
    }
  }

  interface Starter {
    Running start() throws Exception;
  }

  /**
   * A dependency that failed the start (the object store not answering its bucket check), in one line: which, the
   * setting that names it, and what failed (the address, why); an operator needs no stack trace for it.
   */
  static String unavailable(org.frontline.platform.http.DependencyUnavailableException e) {
    String setting = switch (e.dependency()) {
      case org.frontline.platform.objectstore.MinioObjectStore.DEPENDENCY -> " (" + Setting.S3_ENDPOINT.env() + ")";
      case "database" -> " (" + Setting.DATABASE_URL.env() + ")";
      default -> "";
    };
    // Each cause's message once: the SDK's names the address ("Failed to connect to /host:port"), its cause why.
    StringBuilder causes = new StringBuilder();
    for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
      String message = c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage();
      if (causes.indexOf(message) < 0) {
        causes.append(causes.isEmpty() ? "" : ": ").append(message);
      }
    }
    return "the " + e.dependency().replace('-', ' ') + setting + " is unavailable: " + causes;
  }

  /** Starts, reports the outcome, and hands the running service to the signal handlers. */
  private static int serve(Starter starter) {
    Running running;
    try {
      running = starter.start();
    } catch (ConfigException e) {
      System.err.println(e.getMessage());
      return EXIT_CONFIG;
    } catch (FlywayException e) {
      return cannotMigrate(e);
    } catch (Exception e) {
      log.error("cannot start: {}", e.toString(), e);
      return EXIT_START;
    }
    // Signals are handled from here on, so a SIGTERM during start-up also stops gracefully and exits 0.
    Shutdown.onSignal(running.shutdownGrace(), done -> running.stop().whenComplete((v, e) -> done.run()));
    java.util.concurrent.CompletableFuture<Throwable> outcome = new java.util.concurrent.CompletableFuture<>();
    running.started().onComplete(ar -> outcome.complete(ar.failed() ? ar.cause() : null));
    Throwable failure = outcome.join();
    if (failure instanceof ConfigException e) {
      System.err.println(e.getMessage());
      running.stop().toCompletableFuture().join();
      return EXIT_CONFIG;
    }
    if (failure != null) {
      var dependency = (org.frontline.platform.http.DependencyUnavailableException)
          org.frontline.platform.http.Problems.findCause(failure,
              org.frontline.platform.http.DependencyUnavailableException.class);
      if (dependency != null) {
        System.err.println("cannot start: " + unavailable(dependency));
      } else {
        log.error("cannot start: {}", failure.toString(), failure);
      }
      running.stop().toCompletableFuture().join();
      return EXIT_START;
    }
    System.setProperty("frontline.serving", "true");
    return 0;
  }
}
