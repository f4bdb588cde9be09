package org.frontline.uploads;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.HttpServerRequest;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemType;
import org.frontline.platform.objectstore.ObjectStore;
import org.frontline.platform.objectstore.ObjectStore.Part;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Function;

/**
 * Streams one PATCH body into the upload's S3 multipart upload. At most one part (5 MiB, plus the chunk that
 * crossed the boundary) is held in memory: when the buffer reaches a part, the request is paused while the part
 * goes to the store, then resumed.
 *
 * <p>The SHA-256 of a multipart upload is Bouncy Castle's, whose state can be saved: it is advanced over each part
 * as the part goes to the store (on the worker pool, beside the store call) and saved with the offset, the parts
 * and the tail, so any instance can resume after a restart (the tail is hashed again then). An upload no larger
 * than one part ({@code multipartUploadId} null) is held whole until its last byte: its hash is the JDK's (which
 * uses the CPU's SHA instructions, several times faster) over the whole buffer, and it is stored with one PUT by
 * the caller, while the part permit is still held.
 *
 * <p>Without an {@code Upload-Checksum}, progress is persisted at each part boundary, at the end of the body (with
 * the tail under one part) and when the body is cut off (the client's connection lost): every byte received is
 * then kept, the full parts in the store and the rest as the tail (for an upload held whole, all of it), and the
 * client resumes from there. With one, nothing is persisted until the whole chunk is verified: a mismatch (or a
 * cut) leaves the upload as it was (parts already sent to S3 under higher numbers are simply overwritten by the
 * resend, and never listed in the completion).
 */
final class ChunkReceiver {
  private static final Logger log = LoggerFactory.getLogger(ChunkReceiver.class);
  /** S3's smallest part but the last. */
  static final int PART_SIZE = 5 * 1024 * 1024;

  /** What the body did: the acknowledged offset, and when the upload is whole, its parts and SHA-256. */
  /** The most bytes any receiver held at once since start (tests check the one-part bound with it). */
  static final java.util.concurrent.atomic.AtomicLong PEAK_BUFFERED = new java.util.concurrent.atomic.AtomicLong();

  /**
   * What the body did. {@code whole} is the complete content of an upload without a multipart upload (for the
   * caller to check and store), else null.
   */
  record Received(long offset, boolean complete, List<Part> parts, String sha256Hex, Buffer whole) {}

  private final ObjectStore store;
  private final UploadRepository repository;
  private final Upload upload;
  private final HttpServerRequest request;
  private final ChunkChecksum expectedChecksum;
  private final Function<byte[], Future<Void>> headCheck;
  /** The head examined by {@code headCheck}: {@link ContentRules#HEAD} or the whole upload when smaller. */
  private final int headWindow;
  private final Promise<Received> result = Promise.promise();
  private final PartBudget budget;
  private final WorkerExecutor blocking;

  private final List<Part> parts;
  private final SHA256Digest digest;
  private final MessageDigest chunkDigest;
  private Buffer buffer;
  private long partBytes;
  private long persistedOffset;
  private boolean flushing;
  private boolean ended;
  private boolean headChecked;
  private Throwable failure;
  /** The failure of the request stream (the client's connection lost), when that is how the body ended. */
  private Throwable cutOff;
  /**
   * The head's refusal of a chunk with an {@code Upload-Checksum}, held until the chunk is verified: bytes that do
   * not match their checksum are not the upload's content (460, the upload unchanged), so they end nothing. Once
   * set, the rest of the body is only hashed (nothing of it was stored: the head comes before the first part).
   */
  private ContentRules.Refused refusedUnverified;
  /** Bytes of this body since the upload's parts, once {@link #refusedUnverified} (no longer kept, only counted). */
  private long drained;
  /** The request's context (where its queued body is read). */
  private Context context;

  private ChunkReceiver(ObjectStore store, UploadRepository repository, Upload upload, HttpServerRequest request,
                        ChunkChecksum expectedChecksum, Function<byte[], Future<Void>> headCheck, PartBudget budget,
                        WorkerExecutor blocking) {
    this.store = store;
    this.repository = repository;
    this.upload = upload;
    this.request = request;
    this.expectedChecksum = expectedChecksum;
    this.headCheck = headCheck;
    this.headWindow = (int) Math.min(ContentRules.HEAD, upload.length());
    // Checked in an earlier PATCH already: that one's body went past the window.
    this.headChecked = headCheck == null || upload.offset() >= headWindow;
    this.parts = new ArrayList<>(upload.parts());
    this.partBytes = upload.partBytes();
    this.persistedOffset = upload.offset();
    this.digest = upload.sha256State() == null ? new SHA256Digest() : new SHA256Digest(upload.sha256State());
    this.chunkDigest = expectedChecksum == null ? null : expectedChecksum.newDigest();
    this.budget = budget;
    this.blocking = blocking;
  }

  /**
   * Reads the (paused) request's body into the upload, then gives what it did to {@code then}, still holding the
   * part permit (an upload received whole is still in memory then). As soon as the first {@link ContentRules#HEAD}
   * bytes of the upload (or all of it, when smaller) are in, and before any of them goes to the store,
   * {@code headCheck} is given them; its failure ends the body with that failure. {@code gone} completes when the
   * client's connection closes: a body still waiting for a permit then stops waiting (and fails). The future
   * returned always completes, and the permit, once granted, is released exactly once, whatever failed (the
   * persisted state included).
   */
  static <T> Future<T> receive(ObjectStore store, UploadRepository repository, Upload upload,
                               HttpServerRequest request, ChunkChecksum expectedChecksum,
                               Function<byte[], Future<Void>> headCheck, PartBudget budget, WorkerExecutor blocking,
                               Future<?> gone, Function<Received, Future<T>> then) {
    // The request stays paused until a permit is free; the part buffer, and the persisted tail (read only now: a
    // resume waiting for a permit holds none of it), exist only while the permit is held.
    return budget.acquire(gone).compose(v -> {
      ChunkReceiver[] receiver = new ChunkReceiver[1];
      Future<T> done;
      try {
        done = withTail(repository, upload).compose(whole -> {
          receiver[0] = new ChunkReceiver(store, repository, whole, request, expectedChecksum, headCheck, budget,
              blocking);
          return receiver[0].start();
        }).compose(then);
      } catch (RuntimeException e) { // a persisted state that cannot be read (SHA-256 state), ...
        done = Future.failedFuture(e);
      }
      return done.onComplete(finished -> {
        if (receiver[0] != null) {
          receiver[0].buffer = null;
        }
        budget.release();
      });
    });
  }

  /** The upload with its persisted tail, read when it was found without it; 409 when it moved on meanwhile. */
  private static Future<Upload> withTail(UploadRepository repository, Upload upload) {
    if (upload.hasTail()) {
      return Future.succeededFuture(upload);
    }
    return repository.tail(upload.id(), upload.offset()).map(tail -> upload.withTail(tail.orElseThrow(() ->
        Problem.of(ProblemType.CONFLICT, "The upload moved on or ended meanwhile; HEAD for its offset.")
            .toException())));
  }

  /** A fresh SHA-256 state, for a new upload. */
  static byte[] initialState() {
    return new SHA256Digest().getEncodedState();
  }

  private Future<Received> start() {
    // An upload held whole never grows past its length: a 2 MB photo needs no 5 MiB array to be zeroed and
    // collected (arrays this large are G1 "humongous" objects, each costly to allocate and to free).
    int capacity = upload.multipartUploadId() == null ? (int) upload.length() : PART_SIZE + 64 * 1024;
    buffer = Buffer.buffer(capacity).appendBytes(upload.tail());
    context = Vertx.currentContext();
    request.handler(this::onData);
    request.exceptionHandler(e -> {
      // The connection is lost (closed, reset): the body is cut off once what arrived before has been read.
      if (failure != null || cutOff != null) {
        return;
      }
      cutOff = e;
      if (!flushing) {
        cutAfterQueued();
      } // else paused for a flush: what is still queued is read after it (resumeBody), then the body is cut off
    });
    request.endHandler(v -> {
      ended = true;
      if (!flushing && failure == null) {
        finish();
      }
    });
    if (request.version() != io.vertx.core.http.HttpVersion.HTTP_1_0
        && "100-continue".equalsIgnoreCase(request.getHeader("Expect"))) {
      // Authenticated, the caller's upload at this offset, a part permit held: only now is the body asked for (a
      // refusal before this was answered without a 100, and its body is drained if it comes).
      request.response().writeContinue();
    }
    resumeBody();
    return result.future();
  }

  /**
   * Resumes reading the body. When the connection is lost already (while this receiver was paused for a flush, or
   * before it started: then its failure went to no handler), no end will come: what it delivered is queued, read
   * in a task of this context that {@code resume()} scheduled ahead of the one scheduled here; then the body is cut
   * off there (or, when that reading paused for a flush again, after the next resume).
   */
  private void resumeBody() {
    request.resume();
    if (cutOff != null || request.response().closed()) {
      cutAfterQueued();
    }
  }

  /** Cuts the body off after the bytes already queued for it have been read (unless a flush paused it again). */
  private void cutAfterQueued() {
    context.runOnContext(v -> {
      if (failure == null && !ended && !flushing) {
        if (cutOff == null) {
          cutOff = new HttpClosedException("the connection was closed before the body was read");
        }
        fail(cutOff);
      }
    });
  }

  private void onData(Buffer data) {
    if (failure != null || buffer == null) {
      return;
    }
    if (refusedUnverified != null) {
      drained += data.length();
      if (partBytes + drained > upload.length()) { // bounded as ever: no endless body holds the part permit
        pastLength();
        return;
      }
      chunkDigest.update(data.getBytes());
      return;
    }
    if (partBytes + buffer.length() + data.length() > upload.length()) {
      pastLength();
      return;
    }
    buffer.appendBuffer(data);
    PEAK_BUFFERED.accumulateAndGet(buffer.length(), Math::max);
    if (chunkDigest != null) {
      chunkDigest.update(data.getBytes());
    }
    if (!headChecked && partBytes == 0 && buffer.length() >= headWindow) {
      // The head is still whole in the buffer (a part is far larger): judge it before anything is stored.
      headChecked = true;
      request.pause();
      flushing = true;
      headCheck.apply(buffer.getBytes(0, headWindow)).onComplete(this::afterFlush);
      return;
    }
    if (buffer.length() >= PART_SIZE && !flushing && upload.multipartUploadId() != null) {
      request.pause();
      flushPart();
    }
  }

  private void flushPart() {
    flushing = true;
    Buffer part = buffer.getBuffer(0, PART_SIZE);
    Buffer rest = buffer.getBuffer(PART_SIZE, buffer.length());
    buffer = Buffer.buffer(PART_SIZE + 64 * 1024).appendBuffer(rest);
    int number = parts.size() + 1;
    // The digest over the part on the worker pool, beside the store call (both only read the part).
    Future<Void> hashed = blocking.executeBlocking(() -> {
      update(digest, part);
      return null;
    }, false);
    Future<String> stored = store.uploadPart(upload.objectKey(), upload.multipartUploadId(), number, part);
    Future.all(hashed, stored)
        .compose(v -> {
          parts.add(new Part(number, stored.result(), PART_SIZE));
          partBytes += PART_SIZE;
          return chunkDigest == null ? persist() : Future.succeededFuture();
        })
        .onComplete(this::afterFlush);
  }

  /** The body went past Upload-Length: 413, reading no more of it. */
  private void pastLength() {
    request.pause();
    fail(UploadService.pastLength(upload.length()));
  }

  /** After a part was stored or the head was judged: go on where the body left off. */
  private void afterFlush(io.vertx.core.AsyncResult<Void> done) {
    flushing = false;
    if (done.failed() && done.cause() instanceof ContentRules.Refused refused && chunkDigest != null
        && failure == null && cutOff == null) {
      // A checksummed chunk: judged only once it is known to be what the client sent (finish).
      refusedUnverified = refused;
      drained = buffer.length();
      buffer = Buffer.buffer();
      if (ended) {
        finish();
      } else {
        resumeBody();
      }
    } else if (done.failed()) {
      fail(done.cause()); // a head refused, a store failure: then nothing more is kept, even when cut off too
    } else if (failure != null) {
      end();
    } else if (buffer.length() >= PART_SIZE && upload.multipartUploadId() != null) {
      flushPart();
    } else if (ended) {
      finish();
    } else {
      resumeBody();
    }
  }

  /**
   * Saves offset, parts, tail and digest state; fails with 409 when the upload moved meanwhile. The last byte of
   * the upload is never saved: only its completion (COMPLETED, the attachment STORED, in one transaction) brings
   * the offset to the length. An ACTIVE upload at offset == length (all bytes in, completion not done: the last
   * bytes came in the read that crossed a part boundary, then the connection was lost before the body's formal end,
   * or the process died, or the store failed while completing) is what a tus client takes for done when it asks
   * HEAD: it sends nothing more and the attachment stays PENDING. Held back, that byte is sent again (tus lets a
   * server keep fewer bytes than it received) and its PATCH completes the upload. When the bytes received end
   * exactly at a part just stored (no tail to hold a byte back from), nothing is saved: the upload stays where it
   * was persisted last, and that part is sent again under the same number.
   */
  private Future<Void> persist() {
    int keep = buffer.length();
    if (partBytes + keep >= upload.length()) {
      if (keep == 0) {
        return Future.succeededFuture();
      }
      keep = (int) (upload.length() - partBytes - 1);
    }
    long offset = partBytes + keep;
    if (offset == persistedOffset) {
      return Future.succeededFuture();
    }
    return repository.saveProgress(upload.id(), persistedOffset, offset, parts, buffer.getBytes(0, keep),
            digest.getEncodedState())
        .compose(saved -> {
          if (!saved) {
            return Future.failedFuture(Problem.of(ProblemType.CONFLICT,
                "The upload was changed by another request; ask its offset (HEAD) and resume.").toException());
          }
          persistedOffset = offset;
          return Future.succeededFuture();
        });
  }

  private void finish() {
    if (chunkDigest != null && !Arrays.equals(chunkDigest.digest(), expectedChecksum.digest())) {
      result.tryFail(Problem.of(ProblemType.CHECKSUM_MISMATCH,
          "The chunk does not match its Upload-Checksum; it was discarded, resend it from offset "
              + upload.offset() + ".").with("uploadOffset", upload.offset()).toException());
      return;
    }
    if (refusedUnverified != null) {
      result.tryFail(refusedUnverified);
      return;
    }
    long received = partBytes + buffer.length();
    if (received < upload.length()) {
      persist().onSuccess(v -> result.tryComplete(new Received(received, false, parts, null, null)))
          .onFailure(this::fail);
      return;
    }
    Buffer rest = buffer;
    if (upload.multipartUploadId() == null) {
      // Received whole (at most one part): the JDK's SHA-256 over all of it; the caller checks and stores it.
      blocking.executeBlocking(() -> sha256(rest), false)
          .onSuccess(sha -> result.tryComplete(new Received(received, true, parts, sha, rest)))
          .onFailure(this::fail);
      return;
    }
    Future<Void> last = rest.length() == 0 ? Future.succeededFuture()
        : store.uploadPart(upload.objectKey(), upload.multipartUploadId(), parts.size() + 1, rest)
            .map(etag -> {
              parts.add(new Part(parts.size() + 1, etag, rest.length()));
              return null;
            });
    Future<String> hashed = blocking.executeBlocking(() -> {
      update(digest, rest);
      byte[] sha = new byte[32];
      digest.doFinal(sha, 0);
      return HexFormat.of().formatHex(sha);
    }, false);
    Future.all(last, hashed)
        .onSuccess(v -> result.tryComplete(new Received(received, true, parts, hashed.result(), null)))
        .onFailure(this::fail);
  }

  private static String sha256(Buffer whole) throws NoSuchAlgorithmException {
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    byte[] window = new byte[HASH_WINDOW];
    for (int at = 0; at < whole.length(); at += HASH_WINDOW) {
      int end = Math.min(whole.length(), at + HASH_WINDOW);
      whole.getBytes(at, end, window, 0);
      sha.update(window, 0, end - at);
    }
    return HexFormat.of().formatHex(sha.digest());
  }

  /** Bytes are hashed through a small window: a copy of a whole part would double the memory a part takes. */
  private static final int HASH_WINDOW = 64 * 1024;

  private static void update(SHA256Digest digest, Buffer data) {
    byte[] window = new byte[HASH_WINDOW];
    for (int at = 0; at < data.length(); at += HASH_WINDOW) {
      int end = Math.min(data.length(), at + HASH_WINDOW);
      data.getBytes(at, end, window, 0);
      digest.update(window, 0, end - at);
    }
  }

  private void fail(Throwable cause) {
    if (failure == null) {
      failure = cause;
    }
    if (!flushing) {
      end();
    }
  }

  /**
   * Ends the body with its failure. A body cut off keeps what arrived first (as the end of a body does: parts and
   * tail), so the client resumes from the last byte received; not with an {@code Upload-Checksum}, whose chunk
   * counts only whole and verified.
   */
  private void end() {
    if (failure != cutOff || chunkDigest != null || buffer == null) {
      result.tryFail(failure);
      return;
    }
    persist().onComplete(saved -> {
      if (saved.failed()) {
        log.info("upload {}: the bytes of a cut PATCH were not kept: {}", upload.id(), saved.cause().toString());
      }
      result.tryFail(failure);
    });
  }
}
