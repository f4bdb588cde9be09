package org.frontline.reports;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.json.schema.JsonSchema;
import io.vertx.json.schema.SchemaRepository;
import io.vertx.json.schema.Validator;
import org.frontline.platform.http.ApiVerticle;
import org.frontline.platform.http.CompiledSchema;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.Problems;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The contract's own schema of a report envelope (the request body of createReport), to validate envelopes that
 * arrive as items of a batch: the same schema, the same validator, the same field errors as the single endpoint.
 */
public final class ReportSchemas {
  private static final Logger log = LoggerFactory.getLogger(ReportSchemas.class);
  /** Built once: a validator only reads its lookup table after construction, so it serves every item. */
  private final Validator validator;
  private final Vertx vertx;
  /** Accepts a valid envelope fast; anything it refuses goes to {@link #validator} (see RequestValidation). */
  private final Optional<CompiledSchema> compiled;
  private final AtomicBoolean warned = new AtomicBoolean();
  /** The envelope's schema and the contract it is in, to word an item's field errors as createReport does. */
  private final JsonSchema envelope;
  private final JsonObject contract;

  private ReportSchemas(Vertx vertx, SchemaRepository repository, JsonSchema envelope, JsonObject contract,
                        Optional<CompiledSchema> compiled) {
    this.vertx = vertx;
    this.validator = repository.validator(envelope);
    this.envelope = envelope;
    this.contract = contract;
    this.compiled = compiled;
  }

  public static Future<ReportSchemas> load(Vertx vertx) {
    return ApiVerticle.loadContract(vertx, ApiVerticle.CONTRACT).map(loaded -> new ReportSchemas(vertx,
        loaded.contract().getSchemaRepository(),
        loaded.contract().operation("createReport").getRequestBody().getContent().get("application/json").getSchema(),
        loaded.contract().getRawContract(),
        Optional.ofNullable(loaded.compiledBodies().get("createReport"))));
  }

  /**
   * The validation problem of one envelope, exactly as createReport would answer it, or empty when valid: at once
   * for an envelope the compiled schema accepts, else on a worker (vertx-json-schema's validation and the wording
   * of its errors cost per refused item and member: see RefusalSample).
   */
  public Future<Optional<Problem>> problemOf(Object envelopeJson) {
    if (compiled.isPresent() && compiled.get().accepts(envelopeJson)) {
      return Future.succeededFuture(Optional.empty());
    }
    return vertx.executeBlocking(() -> {
      Optional<Problem> problem = Problems.refusal(validator, envelope, contract, envelopeJson);
      if (problem.isEmpty() && compiled.isPresent() && warned.compareAndSet(false, true)) {
        log.warn("The compiled envelope schema refused a batch item vertx-json-schema accepts (vertx wins)");
      }
      return problem;
    }, false);
  }
}
