package org.frontline.uploads;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.frontline.platform.objectstore.ObjectStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;

/**
 * Ends uploads past their expiry: marks them EXPIRED, then aborts their S3 multipart upload (so no parts are left
 * behind) or deletes the single PUT's key. No store call runs inside a transaction: a transaction open for a hundred
 * S3 round trips would hold its row locks and, having an xid, freeze the partner event feed meanwhile (EventFeed
 * serves only events older than {@code pg_snapshot_xmin}). The mark comes first, in one short statement that only
 * one of several sweepers wins per upload: once EXPIRED, an upload can no longer complete (its completion's
 * conditional update fails and deletes what it wrote), so the store clean-up cannot remove a completed upload's
 * object, and only the sweeper that marked it cleans it. An ACTIVE upload past its expiry was refused (410) before
 * the mark already. The price: a sweeper that dies between the mark and the abort leaves that multipart upload
 * incomplete in the bucket (a bucket lifecycle rule for incomplete multipart uploads removes such leftovers).
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
    return repository.expireDue(BATCH).compose(expired -> clean(expired).map(expired.size()));
  }

  /** The store's side of expired uploads, one after another; a failure is logged and the others still cleaned. */
  private Future<Void> clean(List<Upload> expired) {
    Future<Void> chain = Future.succeededFuture();
    for (Upload upload : expired) {
      chain = chain
          // A single-PUT upload has nothing in the store until its last byte; a crash between that PUT and the
          // row's update would leave the object: deleting its key is harmless either way.
          .compose(v -> upload.multipartUploadId() == null ? store.delete(upload.objectKey())
              : store.abortMultipart(upload.objectKey(), upload.multipartUploadId()))
          .otherwise(e -> {
            log.warn("expired upload {}: store not cleaned: {}", upload.id(), e.toString());
            return null;
          })
          .mapEmpty();
    }
    return chain;
  }
}
