package org.frontline.platform.push;

import com.google.firebase.FirebaseApp;
import com.google.firebase.messaging.FirebaseMessaging;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.json.JsonObject;
import org.frontline.platform.push.FakeFcmServer.Outcome;
import org.frontline.platform.push.PushResult.Delivered;
import org.frontline.platform.push.PushResult.PermanentFailure;
import org.frontline.platform.push.PushResult.Quota;
import org.frontline.platform.push.PushResult.RetryAfter;
import org.frontline.platform.push.PushResult.TokenInvalid;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The real firebase-admin SDK against {@link FakeFcmServer}: result mapping and what actually reached "FCM". */
class FirebasePushGatewayTest {

  private static final String WORKER_POOL = "push-fcm-test";

  private static Vertx vertx;
  private static WorkerExecutor worker;
  private static FakeFcmServer fcm;

  private FirebasePushGateway gateway;

  @BeforeAll
  static void startAll() {
    vertx = Vertx.vertx();
    worker = vertx.createSharedWorkerExecutor(WORKER_POOL, 2);
    fcm = new FakeFcmServer().start();
  }

  @AfterAll
  static void stopAll() {
    fcm.close();
    worker.close();
    vertx.close().await();
  }

  @BeforeEach
  void createGateway() {
    fcm.reset();
    gateway = FirebasePushGateway.create(vertx, worker, fcm.firebaseOptions(), "push-test-" + UUID.randomUUID());
  }

  @AfterEach
  void closeGateway() {
    await(gateway.close());
  }

  // --- result mapping ---

  @Test
  void successIsDeliveredWithTheIdFcmReturned() {
    List<PushResult> results = send(push("tok-ok"));

    FakeFcmServer.Request request = fcm.onlyRequestFor("tok-ok");
    assertThat(request.messageName()).startsWith("projects/frontline-test/messages/");
    assertThat(results).containsExactly(new Delivered(request.messageName()));
    assertThat(request.project()).isEqualTo(FakeFcmServer.PROJECT_ID);
    assertThat(request.authorization()).isEqualTo("Bearer test-token");
  }

  @Test
  void aTextOverFcmsPayloadLimitIsCutToFitAndDelivered() {
    String title = "项目进度".repeat(100);
    String body = "报告".repeat(1500);
    List<PushResult> results = send(new PushMessage("tok-long", title, body,
        Map.of("reportId", UUID.randomUUID().toString()), null, true, null));

    FakeFcmServer.Request request = fcm.onlyRequestFor("tok-long");
    assertThat(results).containsExactly(new Delivered(request.messageName()));
    assertThat(FakeFcmServer.payloadBytes(request.message())).isBetween(FakeFcmServer.MAX_PAYLOAD_BYTES - 3,
        FakeFcmServer.MAX_PAYLOAD_BYTES);
    assertThat(request.notification().getString("title")).isEqualTo(title);
    assertThat(request.notification().getString("body")).startsWith("报告报告").endsWith("…");
    assertThat(request.message().getJsonObject("data").getString("reportId")).hasSize(36);
  }

  @Test
  void unregisteredTokenIsInvalid() {
    fcm.respond("tok-gone", Outcome.unregistered());

    PushResult result = send(push("tok-gone")).get(0);

    assertThat(result).isInstanceOf(TokenInvalid.class);
    assertThat(((TokenInvalid) result).reason()).startsWith("UNREGISTERED");
    assertThat(fcm.requestsFor("tok-gone")).hasSize(1);
  }

  @Test
  void senderIdMismatchIsInvalidToken() {
    fcm.respond("tok-other-sender", Outcome.senderIdMismatch());

    PushResult result = send(push("tok-other-sender")).get(0);

    assertThat(result).isInstanceOf(TokenInvalid.class);
    assertThat(((TokenInvalid) result).reason()).startsWith("SENDER_ID_MISMATCH");
  }

  @Test
  void invalidArgumentIsPermanentAndNotRetried() {
    fcm.respond("tok-bad", Outcome.invalidArgument());

    PushResult result = send(push("tok-bad")).get(0);

    assertThat(result).isInstanceOf(PermanentFailure.class);
    assertThat(((PermanentFailure) result).reason()).startsWith("INVALID_ARGUMENT");
    assertThat(fcm.requestsFor("tok-bad")).hasSize(1);
  }

  @Test
  void aTokenFcmSaysIsNotARegistrationTokenIsInvalid() {
    fcm.respond("not-a-token", Outcome.invalidToken());

    PushResult result = send(push("not-a-token")).get(0);

    assertThat(result).isInstanceOf(TokenInvalid.class);
    assertThat(((TokenInvalid) result).reason())
        .isEqualTo("INVALID_ARGUMENT: The registration token is not a valid FCM registration token");
    assertThat(fcm.requestsFor("not-a-token")).hasSize(1);
  }

  @Test
  void thirdPartyAuthErrorIsPermanent() {
    fcm.respond("tok-ios", Outcome.thirdPartyAuthError());

    PushResult result = send(push("tok-ios")).get(0);

    assertThat(result).isInstanceOf(PermanentFailure.class);
    assertThat(((PermanentFailure) result).reason()).startsWith("THIRD_PARTY_AUTH_ERROR");
    // Any 401 makes the SDK refresh its access token and try again, up to its 4 retries.
    assertThat(fcm.requestsFor("tok-ios")).hasSize(5);
    assertThat(fcm.tokenRefreshes()).isEqualTo(5);
  }

  @Test
  void quotaExceededHonoursRetryAfterSecondsAndIsNotRetriedBySdk() {
    fcm.respond("tok-quota", Outcome.quotaExceeded("17"));

    PushResult result = send(push("tok-quota")).get(0);

    assertThat(result).isInstanceOf(RetryAfter.class);
    assertThat(((RetryAfter) result).after()).isEqualTo(Duration.ofSeconds(17));
    // A device refused alone, no other device refused lately: its own message rate (see the tests below).
    assertThat(((RetryAfter) result).reason()).startsWith("DEVICE_QUOTA_EXCEEDED: QUOTA_EXCEEDED");
    assertThat(fcm.requestsFor("tok-quota")).hasSize(1);
  }

  /**
   * A quota answer for every message of a batch, to two devices or more, is the project's: it pauses the whole gateway
   * until its Retry-After, and what is sent meanwhile never reaches FCM and comes back as a project quota RetryAfter
   * for the rest of the pause; other failures pause nothing.
   */
  @Test
  void quotaExceededPausesEverySendUntilRetryAfter() {
    fcm.respond("tok-quota", Outcome.quotaExceeded("17"));
    fcm.respond("tok-quota-too", Outcome.quotaExceeded("17"));
    assertThat(gateway.paused()).isZero();

    List<PushResult> refused = send(push("tok-quota"), push("tok-quota-too"));
    List<PushResult> held = send(push("tok-other"), push("tok-quota"));

    assertThat(refused).allSatisfy(r -> {
      assertThat(((RetryAfter) r).quota()).isEqualTo(Quota.PROJECT);
      assertThat(((RetryAfter) r).reason()).startsWith("QUOTA_EXCEEDED");
    });
    assertThat(gateway.paused()).isBetween(Duration.ofSeconds(10), Duration.ofSeconds(17));
    assertThat(gateway.pauses()).isEqualTo(1);
    assertThat(held).allSatisfy(r -> {
      assertThat(((RetryAfter) r).quota()).isEqualTo(Quota.PROJECT);
      assertThat(((RetryAfter) r).after()).isBetween(Duration.ofSeconds(10), Duration.ofSeconds(17));
      assertThat(((RetryAfter) r).reason()).startsWith("PAUSED");
    });
    assertThat(fcm.requests()).extracting(FakeFcmServer.Request::token)
        .containsExactlyInAnyOrder("tok-quota", "tok-quota-too");

    fcm.reset();
    FirebasePushGateway other = FirebasePushGateway.create(vertx, worker, fcm.firebaseOptions(),
        "push-test-" + UUID.randomUUID());
    try {
      fcm.respond("tok-internal", Outcome.internal("17"));
      assertThat(((RetryAfter) await(other.send(List.of(push("tok-internal")))).get(0)).quota())
          .isEqualTo(Quota.NONE);
      assertThat(other.paused()).isZero();
      // Retry-After 0 on a project quota answer still pauses a moment.
      fcm.respond("tok-quota-now", Outcome.quotaExceeded("0"));
      fcm.respond("tok-quota-now-too", Outcome.quotaExceeded("0"));
      assertThat(await(other.send(List.of(push("tok-quota-now"), push("tok-quota-now-too")))))
          .allSatisfy(r -> assertThat(((RetryAfter) r).quota()).isEqualTo(Quota.PROJECT));
      assertThat(other.paused()).isPositive().isLessThanOrEqualTo(Duration.ofSeconds(1));
    } finally {
      await(other.close());
    }
  }

  /**
   * FCM answers a device's own message rate with the same QUOTA_EXCEEDED: when other messages of the batch are
   * delivered, the project's quota is not exhausted, so only the refused message waits (its Retry-After) and nothing
   * is paused: the next send goes to FCM at once.
   */
  @Test
  void aQuotaAnswerBesideDeliveriesIsTheDevicesOwnAndPausesNothing() {
    fcm.respond("tok-busy-phone", Outcome.quotaExceeded("5"));

    List<PushResult> results = send(push("tok-busy-phone"), push("tok-fine"), push("tok-fine-too"));

    RetryAfter refused = (RetryAfter) results.get(0);
    assertThat(refused.quota()).isEqualTo(Quota.DEVICE);
    assertThat(refused.after()).isEqualTo(Duration.ofSeconds(5));
    assertThat(refused.reason()).startsWith("DEVICE_QUOTA_EXCEEDED: QUOTA_EXCEEDED");
    assertThat(results.subList(1, 3)).allSatisfy(r -> assertThat(r).isInstanceOf(Delivered.class));
    assertThat(gateway.paused()).isZero();
    assertThat(gateway.pauses()).isZero();
    assertThat(send(push("tok-fine"))).allSatisfy(r -> assertThat(r).isInstanceOf(Delivered.class));
    assertThat(fcm.requestsFor("tok-fine")).hasSize(2);
  }

  /**
   * Nothing delivered in the batch: refusals for one device alone (a batch of one, or a burst to one phone) are the
   * device's own rate, unless another device was refused alone within a minute with nothing delivered since; then they
   * are the project's and everything pauses.
   */
  @Test
  void refusalsOfOneDeviceAloneAreItsOwnUntilAnotherDeviceIsRefusedAloneToo() {
    fcm.respond("tok-phone-a", Outcome.quotaExceeded(null));
    fcm.respond("tok-phone-b", Outcome.quotaExceeded("7"));

    // A burst to one phone, every message refused: the phone's, with no Retry-After (the dispatcher's own backoff).
    assertThat(send(push("tok-phone-a"), push("tok-phone-a"))).allSatisfy(r -> {
      assertThat(((RetryAfter) r).quota()).isEqualTo(Quota.DEVICE);
      assertThat(((RetryAfter) r).after()).isZero();
    });
    // The same phone again, alone: still its own.
    assertThat(((RetryAfter) send(push("tok-phone-a")).get(0)).quota()).isEqualTo(Quota.DEVICE);
    // A delivery since: phone B refused alone next is its own too.
    assertThat(send(push("tok-fine")).get(0)).isInstanceOf(Delivered.class);
    assertThat(((RetryAfter) send(push("tok-phone-b")).get(0)).quota()).isEqualTo(Quota.DEVICE);
    assertThat(gateway.pauses()).isZero();

    // Phone A refused alone right after phone B, nothing delivered in between: the project's quota.
    RetryAfter project = (RetryAfter) send(push("tok-phone-a")).get(0);

    assertThat(project.quota()).isEqualTo(Quota.PROJECT);
    assertThat(project.after()).isEqualTo(FirebasePushGateway.DEFAULT_RETRY_AFTER);
    assertThat(gateway.pauses()).isEqualTo(1);
    assertThat(gateway.paused()).isBetween(Duration.ofSeconds(50), Duration.ofSeconds(60));
    assertThat(fcm.requests()).extracting(FakeFcmServer.Request::token).containsExactly("tok-phone-a", "tok-phone-a",
        "tok-phone-a", "tok-fine", "tok-phone-b", "tok-phone-a");
  }

  @Test
  void quotaExceededHonoursRetryAfterHttpDate() {
    String inTwoMinutes = DateTimeFormatter.RFC_1123_DATE_TIME
        .format(ZonedDateTime.now(ZoneOffset.UTC).plusSeconds(120));
    fcm.respond("tok-quota-date", Outcome.quotaExceeded(inTwoMinutes));

    RetryAfter result = (RetryAfter) send(push("tok-quota-date")).get(0);

    assertThat(result.after()).isBetween(Duration.ofSeconds(100), Duration.ofSeconds(121));
  }

  @Test
  void projectQuotaWithoutRetryAfterUsesTheDefault() {
    fcm.respond("tok-quota-bare", Outcome.quotaExceeded(null));
    fcm.respond("tok-quota-bare-too", Outcome.quotaExceeded(null));

    List<PushResult> results = send(push("tok-quota-bare"), push("tok-quota-bare-too"));

    assertThat(results).allSatisfy(r -> assertThat(((RetryAfter) r).after())
        .isEqualTo(FirebasePushGateway.DEFAULT_RETRY_AFTER));
  }

  @Test
  void unavailableTwiceThenSuccessIsDeliveredAfterSdkRetriesHonouringRetryAfter() {
    fcm.failThenSucceed("tok-flaky", 2, Outcome.unavailable("1"));

    long start = System.nanoTime();
    List<PushResult> results = send(push("tok-flaky"));
    Duration took = Duration.ofNanos(System.nanoTime() - start);

    List<FakeFcmServer.Request> requests = fcm.requestsFor("tok-flaky");
    assertThat(requests).extracting(FakeFcmServer.Request::status).containsExactly(503, 503, 200);
    assertThat(results).containsExactly(new Delivered(requests.get(2).messageName()));
    assertThat(took).isGreaterThanOrEqualTo(Duration.ofMillis(1900)); // waited Retry-After: 1 twice
  }

  @Test
  void unavailableEveryTimeIsRetryAfterOnceTheSdkGivesUp() {
    fcm.respond("tok-down", Outcome.unavailable("1"));

    PushResult result = send(push("tok-down")).get(0);

    assertThat(result).isEqualTo(new RetryAfter(Duration.ofSeconds(1), ((RetryAfter) result).reason()));
    assertThat(((RetryAfter) result).reason()).startsWith("UNAVAILABLE");
    assertThat(fcm.requestsFor("tok-down")).hasSize(5); // 1 + 4 SDK retries
  }

  @Test
  void internalIsRetryAfterAndNotRetriedBySdk() {
    fcm.respond("tok-internal", Outcome.internal(null));

    PushResult result = send(push("tok-internal")).get(0);

    assertThat(result).isEqualTo(new RetryAfter(FirebasePushGateway.DEFAULT_RETRY_AFTER,
        ((RetryAfter) result).reason()));
    assertThat(((RetryAfter) result).reason()).startsWith("INTERNAL");
    assertThat(fcm.requestsFor("tok-internal")).hasSize(1);
  }

  @Test
  void refusedCredentialsAreRetryAfterNotPermanent() {
    fcm.respond("tok-auth", Outcome.unauthenticated());

    PushResult result = send(push("tok-auth")).get(0);

    assertThat(result).isInstanceOf(RetryAfter.class);
    assertThat(((RetryAfter) result).after()).isEqualTo(FirebasePushGateway.DEFAULT_RETRY_AFTER);
    assertThat(((RetryAfter) result).reason()).startsWith("UNAUTHENTICATED");
    assertThat(fcm.requestsFor("tok-auth")).hasSize(5);
  }

  @Test
  void mixedOutcomesComeBackInInputOrder() {
    fcm.respond("m-gone", Outcome.unregistered());
    fcm.respond("m-bad", Outcome.invalidArgument());
    fcm.respond("m-quota", Outcome.quotaExceeded("30"));

    List<PushResult> results = send(push("m-ok-1"), push("m-gone"), push("m-bad"), push("m-quota"), push("m-ok-2"));

    assertThat(results).hasSize(5);
    assertThat(results.get(0)).isEqualTo(new Delivered(fcm.onlyRequestFor("m-ok-1").messageName()));
    assertThat(results.get(1)).isInstanceOf(TokenInvalid.class);
    assertThat(results.get(2)).isInstanceOf(PermanentFailure.class);
    assertThat(((RetryAfter) results.get(3)).after()).isEqualTo(Duration.ofSeconds(30));
    assertThat(results.get(4)).isEqualTo(new Delivered(fcm.onlyRequestFor("m-ok-2").messageName()));
  }

  @Test
  void messageTheSdkRefusesToBuildFailsAloneWithoutARequest() {
    List<PushResult> results = send(push("ok-before"), push(""), push("ok-after"));

    assertThat(results.get(0)).isInstanceOf(Delivered.class);
    assertThat(results.get(1)).isInstanceOf(PermanentFailure.class);
    assertThat(((PermanentFailure) results.get(1)).reason()).startsWith("invalid message");
    assertThat(results.get(2)).isInstanceOf(Delivered.class);
    assertThat(fcm.requests()).extracting(FakeFcmServer.Request::token)
        .containsExactlyInAnyOrder("ok-before", "ok-after");
  }

  @Test
  void emptyListSendsNothing() {
    assertThat(send()).isEmpty();
    assertThat(fcm.requests()).isEmpty();
  }

  @Test
  void wholeBatchFailureMapsEveryMessageToRetryAfter() {
    // A deleted FirebaseApp makes sendEach itself throw (IllegalStateException), the way a shutdown race would.
    await(gateway.close());

    List<PushResult> results = send(push("late-1"), push("late-2"));

    assertThat(results).hasSize(2).allSatisfy(r -> {
      assertThat(r).isInstanceOf(RetryAfter.class);
      assertThat(((RetryAfter) r).after()).isEqualTo(FirebasePushGateway.DEFAULT_RETRY_AFTER);
      assertThat(((RetryAfter) r).reason()).contains("IllegalStateException");
    });
    assertThat(fcm.requests()).isEmpty();
    gateway = FirebasePushGateway.create(vertx, worker, fcm.firebaseOptions(), "push-test-" + UUID.randomUUID());
  }

  // --- batching and threading ---

  @Test
  void manyMessagesAreSplitIntoBatchesOf500OnTheWorkerPoolAndComeBackInOrder() {
    List<SendEachCall> calls = new CopyOnWriteArrayList<>();
    FirebasePushGateway observed = observedGateway(calls, Clock.systemUTC());
    List<PushMessage> messages = IntStream.range(0, 1201).mapToObj(i -> push("bulk-" + i)).toList();

    Promise<List<PushResult>> done = Promise.promise();
    List<String> completedOn = new CopyOnWriteArrayList<>();
    Context eventLoop = vertx.getOrCreateContext();
    eventLoop.runOnContext(v -> observed.send(messages).onComplete(ar -> {
      completedOn.add(Thread.currentThread().getName() + " eventLoop=" + Context.isOnEventLoopThread());
      done.handle(ar);
    }));
    List<PushResult> results = await(done.future());

    assertThat(calls).extracting(SendEachCall::size).containsExactly(500, 500, 201);
    assertThat(calls).allSatisfy(call -> {
      assertThat(call.thread()).startsWith(WORKER_POOL);
      assertThat(call.onEventLoop()).isFalse();
    });
    assertThat(completedOn).singleElement().asString().endsWith("eventLoop=true");

    List<FakeFcmServer.Request> requests = fcm.requests();
    assertThat(requests).hasSize(1201);
    Map<String, String> nameByToken = requests.stream()
        .collect(Collectors.toMap(FakeFcmServer.Request::token, FakeFcmServer.Request::messageName));
    assertThat(nameByToken).hasSize(1201);
    List<PushResult> expected = messages.stream()
        .<PushResult>map(m -> new Delivered(nameByToken.get(m.token()))).toList();
    assertThat(results).containsExactlyElementsOf(expected);
    await(observed.close());
  }

  @Test
  void batchesSplit500_500_201() {
    List<Integer> items = IntStream.range(0, 1201).boxed().toList();

    List<List<Integer>> batches = FirebasePushGateway.batches(items, PushGateway.MAX_BATCH);

    assertThat(batches).extracting(List::size).containsExactly(500, 500, 201);
    assertThat(batches.stream().flatMap(List::stream).toList()).isEqualTo(items);
    assertThat(FirebasePushGateway.batches(List.of(), 500)).isEmpty();
    assertThat(FirebasePushGateway.batches(items.subList(0, 500), 500)).hasSize(1);
  }

  // --- what reaches FCM ---

  @Test
  void highPriorityNotificationReachesFcmWithAndroidAndApnsSettings() {
    Instant now = Instant.parse("2026-11-26T10:00:00Z");
    FirebasePushGateway observed = observedGateway(new ArrayList<>(), Clock.fixed(now, ZoneOffset.UTC));
    PushMessage message = new PushMessage("tok-content", "Shelling reported", "Sector 4, 10:02",
        Map.of("reportId", "r-42", "kind", "incident"), "report-r-42", true, Duration.ofHours(1));

    assertThat(await(observed.send(List.of(message)))).singleElement().isInstanceOf(Delivered.class);

    FakeFcmServer.Request request = fcm.onlyRequestFor("tok-content");
    assertThat(request.notification())
        .isEqualTo(new JsonObject().put("title", "Shelling reported").put("body", "Sector 4, 10:02"));
    assertThat(request.data()).isEqualTo(new JsonObject().put("reportId", "r-42").put("kind", "incident"));
    assertThat(request.android()).isEqualTo(new JsonObject()
        .put("priority", "high").put("ttl", "3600s").put("collapse_key", "report-r-42"));
    assertThat(request.apnsHeaders()).isEqualTo(new JsonObject()
        .put("apns-priority", "10")
        .put("apns-collapse-id", "report-r-42")
        .put("apns-expiration", Long.toString(now.getEpochSecond() + 3600)));
    await(observed.close());
  }

  @Test
  void normalPriorityWithoutCollapseKeyReachesFcmWithoutCollapseHeaders() {
    send(new PushMessage("tok-normal", "Weekly summary", "3 reports", Map.of(), null, false,
        Duration.ofMinutes(30)));

    FakeFcmServer.Request request = fcm.onlyRequestFor("tok-normal");
    assertThat(request.android()).isEqualTo(new JsonObject().put("priority", "normal").put("ttl", "1800s"));
    assertThat(request.apnsHeaders().getString("apns-priority")).isEqualTo("5");
    assertThat(request.apnsHeaders().containsKey("apns-collapse-id")).isFalse();
    assertThat(request.data()).isNull();
  }

  @Test
  void dataOnlyPushIsABackgroundPushOnApns() {
    send(new PushMessage("tok-data", null, null, Map.of("sync", "reports"), null, true, Duration.ZERO));

    FakeFcmServer.Request request = fcm.onlyRequestFor("tok-data");
    assertThat(request.notification()).isNull();
    assertThat(request.data()).isEqualTo(new JsonObject().put("sync", "reports"));
    assertThat(request.android()).isEqualTo(new JsonObject().put("priority", "high").put("ttl", "0s"));
    assertThat(request.apnsHeaders()).isEqualTo(new JsonObject()
        .put("apns-priority", "5").put("apns-expiration", "0"));
    assertThat(request.message().getJsonObject("apns").getJsonObject("payload").getJsonObject("aps"))
        .isEqualTo(new JsonObject().put("content-available", 1));
  }

  // --- production factory ---

  @Test
  void fromServiceAccountStartsTheAppWithoutNetwork(@TempDir Path dir) throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
    generator.initialize(2048);
    String pem = "-----BEGIN PRIVATE KEY-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(generator.generateKeyPair().getPrivate().getEncoded())
        + "\n-----END PRIVATE KEY-----\n";
    Path json = dir.resolve("service-account.json");
    Files.writeString(json, new JsonObject()
        .put("type", "service_account")
        .put("project_id", "frontline-prod")
        .put("private_key_id", "k1")
        .put("private_key", pem)
        .put("client_email", "push@frontline-prod.iam.gserviceaccount.com")
        .put("client_id", "1")
        .put("token_uri", "https://oauth2.googleapis.com/token")
        .encode());

    FirebasePushGateway production = await(FirebasePushGateway.fromServiceAccount(vertx, worker, json));

    assertThat(production.name()).isEqualTo("firebase");
    assertThat(FirebaseApp.getApps()).extracting(FirebaseApp::getName).contains("frontline-push");
    await(production.close());
    assertThat(FirebaseApp.getApps()).extracting(FirebaseApp::getName).doesNotContain("frontline-push");
  }

  @Test
  void fromServiceAccountFailsForAMissingFile(@TempDir Path dir) {
    Future<FirebasePushGateway> result =
        FirebasePushGateway.fromServiceAccount(vertx, worker, dir.resolve("missing.json"));

    assertThatThrownBy(() -> await(result)).hasRootCauseInstanceOf(java.nio.file.NoSuchFileException.class);
  }

  // --- Retry-After parsing ---

  @Test
  void retryAfterParsesSecondsAndHttpDates() {
    Clock clock = Clock.fixed(Instant.parse("2026-11-26T10:00:00Z"), ZoneOffset.UTC);

    assertThat(FirebasePushGateway.parseRetryAfter("17", clock)).contains(Duration.ofSeconds(17));
    assertThat(FirebasePushGateway.parseRetryAfter(" 0 ", clock)).contains(Duration.ZERO);
    assertThat(FirebasePushGateway.parseRetryAfter("Thu, 26 Nov 2026 10:01:30 GMT", clock))
        .contains(Duration.ofSeconds(90));
    assertThat(FirebasePushGateway.parseRetryAfter("Thu, 26 Nov 2026 09:00:00 GMT", clock))
        .contains(Duration.ZERO);
    assertThat(FirebasePushGateway.parseRetryAfter("soon", clock)).isEmpty();
    assertThat(FirebasePushGateway.parseRetryAfter("", clock)).isEmpty();
  }

  // --- helpers ---

  private record SendEachCall(String thread, boolean onEventLoop, int size) {}

  /** A gateway over a real FirebaseApp whose sendEach calls are recorded (thread, batch size) before running. */
  private FirebasePushGateway observedGateway(List<SendEachCall> calls, Clock clock) {
    FirebaseApp app = FirebaseApp.initializeApp(fcm.firebaseOptions(), "push-observed-" + UUID.randomUUID());
    FirebaseMessaging messaging = FirebaseMessaging.getInstance(app);
    return new FirebasePushGateway(worker, app, batch -> {
      calls.add(new SendEachCall(Thread.currentThread().getName(), Context.isOnEventLoopThread(), batch.size()));
      return messaging.sendEach(batch);
    }, clock);
  }

  private List<PushResult> send(PushMessage... messages) {
    return await(gateway.send(List.of(messages)));
  }

  private static PushMessage push(String token) {
    return new PushMessage(token, "title " + token, "body", Map.of("token", token), null, true, null);
  }

  private static <T> T await(Future<T> future) {
    try {
      return future.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("future did not succeed", e);
    }
  }
}
