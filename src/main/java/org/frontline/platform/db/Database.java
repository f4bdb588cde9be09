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

import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The PostgreSQL pool and the one way to run several statements atomically. Connection and pool-wait timeouts are
 * short so that a database outage turns into a prompt 503, not a hanging request.
 */
public final class Database {

  private final Pool pool;
  private final Vertx vertx;
  private final PgConnectOptions connect;

  /** PostgreSQL ends a session idle inside a transaction for this long (its transaction rolls back). */
  static final String IDLE_IN_TRANSACTION_TIMEOUT = "60s";

  private Database(Vertx vertx, PgConnectOptions connect, Pool pool) {
    this.vertx = vertx;
    this.connect = connect;
    this.pool = pool;
  }

  public static Database connect(Vertx vertx, FrontlineConfig.Database cfg) {
    PgConnectOptions connect = new PgConnectOptions()
        .setHost(cfg.host())
        .setPort(cfg.port())
        .setDatabase(cfg.database())
        .setUser(cfg.user())
        .setPassword(cfg.password())
        .setSslMode(cfg.ssl() ? SslMode.REQUIRE : SslMode.DISABLE)
        .setCachePreparedStatements(true)
        .setPipeliningLimit(16)
        .addProperty("application_name", "frontline")
        // A transaction left idle (code awaiting a network call inside it, a lost callback) holds locks and, worse,
        // holds back the partner event feed, which serves only events older than every running transaction.
        .addProperty("idle_in_transaction_session_timeout", IDLE_IN_TRANSACTION_TIMEOUT);
    PoolOptions poolOptions = new PoolOptions()
        .setMaxSize(cfg.poolSize())
        .setName("frontline-db")
        .setShared(false)
        .setConnectionTimeout(5)
        .setConnectionTimeoutUnit(TimeUnit.SECONDS)
        .setIdleTimeout(5)
        .setIdleTimeoutUnit(TimeUnit.MINUTES)
        .setMaxWaitQueueSize(cfg.poolSize() * 64);
    Pool pool = PgBuilder.pool()
        .with(poolOptions)
        .with(new NetClientOptions().setConnectTimeout(3_000))
        .connectingTo(connect)
        .using(vertx)
        .build();
    return new Database(vertx, connect, pool);
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
    return pool.query("SELECT 1").execute().mapEmpty();
  }

  public Future<Void> close() {
    return pool.close();
  }
}
