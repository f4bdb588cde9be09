package org.frontline.reports;

import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.util.concurrent.TimeUnit;

/**
 * What group commit does, for operators and for bench/ingest (Prometheus names in brackets): submissions per group
 * ({@code frontline_report_group_size}), the time of a group's statement, from sending it to its durable commit
 * ({@code frontline_report_group_seconds}; the chain's lock is waited for inside it, while another group commits),
 * and groups that failed and were retried one by one ({@code frontline_report_group_retried_total}).
 */
final class GroupCommitMetrics {
  private final DistributionSummary size;
  private final Timer written;
  private final io.micrometer.core.instrument.Counter retried;

  GroupCommitMetrics(MeterRegistry registry) {
    size = DistributionSummary.builder("frontline.report.group.size")
        .description("Report submissions written in one transaction (group commit)").register(registry);
    written = Timer.builder("frontline.report.group")
        .description("Time of a group commit's statement, from sending it to its durable commit").register(registry);
    retried = io.micrometer.core.instrument.Counter.builder("frontline.report.group.retried")
        .description("Groups whose transaction failed; each submission then written alone").register(registry);
  }

  void size(int submissions) { size.record(submissions); }

  void written(long nanos) { written.record(nanos, TimeUnit.NANOSECONDS); }

  void retried() { retried.increment(); }
}
