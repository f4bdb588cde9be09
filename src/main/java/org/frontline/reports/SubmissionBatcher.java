package org.frontline.reports;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.sqlclient.Pool;
import org.frontline.identity.Actor;
import org.frontline.platform.db.Database;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.Function;

/**
 * Group commit of report submissions: concurrent submissions, from every event loop of the process, are written in
 * one statement ({@link ReportRepository#SUBMIT_GROUP}), so in one transaction with one append to the audit chain
 * and one commit, and each is answered only after that commit.
 *
 * <p>One batcher per process, on an event-loop context of its own, with at most {@link #MAX_IN_FLIGHT} groups in
 * flight: the audit chain's lock serialises every transaction that audits from its append to its commit (a durable
 * commit waits for the disk), so many groups side by side would only queue for that lock with fewer reports each.
 * While groups are being written, new submissions queue up and form the next group when one commits: under load
 * groups grow by themselves, up to {@link #MAX_GROUP}, never splitting what was handed over together (a batch's
 * items, in one group: of two items of one id the first is written, the later judged against it). No timer: a submission arriving while fewer groups are in
 * flight starts one right after the tasks already queued on the batcher's context (a lone request waits for
 * nothing; the items of one batch request arrive in one task, see ReportService.together). Each answer is delivered
 * on the context of the request that submitted it.
 *
 * <p>A group decides each submission exactly as the single path does: unit live and in the author's scope (else
 * that submission is written alone, after the commit: a repeat of the author's stored report is still a repeat,
 * anything else the 422), then the primary key decides (INSERT ... ON CONFLICT DO NOTHING; a taken id is a
 * repeat or a conflict, judged by {@link ReportService#judge}). Reports are inserted in id order and their
 * attachments in attachment-id order, so two groups never wait on each other in a cycle. Should the group's
 * statement fail (a lost connection, a deadlock, an attachment id taken by a transaction that committed while it
 * ran), nothing of it was committed and every submission of the group is retried alone, through the single path,
 * which answers each with its own outcome. A submission declaring an attachment id that another report holds (seen by
 * the statement) or that an earlier submission of the group declares is left out of the group and written alone
 * after the commit, so one client reusing attachment ids does not make everyone's group fail.
 */
final class SubmissionBatcher {
  private static final Logger LOG = LoggerFactory.getLogger(SubmissionBatcher.class);
  static final int MAX_GROUP = 128;
  /**
   * Groups written side by side. More than one, because the database executes a group's statement on one backend
   * (one core): a second group inserts its reports while the first appends to the audit chain and commits. The audit
   * chain's lock serialises the rest, so more only make smaller groups (three measured slower: bench/README.md).
   */
  static final int MAX_IN_FLIGHT = 2;

  /** One submission waiting for its group: what the single path would have computed, and whom to answer. */
  record Pending(Actor actor, Envelope envelope, byte[] sha256, String status,
                 java.time.OffsetDateTime receivedAt, String response, Promise<ReportService.Submission> answer) {}

  /** The batcher's own connections, one per group in flight, with generic plans (Database.genericPlanPool). */
  private final Pool pool;
  private final ReportRepository reports;
  private final Function<Pending, Future<ReportService.Submission>> alone;
  private final Context context;
  private final GroupCommitMetrics metrics;
  /**
   * Submissions handed over together (the items of one batch request's run, or one submission), each list kept
   * whole: split over two groups written side by side, of two items of one id the later could be stored first.
   */
  private final ArrayDeque<List<Pending>> queue = new ArrayDeque<>();
  /** Groups being written (each a transaction on a connection of its own). */
  private int inFlight;
  /** A group is about to be started (scheduled on the context). */
  private boolean scheduled;

  /** {@code context}: an event-loop context of the batcher's own, where all of its state is touched. */
  SubmissionBatcher(Context context, Database database, ReportRepository reports,
                    Function<Pending, Future<ReportService.Submission>> alone, GroupCommitMetrics metrics) {
    this.context = context;
    this.metrics = metrics;
    this.pool = database.genericPlanPool("frontline-group-commit", MAX_IN_FLIGHT);
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
      queue.add(pendings);
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
    // Whole lists only, up to MAX_GROUP (a list alone may be larger: it is a group of its own).
    List<Pending> group = new ArrayList<>(queue.poll());
    while (!queue.isEmpty() && group.size() + queue.peek().size() <= MAX_GROUP) {
      group.addAll(queue.poll());
    }
    metrics.size(group.size());
    long start = System.nanoTime();
    write(group).onComplete(ar -> onContext(() -> {
      try {
        if (ar.succeeded()) {
          metrics.written(System.nanoTime() - start);
          // Committed: now, and only now, each submission learns its outcome.
          Map<Pending, Outcome> outcomes = ar.result();
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
          // Nothing of the group was committed: each alone, with its own outcome. (An attachment id reused by a
          // client fails a group too when the report holding it committed while the group's statement ran, so
          // this is not necessarily an error of the service.)
          LOG.info("A group of {} report submissions failed ({}); each is written alone", group.size(),
              ar.cause().toString());
          inOrder(group);
        }
      } finally {
        // Whatever a listener of an answer did, the next group is written.
        inFlight--;
        writeNextGroup();
      }
    }));
  }

  /**
   * Each submission alone, one after the other in the group's order (the order of a batch request's items): of two
   * submissions of one id, the first is written and the second judged against it, as when they came apart.
   */
  private void inOrder(List<Pending> submissions) {
    Future<?> previous = Future.succeededFuture();
    for (Pending p : submissions) {
      previous = previous.eventually(() -> alone.apply(p).onComplete(p.answer()));
    }
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

  /**
   * Writes the group in one statement (ReportRepository.SUBMIT_GROUP), a transaction of its own that has committed
   * when it answers; then judges the submissions whose id was taken. The first submission of each id (in id order)
   * is written; a later one of the same id in this group is judged against what the first stored, like a repeat
   * arriving later.
   */
  private Future<Map<Pending, Outcome>> write(List<Pending> group) {
    Map<UUID, Pending> first = new TreeMap<>();
    List<Pending> taken = new ArrayList<>();
    for (Pending p : group) {
      if (first.putIfAbsent(p.envelope().id(), p) != null) {
        taken.add(p);
      }
    }
    List<Pending> withheld = reusingAttachmentIds(group, first);
    withheld.forEach(p -> first.remove(p.envelope().id()));
    List<Pending> candidates = new ArrayList<>(first.values());
    List<ReportRepository.GroupItem> items = candidates.stream().map(p -> {
      Actor actor = p.actor();
      return new ReportRepository.GroupItem(new ReportRepository.NewReport(p.envelope(), actor.accountId(),
          p.status(), p.receivedAt(), p.sha256(), p.response()), actor.isSystem(),
          actor.isSystem() ? List.of() : actor.caller().scopeUnitIds(), actor.isSystem() ? "system" : null,
          actor.clientAddress(), actor.requestId(), ReportService.auditDetails(p));
    }).toList();
    return reports.submitGroup(pool, items).compose(results -> {
      Map<Pending, Outcome> outcomes = new IdentityHashMap<>();
      Map<UUID, ReportRepository.Existing> seen = new HashMap<>();
      Set<Pending> refused = Collections.newSetFromMap(new IdentityHashMap<>());
      refused.addAll(withheld);
      taken.addAll(withheld);
      for (int i = 0; i < candidates.size(); i++) {
        Pending p = candidates.get(i);
        ReportRepository.GroupResult result = results.get(i);
        if (!result.allowed()) {
          // Its unit is not (or no longer) in scope: alone, which answers a repeat of the author's stored report
          // as a repeat (the unit may have left the scope after the first answer was lost), else the 422. So is one
          // declaring an attachment id of another report (attachmentTaken): alone, it gets the single path's 409
          // (or, its own id being taken, its repeat or conflict), and the group did not fail for it.
          refused.add(p);
          taken.add(p);
        } else if (result.created()) {
          outcomes.put(p, new Outcome(new ReportService.Submission(true, p.envelope().id(),
              p.response()), null));
        } else {
          taken.add(p);
          if (result.existing() != null) {
            seen.put(p.envelope().id(), result.existing());
          }
        }
      }
      // In the group's order, so that those written alone are written as if they came one after the other.
      Map<Pending, Integer> order = new IdentityHashMap<>();
      for (int i = 0; i < group.size(); i++) {
        order.put(group.get(i), i);
      }
      taken.sort(Comparator.comparing(order::get));
      // Committed by now: should the read of taken ids fail, only their answers fail (the client repeats them).
      return judgeTaken(taken, refused, seen, outcomes)
          .recover(e -> {
            taken.forEach(p -> outcomes.put(p, new Outcome(null, e)));
            return Future.succeededFuture();
          })
          .map(outcomes);
    });
  }

  /**
   * The first submissions of their ids ({@code first}) that declare an attachment id an earlier one of the group (in
   * the group's order) declares too: in one statement the two would fail the whole group on attachment_pkey. They
   * are written alone after the commit, as if they had come after the first (which may not have been written).
   */
  private static List<Pending> reusingAttachmentIds(List<Pending> group, Map<UUID, Pending> first) {
    Set<UUID> declared = new java.util.HashSet<>();
    List<Pending> reusing = new ArrayList<>();
    for (Pending p : group) {
      if (first.get(p.envelope().id()) != p) {
        continue;
      }
      boolean reuses = false;
      for (Envelope.Declaration d : p.envelope().attachments()) {
        reuses |= !declared.add(d.id());
      }
      if (reuses) {
        reusing.add(p);
      }
    }
    return reusing;
  }

  /**
   * Submissions whose id was already taken: each a repeat (the stored 201 body) or a conflict. What the group's
   * statement could not see (a report of this group, or one committed while it ran) is read now, after the commit.
   */
  private Future<Void> judgeTaken(List<Pending> taken, Set<Pending> refused,
                                  Map<UUID, ReportRepository.Existing> seen, Map<Pending, Outcome> outcomes) {
    UUID[] unseen = taken.stream().map(p -> p.envelope().id()).filter(id -> !seen.containsKey(id)).distinct()
        .toArray(UUID[]::new);
    Future<Map<UUID, ReportRepository.Existing>> read = unseen.length == 0 ? Future.succeededFuture(Map.of())
        : reports.existing(pool, unseen);
    return read.compose(more -> {
      Future<Void> unwritten = Future.succeededFuture();
      for (Pending p : taken) {
        ReportRepository.Existing existing = refused.contains(p) ? null
            : seen.getOrDefault(p.envelope().id(), more.get(p.envelope().id()));
        if (existing == null) {
          // Refused by the group (its unit not in scope), or the id is free: the submission this one came after in
          // the group was refused. Written alone now, in the group's order, as if it had come after that refusal.
          unwritten = unwritten.eventually(() -> alone.apply(p)
              .onComplete(ar -> outcomes.put(p, new Outcome(ar.result(), ar.cause()))));
          continue;
        }
        try {
          outcomes.put(p, new Outcome(ReportService.judge(existing, p.actor(), p.envelope(), p.sha256()), null));
        } catch (RuntimeException e) {
          outcomes.put(p, new Outcome(null, e));
        }
      }
      return unwritten.recover(e -> Future.succeededFuture());
    });
  }
}
