package org.frontline.enterprises;

import io.vertx.core.json.JsonObject;

import java.util.UUID;

/** Enterprise fixtures for tests of other packages (reports, alerts). */
public final class EnterprisesApiTestAccess {
  private EnterprisesApiTestAccess() {}

  /** A new enterprise's body with a fresh valid credit code. */
  public static JsonObject enterprise(UUID unit) {
    return EnterprisesApiTest.enterprise(EnterprisesApiTest.code(), unit);
  }
}
