package org.frontline.config;

import org.frontline.platform.objectstore.ObjectStoreSettings;

import javax.crypto.SecretKey;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/** The whole configuration, typed and immutable. Built once at start by {@link ConfigLoader}. */
public record FrontlineConfig(
    Mode mode,
    Http http,
    Database database,
    ObjectStoreSettings objectStore,
    Push push,
    Tokens tokens,
    int workerPoolSize,
    Projects projects,
    Webhooks webhooks,
    Roles roles,
    String logLevel,
    Retention retention) {

  public enum Mode { DEV, PRODUCTION }

  /**
   * What a process runs: the HTTP API, the background workers, or both (the default). The management port
   * (health, metrics) is always served.
   */
  public record Roles(boolean api, boolean workers) {
    public static final Roles ALL = new Roles(true, true);
  }

  public record Http(String host, int port, String managementHost, int managementPort, long bodyLimitBytes,
                     Duration requestTimeout, Duration shutdownGrace) {}

  public record Database(String host, int port, String database, String user, String password, boolean ssl,
                         int poolSize) {
    public String jdbcUrl() {
      return "jdbc:postgresql://" + host + ":" + port + "/" + database + (ssl ? "?sslmode=require" : "");
    }

    @Override
    public String toString() {
      return "Database[" + user + "@" + host + ":" + port + "/" + database + ", ssl=" + ssl + ", pool=" + poolSize + "]";
    }
  }

  public enum PushGatewayKind { FIREBASE, RECORDING }

  /**
   * @param digestAfter   flood control: pushes per recipient within {@code digestWindow} before a digest (0: off)
   * @param escalateAfter an urgent alert unopened this long is escalated once
   * @param recordWatchInterval how often the passing of time is checked for work-record alerts (zero: never)
   */
  public record Push(PushGatewayKind gateway, Path firebaseCredentialsFile, int digestAfter, Duration digestWindow,
                     Duration escalateAfter, Duration recordWatchInterval) {}

  /**
   * How long the operational tables keep their rows (see notify/Retention).
   *
   * @param events        dispatched outbox events (the partner feed's window); at least the other two
   * @param notifications inbox notifications, read or not
   * @param deliveries    push deliveries sent or dead-lettered
   * @param webhookDeliveries webhook deliveries delivered or failed (listed and replayable for this long)
   * @param devices       devices since their retirement (with the deliveries they still have); at least deliveries
   */
  public record Retention(Duration events, Duration notifications, Duration deliveries,
                          Duration webhookDeliveries, Duration devices) {}

  /** @param milestoneAtRiskPercent a milestone slipping by more than this percent of its plan is at risk */
  public record Projects(int milestoneAtRiskPercent) {}

  /**
   * @param allowLoopback http:// and loopback targets accepted too (dev and the test service only)
   * @param retryBase     the first retry delay of a failed delivery (doubled per attempt, with jitter)
   */
  public record Webhooks(boolean allowLoopback, Duration retryBase) {}

  /**
   * Token settings; the key-encryption key opens the signing keys stored in the database.
   *
   * @param refusalAuditInterval per client address and reason, how long the refused tokens and throttled logins
   *                             after an audited one are only counted (zero: every one audited)
   */
  public record Tokens(String issuer, String audience, SecretKey keyEncryptionKey, Duration refusalAuditInterval) {
    @Override
    public String toString() {
      return "Tokens[" + issuer + ", " + audience + ", refusals audited per " + refusalAuditInterval + "]";
    }
  }

  /** What the key-administration commands need: the database and the key-encryption key. */
  public record KeyAdmin(Database database, SecretKey keyEncryptionKey) {}

  /** What {@code admin rekey} needs: the database, the key-encryption key in force and the new one. */
  public record Rekey(Database database, SecretKey current, SecretKey next) {}

  public FrontlineConfig {
    Objects.requireNonNull(mode);
    Objects.requireNonNull(http);
    Objects.requireNonNull(database);
    Objects.requireNonNull(objectStore);
    Objects.requireNonNull(push);
    Objects.requireNonNull(tokens);
    Objects.requireNonNull(projects);
    Objects.requireNonNull(webhooks);
  }
}
