package org.frontline.reports;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.json.schema.JsonSchema;
import io.vertx.json.schema.OutputUnit;
import io.vertx.json.schema.SchemaRepository;
import io.vertx.json.schema.Validator;
import io.vertx.openapi.contract.OpenAPIContract;
import io.vertx.openapi.impl.Utils;
import org.frontline.platform.http.ApiVerticle;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.Problems;

import java.util.Optional;

/**
 * The contract's own schema of a report envelope (the request body of createReport), to validate envelopes that
 * arrive as items of a batch: the same schema, the same validator, the same field errors as the single endpoint.
 */
public final class ReportSchemas {
  /** Built once: a validator only reads its lookup table after construction, so it serves every item. */
  private final Validator validator;

  private ReportSchemas(SchemaRepository repository, JsonSchema envelope) {
    this.validator = repository.validator(envelope);
  }

  public static Future<ReportSchemas> load(Vertx vertx) {
    return ApiVerticle.readContract(vertx, ApiVerticle.CONTRACT)
        .compose(raw -> Utils.yamlStringToJson(raw.toString()))
        .compose(model -> OpenAPIContract.from(vertx, ApiVerticle.forValidation(model)))
        .map(contract -> new ReportSchemas(contract.getSchemaRepository(),
            contract.operation("createReport").getRequestBody().getContent().get("application/json").getSchema()));
  }

  /** The validation problem of one envelope, exactly as createReport would answer it, or empty when valid. */
  public Optional<Problem> problemOf(Object envelopeJson) {
    OutputUnit result = validator.validate(envelopeJson);
    return Boolean.TRUE.equals(result.getValid()) ? Optional.empty() : Optional.of(Problems.invalidBody(result));
  }
}
