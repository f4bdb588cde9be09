package org.frontline.config;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Every setting Frontline reads, in one table: its environment name, its default in production, the value dev
 * mode uses, and what it means. `--help` and the README's configuration table are generated from this list.
 */
public enum Setting {
  CONFIG_FILE("FRONTLINE_CONFIG_FILE", null, null,
      "Optional file of KEY=value lines using these same names; environment variables win over it."),
  HTTP_HOST("FRONTLINE_HTTP_HOST", "0.0.0.0", "127.0.0.1", "Interface the API listens on."),
  HTTP_PORT("FRONTLINE_HTTP_PORT", "8080", "8080", "API port."),
  MANAGEMENT_HOST("FRONTLINE_MANAGEMENT_HOST", "0.0.0.0", "127.0.0.1", "Interface of the management port."),
  MANAGEMENT_PORT("FRONTLINE_MANAGEMENT_PORT", "9090", "9090",
      "Management port: /health/live, /health/ready, /metrics. Must differ from the API port."),
  BODY_LIMIT_BYTES("FRONTLINE_BODY_LIMIT_BYTES", "1048576", "1048576",
      "Largest JSON request body accepted (413 beyond). Media goes through uploads, not JSON."),
  REQUEST_TIMEOUT_SECONDS("FRONTLINE_REQUEST_TIMEOUT_SECONDS", "30", "30",
      "An API request not answered within this time gets a 503 problem; PostgreSQL cancels any statement of the "
          + "service that runs a second longer. A request head (request line and header "
          + "fields) not received whole within this time from its first byte closes the connection; a connection idle "
          + "for 120 s is closed too."),
  SHUTDOWN_GRACE_SECONDS("FRONTLINE_SHUTDOWN_GRACE_SECONDS", "8", "3",
      "On SIGTERM/Ctrl-C, how long in-flight requests may take to finish before connections are closed."),
  DATABASE_URL("FRONTLINE_DATABASE_URL", null, "(embedded)",
      "PostgreSQL URL, postgresql://user:password@host:5432/db[?sslmode=require]. If unset, the libpq variables "
          + "PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD are used."),
  DATABASE_POOL_SIZE("FRONTLINE_DATABASE_POOL_SIZE", "16", "8", "Connections in the PostgreSQL pool."),
  S3_ENDPOINT("FRONTLINE_S3_ENDPOINT", null, "(in-process)", "MinIO/S3 endpoint URL, e.g. http://minio:9000."),
  S3_PUBLIC_ENDPOINT("FRONTLINE_S3_PUBLIC_ENDPOINT", null, null,
      "The object store's URL as phones, browsers and partners reach it, e.g. https://media.example.org: the "
          + "presigned upload and download URLs given to clients are signed for it (a proxy in front of the store "
          + "must pass the Host header unchanged). Unset: FRONTLINE_S3_ENDPOINT."),
  S3_ACCESS_KEY("FRONTLINE_S3_ACCESS_KEY", null, "(generated)", "Object store access key."),
  S3_SECRET_KEY("FRONTLINE_S3_SECRET_KEY", null, "(generated)", "Object store secret key."),
  S3_BUCKET("FRONTLINE_S3_BUCKET", "frontline-media", "frontline-media", "Bucket for media; created at start if missing."),
  S3_REGION("FRONTLINE_S3_REGION", "us-east-1", "us-east-1", "Object store region."),
  PUSH_GATEWAY("FRONTLINE_PUSH_GATEWAY", "firebase", "recording",
      "firebase: send through Firebase Cloud Messaging; recording: log and keep what would be sent (no credentials)."),
  ALERT_DIGEST_AFTER("FRONTLINE_ALERT_DIGEST_AFTER", "10", "10",
      "Flood control: pushes per recipient within the window before further alerts (urgent ones aside) become one digest push (0: off)."),
  ALERT_DIGEST_WINDOW_SECONDS("FRONTLINE_ALERT_DIGEST_WINDOW_SECONDS", "600", "600",
      "Flood control: the sliding window, in seconds, over which a recipient's pushes are counted."),
  ALERT_ESCALATE_AFTER_SECONDS("FRONTLINE_ALERT_ESCALATE_AFTER_SECONDS", "1800", "1800",
      "An urgent alert nobody opened within this many seconds is re-sent once to the supervisors one level up."),
  MILESTONE_AT_RISK_PERCENT("FRONTLINE_MILESTONE_AT_RISK_PERCENT", "10", "10",
      "A milestone is at risk (milestone.at-risk alert) when its slippage (planned to date minus actual) is above "
          + "this percent of its planned quantity; a project is at risk when one of its milestones is (GET /v1/figures)."),
  RECORD_WATCH_SECONDS("FRONTLINE_RECORD_WATCH_SECONDS", "60", "60",
      "How often the passing of time is checked for work-record alerts (milestones overdue or at risk, service requests past their SLA); 0: never."),
  RETENTION_EVENT_DAYS("FRONTLINE_RETENTION_EVENT_DAYS", "90", "90",
      "Outbox events older than this many days are deleted once dispatched and once none of their inbox "
          + "notifications and push deliveries is left: the partner event feed (GET /v1/events) serves each event for "
          + "at least this long. At least FRONTLINE_RETENTION_NOTIFICATION_DAYS and "
          + "FRONTLINE_RETENTION_DELIVERY_DAYS."),
  RETENTION_NOTIFICATION_DAYS("FRONTLINE_RETENTION_NOTIFICATION_DAYS", "90", "90",
      "Inbox notifications older than this many days are deleted, read or not (an event's alerts go together)."),
  RETENTION_DELIVERY_DAYS("FRONTLINE_RETENTION_DELIVERY_DAYS", "14", "14",
      "Push deliveries sent or dead-lettered more than this many days ago (by creation) are deleted; pending ones "
          + "stay."),
  RETENTION_DEVICE_DAYS("FRONTLINE_RETENTION_DEVICE_DAYS", "30", "30",
      "Devices (push tokens) retired more than this many days ago (idle, replaced, removed, or called dead by FCM) "
          + "are deleted with their push deliveries; registering the token again afterwards makes a new device. "
          + "At least FRONTLINE_RETENTION_DELIVERY_DAYS."),
  RETENTION_WEBHOOK_DELIVERY_DAYS("FRONTLINE_RETENTION_WEBHOOK_DELIVERY_DAYS", "30", "30",
      "Webhook deliveries delivered or failed, created more than this many days ago, are deleted (no longer listed "
          + "nor replayable: 404); pending ones stay."),
  WEBHOOK_ALLOW_LOOPBACK("FRONTLINE_WEBHOOK_ALLOW_LOOPBACK", "false", "true",
      "Webhooks: also accept http:// and loopback targets (127.0.0.0/8, ::1, localhost), for local testing only. "
          + "Private, link-local, metadata, unspecified and multicast addresses are refused either way."),
  WEBHOOK_RETRY_BASE_MILLIS("FRONTLINE_WEBHOOK_RETRY_BASE_MILLIS", "30000", "30000",
      "Webhooks: the first retry delay of a failed delivery; doubled per attempt (with jitter, capped at 6 h) for up "
          + "to 3 days, then the delivery has failed."),
  FIREBASE_CREDENTIALS_FILE("FRONTLINE_FIREBASE_CREDENTIALS_FILE", null, null,
      "Path of the Firebase service-account JSON. Required when the push gateway is firebase."),
  JWT_ISSUER("FRONTLINE_JWT_ISSUER", null, "(http://host:port)",
      "Issuer (iss) of access tokens: the public base URL of this service (the discovery document's endpoints are "
          + "under it). Dev mode: http:// with FRONTLINE_HTTP_HOST and FRONTLINE_HTTP_PORT."),
  JWT_AUDIENCE("FRONTLINE_JWT_AUDIENCE", "frontline-api", "frontline-api", "Audience (aud) of access tokens."),
  AUTH_REFUSAL_AUDIT_SECONDS("FRONTLINE_AUTH_REFUSAL_AUDIT_SECONDS", "60", "60",
      "Refused bearer tokens, throttled logins and operations denied to a valid token: per client address and "
          + "reason (a denial: per account and operation too), the first is audited at once and "
          + "the rest within this many seconds only counted, into one summary audit entry per interval carrying "
          + "their number (0: every refusal audited). The metric frontline_auth_refusals_total counts them all."),
  KEY_ENCRYPTION_KEY("FRONTLINE_KEY_ENCRYPTION_KEY", null, "(generated)",
      "Base64 of 32 random bytes (`openssl rand -base64 32`): the AES-256-GCM key that encrypts the signing keys "
          + "and webhook secrets kept in the database. The same on every instance; keep it secret. Changed with "
          + "`admin rekey`. Production refuses one that is no "
          + "random bytes (a byte repeated, a pattern, a sequence, text). Dev mode keeps one in "
          + "./data/key-encryption-key."),
  NEW_KEY_ENCRYPTION_KEY("FRONTLINE_NEW_KEY_ENCRYPTION_KEY", null, null,
      "Only for `admin rekey`: the key-encryption key to re-encrypt everything under (base64 of 32 random bytes; "
          + "weak keys are refused). Give it in the environment or FRONTLINE_CONFIG_FILE, never on the command line. "
          + "The service itself ignores it."),
  ROLES("FRONTLINE_ROLES", "api,workers", "api,workers",
      "What this process runs: api (the HTTP API), workers (outbox dispatcher, media worker, report checker, "
          + "webhook delivery, upload sweeper, record watch), or both. Processes of either kind share the work through the database."),
  WORKER_POOL_SIZE("FRONTLINE_WORKER_POOL_SIZE", "16", "8",
      "Threads of the bounded pool that runs blocking SDK calls (object store, Firebase)."),
  LOG_LEVEL("FRONTLINE_LOG_LEVEL", "INFO", "INFO", "Log level of Frontline's own loggers (TRACE, DEBUG, INFO, WARN, ERROR)."),
  DATA_DIR("FRONTLINE_DATA_DIR", null, "./data",
      "Dev mode only: where the embedded database, the local object store and the key-encryption key are kept."),
  ADMIN_PASSWORD("FRONTLINE_ADMIN_PASSWORD", null, null,
      "`admin bootstrap` only: password of the first administrator (at least 12 characters); asked for if unset."),
  TEST_DATABASE_URL("FRONTLINE_TEST_DATABASE_URL", null, null,
      "Test suite only: an empty PostgreSQL to use instead of the embedded one, as postgresql://user:pw@host:port/db.");

  private final String env;
  private final String defaultValue;
  private final String devValue;
  private final String description;

  Setting(String env, String defaultValue, String devValue, String description) {
    this.env = env;
    this.defaultValue = defaultValue;
    this.devValue = devValue;
    this.description = description;
  }

  public String env() { return env; }

  public Optional<String> defaultValue() { return Optional.ofNullable(defaultValue); }

  public Optional<String> devValue() { return Optional.ofNullable(devValue); }

  public String description() { return description; }

  public static List<Setting> all() { return Arrays.asList(values()); }

  /** The README's configuration table (a test keeps the README equal to it). */
  public static String markdownTable() {
    StringBuilder out = new StringBuilder("| Setting | Default (`start`) | Dev mode | Meaning |\n|---|---|---|---|\n");
    for (Setting s : values()) {
      out.append("| `").append(s.env).append("` | ")
          .append(s.defaultValue == null ? "-" : "`" + s.defaultValue + "`").append(" | ")
          .append(s.devValue == null ? "-" : s.devValue.startsWith("(") ? s.devValue : "`" + s.devValue + "`")
          .append(" | ").append(s.description).append(" |\n");
    }
    return out.toString();
  }

  /** A plain-text table for --help. */
  public static String helpTable() {
    StringBuilder out = new StringBuilder();
    for (Setting s : values()) {
      out.append(String.format("  %-38s default: %-18s dev: %s%n      %s%n", s.env,
          s.defaultValue == null ? "(none)" : s.defaultValue, s.devValue == null ? "(none)" : s.devValue, s.description));
    }
    return out.toString();
  }
}
