package org.frontline.testing;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.Json;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.ext.web.client.impl.ClientPhase;
import io.vertx.ext.web.client.impl.HttpContext;
import io.vertx.ext.web.client.impl.WebClientInternal;
import io.vertx.openapi.impl.Utils;
import org.frontline.Frontline;
import org.frontline.config.ConfigLoader;
import org.frontline.config.FrontlineConfig;
import org.frontline.config.FrontlineConfig.Mode;
import org.frontline.dev.DemoOrganisation;
import org.frontline.platform.db.Migrations;
import org.frontline.platform.dev.EmbeddedPostgresServer;
import org.frontline.platform.dev.InProcessS3Server;
import org.frontline.platform.http.ApiVerticle;
import org.frontline.platform.objectstore.MinioObjectStore;
import org.frontline.platform.push.FakeFcmServer;
import org.frontline.platform.push.FirebasePushGateway;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The real service and its real dependencies, started once per test run: PostgreSQL (embedded, or the one named by
 * FRONTLINE_TEST_DATABASE_URL), an in-process S3 server, a fake FCM endpoint driven by the real firebase-admin SDK,
 * and the service itself on free ports. Also a client to call it and JDBC access to check the rows that resulted.
 */
public final class TestEnvironment implements ExtensionContext.Store.CloseableResource {
  public static final String S3_ACCESS_KEY = "test-access";
  public static final String S3_SECRET_KEY = "test-secret-key";

  private final Path dir;
  private volatile EmbeddedPostgresServer postgres;
  private final FrontlineConfig.Database database;
  private final InProcessS3Server s3;
  private final FakeFcmServer fcm;
  private final Frontline app;
  private final Vertx clientVertx;
  private final WebClient client;
  private final Map<String, String> settings;
  private final ContractConformance contract;
  /** The environment of this run, once started: {@link #checkedHttp()} reports to its contract check. */
  private static volatile TestEnvironment running;

  private TestEnvironment(Path dir, EmbeddedPostgresServer postgres, FrontlineConfig.Database database,
                          InProcessS3Server s3, FakeFcmServer fcm, Frontline app, Map<String, String> settings) {
    this.dir = dir;
    this.postgres = postgres;
    this.database = database;
    this.s3 = s3;
    this.fcm = fcm;
    this.app = app;
    this.settings = settings;
    this.clientVertx = Vertx.vertx();
    this.client = WebClient.create(clientVertx, new WebClientOptions()
        .setDefaultHost("127.0.0.1").setDefaultPort(app.config().http().port()).setFollowRedirects(false));
    // Every answer the client receives for an operation of the contract is checked against it (FrontlineExtension
    // fails the test that received one that does not conform).
    this.contract = new ContractConformance(await(Utils.yamlStringToJson(
        await(ApiVerticle.readContract(clientVertx, ApiVerticle.CONTRACT)).toString())));
    ((WebClientInternal) client).addInterceptor(this::checkAnswer);
  }

  private void checkAnswer(HttpContext<?> context) {
    if (context.phase() == ClientPhase.DISPATCH_RESPONSE) {
      var response = context.response();
      Object body = response.body();
      contract.check(context.requestOptions().getMethod().name(), context.requestOptions().getURI(),
          response.statusCode(), response.headers()::get,
          body == null || body instanceof Buffer ? (Buffer) body : Buffer.buffer(Json.encode(body)));
    }
    context.next();
  }

  static TestEnvironment startOnce() {
    try {
      long t0 = System.nanoTime();
      Path dir = Files.createTempDirectory("frontline-test");
      // Where user namespaces are blocked, the embedded PostgreSQL runs as an unprivileged user (runuser) that
      // must be able to reach its data directory inside this one.
      Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
      EmbeddedPostgresServer postgres = null;
      String databaseUrl = System.getenv("FRONTLINE_TEST_DATABASE_URL");
      if (databaseUrl == null || databaseUrl.isBlank()) {
        postgres = EmbeddedPostgresServer.start(dir.resolve("postgres"), 0);
        databaseUrl = "postgresql://" + postgres.user() + ":" + postgres.password() + "@" + postgres.host() + ":"
            + postgres.port() + "/" + postgres.database();
      }
      InProcessS3Server s3 = InProcessS3Server.start(null, S3_ACCESS_KEY, S3_SECRET_KEY);
      FakeFcmServer fcm = new FakeFcmServer().start();
      Map<String, String> settings = new HashMap<>();
      settings.put("FRONTLINE_DATABASE_URL", databaseUrl);
      settings.put("FRONTLINE_DATABASE_POOL_SIZE", "8");
      settings.put("FRONTLINE_HTTP_HOST", "127.0.0.1");
      settings.put("FRONTLINE_HTTP_PORT", String.valueOf(freePort()));
      settings.put("FRONTLINE_MANAGEMENT_HOST", "127.0.0.1");
      settings.put("FRONTLINE_MANAGEMENT_PORT", String.valueOf(freePort()));
      settings.put("FRONTLINE_BODY_LIMIT_BYTES", "65536");
      settings.put("FRONTLINE_SHUTDOWN_GRACE_SECONDS", "2");
      settings.put("FRONTLINE_S3_ENDPOINT", s3.endpoint());
      settings.put("FRONTLINE_S3_ACCESS_KEY", S3_ACCESS_KEY);
      settings.put("FRONTLINE_S3_SECRET_KEY", S3_SECRET_KEY);
      settings.put("FRONTLINE_S3_BUCKET", "frontline-test");
      // The gateway itself is the real Firebase one, handed in below, pointed at the fake FCM endpoint.
      settings.put("FRONTLINE_PUSH_GATEWAY", "recording");
      // Flood control off for the shared service: tests send hundreds of alerts to one supervisor and count them.
      // FloodControlTest applies the rule itself.
      settings.put("FRONTLINE_ALERT_DIGEST_AFTER", "0");
      // No work-record watch on the real clock: it would alert on seeded or test records at any moment (and clear
      // states that tests set with fixed clocks); tests run RecordWatch themselves with their own clocks.
      settings.put("FRONTLINE_RECORD_WATCH_SECONDS", "0");
      // Every refused token and throttled login audited one by one in the shared service: tests look each one up
      // by its request id, all from 127.0.0.1. RefusalAuditTest runs an instance with the production rule.
      settings.put("FRONTLINE_AUTH_REFUSAL_AUDIT_SECONDS", "0");
      // Webhook tests deliver to receivers on 127.0.0.1 (the service runs in production mode) and wait for retries.
      settings.put("FRONTLINE_WEBHOOK_ALLOW_LOOPBACK", "true");
      settings.put("FRONTLINE_WEBHOOK_RETRY_BASE_MILLIS", "100");
      settings.put("FRONTLINE_JWT_ISSUER", "http://127.0.0.1:" + settings.get("FRONTLINE_HTTP_PORT"));
      byte[] kek = new byte[32];
      new java.security.SecureRandom().nextBytes(kek);
      settings.put("FRONTLINE_KEY_ENCRYPTION_KEY", java.util.Base64.getEncoder().encodeToString(kek));
      settings.put("FRONTLINE_WORKER_POOL_SIZE", "4");
      FrontlineConfig config = ConfigLoader.load(Mode.PRODUCTION, settings, Map.of());
      Migrations.migrate(config.database());
      Frontline app = Frontline.start(config, (vertx, blocking) -> Future.succeededFuture(
              FirebasePushGateway.create(vertx, blocking, fcm.firebaseOptions(), "frontline-test")))
          .toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
      // No periodic upload sweep (every minute): it would clean up, at any moment, what a test has just arranged to
      // be owed and asserts is still there; tests run the sweeper themselves.
      app.uploadSweeper().stop(app.vertx());
      // Nor a periodic retention sweep: RetentionTest ages rows and counts what its own sweeps delete.
      app.retention().stop(app.vertx());
      System.out.printf("test environment up in %d ms%n", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
      running = new TestEnvironment(dir, postgres, config.database(), s3, fcm, app, settings);
      return running;
    } catch (Exception e) {
      throw new IllegalStateException("cannot start the test environment", e);
    }
  }

  /**
   * Empties every table of ours and seeds the demo organisation again; the service then starts over with one new
   * signing key.
   */
  void resetData() throws Exception {
    try (Connection c = jdbc(); Statement s = c.createStatement()) {
      List<String> tables = new ArrayList<>();
      // The event feed's clock (V185) is kept like the schema: its one row is the shift of every position to come.
      try (ResultSet rs = s.executeQuery("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
          + "AND tablename NOT IN ('flyway_schema_history', 'feed_clock')")) {
        while (rs.next()) {
          tables.add(rs.getString(1));
        }
      }
      if (!tables.isEmpty()) {
        inTransactionBesideTheService(st -> truncate(st, tables));
      }
    }
    DemoOrganisation.seed(database);
    await(app.signingKeys().reload());
    fcm.reset();
  }

  /** SQL run on a test's own connection. */
  @FunctionalInterface
  public interface SqlWork {
    void run(Statement st) throws SQLException;
  }

  /**
   * Runs {@code work} in one transaction on a connection of its own, beside the running service. Its background loops
   * (outbox dispatcher, media worker, webhooks, the audit head and the feed clock) keep querying: a statement of
   * theirs that locks two tables in the other order than a TRUNCATE can deadlock with it, and PostgreSQL aborts the
   * session whose deadlock_timeout runs out first, which was often the TRUNCATE (five times in a row once, failing a
   * test class's reset). With a longer timeout here the loop's statement is the one aborted, and its round is
   * retried. Only a superuser may set it (the embedded server's user is one); else, and should this transaction
   * still be the victim (40P01), nothing of it was committed and it is run again, up to 10 times.
   */
  public void inTransactionBesideTheService(SqlWork work) throws SQLException {
    try (Connection c = jdbc(); Statement st = c.createStatement()) {
      try {
        st.execute("SET deadlock_timeout = '10s'");
      } catch (SQLException notPermitted) {
        // a FRONTLINE_TEST_DATABASE_URL without superuser rights: the retries below remain
      }
      c.setAutoCommit(false);
      for (int attempt = 1; ; attempt++) {
        try {
          work.run(st);
          c.commit();
          return;
        } catch (SQLException e) {
          c.rollback();
          if (!"40P01".equals(e.getSQLState()) || attempt == 10) {
            throw e;
          }
        }
      }
    }
  }

  /**
   * TRUNCATE ... CASCADE of {@code tables}, within the caller's transaction. audit_log and audit_head refuse TRUNCATE:
   * their guards are lifted for this TRUNCATE only, in that transaction, so no other session ever sees them unguarded;
   * their strongest lock is taken first, in that order, so no lock is upgraded from the ALTER's to the TRUNCATE's
   * (the service's audit head checkpoint reads audit_log, then writes audit_head: a deadlock once).
   */
  public static void truncate(Statement st, List<String> tables) throws SQLException {
    boolean audit = tables.contains("audit_log") || tables.contains("audit_head");
    if (audit) {
      st.execute("LOCK TABLE audit_log, audit_head IN ACCESS EXCLUSIVE MODE");
      st.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate");
      st.execute("ALTER TABLE audit_head DISABLE TRIGGER audit_head_no_truncate");
    }
    st.execute("TRUNCATE " + String.join(", ", tables) + " CASCADE");
    if (audit) {
      st.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_truncate");
      st.execute("ALTER TABLE audit_head ENABLE TRIGGER audit_head_no_truncate");
    }
  }

  public Connection jdbc() throws SQLException {
    return DriverManager.getConnection(database.jdbcUrl(), database.user(), database.password());
  }

  /**
   * Waits until every outbox event written so far is dispatched. Alerts go to the devices registered when an event is
   * dispatched, so a test registers its devices after this: an earlier test's event still queued is not pushed to them.
   */
  public void awaitEventsDispatched() throws InterruptedException {
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
    while (count("SELECT count(*) FROM outbox WHERE dispatched_at IS NULL") > 0) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("outbox events still undispatched after 30 s: "
            + string("SELECT string_agg(event_type || ' ' || aggregate_id, ', ') FROM outbox WHERE dispatched_at IS NULL"));
      }
      Thread.sleep(50);
    }
  }

  /**
   * Waits (20 s at most) until a statement matching {@code queryLike} (a LIKE pattern) waits for a lock, and fails
   * when {@code request} finished instead: a test holding a row in a transaction of its own then commits, and sees
   * how the waiting request answers.
   */
  public void awaitLockWait(String queryLike, java.util.concurrent.Future<?> request) {
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> request.isDone() || count(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE ?", queryLike) == 1);
    if (request.isDone()) {
      throw new AssertionError("the request did not wait for the lock (" + queryLike + ")");
    }
  }

  /** The first column of the first row of a query (positional parameters) as a long (0 without rows), e.g. a count. */
  public long count(String sql, Object... params) {
    Long value = first(sql, params, rs -> rs.getLong(1));
    return value == null ? 0 : value;
  }

  /** The first column of the first row of a query (with positional parameters) as text, or null without rows. */
  public String string(String sql, Object... params) {
    return first(sql, params, rs -> rs.getString(1));
  }

  private interface Column<T> {
    T read(ResultSet rs) throws SQLException;
  }

  private <T> T first(String sql, Object[] params, Column<T> column) {
    try (Connection c = jdbc(); java.sql.PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < params.length; i++) {
        ps.setObject(i + 1, params[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? column.read(rs) : null;
      }
    } catch (SQLException e) {
      throw new IllegalStateException(sql, e);
    }
  }

  /** The client for the API: every answer it receives for a contract operation is checked against the contract. */
  public WebClient client() { return client; }

  /** Adds the contract check of {@link #client()} to a WebClient of a test's own (e.g. bound to another address). */
  public WebClient checked(WebClient own) {
    ((WebClientInternal) own).addInterceptor(this::checkAnswer);
    return own;
  }

  /**
   * A JDK HttpClient (HTTP/1.1) whose answers from the API are checked against the contract as {@link #client()}'s
   * are, for tests that need java.net.http; usable in a field initializer (the run's environment is looked up on
   * each answer).
   */
  public static java.net.http.HttpClient checkedHttp() {
    return new CheckedHttpClient(java.net.http.HttpClient.newBuilder()
        .version(java.net.http.HttpClient.Version.HTTP_1_1).build(), () -> running == null ? null : running.contract);
  }

  /** The check of answers against the contract, and the violations it has found since they were last drained. */
  public ContractConformance contract() { return contract; }

  /** A client for the management port. */
  public URI managementUri(String path) {
    return URI.create("http://127.0.0.1:" + app.config().http().managementPort() + path);
  }

  public URI apiUri(String path) {
    return URI.create("http://127.0.0.1:" + app.config().http().port() + path);
  }

  public Frontline app() { return app; }

  public FakeFcmServer fcm() { return fcm; }

  public InProcessS3Server s3() { return s3; }

  /** The database settings the service under test uses. */
  public FrontlineConfig.Database databaseConfig() { return database; }

  /** Stops the embedded PostgreSQL (the service sees the database go away). */
  public void stopPostgres() {
    postgres.close();
  }

  /** Starts the embedded PostgreSQL again on the same port and data. */
  public void restartPostgres() throws IOException {
    postgres = EmbeddedPostgresServer.start(dir.resolve("postgres"), database.port());
  }

  /** The embedded PostgreSQL, or null when the run uses FRONTLINE_TEST_DATABASE_URL. */
  public EmbeddedPostgresServer postgres() { return postgres; }

  /** The settings the service under test was configured with. */
  public Map<String, String> settings() { return Map.copyOf(settings); }

  /**
   * A second instance of the service, API only, on ports of its own, with {@code overrides} over the test service's
   * settings (same database and store); the caller stops it.
   */
  public Frontline startApiInstance(Map<String, String> overrides) throws Exception {
    Map<String, String> own = new java.util.HashMap<>(settings);
    own.put("FRONTLINE_HTTP_PORT", String.valueOf(freePort()));
    own.put("FRONTLINE_MANAGEMENT_PORT", String.valueOf(freePort()));
    own.put("FRONTLINE_ROLES", "api");
    own.putAll(overrides);
    return Frontline.start(ConfigLoader.load(Mode.PRODUCTION, own, Map.of()))
        .toCompletionStage().toCompletableFuture().get(60, java.util.concurrent.TimeUnit.SECONDS);
  }

  public Path dir() { return dir; }

  /**
   * How long {@link #await} waits: longer than the longest bound the service's code puts on what tests wait for, a
   * server-side write to the store ({@link MinioObjectStore#LONGEST_WRITE}, 204 s: a stalled write is sent once
   * more). Waiting 60 s, the write's own idle timeout, called hung a write that the code would
   * still have retried and finished (or failed); a wait that runs out now is a real hang, and its dump shows where.
   */
  static final Duration AWAIT_TIMEOUT = MinioObjectStore.LONGEST_WRITE.plusSeconds(30);

  /** Waits for a future from a test thread (never from an event loop), at most {@link #AWAIT_TIMEOUT}. */
  public static <T> T await(Future<T> future) {
    try {
      return future.toCompletionStage().toCompletableFuture().get(AWAIT_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      throw e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("no answer within " + AWAIT_TIMEOUT.toSeconds() + " s; threads then:\n"
          + threadDump(), e);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Every thread's stack, for a test that timed out: what the service was waiting on is in the failure itself. */
  static String threadDump() {
    StringBuilder dump = new StringBuilder();
    for (java.lang.management.ThreadInfo thread : java.lang.management.ManagementFactory.getThreadMXBean()
        .dumpAllThreads(true, true)) {
      dump.append('"').append(thread.getThreadName()).append("\" ").append(thread.getThreadState());
      if (thread.getLockName() != null) {
        dump.append(" on ").append(thread.getLockName());
      }
      dump.append('\n');
      for (StackTraceElement frame : thread.getStackTrace()) {
        dump.append("    at ").append(frame).append('\n');
      }
    }
    try { // the sockets too (Linux): a request sent on a connection nobody reads shows in its Recv-Q
      Process ss = new ProcessBuilder("ss", "-tnpo").redirectErrorStream(true).start();
      dump.append("ss -tnpo:\n").append(new String(ss.getInputStream().readAllBytes(),
          java.nio.charset.StandardCharsets.UTF_8));
    } catch (java.io.IOException e) {
      dump.append("(no ss: ").append(e.getMessage()).append(")\n");
    }
    return dump.toString();
  }

  @Override
  public void close() {
    System.out.println(contract.summary());
    try {
      app.stop().get(30, TimeUnit.SECONDS);
    } catch (Exception ignored) {
      // best effort at the end of the run
    }
    clientVertx.close();
    fcm.close();
    s3.close();
    if (postgres != null) {
      postgres.close();
    }
  }

  /** Ports handed out by {@link #freePort()} in this JVM. */
  private static final java.util.Set<Integer> HANDED_OUT = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /**
   * A port free now and never handed out before in this JVM: the kernel may offer a port again as soon as its probe
   * socket closed, so two calls in a row (an HTTP and a management port) could answer the same one, and the service
   * then failed to start with "Address already in use".
   */
  public static int freePort() {
    while (true) {
      try (ServerSocket socket = new ServerSocket(0)) {
        socket.setReuseAddress(true);
        if (HANDED_OUT.add(socket.getLocalPort())) {
          return socket.getLocalPort();
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  static Duration since(long t0) {
    return Duration.ofNanos(System.nanoTime() - t0);
  }
}
