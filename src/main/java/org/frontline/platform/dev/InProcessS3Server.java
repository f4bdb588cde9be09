package org.frontline.platform.dev;

import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.blobstore.BlobStore;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;
import org.gaul.s3proxy.nio2blob.TransientNio2BlobStore;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * An S3 server (s3proxy) inside this JVM, for dev mode and tests. It listens on 127.0.0.1 only, on a free port
 * that stays the same across {@link #stop()} / {@link #restart()}, so clients can watch the store go away and
 * come back. With a directory the objects are files there (they survive the JVM); without one they live in memory
 * (they survive a restart of the server, not of the JVM).
 */
public final class InProcessS3Server implements AutoCloseable {

  private static final long START_TIMEOUT_MILLIS = 10_000;
  /**
   * No graceful stop: s3proxy waits up to 30 s by default, and any positive timeout ends in a TimeoutException
   * while clients (OkHttp) hold idle keep-alive connections. A dev/test store may drop them at once.
   */
  private static final long STOP_TIMEOUT_MILLIS = 0;

  private final BlobStore blobStore;
  private final String accessKey;
  private final String secretKey;
  private final int port;
  private S3Proxy proxy;

  private InProcessS3Server(BlobStore blobStore, String accessKey, String secretKey, S3Proxy proxy) {
    this.blobStore = blobStore;
    this.accessKey = accessKey;
    this.secretKey = secretKey;
    this.proxy = proxy;
    this.port = proxy.getPort();
  }

  /**
   * Starts a server with SigV2/SigV4 authentication for the given keys.
   *
   * @param directoryOrNull folder for a filesystem store (created when missing), or null for an in-memory store
   */
  public static InProcessS3Server start(Path directoryOrNull, String accessKey, String secretKey) {
    BlobStore store = directoryOrNull == null ? new TransientNio2BlobStore() : filesystemStore(directoryOrNull);
    return new InProcessS3Server(store, accessKey, secretKey, launch(store, 0, accessKey, secretKey));
  }

  /** For example {@code http://127.0.0.1:40123}. */
  public String endpoint() {
    return "http://127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  /** Stops listening (clients get "connection refused"); the stored objects are kept. */
  public synchronized void stop() {
    if (proxy != null) {
      try {
        proxy.stop();
      } catch (Exception e) {
        throw new IllegalStateException("could not stop the S3 server on port " + port, e);
      } finally {
        proxy = null;
      }
    }
  }

  /**
   * Starts again on the same port with the same objects. Jetty binds with SO_REUSEADDR, so the port is free at
   * once; this only fails if another process took the port in the meantime.
   */
  public synchronized void restart() {
    stop();
    proxy = launch(blobStore, port, accessKey, secretKey);
  }

  @Override
  public void close() {
    stop();
  }

  private static BlobStore filesystemStore(Path directory) {
    try {
      // FilesystemNio2BlobStore refuses a missing root; each bucket becomes a sub-folder.
      Path root = Files.createDirectories(directory).toAbsolutePath();
      return new FilesystemNio2BlobStore(root.toString());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + directory, e);
    }
  }

  private static S3Proxy launch(BlobStore store, int port, String accessKey, String secretKey) {
    S3Proxy proxy = S3Proxy.builder()
        .blobStore(store)
        .endpoint(URI.create("http://127.0.0.1:" + port)) // port 0: any free port, read back with getPort()
        .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, accessKey, secretKey)
        .stopTimeout(STOP_TIMEOUT_MILLIS)
        .build();
    try {
      proxy.start();
      long deadline = System.currentTimeMillis() + START_TIMEOUT_MILLIS;
      while (!"STARTED".equals(proxy.getState())) {
        if (System.currentTimeMillis() > deadline) {
          throw new IllegalStateException("S3 server not started after " + START_TIMEOUT_MILLIS + " ms: "
              + proxy.getState());
        }
        Thread.sleep(10);
      }
      return proxy;
    } catch (Exception e) {
      try {
        proxy.stop();
      } catch (Exception ignored) {
        // already failing; the start failure is the one worth reporting
      }
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      throw e instanceof IllegalStateException ise ? ise
          : new IllegalStateException("could not start the S3 server on port " + port, e);
    }
  }
}
