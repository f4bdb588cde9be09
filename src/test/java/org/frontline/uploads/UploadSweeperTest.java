package org.frontline.uploads;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import org.frontline.Frontline;
import org.frontline.media.TestImages;
import org.frontline.platform.objectstore.ObjectStore;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.StoreHttp;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

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

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.testing.TestEnvironment.await;
import static org.frontline.uploads.TusUploadTest.MIB;
import static org.frontline.uploads.TusUploadTest.XU;
import static org.frontline.uploads.TusUploadTest.query;
import static org.frontline.uploads.UploadRequests.uploadId;

/**
 * The upload sweeper leaves nothing behind in the store (issue 5, requirement 11): objects of multipart uploads
 * completed by a server that died before recording it, clean-ups the store refused when an upload ended (done by a
 * later sweep), and direct-upload staging objects no completion can use. Real HTTP, PostgreSQL and the in-process
 * S3 server, whose bucket is listed through the S3 API; its failures are real (the server stopped).
 */
@FrontlineTest
class UploadSweeperTest {
  private final HttpClient http = TestEnvironment.checkedHttp();
  private final UploadRequests uploads = new UploadRequests(http);

  // ---- objects of expired uploads ----

  /**
   * The server completed the multipart upload, then died before its database transaction: the row stays ACTIVE
   * and expires. The abort finds no multipart upload (it is complete); the object at the key is deleted.
   */
  @Test
  void aMultipartUploadCompletedBeforeItsServerDiedLeavesNoObjectOnceExpired(TestEnvironment env) throws Exception {
    String token = token(env);
    byte[] data = TusUploadTest.photo(6 * MIB);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    TusUploadTest.insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    String location = uploads.create(env, token, report, a, data.length);
    String id = location.substring(location.lastIndexOf('/') + 1);
    String key = completedBeforeACrash(env, token, location, data);
    assertThat(DirectUploadTest.objectKeys(env, "reports/" + report + "/")).containsExactly(key);

    update(env, "UPDATE upload SET expires_at = now() - interval '1 minute' WHERE id = '" + id + "'");
    await(env.app().uploadSweeper().sweep());

    assertThat(DirectUploadTest.objectKeys(env, "reports/" + report + "/")).as("orphan objects").isEmpty();
    assertThat(await(env.app().objectStore().listMultipartUploads("reports/" + report + "/"))).isEmpty();
    UploadRacesTest.awaitOwed(env, id, "EXPIRED second look"); // an hour after it ended: a late PUT
    assertThat(query(env, "SELECT status FROM attachment WHERE id = '" + a + "'")).isEqualTo("PENDING");
    // Once more: nothing is owed, nothing changes.
    await(env.app().uploadSweeper().sweep());
    assertThat(DirectUploadTest.objectKeys(env, "reports/" + report + "/")).isEmpty();
  }

  /**
   * The server started the multipart upload, then died before recording its id (the row is written first): the
   * row expires without one, and the sweep finds the multipart upload at the upload's key and aborts it. Another
   * upload's multipart upload under the same report stays.
   */
  @Test
  void aMultipartUploadItsServerNeverRecordedIsAbortedOnceExpired(TestEnvironment env) throws Exception {
    String token = token(env);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    UUID b = UUID.randomUUID();
    byte[] data = TusUploadTest.photo(6 * MIB);
    TusUploadTest.insertReport(env, report, XU, new UUID[] {a, b}, new byte[][] {data, data});
    String lost = uploadId(uploads.create(env, token, report, a, data.length));
    String live = uploadId(uploads.create(env, token, report, b, data.length));
    update(env, "UPDATE upload SET multipart_upload_id = NULL WHERE id = '" + lost + "'");
    String lostKey = query(env, "SELECT object_key FROM upload WHERE id = '" + lost + "'");
    String liveKey = query(env, "SELECT object_key FROM upload WHERE id = '" + live + "'");
    assertThat(multipartKeys(env, report)).containsExactlyInAnyOrder(lostKey, liveKey);

    update(env, "UPDATE upload SET expires_at = now() - interval '1 minute' WHERE id = '" + lost + "'");
    await(env.app().uploadSweeper().sweep());

    assertThat(multipartKeys(env, report)).as("multipart uploads left").containsExactly(liveKey);
    UploadRacesTest.awaitOwed(env, lost, "EXPIRED second look");
    assertThat(query(env, "SELECT status FROM upload WHERE id = '" + live + "'")).isEqualTo("ACTIVE");
  }

  /**
   * A creation whose multipart upload the store did not start answers 503 and leaves a FAILED upload owing a
   * clean-up (the store may have started it and lost the answer), done by the next sweep; nothing is left.
   */
  @Test
  void aCreationTheStoreRefusedIsAnswered503AndLeavesNothing(TestEnvironment env) throws Exception {
    String token = token(env);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    byte[] data = TusUploadTest.photo(6 * MIB);
    TusUploadTest.insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    HttpResponse<String> refused = whileTheStoreIsDown(env, () -> uploads.createRaw(env, token, report, a,
        data.length));
    assertThat(refused.statusCode()).as(refused.body()).isEqualTo(503);
    assertThat(refused.headers().firstValue("Location")).isEmpty();
    assertThat(query(env, "SELECT status || ' ' || (cleanup_after IS NOT NULL) FROM upload WHERE report_id = '"
        + report + "'")).isEqualTo("FAILED true");

    await(env.app().uploadSweeper().sweep());

    assertThat(multipartKeys(env, report)).isEmpty();
    assertThat(DirectUploadTest.objectKeys(env, "reports/" + report + "/")).isEmpty();
    UploadRacesTest.awaitOwed(env, query(env, "SELECT id FROM upload WHERE report_id = '" + report + "'"),
        "FAILED second look");
    // The phone starts over: a new upload stores the attachment.
    String again = uploads.create(env, token, report, a, data.length);
    assertThat(patch(env, token, again, 0, data).statusCode()).isEqualTo(204);
    TusUploadTest.storedIntact(env, a, data);
  }

  private static List<String> multipartKeys(TestEnvironment env, UUID report) {
    return await(env.app().objectStore().listMultipartUploads("reports/" + report + "/")).stream()
        .map(ObjectStore.MultipartUpload::key).toList();
  }

  /**
   * The server that completed the upload in the store died before its transaction (a multipart upload completed,
   * or the single PUT of an upload held whole); the phone, its upload stuck, terminates it: 204, and nothing is left
   * at the key, now or after a sweep. The abort of a completed multipart upload succeeds without removing anything
   * (NoSuchUpload), and an ABORTED upload owed no clean-up: its object stayed for good.
   */
  @Test
  void aTerminationAfterACompletionWhoseServerDiedLeavesNoObject(TestEnvironment env) throws Exception {
    String token = token(env);
    for (boolean multipart : new boolean[] {true, false}) {
      byte[] data = TusUploadTest.photo(multipart ? 6 * MIB : 200_000);
      UUID report = UUID.randomUUID();
      UUID a = UUID.randomUUID();
      TusUploadTest.insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
      String location = uploads.create(env, token, report, a, data.length);
      String id = uploadId(location);
      String key;
      if (multipart) {
        key = completedBeforeACrash(env, token, location, data);
      } else {
        key = query(env, "SELECT object_key FROM upload WHERE id = '" + id + "'");
        await(env.app().objectStore().putBytes(key, Buffer.buffer(data), "image/jpeg"));
      }
      assertThat(DirectUploadTest.objectKeys(env, "reports/" + report + "/")).containsExactly(key);

      HttpResponse<String> deleted = http.send(HttpRequest.newBuilder(env.apiUri(location))
          .header("Tus-Resumable", "1.0.0").header("Authorization", "Bearer " + token).DELETE().build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(deleted.statusCode()).as(deleted.body()).isEqualTo(204);
      await(env.app().uploadSweeper().sweep());

      assertThat(DirectUploadTest.objectKeys(env, "reports/" + report + "/")).as("orphan objects (multipart: %s)",
          multipart).isEmpty();
      assertThat(await(env.app().objectStore().listMultipartUploads("reports/" + report + "/"))).isEmpty();
      UploadRacesTest.awaitOwed(env, id, "ABORTED second look");
      assertThat(query(env, "SELECT status FROM attachment WHERE id = '" + a + "'")).isEqualTo("PENDING");
    }
  }

  /**
   * An attachment stored by a second upload keeps its object while the first one's leftover goes; a clean-up owed
   * by an upload whose attachment is stored under its very key (stored()'s recovery after a commit whose answer was
   * lost) never deletes that object.
   */
  @Test
  void theSweepNeverDeletesTheObjectAnAttachmentIsStoredUnder(TestEnvironment env) throws Exception {
    String token = token(env);
    byte[] data = TusUploadTest.photo(6 * MIB + 5);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    TusUploadTest.insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    String first = uploads.create(env, token, report, a, data.length);
    String leftover = completedBeforeACrash(env, token, first, data);
    // The phone starts over with a new upload, which stores the attachment.
    String second = uploads.create(env, token, report, a, data.length);
    assertThat(patch(env, token, second, 0, data).statusCode()).isEqualTo(204);
    String stored = TusUploadTest.storedIntact(env, a, data);
    assertThat(DirectUploadTest.objectKeys(env, "reports/" + report + "/")).containsExactlyInAnyOrder(leftover,
        stored);

    update(env, "UPDATE upload SET expires_at = now() - interval '1 minute' WHERE id = '" + uploadId(first) + "'");
    update(env, "UPDATE upload SET cleanup_after = now() WHERE id = '" + uploadId(second) + "'");
    await(env.app().uploadSweeper().sweep());
    await(env.app().uploadSweeper().sweep());

    assertThat(DirectUploadTest.objectKeys(env, "reports/" + report + "/")).containsExactly(stored);
    TusUploadTest.storedIntact(env, a, data);
    UploadRacesTest.awaitOwed(env, uploadId(first), "EXPIRED second look");
    UploadRacesTest.awaitOwed(env, uploadId(second), "COMPLETED clean");
  }

  // ---- clean-ups the store refused ----

  /** The head breaks a content rule while the store is down: 415 all the same, and a later sweep aborts. */
  @Test
  void anAbortTheStoreRefusedWhenAnUploadWasRefusedIsDoneByTheSweeper(TestEnvironment env) throws Exception {
    String token = token(env);
    byte[] gif = TestImages.concat(TestImages.ascii("GIF89a"), new byte[] {1, 0, 1, 0, 0, 0, 0},
        new byte[6 * MIB]);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    TusUploadTest.insertReport(env, report, XU, new UUID[] {a}, new byte[][] {gif});
    String location = uploads.create(env, token, report, a, gif.length);
    String id = uploadId(location);
    assertThat(await(env.app().objectStore().listMultipartUploads("reports/" + report + "/"))).hasSize(1);

    HttpResponse<String> refused;
    refused = whileTheStoreIsDown(env, () -> patch(env, token, location, 0, Arrays.copyOf(gif, 300 * 1024)));

    assertThat(refused.statusCode()).as(refused.body()).isEqualTo(415);
    assertThat(query(env, "SELECT status || ' ' || (cleanup_after IS NOT NULL) FROM upload WHERE id = '" + id + "'"))
        .isEqualTo("FAILED true");
    assertThat(await(env.app().objectStore().listMultipartUploads("reports/" + report + "/"))).hasSize(1);
    sweepOwed(env, id);
    assertThat(await(env.app().objectStore().listMultipartUploads("reports/" + report + "/"))).isEmpty();
    assertThat(DirectUploadTest.objectKeys(env, "reports/" + report + "/")).isEmpty();
    UploadRacesTest.awaitOwed(env, id, "FAILED second look");
  }

  /**
   * The attachment is stored (by another completion) while this upload's transaction waits for its row; the store
   * goes down before this upload's recovery deletes the object it wrote: 409 as ever, and a later sweep deletes it.
   */
  @Test
  void aDeleteTheStoreRefusedAfterTheAttachmentWasStoredElsewhereIsDoneByTheSweeper(TestEnvironment env)
      throws Exception {
    String token = token(env);
    byte[] data = TusUploadTest.photo(300_000);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    TusUploadTest.insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    String location = uploads.create(env, token, report, a, data.length);
    String id = uploadId(location);
    String key = query(env, "SELECT object_key FROM upload WHERE id = '" + id + "'");
    String elsewhere = "reports/" + report + "/" + a + "/" + UUID.randomUUID();

    // The upload's object is written and its transaction waits for the attachment's row.
    HttpResponse<String> answer = lostWhileTheStoreIsDown(env, a, elsewhere, patchRequest(env, token, location, 0,
        data), () -> assertThat(DirectUploadTest.objectKeys(env, "reports/" + report + "/")).containsExactly(key));

    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(409);
    assertThat(query(env, "SELECT status || ' ' || (cleanup_after IS NOT NULL) FROM upload WHERE id = '" + id + "'"))
        .isEqualTo("FAILED true");
    assertThat(DirectUploadTest.objectKeys(env, "reports/" + report + "/")).containsExactly(key);
    sweepOwed(env, id);
    assertThat(DirectUploadTest.objectKeys(env, "reports/" + report + "/")).isEmpty();
    UploadRacesTest.awaitOwed(env, id, "FAILED second look");
    assertThat(query(env, "SELECT object_key FROM attachment WHERE id = '" + a + "'")).isEqualTo(elsewhere);
  }

  /** Bytes that do not match the declared SHA-256 while the store is down: 422 all the same, the sweeper deletes. */
  @Test
  void aRejectionWhoseDeleteTheStoreRefusedIsAnsweredAndTheSweeperDeletes(TestEnvironment env) throws Exception {
    String token = token(env);
    byte[] declared = TusUploadTest.photo(200_000);
    byte[] sent = declared.clone();
    sent[sent.length - 1] ^= 1;
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    TusUploadTest.insertReport(env, report, XU, new UUID[] {a}, new byte[][] {declared});
    String location = uploads.create(env, token, report, a, declared.length);
    String id = uploadId(location);

    HttpResponse<String> r;
    r = whileTheStoreIsDown(env, () -> patch(env, token, location, 0, sent));

    assertThat(r.statusCode()).as(r.body()).isEqualTo(422);
    assertThat(query(env, "SELECT status || ' ' || (cleanup_after IS NOT NULL) FROM upload WHERE id = '" + id + "'"))
        .isEqualTo("FAILED true");
    assertThat(query(env, "SELECT status || ' ' || last_rejection FROM attachment WHERE id = '" + a + "'"))
        .startsWith("PENDING sha256 mismatch");
    sweepOwed(env, id);
    UploadRacesTest.awaitOwed(env, id, "FAILED second look");
    assertThat(DirectUploadTest.objectKeys(env, "reports/" + report + "/")).isEmpty();
  }

  // ---- direct-upload staging objects ----

  /**
   * Staging objects go when their attachment was stored (by tus, or put again through a still-valid URL after the
   * completion) or when they are older than a completion may come (the upload lifetime); a pending attachment's
   * recent one stays, and can still be completed.
   */
  @Test
  void stagingObjectsNoCompletionCanUseAreSweptAndAUsableOneIsKept(TestEnvironment env) throws Exception {
    String token = token(env);
    UUID report = UUID.randomUUID();
    UUID never = UUID.randomUUID();
    UUID viaTus = UUID.randomUUID();
    UUID putAgain = UUID.randomUUID();
    UUID later = UUID.randomUUID();
    byte[][] photos = {TusUploadTest.photo(100_001), TusUploadTest.photo(100_002), TusUploadTest.photo(100_003),
        TusUploadTest.photo(100_004)};
    TusUploadTest.insertReport(env, report, XU, new UUID[] {never, viaTus, putAgain, later}, photos);
    String staging = "uploads/direct/" + report + "/";

    // Put, then never completed.
    assertThat(StoreHttp.put(uploads.uploadUrl(env, token, never), photos[0]).statusCode()).isEqualTo(200);
    // Put, then stored through tus instead.
    assertThat(StoreHttp.put(uploads.uploadUrl(env, token, viaTus), photos[1]).statusCode()).isEqualTo(200);
    String location = uploads.create(env, token, report, viaTus, photos[1].length);
    assertThat(patch(env, token, location, 0, photos[1]).statusCode()).isEqualTo(204);
    // Completed, then put again through the URL, which is still valid.
    String url = uploads.uploadUrl(env, token, putAgain);
    assertThat(StoreHttp.put(url, photos[2]).statusCode()).isEqualTo(200);
    assertThat(uploads.post(env, token, "/v1/attachments/" + putAgain + "/complete").statusCode()).isEqualTo(200);
    assertThat(StoreHttp.put(url, photos[2]).statusCode()).isEqualTo(200); // the declared length only
    // Put, to be completed later.
    assertThat(StoreHttp.put(uploads.uploadUrl(env, token, later), photos[3]).statusCode()).isEqualTo(200);
    assertThat(DirectUploadTest.objectKeys(env, staging)).containsExactlyInAnyOrder(staging + never,
        staging + viaTus, staging + putAgain, staging + later);

    await(env.app().uploadSweeper().sweep());

    assertThat(DirectUploadTest.objectKeys(env, staging)).containsExactlyInAnyOrder(staging + never,
        staging + later);
    TusUploadTest.storedIntact(env, viaTus, photos[1]);
    TusUploadTest.storedIntact(env, putAgain, photos[2]);
    HttpResponse<String> completed = uploads.post(env, token, "/v1/attachments/" + later + "/complete");
    assertThat(completed.statusCode()).as(completed.body()).isEqualTo(200);
    assertThat(new JsonObject(completed.body()).getString("status")).isEqualTo("STORED");
    TusUploadTest.storedIntact(env, later, photos[3]);
    assertThat(DirectUploadTest.objectKeys(env, staging)).containsExactly(staging + never);

    // A sweep once the upload lifetime has passed since the PUT.
    UploadSweeper afterLifetime = new UploadSweeper(new UploadRepository(env.app().database().pool()),
        env.app().objectStore(), Clock.offset(Clock.systemUTC(), Frontline.UPLOAD_LIFETIME.plusMinutes(1)),
        Frontline.UPLOAD_LIFETIME);
    await(afterLifetime.sweep());

    assertThat(DirectUploadTest.objectKeys(env, staging)).isEmpty();
    assertThat(query(env, "SELECT status FROM attachment WHERE id = '" + never + "'")).isEqualTo("PENDING");
    assertThat(DirectUploadTest.objectKeys(env, "reports/" + report + "/")).hasSize(3);
  }

  // ---- unowned direct-upload copies ----

  /**
   * A direct completion copies the verified bytes to its final key; another completion stores the attachment
   * meanwhile, and the store goes down before the loser's clean-up deletes its copy. Its key was recorded before the
   * copy: the sweep leaves it while it is young (a completion may still be at work), and deletes it once old.
   */
  @Test
  void aDirectCompletionThatLosesWhileTheStoreIsDownLeavesNoOrphanCopy(TestEnvironment env) throws Exception {
    String token = token(env);
    byte[] data = TusUploadTest.photo(300_000);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    TusUploadTest.insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    assertThat(StoreHttp.put(uploads.uploadUrl(env, token, a), data).statusCode()).isEqualTo(200);
    String elsewhere = "reports/" + report + "/" + a + "/" + UUID.randomUUID();
    // The direct completion has copied the verified bytes to its final key and waits for the attachment row.
    HttpResponse<String> answer = lostWhileTheStoreIsDown(env, a, elsewhere, HttpRequest.newBuilder(
            env.apiUri("/v1/attachments/" + a + "/complete")).header("Authorization", "Bearer " + token)
        .POST(HttpRequest.BodyPublishers.noBody()).build(),
        () -> assertThat(DirectUploadTest.objectKeys(env, "reports/" + report + "/")).hasSize(1));
    assertThat(answer.statusCode()).as(answer.body()).isNotEqualTo(200);
    List<String> copies = DirectUploadTest.objectKeys(env, "reports/" + report + "/");
    assertThat(copies).as("the loser's copy, its delete refused").hasSize(1);
    String copy = copies.get(0);
    assertThat(query(env, "SELECT count(*) FROM unowned_object WHERE object_key = '" + copy + "'")).isEqualTo("1");

    // Young: a completion may still be at work on it.
    await(env.app().uploadSweeper().sweep());
    assertThat(DirectUploadTest.objectKeys(env, "reports/" + report + "/")).containsExactly(copy);

    await(later(env).sweep());
    await(later(env).sweep());

    List<String> keys = DirectUploadTest.objectKeys(env, "reports/" + report + "/");
    assertThat(keys).as("objects under the report no row refers to").allMatch(k -> k.equals(elsewhere));
    assertThat(query(env, "SELECT count(*) FROM unowned_object WHERE attachment_id = '" + a + "'")).isEqualTo("0");
    assertThat(query(env, "SELECT object_key FROM attachment WHERE id = '" + a + "'")).isEqualTo(elsewhere);
  }

  /**
   * The sweep deletes an old unowned copy only: a young one (a completion between its copy and its commit) stays,
   * and so does the object an attachment is STORED under even when an old entry names it (only the entry goes). A
   * claimed entry can no longer be owned: a completion that late fails instead of storing what the sweep deletes.
   */
  @Test
  void theSweepKeepsYoungUnownedCopiesAndTheObjectAnAttachmentIsStoredUnder(TestEnvironment env) throws Exception {
    String token = token(env);
    byte[] data = TusUploadTest.photo(300_000);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    TusUploadTest.insertReport(env, report, XU, new UUID[] {a}, new byte[][] {data});
    assertThat(StoreHttp.put(uploads.uploadUrl(env, token, a), data).statusCode()).isEqualTo(200);
    assertThat(uploads.post(env, token, "/v1/attachments/" + a + "/complete").statusCode()).isEqualTo(200);
    String stored = TusUploadTest.storedIntact(env, a, data);
    assertThat(query(env, "SELECT count(*) FROM unowned_object WHERE attachment_id = '" + a + "'")).isEqualTo("0");

    ObjectStore store = env.app().objectStore();
    String young = "reports/" + report + "/" + a + "/" + UUID.randomUUID();
    String old = "reports/" + report + "/" + a + "/" + UUID.randomUUID();
    for (String key : List.of(young, old)) {
      await(store.putBytes(key, Buffer.buffer(new byte[] {1, 2, 3}), "image/jpeg"));
    }
    long ageMinutes = UploadSweeper.UNOWNED_AGE.toMinutes();
    update(env, "INSERT INTO unowned_object (object_key, attachment_id, created_at) VALUES"
        + " ('" + young + "', '" + a + "', now() - interval '" + (ageMinutes - 5) + " minutes'),"
        + " ('" + old + "', '" + a + "', now() - interval '" + (ageMinutes + 5) + " minutes'),"
        + " ('" + stored + "', '" + a + "', now() - interval '" + (ageMinutes + 5) + " minutes')");

    await(env.app().uploadSweeper().sweep());

    assertThat(DirectUploadTest.objectKeys(env, "reports/" + report + "/")).containsExactlyInAnyOrder(stored, young);
    TusUploadTest.storedIntact(env, a, data);
    assertThat(query(env, "SELECT string_agg(object_key, ',') FROM unowned_object WHERE attachment_id = '" + a
        + "'")).isEqualTo(young);

    // Claimed by a sweeper (whose store call is still to come): the completion can no longer own it.
    UploadRepository repository = new UploadRepository(env.app().database().pool());
    assertThat(await(repository.claimUnowned(java.time.Instant.now(), 10, UploadSweeper.CLEANUP_LEASE)))
        .extracting(UploadRepository.Unowned::objectKey).contains(young);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> await(repository.owned(
        env.app().database().pool(), young))).hasMessageContaining("claimed");
    assertThat(query(env, "SELECT count(*) FROM unowned_object WHERE object_key = '" + young + "'")).isEqualTo("1");
  }

  // ---- what was left before every ended upload and failed photo owed a second look ----

  /**
   * V194 owes one more clean-up for what ended before it: an upload terminated after a completion whose server died
   * before its commit, its own server dying before the delete (its row then owed nothing), and the copies of a photo
   * that FAILED after an attempt put them. The next sweeps delete both; the object an attachment is stored under
   * stays, and so do the copies of a photo run again (PENDING: a worker may be putting them as the sweep comes).
   */
  @Test
  void theMigrationOwesWhatUploadsAndPhotosEndedBeforeLeftAndTheSweepRemovesIt(TestEnvironment env)
      throws Exception {
    String token = token(env);
    byte[] data = TusUploadTest.photo(200_000);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    UUID failed = UUID.randomUUID();
    TusUploadTest.insertReport(env, report, XU, new UUID[] {a, failed}, new byte[][] {data, data});
    ObjectStore store = env.app().objectStore();
    String ended = uploadId(uploads.create(env, token, report, a, data.length));
    String endedKey = query(env, "SELECT object_key FROM upload WHERE id = '" + ended + "'");
    await(store.putBytes(endedKey, Buffer.buffer(data), "image/jpeg")); // a completion died before its commit
    // Terminated, its server dying before the delete: the row as it was left before (nothing owed).
    update(env, "UPDATE upload SET status = 'ABORTED', finished_at = now() - interval '2 hours', cleanup_after = NULL"
        + " WHERE id = '" + ended + "'");
    String stored = uploads.create(env, token, report, a, data.length);
    assertThat(patch(env, token, stored, 0, data).statusCode()).isEqualTo(204);
    String storedKey = TusUploadTest.storedIntact(env, a, data);
    // A photo FAILED after an attempt put its copies (the attachment row shaped so: the worker only takes STORED).
    List<String> copies = List.of("derived/" + failed + "/thumb.jpg", "derived/" + failed + "/display.jpg");
    for (String copy : copies) {
      await(store.putBytes(copy, Buffer.buffer(new byte[] {1, 2, 3}), "image/jpeg"));
    }
    update(env, "UPDATE attachment SET media_status = 'FAILED' WHERE id = '" + failed + "'");
    await(later(env).sweep());
    assertThat(DirectUploadTest.objectKeys(env, "reports/" + report + "/")).containsExactlyInAnyOrder(endedKey,
        storedKey);
    assertThat(DirectUploadTest.objectKeys(env, "derived/" + failed + "/")).hasSize(2);

    update(env, java.nio.file.Files.readString(java.nio.file.Path.of(
        "src/main/resources/db/migration/V194__orphans_second_look.sql")));
    await(env.app().uploadSweeper().sweep());
    await(later(env).sweep());

    assertThat(DirectUploadTest.objectKeys(env, "reports/" + report + "/")).containsExactly(storedKey);
    TusUploadTest.storedIntact(env, a, data);
    UploadRacesTest.awaitOwed(env, ended, "ABORTED clean");
    assertThat(DirectUploadTest.objectKeys(env, "derived/" + failed + "/")).as("copies of a FAILED photo").isEmpty();
    assertThat(query(env, "SELECT count(*) FROM unowned_object WHERE attachment_id = '" + failed + "'"))
        .isEqualTo("0");

    // Run again by a migration (PENDING): a worker may be putting its copies as the sweep comes; they stay, and the
    // entries go (the worker records the copies, or fails the photo and owes them again).
    String original = "reports/" + report + "/" + failed + "/" + UUID.randomUUID();
    await(store.putBytes(original, Buffer.buffer(data), "image/jpeg"));
    update(env, "UPDATE attachment SET status = 'STORED', object_key = '" + original + "', content_type ="
        + " 'image/jpeg', stored_at = now(), media_status = 'PENDING', media_claimed_by = 'a-worker',"
        + " media_lease_until = now() + interval '1 day' WHERE id = '" + failed + "'"); // the worker at it
    for (String copy : copies) {
      await(store.putBytes(copy, Buffer.buffer(new byte[] {1, 2, 3}), "image/jpeg"));
      update(env, "INSERT INTO unowned_object (object_key, attachment_id, created_at) VALUES ('" + copy + "', '"
          + failed + "', now() - interval '2 hours')");
    }
    await(later(env).sweep());
    assertThat(DirectUploadTest.objectKeys(env, "derived/" + failed + "/")).hasSize(2);
    assertThat(query(env, "SELECT count(*) FROM unowned_object WHERE attachment_id = '" + failed + "'"))
        .isEqualTo("0");
    update(env, "UPDATE attachment SET media_status = 'FAILED' WHERE id = '" + failed + "'"); // no worker's
  }

  /** The service's sweeper, an hour and a minute from now: every unowned copy recorded so far is old. */
  private static UploadSweeper later(TestEnvironment env) {
    return new UploadSweeper(new UploadRepository(env.app().database().pool()), env.app().objectStore(),
        Clock.offset(Clock.systemUTC(), UploadSweeper.UNOWNED_AGE.plusMinutes(1)), Frontline.UPLOAD_LIFETIME);
  }

  // ---- helpers ----

  /**
   * What a server does at the end of a multipart upload, up to its completion in the store; then it dies before
   * its database transaction (the row stays ACTIVE). Returns the upload's key, where the object now is.
   */
  private String completedBeforeACrash(TestEnvironment env, String token, String location, byte[] data)
      throws Exception {
    assertThat(patch(env, token, location, 0, Arrays.copyOf(data, 5 * MIB + 10)).statusCode()).isEqualTo(204);
    String id = uploadId(location);
    String key = query(env, "SELECT object_key FROM upload WHERE id = '" + id + "'");
    String multipart = query(env, "SELECT multipart_upload_id FROM upload WHERE id = '" + id + "'");
    String etag1 = query(env, "SELECT parts->0->>'etag' FROM upload WHERE id = '" + id + "'");
    ObjectStore store = env.app().objectStore();
    String etag2 = await(store.uploadPart(key, multipart, 2, Buffer.buffer(Arrays.copyOfRange(data, 5 * MIB,
        data.length))));
    await(store.completeMultipart(key, multipart, List.of(new ObjectStore.Part(1, etag1, 5 * MIB),
        new ObjectStore.Part(2, etag2, data.length - 5 * MIB))));
    assertThat(query(env, "SELECT status FROM upload WHERE id = '" + id + "'")).isEqualTo("ACTIVE");
    return key;
  }

  /**
   * Sweeps with the upload's clean-up due now. The service's own periodic sweep may have tried while the store was
   * down: then the clean-up is leased for a while; this is that while having passed.
   */
  private static void sweepOwed(TestEnvironment env, String id) throws Exception {
    update(env, "UPDATE upload SET cleanup_after = now() WHERE id = '" + id + "' AND cleanup_after IS NOT NULL");
    await(env.app().uploadSweeper().sweep());
  }

  private String token(TestEnvironment env) throws Exception {
    return TusUploadTest.token(http, env, "officer.xu");
  }

  private HttpRequest patchRequest(TestEnvironment env, String token, String location, long offset, byte[] body) {
    return HttpRequest.newBuilder(env.apiUri(location))
        .header("Tus-Resumable", "1.0.0").header("Authorization", "Bearer " + token)
        .header("Upload-Offset", Long.toString(offset)).header("Content-Type", "application/offset+octet-stream")
        .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(body)).build();
  }

  private HttpResponse<String> patch(TestEnvironment env, String token, String location, long offset, byte[] body)
      throws Exception {
    return http.send(patchRequest(env, token, location, offset, body), HttpResponse.BodyHandlers.ofString());
  }

  private static void update(TestEnvironment env, String sql) throws Exception {
    try (Connection c = env.jdbc(); Statement s = c.createStatement()) {
      s.executeUpdate(sql);
    }
  }

  /**
   * What {@code request} answers when it loses to another completion: while it waits for the attachment's row
   * (then {@code meanwhile} runs), another transaction stores the attachment under {@code elsewhere}, and commits
   * while the object store is down.
   */
  private HttpResponse<String> lostWhileTheStoreIsDown(TestEnvironment env, UUID attachment, String elsewhere,
                                                       HttpRequest request, Step meanwhile) throws Exception {
    try (Connection other = env.jdbc(); Statement s = other.createStatement()) {
      other.setAutoCommit(false);
      s.executeUpdate("UPDATE attachment SET status = 'STORED', object_key = '" + elsewhere + "', content_type ="
          + " 'image/jpeg', stored_at = now() WHERE id = '" + attachment + "'");
      CompletableFuture<HttpResponse<String>> sent = http.sendAsync(request, HttpResponse.BodyHandlers.ofString());
      awaitWaitingForTheAttachmentRow(env);
      meanwhile.run();
      return whileTheStoreIsDown(env, () -> {
        other.commit();
        return sent.get(30, TimeUnit.SECONDS);
      });
    }
  }

  /** A step of a test, between two others. */
  private interface Step {
    void run() throws Exception;
  }

  /** What {@code action} answers while the object store is down (it is up again afterwards, whatever happens). */
  private static <T> T whileTheStoreIsDown(TestEnvironment env, java.util.concurrent.Callable<T> action)
      throws Exception {
    env.s3().stop();
    try {
      return action.call();
    } finally {
      env.s3().restart();
    }
  }

  /** Until a request of the service waits for the attachment's row, which the test's own transaction holds. */
  private static void awaitWaitingForTheAttachmentRow(TestEnvironment env) {
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> "1".equals(query(env,
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE attachment%'")));
  }
}
