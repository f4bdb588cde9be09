package org.frontline.platform.http;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.frontline.platform.db.Database;
import org.frontline.platform.db.Transaction;

import java.util.UUID;
import java.util.function.Function;

/**
 * People's record-creating writes with an optional {@code Idempotency-Key} header (see {@link IdempotencyKeys}):
 * without it the write runs as ever; with it the write runs once per (account, key), its answer (status, body,
 * Location) committed in the write's own transaction and replayed to a repeat. The fingerprint covers the
 * operation, the path and the body, so the same key on another operation or another record is another request
 * (422). The key is checked first: an invalid one is 400 naming {@code header/Idempotency-Key}, before the body's
 * own checks.
 */
public final class IdempotentWrites {
  private final Database database;
  private final IdempotencyKeys keys;
  private final Function<RoutingContext, UUID> account;

  /** {@code account}: the calling account of a request (authenticated by then). */
  public IdempotentWrites(Database database, Function<RoutingContext, UUID> account) {
    this.database = database;
    this.keys = IdempotencyKeys.forAccounts(database.pool());
    this.account = account;
  }

  /**
   * Answers {@code rc} with {@code status}, the body and (when {@code location} is given) a Location of the body.
   * {@code write} is the service call, given the transaction to run its work in.
   */
  public void answer(RoutingContext rc, String operation, int status, Function<JsonObject, String> location,
                     Function<Transaction<IdempotencyKeys.Answer>, Future<IdempotencyKeys.Answer>> write) {
    Function<JsonObject, IdempotencyKeys.Answer> answer = json -> new IdempotencyKeys.Answer(status, json,
        location == null ? null : location.apply(json));
    String raw = rc.request().getHeader(IdempotencyKeys.HEADER);
    Transaction<IdempotencyKeys.Answer> transaction;
    if (raw == null) {
      transaction = work -> database.inTransaction(work).map(answer);
    } else {
      try {
        IdempotencyKeys.key(raw);
      } catch (RuntimeException e) {
        rc.fail(e);
        return;
      }
      JsonObject request = new JsonObject().put("operation", operation).put("path", rc.request().path())
          .put("body", rc.body().asJsonObject());
      UUID owner = account.apply(rc);
      transaction = work -> keys.once(owner, raw, request, conn -> work.apply(conn).map(answer));
    }
    Future<IdempotencyKeys.Answer> result;
    try {
      result = write.apply(transaction);
    } catch (RuntimeException e) {
      rc.fail(e);
      return;
    }
    result.onSuccess(a -> {
          if (a.location() != null) {
            rc.response().putHeader("Location", a.location());
          }
          rc.response().setStatusCode(a.status()).putHeader("Content-Type", "application/json")
              .putHeader("Cache-Control", "no-store").end(a.body().encode());
        })
        .onFailure(rc::fail);
  }
}
