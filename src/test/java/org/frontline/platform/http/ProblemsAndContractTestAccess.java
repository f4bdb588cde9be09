package org.frontline.platform.http;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;

/** Opens the package-private {@code assertProblem} of ProblemsAndContractTest to feature tests in other packages. */
public final class ProblemsAndContractTestAccess {
  private ProblemsAndContractTestAccess() {}

  public static JsonObject assertProblem(HttpResponse<Buffer> r, int status, String type) {
    return ProblemsAndContractTest.assertProblem(r, status, type);
  }
}
