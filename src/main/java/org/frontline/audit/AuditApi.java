package org.frontline.audit;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.AsyncResult;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.frontline.identity.Caller;
import org.frontline.identity.Page;
import org.frontline.platform.http.ApiRoutes;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.Problem.FieldError;
import org.frontline.platform.http.ProblemType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;

/** The audit log operations: read within the admin's scope, and verify the chain. */
public final class AuditApi implements ApiRoutes {
  public static final int DEFAULT_LIMIT = 50;
  public static final int MAX_LIMIT = 200;

  private static final Logger LOG = LoggerFactory.getLogger(AuditApi.class);
  private final AuditRepository repository;
  private final AuditVerification verification;
  /**
   * Walks of the chain in this process: the one running, and the one the requests that came while it runs wait for
   * (started when it ends). A verification reads and hashes every entry of the log (minutes, once it holds millions):
   * repeated or impatient requests cost one walk more, not one each; and each request is answered by a walk that
   * began after it came, so none is told the chain was intact by a walk that had read an entry before it was altered.
   * Guarded by {@code this}.
   */
  private boolean walking;
  private Promise<ChainVerifier.Result> next;

  public AuditApi(AuditRepository repository) {
    this.repository = repository;
    this.verification = new AuditVerification(repository);
  }

  @Override
  public Map<String, Handler<RoutingContext>> handlers() {
    return Map.of(
        "listAuditEntries", this::list,
        "verifyAuditChain", this::verify);
  }

  private void list(RoutingContext rc) {
    AuditRepository.Query query;
    String filters;
    int limit;
    try {
      // A limit beyond an int is as far above the cap as any (the contract only bounds it below).
      Integer requested = param(rc, "limit", Page::requested);
      limit = requested == null ? DEFAULT_LIMIT : Math.max(1, Math.min(MAX_LIMIT, requested));
      String action = param(rc, "action", Function.identity());
      UUID actorId = param(rc, "actorId", UUID::fromString);
      Instant from = param(rc, "from", Instant::parse);
      Instant to = param(rc, "to", Instant::parse);
      filters = Page.filters("audit", action, actorId, from, to);
      String cursor = param(rc, "cursor", Function.identity());
      String key = Page.decode(cursor, AuditApi::seqKey, filters);
      query = new AuditRepository.Query(action, actorId, from, to, key == null ? null : Long.valueOf(key.substring(1)),
          limit + 1);
    } catch (IllegalArgumentException e) {
      rc.fail(Problem.of(ProblemType.VALIDATION_FAILED, "The request does not match the contract.")
          .withErrors(List.of(new FieldError("query/" + e.getMessage(), "Invalid value.")))
          .toException());
      return;
    } catch (RuntimeException cursorRefused) {
      rc.fail(cursorRefused);
      return;
    }
    repository.scopeOf(Caller.of(rc).scopeUnitIds())
        .compose(scope -> repository.page(scope, query))
        .onSuccess(rows -> {
          // One row more than the page was read: a cursor only when there is a next page (none after a full last one).
          Page<AuditEntry> page = Page.of(rows, limit, e -> "s" + e.seq(), filters);
          JsonArray items = new JsonArray(page.items().stream().map(AuditApi::toJson).toList());
          rc.response()
              .putHeader("Content-Type", "application/json")
              .putHeader("Cache-Control", "no-store")
              .end(new JsonObject().put("items", items).put("nextCursor", page.nextCursor()).encode());
        })
        .onFailure(rc::fail);
  }

  private void verify(RoutingContext rc) {
    Context context = Vertx.currentContext();
    // The walk may be another request's, completing on its event loop: answer on this request's own.
    shared().onComplete(ar -> context.runOnContext(v -> answer(rc, ar)));
  }

  /** A walk that begins after this call: a new one now if none runs, else the one after the running one. */
  private Future<ChainVerifier.Result> shared() {
    Promise<ChainVerifier.Result> mine = Promise.promise();
    synchronized (this) {
      if (walking) {
        if (next == null) {
          next = mine;
        }
        return next.future();
      }
      walking = true;
    }
    walk(mine);
    return mine.future();
  }

  /** Walks the chain for {@code requests}; then, if requests came meanwhile, once more for them. */
  private void walk(Promise<ChainVerifier.Result> requests) {
    long start = System.nanoTime();
    verification.verify().onComplete(ar -> {
      if (ar.succeeded()) {
        LOG.info("audit chain verified: {} entries, {}, in {} ms", ar.result().checked(),
            ar.result().ok() ? "intact" : "broken at seq " + ar.result().firstBroken().seq(),
            (System.nanoTime() - start) / 1_000_000);
      } else {
        LOG.warn("audit chain verification failed: {}", ar.cause().toString());
      }
      Promise<ChainVerifier.Result> waiting;
      synchronized (this) {
        waiting = next;
        next = null;
        walking = waiting != null;
      }
      requests.handle(ar);
      if (waiting != null) {
        walk(waiting);
      }
    });
  }

  private static void answer(RoutingContext rc, AsyncResult<ChainVerifier.Result> ar) {
    if (ar.failed()) {
      rc.fail(ar.cause());
      return;
    }
    ChainVerifier.Result result = ar.result();
    JsonObject body = new JsonObject().put("ok", result.ok()).put("checked", result.checked());
    if (!result.ok()) {
      body.put("firstBroken", new JsonObject()
          .put("seq", result.firstBroken().seq())
          .put("reason", result.firstBroken().reason().code())
          .put("detail", result.firstBroken().detail()));
    }
    rc.response()
        .putHeader("Content-Type", "application/json")
        .putHeader("Cache-Control", "no-store")
        .end(body.encode());
  }

  /** A query parameter parsed, or null when absent; a bad value throws with the parameter's name as message. */
  private static <T> T param(RoutingContext rc, String name, Function<String, T> parse) {
    String raw = rc.queryParams().get(name);
    if (raw == null || raw.isEmpty()) {
      return null;
    }
    try {
      return parse.apply(raw);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(name);
    }
  }

  /** Whether a cursor's key is an entry's place: {@code s} and its seq (1 or more, within a bigint). */
  private static boolean seqKey(String key) {
    try {
      return key.startsWith("s") && Long.parseLong(key.substring(1)) >= 1;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  static JsonObject toJson(AuditEntry e) {
    return new JsonObject()
        .put("seq", e.seq())
        .put("at", AuditChain.formatAt(e.at()))
        .put("actorId", e.actorId() == null ? null : e.actorId().toString())
        .put("actorLabel", e.actorLabel())
        .put("action", e.action())
        .put("objectType", e.objectType())
        .put("objectId", e.objectId())
        .put("unitId", e.unitId() == null ? null : e.unitId().toString())
        .put("clientAddress", e.clientAddress())
        .put("requestId", e.requestId())
        .put("outcome", e.outcome())
        .put("details", e.details())
        .put("prevHash", AuditChain.hex(e.prevHash()))
        .put("hash", AuditChain.hex(e.hash()));
  }
}
