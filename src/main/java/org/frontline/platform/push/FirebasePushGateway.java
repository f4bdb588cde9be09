package org.frontline.platform.push;

import com.google.auth.oauth2.GoogleCredentials;
import com.google.firebase.ErrorCode;
import com.google.firebase.FirebaseApp;
import com.google.firebase.FirebaseException;
import com.google.firebase.FirebaseOptions;
import com.google.firebase.IncomingHttpResponse;
import com.google.firebase.messaging.AndroidConfig;
import com.google.firebase.messaging.ApnsConfig;
import com.google.firebase.messaging.Aps;
import com.google.firebase.messaging.BatchResponse;
import com.google.firebase.messaging.FirebaseMessaging;
import com.google.firebase.messaging.FirebaseMessagingException;
import com.google.firebase.messaging.Message;
import com.google.firebase.messaging.MessagingErrorCode;
import com.google.firebase.messaging.Notification;
import com.google.firebase.messaging.SendResponse;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * {@link PushGateway} over Firebase Cloud Messaging (HTTP v1) with the firebase-admin SDK.
 *
 * <p>The SDK is blocking: every {@code sendEach} runs on the given {@link WorkerExecutor}, never on an event loop.
 * Inside {@code sendEach} the SDK itself fans the batch out, one HTTP request per message, on the FirebaseApp's
 * own thread pool (firebase-default-N, 100 threads), and retries 503 answers up to 4 times honouring
 * Retry-After. Our worker thread only waits for the batch.
 */
public final class FirebasePushGateway implements PushGateway {

  private static final Logger LOG = LoggerFactory.getLogger(FirebasePushGateway.class);

  /** Used when FCM says "try later" without a Retry-After header, or the failure is ours (network, auth). */
  static final Duration DEFAULT_RETRY_AFTER = Duration.ofSeconds(60);
  /** The longest pause a quota answer starts, whatever its Retry-After says. */
  static final Duration MAX_PAUSE = Duration.ofHours(1);
  /**
   * The shortest: a quota answer with Retry-After 0 still pauses (a quota refusal spends no attempt, so without a
   * pause such answers would be sent again and again, twice a second).
   */
  static final Duration MIN_PAUSE = Duration.ofSeconds(1);
  /**
   * How long one device refused alone for quota counts as a sign of the project's quota when another device is
   * refused alone in turn (see {@link #projectQuota}); FCM refills a project's quota by the minute.
   */
  static final Duration QUOTA_EVIDENCE = Duration.ofSeconds(60);

  private static final Set<MessagingErrorCode> TOKEN_INVALID =
      Set.of(MessagingErrorCode.UNREGISTERED, MessagingErrorCode.SENDER_ID_MISMATCH);
  private static final Set<MessagingErrorCode> RETRYABLE =
      Set.of(MessagingErrorCode.QUOTA_EXCEEDED, MessagingErrorCode.UNAVAILABLE, MessagingErrorCode.INTERNAL);
  /**
   * Platform codes (no FCM-specific code present) that say nothing against the message itself: the service, the
   * network or our own credentials failed. Retrying the same message later can succeed.
   */
  private static final Set<ErrorCode> RETRYABLE_PLATFORM = Set.of(
      ErrorCode.UNAVAILABLE, ErrorCode.INTERNAL, ErrorCode.DEADLINE_EXCEEDED, ErrorCode.RESOURCE_EXHAUSTED,
      ErrorCode.UNKNOWN, ErrorCode.ABORTED, ErrorCode.CANCELLED, ErrorCode.UNAUTHENTICATED,
      ErrorCode.PERMISSION_DENIED);

  /** Sends one batch of at most {@link #MAX_BATCH} messages; a seam so tests can observe the calling thread. */
  @FunctionalInterface
  interface BatchSender {
    BatchResponse sendEach(List<Message> batch) throws FirebaseMessagingException;
  }

  private final WorkerExecutor worker;
  private final FirebaseApp app;
  private final BatchSender sender;
  private final Clock clock;
  /** System.nanoTime() until which nothing is sent (FCM said the project's quota is exhausted); 0: never paused. */
  private final java.util.concurrent.atomic.AtomicLong pausedUntil = new java.util.concurrent.atomic.AtomicLong();
  private final java.util.concurrent.atomic.AtomicLong pauses = new java.util.concurrent.atomic.AtomicLong();
  /** A device refused alone for quota, and when (System.nanoTime()); see {@link #projectQuota}. */
  private record LoneRefusal(String token, long at) {}
  private LoneRefusal loneRefusal; // guarded by this

  FirebasePushGateway(WorkerExecutor worker, FirebaseApp app, BatchSender sender, Clock clock) {
    this.worker = Objects.requireNonNull(worker, "worker");
    this.app = Objects.requireNonNull(app, "app");
    this.sender = Objects.requireNonNull(sender, "sender");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /**
   * Production factory: reads the service account JSON (on the worker, it is file IO) and starts a FirebaseApp
   * named {@code frontline-push}. The project id is taken from the service account.
   */
  public static Future<FirebasePushGateway> fromServiceAccount(Vertx vertx, WorkerExecutor worker,
      Path serviceAccountJson) {
    Objects.requireNonNull(serviceAccountJson, "serviceAccountJson");
    return worker.executeBlocking(() -> {
      GoogleCredentials credentials;
      try (InputStream in = Files.newInputStream(serviceAccountJson)) {
        credentials = GoogleCredentials.fromStream(in);
      }
      FirebaseOptions options = FirebaseOptions.builder()
          .setCredentials(credentials)
          .setConnectTimeout(10_000)
          .setReadTimeout(20_000)
          .build();
      return create(vertx, worker, options, "frontline-push");
    }, false);
  }

  /**
   * Starts a FirebaseApp named {@code appName} from the given options (tests: custom HttpTransport and
   * credentials). Cheap, no network. {@code vertx} is not used yet; it keeps both factories alike.
   */
  public static FirebasePushGateway create(Vertx vertx, WorkerExecutor worker, FirebaseOptions options,
      String appName) {
    Objects.requireNonNull(vertx, "vertx");
    FirebaseApp app = FirebaseApp.initializeApp(options, appName);
    FirebaseMessaging messaging = FirebaseMessaging.getInstance(app);
    return new FirebasePushGateway(worker, app, messaging::sendEach, Clock.systemUTC());
  }

  @Override
  public String name() {
    return "firebase";
  }

  @Override
  public Future<List<PushResult>> send(List<PushMessage> messages) {
    List<PushResult> results = new ArrayList<>(messages.size());
    Future<Void> chain = Future.succeededFuture();
    // Batches one after another: each waits for its own sendEach and frees the worker thread in between.
    for (List<PushMessage> batch : batches(messages, MAX_BATCH)) {
      chain = chain.compose(v -> worker.executeBlocking(() -> sendBatch(batch), false).map(results::addAll))
          .mapEmpty();
    }
    return chain.map(v -> List.copyOf(results));
  }

  @Override
  public Duration paused() {
    long until = pausedUntil.get();
    long left = until - System.nanoTime();
    return until == 0 || left <= 0 ? Duration.ZERO : Duration.ofNanos(left);
  }

  @Override
  public long pauses() {
    return pauses.get();
  }

  /**
   * FCM said the project's quota is exhausted (429 RESOURCE_EXHAUSTED / QUOTA_EXCEEDED, the project's by
   * {@link #projectQuota}): nothing more is sent from this process for {@code after} (from {@link #MIN_PAUSE} to
   * {@link #MAX_PAUSE}); a pause already longer stays. Every other sendEach would only be refused as well, each message
   * counted against the quota again. Logged when a pause begins, not for each answer that prolongs it.
   */
  private void pause(Duration after) {
    Duration bounded = after.compareTo(MAX_PAUSE) > 0 ? MAX_PAUSE
        : after.compareTo(MIN_PAUSE) < 0 ? MIN_PAUSE : after;
    long now = System.nanoTime();
    long until = now + bounded.toNanos();
    long before = pausedUntil.getAndAccumulate(until, (current, next) -> current != 0 && current - next > 0
        ? current : next);
    if (before == 0 || before - now <= 0) {
      pauses.incrementAndGet();
      LOG.warn("FCM quota exhausted (429 RESOURCE_EXHAUSTED, the project's, not one device's): no push is sent from"
          + " this process for {} s; the deliveries stay pending and go after the pause", bounded.toSeconds());
    }
  }

  /**
   * Whether a batch's QUOTA_EXCEEDED answers (sent to {@code refusedDevices}) are the project's quota rather than
   * each device's own message rate: FCM answers both alike, so the batch's other answers decide. A message of the
   * batch delivered: the project's quota is not exhausted, the refusals are their devices' own. Refusals for two
   * devices or more and nothing delivered: the project's. Refusals for one device alone and nothing delivered (a
   * batch of one, or a burst to one phone): the device's, unless another device was refused so too within
   * {@link #QUOTA_EVIDENCE} with nothing delivered since; so a project quota costs at most one more refused request
   * before the pause, and one phone over its rate never pauses the others. Any delivery forgets the lone refusal.
   */
  private synchronized boolean projectQuota(boolean delivered, Set<String> refusedDevices) {
    if (delivered) {
      loneRefusal = null;
      return false;
    }
    if (refusedDevices.isEmpty()) {
      return false;
    }
    long now = System.nanoTime();
    String device = refusedDevices.size() == 1 ? refusedDevices.iterator().next() : null;
    boolean project = device == null || loneRefusal != null && !loneRefusal.token().equals(device)
        && now - loneRefusal.at() < QUOTA_EVIDENCE.toNanos();
    loneRefusal = project ? null : new LoneRefusal(device, now);
    return project;
  }

  /** A quota refusal found to be the device's own rate: FCM's Retry-After if it gave one, else none (zero). */
  private PushResult.RetryAfter deviceQuota(PushResult.RetryAfter refusal, FirebaseMessagingException e) {
    return new PushResult.RetryAfter(retryAfterHeader(e).orElse(Duration.ZERO),
        "DEVICE_QUOTA_EXCEEDED: " + refusal.reason(), PushResult.Quota.DEVICE);
  }

  /** Deletes the FirebaseApp (stops its threads). The worker executor belongs to the caller and stays open. */
  public Future<Void> close() {
    return worker.executeBlocking(() -> {
      app.delete();
      return null;
    }, false);
  }

  /** Consecutive slices of at most {@code size} elements, in order. */
  static <T> List<List<T>> batches(List<T> items, int size) {
    List<List<T>> out = new ArrayList<>((items.size() + size - 1) / size);
    for (int from = 0; from < items.size(); from += size) {
      out.add(List.copyOf(items.subList(from, Math.min(items.size(), from + size))));
    }
    return out;
  }

  /** Runs on the worker. Never throws: every message of the batch gets a result. */
  private List<PushResult> sendBatch(List<PushMessage> batch) {
    PushResult[] results = new PushResult[batch.size()];
    List<Message> toSend = new ArrayList<>(batch.size());
    List<Integer> positions = new ArrayList<>(batch.size());
    for (int i = 0; i < batch.size(); i++) {
      try {
        toSend.add(toFcm(batch.get(i), clock.instant()));
        positions.add(i);
      } catch (IllegalArgumentException e) {
        // The SDK validates while building (e.g. blank token); one bad message must not sink its batch.
        results[i] = new PushResult.PermanentFailure("invalid message: " + e.getMessage());
      }
    }
    if (toSend.isEmpty()) {
      return Arrays.asList(results);
    }
    Duration paused = paused();
    if (!paused.isZero()) {
      // Claimed before the pause began (another batch's answer started it): held back, FCM is not called.
      PushResult held = new PushResult.RetryAfter(paused, "PAUSED: FCM quota exhausted, sends paused",
          PushResult.Quota.PROJECT);
      for (int position : positions) {
        results[position] = held;
      }
      return Arrays.asList(results);
    }
    try {
      List<SendResponse> responses = sender.sendEach(toSend).getResponses();
      boolean delivered = false;
      Set<String> refusedDevices = new HashSet<>();
      Duration quota = null;
      for (int j = 0; j < positions.size(); j++) {
        PushResult result = toResult(responses.get(j));
        results[positions.get(j)] = result;
        delivered |= result instanceof PushResult.Delivered;
        if (result instanceof PushResult.RetryAfter r && r.quota() == PushResult.Quota.PROJECT) {
          refusedDevices.add(batch.get(positions.get(j)).token());
          quota = quota == null || r.after().compareTo(quota) > 0 ? r.after() : quota;
        }
      }
      if (projectQuota(delivered, refusedDevices)) {
        pause(quota);
      } else if (!refusedDevices.isEmpty()) {
        int refused = 0;
        for (int j = 0; j < positions.size(); j++) {
          if (results[positions.get(j)] instanceof PushResult.RetryAfter r && r.quota() == PushResult.Quota.PROJECT) {
            results[positions.get(j)] = deviceQuota(r, responses.get(j).getException());
            refused++;
          }
        }
        LOG.info("FCM device message rate exceeded (QUOTA_EXCEEDED) for {} of {} messages, to {} device(s) ({}): only"
            + " those wait, no pause", refused, toSend.size(), refusedDevices.size(), delivered
            ? "others of the batch were delivered" : "no other device refused since the last delivery");
      }
    } catch (Exception e) {
      // sendEach reports per-message HTTP, network and auth failures as SendResponses; it throws only when the
      // batch as a whole could not be run: FirebaseApp deleted during shutdown, interrupted, or a RuntimeException
      // inside one message's send (e.g. credentials that cannot refresh after a 401), which sendEach reports as a
      // cause-less FirebaseMessagingException(CANCELLED) for the whole batch. None of that says anything against
      // the messages themselves, so each gets RetryAfter rather than a failed future: the caller keeps one
      // per-message path (reschedule) and nothing is dropped. The price: the SDK fails fast, so some messages of
      // the batch may already have been delivered and will be sent twice on retry (a collapseKey makes the second
      // replace the first on the device). Only IllegalArgumentException (the SDK refused the input) is permanent.
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      LOG.warn("FCM sendEach failed for a batch of {} messages", toSend.size(), e);
      PushResult whole = e instanceof IllegalArgumentException
          ? new PushResult.PermanentFailure("sendEach refused the batch: " + e.getMessage())
          : new PushResult.RetryAfter(retryAfterOf(e), "sendEach failed: " + describe(e));
      for (int position : positions) {
        results[position] = whole;
      }
    }
    return Arrays.asList(results);
  }

  /** FCM's limit on a message's notification and data, in UTF-8 bytes: a larger message is refused. */
  static final int MAX_PAYLOAD_BYTES = 4096;

  /**
   * The push with its text cut to fit {@link #MAX_PAYLOAD_BYTES} with its data: FCM refuses a larger message
   * (INVALID_ARGUMENT "message is too big"), a permanent failure, so the alert was dead-lettered and never shown. The
   * data (the app's deep link) is kept whole, the title as far as it fits, the body gets the rest; a cut text ends in
   * "…" at a code point. The inbox keeps the whole text.
   */
  static PushMessage fitted(PushMessage push) {
    int room = MAX_PAYLOAD_BYTES - push.data().entrySet().stream()
        .mapToInt(e -> utf8(e.getKey()) + utf8(e.getValue())).sum();
    String title = cut(push.title(), room);
    String body = cut(push.body(), room - utf8(title));
    return Objects.equals(title, push.title()) && Objects.equals(body, push.body()) ? push
        : new PushMessage(push.token(), title, body, push.data(), push.collapseKey(), push.highPriority(),
            push.timeToLive());
  }

  private static final String CUT = "…";

  /** {@code text} in at most {@code bytes} UTF-8 bytes: whole, or its first code points and {@link #CUT}. */
  private static String cut(String text, int bytes) {
    if (text == null || utf8(text) <= bytes) {
      return text;
    }
    StringBuilder out = new StringBuilder();
    int used = utf8(CUT);
    for (int i = 0; i < text.length(); ) {
      int cp = text.codePointAt(i);
      int size = utf8(Character.toString(cp));
      if (used + size > bytes) {
        break;
      }
      out.appendCodePoint(cp);
      used += size;
      i += Character.charCount(cp);
    }
    return used > bytes ? "" : out.append(CUT).toString();
  }

  private static int utf8(String s) {
    return s == null ? 0 : s.getBytes(StandardCharsets.UTF_8).length;
  }

  /** The FCM v1 message for one push, its text {@link #fitted}. {@code now} anchors the APNs expiration. */
  static Message toFcm(PushMessage original, Instant now) {
    PushMessage push = fitted(original);
    boolean hasNotification = push.title() != null || push.body() != null;
    long ttlSeconds = Math.max(0, push.timeToLive().toSeconds());

    AndroidConfig.Builder android = AndroidConfig.builder()
        .setPriority(push.highPriority() ? AndroidConfig.Priority.HIGH : AndroidConfig.Priority.NORMAL)
        .setTtl(ttlSeconds * 1000);
    // APNs: priority 10 is only allowed for pushes that show an alert; a data-only push must be a background
    // push (content-available, priority 5) or APNs rejects it. apns-expiration 0 means "deliver now or never",
    // matching an Android ttl of 0.
    ApnsConfig.Builder apns = ApnsConfig.builder()
        .putHeader("apns-priority", push.highPriority() && hasNotification ? "10" : "5")
        .putHeader("apns-expiration", ttlSeconds == 0 ? "0" : Long.toString(now.getEpochSecond() + ttlSeconds))
        .setAps(Aps.builder().setContentAvailable(!hasNotification).build());
    if (push.collapseKey() != null) {
      android.setCollapseKey(push.collapseKey());
      apns.putHeader("apns-collapse-id", push.collapseKey());
    }

    Message.Builder message = Message.builder()
        .setToken(push.token())
        .putAllData(push.data())
        .setAndroidConfig(android.build())
        .setApnsConfig(apns.build());
    if (hasNotification) {
      message.setNotification(Notification.builder().setTitle(push.title()).setBody(push.body()).build());
    }
    return message.build();
  }

  private PushResult toResult(SendResponse response) {
    if (response.isSuccessful()) {
      return new PushResult.Delivered(response.getMessageId());
    }
    return toResult(response.getException());
  }

  PushResult toResult(FirebaseMessagingException e) {
    MessagingErrorCode code = e.getMessagingErrorCode();
    if (code != null) {
      String reason = code.name() + ": " + e.getMessage();
      if (TOKEN_INVALID.contains(code) || code == MessagingErrorCode.INVALID_ARGUMENT && namesTheToken(e)) {
        return new PushResult.TokenInvalid(reason);
      }
      if (code == MessagingErrorCode.QUOTA_EXCEEDED) {
        return new PushResult.RetryAfter(retryAfterOf(e), reason, PushResult.Quota.PROJECT);
      }
      if (RETRYABLE.contains(code)) {
        return new PushResult.RetryAfter(retryAfterOf(e), reason);
      }
      // INVALID_ARGUMENT, THIRD_PARTY_AUTH_ERROR and codes added in later SDK versions.
      return new PushResult.PermanentFailure(reason);
    }
    // No FCM-specific code: a transport, auth or generic HTTP failure, classified by the platform code.
    String reason = e.getErrorCode() + ": " + e.getMessage();
    if (e.getErrorCode() == ErrorCode.RESOURCE_EXHAUSTED
        || e.getHttpResponse() != null && e.getHttpResponse().getStatusCode() == 429) {
      return new PushResult.RetryAfter(retryAfterOf(e), reason, PushResult.Quota.PROJECT);
    }
    if (e.getErrorCode() == null || RETRYABLE_PLATFORM.contains(e.getErrorCode())) {
      return new PushResult.RetryAfter(retryAfterOf(e), reason);
    }
    return new PushResult.PermanentFailure(reason);
  }

  /**
   * Whether an INVALID_ARGUMENT is about the token rather than the message: FCM answers a string that is not a
   * registration token (malformed, truncated) with INVALID_ARGUMENT and "The registration token is not a valid FCM
   * registration token"; a bad payload gets the same code with a message naming the payload. FCM's advice is to
   * drop such a token: it will never be valid, and every alert to it would be another dead letter.
   */
  private static boolean namesTheToken(FirebaseMessagingException e) {
    String message = e.getMessage();
    return message != null && message.toLowerCase(java.util.Locale.ROOT).contains("registration token");
  }

  private Duration retryAfterOf(Throwable e) {
    return retryAfterHeader(e).orElse(DEFAULT_RETRY_AFTER);
  }

  private Optional<Duration> retryAfterHeader(Throwable e) {
    return e instanceof FirebaseException fe && fe.getHttpResponse() != null
        ? retryAfter(fe.getHttpResponse(), clock) : Optional.empty();
  }

  static Optional<Duration> retryAfter(IncomingHttpResponse response, Clock clock) {
    // The SDK copies google-http-client headers into a plain map: the key keeps its declared case and the value
    // is usually a List<String>.
    for (Map.Entry<String, Object> header : response.getHeaders().entrySet()) {
      if ("retry-after".equalsIgnoreCase(header.getKey())) {
        Object value = header.getValue();
        if (value instanceof Collection<?> values) {
          value = values.isEmpty() ? null : values.iterator().next();
        }
        return value == null ? Optional.empty() : parseRetryAfter(value.toString(), clock);
      }
    }
    return Optional.empty();
  }

  /** Retry-After is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3); a date in the past means "now". */
  static Optional<Duration> parseRetryAfter(String value, Clock clock) {
    String v = value.trim();
    if (v.isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(Duration.ofSeconds(Math.max(0, Long.parseLong(v))));
    } catch (NumberFormatException notSeconds) {
      try {
        Instant at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
        Duration d = Duration.between(clock.instant(), at);
        return Optional.of(d.isNegative() ? Duration.ZERO : d);
      } catch (DateTimeParseException notADate) {
        return Optional.empty();
      }
    }
  }

  private static String describe(Throwable e) {
    String code = e instanceof FirebaseException fe ? " " + fe.getErrorCode() : "";
    return e.getClass().getSimpleName() + code + (e.getMessage() == null ? "" : ": " + e.getMessage());
  }
}
