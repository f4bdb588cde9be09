package org.frontline.reports;

import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.util.concurrent.TimeUnit;

/**
 * What group commit does, for operators and for bench/ingest (Prometheus names in brackets): submissions per group
 * ({@code frontline_report_group_size}), and where a group's time goes, from its start to its commit
 * ({@code frontline_report_group_seconds{phase}}): {@code write} (scope, units, the reports, their attachments and
 * events), {@code audit} (the chain's lock, waited for while another group commits, and the append), {@code commit}
 * (COMMIT, which waits for the disk). Groups that failed and were retried one by one are counted apart
 * ({@code frontline_report_group_retried_total}).
 */
final class GroupCommitMetrics {
  private final DistributionSummary size;
  private final Timer write;
  private final Timer audit;
  private final Timer commit;
  private final io.micrometer.core.instrument.Counter retried;

  GroupCommitMetrics(MeterRegistry registry) {
    size = DistributionSummary.builder("frontline.report.group.size")
        .description("Report submissions written in one transaction (group commit)").register(registry);
    write = phase(registry, "write");
    audit = phase(registry, "audit");
    commit = phase(registry, "commit");
    retried = io.micrometer.core.instrument.Counter.builder("frontline.report.group.retried")
        .description("Groups whose transaction failed; each submission then written alone").register(registry);
  }

  private static Timer phase(MeterRegistry registry, String phase) {
    return Timer.builder("frontline.report.group").tag("phase", phase)
        .description("Time of a group commit's phases: write, audit (chain lock and append), commit (durable)")
        .register(registry);
  }

  void size(int submissions) { size.record(submissions); }

  void write(long nanos) { write.record(nanos, TimeUnit.NANOSECONDS); }

  void audit(long nanos) { audit.record(nanos, TimeUnit.NANOSECONDS); }

  void commit(long nanos) { commit.record(nanos, TimeUnit.NANOSECONDS); }

  void retried() { retried.increment(); }
}
