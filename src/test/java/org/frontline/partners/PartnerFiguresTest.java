package org.frontline.partners;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HANJIANG;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.partners.Partners.call;
import static org.frontline.partners.Partners.login;
import static org.frontline.partners.Partners.ok;
import static org.frontline.partners.Partners.partnerToken;
import static org.frontline.partners.Partners.secretClient;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.testing.TestEnvironment.await;

/**
 * Inbound partner figures: idempotency (replay, other body, in flight, missing key, per client, retention and
 * sweep), the grant (figures:write, units), the audit entry, and the supervisors' read in GET /v1/figures.
 */
@FrontlineTest
class PartnerFiguresTest {
  private static final String FORBIDDEN = "urn:frontline:problem:forbidden";
  private static final String UNPROCESSABLE = "urn:frontline:problem:unprocessable";
  private static final String CONFLICT = "urn:frontline:problem:conflict";
  private static final String VALIDATION = "urn:frontline:problem:validation-failed";

  static JsonObject figure(UUID unit, String metric, String from, String to, String value, String uom) {
    return new JsonObject().put("unitId", unit.toString()).put("metric", metric)
        .put("period", new JsonObject().put("from", from).put("to", to)).put("value", value).put("unitOfMeasure", uom);
  }

  static HttpRequest<Buffer> post(TestEnvironment env, String token, String key) {
    HttpRequest<Buffer> request = env.client().post("/v1/partner/figures").putHeader("Authorization", "Bearer " + token);
    return key == null ? request : request.putHeader("Idempotency-Key", key);
  }

  static HttpResponse<Buffer> send(TestEnvironment env, String token, String key, JsonObject body) {
    return await(post(env, token, key).sendJsonObject(body));
  }

  static String writer(TestEnvironment env) {
    return partnerToken(env, secretClient(env, List.of("figures:write"), List.of(HANJIANG, TONGZHOU), List.of("SITE")));
  }

  static String key() {
    return "\"" + UUID.randomUUID() + "\"";
  }

  @Test
  void theSameKeyAndBodyReplayTheFirstAnswerAndWriteOnce(TestEnvironment env) {
    String token = writer(env);
    String key = key();
    JsonObject body = figure(HUAISI, "green-tickets-traded", "2026-10-01", "2026-11-01", "1250.5000", "tickets");
    JsonObject first = ok(send(env, token, key, body), 201);
    assertThat(first.getString("value")).isEqualTo("1250.5");
    assertThat(first.getString("unitId")).isEqualTo(HUAISI.toString());
    assertThat(first.getJsonObject("period")).isEqualTo(new JsonObject().put("from", "2026-10-01").put("to", "2026-11-01"));

    // The same body with its members in another order is the same request: the answer is replayed as it was.
    JsonObject reordered = new JsonObject().put("unitOfMeasure", "tickets").put("value", "1250.5000")
        .put("period", new JsonObject().put("to", "2026-11-01").put("from", "2026-10-01"))
        .put("metric", "green-tickets-traded").put("unitId", HUAISI.toString());
    HttpResponse<Buffer> again = send(env, token, key, reordered);
    assertThat(again.statusCode()).isEqualTo(201);
    assertThat(again.bodyAsJsonObject()).isEqualTo(first);
    // The key without quotes (most clients send it bare) is the same key.
    assertThat(ok(send(env, token, key.substring(1, key.length() - 1), body), 201)).isEqualTo(first);

    assertThat(env.count("SELECT count(*) FROM partner_figure WHERE metric = 'green-tickets-traded'")).isEqualTo(1);
    assertThat(env.string("SELECT value::text FROM partner_figure WHERE id = ?::uuid", first.getString("id")))
        .isEqualTo("1250.5000");
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'partner-figure.create' AND object_id = ? "
        + "AND actor_id = ?::uuid AND unit_id = ?::uuid", first.getString("id"), first.getString("clientId"),
        HUAISI.toString())).isEqualTo(1);

    // A new key for the same unit, metric and period replaces the value (200), audited as a replacement.
    JsonObject replaced = ok(send(env, token, key(), body.copy().put("value", "1300")), 200);
    assertThat(replaced.getString("id")).isEqualTo(first.getString("id"));
    assertThat(replaced.getString("value")).isEqualTo("1300");
    assertThat(env.count("SELECT count(*) FROM partner_figure WHERE metric = 'green-tickets-traded'")).isEqualTo(1);
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'partner-figure.replace' AND object_id = ?",
        first.getString("id"))).isEqualTo(1);
  }

  /**
   * A figure written, whose answer the partner never got, retried after a release tightened a rule its body breaks
   * (here the handler's own check, a period whose end is not after its start): the retry is answered as the repeat,
   * and nothing is written; another key keeps the refusal. The key's stored fingerprint stands in for yesterday's
   * rules.
   */
  @Test
  void aRetryRefusedByARuleTightenedSinceTheWriteIsAnsweredAsTheRepeat(TestEnvironment env) throws Exception {
    String token = writer(env);
    String key = key();
    JsonObject first = ok(send(env, token, key,
        figure(HUAISI, "tightened", "2026-10-01", "2026-11-01", "3", "count")), 201);
    JsonObject refused = figure(HUAISI, "tightened", "2026-10-01", "2026-10-01", "3", "count");
    try (Connection c = env.jdbc(); var st = c.prepareStatement(
        "UPDATE partner_idempotency SET request_sha256 = ? WHERE key = ? AND status = 201")) {
      st.setBytes(1, java.security.MessageDigest.getInstance("SHA-256").digest(
          org.frontline.platform.http.IdempotencyKeys.canonical(refused)
              .getBytes(java.nio.charset.StandardCharsets.UTF_8)));
      st.setString(2, key.substring(1, key.length() - 1));
      assertThat(st.executeUpdate()).isEqualTo(1);
    }
    assertThat(ok(send(env, token, key, refused), 201)).isEqualTo(first);
    HttpResponse<Buffer> anotherKey = send(env, token, key(), refused);
    assertProblem(anotherKey, 422, UNPROCESSABLE);
    assertThat(anotherKey.bodyAsJsonObject().getJsonArray("errors").getJsonObject(0).getString("field"))
        .isEqualTo("body/period/to");
    assertThat(env.count("SELECT count(*) FROM partner_figure WHERE metric = 'tightened'")).isEqualTo(1);
  }

  @Test
  void theSameKeyWithAnotherBodyIs422AndWritesNothing(TestEnvironment env) {
    String token = writer(env);
    String key = key();
    ok(send(env, token, key, figure(HUAISI, "other-body", "2026-10-01", "2026-11-01", "1", "count")), 201);
    HttpResponse<Buffer> r = send(env, token, key, figure(HUAISI, "other-body", "2026-10-01", "2026-11-01", "2", "count"));
    assertProblem(r, 422, UNPROCESSABLE);
    assertThat(r.bodyAsJsonObject().getJsonArray("errors").getJsonObject(0).getString("field"))
        .isEqualTo("header/Idempotency-Key");
    assertThat(env.string("SELECT value::text FROM partner_figure WHERE metric = 'other-body'")).isEqualTo("1.0000");
  }

  @Test
  void aMissingKeyIs400NamingTheHeader(TestEnvironment env) {
    String token = writer(env);
    HttpResponse<Buffer> r = send(env, token, null, figure(HUAISI, "no-key", "2026-10-01", "2026-11-01", "1", "count"));
    assertProblem(r, 400, VALIDATION);
    assertThat(r.bodyAsString()).contains("header/Idempotency-Key");
    HttpResponse<Buffer> empty = send(env, token, "\"\"", figure(HUAISI, "no-key", "2026-10-01", "2026-11-01", "1", "count"));
    assertProblem(empty, 400, VALIDATION);
    assertThat(empty.bodyAsString()).contains("header/Idempotency-Key");
    assertThat(env.count("SELECT count(*) FROM partner_figure WHERE metric = 'no-key'")).isZero();
  }

  @Test
  void aKeySentTwiceIs400NamingTheHeaderAndStoresNothing(TestEnvironment env) {
    String token = writer(env);
    List<String> keys = List.of(key(), key());
    HttpResponse<Buffer> r = await(post(env, token, null).putHeader("Idempotency-Key", keys)
        .sendJsonObject(figure(HUAISI, "two-keys", "2026-10-01", "2026-11-01", "1", "count")));
    assertProblem(r, 400, VALIDATION);
    assertThat(r.bodyAsJsonObject().getJsonArray("errors").getJsonObject(0).getString("field"))
        .isEqualTo("header/Idempotency-Key");
    assertThat(env.count("SELECT count(*) FROM partner_figure WHERE metric = 'two-keys'")).isZero();
    assertThat(env.count("SELECT count(*) FROM partner_idempotency WHERE key IN (?, ?)",
        keys.get(0).replace("\"", ""), keys.get(1).replace("\"", ""))).isZero();
  }

  @Test
  void aPeriodOutsideTheRecordYearsIs400NamingItAndStoresNothing(TestEnvironment env) {
    // Year 0000 passed `format: date` and was stored as 1 BC.
    String token = writer(env);
    for (String[] c : new String[][] {{"0000-01-01", "2026-01-01", "body/period/from"},
        {"2026-01-01", "3000-01-01", "body/period/to"}}) {
      HttpResponse<Buffer> r = send(env, token, key(), figure(HUAISI, "out-of-range", c[0], c[1], "1", "count"));
      assertProblem(r, 400, VALIDATION);
      // The day is named; the other entries are the validator's wrappers of body/period on its way there.
      assertThat(r.bodyAsJsonObject().getJsonArray("errors").stream().map(e -> ((JsonObject) e).getString("field")))
          .contains(c[2]).allMatch(c[2]::startsWith);
    }
    assertThat(env.count("SELECT count(*) FROM partner_figure WHERE metric = 'out-of-range'")).isZero();
  }

  /**
   * vertx's `format: uuid` also takes RFC 4122's URN form ("urn:uuid:..."), which UUID.fromString does not: the
   * handler threw and the answer was a 500. The contract's pattern now refuses it as any bad value.
   */
  @Test
  void aUnitIdInUrnFormIs400NamingItAndStoresNothing(TestEnvironment env) {
    String token = writer(env);
    String key = key();
    HttpResponse<Buffer> r = send(env, token, key, figure(HUAISI, "urn-unit", "2026-10-01", "2026-11-01", "1", "count")
        .put("unitId", "urn:uuid:" + HUAISI));
    assertProblem(r, 400, VALIDATION);
    assertThat(r.bodyAsJsonObject().getJsonArray("errors").stream().map(e -> ((JsonObject) e).getString("field")))
        .containsExactly("body/unitId");
    assertThat(env.count("SELECT count(*) FROM partner_figure WHERE metric = 'urn-unit'")).isZero();
    assertThat(env.count("SELECT count(*) FROM partner_idempotency WHERE key = ?", key.replace("\"", ""))).isZero();
    // The plain form in upper case is the same unit.
    JsonObject created = ok(send(env, token, key, figure(HUAISI, "urn-unit", "2026-10-01", "2026-11-01", "1", "count")
        .put("unitId", HUAISI.toString().toUpperCase())), 201);
    assertThat(created.getString("unitId")).isEqualTo(HUAISI.toString());
  }

  @Test
  void aDuplicateWhileTheFirstIsInFlightIs409AndOneRowIsWritten(TestEnvironment env) throws Exception {
    String token = writer(env);
    String key = key();
    JsonObject body = figure(HUAISI, "in-flight", "2026-10-01", "2026-11-01", "5", "count");
    Future<HttpResponse<Buffer>> first;
    try (Connection lock = env.jdbc(); Statement st = lock.createStatement()) {
      // Hold the first request inside its write: the figure table takes no insert until this transaction ends.
      lock.setAutoCommit(false);
      st.execute("LOCK TABLE partner_figure IN SHARE ROW EXCLUSIVE MODE");
      first = post(env, token, key).sendJsonObject(body);
      String bare = key.substring(1, key.length() - 1);
      for (int i = 0; i < 200 && env.count("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
          + "WHERE c.relname = 'partner_figure' AND NOT l.granted") == 0; i++) {
        Thread.sleep(50);
      }
      assertThat(env.count("SELECT count(*) FROM partner_idempotency WHERE key = ? AND status IS NULL", bare)).isEqualTo(1);
      assertThat(first.isComplete()).isFalse();

      HttpResponse<Buffer> duplicate = send(env, token, key, body);
      assertProblem(duplicate, 409, CONFLICT);
      lock.commit();
    }
    JsonObject created = ok(await(first), 201);
    assertThat(env.count("SELECT count(*) FROM partner_figure WHERE metric = 'in-flight'")).isEqualTo(1);
    // Once done, the duplicate gets the first answer.
    assertThat(ok(send(env, token, key, body), 201)).isEqualTo(created);
  }

  @Test
  void duplicatesSentAtOnceWriteOneRowAndGetItsAnswerOrAConflict(TestEnvironment env) {
    String token = writer(env);
    String key = key();
    JsonObject body = figure(HUAISI, "at-once", "2026-10-01", "2026-11-01", "8", "count");
    List<Future<HttpResponse<Buffer>>> sent = new java.util.ArrayList<>();
    for (int i = 0; i < 8; i++) {
      sent.add(post(env, token, key).sendJsonObject(body));
    }
    await(Future.join(sent));
    JsonObject created = null;
    int conflicts = 0;
    for (Future<HttpResponse<Buffer>> f : sent) {
      HttpResponse<Buffer> r = f.result();
      if (r.statusCode() == 409) {
        assertProblem(r, 409, CONFLICT);
        conflicts++;
      } else {
        JsonObject answer = ok(r, 201);
        assertThat(created == null || created.equals(answer)).as("every 201 is the same answer").isTrue();
        created = answer;
      }
    }
    assertThat(created).isNotNull();
    assertThat(conflicts).isLessThan(8);
    assertThat(env.count("SELECT count(*) FROM partner_figure WHERE metric = 'at-once'")).isEqualTo(1);
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'partner-figure.create' AND object_id = ?",
        created.getString("id"))).isEqualTo(1);
  }

  @Test
  void keysArePerClientAndAFailedWriteFreesItsKey(TestEnvironment env) {
    String one = writer(env);
    String other = writer(env);
    String key = key();
    JsonObject body = figure(HUAISI, "per-client", "2026-10-01", "2026-11-01", "3", "count");
    JsonObject a = ok(send(env, one, key, body), 201);
    JsonObject b = ok(send(env, other, key, body), 201);
    assertThat(a.getString("id")).isNotEqualTo(b.getString("id"));

    // A unit outside the grant (Suzhou is not granted): 422 naming body/unitId, nothing kept for the key...
    String failing = key();
    HttpResponse<Buffer> outside = send(env, one, failing,
        figure(org.frontline.dev.DemoOrganisation.SUZHOU, "per-client", "2026-10-01", "2026-11-01", "3", "count"));
    assertProblem(outside, 422, UNPROCESSABLE);
    assertThat(outside.bodyAsJsonObject().getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/unitId");
    assertThat(env.count("SELECT count(*) FROM partner_idempotency WHERE key = ?", failing.replace("\"", ""))).isZero();
    // ... so the corrected request may use it.
    ok(send(env, one, failing, figure(TONGZHOU, "per-client", "2026-10-01", "2026-11-01", "3", "count")), 201);

    HttpResponse<Buffer> backwards = send(env, one, key(), figure(HUAISI, "per-client", "2026-10-01", "2026-10-01", "3", "count"));
    assertProblem(backwards, 422, UNPROCESSABLE);
    assertThat(backwards.bodyAsString()).contains("body/period/to");
    assertThat(env.count("SELECT count(*) FROM partner_figure WHERE metric = 'per-client'")).isEqualTo(3);
  }

  @Test
  void keysAreKeptForTheirRetentionThenSwept(TestEnvironment env) throws Exception {
    String token = writer(env);
    String key = key();
    String bare = key.replace("\"", "");
    ok(send(env, token, key, figure(HUAISI, "retention", "2026-10-01", "2026-11-01", "1", "count")), 201);
    String stale = key();
    ok(send(env, token, stale, figure(HUAISI, "retention", "2026-09-01", "2026-10-01", "1", "count")), 201);
    try (Connection c = env.jdbc(); Statement st = c.createStatement()) {
      st.executeUpdate("UPDATE partner_idempotency SET created_at = now() - interval '25 hours' WHERE key IN ('"
          + bare + "', '" + stale.replace("\"", "") + "')");
    }
    // Past the retention the key is free again: another body is a new request, not a 422.
    ok(send(env, token, key, figure(HUAISI, "retention", "2026-10-01", "2026-11-01", "2", "count")), 200);
    // ... and the write swept the other expired key.
    assertThat(env.count("SELECT count(*) FROM partner_idempotency WHERE key = ?", stale.replace("\"", ""))).isZero();
    assertThat(env.count("SELECT count(*) FROM partner_idempotency WHERE key = ? AND created_at > now() - interval '1 hour'",
        bare)).isEqualTo(1);
  }

  @Test
  void onlyPartnersWithFiguresWriteMayWrite(TestEnvironment env) {
    JsonObject body = figure(HUAISI, "forbidden", "2026-10-01", "2026-11-01", "1", "count");
    String reader = partnerToken(env, secretClient(env, List.of("reports:read", "events:read"), List.of(HANJIANG),
        List.of("SITE")));
    assertProblem(send(env, reader, "forbidden-partner", body), 403, FORBIDDEN);
    for (String person : List.of("officer.xu", "supervisor.hanjiang", "admin")) {
      assertProblem(send(env, login(env, person), "forbidden-" + person, body), 403, FORBIDDEN);
    }
    assertThat(env.count("SELECT count(*) FROM partner_figure WHERE metric = 'forbidden'")).isZero();
    assertThat(env.count("SELECT count(*) FROM partner_idempotency WHERE key LIKE 'forbidden-%'")).isZero();
  }

  /**
   * A retired unit's records are read-only: a figure for it (in the partner's grant) is 409 naming the unit, nothing
   * stored or audited, and the key is free again; the figures stored before stay and are still summed.
   */
  @Test
  void aFigureForARetiredUnitIs409AndStoresNothing(TestEnvironment env) {
    String admin = login(env, "admin");
    String unit = ok(call(env, admin, HttpMethod.POST, "/v1/org-units", new JsonObject()
        .put("parentId", HANJIANG.toString()).put("name", "Merged park " + UUID.randomUUID()).put("kind", "PARK")), 201)
        .getString("id");
    String token = writer(env);
    JsonObject before = ok(send(env, token, key(), figure(UUID.fromString(unit), "vep-retired", "2026-01-01",
        "2026-07-01", "10", "yuan")), 201);
    ok(call(env, admin, HttpMethod.POST, "/v1/org-units/" + unit + "/retire", null), 200);

    String key = key();
    JsonObject p = assertProblem(send(env, token, key, figure(UUID.fromString(unit), "vep-retired", "2026-07-01",
        "2027-01-01", "12", "yuan")), 409, CONFLICT);
    assertThat(p.getString("retiredUnitId")).isEqualTo(unit);
    assertProblem(send(env, token, key(), figure(UUID.fromString(unit), "vep-retired", "2026-01-01", "2026-07-01",
        "11", "yuan")), 409, CONFLICT);
    assertThat(env.string("SELECT string_agg(value::text, ',') FROM partner_figure WHERE metric = 'vep-retired'"))
        .isEqualTo("10.0000");
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action LIKE 'partner-figure.%' AND unit_id = ?::uuid",
        unit)).isEqualTo(1);
    assertThat(env.count("SELECT count(*) FROM partner_idempotency WHERE key = ?", key.replace("\"", ""))).isZero();
    assertThat(before.getString("unitId")).isEqualTo(unit);
    JsonArray metrics = ok(call(env, login(env, "supervisor.hanjiang"), HttpMethod.GET, "/v1/figures?unitId=" + unit
        + "&from=2026-01-01&to=2027-01-01&include=partnerFigures", null), 200).getJsonObject("partnerFigures")
        .getJsonArray("metrics");
    assertThat(metrics.getJsonObject(0).getString("total")).isEqualTo("10");
  }

  @Test
  void supervisorsReadTheSumsOfTheirSubtreeAndPeriodInFigures(TestEnvironment env) {
    String token = writer(env);
    String other = writer(env);
    ok(send(env, token, key(), figure(HUAISI, "ecological-product-value", "2025-03-01", "2025-04-01", "100.25", "CNY")), 201);
    ok(send(env, other, key(), figure(HANJIANG, "ecological-product-value", "2025-03-01", "2025-03-16", "20", "CNY")), 201);
    ok(send(env, token, key(), figure(HANJIANG, "count", "2025-03-01", "2025-04-01", "4", "count")), 201);
    ok(send(env, token, key(), figure(TONGZHOU, "ecological-product-value", "2025-03-01", "2025-04-01", "7", "CNY")), 201);
    // Not within [2025-03-01, 2025-04-01): runs into April.
    ok(send(env, token, key(), figure(HUAISI, "ecological-product-value", "2025-03-01", "2025-04-02", "1000", "CNY")), 201);

    JsonObject figures = ok(call(env, login(env, "supervisor.hanjiang"), HttpMethod.GET,
        "/v1/figures?unitId=" + HANJIANG + "&from=2025-03-01&to=2025-04-01&include=partnerFigures", null), 200);
    assertThat(figures.fieldNames()).containsExactlyInAnyOrder("unitId", "from", "to", "asOf", "partnerFigures");
    assertThat(figures.getJsonObject("partnerFigures").getJsonArray("metrics")).isEqualTo(new JsonArray()
        .add(new JsonObject().put("metric", "count").put("unitOfMeasure", "count").put("total", "4").put("figures", 1))
        .add(new JsonObject().put("metric", "ecological-product-value").put("unitOfMeasure", "CNY")
            .put("total", "120.25").put("figures", 2)));

    JsonObject tongzhou = ok(call(env, login(env, "assessor.tongzhou"), HttpMethod.GET,
        "/v1/figures?from=2025-03-01&to=2025-04-01&include=partnerFigures", null), 200);
    assertThat(tongzhou.getJsonObject("partnerFigures").getJsonArray("metrics")).isEqualTo(new JsonArray()
        .add(new JsonObject().put("metric", "ecological-product-value").put("unitOfMeasure", "CNY")
            .put("total", "7").put("figures", 1)));
    // Every group by default, partner figures included.
    assertThat(ok(call(env, login(env, "supervisor.hanjiang"), HttpMethod.GET,
        "/v1/figures?from=2025-03-01&to=2025-04-01", null), 200).containsKey("partnerFigures")).isTrue();
  }
}
