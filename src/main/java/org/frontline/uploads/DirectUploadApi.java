package org.frontline.uploads;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.streams.ReadStream;
import io.vertx.ext.web.RoutingContext;
import org.frontline.audit.AuditEvent;
import org.frontline.audit.AuditLog;
import org.frontline.identity.Caller;
import org.frontline.platform.http.ApiRoutes;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemType;
import org.frontline.platform.http.RequestIds;
import org.frontline.platform.objectstore.ObjectStore;
import org.frontline.reports.AttachmentLedger;

import java.security.MessageDigest;
import java.time.Clock;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Direct upload: a presigned PUT of the attachment's staging key (15 minutes, that key, PUT only, the declared size
 * only: a signed Content-Length), then a completion that copies what landed (on condition of the ETag it read) to a
 * final key the presigned URL cannot reach and verifies that copy: size, content rules, and SHA-256 by streaming it
 * through the digest. What is verified is what is stored, whatever a PUT through the still-valid URL does meanwhile.
 */
public final class DirectUploadApi implements ApiRoutes {
  static final int URL_MINUTES = 15;

  private final UploadRepository repository;
  private final AttachmentLedger ledger;
  private final ObjectStore store;
  private final AuditLog audit;
  private final Clock clock;
  private final WorkerExecutor blocking;

  public DirectUploadApi(UploadRepository repository, AttachmentLedger ledger, ObjectStore store, AuditLog audit,
                         Clock clock, WorkerExecutor blocking) {
    this.repository = repository;
    this.ledger = ledger;
    this.store = store;
    this.audit = audit;
    this.clock = clock;
    this.blocking = blocking;
  }

  @Override
  public Map<String, Handler<RoutingContext>> handlers() {
    return Map.of("createAttachmentUploadUrl", this::uploadUrl, "completeAttachmentUpload", this::complete);
  }

  static String stagingKey(AttachmentLedger.Declared d) {
    return "uploads/direct/" + d.reportId() + "/" + d.attachmentId();
  }

  private void uploadUrl(RoutingContext rc) {
    mine(rc).compose(d -> {
      if (!"PENDING".equals(d.status())) {
        return Future.failedFuture(Problem.of(ProblemType.CONFLICT, "The attachment is already stored.")
            .toException());
      }
      java.time.Instant expires = clock.instant().plusSeconds(URL_MINUTES * 60L);
      // The URL is bound to the declared size (a signed Content-Length): the store takes no other length, so the
      // staging key never holds more than the declaration (S3 would take up to 5 GB per PUT otherwise).
      return store.presignedPut(stagingKey(d), URL_MINUTES, d.size()).map(put -> new JsonObject()
          .put("url", put.url()).put("method", "PUT")
          .put("headers", new JsonObject(new java.util.TreeMap<String, Object>(put.headers())))
          .put("expiresAt", expires.toString()));
    }).onSuccess(rc::json).onFailure(rc::fail);
  }

  private void complete(RoutingContext rc) {
    Caller caller = Caller.of(rc);
    mine(rc).compose(d -> {
      if ("STORED".equals(d.status())) {
        return storedAlready(d);
      }
      String staging = stagingKey(d);
      return verifyAndStore(rc, caller, d, staging)
          // Another completion (direct or tus) may have stored the attachment meanwhile: this one then lost a
          // race (its copy is removed, markStored refused, the staging object gone) and answers as a repeat does.
          .recover(e -> ledger.declared(d.reportId(), d.attachmentId()).transform(now ->
              now.succeeded() && now.result().filter(x -> "STORED".equals(x.status())).isPresent()
                  ? storedAlready(d) : Future.failedFuture(e)));
    }).onSuccess(rc::json).onFailure(rc::fail);
  }

  /**
   * Completing a stored attachment answers its state (again, or after losing a race to another completion): what the
   * completion that stored it answered, its sniffed type and whether that completed the report, so a phone whose
   * answer was lost learns the same from its retry. A staging object still there (PUT for a completion that lost to
   * tus) is removed: the stored object is elsewhere.
   */
  private Future<JsonObject> storedAlready(AttachmentLedger.Declared d) {
    return store.delete(stagingKey(d))
        .compose(v -> ledger.storedState(d.attachmentId()))
        .map(stored -> {
          // STORED is final: the attachment read as STORED just before is still so.
          AttachmentLedger.StoredState s = stored.orElseThrow(() -> new IllegalStateException("attachment "
              + d.attachmentId() + " is no longer stored"));
          return state(d, "STORED", s.contentType(), s.reportCompleted());
        });
  }

  private Future<JsonObject> verifyAndStore(RoutingContext rc, Caller caller, AttachmentLedger.Declared d,
                                            String staging) {
    return store.stat(staging).compose(info -> {
      if (info.isEmpty()) {
        return Future.failedFuture(Problem.of(ProblemType.UNPROCESSABLE, "Nothing was uploaded yet.")
            .withErrors(List.of(new Problem.FieldError("size", "no object was uploaded"))).toException());
      }
      if (info.get().size() != d.size()) {
        return reject(rc, caller, d, staging, ProblemType.UNPROCESSABLE, "size", "size mismatch: declared "
            + d.size() + ", received " + info.get().size());
      }
      String key = "reports/" + d.reportId() + "/" + d.attachmentId() + "/" + UUID.randomUUID();
      // The staged object is copied (on condition of the ETag just read) to a key the presigned URL cannot reach
      // first, and everything is verified on that copy: a PUT through the still-valid URL between the checks and
      // the copy (the declared bytes while they are read, others again before the copy) cannot get unverified bytes
      // stored. The key is recorded as unowned before the copy and owned in the transaction that stores the
      // attachment under it: a copy nobody owns (refused, lost a race while the store was down, or its server died
      // before its commit) is deleted here or by the sweeper once old.
      return repository.writingUnowned(d.attachmentId(), key)
          .compose(w -> store.copy(staging, key, info.get().etag())
              .recover(e -> Future.failedFuture(e instanceof IllegalStateException
                  ? Problem.of(ProblemType.CONFLICT, "The object changed while it was verified; complete again.")
                      .toException() : e))
              .compose(v -> verifyCopy(rc, caller, d, staging, key))
              .compose(sniffed -> repository.pool().withTransaction(conn -> ledger.markStored(conn,
                      d.attachmentId(), key, sniffed)
                  .compose(stored -> repository.owned(conn, key).map(stored))
                  .compose(stored -> audit.record(conn, event(rc, caller, "attachment.stored", d,
                          AuditEvent.Outcome.SUCCESS, new JsonObject().put("via", "presigned-put")
                              .put("size", d.size()).put("sha256", d.sha256Hex())
                              .put("reportCompleted", stored.reportCompleted())))
                      .map(stored)))
                  .map(stored -> state(d, "STORED", sniffed, stored.reportCompleted())))
              // Removed unless the attachment holds it after all (a commit whose answer was lost); when that
              // cannot be read, it stays recorded as unowned and the sweeper judges it later.
              .recover(e -> repository.holdsStored(d.attachmentId(), key)
                  .compose(held -> held ? Future.<Void>succeededFuture()
                      : store.delete(key).compose(v -> repository.forgetUnowned(key)))
                  .transform(x -> Future.failedFuture(e))))
          .compose(state -> store.delete(staging).map(state));
    });
  }

  /**
   * The copy's size, content rules (two ranged GETs: a refused file is never streamed through the digest) and
   * SHA-256; its sniffed type, or a rejection (recorded, the staging object removed).
   */
  private Future<String> verifyCopy(RoutingContext rc, Caller caller, AttachmentLedger.Declared d, String staging,
                                    String key) {
    return store.stat(key).compose(copied -> {
      long size = copied.map(ObjectStore.ObjectInfo::size).orElse(-1L);
      if (size != d.size()) {
        return reject(rc, caller, d, staging, ProblemType.UNPROCESSABLE, "size", "size mismatch: declared "
            + d.size() + ", received " + size).map(x -> (String) null);
      }
      return UploadService.headAndTail(store, key, size)
          .compose(ht -> blocking.executeBlocking(() -> ContentRules.check(ht[0], ht[1]), false))
          .compose(sniffed -> digest(key).map(sha -> new Digest(sha, sniffed)),
              e -> e instanceof ContentRules.Refused refused
                  ? reject(rc, caller, d, staging, refused.type, "content", refused.reason).map(x -> (Digest) null)
                  : Future.failedFuture(e))
          .compose(result -> result.sha256Hex().equals(d.sha256Hex())
              ? Future.succeededFuture(result.sniffedType())
              : reject(rc, caller, d, staging, ProblemType.UNPROCESSABLE, "sha256", "sha256 mismatch: declared "
                  + d.sha256Hex() + ", received " + result.sha256Hex()).map(x -> (String) null));
    });
  }

  private Future<JsonObject> reject(RoutingContext rc, Caller caller, AttachmentLedger.Declared d, String key,
                                    ProblemType type, String field, String reason) {
    // The rejection recorded and audited in one transaction: both or neither.
    return store.delete(key)
        .compose(v -> repository.pool().withTransaction(conn -> ledger.recordRejection(conn, d.attachmentId(), reason)
            .compose(x -> audit.record(conn, event(rc, caller, "attachment.rejected", d, AuditEvent.Outcome.FAILURE,
                new JsonObject().put("via", "presigned-put").put("status", type.status()).put("reason", reason))))))
        .compose(v -> Future.failedFuture("content".equals(field)
            ? new ContentRules.Refused(type, reason).problem("uploaded object")
            : Problem.of(type, "The uploaded object does not match the attachment's declaration; it was removed.")
                .withErrors(List.of(new Problem.FieldError(field, reason))).toException()));
  }

  private record Digest(String sha256Hex, String sniffedType) {}

  /** Streams the object through SHA-256 (nothing held but a chunk). */
  private Future<String> digest(String key) {
    return store.get(key, 0, -1).compose(stream -> {
      Promise<String> promise = Promise.promise();
      MessageDigest sha;
      try {
        sha = MessageDigest.getInstance("SHA-256");
      } catch (Exception e) {
        return Future.failedFuture(e);
      }
      ReadStream<Buffer> s = stream;
      s.handler(b -> sha.update(b.getBytes())).exceptionHandler(promise::tryFail)
          .endHandler(v -> promise.tryComplete(HexFormat.of().formatHex(sha.digest())));
      return promise.future();
    });
  }

  /** The caller's attachment; 404 for a missing one or another author's. */
  private Future<AttachmentLedger.Declared> mine(RoutingContext rc) {
    Caller caller = Caller.of(rc);
    UUID id;
    try {
      id = UUID.fromString(rc.pathParam("id"));
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(Problem.of(ProblemType.NOT_FOUND, "No such attachment.").toException());
    }
    return repository.reportOf(id)
        .compose(report -> report.isEmpty() ? Future.succeededFuture(java.util.Optional.<AttachmentLedger.Declared>empty())
            : ledger.declared(report.get(), id))
        .compose(found -> found.filter(d -> d.authorId().equals(caller.accountId()))
            .map(Future::succeededFuture)
            .orElseGet(() -> Future.failedFuture(Problem.of(ProblemType.NOT_FOUND,
                "No such attachment of a report of yours.").toException())));
  }

  private static JsonObject state(AttachmentLedger.Declared d, String status, String contentType,
                                  boolean reportCompleted) {
    JsonObject json = new JsonObject().put("id", d.attachmentId().toString()).put("reportId", d.reportId().toString())
        .put("status", status).put("reportCompleted", reportCompleted);
    if (contentType != null) {
      json.put("contentType", contentType);
    }
    return json;
  }

  private static AuditEvent event(RoutingContext rc, Caller caller, String action, AttachmentLedger.Declared d,
                                  AuditEvent.Outcome outcome, JsonObject details) {
    return new AuditEvent(caller.accountId(), caller.accountId().toString(), action, "attachment",
        d.attachmentId().toString(), d.unitId(),
        rc.request().remoteAddress() == null ? null : rc.request().remoteAddress().hostAddress(),
        RequestIds.of(rc), outcome, details.put("reportId", d.reportId().toString()));
  }
}
