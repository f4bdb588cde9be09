package org.frontline.platform.db;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClientOptions;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.PgConnection;
import io.vertx.pgclient.SslMode;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.SqlConnection;
import org.frontline.config.FrontlineConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The PostgreSQL pool and the one way to run several statements atomically. Connection and pool-wait timeouts are
 * short so that a database outage turns into a prompt 503, not a hanging request.
 */
public final class Database {

  /** The application_name of the service's sessions (pg_stat_activity). */
  public static final String APPLICATION_NAME = "frontline";
  /**
   * How vertx-sql-client fails a query on a pooled connection the server has already closed ("Connection is not
   * active now, current status: CLOSED", or CLOSING): the first queries after PostgreSQL went down often meet it.
   * The database unreachable, like a refused connection.
   */
  public static final String CONNECTION_NOT_ACTIVE = "Connection is not active now";
  /**
   * The SQLSTATE of an event refused because the event feed's clock is behind (a restored database, until
   * partners/FeedClock raises it, within a minute): the database is not ready to take events, like one unreachable.
   */
  public static final String FEED_CLOCK_BEHIND = "FL001";

  /**
   * Whether PostgreSQL answered {@code sqlState} because it does not serve now, not because of the statement: the
   * connection failed (class 08), it is out of resources (class 53: too many connections, disk, memory), or it is
   * shutting down, starting up or in recovery (57P01-57P03, at connect or mid-session during a restart). Not the two
   * of those classes that a statement of ours causes and that no retry passes: 08P01 (protocol violation: a client
   * bug) and 53400 (configuration limit exceeded, e.g. temp_file_limit): those stay internal errors.
   */
  public static boolean notServing(String sqlState) {
    return sqlState != null && !sqlState.equals("08P01") && !sqlState.equals("53400")
        && (sqlState.startsWith("08") || sqlState.startsWith("53") || sqlState.startsWith("57P"));
  }

  private final Pool pool;
  /** Pools made by {@link #genericPlanPool}, closed with this one. */
  private final List<Pool> others = new CopyOnWriteArrayList<>();
  private final Vertx vertx;
  private final PgConnectOptions connect;

  /** The longest statement text kept prepared per connection (every statement of the service is shorter). */
  public static final int PREPARED_STATEMENT_SQL_LIMIT = 16_384;

  /** PostgreSQL ends a session idle inside a transaction for this long (its transaction rolls back). */
  static final String IDLE_IN_TRANSACTION_TIMEOUT = "60s";

  /**
   * One connection of its own for {@link #ping}: readiness asks whether the database answers, and a pool busy
   * with the load (its wait queue seconds long) must not make an instance that serves it look down.
   */
  private final Pool health;

  private Database(Vertx vertx, PgConnectOptions connect, Pool pool) {
    this.vertx = vertx;
    this.connect = connect;
    this.pool = pool;
    this.health = pool(vertx, connect, "frontline-db-health", 1);
    others.add(health);
  }

  public static Database connect(Vertx vertx, FrontlineConfig.Database cfg) {
    return connect(vertx, cfg, APPLICATION_NAME);
  }

  /**
   * The service's: as {@link #connect(Vertx, FrontlineConfig.Database)}, and PostgreSQL cancels any statement that
   * runs (or waits for a lock) longer than {@code statementTimeout}. Without it a statement went on after its request
   * had been answered with the timeout's 503: a page of the audit log filtered on a rare action read the whole log
   * (1.7 s per 2 million entries), and a caller repeating it held connections and the database's CPU for as long.
   */
  public static Database connect(Vertx vertx, FrontlineConfig.Database cfg, java.time.Duration statementTimeout) {
    return connect(vertx, cfg, APPLICATION_NAME, statementTimeout);
  }

  /**
   * As {@link #connect(Vertx, FrontlineConfig.Database)}, its sessions named {@code applicationName} in
   * pg_stat_activity ({@code admin rekey} names its own, so that it counts only the service's).
   */
  public static Database connect(Vertx vertx, FrontlineConfig.Database cfg, String applicationName) {
    return connect(vertx, cfg, applicationName, null);
  }

  private static Database connect(Vertx vertx, FrontlineConfig.Database cfg, String applicationName,
                                  java.time.Duration statementTimeout) {
    PgConnectOptions connect = new PgConnectOptions()
        .setHost(cfg.host())
        .setPort(cfg.port())
        .setDatabase(cfg.database())
        .setUser(cfg.user())
        .setPassword(cfg.password())
        .setSslMode(cfg.ssl() ? SslMode.REQUIRE : SslMode.DISABLE)
        .setCachePreparedStatements(true)
        // Vert.x caches only statements up to 2,048 characters by default: a longer one (the group commit's) would
        // be parsed and planned again on every execution.
        .setPreparedStatementCacheSqlLimit(PREPARED_STATEMENT_SQL_LIMIT)
        .setPipeliningLimit(16)
        .addProperty("application_name", applicationName)
        // A transaction left idle (code awaiting a network call inside it, a lost callback) holds locks and, worse,
        // holds back the partner event feed, which serves only events older than every running transaction.
        .addProperty("idle_in_transaction_session_timeout", IDLE_IN_TRANSACTION_TIMEOUT);
    if (statementTimeout != null) {
      connect.addProperty("statement_timeout", statementTimeout.toMillis() + "ms");
    }
    return new Database(vertx, connect, pool(vertx, connect, "frontline-db", cfg.poolSize()));
  }

  private static Pool pool(Vertx vertx, PgConnectOptions connect, String name, int size) {
    PoolOptions poolOptions = new PoolOptions()
        .setMaxSize(size)
        .setName(name)
        .setShared(false)
        .setConnectionTimeout(5)
        .setConnectionTimeoutUnit(TimeUnit.SECONDS)
        .setIdleTimeout(5)
        .setIdleTimeoutUnit(TimeUnit.MINUTES)
        .setMaxWaitQueueSize(size * 64);
    return PgBuilder.pool()
        .with(poolOptions)
        .with(new NetClientOptions().setConnectTimeout(3_000))
        .connectingTo(connect)
        .using(vertx)
        .build();
  }

  /**
   * A small pool of its own whose sessions plan each prepared statement once, generically
   * ({@code plan_cache_mode = force_generic_plan}): for the group commit's statement (ReportRepository.SUBMIT_GROUP),
   * whose planning (about 0.9 ms) costs about as much as its execution. PostgreSQL's default settles on the generic
   * plan after five executions anyway (measured: 13 plans in 3,958 executions over the shared pool); forced, no
   * execution is planned for the arrays' lengths of one group. Its connections never queue behind other queries.
   */
  public Pool genericPlanPool(String name, int size) {
    Pool other = pool(vertx, new PgConnectOptions(connect).addProperty("plan_cache_mode", "force_generic_plan"),
        name, size);
    others.add(other);
    return other;
  }

  public Pool pool() {
    return pool;
  }

  /**
   * Runs {@code work} in one transaction: committed when the returned future succeeds, rolled back when it fails.
   */
  public <T> Future<T> inTransaction(Function<SqlConnection, Future<T>> work) {
    return pool.withTransaction(work);
  }

  /** A connection of its own, outside the pool, for a session that must stay open (LISTEN). */
  public Future<PgConnection> dedicatedConnection() {
    return PgConnection.connect(vertx, connect);
  }

  /** A trivial round trip, for readiness. */
  public Future<Void> ping() {
    return health.query("SELECT 1").execute().mapEmpty();
  }

  public Future<Void> close() {
    List<Future<Void>> closing = new ArrayList<>();
    closing.add(pool.close());
    others.forEach(p -> closing.add(p.close()));
    return Future.join(closing).mapEmpty();
  }
}
