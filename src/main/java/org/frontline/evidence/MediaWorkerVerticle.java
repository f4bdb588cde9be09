package org.frontline.evidence;

import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.VertxException;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.ClosedConnectionException;
import org.frontline.media.DerivedImages;
import org.frontline.media.EvidenceCheck;
import org.frontline.media.EvidenceChecks;
import org.frontline.media.EvidenceThresholds;
import org.frontline.media.Heif;
import org.frontline.media.MediaBytes;
import org.frontline.media.PerceptualHash;
import org.frontline.media.PhotoMetadata;
import org.frontline.media.PhotoMetadataReader;
import org.frontline.media.PixelCap;
import org.frontline.media.ReportLocation;
import org.frontline.platform.RoundFailures;
import org.frontline.platform.RoundsInFlight;
import org.frontline.platform.db.Database;
import org.frontline.platform.http.DependencyUnavailableException;
import org.frontline.platform.objectstore.ObjectStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * Evidence checks and served copies of stored photos, off the request path. Each round claims a few STORED
 * attachments not processed yet (lease, {@code FOR UPDATE SKIP LOCKED}: any number of instances, in this process or
 * others, share the work and never handle one attachment at once; a dead instance's claims are taken again after the
 * lease), reads each object (bounded by {@link Settings#maxBytes}), then on the blocking pool: EXIF, the report and
 * photo checks, the thumbnail/display copies and the dHash (one decode, which re-checks the pixel cap). Back on the
 * event loop: exact reuse and near-duplicate lookups in the database, the copies put into the store under server-generated
 * keys, and everything recorded in one transaction (with the report's first flag and its outbox event).
 */
public final class MediaWorkerVerticle extends VerticleBase {
  private static final Logger log = LoggerFactory.getLogger(MediaWorkerVerticle.class);

  /**
   * Tuning; {@link #defaults()} suits production and tests. {@code maxAttempts} bounds the attempts that failed on
   * the photo itself, each retried after {@code retryAfter}; an attempt that failed because the object store or the
   * database could not be reached ({@link #unavailable}) is given back and retried after {@code retryAfter} doubled
   * per such failure in a row, at most {@code retryCap} apart, until the first of them is {@code unavailableFor} old.
   */
  public record Settings(int batch, Duration lease, Duration busyDelay, Duration idleDelay, int maxAttempts,
                         Duration retryAfter, Duration retryCap, Duration unavailableFor, long maxBytes) {
    public static Settings defaults() {
      return new Settings(4, Duration.ofMinutes(5), Duration.ofMillis(10), Duration.ofMillis(500), 3,
          Duration.ofSeconds(30), Duration.ofMinutes(30), Duration.ofHours(24), 50L * 1024 * 1024);
    }
  }

  /** How often the backlog gauges are refreshed. */
  static final Duration BACKLOG_EVERY = Duration.ofSeconds(5);

  /** Where the served copies of an attachment live: server-generated, the same on a re-run (overwritten). */
  static String derivedKey(UUID attachmentId, String variant) {
    return "derived/" + attachmentId + "/" + variant + ".jpg";
  }

  private final EvidenceRepository repository;
  private final ObjectStore store;
  private final WorkerExecutor blocking;
  private final Settings settings;
  private final EvidenceChecks checks = new EvidenceChecks(EvidenceThresholds.DEFAULT);
  private final PhotoMetadataReader metadata = new PhotoMetadataReader();
  private final DerivedImages derived = new DerivedImages(PixelCap.DEFAULT);
  private final String instance = "media-" + UUID.randomUUID();
  private final MediaMetrics metrics;
  /** Failed attempts whose recording failed with the database unreachable, oldest first (this verticle's context). */
  private final List<Supplier<Future<EvidenceRepository.Failure>>> unrecorded = new ArrayList<>();
  private final RoundFailures rounds = new RoundFailures(log, "media round");
  /** The round at work, which {@link #stop} waits for (its photos finish while the pools are open). */
  private final RoundsInFlight inFlight = new RoundsInFlight("media rounds");
  private volatile boolean stopping;
  private long timer = -1;
  private long backlogTimer = -1;

  public MediaWorkerVerticle(Database database, ObjectStore store, WorkerExecutor blocking, Settings settings,
                             MeterRegistry registry) {
    this.repository = new EvidenceRepository(database.pool());
    this.metrics = new MediaMetrics(registry);
    this.store = Objects.requireNonNull(store, "store");
    this.blocking = Objects.requireNonNull(blocking, "blocking");
    this.settings = Objects.requireNonNull(settings, "settings");
  }

  /** This instance's claim name (recorded on the attachments it claims). */
  public String instance() {
    return instance;
  }

  @Override
  public Future<?> start() {
    // Loads libheif (or logs its absence) on the worker pool, not on this event loop: dlopen and its plugins.
    return blocking.executeBlocking(Heif::available, false).onSuccess(heif -> {
      schedule(Duration.ofMillis(10));
      backlogTimer = BacklogGauges.refreshEvery(vertx, BACKLOG_EVERY, repository::backlog, metrics::backlog, log,
          "media backlog");
    });
  }

  /**
   * No round starts any more; the one at work finishes first: the service closes the database and the blocking pool
   * only once every worker is undeployed, and a round cut off there lost its photos' attempts.
   */
  @Override
  public Future<?> stop() {
    stopping = true;
    vertx.cancelTimer(timer);
    vertx.cancelTimer(backlogTimer);
    return inFlight.idle(vertx);
  }

  private void schedule(Duration delay) {
    if (!stopping) {
      timer = vertx.setTimer(Math.max(1, delay.toMillis()), id -> round());
    }
  }

  private void round() {
    inFlight.track(recordUnrecorded()
        .compose(v -> repository.claim(instance, settings.batch(), settings.lease(), settings.maxAttempts()))
        .compose(claim -> {
          Future<Void> chain = Future.succeededFuture();
          for (EvidenceRepository.Abandoned gone : claim.abandoned()) {
            EvidenceRepository.Job job = gone.job();
            // Kept as a photo's failure is when the database cannot be reached: a round stopped here would leave
            // the photos claimed after it with an attempt used and never tried.
            chain = chain.compose(v -> recordFailure(job, () -> repository.fail(instance, job, "abandoned: "
                    + job.attempts() + " attempt(s) never finished (last error: " + (gone.error() == null
                    ? "none recorded" : gone.error()) + ")", false, true, settings, reportChecks(job),
                    checks.checksUnavailable("its processing never finished in " + job.attempts() + " attempt(s)"))
                .onSuccess(f -> {
                  if (f == EvidenceRepository.Failure.FAILED) {
                    metrics.outcome("abandoned");
                  }
                }))
                .<Void>mapEmpty());
          }
          for (EvidenceRepository.Job job : claim.jobs()) {
            chain = chain.compose(v -> {
              long start = System.nanoTime();
              return process(job)
                  .onSuccess(outcome -> metrics.processed(outcome, System.nanoTime() - start))
                  .<Void>mapEmpty()
                  .recover(e -> {
                    boolean unavailable = unavailable(e);
                    log.warn("media processing of attachment {} failed (attempt {}{}): {}", job.attachmentId(),
                        job.attempts(), unavailable ? ", a dependency unavailable: given back" : "", e.toString());
                    return recordFailure(job, () -> repository.fail(instance, job, e.toString(), unavailable, false,
                            settings, reportChecks(job), checks.checksUnavailable(unavailable
                                ? "the object store or the database could not be reached for "
                                + settings.unavailableFor().toHours() + " h"
                                : "the photo could not be read or processed in " + job.attempts() + " attempt(s)")))
                        .onSuccess(f -> metrics.processed(f == EvidenceRepository.Failure.FAILED ? "failed"
                            : unavailable ? "unavailable" : "retried", System.nanoTime() - start))
                        .<Void>mapEmpty();
                  });
            });
          }
          return chain.map(claim.jobs().size() + claim.abandoned().size());
        }))
        .onComplete(ar -> {
          rounds.record(ar);
          if (ar.failed()) {
            schedule(settings.idleDelay());
          } else {
            schedule(ar.result() > 0 ? settings.busyDelay() : settings.idleDelay());
          }
        });
  }

  /**
   * Records a failed attempt; when the database cannot be reached to record it (it went down during the attempt),
   * keeps the recording for {@link #recordUnrecorded} instead of leaving the attempt used as if this worker had died
   * on the photo (three such outages would abandon it).
   */
  private Future<EvidenceRepository.Failure> recordFailure(EvidenceRepository.Job job,
                                                          Supplier<Future<EvidenceRepository.Failure>> failure) {
    return failure.get().recover(e -> {
      if (!unavailable(e)) {
        return Future.failedFuture(e);
      }
      log.warn("media failure of attachment {} not recorded, kept until the database answers: {}",
          job.attachmentId(), e.toString());
      unrecorded.add(failure);
      return Future.succeededFuture(EvidenceRepository.Failure.RETRIED);
    });
  }

  /**
   * Records the failures kept by {@link #recordFailure}, before this instance claims again (so never over a later
   * claim of its own; another instance's claim after the lease makes one a no-op).
   */
  private Future<Void> recordUnrecorded() {
    if (unrecorded.isEmpty()) {
      return Future.succeededFuture();
    }
    return unrecorded.get(0).get().compose(f -> {
      unrecorded.remove(0);
      return recordUnrecorded();
    });
  }

  /** The checks of the report itself (cheap: no photo), recorded with whichever of its photos is done first. */
  private List<EvidenceCheck> reportChecks(EvidenceRepository.Job job) {
    return checks.reportChecks(new ReportLocation(job.lat(), job.lon(), job.accuracyM(), job.mock()), job.capturedAt(),
        job.receivedAt().toInstant());
  }

  /**
   * Whether an attempt failed because the object store or the database could not be reached or answered with a
   * server error (nothing to do with the photo: retried without using an attempt) rather than on the photo itself.
   */
  static boolean unavailable(Throwable failure) {
    for (Throwable c = failure; c != null; c = c.getCause()) {
      if (c instanceof DependencyUnavailableException || c instanceof java.net.ConnectException
          || c instanceof java.net.SocketException || c instanceof java.io.InterruptedIOException
          || c instanceof java.util.concurrent.TimeoutException || c instanceof java.nio.channels.ClosedChannelException
          || c instanceof io.netty.channel.ConnectTimeoutException || c instanceof ClosedConnectionException
          || c instanceof io.minio.errors.ServerException) {
        return true;
      }
      if (c instanceof io.minio.errors.ErrorResponseException e && e.response() != null && e.response().code() >= 500) {
        return true;
      }
      if (c instanceof PgException e && org.frontline.platform.db.Database.notServing(e.getSqlState())) {
        return true; // connection lost, out of resources, shutting down or starting up
      }
      if (c instanceof VertxException e && e.getMessage() != null && (e.getMessage().contains("Timeout")
          || e.getMessage().contains("closed")
          || e.getMessage().startsWith(org.frontline.platform.db.Database.CONNECTION_NOT_ACTIVE))) {
        return true;
      }
    }
    return false;
  }

  /**
   * What the blocking part found in one photo; {@code notDecoded}: why its pixels were not decoded (no dHash, no
   * copies), null when they were.
   */
  private record Analysis(PhotoMetadata metadata, List<EvidenceCheck> reportChecks, List<EvidenceCheck> photoChecks,
                          Optional<DerivedImages.Variants> variants, String notDecoded) {
    Optional<Long> dHash() {
      return variants.map(DerivedImages.Variants::dHash);
    }

    /** What media_error keeps: why the pixels were not decoded, null when they were. */
    String note() {
      return notDecoded == null ? null : "pixels not decoded: " + notDecoded;
    }
  }

  /** Processes one photo; its outcome: done, or not_decoded (checks recorded without dHash and copies). */
  private Future<String> process(EvidenceRepository.Job job) {
    if (job.size() > settings.maxBytes()) {
      return Future.failedFuture(new IllegalStateException("object of " + job.size() + " bytes exceeds the "
          + settings.maxBytes() + "-byte media limit"));
    }
    return read(job.objectKey(), job.size())
        .compose(bytes -> blocking.executeBlocking(() -> analyse(job, bytes), false))
        .compose(a -> repository.exactReuse(job).compose(reuse -> (a.dHash().isEmpty()
            ? Future.succeededFuture(Optional.<EvidenceRepository.Match>empty())
            : repository.nearest(job, a.dHash().get(), checks.nearDuplicateBits())).compose(near -> {
              List<EvidenceCheck> photo = new ArrayList<>(a.photoChecks());
              photo.add(checks.exactReuse(reuse));
              if (a.dHash().isPresent()) {
                photo.add(checks.nearDuplicate(near.map(EvidenceRepository.Match::distance),
                    near.map(EvidenceRepository.Match::reportId),
                    checks.nearDuplicateBits() <= EvidenceRepository.BANDED_WITHIN
                        ? EvidenceRepository.BANDED_WITHIN : PerceptualHash.BITS));
              } else {
                // Flagged, as a photo whose checks could not run is: not compared is not unique.
                photo.add(checks.nearDuplicateUnavailable(a.notDecoded()));
              }
              return putVariants(job, a).compose(keys -> repository.record(instance, job, a.reportChecks(), photo,
                  a.dHash().orElse(null), exif(a.metadata()), keys[0], keys[1], a.note()));
            }).map(flaggedNow -> {
              if (flaggedNow) {
                log.info("report {} flagged by the evidence checks of attachment {}", job.reportId(),
                    job.attachmentId());
              }
              return a.note() == null ? "done" : "not_decoded";
            })));
  }

  /** Puts the thumb and display copies into the store; their keys, or nulls when none could be made. */
  private Future<String[]> putVariants(EvidenceRepository.Job job, Analysis a) {
    if (a.variants().isEmpty()) {
      return Future.succeededFuture(new String[] {null, null});
    }
    DerivedImages.Variants v = a.variants().get();
    String thumb = derivedKey(job.attachmentId(), "thumb");
    String display = derivedKey(job.attachmentId(), "display");
    return store.put(thumb, new BytesReadStream(v.thumb().jpeg()), v.thumb().contentType())
        .compose(r -> store.put(display, new BytesReadStream(v.display().jpeg()), v.display().contentType()))
        .map(r -> new String[] {thumb, display});
  }

  private static JsonObject exif(PhotoMetadata m) {
    JsonObject json = new JsonObject().put("orientation", m.orientation());
    m.capturedLocal().ifPresent(t -> json.put("capturedLocal", t.toString()));
    m.captureOffset().ifPresent(o -> json.put("captureOffset", o.getId()));
    m.gps().ifPresent(g -> {
      json.put("lat", g.lat()).put("lon", g.lon());
      g.altitudeM().ifPresent(alt -> json.put("altitudeM", alt));
    });
    m.make().ifPresent(v -> json.put("make", v));
    m.model().ifPresent(v -> json.put("model", v));
    return json;
  }

  private Future<byte[]> read(String key, long size) {
    return store.get(key, 0, -1).compose(stream -> {
      Promise<byte[]> done = Promise.promise();
      Buffer all = Buffer.buffer((int) Math.min(size, settings.maxBytes()));
      // A failure while the bytes stream in (the store gone mid-object) is the store's, not the photo's.
      stream.exceptionHandler(e -> done.tryFail(new DependencyUnavailableException("object store", e)));
      stream.endHandler(v -> done.tryComplete(all.getBytes()));
      stream.handler(b -> {
        if (all.length() + b.length() > settings.maxBytes()) {
          stream.pause();
          done.tryFail(new IllegalStateException("object " + key + " exceeds the media limit"));
        } else {
          all.appendBuffer(b);
        }
      });
      return done.future();
    });
  }

  private Analysis analyse(EvidenceRepository.Job job, byte[] bytes) throws Exception {
    MediaBytes media = MediaBytes.of(bytes);
    PhotoMetadata meta = metadata.read(media);
    ReportLocation location = new ReportLocation(job.lat(), job.lon(), job.accuracyM(), job.mock());
    List<EvidenceCheck> reportChecks = reportChecks(job);
    List<EvidenceCheck> photoChecks = checks.photoChecks(meta, location, job.capturedAt(),
        job.receivedAt().toInstant());
    Optional<DerivedImages.Variants> variants = Optional.empty();
    String notDecoded = null;
    try {
      variants = derived.derive(media, job.contentType(), meta.orientation());
      if (variants.isEmpty()) {
        notDecoded = "no decoder for " + job.contentType() + " on this server";
      }
    } catch (IOException e) {
      // Pixels the decoder refuses (a corrupt or unsupported HEIF, a grid of too many tiles, a JPEG of too many
      // scans) lose the near-duplicate comparison and the served copies, not the checks above: those are recorded,
      // with a flagged check saying what could not be done and the reason kept in media_error.
      notDecoded = e.getMessage();
    }
    if (notDecoded != null) {
      log.warn("attachment {}: pixels not decoded, checks recorded without dHash and copies: {}", job.attachmentId(),
          notDecoded);
    }
    return new Analysis(meta, reportChecks, photoChecks, variants, notDecoded);
  }
}
