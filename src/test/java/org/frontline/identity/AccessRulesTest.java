package org.frontline.identity;

import io.vertx.core.json.JsonObject;
import io.vertx.openapi.impl.Utils;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The role table covers exactly the secured operations of the contract, and a missing entry refuses the start. */
class AccessRulesTest {

  @Test
  void everySecuredOperationOfTheContractHasARuleAndEveryRuleAnOperation() throws Exception {
    JsonObject contract = Utils.yamlStringToJson(Files.readString(Path.of("api-spec/openapi.yaml")))
        .toCompletionStage().toCompletableFuture().get();
    Set<String> secured = new TreeSet<>();
    JsonObject paths = contract.getJsonObject("paths");
    for (String path : paths.fieldNames()) {
      JsonObject item = paths.getJsonObject(path);
      for (String method : item.fieldNames()) {
        if (item.getValue(method) instanceof JsonObject op && op.containsKey("operationId")
            && op.getJsonArray("security", contract.getJsonArray("security")) != null
            && !op.getJsonArray("security", contract.getJsonArray("security")).isEmpty()) {
          secured.add(op.getString("operationId"));
        }
      }
    }
    assertThat(secured).isNotEmpty();
    assertThat(new TreeSet<>(AccessRules.operations())).isEqualTo(secured);
  }

  @Test
  void aSecuredOperationWithoutARuleRefusesTheStart() {
    BearerAuthHandler handler = new BearerAuthHandler(null, null, null);
    assertThatThrownBy(() -> handler.forOperation("noSuchOperation"))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("noSuchOperation");
  }

  @Test
  void organisationWideOperationsAreAdminOperationsOfTheTable() {
    // The scope check comes after the role check: an operation here must have its rule (and an admin-only one).
    assertThat(AccessRules.organisationWideOperations()).contains("rotateSigningKeys", "retireSigningKey")
        .doesNotContain("listSigningKeys");
    for (String operation : AccessRules.organisationWideOperations()) {
      assertThat(AccessRules.rolesFor(operation)).containsExactly("admin");
    }
  }

  @Test
  void adminOperationsNeedTheAdminRoleAndMeNeedsNone() {
    Caller officer = new Caller(java.util.UUID.randomUUID(), java.util.List.of("officer"), java.util.List.of());
    Caller admin = new Caller(java.util.UUID.randomUUID(), java.util.List.of("officer", "admin"), java.util.List.of());
    assertThat(AccessRules.allows(AccessRules.rolesFor("createAccount"), officer)).isFalse();
    assertThat(AccessRules.allows(AccessRules.rolesFor("createAccount"), admin)).isTrue();
    assertThat(AccessRules.allows(AccessRules.rolesFor("getMe"), officer)).isTrue();
  }

  /** Reports are reviewed by supervisors and admins; every reader of a report reads its reviews. */
  @Test
  void supervisorsAndAdminsReviewReportsAndEveryReaderReadsTheReviews() {
    for (String role : java.util.List.of("officer", "assessor", Caller.PARTNER_ROLE_PREFIX + "reports:read")) {
      Caller caller = new Caller(java.util.UUID.randomUUID(), java.util.List.of(role), java.util.List.of());
      assertThat(AccessRules.allows(AccessRules.rolesFor("reviewReport"), caller)).as(role).isFalse();
    }
    for (String role : java.util.List.of("supervisor", "admin")) {
      Caller caller = new Caller(java.util.UUID.randomUUID(), java.util.List.of(role), java.util.List.of());
      assertThat(AccessRules.allows(AccessRules.rolesFor("reviewReport"), caller)).as(role).isTrue();
    }
    assertThat(AccessRules.rolesFor("listReportReviews")).isEqualTo(AccessRules.rolesFor("getReport"));
  }
}
