package org.frontline.platform.db;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.SqlConnection;

import java.util.function.Function;

/**
 * How a write's transaction is run, and what its answer (a JSON body) becomes: {@code database::inTransaction}
 * runs it plainly; {@link org.frontline.platform.http.IdempotentWrites} runs it under an {@code Idempotency-Key},
 * with the answer stored in the same transaction. A service's write validates what it can first, then calls
 * {@link #run} once with all its database work.
 */
@FunctionalInterface
public interface Transaction<R> {
  Future<R> run(Function<SqlConnection, Future<JsonObject>> work);
}
