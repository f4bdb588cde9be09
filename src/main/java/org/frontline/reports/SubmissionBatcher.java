package org.frontline.reports;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import org.frontline.identity.Actor;
import org.frontline.identity.AdminAudit;
import org.frontline.identity.Caller;
import org.frontline.identity.Scope;
import org.frontline.platform.db.Database;
import org.frontline.platform.http.ProblemException;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.Function;

/**
 * Group commit of report submissions: concurrent submissions, from every event loop of the process, are written in
 * one transaction, with one append to the audit chain and one commit, and each is answered only after that commit.
 *
 * <p>One batcher per process, on an event-loop context of its own, with at most {@link #MAX_IN_FLIGHT} groups in
 * flight: the audit chain's lock serialises every transaction that audits from its append to its commit (a durable
 * commit waits for the disk), so many groups side by side would only queue for that lock with fewer reports each.
 * While groups are being written, new submissions queue up and form the next group when one commits: under load
 * groups grow by themselves, up to {@link #MAX_GROUP}. No timer: a submission arriving while fewer groups are in
 * flight starts one right after the tasks already queued on the batcher's context (a lone request waits for
 * nothing; the items of one batch request arrive in one task, see ReportService.together). Each answer is delivered
 * on the context of the request that submitted it.
 *
 * <p>A group decides each submission exactly as the single path does: unit live and in the author's scope (else
 * 422 for that submission only), then the primary key decides (INSERT ... ON CONFLICT DO NOTHING; a taken id is a
 * repeat or a conflict, judged by {@link ReportService#judge}). Reports are inserted in id order and their
 * attachments in attachment-id order, so two groups never wait on each other in a cycle. Should the group's
 * transaction fail as a whole (an attachment id already used by another report, a lost connection), nothing of it
 * was committed and every submission of the group is retried alone, through the single path, which answers each
 * with its own outcome.
 */
final class SubmissionBatcher {
  static final int MAX_GROUP = 128;
  /**
   * Groups written side by side. More than one, because the database executes a group's statements on one backend
   * (one core): a second group inserts its reports while the first appends to the audit chain and commits. The audit
   * chain's lock serialises the rest, so more would only make smaller groups.
   */
  static final int MAX_IN_FLIGHT = 2;

  /** One submission waiting for its group: what the single path would have computed, and whom to answer. */
  record Pending(Actor actor, Envelope envelope, byte[] sha256, String status,
                 java.time.OffsetDateTime receivedAt, JsonObject response, Promise<ReportService.Submission> answer) {}

  private final Database database;
  private final AdminAudit audit;
  private final ReportRepository reports;
  private final Function<Pending, Future<ReportService.Submission>> alone;
  private final Context context;
  private final GroupCommitMetrics metrics;
  private final ArrayDeque<Pending> queue = new ArrayDeque<>();
  /** Groups being written (each a transaction on a connection of its own). */
  private int inFlight;
  /** A group is about to be started (scheduled on the context). */
  private boolean scheduled;

  /** {@code context}: an event-loop context of the batcher's own, where all of its state is touched. */
  SubmissionBatcher(Context context, Database database, AdminAudit audit, ReportRepository reports,
                    Function<Pending, Future<ReportService.Submission>> alone, GroupCommitMetrics metrics) {
    this.context = context;
    this.metrics = metrics;
    this.database = database;
    this.audit = audit;
    this.reports = reports;
    this.alone = alone;
  }

  /** Queues the submission (from any thread); its answer completes after the commit of its group. */
  Future<ReportService.Submission> submit(Pending pending) {
    submitAll(List.of(pending));
    return pending.answer().future();
  }

  /** Queues submissions together (from any thread): they land in the queue at once, so in one group. */
  void submitAll(List<Pending> pendings) {
    onContext(() -> {
      queue.addAll(pendings);
      if (!scheduled && inFlight < MAX_IN_FLIGHT) {
        scheduled = true;
        context.runOnContext(v -> {
          scheduled = false;
          writeNextGroup();
        });
      }
    });
  }

  private void writeNextGroup() {
    if (queue.isEmpty() || inFlight >= MAX_IN_FLIGHT) {
      return;
    }
    inFlight++;
    List<Pending> group = new ArrayList<>(Math.min(queue.size(), MAX_GROUP));
    while (!queue.isEmpty() && group.size() < MAX_GROUP) {
      group.add(queue.poll());
    }
    Map<Pending, Outcome> outcomes = new IdentityHashMap<>();
    metrics.size(group.size());
    long[] written = new long[1];
    database.inTransaction(conn -> write(conn, group, outcomes).onSuccess(v -> written[0] = System.nanoTime()))
        .onComplete(ar -> onContext(() -> {
          try {
            if (ar.succeeded()) {
              metrics.commit(System.nanoTime() - written[0]);
              // Committed: now, and only now, each submission learns its outcome.
              for (Pending p : group) {
                Outcome o = outcomes.get(p);
                if (o == null) {
                  p.answer().tryFail(new IllegalStateException("no outcome for report " + p.envelope().id()));
                } else if (o.failure() != null) {
                  p.answer().tryFail(o.failure());
                } else {
                  p.answer().tryComplete(o.submission());
                }
              }
            } else {
              metrics.retried();
              // Nothing of the group was committed: each alone, with its own outcome.
              for (Pending p : group) {
                alone.apply(p).onComplete(p.answer());
              }
            }
          } finally {
            // Whatever a listener of an answer did, the next group is written.
            inFlight--;
            writeNextGroup();
          }
        }));
  }

  /** The batcher's state belongs to its event loop: completions are handled there. */
  private void onContext(Runnable action) {
    if (io.vertx.core.Vertx.currentContext() == context) {
      action.run();
    } else {
      context.runOnContext(v -> action.run());
    }
  }

  private record Outcome(ReportService.Submission submission, Throwable failure) {}

  private Future<Void> write(SqlConnection conn, List<Pending> group, Map<Pending, Outcome> outcomes) {
    long start = System.nanoTime();
    Map<Caller, Future<Scope>> scopes = new HashMap<>();
    for (Pending p : group) {
      scopes.computeIfAbsent(p.actor().caller(), c -> p.actor().scope(conn));
    }
    UUID[] unitIds = group.stream().map(p -> p.envelope().unitId()).distinct().toArray(UUID[]::new);
    Future<RowSet<Row>> units = conn.preparedQuery("SELECT id, path FROM org_unit WHERE id = ANY ($1) AND retired_at IS NULL")
        .execute(Tuple.of(unitIds));
    List<Future<?>> reads = new ArrayList<>(scopes.values());
    reads.add(units);
    return Future.all(reads).compose(v -> {
      Map<UUID, String> livePaths = new HashMap<>();
      units.result().forEach(r -> livePaths.put(r.getUUID(0), r.getString(1)));
      // The first submission of each id (in id order) is inserted; any later one of the same id in this group is
      // judged against what the first stored, like a repeat arriving later.
      Map<UUID, Pending> first = new TreeMap<>();
      List<Pending> taken = new ArrayList<>();
      for (Pending p : group) {
        String path = livePaths.get(p.envelope().unitId());
        if (path == null || !scopes.get(p.actor().caller()).result().covers(path)) {
          outcomes.put(p, new Outcome(null, ReportService.unprocessable("body/unitId",
              "No live org unit " + p.envelope().unitId() + " in your scope.")));
        } else if (first.putIfAbsent(p.envelope().id(), p) != null) {
          taken.add(p);
        }
      }
      List<Pending> candidates = new ArrayList<>(first.values());
      return insertReports(conn, candidates).compose(stored -> {
        List<Pending> created = new ArrayList<>();
        for (int i = 0; i < candidates.size(); i++) {
          Pending p = candidates.get(i);
          if (stored.get(i).isPresent()) {
            created.add(p);
            outcomes.put(p, new Outcome(new ReportService.Submission(true, p.envelope().id(), stored.get(i).get()),
                null));
          } else {
            taken.add(p);
          }
        }
        long[] audited = new long[1];
        return insertAttachments(conn, created)
            .compose(x -> insertCompletedEvents(conn, created))
            .compose(x -> {
              audited[0] = System.nanoTime();
              metrics.write(audited[0] - start);
              return created.isEmpty() ? Future.succeededFuture() : audit.successes(conn, created.stream()
                  .map(p -> new AdminAudit.Action(p.actor(), "report.create", "report", p.envelope().id(),
                      p.envelope().unitId(), ReportService.auditDetails(p.envelope(), p.status())))
                  .toList());
            })
            .onSuccess(x -> metrics.audit(System.nanoTime() - audited[0]))
            .compose(x -> judgeTaken(conn, taken, outcomes));
      });
    });
  }

  /** All the group's reports in one INSERT ... ON CONFLICT DO NOTHING; per report its 201 body, or empty. */
  private Future<List<Optional<String>>> insertReports(SqlConnection conn, List<Pending> candidates) {
    if (candidates.isEmpty()) {
      return Future.succeededFuture(List.of());
    }
    List<ReportRepository.NewReport> rows = candidates.stream().map(p -> new ReportRepository.NewReport(
        p.envelope(), p.actor().accountId(), p.status(), p.receivedAt(), p.sha256(), p.response())).toList();
    return reports.insertAll(conn, rows).map(inserted -> candidates.stream()
        .map(p -> Optional.ofNullable(inserted.get(p.envelope().id()))).toList());
  }

  private Future<Void> insertAttachments(SqlConnection conn, List<Pending> created) {
    List<Tuple> rows = new ArrayList<>();
    for (Pending p : created) {
      rows.addAll(reports.attachmentTuples(p.envelope().id(), p.envelope().attachments()));
    }
    if (rows.isEmpty()) {
      return Future.succeededFuture();
    }
    rows.sort(Comparator.comparing(t -> t.getUUID(0)));
    return conn.preparedQuery(ReportRepository.INSERT_ATTACHMENT).executeBatch(rows).mapEmpty();
  }

  private Future<Void> insertCompletedEvents(SqlConnection conn, List<Pending> created) {
    return reports.insertCompletedEvents(conn, created.stream().filter(p -> "COMPLETE".equals(p.status()))
        .map(p -> new ReportRepository.Completed(p.envelope().id(), p.envelope().unitId(), p.actor().accountId(),
            p.envelope().type()))
        .toList());
  }

  /** Submissions whose id was already taken: each a repeat (the stored 201 body) or a conflict. */
  private Future<Void> judgeTaken(SqlConnection conn, List<Pending> taken, Map<Pending, Outcome> outcomes) {
    if (taken.isEmpty()) {
      return Future.succeededFuture();
    }
    UUID[] ids = taken.stream().map(p -> p.envelope().id()).distinct().toArray(UUID[]::new);
    return reports.existing(conn, ids).map(existing -> {
      for (Pending p : taken) {
        try {
          outcomes.put(p, new Outcome(ReportService.judge(existing.get(p.envelope().id()), p.actor(), p.envelope(),
              p.sha256()), null));
        } catch (ProblemException e) {
          outcomes.put(p, new Outcome(null, e));
        }
      }
      return null;
    });
  }
}
