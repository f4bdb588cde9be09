package org.frontline.platform.http;

import io.vertx.core.file.FileSystem;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.json.schema.Draft;
import io.vertx.json.schema.JsonSchema;
import io.vertx.json.schema.JsonSchemaOptions;
import io.vertx.json.schema.SchemaException;
import io.vertx.json.schema.SchemaRepository;
import io.vertx.json.schema.Validator;
import io.vertx.openapi.contract.OpenAPIContract;
import io.vertx.openapi.contract.OpenAPIVersion;
import io.vertx.openapi.contract.Operation;
import io.vertx.openapi.contract.Path;
import io.vertx.openapi.contract.SecurityRequirement;
import io.vertx.openapi.contract.SecurityScheme;
import io.vertx.openapi.contract.Server;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The contract as the request validator sees it, with one schema validator per schema instead of one per request.
 * vertx-openapi 5.0 asks the schema repository for a new validator on every parameter and body it validates, and
 * building one copies the repository's whole lookup table (a quarter of the CPU of a report submission). A
 * validator only reads that table once built, so one per schema object serves every request, on any thread.
 */
public final class CachedValidators {
  private CachedValidators() {}

  public static OpenAPIContract of(OpenAPIContract contract) {
    SchemaRepository repository = new CachingRepository(contract.getSchemaRepository());
    return new OpenAPIContract() {
      @Override public Operation operation(String operationId) { return contract.operation(operationId); }
      @Override public List<Operation> operations() { return contract.operations(); }
      @Override public List<Path> getPaths() { return contract.getPaths(); }
      @Override public JsonObject getRawContract() { return contract.getRawContract(); }
      @Override public OpenAPIVersion getVersion() { return contract.getVersion(); }
      @Override public SchemaRepository getSchemaRepository() { return repository; }
      @Override public List<Server> getServers() { return contract.getServers(); }
      @Override public Path findPath(String urlPath) { return contract.findPath(urlPath); }
      @Override public Operation findOperation(String urlPath, HttpMethod method) {
        return contract.findOperation(urlPath, method);
      }
      @Override public List<SecurityRequirement> getSecurityRequirements() {
        return contract.getSecurityRequirements();
      }
      @Override public SecurityScheme securityScheme(String name) { return contract.securityScheme(name); }
    };
  }

  /** Caches {@link #validator(JsonSchema)} by schema identity; everything else goes to the repository. */
  private static final class CachingRepository implements SchemaRepository {
    private final SchemaRepository delegate;
    private final Map<JsonSchema, Validator> validators = Collections.synchronizedMap(new IdentityHashMap<>());

    CachingRepository(SchemaRepository delegate) {
      this.delegate = delegate;
    }

    @Override public Validator validator(JsonSchema schema) {
      Validator v = validators.get(schema);
      if (v == null) {
        v = delegate.validator(schema);
        validators.put(schema, v);
      }
      return v;
    }

    @Override public SchemaRepository dereference(JsonSchema schema) throws SchemaException {
      return delegate.dereference(schema);
    }
    @Override public SchemaRepository dereference(String uri, JsonSchema schema) throws SchemaException {
      return delegate.dereference(uri, schema);
    }
    @Override public SchemaRepository preloadMetaSchema(FileSystem fs) { return delegate.preloadMetaSchema(fs); }
    @Override public SchemaRepository preloadMetaSchema(FileSystem fs, Draft draft) {
      return delegate.preloadMetaSchema(fs, draft);
    }
    @Override public Validator validator(String ref) { return delegate.validator(ref); }
    @Override public Validator validator(String ref, JsonSchemaOptions options) {
      return delegate.validator(ref, options);
    }
    @Override public Validator validator(JsonSchema schema, JsonSchemaOptions options, boolean dereference) {
      return delegate.validator(schema, options, dereference);
    }
    @Override public JsonObject resolve(JsonObject schema) { return delegate.resolve(schema); }
    @Override public JsonSchema find(String pointer) { return delegate.find(pointer); }
  }
}
