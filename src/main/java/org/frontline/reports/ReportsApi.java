package org.frontline.reports;

import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.frontline.identity.Page;
import org.frontline.platform.http.ExactNumbers;
import org.frontline.platform.http.IdempotentWrites;
import org.frontline.identity.Actor;
import org.frontline.platform.http.ApiRoutes;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemException;
import org.frontline.platform.http.ProblemType;
import org.frontline.platform.http.RequestIds;

import java.time.OffsetDateTime;
import java.util.Arrays;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/** The report operations: submit (single and batch), read one, list, review. JSON becomes records here. */
public final class ReportsApi implements ApiRoutes {
  private final ReportService reports;
  private final ReviewService reviews;
  private final IdempotentWrites writes;
  private ReportSchemas schemas;

  public ReportsApi(ReportService reports, ReviewService reviews, IdempotentWrites writes) {
    this.reports = reports;
    this.reviews = reviews;
    this.writes = writes;
  }

  /** Loads the contract's envelope schema (for batch items) and starts group commit; before the API is deployed. */
  public Future<Void> start(Vertx vertx, MeterRegistry registry) {
    reports.start(vertx, registry);
    return ReportSchemas.load(vertx).onSuccess(s -> schemas = s).mapEmpty();
  }

  @Override
  public Map<String, Handler<RoutingContext>> handlers() {
    return Map.of(
        "createReport", this::create,
        "createReportBatch", this::batch,
        "getReport", rc -> reports.get(Actor.of(rc), UUID.fromString(rc.pathParam("id")))
            .onSuccess(json -> send(rc, 200, json.encode()))
            .onFailure(rc::fail),
        "listReports", this::list,
        "reviewReport", this::review,
        "listReportReviews", rc -> reviews.history(Actor.of(rc), UUID.fromString(rc.pathParam("id")))
            .onSuccess(json -> send(rc, 200, json.encode()))
            .onFailure(rc::fail));
  }

  /**
   * A refused envelope that repeats its author's stored report is answered as the repeat (ReportService.repeatOf); a
   * refused keyed review that repeats one done, as that review (IdempotentWrites#replayOf).
   */
  @Override
  public Map<String, RefusalAnswer> refusalAnswers() {
    return Map.of("createReport", rc -> {
      JsonObject envelope = refusedEnvelope(rc);
      return reports.repeatOf(Actor.of(rc), envelope == null ? null : exactQuantity(rc, envelope)).map(repeat -> {
        repeat.ifPresent(s -> send(rc, 200, s.body()));
        return repeat.isPresent();
      });
    }, "reviewReport", writes.replayOf("reviewReport"));
  }

  /**
   * The refused body as the envelope it may be; null when it is no JSON object (malformed, truncated, nested past
   * the parser's depth, an array...), which repeats nothing. {@code asJsonObject} threw on those, and the refusal
   * was answered 500 "while judging its refusal" (IdempotencyKeys.replayOf likewise takes such a body for none).
   */
  private static JsonObject refusedEnvelope(RoutingContext rc) {
    try {
      return rc.body().asJsonObject();
    } catch (RuntimeException notAnObject) {
      return null;
    }
  }

  /** A review is answered 200 with the review, a new one or (a repeat) the one it repeats; see ReviewService. */
  private void review(RoutingContext rc) {
    JsonObject body = rc.body().asJsonObject();
    String decision = body.getString("decision");
    String comment = body.getString("comment");
    writes.answer(rc, "reviewReport", 200, null, tx -> {
      ReviewService.requireComment(decision, comment);
      return reviews.review(Actor.of(rc), UUID.fromString(rc.pathParam("id")), decision, comment, tx);
    });
  }

  private void create(RoutingContext rc) {
    Future.succeededFuture(exactQuantity(rc, rc.body().asJsonObject()))
        .map(Envelope::from)
        .compose(envelope -> reports.submit(Actor.of(rc), envelope))
        .onSuccess(s -> {
          if (s.created()) {
            rc.response().putHeader("Location", "/v1/reports/" + s.id());
          }
          send(rc, s.created() ? 201 : 200, s.body());
        })
        .onFailure(rc::fail);
  }

  /**
   * Items in order, with the same outcome as one after another: a run of consecutive items that link no other
   * record is submitted at once (written in one group transaction, see SubmissionBatcher; a repeated id later in the
   * run is judged a duplicate of the first), and an item with links (milestone progress, enterprise service) waits
   * for everything before it and is written alone, so progress quantities apply in the phone's order.
   */
  private void batch(RoutingContext rc) {
    Actor actor = Actor.of(rc);
    JsonArray items = rc.body().asJsonObject().getJsonArray("reports");
    for (int i = 0; i < items.size(); i++) {
      if (items.getValue(i) instanceof JsonObject item) {
        exactQuantity(rc, item, "reports", i);
      }
    }
    JsonArray results = new JsonArray();
    Future<Void> chain = Future.succeededFuture();
    List<Object> run = new ArrayList<>();
    for (Object item : items) {
      if (item instanceof JsonObject o && LinkedRecords.hasLinks(o.getValue("type"))) {
        // A copy that takes null items (List.copyOf threw on them: the whole batch was a 500).
        chain = submitRun(chain, rc, actor, new ArrayList<>(run), results)
            .compose(v -> one(rc, actor, item).map(results::add).mapEmpty());
        run.clear();
      } else {
        run.add(item);
      }
    }
    submitRun(chain, rc, actor, run, results)
        .onSuccess(v -> send(rc, 200, new JsonObject().put("results", results).encode()))
        .onFailure(rc::fail);
  }

  private Future<Void> submitRun(Future<Void> before, RoutingContext rc, Actor actor, List<Object> run,
                                 JsonArray results) {
    return run.isEmpty() ? before : before.compose(v -> {
      List<Future<JsonObject>> answers = reports.together(
          () -> run.stream().map(item -> one(rc, actor, item)).toList());
      return Future.all(answers).onSuccess(all -> answers.forEach(a -> results.add(a.result()))).mapEmpty();
    });
  }

  /**
   * A MILESTONE_PROGRESS report's cumulative quantity as the exact decimal sent, put in its body (at {@code at} in
   * the request): the parsed number is a double, which silently changed 17-digit quantities and hid a 4th decimal.
   */
  private static JsonObject exactQuantity(RoutingContext rc, JsonObject report, Object... at) {
    if ("MILESTONE_PROGRESS".equals(report.getValue("type")) && report.getValue("body") instanceof JsonObject body
        && body.getValue("quantity") instanceof Number) {
      Object[] path = Arrays.copyOf(at, at.length + 2);
      path[at.length] = "body";
      path[at.length + 1] = "quantity";
      java.math.BigDecimal sent = ExactNumbers.at(rc.body().buffer(), path);
      if (sent != null) {
        body.put("quantity", sent);
      }
    }
    return report;
  }

  private Future<JsonObject> one(RoutingContext rc, Actor actor, Object item) {
    String id = item instanceof JsonObject o && o.getValue("id") instanceof String s ? s : null;
    return schemas.problemOf(item).compose(invalid -> invalid.isPresent()
        ? refusedItem(rc, actor, id, item, invalid.get())
        : submitItem(rc, actor, id, (JsonObject) item));
  }

  private Future<JsonObject> submitItem(RoutingContext rc, Actor actor, String id, JsonObject item) {
    return Future.succeededFuture(item)
        .map(Envelope::from)
        .compose(envelope -> reports.submit(actor, envelope))
        .map(s -> itemResult(id, s))
        .recover(e -> e instanceof ProblemException pe && pe.problem().status() < 500
            ? refusedItem(rc, actor, id, item, pe.problem())
            : Future.failedFuture(e));
  }

  private static JsonObject itemResult(String id, ReportService.Submission s) {
    return new JsonObject().put("id", id).put("status", s.created() ? "created" : "duplicate")
        .put("httpStatus", s.created() ? 201 : 200).put("report", ExactNumbers.object(s.body()));
  }

  /** An item refused with {@code problem}; a 400 or 422 that repeats its author's stored report is a duplicate. */
  private Future<JsonObject> refusedItem(RoutingContext rc, Actor actor, String id, Object item, Problem problem) {
    if (problem.status() != 400 && problem.status() != 422) {
      return Future.succeededFuture(itemProblem(rc, id, problem));
    }
    return reports.repeatOf(actor, item)
        .map(repeat -> repeat.map(s -> itemResult(id, s)).orElseGet(() -> itemProblem(rc, id, problem)));
  }

  private static JsonObject itemProblem(RoutingContext rc, String id, Problem problem) {
    return new JsonObject().put("id", id)
        .put("status", problem.type() == ProblemType.CONFLICT ? "conflict" : "invalid")
        .put("httpStatus", problem.status())
        .put("problem", problem.toJson(rc.request().path(), RequestIds.of(rc)));
  }

  private void list(RoutingContext rc) {
    ReportRepository.Filter filter;
    try {
      filter = new ReportRepository.Filter(uuid(rc, "unitId"), query(rc, "type"), query(rc, "status"),
          uuid(rc, "authorId"), time(rc, "from"), time(rc, "to"), bbox(rc),
          ApiRoutes.queryBoolean(rc, "hasEvidenceFlags"), query(rc, "evidenceChecks"), query(rc, "review"));
    } catch (ProblemException e) {
      rc.fail(e);
      return;
    }
    reports.list(Actor.of(rc), filter, query(rc, "cursor"), Page.requested(rc.queryParams().get("limit")))
        .onSuccess(page -> send(rc, 200, new JsonObject()
            .put("items", new JsonArray(page.items()))
            .put("nextCursor", page.nextCursor()).encode()))
        .onFailure(rc::fail);
  }

  private static void send(RoutingContext rc, int status, String json) {
    rc.response().setStatusCode(status)
        .putHeader("Content-Type", "application/json")
        .putHeader("Cache-Control", "no-store")
        .end(json);
  }

  private static String query(RoutingContext rc, String name) {
    return rc.queryParams().get(name);
  }


  private static UUID uuid(RoutingContext rc, String name) {
    String v = query(rc, name);
    try {
      return v == null ? null : UUID.fromString(v);
    } catch (IllegalArgumentException e) {
      throw invalidQuery(name, "Not a UUID.");
    }
  }

  private static OffsetDateTime time(RoutingContext rc, String name) {
    String v = query(rc, name);
    try {
      return v == null ? null : OffsetDateTime.parse(v);
    } catch (RuntimeException e) {
      throw invalidQuery(name, "Not an RFC 3339 date-time.");
    }
  }

  /**
   * minLat,minLon,maxLat,maxLon (the contract checked the shape). A box crossing the antimeridian has minLon > maxLon,
   * as a GeoJSON bbox may (its west edge east of its east edge); latitudes have no such wrap.
   */
  private static double[] bbox(RoutingContext rc) {
    String v = query(rc, "bbox");
    if (v == null) {
      return null;
    }
    double[] b = Arrays.stream(v.split(",")).mapToDouble(Double::parseDouble).toArray();
    if (b[0] > b[2] || Math.abs(b[0]) > 90 || Math.abs(b[2]) > 90 || Math.abs(b[1]) > 180 || Math.abs(b[3]) > 180) {
      throw invalidQuery("bbox", "Expected minLat,minLon,maxLat,maxLon with minLat <= maxLat, within -90..90 / "
          + "-180..180 (minLon > maxLon: a box crossing the antimeridian).");
    }
    return b;
  }

  private static ProblemException invalidQuery(String name, String reason) {
    return new ProblemException(Problem.of(ProblemType.VALIDATION_FAILED, "The request does not match the contract.")
        .withErrors(java.util.List.of(new Problem.FieldError("query/" + name, reason))));
  }
}
