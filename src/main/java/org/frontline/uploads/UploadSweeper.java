package org.frontline.uploads;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.frontline.platform.objectstore.ObjectStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;

/**
 * Ends uploads past their expiry: aborts their S3 multipart upload (so no parts are left behind) and marks them
 * EXPIRED. Rows are claimed with {@code FOR UPDATE SKIP LOCKED} and stay locked until their abort is done, so
 * several instances may sweep at once without doing the same work twice.
 */
public final class UploadSweeper {
  private static final Logger log = LoggerFactory.getLogger(UploadSweeper.class);
  static final int BATCH = 100;

  private final UploadRepository repository;
  private final ObjectStore store;
  private long timer = -1;
  private boolean sweeping;

  public UploadSweeper(UploadRepository repository, ObjectStore store) {
    this.repository = repository;
    this.store = store;
  }

  /** Sweeps every {@code interval} (the first time after one interval). */
  public void start(Vertx vertx, Duration interval) {
    timer = vertx.setPeriodic(interval.toMillis(), id -> {
      if (sweeping) {
        return; // the previous sweep is still at work
      }
      sweeping = true;
      sweep().onComplete(done -> {
        sweeping = false;
        if (done.failed()) {
          log.warn("upload sweep failed: {}", done.cause().toString());
        } else if (done.result() > 0) {
          log.info("expired {} uploads", done.result());
        }
      });
    });
  }

  public void stop(Vertx vertx) {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
  }

  /** Expires everything due now, batch after batch; the count of uploads expired. */
  public Future<Integer> sweep() {
    return sweepBatch().compose(n -> n < BATCH ? Future.succeededFuture(n) : sweep().map(more -> n + more));
  }

  private Future<Integer> sweepBatch() {
    return repository.pool().withTransaction(conn -> repository.claimExpired(conn, BATCH)
        .compose(due -> expire(conn, due).map(due.size())));
  }

  private Future<Void> expire(io.vertx.sqlclient.SqlConnection conn, List<Upload> due) {
    Future<Void> chain = Future.succeededFuture();
    for (Upload upload : due) {
      chain = chain
          // A single-PUT upload has nothing in the store until its last byte; a crash between that PUT and the
          // row's update would leave the object: deleting its key is harmless either way.
          .compose(v -> upload.multipartUploadId() == null ? store.delete(upload.objectKey())
              : store.abortMultipart(upload.objectKey(), upload.multipartUploadId()))
          .compose(v -> repository.finish(conn, upload.id(), Upload.Status.EXPIRED, "expired at "
              + upload.expiresAt()))
          .mapEmpty();
    }
    return chain;
  }
}
