package org.frontline.platform.objectstore;

import io.minio.BucketExistsArgs;
import io.minio.GetObjectArgs;
import io.minio.GetPresignedObjectUrlArgs;
import io.minio.ListObjectsArgs;
import io.minio.MakeBucketArgs;
import io.minio.MinioAsyncClient;
import io.minio.MinioClient;
import com.google.common.collect.HashMultimap;
import com.google.common.collect.Multimap;
import io.minio.PutObjectArgs;
import io.minio.RemoveObjectArgs;
import io.minio.Result;
import io.minio.StatObjectArgs;
import io.minio.errors.ErrorResponseException;
import io.minio.messages.Item;
import org.frontline.platform.http.DependencyUnavailableException;
import io.minio.http.Method;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.streams.ReadStream;
import okhttp3.ConnectionPool;
import okhttp3.Dispatcher;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/**
 * {@link ObjectStore} over the MinIO Java SDK. Every SDK call blocks, so each runs on the caller-provided worker
 * pool (unordered, see {@link #blocking}); the returned futures complete on the caller's context.
 */
public final class MinioObjectStore implements ObjectStore, AutoCloseable {
  /** The name readiness and 503 problems give this dependency. */
  public static final String DEPENDENCY = "object-store";

  /** S3's smallest multipart part; the SDK holds about one part in memory per put. */
  static final long PART_SIZE = 5L * 1024 * 1024;
  /** Queued upload bytes before the request body is paused. */
  static final int UPLOAD_HIGH_WATER_BYTES = 1024 * 1024;
  /** S3 refuses presigned URLs valid for longer than 7 days. */
  static final int MAX_EXPIRY_MINUTES = 7 * 24 * 60;
  /** A filename the store may be told to serve an object under: one the server made, nothing to quote or escape. */
  private static final java.util.regex.Pattern SERVED_FILENAME =
      java.util.regex.Pattern.compile("[A-Za-z0-9._-]{1,100}");
  static final int MAX_KEY_BYTES = 1024;
  /** S3's largest single PUT. */
  static final long MAX_PUT_BYTES = 5L * 1024 * 1024 * 1024;
  /** How long the URL of a server-side write is valid: it is used at once, and never leaves this process. */
  private static final int WRITE_URL_SECONDS = 300;
  private static final Duration DEFAULT_UPLOAD_IDLE_TIMEOUT = Duration.ofSeconds(60);
  /** How long a server-side write may wait for a connection to the store, the pool's queue included. */
  private static final Duration WRITE_CONNECT_TIMEOUT = Duration.ofSeconds(10);
  /**
   * Our own bound on obtaining the request of a server-side write, over the pool's: Vert.x 5.0.7 arms its connect
   * timeout only for a request that queues or opens a connection, and a write was seen waiting forever there.
   */
  static final Duration WRITE_REQUEST_TIMEOUT = WRITE_CONNECT_TIMEOUT.plusSeconds(2);
  /**
   * How long both clients keep an idle connection to the store: below the store's own idle timeout (s3proxy's Jetty
   * and MinIO close after 30 s), so that a pooled connection is never reused just as the store closes it, and none
   * is left half-closed (CLOSE-WAIT) in OkHttp's pool, which does not watch idle sockets. Vert.x evicts expired
   * connections once a second, OkHttp when each expires.
   */
  static final Duration KEEP_ALIVE = Duration.ofSeconds(20);
  /** How long a connection of the writes' client may receive nothing while in use (the answer's body included). */
  private static final Duration WRITE_CONNECTION_IDLE_TIMEOUT = Duration.ofSeconds(60);
  /**
   * The longest a server-side write with the default idle timeout takes to end, well or not: two sendings, each its
   * request ({@link #WRITE_REQUEST_TIMEOUT}) and the idle timeout up to the answer's head, then the answer's body
   * within the connection's idle timeout (204 s). Tests wait longer than this before they call a write hung.
   */
  public static final Duration LONGEST_WRITE = WRITE_REQUEST_TIMEOUT.plus(DEFAULT_UPLOAD_IDLE_TIMEOUT)
      .multipliedBy(2).plus(WRITE_CONNECTION_IDLE_TIMEOUT);

  private final Vertx vertx;
  private final WorkerExecutor worker;
  private final String bucket;
  private final OkHttpClient http;
  private final MinioClient client;
  /** Signs the URLs handed to clients, for the store's public endpoint ({@code client} when it is the same). */
  private final MinioClient clientSigner;
  /** The same store through the async client: only it exposes the multipart primitives publicly. */
  private final MinioAsyncClient async;
  private final String region;
  private final Duration uploadIdleTimeout;
  /** Sends the bytes of {@link #putBytes} and {@link #uploadPart} to presigned URLs, from the caller's context. */
  private final HttpClient writes;

  public MinioObjectStore(Vertx vertx, WorkerExecutor worker, ObjectStoreSettings settings) {
    this(vertx, worker, settings, DEFAULT_UPLOAD_IDLE_TIMEOUT);
  }

  /**
   * {@code uploadIdleTimeout}: how long a put waits for the next chunk of its body, and a server-side write (putBytes,
   * uploadPart) for the store's answer, before failing.
   */
  MinioObjectStore(Vertx vertx, WorkerExecutor worker, ObjectStoreSettings settings, Duration uploadIdleTimeout) {
    this(vertx, worker, settings, uploadIdleTimeout, UnaryOperator.identity());
  }

  /** {@code writesAs}: what the server-side writes' HTTP client is seen through (tests hold its requests back). */
  MinioObjectStore(Vertx vertx, WorkerExecutor worker, ObjectStoreSettings settings, Duration uploadIdleTimeout,
                   UnaryOperator<HttpClient> writesAs) {
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.worker = Objects.requireNonNull(worker, "worker");
    this.bucket = settings.bucket();
    this.uploadIdleTimeout = uploadIdleTimeout;
    // The SDK runs its HTTP calls asynchronously on OkHttp's dispatcher, which allows only 5 concurrent
    // requests per host by default; let the worker pool, not the dispatcher, be the limit.
    Dispatcher dispatcher = new Dispatcher();
    dispatcher.setMaxRequests(64);
    dispatcher.setMaxRequestsPerHost(64);
    // The SDK's default client waits 5 minutes; a store that is down must fail fast.
    this.http = new OkHttpClient.Builder()
        .connectTimeout(Duration.ofSeconds(5))
        .readTimeout(Duration.ofSeconds(60))
        .writeTimeout(Duration.ofSeconds(60))
        .protocols(List.of(Protocol.HTTP_1_1))
        .dispatcher(dispatcher)
        .connectionPool(new ConnectionPool(5, KEEP_ALIVE.toSeconds(), TimeUnit.SECONDS)) // OkHttp's default size
        .build();
    this.client = MinioClient.builder()
        .endpoint(settings.endpoint())
        .credentials(settings.accessKey(), settings.secretKey())
        .region(settings.region()) // a fixed region spares a GetBucketLocation round trip before calls
        .httpClient(http)
        .build();
    // The URLs handed to clients are signed for the host clients reach (SigV4 signs the Host header); the service's
    // own presigned writes go to the store directly.
    this.clientSigner = settings.publicEndpoint().equals(settings.endpoint()) ? client : MinioClient.builder()
        .endpoint(settings.publicEndpoint())
        .credentials(settings.accessKey(), settings.secretKey())
        .region(settings.region())
        .httpClient(http)
        .build();
    this.region = settings.region();
    this.async = MinioAsyncClient.builder()
        .endpoint(settings.endpoint())
        .credentials(settings.accessKey(), settings.secretKey())
        .region(settings.region())
        .httpClient(http)
        .build();
    this.writes = writesAs.apply(vertx.createHttpClient(new HttpClientOptions()
            .setConnectTimeout(5_000)
            .setIdleTimeout((int) WRITE_CONNECTION_IDLE_TIMEOUT.toSeconds()) // like OkHttp's read and write timeouts
            .setKeepAlive(true)
            .setKeepAliveTimeout((int) KEEP_ALIVE.toSeconds()),
        new PoolOptions().setHttp1MaxSize(64)));
  }

  @Override
  public Future<Void> ensureBucket() {
    return blocking(() -> {
      if (!client.bucketExists(BucketExistsArgs.builder().bucket(bucket).build())) {
        try {
          client.makeBucket(MakeBucketArgs.builder().bucket(bucket).build());
        } catch (ErrorResponseException e) {
          if (!"BucketAlreadyOwnedByYou".equals(e.errorResponse().code())) { // another instance won the race
            throw e;
          }
        }
      }
      return null;
    });
  }

  @Override
  public Future<Void> ping() {
    // Asynchronous, not on the worker pool: readiness asks whether the store answers, and a pool busy with uploads
    // (its queue seconds long) must not make an instance that serves them look down.
    return async(() -> async.bucketExists(BucketExistsArgs.builder().bucket(bucket).build())).map(exists -> {
      if (!exists) {
        throw new IllegalStateException("bucket " + bucket + " does not exist");
      }
      return null;
    });
  }

  /**
   * Streams {@code body} into the store as a multipart upload of unknown length. Note: the SDK reads the stream on
   * its own async threads (CompletableFuture's default pool) while the worker thread waits for the result; the
   * bridge never lets either wait longer than the upload idle timeout. When the put fails, {@code body} is left
   * as it is (possibly paused); the caller should end it (e.g. close the connection).
   */
  @Override
  public Future<PutResult> put(String key, ReadStream<Buffer> body, String contentType) {
    String invalid = keyProblem(key);
    if (invalid != null) {
      return Future.failedFuture(new IllegalArgumentException(invalid));
    }
    ReadStreamInputStream input = new ReadStreamInputStream(body, UPLOAD_HIGH_WATER_BYTES, uploadIdleTimeout);
    return this.<PutResult>blocking(() -> {
      try (input) {
        MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
        var written = client.putObject(PutObjectArgs.builder()
            .bucket(bucket)
            .object(key)
            .stream(new DigestInputStream(input, sha256), -1, PART_SIZE)
            .contentType(contentType == null ? "application/octet-stream" : contentType)
            .build());
        return new PutResult(key, input.bytesRead(), HexFormat.of().formatHex(sha256.digest()),
            unquoted(written.etag()));
      }
    }).onFailure(failure -> input.close()); // also when the task never ran (e.g. the pool was closed)
  }

  @Override
  public Future<Optional<ObjectInfo>> stat(String key) {
    String invalid = keyProblem(key);
    if (invalid != null) {
      return Future.failedFuture(new IllegalArgumentException(invalid));
    }
    return blocking(() -> {
      try {
        var stat = client.statObject(StatObjectArgs.builder().bucket(bucket).object(key).build());
        return Optional.of(new ObjectInfo(key, stat.size(), unquoted(stat.etag()), stat.contentType(),
            stat.lastModified().toInstant()));
      } catch (ErrorResponseException e) {
        if (isNoSuchKey(e)) {
          return Optional.empty();
        }
        throw e;
      }
    });
  }

  @Override
  public Future<ReadStream<Buffer>> get(String key, long offset, long length) {
    String invalid = keyProblem(key);
    if (invalid == null && (offset < 0 || length == 0 || length < -1)) {
      invalid = "invalid range: offset " + offset + ", length " + length;
    }
    if (invalid != null) {
      return Future.failedFuture(new IllegalArgumentException(invalid));
    }
    return this.<InputStream>blocking(() -> {
      var args = GetObjectArgs.builder().bucket(bucket).object(key);
      if (offset > 0 || length > 0) {
        args.offset(offset);
      }
      if (length > 0) {
        args.length(length);
      }
      try {
        return client.getObject(args.build());
      } catch (ErrorResponseException e) {
        if (isNoSuchKey(e)) {
          throw new ObjectNotFoundException(key);
        }
        throw e;
      }
    }).map(body -> new InputStreamReadStream(vertx.getOrCreateContext(), worker, body));
  }

  @Override
  public Future<Void> copy(String from, String to, String ifMatchEtag) {
    String invalid = keyProblem(from) != null ? keyProblem(from) : keyProblem(to);
    if (invalid != null) {
      return Future.failedFuture(new IllegalArgumentException(invalid));
    }
    return blocking(() -> {
      var source = io.minio.CopySource.builder().bucket(bucket).object(from);
      if (ifMatchEtag != null) {
        source.matchETag(ifMatchEtag);
      }
      try {
        client.copyObject(io.minio.CopyObjectArgs.builder().bucket(bucket).object(to).source(source.build()).build());
      } catch (ErrorResponseException e) {
        String code = e.errorResponse().code();
        if ("PreconditionFailed".equals(code) || isNoSuchKey(e)) {
          throw new IllegalStateException("source " + from + " changed or vanished (" + code + ")", e);
        }
        throw e;
      }
      return null;
    });
  }

  @Override
  public Future<List<ObjectInfo>> list(String prefix, String startAfter, int max) {
    if (max < 1) {
      return Future.failedFuture(new IllegalArgumentException("max must be positive, was " + max));
    }
    return blocking(() -> {
      var args = ListObjectsArgs.builder().bucket(bucket).prefix(prefix).recursive(true)
          .maxKeys(Math.min(max, 1000));
      if (startAfter != null) {
        args.startAfter(startAfter);
      }
      List<ObjectInfo> out = new ArrayList<>();
      // The SDK fetches the next page when the iteration goes past one: stop at max.
      for (Result<Item> listed : client.listObjects(args.build())) {
        Item item = listed.get();
        out.add(new ObjectInfo(item.objectName(), item.size(), unquoted(item.etag()), null,
            item.lastModified().toInstant()));
        if (out.size() == max) {
          break;
        }
      }
      return out;
    });
  }

  @Override
  public Future<Void> delete(String key) {
    String invalid = keyProblem(key);
    if (invalid != null) {
      return Future.failedFuture(new IllegalArgumentException(invalid));
    }
    // S3 answers 204 for a missing key too, so there is nothing to map.
    return blocking(() -> {
      client.removeObject(RemoveObjectArgs.builder().bucket(bucket).object(key).build());
      return null;
    });
  }

  @Override
  public Future<String> presignedGet(String key, int expiryMinutes) {
    return presign(Method.GET, key, expiryMinutes, Map.of());
  }

  @Override
  public Future<String> presignedGet(String key, int expiryMinutes, String contentType, String filename) {
    if (!SERVED_FILENAME.matcher(filename).matches()) {
      return Future.failedFuture(new IllegalArgumentException("a served filename is made by the server of "
          + SERVED_FILENAME + ", was " + filename));
    }
    return presign(Method.GET, key, expiryMinutes, Map.of("response-content-type", contentType,
        "response-content-disposition", "inline; filename=\"" + filename + "\"",
        "response-cache-control", "private, no-store"));
  }

  @Override
  public Future<PresignedRequest> presignedPut(String key, int expiryMinutes, long contentLength) {
    if (contentLength < 0 || contentLength > MAX_PUT_BYTES) {
      return Future.failedFuture(new IllegalArgumentException("content length must be 0.." + MAX_PUT_BYTES
          + ", was " + contentLength));
    }
    // Signed headers: the store computes the signature over the values the request carries, so a PUT of any other
    // length (or a chunked one, without Content-Length) is refused (403 SignatureDoesNotMatch).
    Map<String, String> headers = Map.of("Content-Length", Long.toString(contentLength));
    return presign(Method.PUT, key, expiryMinutes, Map.of(), headers)
        .map(url -> new PresignedRequest(url, headers));
  }

  private Future<String> presign(Method method, String key, int expiryMinutes, Map<String, String> query) {
    return presign(method, key, expiryMinutes, query, Map.of());
  }

  private Future<String> presign(Method method, String key, int expiryMinutes, Map<String, String> query,
                                 Map<String, String> signedHeaders) {
    String invalid = keyProblem(key);
    if (invalid == null && (expiryMinutes < 1 || expiryMinutes > MAX_EXPIRY_MINUTES)) {
      invalid = "expiry must be 1.." + MAX_EXPIRY_MINUTES + " minutes, was " + expiryMinutes;
    }
    if (invalid != null) {
      return Future.failedFuture(new IllegalArgumentException(invalid));
    }
    // Pure signing with a fixed region, but the SDK would look the region up over HTTP otherwise: keep it off
    // the event loop like every other call. The SDK signs every header of the request it presigns (but a few of
    // its own): extraHeaders become X-Amz-SignedHeaders beside host.
    return blocking(() -> clientSigner.getPresignedObjectUrl(GetPresignedObjectUrlArgs.builder()
        .method(method)
        .bucket(bucket)
        .object(key)
        .expiry(expiryMinutes, TimeUnit.MINUTES)
        .extraQueryParams(query)
        .extraHeaders(signedHeaders)
        .build()));
  }

  @Override
  public Future<String> createMultipart(String key, String contentType) {
    String invalid = keyProblem(key);
    if (invalid != null) {
      return Future.failedFuture(new IllegalArgumentException(invalid));
    }
    Multimap<String, String> headers = HashMultimap.create();
    headers.put("Content-Type", contentType == null ? "application/octet-stream" : contentType);
    return async(() -> async.createMultipartUploadAsync(bucket, region, key, headers, null))
        .map(response -> response.result().uploadId());
  }

  @Override
  public Future<String> uploadPart(String key, String uploadId, int partNumber, Buffer data) {
    if (partNumber < 1 || partNumber > 10_000) {
      return Future.failedFuture(new IllegalArgumentException("part number must be 1..10000, was " + partNumber));
    }
    return presignedWrite(key, Map.of("uploadId", uploadId, "partNumber", Integer.toString(partNumber)), data,
        null);
  }

  @Override
  public Future<String> putBytes(String key, Buffer data, String contentType) {
    if (data.length() > PART_SIZE) {
      return Future.failedFuture(new IllegalArgumentException("putBytes takes at most one part (" + PART_SIZE
          + " bytes), was " + data.length()));
    }
    return presignedWrite(key, Map.of(), data, contentType == null ? "application/octet-stream" : contentType);
  }

  /**
   * PUTs bytes already in memory to a presigned URL (a whole object, or a part with {@code uploadId} and
   * {@code partNumber}); returns the ETag. Not through the SDK: over plain http it signs the payload itself, so it
   * copies the bytes and computes their SHA-256 and MD5 on the calling thread (an event loop), and the store then
   * reads the whole body into memory to hash it again before writing it. A presigned URL carries
   * {@code UNSIGNED-PAYLOAD}: the store streams the body to disk as it does a phone's direct PUT, and Vert.x writes
   * the buffer without copying it. The callers verify the bytes themselves (size and SHA-256 of this very buffer).
   */
  private Future<String> presignedWrite(String key, Map<String, String> query, Buffer data, String contentType) {
    String invalid = keyProblem(key);
    if (invalid != null) {
      return Future.failedFuture(new IllegalArgumentException(invalid));
    }
    return blocking(() -> client.getPresignedObjectUrl(GetPresignedObjectUrlArgs.builder()
            .method(Method.PUT)
            .bucket(bucket)
            .object(key)
            .extraQueryParams(query)
            .expiry(WRITE_URL_SECONDS, TimeUnit.SECONDS)
            .build()))
        .compose(url -> send(url, contentType, data, true))
        .compose(response -> response.body().map(body -> {
          if (response.statusCode() == 404 && query.containsKey("uploadId")
              && body.toString(StandardCharsets.UTF_8).contains("<Code>NoSuchUpload</Code>")) {
            throw new MultipartUploadGoneException(key, query.get("uploadId"));
          }
          if (response.statusCode() != 200) {
            IllegalStateException refused = new IllegalStateException("the store refused the PUT of " + key + ": "
                + response.statusCode() + " " + body.toString(StandardCharsets.UTF_8));
            throw passing(response.statusCode()) ? new DependencyUnavailableException(DEPENDENCY, refused) : refused;
          }
          return unquoted(response.getHeader(HttpHeaders.ETAG));
        }))
        .recover(failure -> Future.failedFuture(unreachable(failure) || stalled(failure)
            ? new DependencyUnavailableException(DEPENDENCY, failure) : failure)); // a stall sent twice included
  }

  /**
   * The PUT of {@code data} to a presigned URL, its answer's head. Bounded: no request (the pool's queue and the
   * connection included) within {@link #WRITE_REQUEST_TIMEOUT}, or nothing received for the upload idle timeout,
   * fails it; such a stall is sent once more on another connection (the same bytes to the same key or part:
   * idempotent), since a write left waiting forever was seen once in a while.
   */
  private Future<io.vertx.core.http.HttpClientResponse> send(String url, String contentType, Buffer data,
                                                            boolean retry) {
    RequestOptions request = new RequestOptions().setMethod(HttpMethod.PUT).setAbsoluteURI(url)
        .setConnectTimeout(WRITE_CONNECT_TIMEOUT.toMillis()).setIdleTimeout(uploadIdleTimeout.toMillis());
    if (contentType != null) {
      request.putHeader(HttpHeaders.CONTENT_TYPE, contentType);
    }
    return requestWithin(request, WRITE_REQUEST_TIMEOUT)
        .compose(sending -> sending.send(data))
        .recover(failure -> retry && stalled(failure) ? send(url, contentType, data, false)
            : Future.failedFuture(failure));
  }

  /**
   * {@code writes.request(options)}, failed with a TimeoutException when not obtained within {@code bound}; a request
   * the pool hands over later is reset, so that its connection goes back to the pool (or closes) instead of leaking.
   */
  private Future<HttpClientRequest> requestWithin(RequestOptions options, Duration bound) {
    Promise<HttpClientRequest> obtained = Promise.promise();
    long timer = vertx.setTimer(bound.toMillis(), id -> obtained.tryFail(new java.util.concurrent.TimeoutException(
        "no connection to the store within " + bound.toSeconds() + " s")));
    writes.request(options).onComplete(request -> {
      vertx.cancelTimer(timer);
      if (request.failed()) {
        obtained.tryFail(request.cause());
      } else if (!obtained.tryComplete(request.result())) {
        request.result().reset();
      }
    });
    return obtained.future();
  }

  /** A write that got no connection or no answer in time, or whose connection closed under it. */
  private static boolean stalled(Throwable failure) {
    return failure instanceof java.util.concurrent.TimeoutException
        || failure instanceof io.vertx.core.http.HttpClosedException;
  }

  @Override
  public Future<List<Part>> listParts(String key, String uploadId) {
    return async(() -> async.listPartsAsync(bucket, region, key, 10_000, null, uploadId, null, null))
        .map(response -> response.result().partList().stream()
            .map(p -> new Part(p.partNumber(), unquoted(p.etag()), p.partSize()))
            .toList());
  }

  @Override
  public Future<String> completeMultipart(String key, String uploadId, List<Part> parts) {
    io.minio.messages.Part[] sdkParts = parts.stream()
        .map(p -> new io.minio.messages.Part(p.number(), p.etag()))
        .toArray(io.minio.messages.Part[]::new);
    return async(() -> async.completeMultipartUploadAsync(bucket, region, key, uploadId, sdkParts, null, null))
        .map(response -> unquoted(response.etag()))
        .recover(e -> Future.failedFuture(isNoSuchUpload(e) ? new MultipartUploadGoneException(key, uploadId) : e));
  }

  @Override
  public Future<Void> abortMultipart(String key, String uploadId) {
    return async(() -> async.abortMultipartUploadAsync(bucket, region, key, uploadId, null, null))
        .<Void>mapEmpty()
        .recover(e -> isNoSuchUpload(e)
            ? Future.succeededFuture() : Future.failedFuture(e));
  }

  @Override
  public Future<List<MultipartUpload>> listMultipartUploads(String prefix) {
    return async(() -> async.listMultipartUploadsAsync(bucket, region, null, null, null, 1000, prefix, null,
        null, null))
        .map(response -> response.result().uploads().stream()
            .map(u -> new MultipartUpload(u.objectName(), u.uploadId()))
            .toList());
  }

  /** An async SDK call: the SDK's future completes on OkHttp's threads; ours on the caller's context. */
  private <T> Future<T> async(Callable<CompletableFuture<T>> call) {
    io.vertx.core.Context context = vertx.getOrCreateContext();
    CompletableFuture<T> started;
    try {
      started = call.call();
    } catch (Exception e) {
      return Future.failedFuture(e);
    }
    return Future.fromCompletionStage(started, context).recover(failure -> {
      Throwable cause = failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
          ? failure.getCause() : failure;
      return Future.failedFuture(unreachable(cause) ? new DependencyUnavailableException(DEPENDENCY, cause) : cause);
    });
  }

  /** Releases OkHttp's connection pool and dispatcher threads. The worker pool belongs to the caller. */
  @Override
  public void close() {
    writes.close();
    http.dispatcher().executorService().shutdown();
    http.connectionPool().evictAll();
  }

  /**
   * Unordered on purpose: ordered tasks from one context run one after the other, so a slow upload would hold up
   * every other store call made from the same event loop.
   */
  private <T> Future<T> blocking(Callable<T> task) {
    return worker.executeBlocking(task, false).recover(failure -> Future.failedFuture(
        unreachable(failure) ? new DependencyUnavailableException(DEPENDENCY, failure) : failure));
  }

  /**
   * The store cannot be reached at all, or answers with a server error (as opposed to refusing a request, or a
   * client's upload failing): the store unavailable.
   */
  private static boolean unreachable(Throwable failure) {
    for (Throwable c = failure; c != null; c = c.getCause()) {
      // A SocketException: refused, no route, and also a connection the store reset or closed under a request (its
      // process killed, a proxy dropping it), which unwrapped Problems took for the database's session ending.
      if (c instanceof java.net.SocketException
          || c instanceof java.net.UnknownHostException || c instanceof java.util.concurrent.TimeoutException) {
        return true;
      }
      if (c instanceof io.minio.errors.ServerException e && passing(e.statusCode())) {
        return true;
      }
      if (c instanceof ErrorResponseException e && e.response() != null && passing(e.response().code())) {
        return true; // a server error: MinIO starting (503 XMinioServerNotInitialized), a proxy's 502/504, ...
      }
    }
    return false;
  }

  /**
   * Whether the store's answer {@code status} is a server error that may pass (the store unavailable, 503 with
   * Retry-After): any 5xx but 501 Not Implemented and 505 HTTP Version Not Supported, which say the store will never
   * do what was asked (a store or gateway without the operation): phones told to retry would retry for ever, and the
   * operators would see a warning line, not the internal error with its trace that a misconfiguration is.
   */
  private static boolean passing(int status) {
    return status >= 500 && status != 501 && status != 505;
  }

  /** HEAD answers carry no body; the SDK names a 404 on an object NoSuchKey. */
  private static boolean isNoSuchKey(ErrorResponseException e) {
    return "NoSuchKey".equals(e.errorResponse().code());
  }

  /** S3's answer for a multipart upload it does not know (aborted, or completed already). */
  private static boolean isNoSuchUpload(Throwable e) {
    return e instanceof ErrorResponseException ere && "NoSuchUpload".equals(ere.errorResponse().code());
  }

  /** The SDK returns the multipart ETag of a put in quotes but the one of a stat without: compare equal. */
  private static String unquoted(String etag) {
    return etag != null && etag.length() >= 2 && etag.startsWith("\"") && etag.endsWith("\"")
        ? etag.substring(1, etag.length() - 1) : etag;
  }

  /** Why {@code key} is unusable, or null when it is fine. */
  static String keyProblem(String key) {
    if (key == null || key.isEmpty()) {
      return "key must not be empty";
    }
    if (key.startsWith("/")) {
      return "key must not start with '/': " + key;
    }
    if (key.getBytes(StandardCharsets.UTF_8).length > MAX_KEY_BYTES) {
      return "key longer than " + MAX_KEY_BYTES + " bytes";
    }
    for (String segment : key.split("/", -1)) {
      if (segment.equals("..")) {
        return "key must not contain '..' segments: " + key;
      }
    }
    return null;
  }
}
