package org.frontline.platform.objectstore;

import io.minio.GetPresignedObjectUrlArgs;
import io.minio.MinioAsyncClient;
import io.minio.MinioClient;
import io.minio.http.Method;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import org.frontline.platform.dev.InProcessS3Server;
import org.frontline.platform.objectstore.ObjectStore.ObjectInfo;
import org.frontline.platform.objectstore.ObjectStore.PutResult;
import org.frontline.testing.StoreHttp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import org.frontline.platform.http.DependencyUnavailableException;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

/** Against a real s3proxy (filesystem store) through the real MinIO SDK. */
class MinioObjectStoreTest {

  private static final String ACCESS_KEY = "frontline-test";
  private static final String SECRET_KEY = "frontline-test-secret";
  private static final String BUCKET = "media";
  private static final String POOL = "frontline-objectstore";

  @TempDir
  static Path tempDir;

  private static InProcessS3Server server;
  private static Vertx vertx;
  private static WorkerExecutor worker;
  private static MinioObjectStore store;

  @BeforeAll
  static void startStore() throws Exception {
    server = InProcessS3Server.start(tempDir.resolve("s3"), ACCESS_KEY, SECRET_KEY);
    vertx = Vertx.vertx();
    worker = vertx.createSharedWorkerExecutor(POOL, 4);
    store = new MinioObjectStore(vertx, worker, settings());
    result(store.ensureBucket());
    result(store.ensureBucket()); // idempotent
  }

  @AfterAll
  static void stopStore() throws Exception {
    store.close();
    worker.close();
    result(vertx.close());
    server.close();
  }

  private static ObjectStoreSettings settings() {
    return new ObjectStoreSettings(server.endpoint(), ACCESS_KEY, SECRET_KEY, BUCKET, "us-east-1");
  }

  @Test
  void streamsTwentyMegabytesOfUnknownLengthAndReadsThemBackWholeAndRanged() throws Exception {
    byte[] data = randomBytes(20_000_007);
    ChunkedReadStream body = new ChunkedReadStream(vertx.getOrCreateContext(), data, 64 * 1024, -1);

    PutResult put = result(store.put("reports/r1/video.mp4", body, "video/mp4"));

    assertThat(put.key()).isEqualTo("reports/r1/video.mp4");
    assertThat(put.size()).isEqualTo(data.length);
    assertThat(put.sha256Hex()).isEqualTo(sha256(data));
    assertThat(put.etag()).isNotBlank();
    assertThat(body.pauses()).as("the body was paused: back-pressure, not buffering").isPositive();
    // What actually landed: s3proxy's filesystem store keeps bucket/key as a file.
    assertThat(Files.size(tempDir.resolve("s3").resolve(BUCKET).resolve("reports/r1/video.mp4")))
        .isEqualTo(data.length);

    ObjectInfo info = result(store.stat("reports/r1/video.mp4")).orElseThrow();
    assertThat(info.size()).isEqualTo(data.length);
    assertThat(info.contentType()).isEqualTo("video/mp4");
    assertThat(info.etag()).isEqualTo(put.etag());
    assertThat(info.lastModified()).isNotNull();

    Buffer whole = result(store.get("reports/r1/video.mp4", 0, -1).compose(s -> collect(s, false)));
    assertThat(sha256(whole.getBytes())).isEqualTo(put.sha256Hex());

    // Across the 5 MiB part boundary, consumed one chunk per fetch(1).
    Buffer range = result(store.get("reports/r1/video.mp4", 5_000_000, 1_000_000).compose(s -> collect(s, true)));
    assertThat(range.getBytes()).isEqualTo(Arrays.copyOfRange(data, 5_000_000, 6_000_000));

    Buffer tail = result(store.get("reports/r1/video.mp4", data.length - 1000L, -1).compose(s -> collect(s, false)));
    assertThat(tail.getBytes()).isEqualTo(Arrays.copyOfRange(data, data.length - 1000, data.length));
  }

  @Test
  void multipartPrimitivesAssembleListAndAbort() throws Exception {
    byte[] data = randomBytes(11 * 1024 * 1024 + 123);
    int part = 5 * 1024 * 1024;
    String key = "reports/r9/multi.jpg";
    String uploadId = result(store.createMultipart(key, "image/jpeg"));
    assertThat(result(store.listMultipartUploads("reports/r9/")))
        .containsExactly(new ObjectStore.MultipartUpload(key, uploadId));
    java.util.List<ObjectStore.Part> parts = new java.util.ArrayList<>();
    for (int n = 1, from = 0; from < data.length; n++, from += part) {
      byte[] chunk = Arrays.copyOfRange(data, from, Math.min(data.length, from + part));
      String etag = result(store.uploadPart(key, uploadId, n, Buffer.buffer(chunk)));
      parts.add(new ObjectStore.Part(n, etag, chunk.length));
    }
    assertThat(result(store.listParts(key, uploadId))).containsExactlyElementsOf(parts);
    assertThat(result(store.completeMultipart(key, uploadId, parts))).isNotBlank();
    assertThat(result(store.listMultipartUploads("reports/r9/"))).isEmpty();
    Buffer whole = result(store.get(key, 0, -1).compose(s -> collect(s, false)));
    assertThat(sha256(whole.getBytes())).isEqualTo(sha256(data));

    String aborted = result(store.createMultipart("reports/r9/aborted.jpg", "image/jpeg"));
    result(store.uploadPart("reports/r9/aborted.jpg", aborted, 1, Buffer.buffer(randomBytes(part))));
    result(store.abortMultipart("reports/r9/aborted.jpg", aborted));
    result(store.abortMultipart("reports/r9/aborted.jpg", aborted)); // again: still fine
    assertThat(result(store.listMultipartUploads("reports/r9/"))).isEmpty();
    assertThat(result(store.stat("reports/r9/aborted.jpg"))).isEmpty();
    // A completion of a multipart upload that is gone (NoSuchUpload) says so, by its own exception.
    // (s3proxy still takes parts of an aborted one, where S3 and MinIO answer NoSuchUpload: only its completion.)
    assertThat(failureOf(store.completeMultipart("reports/r9/aborted.jpg", aborted, parts)))
        .isInstanceOf(MultipartUploadGoneException.class);
  }

  @Test
  void failingBodyFailsThePutAndLeavesNoObject() throws Exception {
    byte[] data = randomBytes(12 * 1024 * 1024);
    // Fails after more than one part, so the SDK has a multipart upload to abort.
    ChunkedReadStream body = new ChunkedReadStream(vertx.getOrCreateContext(), data, 64 * 1024, 7 * 1024 * 1024);

    Throwable failure = failureOf(store.put("reports/r2/broken.mp4", body, "video/mp4"));

    assertThat(failure).isInstanceOf(IOException.class).hasRootCauseMessage("client went away");
    assertThat(result(store.stat("reports/r2/broken.mp4"))).isEmpty();
    // The SDK aborted the multipart upload it had started: no parts are left behind.
    MinioAsyncClient sdk = MinioAsyncClient.builder().endpoint(server.endpoint())
        .credentials(ACCESS_KEY, SECRET_KEY).region("us-east-1").build();
    var uploads = sdk.listMultipartUploadsAsync(BUCKET, "us-east-1", null, null, null, null, "reports/r2/", null,
        null, null).get(30, TimeUnit.SECONDS);
    assertThat(uploads.result().uploads()).isEmpty();
  }

  @Test
  void stalledBodyFailsThePutAfterTheIdleTimeout() throws Exception {
    try (var impatient = new MinioObjectStore(vertx, worker, settings(), Duration.ofSeconds(1))) {
      byte[] data = randomBytes(1024 * 1024);
      ChunkedReadStream body = new ChunkedReadStream(vertx.getOrCreateContext(), data, 64 * 1024, -1)
          .limit(256 * 1024); // the client stops sending and never ends

      long started = System.nanoTime();
      Throwable failure = failureOf(impatient.put("reports/r3/stalled.jpg", body, "image/jpeg"));

      assertThat(failure).isInstanceOf(IOException.class).hasMessageContaining("no upload data for 1 s");
      assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(20));
      assertThat(result(impatient.stat("reports/r3/stalled.jpg"))).isEmpty();
    }
  }

  /**
   * A server-side write to a store that takes the connection and never answers fails after the idle timeout, once
   * sent again on another connection: it waited forever before (seen as a putBytes hanging in full test runs).
   */
  @Test
  void aWriteTheStoreNeverAnswersIsSentOnceMoreThenFailsAsTheStoreUnavailable() throws Exception {
    java.util.List<java.net.Socket> accepted = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (java.net.ServerSocket silent = new java.net.ServerSocket(0, 50,
        java.net.InetAddress.getByName("127.0.0.1"))) {
      Thread acceptor = new Thread(() -> {
        try {
          while (true) {
            accepted.add(silent.accept()); // reads nothing, answers nothing
          }
        } catch (IOException closed) {
          // the test is over
        }
      }, "silent-store");
      acceptor.setDaemon(true);
      acceptor.start();
      ObjectStoreSettings hung = new ObjectStoreSettings("http://127.0.0.1:" + silent.getLocalPort(), ACCESS_KEY,
          SECRET_KEY, BUCKET, "us-east-1");
      try (var impatient = new MinioObjectStore(vertx, worker, hung, Duration.ofSeconds(1))) {
        long started = System.nanoTime();
        Throwable failure = failureOf(impatient.putBytes("reports/r11/photo.jpg",
            Buffer.buffer(randomBytes(64 * 1024)), "image/jpeg"));

        assertThat(failure).isInstanceOf(org.frontline.platform.http.DependencyUnavailableException.class);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(20));
        assertThat(accepted).as("the write and its second sending, each on a connection").hasSize(2);
      }
    } finally {
      for (java.net.Socket socket : accepted) {
        socket.close();
      }
    }
  }

  /**
   * A write whose connection the store closes under it, and again on its second sending, is the store unavailable
   * (503 to the caller), as NOTES says of a second stall: it failed with the bare HttpClosedException before (a 500).
   */
  @Test
  void aWriteTheStoreHangsUpOnTwiceFailsAsTheStoreUnavailable() throws Exception {
    AtomicInteger hungUp = new AtomicInteger();
    try (java.net.ServerSocket rude = new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
      Thread acceptor = new Thread(() -> {
        try {
          while (true) {
            try (java.net.Socket socket = rude.accept()) {
              var in = socket.getInputStream();
              for (int matched = 0; matched < 4; ) { // the request's head, then its 3 bytes, then closed unanswered
                int c = in.read();
                matched = c == "\r\n\r\n".charAt(matched) ? matched + 1 : c == '\r' ? 1 : 0;
              }
              in.readNBytes(3);
              hungUp.incrementAndGet();
            }
          }
        } catch (IOException closed) {
          // the test is over
        }
      }, "rude-store");
      acceptor.setDaemon(true);
      acceptor.start();
      ObjectStoreSettings rudeStore = new ObjectStoreSettings("http://127.0.0.1:" + rude.getLocalPort(), ACCESS_KEY,
          SECRET_KEY, BUCKET, "us-east-1");
      try (var client = new MinioObjectStore(vertx, worker, rudeStore)) {
        Throwable failure = failureOf(client.putBytes("reports/r14/photo.jpg", Buffer.buffer(new byte[] {1, 2, 3}),
            "image/jpeg"));

        assertThat(failure).isInstanceOf(DependencyUnavailableException.class)
            .hasCauseInstanceOf(io.vertx.core.http.HttpClosedException.class);
        assertThat(hungUp).as("the write and its second sending").hasValue(2);
      }
    }
  }

  /**
   * A write whose request the pool does not hand over (as a putBytes once waited forever in a full test run, no
   * socket of its own open) fails that wait after {@link MinioObjectStore#WRITE_REQUEST_TIMEOUT} and is sent on
   * another request; the first, handed over late, is reset rather than sent or kept.
   */
  @Test
  void aWriteWhoseRequestThePoolNeverHandsOverIsSentOnAnotherWithinTheRequestTimeout() throws Exception {
    Promise<Void> handOver = Promise.promise();
    List<io.vertx.core.http.HttpClientRequest> handedOver = new java.util.concurrent.CopyOnWriteArrayList<>();
    AtomicInteger asked = new AtomicInteger();
    try (var guarded = new MinioObjectStore(vertx, worker, settings(), Duration.ofSeconds(60),
        writes -> new HeldBackRequests(writes, () -> asked.getAndIncrement() == 0 ? handOver.future()
            : Future.succeededFuture(), handedOver))) {
      byte[] photo = randomBytes(3);
      long started = System.nanoTime();

      String etag = guarded.putBytes("reports/r12/photo.jpg", Buffer.buffer(photo), "image/jpeg")
          .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);

      assertThat(Duration.ofNanos(System.nanoTime() - started))
          .isBetween(MinioObjectStore.WRITE_REQUEST_TIMEOUT, MinioObjectStore.WRITE_REQUEST_TIMEOUT.plusSeconds(8));
      assertThat(asked).as("the write, then its second sending").hasValue(2);
      assertThat(etag).isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(photo)));
      assertThat(Files.readAllBytes(tempDir.resolve("s3").resolve(BUCKET).resolve("reports/r12/photo.jpg")))
          .isEqualTo(photo);

      handOver.complete();
      await().atMost(Duration.ofSeconds(10)).until(() -> handedOver.size() == 2);
      Throwable late = failureOf(handedOver.get(1).response());
      assertThat(late).as("the late request reset, never sent").isInstanceOf(io.vertx.core.http.StreamResetException.class);
    }
  }

  /**
   * The writes' client, each request held back until {@code holdFor} completes; the requests it hands over, in the
   * order the pool does.
   */
  private record HeldBackRequests(io.vertx.core.http.HttpClient client,
                                  java.util.function.Supplier<Future<Void>> holdFor,
                                  List<io.vertx.core.http.HttpClientRequest> handedOver)
      implements io.vertx.core.http.HttpClient {
    @Override
    public Future<io.vertx.core.http.HttpClientRequest> request(io.vertx.core.http.RequestOptions options) {
      return holdFor.get().compose(held -> client.request(options)).onSuccess(handedOver::add);
    }

    @Override
    public Future<Void> shutdown(long timeout, TimeUnit unit) {
      return client.shutdown(timeout, unit);
    }
  }

  /**
   * Both clients close an idle connection to the store before the store's own idle timeout (30 s for s3proxy and
   * MinIO): none is reused as the store closes it, nor left half-closed in OkHttp's pool (CLOSE-WAIT sockets piled
   * up in full test runs). A store of its own, so that every connection to it is this store's.
   */
  @Test
  void idleConnectionsAreClosedBeforeTheStoreClosesThem() throws Exception {
    try (var own = InProcessS3Server.start(null, ACCESS_KEY, SECRET_KEY);
         var client = new MinioObjectStore(vertx, worker, settingsFor(own))) {
      useBothClients(client);
      assertThat(connectionsTo(own.port())).as("the SDK's connection and the write's").isGreaterThanOrEqualTo(2);

      await().atMost(MinioObjectStore.KEEP_ALIVE.plusSeconds(5)).pollInterval(Duration.ofMillis(200))
          .until(() -> connectionsTo(own.port()) == 0);
    }
  }

  /** Closing a store releases its connections at once (test JVMs and restarted services must not pile them up). */
  @Test
  void closingTheStoreClosesItsConnections() throws Exception {
    try (var own = InProcessS3Server.start(null, ACCESS_KEY, SECRET_KEY)) {
      var client = new MinioObjectStore(vertx, worker, settingsFor(own));
      useBothClients(client);
      assertThat(connectionsTo(own.port())).isGreaterThanOrEqualTo(2);

      client.close();

      await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(100))
          .until(() -> connectionsTo(own.port()) == 0);
    }
  }

  private static ObjectStoreSettings settingsFor(InProcessS3Server own) {
    return new ObjectStoreSettings(own.endpoint(), ACCESS_KEY, SECRET_KEY, BUCKET, "us-east-1");
  }

  /** A call through the SDK (OkHttp) and a server-side write (Vert.x), each leaving a connection in its pool. */
  private static void useBothClients(MinioObjectStore client) throws Exception {
    result(client.ensureBucket());
    result(client.putBytes("reports/r13/photo.jpg", Buffer.buffer(new byte[] {1, 2, 3}), "image/jpeg"));
    assertThat(result(client.stat("reports/r13/photo.jpg"))).map(ObjectInfo::size).contains(3L);
  }

  /**
   * TCP connections to {@code port} still open on the client's side (established, or closed by the store only:
   * CLOSE-WAIT), from /proc/net (Linux).
   */
  private static long connectionsTo(int port) throws IOException {
    String remotePort = String.format(":%04X", port);
    long open = 0;
    for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      for (String line : Files.readAllLines(Path.of(table)).stream().skip(1).toList()) {
        String[] fields = line.trim().split("\\s+"); // sl, local, remote, state (01 established, 08 close-wait)
        if (fields[2].endsWith(remotePort) && (fields[3].equals("01") || fields[3].equals("08"))) {
          open++;
        }
      }
    }
    return open;
  }

  @Test
  void blockingSdkWorkRunsOnTheNamedWorkerPoolNotOnAnEventLoop() throws Exception {
    byte[] data = randomBytes(512 * 1024);
    ChunkedReadStream body = new ChunkedReadStream(vertx.getOrCreateContext(), data, 64 * 1024, -1)
        .limit(128 * 1024); // hold the put open so its thread can be observed

    Future<PutResult> put = store.put("reports/r4/photo.jpg", body, "image/jpeg");

    Thread caller = await().atMost(Duration.ofSeconds(20)).until(
        () -> threadInside("io.minio.MinioClient.putObject"), thread -> thread != null);
    assertThat(caller.getName()).startsWith(POOL);
    assertThat(threadsInside("io.minio.")).noneMatch(thread -> thread.getName().contains("eventloop"));
    // The SDK reads the body on its own async thread (see MinioObjectStore#put), never on an event loop either.
    Thread reader = await().atMost(Duration.ofSeconds(20)).until(
        () -> threadInside("org.frontline.platform.objectstore.ReadStreamInputStream.take"), thread -> thread != null);
    assertThat(reader.getName()).doesNotContain("eventloop");

    body.limit(data.length);
    assertThat(result(put).size()).isEqualTo(data.length);
  }

  @Test
  void aStalledPutDoesNotHoldUpOtherCallsFromTheSameEventLoop() throws Exception {
    byte[] data = randomBytes(256 * 1024);
    Context eventLoop = vertx.getOrCreateContext();
    ChunkedReadStream body = new ChunkedReadStream(eventLoop, data, 64 * 1024, -1).limit(64 * 1024);
    CompletableFuture<Future<PutResult>> put = new CompletableFuture<>();
    CompletableFuture<Optional<ObjectInfo>> stat = new CompletableFuture<>();

    eventLoop.runOnContext(v -> {
      put.complete(store.put("reports/r8/slow.jpg", body, "image/jpeg"));
      store.stat("nothing/here").onSuccess(stat::complete).onFailure(stat::completeExceptionally);
    });

    // Ordered executeBlocking would queue the stat behind the stalled put of the same context.
    assertThat(stat.get(10, TimeUnit.SECONDS)).isEmpty();
    body.limit(data.length);
    assertThat(result(put.get(10, TimeUnit.SECONDS)).size()).isEqualTo(data.length);
  }

  @Test
  void putBytesStoresTheBufferWithItsTypeAndAnswersTheStoresEtag() throws Exception {
    byte[] photo = randomBytes(2 * 1024 * 1024 + 17);

    String etag = result(store.putBytes("reports/r10/photo.jpg", Buffer.buffer(photo), "image/jpeg"));

    // A single PUT's ETag is the MD5 of what the store received.
    assertThat(etag).isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(photo)));
    ObjectInfo info = result(store.stat("reports/r10/photo.jpg")).orElseThrow();
    assertThat(info.size()).isEqualTo(photo.length);
    assertThat(info.contentType()).isEqualTo("image/jpeg");
    assertThat(info.etag()).isEqualTo(etag);
    assertThat(Files.readAllBytes(tempDir.resolve("s3").resolve(BUCKET).resolve("reports/r10/photo.jpg")))
        .isEqualTo(photo);
    assertThat(failureOf(store.putBytes("a/../b", Buffer.buffer(photo), null)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(failureOf(store.putBytes("reports/r10/big.jpg", Buffer.buffer(new byte[5 * 1024 * 1024 + 1]), null)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void listPagesThroughAPrefixInKeyOrder() throws Exception {
    for (String name : new String[] {"c", "a", "e", "b", "d"}) {
      putBytes("staging/l1/" + name, name.getBytes(StandardCharsets.UTF_8));
    }
    putBytes("staging/l10/x", new byte[] {1});
    putBytes("staging/l2/y", new byte[] {1});

    List<ObjectInfo> first = result(store.list("staging/l1/", null, 2));
    List<ObjectInfo> second = result(store.list("staging/l1/", first.get(1).key(), 2));
    List<ObjectInfo> last = result(store.list("staging/l1/", second.get(1).key(), 2));

    assertThat(first).extracting(ObjectInfo::key).containsExactly("staging/l1/a", "staging/l1/b");
    assertThat(second).extracting(ObjectInfo::key).containsExactly("staging/l1/c", "staging/l1/d");
    assertThat(last).extracting(ObjectInfo::key).containsExactly("staging/l1/e");
    assertThat(first.get(0).size()).isEqualTo(1);
    assertThat(first.get(0).lastModified()).isBetween(java.time.Instant.now().minusSeconds(60),
        java.time.Instant.now().plusSeconds(5));
    assertThat(result(store.list("staging/l1", null, 100))).hasSize(6);
    assertThat(result(store.list("staging/none/", null, 100))).isEmpty();
  }

  @Test
  void missingKeysStatEmptyGetNotFoundAndDeleteSucceeds() throws Exception {
    assertThat(result(store.stat("nothing/here"))).isEmpty();
    assertThat(failureOf(store.get("nothing/here", 0, -1))).isInstanceOf(ObjectNotFoundException.class);
    result(store.delete("nothing/here"));

    putBytes("reports/r5/note.txt", "short note".getBytes(StandardCharsets.UTF_8));
    assertThat(result(store.stat("reports/r5/note.txt"))).map(ObjectInfo::size).contains(10L);
    result(store.delete("reports/r5/note.txt"));
    assertThat(result(store.stat("reports/r5/note.txt"))).isEmpty();
    assertThat(failureOf(store.get("reports/r5/note.txt", 0, -1))).isInstanceOf(ObjectNotFoundException.class);
  }

  @Test
  void invalidKeysAndArgumentsAreRejected() {
    String tooLong = "k".repeat(1025);
    for (String key : new String[] {"", "/leading/slash", "a/../b", "..", "a/..", tooLong}) {
      assertThat(failureOf(store.stat(key))).as(key).isInstanceOf(IllegalArgumentException.class);
      assertThat(failureOf(store.delete(key))).as(key).isInstanceOf(IllegalArgumentException.class);
    }
    assertThat(failureOf(store.stat(null))).isInstanceOf(IllegalArgumentException.class);
    assertThat(failureOf(store.get("a", -1, 10))).isInstanceOf(IllegalArgumentException.class);
    assertThat(failureOf(store.get("a", 0, 0))).isInstanceOf(IllegalArgumentException.class);
    assertThat(failureOf(store.presignedGet("a", 0))).isInstanceOf(IllegalArgumentException.class);
    assertThat(failureOf(store.presignedPut("a", 7 * 24 * 60 + 1, 1))).isInstanceOf(IllegalArgumentException.class);
    assertThat(failureOf(store.presignedPut("a", 15, -1))).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void presignedUrlsWorkForTheirKeyOnly() throws Exception {
    byte[] photo = randomBytes(300_000);

    ObjectStore.PresignedRequest put = result(store.presignedPut("reports/r6/photo.jpg", 15, photo.length));
    assertThat(put.headers()).isEqualTo(Map.of("Content-Length", "300000"));
    String putUrl = put.url();
    assertThat(StoreHttp.send("PUT", putUrl, photo).statusCode()).isEqualTo(200);
    assertThat(result(store.stat("reports/r6/photo.jpg"))).map(ObjectInfo::size).contains(300_000L);

    String getUrl = result(store.presignedGet("reports/r6/photo.jpg", 7 * 24 * 60));
    HttpResponse<byte[]> got = StoreHttp.send("GET", getUrl, null);
    assertThat(got.statusCode()).isEqualTo(200);
    assertThat(got.body()).isEqualTo(photo);

    // The signature covers the path: the same query on another key is refused.
    putBytes("reports/r6/other.jpg", new byte[] {1, 2, 3});
    String otherGet = getUrl.replace("/reports/r6/photo.jpg?", "/reports/r6/other.jpg?");
    assertThat(otherGet).isNotEqualTo(getUrl);
    assertThat(StoreHttp.send("GET", otherGet, null).statusCode()).isEqualTo(403);
    // A small body: with a large one the server may answer 403 and close before the client has sent it all; of the
    // signed length, so that only the key differs.
    String smallPut = result(store.presignedPut("reports/r6/small.jpg", 15, 3)).url();
    String otherPut = smallPut.replace("/reports/r6/small.jpg?", "/reports/r6/sneaky.jpg?");
    assertThat(otherPut).isNotEqualTo(smallPut);
    assertThat(StoreHttp.send("PUT", otherPut, new byte[] {7, 8, 9}).statusCode()).isEqualTo(403);
    assertThat(result(store.stat("reports/r6/sneaky.jpg"))).isEmpty();
  }

  /**
   * The presigned PUT is bound to its length: Content-Length is a signed header, so a body of any other length (its
   * Content-Length another value) or one sent chunked (no Content-Length) is refused by the store, which keeps
   * nothing of it.
   */
  @Test
  void aPresignedPutTakesExactlyItsSignedLength() throws Exception {
    // Small bodies: a refused PUT's large body may be cut by a reset before the client reads the answer.
    byte[] photo = randomBytes(2_000);
    String key = "reports/r11/photo.jpg";
    String putUrl = result(store.presignedPut(key, 15, photo.length)).url();
    assertThat(putUrl).contains("X-Amz-SignedHeaders=content-length%3Bhost");

    for (byte[] other : new byte[][] {Arrays.copyOf(photo, photo.length + 1), Arrays.copyOf(photo, photo.length - 1),
        new byte[0]}) {
      HttpResponse<byte[]> refused = StoreHttp.send("PUT", putUrl, other);
      assertThat(refused.statusCode()).as(other.length + " bytes").isEqualTo(403);
      assertThat(new String(refused.body(), StandardCharsets.UTF_8)).contains("SignatureDoesNotMatch");
      assertThat(result(store.stat(key))).as(other.length + " bytes").isEmpty();
    }
    HttpResponse<byte[]> chunked = StoreHttp.sendChunked("PUT", putUrl, photo);
    assertThat(chunked.statusCode()).isEqualTo(403);
    assertThat(result(store.stat(key))).isEmpty();

    assertThat(StoreHttp.send("PUT", putUrl, photo).statusCode()).isEqualTo(200);
    assertThat(result(store.stat(key))).map(ObjectInfo::size).contains((long) photo.length);
    // Once stored, a PUT of another length cannot replace it either.
    assertThat(StoreHttp.send("PUT", putUrl, new byte[] {1, 2, 3}).statusCode()).isEqualTo(403);
    assertThat(result(store.stat(key))).map(ObjectInfo::size).contains((long) photo.length);
  }

  /**
   * Behind a proxy (the store's public name, FRONTLINE_S3_PUBLIC_ENDPOINT): the URLs handed to clients name that
   * host and are signed for it, so they work when the proxy passes the Host header on; the service's own calls
   * still go to the store's endpoint.
   */
  @Test
  void presignedUrlsAreSignedForThePublicEndpoint() throws Exception {
    String publicEndpoint = "https://media.example.test:9443";
    MinioObjectStore behindProxy = new MinioObjectStore(vertx, worker, new ObjectStoreSettings(server.endpoint(),
        publicEndpoint, ACCESS_KEY, SECRET_KEY, BUCKET, "us-east-1"));
    try {
      byte[] photo = randomBytes(50_000);
      String putUrl = result(behindProxy.presignedPut("reports/r9/photo.jpg", 15, photo.length)).url();
      assertThat(putUrl).startsWith(publicEndpoint + "/" + BUCKET + "/reports/r9/photo.jpg?");
      assertThat(throughProxy("PUT", putUrl, photo)).isEqualTo(200);
      assertThat(result(behindProxy.stat("reports/r9/photo.jpg"))).map(ObjectInfo::size).contains(50_000L);

      String getUrl = result(behindProxy.presignedGet("reports/r9/photo.jpg", 5));
      assertThat(getUrl).startsWith(publicEndpoint + "/");
      assertThat(throughProxy("GET", getUrl, null)).isEqualTo(200);
      // The signature covers the host: the same URL presented to the store under its own name is refused.
      String direct = server.endpoint() + getUrl.substring(publicEndpoint.length());
      assertThat(StoreHttp.send("GET", direct, null).statusCode()).isEqualTo(403);
    } finally {
      behindProxy.close();
    }
  }

  /**
   * Sends the request for {@code url} to the store itself with {@code url}'s host in the Host header, as a proxy in
   * front of the store does; the status code.
   */
  private static int throughProxy(String method, String url, byte[] body) throws IOException {
    URI target = URI.create(url);
    URI store = URI.create(server.endpoint());
    try (java.net.Socket socket = new java.net.Socket(store.getHost(), store.getPort())) {
      socket.setSoTimeout(10_000);
      var out = socket.getOutputStream();
      out.write((method + " " + target.getRawPath() + "?" + target.getRawQuery() + " HTTP/1.1\r\nHost: "
          + target.getHost() + ":" + target.getPort() + "\r\nContent-Length: " + (body == null ? 0 : body.length)
          + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      if (body != null) {
        out.write(body);
      }
      out.flush();
      String statusLine = new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(),
          StandardCharsets.US_ASCII)).readLine();
      return Integer.parseInt(statusLine.split(" ")[1]);
    }
  }

  @Test
  void expiredPresignedUrlIsRefused() throws Exception {
    putBytes("reports/r7/photo.jpg", new byte[] {4, 5, 6});
    // The store only signs whole minutes; sign with the SDK directly for a 1-second URL. s3proxy refuses once
    // now >= X-Amz-Date + X-Amz-Expires (both in whole seconds).
    MinioClient sdk = MinioClient.builder().endpoint(server.endpoint()).credentials(ACCESS_KEY, SECRET_KEY)
        .region("us-east-1").build();
    String shortLived = sdk.getPresignedObjectUrl(GetPresignedObjectUrlArgs.builder().method(Method.GET)
        .bucket(BUCKET).object("reports/r7/photo.jpg").expiry(1, TimeUnit.SECONDS).build());
    String control = sdk.getPresignedObjectUrl(GetPresignedObjectUrlArgs.builder().method(Method.GET)
        .bucket(BUCKET).object("reports/r7/photo.jpg").expiry(60, TimeUnit.SECONDS).build());

    Thread.sleep(2_100);

    assertThat(StoreHttp.send("GET", control, null).statusCode()).as("same signing, not expired").isEqualTo(200);
    HttpResponse<byte[]> expired = StoreHttp.send("GET", shortLived, null);
    assertThat(expired.statusCode()).isEqualTo(403);
    assertThat(new String(expired.body(), StandardCharsets.UTF_8)).contains("AccessDenied");
  }

  @Test
  void pingFailsWhileTheStoreIsDownAndRecoversAfterRestart() throws Exception {
    result(store.ping());
    int port = server.port();
    server.stop();
    try {
      long started = System.nanoTime();
      // An unreachable store is a dependency failure (the API answers 503 naming it), not an internal error.
      Throwable failure = failureOf(store.ping());
      assertThat(failure).isInstanceOf(DependencyUnavailableException.class);
      assertThat(((DependencyUnavailableException) failure).dependency()).isEqualTo("object-store");
      assertThat(failure.getCause()).isInstanceOf(IOException.class);
      assertThat(failureOf(store.stat("reports/any.jpg"))).isInstanceOf(DependencyUnavailableException.class);
      assertThat(failureOf(store.putBytes("reports/any.jpg", Buffer.buffer(new byte[] {1}), null)))
          .isInstanceOf(DependencyUnavailableException.class);
      assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(15));
    } finally {
      server.restart();
    }
    assertThat(server.port()).isEqualTo(port);
    result(store.ping());
  }

  // --- helpers

  private static void putBytes(String key, byte[] bytes) throws Exception {
    result(store.put(key, new ChunkedReadStream(vertx.getOrCreateContext(), bytes, 64 * 1024, -1), null));
  }

  /** Reads a stream to the end; one chunk per fetch(1) when {@code oneAtATime}, failing on unrequested chunks. */
  private static Future<Buffer> collect(ReadStream<Buffer> stream, boolean oneAtATime) {
    Promise<Buffer> done = Promise.promise();
    Buffer all = Buffer.buffer();
    AtomicInteger granted = new AtomicInteger();
    stream.exceptionHandler(done::tryFail);
    stream.endHandler(v -> done.tryComplete(all));
    if (oneAtATime) {
      stream.pause();
      stream.handler(chunk -> {
        all.appendBuffer(chunk);
        if (granted.decrementAndGet() < 0) {
          done.tryFail(new AssertionError("chunk delivered without demand"));
        }
        vertx.setTimer(1, t -> {
          granted.incrementAndGet();
          stream.fetch(1);
        });
      });
      granted.incrementAndGet();
      stream.fetch(1);
    } else {
      stream.handler(all::appendBuffer);
    }
    return done.future();
  }

  private static Thread threadInside(String frame) {
    return threadsInside(frame).stream().findFirst().orElse(null);
  }

  private static java.util.List<Thread> threadsInside(String framePrefix) {
    return Thread.getAllStackTraces().entrySet().stream()
        .filter(e -> Arrays.stream(e.getValue()).anyMatch(f -> (f.getClassName() + "." + f.getMethodName())
            .startsWith(framePrefix)))
        .map(Map.Entry::getKey)
        .toList();
  }

  private static byte[] randomBytes(int size) {
    byte[] bytes = new byte[size];
    new Random(size).nextBytes(bytes);
    return bytes;
  }

  private static String sha256(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  private static <T> T result(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
  }

  private static Throwable failureOf(Future<?> future) {
    try {
      result(future);
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (Exception e) {
      return fail("no result", e);
    }
    return fail("expected a failure");
  }
}
