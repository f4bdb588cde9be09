package org.frontline.uploads;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import org.frontline.Frontline;
import org.frontline.identity.Caller;
import org.frontline.platform.http.DependencyUnavailableException;
import org.frontline.platform.objectstore.MultipartUploadGoneException;
import org.frontline.platform.objectstore.ObjectStore;
import org.frontline.reports.AttachmentLedger;
import org.frontline.platform.http.Problems;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.LogCapture;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.testing.TestEnvironment.await;
import static org.frontline.uploads.TusUploadTest.MIB;
import static org.frontline.uploads.TusUploadTest.XU;
import static org.frontline.uploads.TusUploadTest.query;

/**
 * Completion racing termination and the sweeper, and store failures after a multipart upload completed, each made
 * to happen by holding or failing single store calls of a tus endpoint of the test's own (same database and bucket).
 */
@FrontlineTest
class UploadRacesTest {
  private final HttpClient http = TestEnvironment.checkedHttp();
  private final UploadRequests uploads = new UploadRequests(http);

  /** A store whose calls the test can hold up or fail. */
  static final class Hooks {
    volatile Promise<Void> abortGate; // when set: abortMultipart waits for it
    final AtomicBoolean abortReached = new AtomicBoolean();
    volatile Promise<Void> completeGate; // when set: completeMultipart waits for it
    final AtomicBoolean completeReached = new AtomicBoolean();
    final AtomicBoolean failNextGet = new AtomicBoolean();
    /** Multipart uploads completed: S3 and MinIO forget their id (NoSuchUpload); s3proxy does not. */
    final java.util.Set<String> completed = java.util.concurrent.ConcurrentHashMap.newKeySet();
  }

  @SuppressWarnings("unchecked")
  private static ObjectStore hooked(ObjectStore real, Hooks hooks) {
    return (ObjectStore) java.lang.reflect.Proxy.newProxyInstance(ObjectStore.class.getClassLoader(),
        new Class<?>[] {ObjectStore.class}, (proxy, method, args) -> {
          if (method.getName().equals("abortMultipart") && hooks.abortGate != null) {
            hooks.abortReached.set(true);
            return hooks.abortGate.future().compose(v -> real.abortMultipart((String) args[0], (String) args[1]));
          }
          if ((method.getName().equals("uploadPart") || method.getName().equals("completeMultipart"))
              && hooks.completed.contains((String) args[1])) {
            // As MinioObjectStore reports S3's and MinIO's NoSuchUpload for a completed one.
            return Future.failedFuture(new MultipartUploadGoneException((String) args[0], (String) args[1]));
          }
          if (method.getName().equals("completeMultipart")) {
            String id = (String) args[1];
            Promise<Void> gate = hooks.completeGate;
            if (gate != null) {
              hooks.completeReached.set(true);
            }
            return (gate == null ? Future.succeededFuture() : gate.future())
                // Completed by another call while this one was held: what S3 answers to the later one.
                .compose(v -> hooks.completed.contains(id)
                    ? Future.failedFuture(new MultipartUploadGoneException((String) args[0], id))
                    : real.completeMultipart((String) args[0], id, (List<ObjectStore.Part>) args[2]))
                .onSuccess(x -> hooks.completed.add(id));
          }
          if (method.getName().equals("get") && hooks.failNextGet.compareAndSet(true, false)) {
            return Future.failedFuture(new DependencyUnavailableException("object store",
                new java.io.IOException("connection reset (injected)")));
          }
          try {
            return method.invoke(real, args);
          } catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause();
          }
        });
  }

  /** A tus endpoint like the service's (same database and bucket), on the hooked store; the caller is Xu. */
  private static int tusServer(TestEnvironment env, ObjectStore store) throws Exception {
    var pool = env.app().database().pool();
    UploadService service = new UploadService(new UploadRepository(pool), new AttachmentLedger(pool), store,
        env.app().audit(), Clock.systemUTC(), Frontline.UPLOAD_LIFETIME, env.app().blocking());
    Router router = Router.router(env.app().vertx());
    new TusUploadHandler(service, rc -> {
      rc.put("frontline.caller", new Caller(XU, List.of(), List.of()));
      rc.next();
    }).mount(router);
    HttpServer server = await(env.app().vertx().createHttpServer().requestHandler(router).listen(0, "127.0.0.1"));
    return server.actualPort();
  }

  // ---- A termination that loses to the completion says so ----

  @Test
  void aTerminationThatLosesToTheCompletionIsNot204(TestEnvironment env) throws Exception {
    Hooks hooks = new Hooks();
    int port = tusServer(env, hooked(env.app().objectStore(), hooks));
    Started u = started(env, port, 6 * MIB);
    int first = 5 * MIB + 10;
    assertThat(patch(port, u.location(), 0, Arrays.copyOf(u.data(), first)).statusCode()).isEqualTo(204);

    // DELETE: it reads the upload ACTIVE, then its abort is slow (an S3 round trip).
    hooks.abortGate = Promise.promise();
    CompletableFuture<HttpResponse<String>> delete = http.sendAsync(request(port, u.location())
        .method("DELETE", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).untilTrue(hooks.abortReached);
    // Meanwhile the phone's last PATCH completes the upload.
    HttpResponse<String> last = patch(port, u.location(), first,
        Arrays.copyOfRange(u.data(), first, u.data().length));
    assertThat(last.statusCode()).as(last.body()).isEqualTo(204);
    TusUploadTest.storedIntact(env, u.attachment(), u.data());
    hooks.abortGate.complete();
    HttpResponse<String> deleted = delete.get(30, TimeUnit.SECONDS);

    assertThat(query(env, "SELECT status FROM upload WHERE id = '" + u.id() + "'")).isEqualTo("COMPLETED");
    TusUploadTest.storedIntact(env, u.attachment(), u.data());
    assertThat(deleted.statusCode()).as("DELETE of an upload that was completed and stored meanwhile")
        .isEqualTo(404);
    assertThat(deleted.body()).contains("already complete");
  }

  @Test
  void aTerminationThatLosesToTheSweeperSaysTheUploadExpired(TestEnvironment env) throws Exception {
    Hooks hooks = new Hooks();
    int port = tusServer(env, hooked(env.app().objectStore(), hooks));
    Started u = started(env, port, 6 * MIB);
    assertThat(patch(port, u.location(), 0, Arrays.copyOf(u.data(), 5 * MIB + 10)).statusCode()).isEqualTo(204);

    hooks.abortGate = Promise.promise();
    CompletableFuture<HttpResponse<String>> delete = http.sendAsync(request(port, u.location())
        .method("DELETE", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).untilTrue(hooks.abortReached);
    // Meanwhile the upload passes its expiry and the sweeper ends it.
    TusUploadTest.update(env, "UPDATE upload SET expires_at = now() - interval '1 minute' WHERE id = '" + u.id() + "'");
    await(env.app().uploadSweeper().sweep());
    assertThat(query(env, "SELECT status FROM upload WHERE id = '" + u.id() + "'")).isEqualTo("EXPIRED");
    hooks.abortGate.complete();
    HttpResponse<String> deleted = delete.get(30, TimeUnit.SECONDS);

    assertThat(deleted.statusCode()).as(deleted.body()).isEqualTo(404);
    assertThat(deleted.body()).contains("expired").doesNotContain("complete");
    assertThat(query(env, "SELECT status FROM upload WHERE id = '" + u.id() + "'")).isEqualTo("EXPIRED");
    assertThat(await(env.app().objectStore().listMultipartUploads("reports/" + u.report() + "/"))).isEmpty();
  }

  // ---- A termination while the last PATCH completes: the PATCH is told the upload is over ----

  @Test
  void aPatchCompletingAnUploadTerminatedMeanwhileIs404AndNoInternalError(TestEnvironment env) throws Exception {
    Hooks hooks = new Hooks();
    int port = tusServer(env, hooked(env.app().objectStore(), hooks));
    Started u = started(env, port, 6 * MIB);
    int first = 5 * MIB + 10;
    assertThat(patch(port, u.location(), 0, Arrays.copyOf(u.data(), first)).statusCode()).isEqualTo(204);

    try (LogCapture problems = LogCapture.of(Problems.class, "%level %msg%n")) {
      hooks.completeGate = Promise.promise();
      CompletableFuture<HttpResponse<String>> last = http.sendAsync(request(port, u.location())
          .header("Upload-Offset", Integer.toString(first)).header("Content-Type", "application/offset+octet-stream")
          .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(
              Arrays.copyOfRange(u.data(), first, u.data().length)))
          .build(), HttpResponse.BodyHandlers.ofString());
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).untilTrue(hooks.completeReached);
      // The phone gives up: its DELETE aborts the multipart upload the PATCH is completing.
      assertThat(send(port, "DELETE", u.location(), null).statusCode()).isEqualTo(204);
      hooks.completeGate.complete();
      HttpResponse<String> answer = last.get(30, TimeUnit.SECONDS);

      assertThat(answer.statusCode()).as(answer.body()).isEqualTo(404);
      assertThat(answer.body()).contains("terminated meanwhile");
      assertThat(problems.text()).doesNotContain("ERROR").doesNotContain("unhandled");
    }
    assertThat(query(env, "SELECT status FROM upload WHERE id = '" + u.id() + "'")).isEqualTo("ABORTED");
    assertThat(query(env, "SELECT status FROM attachment WHERE id = '" + u.attachment() + "'")).isEqualTo("PENDING");
    assertThat(await(env.app().objectStore().listMultipartUploads("reports/" + u.report() + "/"))).isEmpty();
  }

  // ---- Two instances complete one multipart upload: the later one is told it is complete ----

  /**
   * A phone's last PATCH is slow to complete and its retry goes to another instance, which completes and stores the
   * upload first; the first one's CompleteMultipartUpload then finds the multipart upload gone (S3 and MinIO forget
   * a completed one). It answers 409, as the contract says of a PATCH completing an upload another request already
   * completed (it was a 500, logged as an unhandled failure), and the stored object stays.
   */
  @Test
  void aCompletionThatFindsItsMultipartUploadCompletedByAnotherInstanceIs409(TestEnvironment env) throws Exception {
    Hooks hooks = new Hooks();
    ObjectStore store = hooked(env.app().objectStore(), hooks);
    int one = tusServer(env, store);
    int two = tusServer(env, store); // another instance: its own service, same database and bucket
    Started u = started(env, one, 6 * MIB);
    int first = 5 * MIB + 10;
    assertThat(patch(one, u.location(), 0, Arrays.copyOf(u.data(), first)).statusCode()).isEqualTo(204);
    byte[] rest = Arrays.copyOfRange(u.data(), first, u.data().length);

    String key;
    try (LogCapture problems = LogCapture.of(Problems.class, "%level %msg%n")) {
      Promise<Void> gate = Promise.promise();
      hooks.completeGate = gate;
      CompletableFuture<HttpResponse<String>> slow = http.sendAsync(request(one, u.location())
          .header("Upload-Offset", Integer.toString(first)).header("Content-Type", "application/offset+octet-stream")
          .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(rest)).build(), HttpResponse.BodyHandlers.ofString());
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).untilTrue(hooks.completeReached);
      hooks.completeGate = null;
      HttpResponse<String> retry = patch(two, u.location(), first, rest);
      assertThat(retry.statusCode()).as(retry.body()).isEqualTo(204);
      key = TusUploadTest.storedIntact(env, u.attachment(), u.data());
      gate.complete();
      HttpResponse<String> answer = slow.get(30, TimeUnit.SECONDS);

      assertThat(answer.statusCode()).as(answer.body()).isEqualTo(409);
      assertThat(answer.body()).contains("already complete");
      assertThat(problems.text()).doesNotContain("ERROR").doesNotContain("unhandled");
    }
    assertThat(TusUploadTest.storedIntact(env, u.attachment(), u.data())).isEqualTo(key);
    assertThat(query(env, "SELECT status FROM upload WHERE id = '" + u.id() + "'")).isEqualTo("COMPLETED");
    assertThat(query(env, "SELECT count(*) FROM audit_log WHERE action = 'attachment.stored' AND object_id = '"
        + u.attachment() + "'")).isEqualTo("1");
    assertThat(await(env.app().objectStore().listMultipartUploads("reports/" + u.report() + "/"))).isEmpty();
    HttpResponse<String> head = send(one, "HEAD", u.location(), null);
    assertThat(head.headers().firstValue("Upload-Offset")).hasValue(Integer.toString(u.data().length));
  }

  // ---- A multipart upload completed by a process that died before its commit: the upload ends, the client starts anew

  @Test
  void anUploadWhoseMultipartUploadIsGoneEndsAndANewOneStoresThePhoto(TestEnvironment env) throws Exception {
    Hooks hooks = new Hooks();
    ObjectStore store = hooked(env.app().objectStore(), hooks);
    int port = tusServer(env, store);
    Started u = started(env, port, 6 * MIB);
    assertThat(patch(port, u.location(), 0, Arrays.copyOf(u.data(), 5 * MIB + 10)).statusCode()).isEqualTo(204);
    // The instance that wrote it completed its multipart upload and died before its transaction.
    String key = query(env, "SELECT object_key FROM upload WHERE id = '" + u.id() + "'");
    String multipart = query(env, "SELECT multipart_upload_id FROM upload WHERE id = '" + u.id() + "'");
    List<ObjectStore.Part> parts = await(env.app().objectStore().listParts(key, multipart));
    await(store.completeMultipart(key, multipart, parts));
    assertThat(await(env.app().objectStore().stat(key))).isPresent();

    // The phone resumes: its PATCH cannot go on (NoSuchUpload), so the upload ends and says so.
    long offset = Long.parseLong(send(port, "HEAD", u.location(), null).headers().firstValue("Upload-Offset")
        .orElseThrow());
    HttpResponse<String> resumed = patch(port, u.location(), offset,
        Arrays.copyOfRange(u.data(), (int) offset, u.data().length));
    assertThat(resumed.statusCode()).as(resumed.body()).isEqualTo(404);
    assertThat(resumed.body()).contains("can no longer be continued");
    assertThat(query(env, "SELECT status FROM upload WHERE id = '" + u.id() + "'")).isEqualTo("FAILED");
    assertThat(await(env.app().objectStore().stat(key))).isEmpty();
    headIs404AndANewUploadStoresThePhoto(env, port, u);
  }

  // ---- A store failure once the multipart upload is complete ends the upload; the client starts anew ----

  @Test
  void aStoreFailureOnceTheMultipartUploadIsCompleteEndsTheUploadAndANewOneStoresIt(TestEnvironment env)
      throws Exception {
    Hooks hooks = new Hooks();
    int port = tusServer(env, hooked(env.app().objectStore(), hooks));
    Started u = started(env, port, 6 * MIB + 3);
    String key = query(env, "SELECT object_key FROM upload WHERE id = '" + u.id() + "'");

    hooks.failNextGet.set(true); // the head/tail GET right after completeMultipart
    HttpResponse<String> whole = patch(port, u.location(), 0, u.data());
    assertThat(whole.statusCode()).as(whole.body()).isGreaterThanOrEqualTo(500);
    // The multipart upload takes no more parts (S3 forgets a completed one): the upload is over, nothing left of it.
    assertThat(query(env, "SELECT status FROM upload WHERE id = '" + u.id() + "'")).isEqualTo("FAILED");
    assertThat(await(env.app().objectStore().stat(key))).isEmpty();
    assertThat(await(env.app().objectStore().listMultipartUploads("reports/" + u.report() + "/"))).isEmpty();
    assertThat(query(env, "SELECT status FROM attachment WHERE id = '" + u.attachment() + "'")).isEqualTo("PENDING");

    headIs404AndANewUploadStoresThePhoto(env, port, u);
  }

  // ---- A clean-up owed while the sweeper cleans the same upload stays owed ----

  @Test
  void aCleanUpOwedWhileTheSweeperCleansTheSameUploadIsNotLost(TestEnvironment env) throws Exception {
    ObjectStore real = env.app().objectStore();
    Promise<Void> putGate = Promise.promise();
    AtomicBoolean putReached = new AtomicBoolean();
    // The service's store: its PUT waits for the test; its delete fails (the store hiccups).
    ObjectStore serviceStore = (ObjectStore) java.lang.reflect.Proxy.newProxyInstance(
        ObjectStore.class.getClassLoader(), new Class<?>[] {ObjectStore.class}, (proxy, method, args) -> {
          if (method.getName().equals("putBytes")) {
            putReached.set(true);
            return putGate.future().compose(v -> {
              try {
                return (Future<?>) invoke(method, real, args);
              } catch (Throwable t) {
                return Future.failedFuture(t);
              }
            });
          }
          if (method.getName().equals("delete")) {
            return Future.failedFuture(new DependencyUnavailableException("object store",
                new java.io.IOException("connection reset (injected)")));
          }
          return invoke(method, real, args);
        });
    // The sweeper's store: after its delete is done, it waits for the test before the sweeper records "cleaned".
    Promise<Void> sweepGate = Promise.promise();
    AtomicBoolean sweepDeleted = new AtomicBoolean();
    ObjectStore sweeperStore = (ObjectStore) java.lang.reflect.Proxy.newProxyInstance(
        ObjectStore.class.getClassLoader(), new Class<?>[] {ObjectStore.class}, (proxy, method, args) -> {
          if (method.getName().equals("delete")) {
            return ((Future<?>) invoke(method, real, args)).compose(v -> {
              sweepDeleted.set(true);
              return sweepGate.future();
            }).mapEmpty();
          }
          return invoke(method, real, args);
        });
    int port = tusServer(env, serviceStore);
    Started u = started(env, port, 200_000);
    String key = query(env, "SELECT object_key FROM upload WHERE id = '" + u.id() + "'");

    // The phone's PATCH is storing the whole photo (one PUT) as the upload expires.
    CompletableFuture<HttpResponse<String>> patch = http.sendAsync(request(port, u.location())
        .header("Upload-Offset", "0").header("Content-Type", "application/offset+octet-stream")
        .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(u.data())).build(),
        HttpResponse.BodyHandlers.ofString());
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).untilTrue(putReached);
    try (Connection c = env.jdbc(); Statement s = c.createStatement()) {
      s.executeUpdate("UPDATE upload SET expires_at = now() - interval '1 second' WHERE id = '" + u.id() + "'");
    }
    UploadSweeper sweeper = new UploadSweeper(new UploadRepository(env.app().database().pool()), sweeperStore,
        Clock.systemUTC(), Frontline.UPLOAD_LIFETIME);
    Future<Integer> sweep = sweeper.sweep(); // expires it, claims its clean-up, deletes the (still empty) key
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).untilTrue(sweepDeleted);
    putGate.complete(); // the PUT lands; the completion finds the upload EXPIRED, its delete fails: owed
    HttpResponse<String> answer = patch.get(30, TimeUnit.SECONDS);
    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(409); // the upload ended meanwhile
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> "t".equals(query(env,
        "SELECT (cleanup_after <= now()) FROM upload WHERE id = '" + u.id() + "'")));
    sweepGate.complete();
    await(sweep);

    // Later sweeps (the lease long over) must remove the object.
    try (Connection c = env.jdbc(); Statement s = c.createStatement()) {
      s.executeUpdate("UPDATE upload SET cleanup_after = now() WHERE id = '" + u.id()
          + "' AND cleanup_after IS NOT NULL");
    }
    await(env.app().uploadSweeper().sweep());
    awaitOwed(env, u.id(), "EXPIRED second look");
    assertThat(query(env, "SELECT status FROM attachment WHERE id = '" + u.attachment() + "'")).isEqualTo("PENDING");
    assertThat(await(real.stat(key))).as("the expired upload's object at " + key).isEmpty();
  }

  // ---- A server that dies right after a store write leaves nothing for good ----

  /**
   * The phone's PATCH is storing the whole photo (one PUT) as the upload expires; the sweep expires it and cleans
   * its key before the PUT lands, and the server dies right after its PUT (its transaction, which would have failed
   * and deleted the object, never runs). The upload owes one more clean-up an hour after it ended, which removes
   * the object; before, the sweep had cleared what it owed and the object stayed for good.
   */
  @Test
  void anObjectPutAfterTheSweepCleanedTheUploadByAServerThatThenDiedIsRemovedAnHourLater(TestEnvironment env)
      throws Exception {
    ObjectStore real = env.app().objectStore();
    Promise<Void> putGate = Promise.promise();
    AtomicBoolean putReached = new AtomicBoolean();
    int port = tusServer(env, diesAt(real, "putBytes", true, putGate, putReached));
    Started u = started(env, port, 200_000);
    String key = query(env, "SELECT object_key FROM upload WHERE id = '" + u.id() + "'");
    CompletableFuture<HttpResponse<String>> patch = http.sendAsync(request(port, u.location())
        .header("Upload-Offset", "0").header("Content-Type", "application/offset+octet-stream")
        .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(u.data())).build(),
        HttpResponse.BodyHandlers.ofString());
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).untilTrue(putReached);
    update(env, "UPDATE upload SET expires_at = now() - interval '1 second' WHERE id = '" + u.id() + "'");
    await(env.app().uploadSweeper().sweep()); // expires it, cleans its key (still empty)
    awaitOwed(env, u.id(), "EXPIRED second look");

    putGate.complete(); // the PUT lands, then the server is gone
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> await(real.stat(key)).isPresent());
    patch.cancel(true);
    anHourLater(env, u.id());
    await(env.app().uploadSweeper().sweep());

    awaitGone(real, key); // the service's own sweep may be the one that takes it
    awaitOwed(env, u.id(), "EXPIRED clean");
    assertThat(query(env, "SELECT status FROM attachment WHERE id = '" + u.attachment() + "'")).isEqualTo("PENDING");
  }

  /**
   * A server ends an upload (FAILED: its completed bytes do not match the declared SHA-256; ABORTED: the phone
   * terminates it after a completion whose server died before its commit), then dies before it deletes the object
   * at the key. The upload owes the sweeper a clean-up an hour after it ended, which deletes it; before, nothing was
   * owed (the delete was never even tried) and the object stayed for good.
   */
  @Test
  void anObjectWhoseServerDiedBeforeDeletingItWhenTheUploadEndedIsRemovedAnHourLater(TestEnvironment env)
      throws Exception {
    ObjectStore real = env.app().objectStore();
    for (String end : List.of("FAILED", "ABORTED")) {
      AtomicBoolean deleteReached = new AtomicBoolean();
      int port = tusServer(env, diesAt(real, "delete", false, null, deleteReached));
      Started u = started(env, port, "FAILED".equals(end) ? 6 * MIB + 7 : 200_000);
      String key = query(env, "SELECT object_key FROM upload WHERE id = '" + u.id() + "'");
      CompletableFuture<HttpResponse<String>> ending;
      if ("FAILED".equals(end)) {
        byte[] sent = u.data().clone();
        sent[sent.length - 1] ^= 1;
        ending = http.sendAsync(request(port, u.location()).header("Upload-Offset", "0")
            .header("Content-Type", "application/offset+octet-stream")
            .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(sent)).build(),
            HttpResponse.BodyHandlers.ofString());
      } else {
        await(real.putBytes(key, Buffer.buffer(u.data()), "image/jpeg")); // a completion died before its commit
        ending = http.sendAsync(request(port, u.location()).method("DELETE", HttpRequest.BodyPublishers.noBody())
            .build(), HttpResponse.BodyHandlers.ofString());
      }
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).untilTrue(deleteReached);
      ending.cancel(true);
      assertThat(await(real.stat(key))).as("%s: the object its server did not delete", end).isPresent();
      awaitOwed(env, u.id(), end + " second look");

      anHourLater(env, u.id());
      await(env.app().uploadSweeper().sweep());

      awaitGone(real, key);
      assertThat(await(real.listMultipartUploads("reports/" + u.report() + "/"))).isEmpty();
      awaitOwed(env, u.id(), end + " clean");
      assertThat(query(env, "SELECT status FROM attachment WHERE id = '" + u.attachment() + "'"))
          .isEqualTo("PENDING");
    }
  }

  /**
   * The real store, but {@code method} is where its server dies: it waits for {@code gate} (when given), runs when
   * {@code runs}, and then the server is gone (the future never completes: nothing after it runs).
   */
  private static ObjectStore diesAt(ObjectStore real, String method, boolean runs, Promise<Void> gate,
                                    AtomicBoolean reached) {
    return (ObjectStore) java.lang.reflect.Proxy.newProxyInstance(ObjectStore.class.getClassLoader(),
        new Class<?>[] {ObjectStore.class}, (proxy, m, args) -> {
          if (!m.getName().equals(method)) {
            return invoke(m, real, args);
          }
          reached.set(true);
          Future<Void> go = gate == null ? Future.succeededFuture() : gate.future();
          return go.compose(v -> {
            try {
              return runs ? (Future<?>) invoke(m, real, args) : Future.succeededFuture();
            } catch (Throwable t) {
              return Future.failedFuture(t);
            }
          }).compose(done -> Promise.promise().future());
        });
  }

  /** What the upload's row owes the store: "STATUS clean", "STATUS second look" (an hour after it ended), "STATUS owed". */
  static void awaitOwed(TestEnvironment env, String id, String expected) {
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(query(env,
        "SELECT status || ' ' || CASE WHEN cleanup_after IS NULL THEN 'clean' WHEN cleanup_after = finished_at"
            + " + interval '" + UploadRepository.LATE_WRITES.toSeconds() + " seconds' THEN 'second look'"
            + " ELSE 'owed' END FROM upload WHERE id = '" + id + "'")).isEqualTo(expected));
  }

  private static void awaitGone(ObjectStore store, String key) {
    org.awaitility.Awaitility.await("the object at " + key + " deleted").atMost(Duration.ofSeconds(20))
        .until(() -> await(store.stat(key)).isEmpty());
  }

  /** As if the upload had ended {@link UploadRepository#LATE_WRITES} earlier: its second look is due now. */
  static void anHourLater(TestEnvironment env, String id) throws Exception {
    update(env, "UPDATE upload SET finished_at = finished_at - interval '" + UploadRepository.LATE_WRITES.toSeconds()
        + " seconds', cleanup_after = cleanup_after - interval '" + UploadRepository.LATE_WRITES.toSeconds()
        + " seconds' WHERE id = '" + id + "' AND cleanup_after IS NOT NULL");
  }

  private static void update(TestEnvironment env, String sql) throws Exception {
    try (Connection c = env.jdbc(); Statement s = c.createStatement()) {
      s.executeUpdate(sql);
    }
  }

  private static Object invoke(java.lang.reflect.Method method, Object target, Object[] args) throws Throwable {
    try {
      return method.invoke(target, args);
    } catch (java.lang.reflect.InvocationTargetException e) {
      throw e.getCause();
    }
  }

  /** A report of Xu's with one photo of {@code size} bytes, declared, and its upload created on {@code port}. */
  private record Started(UUID report, UUID attachment, byte[] data, String location, String id) {}

  private Started started(TestEnvironment env, int port, int size) throws Exception {
    byte[] data = TusUploadTest.photo(size);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    TusUploadTest.insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    String location = uploads.create(port, "unused", report, a, data.length);
    return new Started(report, a, data, location, location.substring(location.lastIndexOf('/') + 1));
  }

  /** The phone resumes as tus says: HEAD is 404, so it creates a new upload, which stores the photo. */
  private void headIs404AndANewUploadStoresThePhoto(TestEnvironment env, int port, Started u) throws Exception {
    assertThat(send(port, "HEAD", u.location(), null).statusCode()).isEqualTo(404);
    String again = uploads.create(port, "unused", u.report(), u.attachment(), u.data().length);
    HttpResponse<String> stored = patch(port, again, 0, u.data());
    assertThat(stored.statusCode()).as(stored.body()).isEqualTo(204);
    TusUploadTest.storedIntact(env, u.attachment(), u.data());
  }

  // ---- helpers ----

  private HttpRequest.Builder request(int port, String path) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).header("Tus-Resumable", "1.0.0")
        .header("Authorization", "Bearer unused");
  }

  private HttpResponse<String> send(int port, String method, String path, byte[] body) throws Exception {
    return http.send(request(port, path).method(method, body == null ? HttpRequest.BodyPublishers.noBody()
        : HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> patch(int port, String location, long offset, byte[] body) throws Exception {
    return http.send(request(port, location).header("Upload-Offset", Long.toString(offset))
        .header("Content-Type", "application/offset+octet-stream")
        .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
  }
}
