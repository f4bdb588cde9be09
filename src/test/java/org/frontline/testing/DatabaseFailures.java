package org.frontline.testing;

import io.vertx.core.Promise;
import io.vertx.sqlclient.SqlConnection;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.frontline.testing.TestEnvironment.await;

/** Failures of the database as the real client raises them, for the code that must tell them from others. */
public final class DatabaseFailures {
  private DatabaseFailures() {}

  /**
   * The failure of a query on a pooled connection whose backend the server has ended before the pool dropped it
   * ("Connection is not active now, current status: CLOSED"): what the first queries meet once PostgreSQL is down.
   */
  public static Throwable queryOnAConnectionTheServerClosed(TestEnvironment env) throws Exception {
    SqlConnection connection = await(env.app().database().pool().getConnection());
    try {
      int pid = await(connection.query("SELECT pg_backend_pid()").execute()).iterator().next().getInteger(0);
      Promise<Void> closed = Promise.promise();
      connection.closeHandler(v -> closed.tryComplete());
      assertThat(env.string("SELECT pg_terminate_backend(?)::text", pid)).isEqualTo("true");
      await(closed.future());
      return catchThrowable(() -> await(connection.query("SELECT 1").execute()));
    } finally {
      connection.close();
    }
  }
}
