package org.frontline.config;

import org.frontline.config.FrontlineConfig.Database;
import org.frontline.config.FrontlineConfig.Http;
import org.frontline.config.FrontlineConfig.Mode;
import org.frontline.config.FrontlineConfig.Push;
import org.frontline.config.FrontlineConfig.PushGatewayKind;
import org.frontline.config.FrontlineConfig.Tokens;
import org.frontline.platform.objectstore.ObjectStoreSettings;

import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.io.Reader;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * Builds the configuration from, in increasing precedence: the defaults of the mode, the optional file named by
 * FRONTLINE_CONFIG_FILE, the environment, and values forced by the caller (dev mode forces the addresses of its
 * embedded services). Every problem found is reported at once, each naming its setting.
 */
public final class ConfigLoader {

  private static final List<String> PG_VARIABLES = List.of("PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD");

  private final Map<String, String> values;
  private final List<String> problems = new ArrayList<>();

  private ConfigLoader(Map<String, String> values) {
    this.values = values;
  }

  public static FrontlineConfig load(Mode mode, Map<String, String> env, Map<String, String> forced) {
    return merge(mode, env, forced).build(mode);
  }

  /** Only the database settings, for commands that need nothing else (migrate, admin). */
  public static FrontlineConfig.Database loadDatabase(Map<String, String> env) {
    ConfigLoader loader = merge(Mode.PRODUCTION, env, Map.of());
    FrontlineConfig.Database database = loader.database();
    if (!loader.problems.isEmpty()) {
      throw new ConfigException(loader.problems);
    }
    return database;
  }

  /** The database and the key-encryption key, for the key-administration commands (admin rotate-keys). */
  public static FrontlineConfig.KeyAdmin loadKeyAdmin(Map<String, String> env) {
    ConfigLoader loader = merge(Mode.PRODUCTION, env, Map.of());
    FrontlineConfig.Database database = loader.database();
    SecretKey kek = loader.keyEncryptionKey(Mode.PRODUCTION);
    if (!loader.problems.isEmpty()) {
      throw new ConfigException(loader.problems);
    }
    return new FrontlineConfig.KeyAdmin(database, kek);
  }

  /**
   * The database, the key-encryption key in force and the one to change to, for {@code admin rekey}. The current
   * key is taken as it is, weak or not (moving off a weak key is what the command is for); the new one must be 32
   * random bytes, and another key.
   */
  public static FrontlineConfig.Rekey loadRekey(Map<String, String> env) {
    ConfigLoader loader = merge(Mode.PRODUCTION, env, Map.of());
    FrontlineConfig.Database database = loader.database();
    SecretKey current = loader.key(Setting.KEY_ENCRYPTION_KEY, false);
    SecretKey next = loader.key(Setting.NEW_KEY_ENCRYPTION_KEY, true);
    if (current != null && next != null && java.security.MessageDigest.isEqual(current.getEncoded(), next.getEncoded())) {
      loader.problems.add(Setting.NEW_KEY_ENCRYPTION_KEY.env() + ": the same key as "
          + Setting.KEY_ENCRYPTION_KEY.env() + "; give the new key (openssl rand -base64 32)");
    }
    if (!loader.problems.isEmpty()) {
      throw new ConfigException(loader.problems);
    }
    return new FrontlineConfig.Rekey(database, current, next);
  }

  /**
   * One setting as given (environment over FRONTLINE_CONFIG_FILE over the mode's default), before any check; null
   * when none. For what a mode must decide before loading: dev mode's data folder and whether to generate a key.
   */
  public static String given(Mode mode, Map<String, String> env, Setting setting) {
    return merge(mode, env, Map.of()).get(setting.env());
  }

  private static ConfigLoader merge(Mode mode, Map<String, String> env, Map<String, String> forced) {
    Map<String, String> merged = new HashMap<>();
    for (Setting s : Setting.values()) {
      (mode == Mode.DEV ? s.devValue() : s.defaultValue())
          .filter(v -> !v.startsWith("("))
          .ifPresent(v -> merged.put(s.env(), v));
    }
    List<String> early = new ArrayList<>();
    String file = blankToNull(env.get(Setting.CONFIG_FILE.env()));
    if (file != null) {
      readFile(Path.of(file), merged, early);
    }
    env.forEach((k, v) -> {
      if (k.startsWith("FRONTLINE_") || PG_VARIABLES.contains(k)) {
        merged.put(k, v);
      }
    });
    merged.putAll(forced);
    if (mode == Mode.DEV && blankToNull(merged.get(Setting.JWT_ISSUER.env())) == null) {
      // The issuer is the base URL of the discovery document's endpoints: where this dev server listens.
      String host = blankToNull(merged.get(Setting.HTTP_HOST.env()));
      merged.put(Setting.JWT_ISSUER.env(), "http://" + (host == null || host.equals("0.0.0.0") ? "127.0.0.1" : host)
          + ":" + blankToNull(merged.get(Setting.HTTP_PORT.env())));
    }
    ConfigLoader loader = new ConfigLoader(merged);
    loader.problems.addAll(early);
    return loader;
  }

  private static void readFile(Path file, Map<String, String> into, List<String> problems) {
    if (!Files.isReadable(file)) {
      problems.add(Setting.CONFIG_FILE.env() + ": cannot read file '" + file + "'");
      return;
    }
    Properties props = new Properties();
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      props.load(r);
    } catch (IOException | IllegalArgumentException e) {
      problems.add(Setting.CONFIG_FILE.env() + ": cannot parse '" + file + "': " + e.getMessage());
      return;
    }
    for (String key : props.stringPropertyNames()) {
      if (!key.startsWith("FRONTLINE_") && !PG_VARIABLES.contains(key)) {
        problems.add(Setting.CONFIG_FILE.env() + ": unknown setting '" + key + "' in '" + file + "'");
      } else {
        into.put(key, props.getProperty(key).trim());
      }
    }
  }

  private FrontlineConfig build(Mode mode) {
    for (String key : values.keySet()) {
      if (key.startsWith("FRONTLINE_") && Setting.all().stream().noneMatch(s -> s.env().equals(key))
          && !kubernetesServiceLink(key, values.get(key))) {
        problems.add(key + ": unknown setting (see --help for the list)");
      }
    }
    int httpPort = port(Setting.HTTP_PORT);
    int managementPort = port(Setting.MANAGEMENT_PORT);
    if (httpPort > 0 && httpPort == managementPort) {
      problems.add(Setting.MANAGEMENT_PORT.env() + ": must differ from " + Setting.HTTP_PORT.env() + " (both " + httpPort + ")");
    }
    Http http = new Http(
        required(Setting.HTTP_HOST), httpPort,
        required(Setting.MANAGEMENT_HOST), managementPort,
        integer(Setting.BODY_LIMIT_BYTES, 1024, 64L * 1024 * 1024),
        Duration.ofSeconds(integer(Setting.REQUEST_TIMEOUT_SECONDS, 1, 600)),
        Duration.ofSeconds(integer(Setting.SHUTDOWN_GRACE_SECONDS, 0, 300)));
    Database database = database();
    String s3Endpoint = storeUrl(Setting.S3_ENDPOINT);
    String s3PublicEndpoint = get(Setting.S3_PUBLIC_ENDPOINT.env()) == null ? s3Endpoint
        : storeUrl(Setting.S3_PUBLIC_ENDPOINT);
    String s3AccessKey = required(Setting.S3_ACCESS_KEY);
    String s3SecretKey = required(Setting.S3_SECRET_KEY);
    String bucket = bucket();
    String region = required(Setting.S3_REGION);
    Push push = push();
    Tokens tokens = new Tokens(url(Setting.JWT_ISSUER), required(Setting.JWT_AUDIENCE), keyEncryptionKey(mode),
        Duration.ofSeconds(integer(Setting.AUTH_REFUSAL_AUDIT_SECONDS, 0, 3_600)));
    int workers = (int) integer(Setting.WORKER_POOL_SIZE, 1, 256);
    FrontlineConfig.Projects projects =
        new FrontlineConfig.Projects((int) integer(Setting.MILESTONE_AT_RISK_PERCENT, 0, 100));
    String allowLoopback = required(Setting.WEBHOOK_ALLOW_LOOPBACK);
    if (allowLoopback != null && !List.of("true", "false").contains(allowLoopback)) {
      problems.add(Setting.WEBHOOK_ALLOW_LOOPBACK.env() + ": must be true or false, got '" + allowLoopback + "'");
    }
    FrontlineConfig.Webhooks webhooks = new FrontlineConfig.Webhooks("true".equals(allowLoopback),
        Duration.ofMillis(integer(Setting.WEBHOOK_RETRY_BASE_MILLIS, 10, 3_600_000)));
    FrontlineConfig.Roles roles = roles();
    FrontlineConfig.Retention retention = retention();
    String logLevel = required(Setting.LOG_LEVEL);
    if (logLevel != null && !List.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR").contains(logLevel)) {
      problems.add(Setting.LOG_LEVEL.env() + ": must be TRACE, DEBUG, INFO, WARN or ERROR, got '" + logLevel + "'");
    }
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    ObjectStoreSettings objectStore = new ObjectStoreSettings(s3Endpoint, s3PublicEndpoint, s3AccessKey, s3SecretKey,
        bucket, region);
    return new FrontlineConfig(mode, http, database, objectStore, push, tokens, workers, projects, webhooks, roles,
        logLevel, retention);
  }

  /**
   * Sets the level of Frontline's own loggers. logback.xml reads FRONTLINE_LOG_LEVEL from the environment only;
   * this makes a level given in FRONTLINE_CONFIG_FILE count too.
   */
  public static void applyLogLevel(FrontlineConfig config) {
    if (org.slf4j.LoggerFactory.getLogger("org.frontline") instanceof ch.qos.logback.classic.Logger logger) {
      logger.setLevel(ch.qos.logback.classic.Level.toLevel(config.logLevel()));
    }
  }

  private static final String IP = "[0-9a-fA-F.:\\[\\]]+";
  private static final java.util.regex.Pattern SERVICE_LINK = java.util.regex.Pattern.compile(String.join("|",
      "FRONTLINE_(?:[A-Z0-9_]+_)?SERVICE_HOST=" + IP,
      "FRONTLINE_(?:[A-Z0-9_]+_)?SERVICE_PORT(?:_[A-Z0-9_]+)?=\\d+",
      "FRONTLINE_(?:[A-Z0-9_]+_)?PORT(?:_\\d+_(?:TCP|UDP|SCTP))?=(?:tcp|udp|sctp)://" + IP + ":\\d+",
      "FRONTLINE_(?:[A-Z0-9_]+_)?PORT_\\d+_(?:TCP|UDP|SCTP)_PROTO=(?:tcp|udp|sctp)",
      "FRONTLINE_(?:[A-Z0-9_]+_)?PORT_\\d+_(?:TCP|UDP|SCTP)_PORT=\\d+",
      "FRONTLINE_(?:[A-Z0-9_]+_)?PORT_\\d+_(?:TCP|UDP|SCTP)_ADDR=" + IP));

  /**
   * Kubernetes gives every pod variables for each service of its namespace: a service named frontline (or
   * frontline-...) brings FRONTLINE_SERVICE_HOST, FRONTLINE_PORT=tcp://..., FRONTLINE_PORT_8080_TCP_ADDR and the
   * like, which are no settings of ours and must not stop the start. Recognised by name and value together, so a
   * mistyped setting (FRONTLINE_HTPP_PORT=8081) is still reported.
   */
  static boolean kubernetesServiceLink(String name, String value) {
    return value != null && SERVICE_LINK.matcher(name + "=" + value.trim()).matches();
  }

  private FrontlineConfig.Roles roles() {
    String value = required(Setting.ROLES);
    if (value == null) {
      return null;
    }
    List<String> roles = java.util.Arrays.stream(value.split(",")).map(String::trim).toList();
    if (roles.isEmpty() || !List.of("api", "workers").containsAll(roles)) {
      problems.add(Setting.ROLES.env() + ": must be api, workers or api,workers, got '" + value + "'");
      return null;
    }
    return new FrontlineConfig.Roles(roles.contains("api"), roles.contains("workers"));
  }

  /** The retention windows; an event must outlive its alerts (their rows refer to it), a device its deliveries. */
  private FrontlineConfig.Retention retention() {
    long events = integer(Setting.RETENTION_EVENT_DAYS, 1, 3650);
    long notifications = integer(Setting.RETENTION_NOTIFICATION_DAYS, 1, 3650);
    long deliveries = integer(Setting.RETENTION_DELIVERY_DAYS, 1, 3650);
    long webhookDeliveries = integer(Setting.RETENTION_WEBHOOK_DELIVERY_DAYS, 1, 3650);
    long devices = integer(Setting.RETENTION_DEVICE_DAYS, 1, 3650);
    if (events < Math.max(notifications, deliveries)) {
      problems.add(Setting.RETENTION_EVENT_DAYS.env() + ": must be at least "
          + Setting.RETENTION_NOTIFICATION_DAYS.env() + " (" + notifications + ") and " + Setting.RETENTION_DELIVERY_DAYS.env() + " (" + deliveries
          + "): an event is kept while its alerts are, got " + events);
    }
    if (devices < deliveries) {
      problems.add(Setting.RETENTION_DEVICE_DAYS.env() + ": must be at least " + Setting.RETENTION_DELIVERY_DAYS.env()
          + " (" + deliveries + "): a device's deliveries go with it, got " + devices);
    }
    return new FrontlineConfig.Retention(Duration.ofDays(events), Duration.ofDays(notifications),
        Duration.ofDays(deliveries), Duration.ofDays(webhookDeliveries), Duration.ofDays(devices));
  }

  private Database database() {
    int poolSize = (int) integer(Setting.DATABASE_POOL_SIZE, 1, 500);
    String url = get(Setting.DATABASE_URL.env());
    if (url != null) {
      return parseDatabaseUrl(url, poolSize);
    }
    List<String> missing = PG_VARIABLES.stream().filter(v -> !v.equals("PGPORT") && get(v) == null).toList();
    if (!missing.isEmpty()) {
      problems.add(Setting.DATABASE_URL.env() + ": missing (or set " + String.join(", ", missing) + ")");
      return null;
    }
    int port = 5432;
    if (get("PGPORT") != null) {
      port = parsePort("PGPORT", get("PGPORT"));
    }
    return new Database(get("PGHOST"), port, get("PGDATABASE"), get("PGUSER"), get("PGPASSWORD"), false, poolSize);
  }

  private Database parseDatabaseUrl(String raw, int poolSize) {
    String name = Setting.DATABASE_URL.env();
    try {
      URI uri = new URI(raw.startsWith("jdbc:") ? raw.substring(5) : raw);
      if (!"postgresql".equals(uri.getScheme()) && !"postgres".equals(uri.getScheme())) {
        problems.add(name + ": must start with postgresql://, got scheme '" + uri.getScheme() + "'");
        return null;
      }
      String userInfo = uri.getRawUserInfo();
      String user = null;
      String password = null;
      if (userInfo != null) {
        int colon = userInfo.indexOf(':');
        user = decode(colon < 0 ? userInfo : userInfo.substring(0, colon));
        password = colon < 0 ? null : decode(userInfo.substring(colon + 1));
      }
      Map<String, String> query = new HashMap<>();
      if (uri.getRawQuery() != null) {
        for (String pair : uri.getRawQuery().split("&")) {
          int eq = pair.indexOf('=');
          if (eq > 0) {
            query.put(decode(pair.substring(0, eq)), decode(pair.substring(eq + 1)));
          }
        }
      }
      user = user != null ? user : query.get("user");
      password = password != null ? password : query.get("password");
      String db = uri.getPath() == null || uri.getPath().length() <= 1 ? null : uri.getPath().substring(1);
      List<String> missing = new ArrayList<>();
      if (uri.getHost() == null) missing.add("host");
      if (db == null) missing.add("database name");
      if (user == null) missing.add("user");
      if (password == null) missing.add("password");
      if (!missing.isEmpty()) {
        problems.add(name + ": missing " + String.join(", ", missing) + " in '" + redact(raw) + "'");
        return null;
      }
      String sslMode = query.getOrDefault("sslmode", "disable");
      boolean ssl = switch (sslMode) {
        case "require", "verify-ca", "verify-full" -> true;
        case "disable", "allow", "prefer" -> false;
        default -> {
          problems.add(name + ": unknown sslmode '" + sslMode + "'");
          yield false;
        }
      };
      return new Database(uri.getHost(), uri.getPort() < 0 ? 5432 : uri.getPort(), db, user, password, ssl, poolSize);
    } catch (URISyntaxException e) {
      problems.add(name + ": not a URL ('" + redact(raw) + "'): " + e.getReason());
      return null;
    }
  }

  private Push push() {
    String kind = required(Setting.PUSH_GATEWAY);
    if (kind == null) {
      return null;
    }
    PushGatewayKind gateway;
    try {
      gateway = PushGatewayKind.valueOf(kind.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      problems.add(Setting.PUSH_GATEWAY.env() + ": must be 'firebase' or 'recording', got '" + kind + "'");
      return null;
    }
    Path credentials = null;
    if (gateway == PushGatewayKind.FIREBASE) {
      String file = required(Setting.FIREBASE_CREDENTIALS_FILE);
      if (file != null) {
        credentials = Path.of(file);
        if (!Files.isReadable(credentials) || Files.isDirectory(credentials)) {
          problems.add(Setting.FIREBASE_CREDENTIALS_FILE.env() + ": cannot read file '" + file + "'");
        }
      }
    }
    int digestAfter = (int) integer(Setting.ALERT_DIGEST_AFTER, 0, 100_000);
    Duration digestWindow = Duration.ofSeconds(integer(Setting.ALERT_DIGEST_WINDOW_SECONDS, 1, 7 * 86_400));
    Duration escalateAfter = Duration.ofSeconds(integer(Setting.ALERT_ESCALATE_AFTER_SECONDS, 1, 7 * 86_400));
    Duration recordWatch = Duration.ofSeconds(integer(Setting.RECORD_WATCH_SECONDS, 0, 86_400));
    return new Push(gateway, credentials, digestAfter, digestWindow, escalateAfter, recordWatch);
  }

  private String bucket() {
    String bucket = required(Setting.S3_BUCKET);
    // S3 bucket naming rules: 3-63 chars, lower-case letters, digits, dots and hyphens, starting and ending alphanumeric.
    if (bucket != null && !bucket.matches("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")) {
      problems.add(Setting.S3_BUCKET.env() + ": '" + bucket + "' is not a valid bucket name "
          + "(3-63 lower-case letters, digits, dots, hyphens)");
    }
    return bucket;
  }

  /** In production a key that cannot have come from a random generator is refused (dev and tests take any). */
  private SecretKey keyEncryptionKey(Mode mode) {
    return key(Setting.KEY_ENCRYPTION_KEY, mode == Mode.PRODUCTION);
  }

  private SecretKey key(Setting setting, boolean refuseWeak) {
    String value = required(setting);
    if (value == null) {
      return null;
    }
    try {
      byte[] raw = Base64.getDecoder().decode(value);
      if (raw.length == 32) {
        String weakness = refuseWeak ? weakness(raw) : null;
        if (weakness == null) {
          return new SecretKeySpec(raw, "AES");
        }
        problems.add(setting.env() + ": a weak key (" + weakness + "); production needs 32 "
            + "random bytes (openssl rand -base64 32)");
        return null;
      }
    } catch (IllegalArgumentException ignored) {
      // reported below
    }
    problems.add(setting.env() + ": must be the base64 of exactly 32 bytes (openssl rand -base64 32)");
    return null;
  }

  /**
   * Why 32 bytes are no random key (null when nothing says so): 32 random bytes hold about 30 distinct values, are
   * printable text with odds of 1e-14 and repeat themselves or step evenly with odds below 1e-38. Catches the
   * zeros of an example, a passphrase or a word pasted in place of the base64 of random bytes, a pattern.
   */
  static String weakness(byte[] key) {
    for (int period = 1; period <= key.length / 2; period++) {
      int p = period;
      if (java.util.stream.IntStream.range(p, key.length).allMatch(i -> key[i] == key[i - p])) {
        return p == 1 ? "one byte value repeated" : "a pattern of " + p + " bytes repeated";
      }
    }
    if (java.util.stream.IntStream.range(1, key.length).allMatch(i -> key[i] - key[i - 1] == key[1] - key[0])) {
      return "bytes in an even sequence";
    }
    long distinct = java.util.stream.IntStream.range(0, key.length).map(i -> key[i]).distinct().count();
    if (distinct < 16) {
      return "only " + distinct + " distinct byte values";
    }
    if (java.util.stream.IntStream.range(0, key.length).allMatch(i -> key[i] >= 0x20 && key[i] < 0x7f)) {
      return "printable text, not random bytes";
    }
    return null;
  }

  private String url(Setting s) {
    String value = required(s);
    if (value == null) {
      return null;
    }
    try {
      URI uri = new URI(value);
      if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
        problems.add(s.env() + ": must be an http(s) URL, got '" + value + "'");
      }
    } catch (URISyntaxException e) {
      problems.add(s.env() + ": must be an http(s) URL, got '" + value + "'");
    }
    return value;
  }

  /** An object store's URL: the MinIO client refuses a path ("no path allowed in endpoint") when it is built. */
  private String storeUrl(Setting s) {
    int before = problems.size();
    String value = url(s);
    if (value != null && problems.size() == before) {
      URI uri = URI.create(value);
      if (uri.getRawPath() != null && !uri.getRawPath().isEmpty() && !uri.getRawPath().equals("/")
          || uri.getRawQuery() != null || uri.getRawFragment() != null) {
        problems.add(s.env() + ": must be an http(s) URL of a host and port only (the bucket is "
            + Setting.S3_BUCKET.env() + "), got '" + value + "'");
      }
    }
    return value;
  }

  private int port(Setting s) {
    String value = required(s);
    return value == null ? -1 : parsePort(s.env(), value);
  }

  private int parsePort(String name, String value) {
    try {
      int port = Integer.parseInt(value);
      if (port >= 0 && port <= 65535) {
        return port;
      }
    } catch (NumberFormatException ignored) {
      // reported below
    }
    problems.add(name + ": must be a port number 0-65535, got '" + value + "'");
    return -1;
  }

  private long integer(Setting s, long min, long max) {
    String value = required(s);
    if (value == null) {
      return min;
    }
    try {
      long n = Long.parseLong(value);
      if (n >= min && n <= max) {
        return n;
      }
    } catch (NumberFormatException ignored) {
      // reported below
    }
    problems.add(s.env() + ": must be an integer from " + min + " to " + max + ", got '" + value + "'");
    return min;
  }

  private String required(Setting s) {
    String value = get(s.env());
    if (value == null) {
      problems.add(s.env() + ": missing (" + s.description() + ")");
    }
    return value;
  }

  private String get(String name) {
    return blankToNull(values.get(name));
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s.trim();
  }

  /** Percent-decoding only, as libpq does: a '+' is a plus (base64 passwords hold them), not a space. */
  private static String decode(String s) {
    return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
  }

  /**
   * The URL without its password: in the user info (up to the last '@', as an unencoded '@' may be part of it) and
   * in a {@code password=} query parameter.
   */
  private static String redact(String url) {
    return url.replaceAll("://([^:/@]+):.*@", "://$1:***@")
        .replaceAll("([?&]password=)[^&#]*", "$1***");
  }
}
