package org.frontline.evidence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.frontline.testing.TestEnvironment.await;

import io.vertx.core.Promise;
import io.vertx.sqlclient.SqlConnection;
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
    SqlConnection connection = await(env.app().database().pool().getConnection());
    try {
      int pid = await(connection.query("SELECT pg_backend_pid()").execute()).iterator().next().getInteger(0);
      Promise<Void> closed = Promise.promise();
      connection.closeHandler(v -> closed.tryComplete());
      assertThat(env.string("SELECT pg_terminate_backend(?)::text", pid)).isEqualTo("true");
      await(closed.future());

      Throwable failure = catchThrowable(() -> await(connection.query("SELECT 1").execute()));

      assertThat(failure).hasMessageStartingWith(MediaWorkerVerticle.CONNECTION_NOT_ACTIVE);
      assertThat(MediaWorkerVerticle.unavailable(failure)).isTrue();
    } finally {
      connection.close();
    }
  }
}
