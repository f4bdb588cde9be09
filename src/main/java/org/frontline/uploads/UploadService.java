package org.frontline.uploads;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import io.vertx.core.streams.ReadStream;
import org.frontline.audit.AuditEvent;
import org.frontline.audit.AuditLog;
import org.frontline.identity.Caller;
import org.frontline.platform.RoundsInFlight;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemException;
import org.frontline.platform.http.Problems;
import org.frontline.platform.http.ProblemType;
import org.frontline.platform.objectstore.MultipartUploadGoneException;
import org.frontline.platform.objectstore.ObjectStore;
import org.frontline.reports.AttachmentLedger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/** tus uploads of declared attachments: creation, writing, completion (verify, then STORED or rejected), ending. */
public final class UploadService {
  private static final Logger log = LoggerFactory.getLogger(UploadService.class);
  /**
   * Largest upload (Tus-Max-Size): an attachment's largest declared size, 50 MiB (the contract's
   * {@code AttachmentDeclaration.size} maximum), since Upload-Length must equal the declared size.
   */
  public static final long MAX_SIZE = 50L * 1024 * 1024;

  /** Where a PATCH left the upload. */
  public record Written(Upload upload, long offset, boolean complete) {}

  private final UploadRepository repository;
  private final AttachmentLedger ledger;
  private final ObjectStore store;
  private final AuditLog audit;
  private final Clock clock;
  private final Duration lifetime;
  /** Where the content rules run (CPU work over up to 256 KiB: never on an event loop). */
  private final WorkerExecutor blocking;
  /** The memory bound of all bodies received at once. */
  private final PartBudget budget = PartBudget.fromHeap();
  /** Uploads with a PATCH under way on this instance: one writer at a time. */
  private final Set<UUID> writing = ConcurrentHashMap.newKeySet();
  /**
   * The PATCHes at work, which a stop waits for: a body cut off by the stop's grace period still stores its part
   * and persists its offset, and needs the database and the blocking pool for that.
   */
  private final RoundsInFlight inFlight = new RoundsInFlight("upload PATCHes");

  public UploadService(UploadRepository repository, AttachmentLedger ledger, ObjectStore store, AuditLog audit,
                       Clock clock, Duration lifetime, WorkerExecutor blocking) {
    this.repository = repository;
    this.ledger = ledger;
    this.store = store;
    this.audit = audit;
    this.clock = clock;
    this.lifetime = lifetime;
    this.blocking = blocking;
  }

  /**
   * Creation: checks the attachment (the caller's, pending) and the length, starts the multipart upload; the upload
   * with the declaration it was checked against (a creation-with-upload writes its body against it).
   */
  public Future<UploadRepository.Found> create(Caller caller, UUID reportId, UUID attachmentId, long length) {
    UUID id = UUID.randomUUID();
    String key = "reports/" + reportId + "/" + attachmentId + "/" + id;
    Upload upload = new Upload(id, attachmentId, reportId, caller.accountId(), length, 0, key, null,
        List.of(), new byte[0], ChunkReceiver.initialState(), Upload.Status.ACTIVE, clock.instant().plus(lifetime));
    // One statement reads the declaration and inserts the row when the checks below pass (it makes them too).
    return repository.create(upload).compose(found -> {
      AttachmentLedger.Declared declared = found.map(UploadRepository.Created::declared)
          .filter(d -> d.authorId().equals(caller.accountId()))
          .orElseThrow(() -> notFound("No such attachment of a report of yours."));
      if (!"PENDING".equals(declared.status())) {
        throw Problem.of(ProblemType.CONFLICT, "The attachment is already stored.").toException();
      }
      if (length != declared.size()) {
        ProblemType type = length > declared.size() ? ProblemType.PAYLOAD_TOO_LARGE : ProblemType.VALIDATION_FAILED;
        throw Problem.of(type, "Upload-Length (" + length + ") must equal the attachment's declared size ("
                + declared.size() + ").")
            .withErrors(List.of(new Problem.FieldError("header/Upload-Length",
                "must equal the declared size " + declared.size())))
            .toException();
      }
      if (!found.get().inserted()) { // the statement's own checks, on the same snapshot: never apart from ours
        throw new IllegalStateException("upload " + id + " was not inserted");
      }
      // An upload of at most one part is received whole and stored with one PUT: no multipart upload.
      if (length <= ChunkReceiver.PART_SIZE) {
        return Future.succeededFuture(new UploadRepository.Found(upload, declared));
      }
      // The row first, then the multipart upload: a server that dies in between, or a start whose answer is lost,
      // leaves a row whose key the sweeper searches for multipart uploads once it expires (or at once when the
      // start failed), never a multipart upload nothing knows of.
      return store.createMultipart(key, declared.contentType())
          .recover(e -> repository.startFailed(id, "the object store did not start the upload: " + e)
              .transform(x -> Future.failedFuture(e)))
          .compose(multipartId -> repository.recordMultipart(id, multipartId)
              .recover(e -> abandon(key, multipartId).transform(x -> Future.failedFuture(e)))
              .map(new UploadRepository.Found(upload.withMultipartUploadId(multipartId), declared)));
    });
  }

  /**
   * The caller's upload, ACTIVE or finished, without its tail (a PATCH reads it once it holds a part permit), with
   * its attachment's declaration; 404 for anyone else's or none, 410 when expired or superseded.
   */
  public Future<UploadRepository.Found> find(Caller caller, UUID id) {
    return repository.find(id).map(read -> {
      UploadRepository.Found found = read.filter(f -> f.upload().authorId().equals(caller.accountId()))
          .orElseThrow(() -> notFound("No such upload."));
      Upload upload = found.upload();
      if (upload.expired(clock.instant())) {
        throw Problem.of(ProblemType.GONE, "The upload expired; create a new one.").toException();
      }
      if (upload.status() == Upload.Status.ABORTED || upload.status() == Upload.Status.FAILED) {
        throw notFound("The upload was ended; create a new one.");
      }
      if (upload.status() == Upload.Status.SUPERSEDED) {
        throw superseded();
      }
      return found;
    });
  }

  /**
   * Writes the (paused) request body at {@code offset}; completes the upload when it is whole. Fails with 409 on
   * an offset other than the persisted one or a concurrent PATCH. {@code gone} completes when the client's
   * connection closes (see {@link ChunkReceiver#receive}). The upload is this instance's to write (its id in
   * {@code writing}) from here until the future returned completes, whatever happens on the way: it always does.
   */
  public Future<Written> write(Caller caller, UploadRepository.Found found, long offset, HttpServerRequest body,
                               ChunkChecksum chunkChecksum, String clientAddress, String requestId, Future<?> gone) {
    Upload upload = found.upload();
    AttachmentLedger.Declared declared = found.declared();
    if (upload.status() != Upload.Status.ACTIVE) {
      return Future.failedFuture(Problem.of(ProblemType.CONFLICT, "The upload is already complete.")
          .toException());
    }
    if (offset != upload.offset()) {
      return Future.failedFuture(Problem.of(ProblemType.CONFLICT, "Upload-Offset " + offset
          + " is not the upload's offset " + upload.offset() + ".").with("uploadOffset", upload.offset())
          .toException());
    }
    if (declaredLength(body) > upload.length() - offset) {
      // Refused on its Content-Length alone, before a 100 Continue or a byte of it (the receiver would 413 once past).
      return Future.failedFuture(pastLength(upload.length()));
    }
    if (!writing.add(upload.id())) {
      return Future.failedFuture(Problem.of(ProblemType.CONFLICT, "Another request is writing this upload.")
          .toException());
    }
    // Anything thrown from here on fails the future (compose catches it), which releases the upload.
    return inFlight.track(Future.succeededFuture().compose(v -> {
          // A body that brings an upload held whole (at most one part) to its end is judged at completion, from
          // memory and before anything is stored: looking at its head on the way would judge the same bytes twice.
          boolean judgedAtCompletion = upload.multipartUploadId() == null
              && Long.toString(upload.length() - offset).equals(body.getHeader("Content-Length"));
          Function<byte[], Future<Void>> headCheck = judgedAtCompletion ? null : this::checkHead;
          return ChunkReceiver.receive(store, repository, upload, body, chunkChecksum, headCheck,
              budget, blocking, gone, received -> received.complete()
                  ? complete(caller, upload, declared, received, clientAddress, requestId)
                      .map(u -> new Written(u, received.offset(), true))
                  : Future.succeededFuture(new Written(upload, received.offset(), false)));
        })
        .recover(e -> e instanceof ContentRules.Refused refused
            ? refuseEarly(caller, upload, declared, refused, clientAddress, requestId)
            : ifEndedMeanwhile(upload, e))
        .onComplete(done -> writing.remove(upload.id())));
  }

  /** 413: a body that goes past the upload's length. */
  static RuntimeException pastLength(long length) {
    return Problem.of(ProblemType.PAYLOAD_TOO_LARGE, "The body goes past Upload-Length (" + length + " bytes).")
        .toException();
  }

  /** The body's Content-Length, or -1 (chunked, or one the decoder would not have let through). */
  static long declaredLength(HttpServerRequest body) {
    String length = body.getHeader("Content-Length");
    try {
      return length == null ? -1 : Long.parseLong(length.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /**
   * A failure of the store while a termination or the sweeper ended the upload (the multipart upload they aborted
   * is NoSuchUpload to a part or a completion): the client is told the upload is over (404), not of an internal
   * error. Any other failure stays as it was.
   */
  private Future<Written> ifEndedMeanwhile(Upload upload, Throwable e) {
    if (e instanceof ProblemException) {
      return Future.failedFuture(e);
    }
    return repository.find(upload.id()).transform(now -> {
      Upload.Status status = now.succeeded() ? now.result().map(f -> f.upload().status()).orElse(null) : null;
      if (status == Upload.Status.SUPERSEDED) {
        log.debug("upload {}: its attachment was stored by another upload while a PATCH wrote it: {}", upload.id(),
            e.toString());
        return Future.failedFuture(superseded());
      }
      if (status == Upload.Status.ABORTED || status == Upload.Status.EXPIRED) {
        log.debug("upload {} ended ({}) while a PATCH wrote it: {}", upload.id(), status, e.toString());
        return Future.failedFuture(notFound(status == Upload.Status.ABORTED
            ? "The upload was terminated meanwhile; create a new one." : "The upload expired; create a new one."));
      }
      boolean gone = Problems.findCause(e, MultipartUploadGoneException.class) != null;
      if (status == Upload.Status.COMPLETED) {
        // Another completion (a retry the load balancer sent to another instance) stored it while this one wrote:
        // its multipart upload is gone (S3 forgets a completed one). What a PATCH completing an upload already
        // complete answers; the stored object is the attachment's and stays.
        log.debug("upload {} completed by another request while a PATCH wrote it: {}", upload.id(), e.toString());
        return Future.failedFuture(Problem.of(ProblemType.CONFLICT, "The upload is already complete.")
            .toException());
      }
      if (status == Upload.Status.FAILED && gone) {
        // Another completion ended it (its bytes did not match, or it could not be stored) and removed its object.
        return Future.failedFuture(notFound("The upload was ended; create a new one."));
      }
      if (status == Upload.Status.ACTIVE && gone) {
        // Still ACTIVE, but its multipart upload is gone: completed by a process that died before its commit (S3
        // forgets a completed one's id). It can never finish: it ends (its object removed unless the attachment
        // holds it) and the client, told 404, starts a new upload instead of resuming into errors until it expires.
        log.info("upload {}: its multipart upload is gone, the upload ends: {}", upload.id(), e.getMessage());
        return discard(upload, "multipart upload gone: " + e.getMessage()).transform(x -> Future.failedFuture(
            notFound("The upload can no longer be continued; create a new one.")));
      }
      return Future.failedFuture(e);
    });
  }

  /**
   * Completes once no PATCH is at work here. Called once the API has stopped (no new one comes): those cut off then
   * keep what arrived before the database and the pools close.
   */
  public Future<Void> idle(io.vertx.core.Vertx vertx) {
    return inFlight.idle(vertx);
  }

  /** This instance's part budget (tests look at its permits). */
  PartBudget partBudget() {
    return budget;
  }

  /** The content rules on the upload's first bytes, as soon as they are in (nothing of them is stored yet). */
  private Future<Void> checkHead(byte[] head) {
    return blocking.executeBlocking(() -> {
      ContentRules.check(head, head);
      return null;
    }, false);
  }

  /**
   * The head broke a content rule: the upload ends here (multipart aborted, FAILED), the reason is recorded on the
   * attachment (which stays PENDING for a proper photo) and audited; the client gets 415 or 422.
   */
  private Future<Written> refuseEarly(Caller caller, Upload upload, AttachmentLedger.Declared declared,
                                      ContentRules.Refused refused, String clientAddress, String requestId) {
    return abandon(upload.objectKey(), upload.multipartUploadId())
        .recover(e -> {
          log.warn("upload {}: abort of the multipart upload failed (the sweeper retries): {}", upload.id(),
              e.toString());
          return repository.owesStoreCleanup(upload.id());
        })
        .compose(v -> refusedRecord(caller, upload, declared, refused, clientAddress, requestId));
  }

  private Future<Written> refusedRecord(Caller caller, Upload upload, AttachmentLedger.Declared declared,
                                        ContentRules.Refused refused, String clientAddress, String requestId) {
    return endRejected(caller, upload, declared, refused.reason, refusedDetails(refused), clientAddress, requestId)
        .compose(ended -> ended ? Future.failedFuture(refused.problem("upload")) : endedMeanwhile());
  }

  private static JsonObject refusedDetails(ContentRules.Refused refused) {
    return new JsonObject().put("status", refused.type.status());
  }

  /**
   * Ends the upload FAILED for {@code reason}, records the reason on the attachment (which stays PENDING) and audits
   * {@code attachment.rejected}, in one transaction: the rejection and its audit entry commit together or not at
   * all. False, with nothing written, when the upload was ended meanwhile.
   */
  private Future<Boolean> endRejected(Caller caller, Upload upload, AttachmentLedger.Declared declared, String reason,
                                      JsonObject details, String clientAddress, String requestId) {
    return repository.pool().withTransaction(conn -> repository.finish(conn, upload.id(), Upload.Status.FAILED,
            reason)
        .compose(ended -> !ended ? Future.succeededFuture(false)
            : ledger.recordRejection(conn, upload.attachmentId(), reason)
                .compose(v -> audit.record(conn, event(caller, "attachment.rejected", declared, clientAddress,
                    requestId, AuditEvent.Outcome.FAILURE, details.put("uploadId", upload.id().toString())
                        .put("reason", reason))))
                .map(true)));
  }

  /**
   * A completed upload rejected ({@link #endRejected}), then its object removed as {@link #discard} does; the client
   * gets {@code problem}, or 409 when another completion ended the upload first. When the rejection cannot be
   * written the upload is discarded all the same (its multipart upload is complete, it can never finish).
   */
  private <T> Future<T> rejectedAndRemoved(Caller caller, Upload upload, AttachmentLedger.Declared declared,
                                           String reason, JsonObject details, String clientAddress, String requestId,
                                           RuntimeException problem) {
    Future<Boolean> ending = endRejected(caller, upload, declared, reason, details, clientAddress, requestId)
        .recover(e -> discard(upload, "not stored: " + e.getMessage()).transform(x -> Future.failedFuture(e)));
    return discard(upload, ending).compose(ended -> ended ? Future.failedFuture(problem) : endedMeanwhile());
  }

  private Future<Upload> complete(Caller caller, Upload upload, AttachmentLedger.Declared declared,
                                  ChunkReceiver.Received received, String clientAddress, String requestId) {
    return Future.succeededFuture().compose(v -> {
      boolean matches = received.offset() == declared.size() && received.sha256Hex().equals(declared.sha256Hex());
      if (received.whole() != null) {
        // Received whole: judged in memory, stored with one PUT only when it passes. The content rules come
        // first, as they would have on the way when the head was not judged early (see write).
        Buffer whole = received.whole();
        return blocking.executeBlocking(() -> ContentRules.check(head(whole), tail(whole)), false)
            .compose(sniffed -> !matches
                    ? rejected(caller, upload, declared, mismatch(declared, received), clientAddress, requestId)
                    : store.putBytes(upload.objectKey(), whole, sniffed)
                        .compose(etag -> stored(caller, upload, declared, sniffed, clientAddress, requestId)),
                e -> !(e instanceof ContentRules.Refused refused) ? Future.failedFuture(e)
                    : refusedRecord(caller, upload, declared, refused, clientAddress, requestId).map(w -> upload));
      }
      return store.completeMultipart(upload.objectKey(), upload.multipartUploadId(), received.parts())
          .compose(etag -> {
            if (matches) {
              // The whole sniff again, on head and tail of what is stored (the tail may hold a ZIP end record).
              return headAndTail(store, upload.objectKey(), received.offset())
                  .compose(ht -> blocking.executeBlocking(() -> ContentRules.check(ht[0], ht[1]), false))
                  .compose(sniffed -> stored(caller, upload, declared, sniffed, clientAddress, requestId),
                      // Any other failure once the multipart upload is complete: it takes no more parts, so this
                      // upload can never finish; it ends (its object removed) and the client's next HEAD is 404,
                      // on which tus clients start a new upload, instead of resuming into errors until it expires.
                      e -> !(e instanceof ContentRules.Refused refused)
                          ? discard(upload, "not stored: " + e.getMessage()).transform(x -> Future.failedFuture(e))
                          : rejectedAndRemoved(caller, upload, declared, refused.reason, refusedDetails(refused),
                              clientAddress, requestId, refused.problem("upload")));
            }
            return rejected(caller, upload, declared, mismatch(declared, received), clientAddress, requestId);
          });
    });
  }

  private static String mismatch(AttachmentLedger.Declared declared, ChunkReceiver.Received received) {
    return "sha256 mismatch: declared " + declared.sha256Hex() + ", received " + received.sha256Hex() + " ("
        + received.offset() + " bytes)";
  }

  /** The head and tail windows of content held whole, as {@link #headAndTail} reads them from the store. */
  private static byte[] head(Buffer whole) {
    return whole.getBytes(0, (int) Math.min(whole.length(), ContentRules.HEAD));
  }

  private static byte[] tail(Buffer whole) {
    return whole.length() <= ContentRules.HEAD ? head(whole)
        : whole.getBytes((int) Math.max(0, whole.length() - ContentRules.TAIL), whole.length());
  }

  /** Ends what the store holds of an unfinished upload: its multipart upload, or nothing for a single PUT. */
  private Future<Void> abandon(String key, String multipartUploadId) {
    return multipartUploadId == null ? Future.succeededFuture() : store.abortMultipart(key, multipartUploadId);
  }

  /**
   * Deletes the object an ending upload wrote; when the store fails, records that the upload owes it (the sweeper
   * deletes it once the upload is no longer ACTIVE) and goes on.
   */
  private Future<Void> deleteOrOwe(Upload upload) {
    return store.delete(upload.objectKey()).recover(e -> {
      log.warn("upload {}: delete of its object failed (the sweeper retries): {}", upload.id(), e.toString());
      return repository.owesStoreCleanup(upload.id());
    });
  }

  /** Head ({@link ContentRules#HEAD}) and tail ({@link ContentRules#TAIL}) of a stored object, by ranged GETs. */
  static Future<byte[][]> headAndTail(ObjectStore store, String key, long size) {
    int headLength = (int) Math.min(size, ContentRules.HEAD);
    long tailFrom = Math.max(0, size - ContentRules.TAIL);
    return store.get(key, 0, headLength).compose(UploadService::collect)
        .compose(head -> size <= ContentRules.HEAD
            ? Future.succeededFuture(new byte[][] {head.getBytes(), head.getBytes()})
            : store.get(key, tailFrom, size - tailFrom).compose(UploadService::collect)
                .map(tail -> new byte[][] {head.getBytes(), tail.getBytes()}));
  }

  private Future<Upload> stored(Caller caller, Upload upload, AttachmentLedger.Declared declared, String sniffed,
                                String clientAddress, String requestId) {
    return Future.succeededFuture(sniffed)
        .compose(type -> repository.pool().withTransaction(conn -> repository.finish(conn, upload.id(),
                Upload.Status.COMPLETED, null)
            .compose(ok -> {
              if (!ok) {
                return endedMeanwhile();
              }
              return ledger.markStored(conn, upload.attachmentId(), upload.objectKey(), type);
            })
            .compose(s -> audit.record(conn, event(caller, "attachment.stored", declared, clientAddress,
                requestId, AuditEvent.Outcome.SUCCESS, new JsonObject().put("uploadId", upload.id().toString())
                    .put("size", upload.length()).put("sha256", declared.sha256Hex())
                    .put("reportCompleted", s.reportCompleted()))))))
        .map(v -> upload)
        .recover(e -> {
          log.info("upload {} completed but could not be stored: {}", upload.id(), e.toString());
          // The multipart upload is complete: it cannot take more parts, so this upload is over either way.
          return discard(upload, "not stored: " + e.getMessage())
              .transform(x -> Future.failedFuture(
              e instanceof IllegalStateException ? Problem.of(ProblemType.CONFLICT,
                  "The attachment is already stored.").toException() : e));
        });
  }

  /**
   * Removes what this completion put at the upload's key (its PUT, its completed multipart upload), unless that
   * object is the attachment's evidence. The upload is ended first (FAILED, {@code reason}): from then on no
   * completion of it can store it, so the object is nobody's. When it was ended already, another completion may
   * have stored this very key (a phone's retry sent to another instance while the first still received: both
   * write the same key, the in-process {@code writing} guard spans one instance only), and the object is removed
   * only when the attachment does not hold it. A delete the store refuses is owed (the sweeper does it, and checks
   * again that the attachment does not hold the key). True when this call ended the upload.
   */
  private Future<Boolean> discard(Upload upload, String reason) {
    return discard(upload, repository.finish(upload.id(), Upload.Status.FAILED, reason));
  }

  /** {@link #discard(Upload, String)} of an upload that {@code ending} ends (true when it ended it). */
  private Future<Boolean> discard(Upload upload, Future<Boolean> ending) {
    return ending
        .compose(ended -> (ended ? Future.succeededFuture(false)
                : repository.holdsStored(upload.attachmentId(), upload.objectKey()))
            .compose(evidence -> evidence ? Future.<Void>succeededFuture() : deleteOrOwe(upload))
            .map(ended));
  }

  private static <T> Future<T> endedMeanwhile() {
    return Future.failedFuture(Problem.of(ProblemType.CONFLICT, "The upload was ended meanwhile.").toException());
  }

  /**
   * The bytes do not match the declaration: the upload ends FAILED, its object (if any) is removed and the reason
   * recorded; unless another completion ended it first (then its stored object stays, and this one answers 409).
   */
  private Future<Upload> rejected(Caller caller, Upload upload, AttachmentLedger.Declared declared, String reason,
                                  String clientAddress, String requestId) {
    return rejectedAndRemoved(caller, upload, declared, reason, new JsonObject(), clientAddress, requestId,
        Problem.of(ProblemType.UNPROCESSABLE,
                "The uploaded bytes do not match the attachment's declared SHA-256; the upload was refused.")
            .withErrors(List.of(new Problem.FieldError("sha256", reason))).toException());
  }

  /**
   * Termination: aborts the multipart upload (its parts are discarded), then deletes the object at the upload's key:
   * a completion whose server died before its commit left one there (a completed multipart upload, whose abort is
   * NoSuchUpload and succeeds, or the single PUT of an upload held whole). The upload never was COMPLETED, so that
   * object is nobody's; a delete the store refuses is owed (the sweeper does it). The end is audited
   * ({@code attachment.upload.terminated}, how far it had come) in the transaction that writes it.
   */
  public Future<Void> terminate(Caller caller, UploadRepository.Found found, String clientAddress,
                                String requestId) {
    Upload upload = found.upload();
    if (upload.status() != Upload.Status.ACTIVE) {
      return Future.failedFuture(notFound(ended(upload.status())));
    }
    return abandon(upload.objectKey(), upload.multipartUploadId())
        .compose(v -> repository.pool().withTransaction(conn -> repository.finish(conn, upload.id(),
                Upload.Status.ABORTED, "terminated by the client")
            .compose(ended -> !ended ? Future.succeededFuture(false)
                : audit.record(conn, event(caller, "attachment.upload.terminated", found.declared(), clientAddress,
                    requestId, AuditEvent.Outcome.SUCCESS, progress(upload))).map(true))))
        // Ended meanwhile (a PATCH completed it, or found its multipart upload gone, or the sweeper expired it): the
        // upload is not terminated, and the answer says how it ended.
        .compose(ended -> ended ? deleteOrOwe(upload)
            : repository.find(upload.id()).compose(now -> Future.failedFuture(notFound(
                ended(now.map(f -> f.upload().status()).orElse(Upload.Status.ABORTED))))));
  }

  /** The details of an entry about an upload ended unfinished: which, and how far it had come. */
  static JsonObject progress(Upload upload) {
    return new JsonObject().put("uploadId", upload.id().toString()).put("offset", upload.offset())
        .put("length", upload.length());
  }

  /** Why an ended upload cannot be terminated, by how it ended. */
  private static String ended(Upload.Status status) {
    return switch (status) {
      case COMPLETED -> "The upload is already complete.";
      case EXPIRED -> "The upload expired; create a new one.";
      default -> "The upload was ended; create a new one.";
    };
  }

  static Future<Buffer> collect(ReadStream<Buffer> stream) {
    Promise<Buffer> promise = Promise.promise();
    Buffer all = Buffer.buffer();
    // End and failure handlers before the data handler, which starts the flow.
    stream.exceptionHandler(promise::tryFail).endHandler(v -> promise.tryComplete(all)).handler(all::appendBuffer);
    return promise.future();
  }

  private static AuditEvent event(Caller caller, String action, AttachmentLedger.Declared declared,
                                  String clientAddress, String requestId, AuditEvent.Outcome outcome,
                                  JsonObject details) {
    return new AuditEvent(caller.accountId(), caller.accountId().toString(), action, "attachment",
        declared.attachmentId().toString(), declared.unitId(), clientAddress, requestId, outcome,
        details.put("reportId", declared.reportId().toString()));
  }

  /**
   * An upload whose attachment another upload (or a direct completion) stored: 410, as for an expired one (it
   * existed and is over for good), not the 404 of one terminated or refused, which the client should start again.
   */
  private static RuntimeException superseded() {
    return Problem.of(ProblemType.GONE, "The attachment was stored by another upload; nothing more is needed.")
        .toException();
  }

  private static RuntimeException notFound(String detail) {
    return Problem.of(ProblemType.NOT_FOUND, detail).toException();
  }
}
