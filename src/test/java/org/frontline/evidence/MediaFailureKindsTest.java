package org.frontline.evidence;

import static org.assertj.core.api.Assertions.assertThat;

import org.frontline.testing.DatabaseFailures;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

/**
 * Failures the media worker takes for the database unreachable (the attempt given back, its failure kept when it
 * cannot be recorded: {@link MediaWorkerVerticle#unavailable}), as the real client raises them. EvidenceWorkerTest
 * has the outages end to end.
 */
@FrontlineTest
class MediaFailureKindsTest {

  /**
   * A query on a pooled connection the server has closed before the pool dropped it: what recording a failure met
   * right after PostgreSQL went down, in some runs of EvidenceWorkerTest's outage test. Taken for the photo's own
   * failure, it failed the round and the failure was lost.
   */
  @Test
  void aQueryOnAConnectionTheServerClosedIsTheDatabaseUnavailable(TestEnvironment env) throws Exception {
    Throwable failure = DatabaseFailures.queryOnAConnectionTheServerClosed(env);

    assertThat(failure).hasMessageStartingWith(org.frontline.platform.db.Database.CONNECTION_NOT_ACTIVE);
    assertThat(MediaWorkerVerticle.unavailable(failure)).isTrue();
  }

}
