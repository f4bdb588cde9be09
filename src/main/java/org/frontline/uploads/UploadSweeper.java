package org.frontline.uploads;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.frontline.platform.PeriodicRounds;
import org.frontline.platform.RoundFailures;
import org.frontline.platform.objectstore.ObjectStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Leaves nothing of ended uploads in the store. Each sweep:
 * <ol>
 *   <li>marks ACTIVE uploads past their expiry EXPIRED, owing their store clean-up;</li>
 *   <li>cleans what ended uploads owe ({@code upload.cleanup_after}: expired ones, and those whose abort or delete
 *   failed when they ended): aborts the multipart upload, then deletes the object at the upload's key, an object
 *   a multipart upload completed before its server died (or before a later step failed) would have left, unless
 *   the attachment is STORED under that very key;</li>
 *   <li>deletes direct-upload staging objects ({@link DirectUploadApi#stagingKey}) no completion can use any more:
 *   of an attachment that is not PENDING (stored, by either path) or does not exist, or older than
 *   {@code stagingLifetime} (a completion may come that long after its PUT, as long as a tus upload lives);</li>
 *   <li>deletes the final-key copies of direct-upload completions that no attachment came to own (the completion
 *   lost while the store was down, its database failed, its server died between the copy and the commit): recorded
 *   before the copy ({@code unowned_object}), owned when the attachment is stored under that key, and deleted here
 *   once older than {@link #UNOWNED_AGE} (as read by {@code clock}), unless the attachment is STORED under that
 *   very key; and so the served copies of a photo the media worker FAILED (recorded as unowned when it fails: an
 *   attempt may have put them and died before recording them).</li>
 * </ol>
 * No store call runs inside a transaction: a transaction open for a hundred S3 round trips would hold its row locks
 * and, having an xid, freeze the partner event feed meanwhile (EventFeed serves only events older than
 * {@code pg_snapshot_xmin}). The mark comes first, in one short statement that only one of several sweepers wins per
 * upload: once EXPIRED, an upload can no longer complete (its completion's conditional update fails and deletes what
 * it wrote), so the clean-up cannot remove a stored attachment's object. A clean-up is claimed with a lease
 * ({@link #CLEANUP_LEASE}) and cleared only when the store calls succeeded: one that fails, or whose sweeper dies,
 * is done again by a later sweep. Every step is harmless to repeat (aborting an unknown multipart upload and
 * deleting a missing key succeed). An upload that ended other than COMPLETED is cleaned once more
 * {@link UploadRepository#LATE_WRITES} after its end: a completion that read it ACTIVE may put its object after the
 * first clean-up and die before deleting it.
 */
public final class UploadSweeper {
  private static final Logger log = LoggerFactory.getLogger(UploadSweeper.class);
  static final int BATCH = 100;
  /** How long a claimed clean-up is another sweeper's: then it is tried again (after a failure, say). */
  static final Duration CLEANUP_LEASE = Duration.ofMinutes(2);
  static final String STAGING_PREFIX = "uploads/direct/";
  /** Staging objects listed at once. */
  static final int STAGING_PAGE = 1000;
  /**
   * How old an unowned direct-upload copy is before the sweeper deletes it: a completion between its copy and its
   * commit takes seconds; one still at work this long after its copy has failed (and can no longer be stored once
   * claimed).
   */
  static final Duration UNOWNED_AGE = UploadRepository.LATE_WRITES;

  private final UploadRepository repository;
  private final ObjectStore store;
  private final Clock clock;
  private final Duration stagingLifetime;
  private final PeriodicRounds<Integer> periodic = new PeriodicRounds<>(this::sweep,
      new RoundFailures(log, "upload sweep"), expired -> {
        if (expired > 0) {
          log.info("expired {} uploads", expired);
        }
      });
  private final RoundFailures stagingRounds = new RoundFailures(log, "staging object sweep");

  /**
   * @param clock           what "now" is for the age of staging objects (their last modification is the store's)
   *                        and of unowned direct-upload copies
   * @param stagingLifetime how long a staging object of a pending attachment is kept after its PUT
   */
  public UploadSweeper(UploadRepository repository, ObjectStore store, Clock clock, Duration stagingLifetime) {
    this.repository = repository;
    this.store = store;
    this.clock = clock;
    this.stagingLifetime = stagingLifetime;
  }

  /** Sweeps every {@code interval} (the first time after one interval). */
  public void start(Vertx vertx, Duration interval) {
    periodic.start(vertx, interval);
  }

  public Future<Void> stop(Vertx vertx) {
    return periodic.stop(vertx);
  }

  /**
   * Expires everything due now, cleans what ended uploads owe the store, the unowned copies, then the staging
   * objects; the count of uploads expired. A store that cannot be reached fails no step: what it could not do is
   * done by a later sweep.
   */
  public Future<Integer> sweep() {
    return expire()
        .compose(expired -> cleanOwed().compose(v -> sweepUnowned()).compose(v -> sweepStaging()
            .onComplete(stagingRounds::record)
            .otherwiseEmpty())
            .map(expired));
  }

  private Future<Integer> expire() {
    return repository.expireDue(BATCH)
        .compose(expired -> expired.size() < BATCH ? Future.succeededFuture(expired.size())
            : expire().map(more -> expired.size() + more));
  }

  /** What ended uploads owe the store, claimed batch after batch. */
  private Future<Void> cleanOwed() {
    return drain(() -> repository.claimCleanups(BATCH, CLEANUP_LEASE),
        owed -> clean(owed).compose(v -> repository.cleaned(owed.id())), owed -> "upload " + owed.id());
  }

  /**
   * Batches taken by {@code claim} (each item claimed with a {@link #CLEANUP_LEASE}), their items done one after
   * another by {@code work}; a failure is logged and leaves its item to be claimed again after the lease. Until a
   * batch is short, or had a failure (the store is down?).
   */
  private <T> Future<Void> drain(Supplier<Future<List<T>>> claim, Function<T, Future<Void>> work,
                                 Function<T, String> name) {
    return claim.get().compose(batch -> {
      Future<Integer> chain = Future.succeededFuture(0);
      for (T item : batch) {
        chain = chain.compose(failures -> work.apply(item).map(failures).otherwise(e -> {
          log.warn("{}: store not cleaned (retried after {}): {}", name.apply(item), CLEANUP_LEASE, e.toString());
          return failures + 1;
        }));
      }
      return chain.compose(failures -> batch.size() < BATCH || failures > 0 ? Future.<Void>succeededFuture()
          : drain(claim, work, name));
    });
  }

  /**
   * Abort first: a multipart upload aborted cannot be completed any more, so no object appears at the key after
   * the delete. A completed multipart upload is unknown to the store (NoSuchUpload, which succeeds) but its object
   * is at the key. A single PUT (no multipart upload) has nothing in the store until its last byte; a crash between
   * that PUT and the row's update would leave the object. An upload of more than one part without a recorded
   * multipart upload is one whose server died (or whose store call failed) between its row and the multipart
   * upload's start: the store is asked which multipart uploads exist at its key (its own, no other upload's).
   */
  private Future<Void> clean(UploadRepository.Cleanup owed) {
    Future<Void> aborted;
    if (owed.multipartUploadId() != null) {
      aborted = store.abortMultipart(owed.objectKey(), owed.multipartUploadId());
    } else if (owed.length() > ChunkReceiver.PART_SIZE) {
      aborted = store.listMultipartUploads(owed.objectKey()).compose(started -> {
        Future<Void> chain = Future.succeededFuture();
        for (ObjectStore.MultipartUpload multipart : started) {
          if (multipart.key().equals(owed.objectKey())) {
            chain = chain.compose(v -> store.abortMultipart(multipart.key(), multipart.uploadId()));
          }
        }
        return chain;
      });
    } else {
      aborted = Future.succeededFuture();
    }
    return owed.attachmentsObject() ? aborted : aborted.compose(v -> store.delete(owed.objectKey()));
  }

  /**
   * Unowned copies old enough, claimed batch after batch: each deleted (not the attachment's own), then its entry.
   */
  private Future<Void> sweepUnowned() {
    return drain(() -> repository.claimUnowned(clock.instant().minus(UNOWNED_AGE), BATCH, CLEANUP_LEASE),
        unowned -> (unowned.attachmentsObject() ? Future.<Void>succeededFuture() : store.delete(unowned.objectKey()))
            .compose(v -> repository.forgetUnowned(unowned.objectKey())),
        unowned -> "unowned object " + unowned.objectKey());
  }

  /** The staging prefix, page after page. */
  private Future<Void> sweepStaging() {
    return sweepStaging(null);
  }

  private Future<Void> sweepStaging(String startAfter) {
    return store.list(STAGING_PREFIX, startAfter, STAGING_PAGE)
        .compose(page -> removeUnusable(page)
            .compose(v -> page.size() < STAGING_PAGE ? Future.succeededFuture()
                : sweepStaging(page.get(page.size() - 1).key())));
  }

  private Future<Void> removeUnusable(List<ObjectStore.ObjectInfo> page) {
    if (page.isEmpty()) {
      return Future.succeededFuture();
    }
    Map<UUID, UUID> attachmentReports = new HashMap<>();
    for (ObjectStore.ObjectInfo object : page) {
      UUID[] ids = staged(object.key());
      if (ids != null) {
        attachmentReports.put(ids[1], ids[0]);
      }
    }
    Instant oldest = clock.instant().minus(stagingLifetime);
    return (attachmentReports.isEmpty() ? Future.succeededFuture(Map.<UUID, String>of())
        : repository.attachmentStatuses(attachmentReports))
        .compose(statuses -> {
          Future<Void> chain = Future.succeededFuture();
          for (ObjectStore.ObjectInfo object : page) {
            UUID[] ids = staged(object.key());
            String status = ids == null ? null : statuses.get(ids[1]);
            // A pending attachment's object may still be completed, until it is too old.
            if ("PENDING".equals(status) && !object.lastModified().isBefore(oldest)) {
              continue;
            }
            chain = chain.compose(v -> store.delete(object.key())
                .otherwise(e -> {
                  log.warn("staging object {} not removed: {}", object.key(), e.toString());
                  return null;
                }));
          }
          return chain;
        });
  }

  /** Report and attachment of a staging key ({@code uploads/direct/{report}/{attachment}}), or null. */
  private static UUID[] staged(String key) {
    String[] parts = key.substring(STAGING_PREFIX.length()).split("/", -1);
    if (parts.length != 2) {
      return null;
    }
    try {
      return new UUID[] {UUID.fromString(parts[0]), UUID.fromString(parts[1])};
    } catch (IllegalArgumentException e) {
      return null;
    }
  }
}
