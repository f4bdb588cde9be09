package org.frontline.reports;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.reports.ReportFixtures.*;

/**
 * One violation of each kind of schema keyword the contract has, sent through real HTTP to real operations: the
 * 400's `errors[]` names the field by JSON pointer and says what the contract expects and what was sent, and so does
 * its `detail`. They were the validator's texts ("Array has too many items ( + 51 > 50)", "String does not match
 * pattern", "Instance does not match any of [...]"), with wrapper entries ("Items did not match schema",
 * "Instance does not match \"then\" schema") beside them. Nothing is stored.
 */
@FrontlineTest
class ContractViolationMessagesTest {
  private static final String VALIDATION = "urn:frontline:problem:validation-failed";
  private static final String URN_ID = "urn:uuid:0b9f3c1e-5d7a-4e2b-9c8d-1f2e3a4b5c6d";

  @BeforeAll
  static void freshTokens() {
    forgetTokens();
  }

  private record Case(String kind, Supplier<HttpResponse<Buffer>> send, String field, String reason) {}

  @Test
  void eachKindOfViolationNamesItsFieldTheLimitAndWhatWasSent(TestEnvironment env) throws Exception {
    List<UUID> reports = new ArrayList<>();
    Supplier<JsonObject> report = () -> {
      UUID id = UUID.randomUUID();
      reports.add(id);
      return site(id);
    };
    JsonArray fiftyOne = new JsonArray();
    for (int i = 0; i < 51; i++) {
      fiftyOne.add(report.get());
    }
    JsonObject untitled = report.get();
    untitled.remove("title");
    String project = UUID.randomUUID().toString(); // refused before the project is looked up
    String huge = "X".repeat(5_000);

    List<Case> cases = List.of(
        new Case("maxItems", () -> post(env, "officer.xu", "/v1/reports/batch",
            new JsonObject().put("reports", fiftyOne)), "body/reports", "At most 50 items, 51 sent."),
        new Case("minItems", () -> post(env, "officer.xu", "/v1/reports/batch",
            new JsonObject().put("reports", new JsonArray())), "body/reports", "At least 1 item, 0 sent."),
        new Case("maxLength", () -> post(env, "officer.xu", "/v1/reports", report.get().put("title", "x".repeat(201))),
            "body/title", "At most 200 characters, 201 sent."),
        // (an empty observation is blank too now, two errors: the length limit in a type's body is its maximum)
        new Case("maxLength in a type's body (if/then)", () -> post(env, "officer.xu", "/v1/reports",
                report.get().put("body", new JsonObject().put("observations", new JsonArray().add("x".repeat(2001))))),
            "body/body/observations/0", "At most 2000 characters, 2001 sent (for type SITE)."),
        new Case("minimum", () -> post(env, "officer.xu", "/v1/reports",
                withAttachments(report.get(), attachment(UUID.randomUUID(), 1).put("size", 0))),
            "body/attachments/0/size", "Must be at least 1, 0 sent."),
        new Case("maximum", () -> post(env, "officer.xu", "/v1/reports",
                withAttachments(report.get(), attachment(UUID.randomUUID(), 1).put("size", 52428801))),
            "body/attachments/0/size", "Must be at most 52428800, 52428801 sent."),
        new Case("exclusiveMinimum", () -> post(env, "supervisor.tongzhou", "/v1/projects/" + project + "/milestones",
                milestone().put("plannedQuantity", 0)),
            "body/plannedQuantity", "Must be greater than 0, 0 sent."),
        new Case("pattern with a description", () -> post(env, "officer.xu", "/v1/reports",
                withAttachments(report.get(), attachment(UUID.randomUUID(), 1).put("sha256", "xyz"))),
            "body/attachments/0/sha256", "Must match ^[0-9a-f]{64}$ (Lower-case hex SHA-256 of the bytes.), \"xyz\" sent."),
        new Case("pattern with a format", () -> post(env, "officer.xu", "/v1/reports", report.get().put("id", URN_ID)),
            "body/id", "Must be a UUID (8-4-4-4-12 hex digits), \"urn:uuid:0b9f3c1e-5d7a-4e2b-9c8d-1f2e3a4…\" "
                + "(45 characters) sent."),
        new Case("pattern of non-blank text", () -> post(env, "officer.xu", "/v1/reports",
            report.get().put("title", "   ")), "body/title", "Must not be blank, \"   \" sent."),
        new Case("pattern, huge input", () -> post(env, "supervisor.tongzhou", "/v1/projects/" + project
                + "/milestones", milestone().put("unit", huge)), "body/unit",
            "Must match ^[a-z][a-z0-9_]{0,31}$ (e.g. km, trees, utility_lines, items.), \"" + "X".repeat(40)
                + "…\" (5000 characters) sent."),
        new Case("enum", () -> post(env, "officer.xu", "/v1/reports",
                withAttachments(report.get(), attachment(UUID.randomUUID(), 1).put("contentType", "image/gif"))),
            "body/attachments/0/contentType",
            "Must be one of image/jpeg, image/png, image/heic, image/heif; \"image/gif\" sent."),
        new Case("required", () -> post(env, "officer.xu", "/v1/reports", untitled),
            "body/title", "Required field is missing."),
        new Case("additionalProperties", () -> post(env, "officer.xu", "/v1/reports",
            report.get().put("colour", "red")), "body/colour", "Unknown field; the contract does not define it."),
        new Case("type", () -> post(env, "officer.xu", "/v1/reports", report.get().put("title", 5)),
            "body/title", "Must be a string, 5 sent."),
        new Case("format uuid", () -> post(env, "officer.xu", "/v1/reports", report.get().put("unitId", "abc")),
            "body/unitId", "Must be a UUID (8-4-4-4-12 hex digits), \"abc\" sent."),
        new Case("format date-time", () -> post(env, "officer.xu", "/v1/reports",
                report.get().put("capturedAt", "yesterday")),
            "body/capturedAt", "Must be an RFC 3339 date-time (2026-11-27T08:30:00Z), \"yesterday\" sent."),
        new Case("format date", () -> post(env, "supervisor.tongzhou", "/v1/projects/" + project + "/milestones",
                milestone().put("plannedStart", "2026-13-45")),
            "body/plannedStart", "Must be an RFC 3339 date (2026-11-27), \"2026-13-45\" sent."),
        new Case("the type's body (if/then)", () -> post(env, "officer.xu", "/v1/reports",
                report.get().put("type", "MILESTONE_PROGRESS").put("body", new JsonObject()
                    .put("milestoneId", UUID.randomUUID().toString()).put("quantity", -1))),
            "body/body/quantity", "Must be at least 0, -1 sent (for type MILESTONE_PROGRESS)."),
        new Case("the type's body misses a field (if/then)", () -> post(env, "officer.xu", "/v1/reports",
                report.get().put("type", "MILESTONE_PROGRESS").put("body", new JsonObject()
                    .put("milestoneId", UUID.randomUUID().toString()))),
            "body/body/quantity", "Required field is missing (for type MILESTONE_PROGRESS)."),
        new Case("query minimum", () -> get(env, "officer.xu", "/v1/reports?limit=0"),
            "query/limit", "Must be at least 1, \"0\" sent."),
        new Case("query enum", () -> get(env, "officer.xu", "/v1/reports?type=FOO"),
            "query/type", "Must be one of SITE, ENTERPRISE_SERVICE, MILESTONE_PROGRESS; \"FOO\" sent."));

    for (Case c : cases) {
      HttpResponse<Buffer> r = c.send().get();
      JsonObject problem = assertProblem(r, 400, VALIDATION);
      assertThat(problem.getJsonArray("errors").encode()).as(c.kind())
          .isEqualTo(new JsonArray().add(new JsonObject().put("field", c.field()).put("reason", c.reason())).encode());
      assertThat(problem.getString("detail")).as(c.kind())
          .isEqualTo("The request does not match the contract at " + c.field() + ": "
              + Character.toLowerCase(c.reason().charAt(0)) + c.reason().substring(1));
      assertThat(r.bodyAsString().length()).as(c.kind()).isLessThan(1000);
    }

    // An item of a batch is worded as createReport words it; the valid item beside it is stored.
    UUID good = UUID.randomUUID();
    UUID bad = UUID.randomUUID();
    HttpResponse<Buffer> batch = post(env, "officer.xu", "/v1/reports/batch", new JsonObject().put("reports",
        new JsonArray().add(site(good)).add(site(bad).put("title", "x".repeat(201)))));
    assertThat(batch.statusCode()).as(batch.bodyAsString()).isEqualTo(200);
    JsonObject item = batch.bodyAsJsonObject().getJsonArray("results").getJsonObject(1);
    assertThat(item.getString("status")).isEqualTo("invalid");
    assertThat(item.getJsonObject("problem").getJsonArray("errors").encode()).isEqualTo(new JsonArray()
        .add(new JsonObject().put("field", "body/title").put("reason", "At most 200 characters, 201 sent.")).encode());

    for (UUID id : reports) {
      assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?", id)).as("report stored").isZero();
    }
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?", bad)).isZero();
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?", good)).isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM milestone WHERE name = 'Messages milestone'")).isZero();
  }

  /**
   * A body refused for many items or members: vertx-json-schema wrote an error per refused item and the wording of
   * them was quadratic, on the event loop (10,000 items: 6 s and a 720 KB problem; a 1 MB body of 300,000: hours).
   * vertx now judges a sample (each array cut to its maxItems + 1, ten undeclared members per closed object) and a
   * problem lists at most 100 field errors, its detail counting them all; a batch item likewise, off the event loop.
   */
  @Test
  void aBodyRefusedForManyItemsOrMembersGetsABoundedProblemFast(TestEnvironment env) throws Exception {
    UUID id = UUID.randomUUID();
    JsonArray ones = new JsonArray();
    for (int i = 0; i < 24_000; i++) {
      ones.add(1);
    }
    JsonObject manyItems = site(id).put("attachments", ones);
    for (int i = 0; i < 800; i++) {
      manyItems.put("extra" + i, 1);
    }
    HttpResponse<Buffer> r = post(env, "officer.xu", "/v1/reports", manyItems);
    JsonObject problem = assertProblem(r, 400, VALIDATION);
    JsonArray errors = problem.getJsonArray("errors");
    List<String> expected = new ArrayList<>();
    expected.add("body/attachments: At most 20 items, 24000 sent.");
    for (int i = 0; i <= 20; i++) {
      expected.add("body/attachments/" + i + ": Must be an object, 1 sent.");
    }
    for (int i = 0; i < 10; i++) {
      expected.add("body/extra" + i + ": Unknown field; the contract does not define it.");
    }
    assertThat(errors.stream().map(e -> ((JsonObject) e).getString("field") + ": "
        + ((JsonObject) e).getString("reason")).toList()).containsExactlyInAnyOrderElementsOf(expected);
    assertThat(problem.getString("detail")).endsWith("(and 31 more in errors)");

    // More than 100 field errors in the sample: 100 listed, all counted.
    JsonArray empties = new JsonArray();
    for (int i = 0; i < 30; i++) {
      empties.add(new JsonObject().put("x", i));
    }
    r = post(env, "officer.xu", "/v1/reports", site(id).put("attachments", empties));
    problem = assertProblem(r, 400, VALIDATION);
    assertThat(problem.getJsonArray("errors")).hasSize(100);
    // maxItems, and for each of the 21 attachments judged its four required fields and the unknown one
    assertThat(problem.getString("detail")).isEqualTo("The request does not match the contract at body/attachments: "
        + "at most 20 items, 30 sent. (and 105 more; the first 100 are in errors)");
    assertThat(r.bodyAsString().length()).isLessThan(20_000);

    // A batch item: worded as createReport words it, the valid item beside it stored.
    UUID good = UUID.randomUUID();
    UUID bad = UUID.randomUUID();
    HttpResponse<Buffer> batch = post(env, "officer.xu", "/v1/reports/batch", new JsonObject().put("reports",
        new JsonArray().add(site(bad).put("attachments", ones)).add(site(good))));
    assertThat(batch.statusCode()).as(batch.bodyAsString()).isEqualTo(200);
    JsonArray results = batch.bodyAsJsonObject().getJsonArray("results");
    assertThat(results.getJsonObject(0).getString("status")).isEqualTo("invalid");
    JsonArray itemErrors = results.getJsonObject(0).getJsonObject("problem").getJsonArray("errors");
    assertThat(itemErrors).hasSize(22);
    assertThat(itemErrors.getJsonObject(0).encode()).isEqualTo(new JsonObject().put("field", "body/attachments")
        .put("reason", "At most 20 items, 24000 sent.").encode());
    assertThat(results.getJsonObject(1).getString("status")).isEqualTo("created");
    assertThat(batch.bodyAsString().length()).isLessThan(20_000);

    assertThat(count(env, "SELECT count(*) FROM report WHERE id IN (?, ?)", id, bad)).isZero();
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?", good)).isEqualTo(1);
  }

  private static JsonObject milestone() {
    return new JsonObject().put("name", "Messages milestone").put("plannedQuantity", 10).put("unit", "trees")
        .put("plannedStart", "2026-03-01").put("plannedDue", "2026-06-30");
  }
}
