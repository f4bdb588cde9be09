package org.frontline.platform.push;

import com.google.api.client.http.javanet.NetHttpTransport;
import com.google.auth.oauth2.AccessToken;
import com.google.auth.oauth2.GoogleCredentials;
import com.google.firebase.FirebaseOptions;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Date;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A local stand-in for the FCM HTTP v1 API ({@code POST /v1/projects/{project}/messages:send}), for the real
 * firebase-admin SDK to talk to (see {@link #firebaseOptions()}).
 *
 * <p>Every request is recorded with its token and full {@code message} JSON. Answers follow a per-token script set
 * with {@link #respond}: each request for the token takes the next outcome, and the last one repeats. Tokens
 * without a script get {@link Outcome#success()}. A message over FCM's payload limit is refused as FCM refuses it
 * ({@link Outcome#tooBig()}), whatever the script.
 *
 * <pre>{@code
 * FakeFcmServer fcm = new FakeFcmServer().start();
 * fcm.respond("t1", Outcome.unavailable("0"), Outcome.unavailable("0"), Outcome.success());
 * FirebasePushGateway gw = FirebasePushGateway.create(vertx, worker, fcm.firebaseOptions(), "test-app");
 * ...
 * fcm.requestsFor("t1")  // 3 requests
 * fcm.close();
 * }</pre>
 */
public final class FakeFcmServer implements AutoCloseable {

  public static final String PROJECT_ID = "frontline-test";
  /** The bearer token the SDK sends ("Authorization: Bearer test-token"). */
  public static final String ACCESS_TOKEN = "test-token";

  /** FCM's limit on a message's payload (notification and data), in bytes: a larger one is refused, whatever the token. */
  public static final int MAX_PAYLOAD_BYTES = 4096;

  private static final Date FAR_FUTURE = Date.from(Instant.parse("2100-01-01T00:00:00Z"));

  private static final Pattern SEND_PATH = Pattern.compile("/v1/projects/([^/]+)/messages:send");

  /** What the fake answers to one request. */
  public record Outcome(int status, String fcmErrorCode, String grpcStatus, String retryAfter, String message) {

    public Outcome(int status, String fcmErrorCode, String grpcStatus, String retryAfter) {
      this(status, fcmErrorCode, grpcStatus, retryAfter, null);
    }

    public static Outcome success() {
      return new Outcome(200, null, null, null);
    }

    /** 404 NOT_FOUND / UNREGISTERED: the app was uninstalled or the token expired. */
    public static Outcome unregistered() {
      return new Outcome(404, "UNREGISTERED", "NOT_FOUND", null);
    }

    /** 403 PERMISSION_DENIED / SENDER_ID_MISMATCH: the token belongs to another sender. */
    public static Outcome senderIdMismatch() {
      return new Outcome(403, "SENDER_ID_MISMATCH", "PERMISSION_DENIED", null);
    }

    /** 400 INVALID_ARGUMENT / INVALID_ARGUMENT: a malformed message or token. */
    public static Outcome invalidArgument() {
      return new Outcome(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", null);
    }

    /**
     * 400 INVALID_ARGUMENT / INVALID_ARGUMENT as FCM answers a token that is not a registration token at all (a
     * malformed or truncated one), with FCM's own message; a bad payload gets the same codes with another message.
     */
    public static Outcome invalidToken() {
      return new Outcome(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", null,
          "The registration token is not a valid FCM registration token");
    }

    /** 400 INVALID_ARGUMENT as FCM answers a message over its payload limit ({@link #MAX_PAYLOAD_BYTES}). */
    public static Outcome tooBig() {
      return new Outcome(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", null, "Android message is too big");
    }

    /** 401 UNAUTHENTICATED / THIRD_PARTY_AUTH_ERROR: the APNs certificate or web push key is wrong. */
    public static Outcome thirdPartyAuthError() {
      return new Outcome(401, "THIRD_PARTY_AUTH_ERROR", "UNAUTHENTICATED", null);
    }

    /** 429 RESOURCE_EXHAUSTED / QUOTA_EXCEEDED; the SDK does not retry it. {@code retryAfter} may be null. */
    public static Outcome quotaExceeded(String retryAfter) {
      return new Outcome(429, "QUOTA_EXCEEDED", "RESOURCE_EXHAUSTED", retryAfter);
    }

    /**
     * 503 UNAVAILABLE / UNAVAILABLE; the SDK retries it up to 4 times, waiting Retry-After (use "0" to keep tests
     * fast; without the header it backs off exponentially from 0.5 s). {@code retryAfter} may be null.
     */
    public static Outcome unavailable(String retryAfter) {
      return new Outcome(503, "UNAVAILABLE", "UNAVAILABLE", retryAfter);
    }

    /** 500 INTERNAL / INTERNAL; firebase-admin 9.11 does not retry it (only 503): the dispatcher reschedules it. */
    public static Outcome internal(String retryAfter) {
      return new Outcome(500, "INTERNAL", "INTERNAL", retryAfter);
    }

    /** 401 UNAUTHENTICATED without an FCM error code: our own credentials were refused. */
    public static Outcome unauthenticated() {
      return new Outcome(401, null, "UNAUTHENTICATED", null);
    }
  }

  /** One request as the fake saw it, and what it answered. {@code messageName} is null unless it answered 200. */
  public record Request(String project, String token, JsonObject message, String authorization, int status,
      String messageName) {

    public JsonObject notification() {
      return message.getJsonObject("notification");
    }

    public JsonObject data() {
      return message.getJsonObject("data");
    }

    public JsonObject android() {
      return message.getJsonObject("android");
    }

    public JsonObject apnsHeaders() {
      JsonObject apns = message.getJsonObject("apns");
      return apns == null ? null : apns.getJsonObject("headers");
    }
  }

  private final Map<String, Deque<Outcome>> scripts = new ConcurrentHashMap<>();
  private final List<Request> requests = new ArrayList<>(); // guarded by itself
  private final AtomicLong ids = new AtomicLong();
  private final AtomicInteger tokenRefreshes = new AtomicInteger();
  private HttpServer server;
  private ExecutorService executor;

  /** Binds 127.0.0.1 on a free port. */
  public FakeFcmServer start() {
    try {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 256);
    } catch (IOException e) {
      throw new IllegalStateException("cannot start the fake FCM server", e);
    }
    // The SDK sends up to 100 requests at once (one per message of a batch, on its own pool).
    executor = Executors.newFixedThreadPool(16, r -> {
      Thread t = new Thread(r, "fake-fcm");
      t.setDaemon(true);
      return t;
    });
    server.setExecutor(executor);
    server.createContext("/", this::handle);
    server.start();
    return this;
  }

  public int port() {
    return server.getAddress().getPort();
  }

  @Override
  public void close() {
    if (server != null) {
      server.stop(0);
      executor.shutdownNow();
      server = null;
    }
  }

  /** Forgets scripts and recorded requests. */
  public void reset() {
    scripts.clear();
    tokenRefreshes.set(0);
    synchronized (requests) {
      requests.clear();
    }
  }

  /** Answers requests for {@code token} with these outcomes, one per request; the last one repeats. */
  public FakeFcmServer respond(String token, Outcome... outcomes) {
    if (outcomes.length == 0) {
      throw new IllegalArgumentException("at least one outcome");
    }
    scripts.put(token, new ArrayDeque<>(List.of(outcomes)));
    return this;
  }

  /** Answers {@code failure} {@code times} times for {@code token}, then success. */
  public FakeFcmServer failThenSucceed(String token, int times, Outcome failure) {
    List<Outcome> script = new ArrayList<>();
    for (int i = 0; i < times; i++) {
      script.add(failure);
    }
    script.add(Outcome.success());
    return respond(token, script.toArray(Outcome[]::new));
  }

  /** Every request received so far, in arrival order. */
  public List<Request> requests() {
    synchronized (requests) {
      return List.copyOf(requests);
    }
  }

  public List<Request> requestsFor(String token) {
    return requests().stream().filter(r -> token.equals(r.token())).toList();
  }

  /** The single request received for {@code token}; fails if there were none or several. */
  public Request onlyRequestFor(String token) {
    List<Request> found = requestsFor(token);
    if (found.size() != 1) {
      throw new AssertionError("expected exactly 1 request for " + token + ", got " + found.size());
    }
    return found.get(0);
  }

  /**
   * Options that point the real firebase-admin SDK at this server: every URL the SDK builds (it hard-codes
   * fcm.googleapis.com) is rewritten to http://127.0.0.1:port with the same path and query, and the credentials
   * are a fixed access token (see {@link RefreshableTestCredentials}).
   */
  public FirebaseOptions firebaseOptions() {
    int port = port();
    NetHttpTransport transport = new NetHttpTransport.Builder()
        .setConnectionFactory(url -> new BufferedBodyConnection(
            (HttpURLConnection) new URL("http://127.0.0.1:" + port + url.getFile()).openConnection()))
        .build();
    return FirebaseOptions.builder()
        .setHttpTransport(transport)
        .setCredentials(new RefreshableTestCredentials())
        .setProjectId(PROJECT_ID)
        .setConnectTimeout(5_000)
        .setReadTimeout(10_000)
        .build();
  }

  /** How often the SDK asked for a new access token (it does after every 401). */
  public int tokenRefreshes() {
    return tokenRefreshes.get();
  }

  /**
   * A fixed access token that can also be "refreshed". The SDK refreshes credentials after any 401 and retries
   * once; {@code GoogleCredentials.create(accessToken)} cannot refresh and throws IllegalStateException there,
   * which makes the whole sendEach call fail instead of producing a per-message error.
   */
  private final class RefreshableTestCredentials extends GoogleCredentials {
    RefreshableTestCredentials() {
      super(new AccessToken(ACCESS_TOKEN, FAR_FUTURE));
    }

    @Override
    public AccessToken refreshAccessToken() {
      tokenRefreshes.incrementAndGet();
      return new AccessToken(ACCESS_TOKEN, FAR_FUTURE);
    }
  }

  /**
   * Delegates to the JDK connection but ignores the streaming-mode setters NetHttpTransport calls for every POST.
   * In streaming mode the JDK turns any 401 into {@code HttpRetryException: cannot retry due to server
   * authentication, in streaming mode} and drops the body, so the SDK would never see the FCM error code of a 401
   * (THIRD_PARTY_AUTH_ERROR). Production uses the SDK's default Apache HTTP/2 transport, which keeps 401 bodies.
   */
  private static final class BufferedBodyConnection extends HttpURLConnection {
    private final HttpURLConnection delegate;

    BufferedBodyConnection(HttpURLConnection delegate) {
      super(delegate.getURL());
      this.delegate = delegate;
    }

    @Override public void setFixedLengthStreamingMode(int contentLength) { }
    @Override public void setFixedLengthStreamingMode(long contentLength) { }
    @Override public void setChunkedStreamingMode(int chunkLength) { }

    @Override public void connect() throws IOException { delegate.connect(); }
    @Override public void disconnect() { delegate.disconnect(); }
    @Override public boolean usingProxy() { return delegate.usingProxy(); }
    @Override public void setRequestMethod(String method) throws java.net.ProtocolException {
      delegate.setRequestMethod(method);
    }
    @Override public String getRequestMethod() { return delegate.getRequestMethod(); }
    @Override public void setRequestProperty(String key, String value) { delegate.setRequestProperty(key, value); }
    @Override public void addRequestProperty(String key, String value) { delegate.addRequestProperty(key, value); }
    @Override public String getRequestProperty(String key) { return delegate.getRequestProperty(key); }
    @Override public Map<String, List<String>> getRequestProperties() { return delegate.getRequestProperties(); }
    @Override public void setDoOutput(boolean doOutput) { delegate.setDoOutput(doOutput); }
    @Override public boolean getDoOutput() { return delegate.getDoOutput(); }
    @Override public void setInstanceFollowRedirects(boolean follow) { delegate.setInstanceFollowRedirects(follow); }
    @Override public void setConnectTimeout(int timeout) { delegate.setConnectTimeout(timeout); }
    @Override public int getConnectTimeout() { return delegate.getConnectTimeout(); }
    @Override public void setReadTimeout(int timeout) { delegate.setReadTimeout(timeout); }
    @Override public int getReadTimeout() { return delegate.getReadTimeout(); }
    @Override public OutputStream getOutputStream() throws IOException { return delegate.getOutputStream(); }
    @Override public int getResponseCode() throws IOException { return delegate.getResponseCode(); }
    @Override public String getResponseMessage() throws IOException { return delegate.getResponseMessage(); }
    @Override public java.io.InputStream getInputStream() throws IOException { return delegate.getInputStream(); }
    @Override public java.io.InputStream getErrorStream() { return delegate.getErrorStream(); }
    @Override public String getHeaderField(int n) { return delegate.getHeaderField(n); }
    @Override public String getHeaderFieldKey(int n) { return delegate.getHeaderFieldKey(n); }
    @Override public String getHeaderField(String name) { return delegate.getHeaderField(name); }
    @Override public Map<String, List<String>> getHeaderFields() { return delegate.getHeaderFields(); }
    @Override public String getContentEncoding() { return delegate.getContentEncoding(); }
    @Override public String getContentType() { return delegate.getContentType(); }
    @Override public long getContentLengthLong() { return delegate.getContentLengthLong(); }
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      Matcher path = SEND_PATH.matcher(exchange.getRequestURI().getPath());
      if (!"POST".equals(exchange.getRequestMethod()) || !path.matches()) {
        reply(exchange, 404, error(404, "NOT_FOUND", null, "no such endpoint in the fake FCM"), null);
        return;
      }
      String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      JsonObject message;
      try {
        message = new JsonObject(body).getJsonObject("message");
      } catch (RuntimeException e) {
        message = null;
      }
      if (message == null) {
        reply(exchange, 400, error(400, "INVALID_ARGUMENT", null, "body is not {\"message\":{...}}"), null);
        return;
      }
      String token = message.getString("token");
      Outcome outcome = payloadBytes(message) > MAX_PAYLOAD_BYTES ? Outcome.tooBig() : next(token);
      String name = null;
      JsonObject answer;
      if (outcome.status() == 200) {
        name = "projects/" + path.group(1) + "/messages/" + ids.incrementAndGet();
        answer = new JsonObject().put("name", name);
      } else {
        answer = error(outcome.status(), outcome.grpcStatus(), outcome.fcmErrorCode(), outcome.message() != null
            ? outcome.message()
            : "fake FCM says " + (outcome.fcmErrorCode() != null ? outcome.fcmErrorCode() : outcome.grpcStatus()));
      }
      synchronized (requests) {
        requests.add(new Request(path.group(1), token, message,
            exchange.getRequestHeaders().getFirst("Authorization"), outcome.status(), name));
      }
      reply(exchange, outcome.status(), answer, outcome.retryAfter());
    }
  }

  /**
   * What FCM counts against its payload limit: the notification's title and body and the data's keys and values, in
   * UTF-8 bytes (a Chinese character is 3).
   */
  static int payloadBytes(JsonObject message) {
    int bytes = 0;
    JsonObject notification = message.getJsonObject("notification");
    if (notification != null) {
      bytes += utf8(notification.getString("title")) + utf8(notification.getString("body"));
    }
    JsonObject data = message.getJsonObject("data");
    if (data != null) {
      for (Map.Entry<String, Object> e : data) {
        bytes += utf8(e.getKey()) + utf8(String.valueOf(e.getValue()));
      }
    }
    return bytes;
  }

  private static int utf8(String s) {
    return s == null ? 0 : s.getBytes(StandardCharsets.UTF_8).length;
  }

  private Outcome next(String token) {
    Deque<Outcome> script = token == null ? null : scripts.get(token);
    if (script == null) {
      return Outcome.success();
    }
    synchronized (script) {
      return script.size() > 1 ? script.removeFirst() : script.getFirst();
    }
  }

  /** The FCM v1 error body: google.rpc.Status with an FcmError detail carrying the FCM error code. */
  private static JsonObject error(int code, String status, String fcmErrorCode, String text) {
    JsonObject error = new JsonObject().put("code", code).put("message", text).put("status", status);
    if (fcmErrorCode != null) {
      error.put("details", new JsonArray().add(new JsonObject()
          .put("@type", "type.googleapis.com/google.firebase.fcm.v1.FcmError")
          .put("errorCode", fcmErrorCode)));
    }
    return new JsonObject().put("error", error);
  }

  private static void reply(HttpExchange exchange, int status, JsonObject body, String retryAfter)
      throws IOException {
    byte[] bytes = body.encode().getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/json; charset=UTF-8");
    if (retryAfter != null) {
      exchange.getResponseHeaders().set("Retry-After", retryAfter);
    }
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }
}
