package org.frontline.reports;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.ExpectContinue;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.reports.ReportFixtures.*;
import static org.frontline.testing.TestEnvironment.await;

@FrontlineTest
class ReportSubmissionTest {
  @BeforeAll
  static void freshTokens() {
    forgetTokens();
  }

  static final String VALIDATION = "urn:frontline:problem:validation-failed";
  static final String CONFLICT = "urn:frontline:problem:conflict";
  static final String UNPROCESSABLE = "urn:frontline:problem:unprocessable";

  @Test
  void aReportWithoutAttachmentsIsCompleteAtOnceWithOneOutboxEventAndAnAuditEntry(TestEnvironment env) throws Exception {
    UUID id = UUID.randomUUID();
    HttpResponse<Buffer> r = post(env, "officer.xu", "/v1/reports", site(id));
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(201);
    assertThat(r.getHeader("Location")).isEqualTo("/v1/reports/" + id);
    JsonObject body = r.bodyAsJsonObject();
    assertThat(body.getString("status")).isEqualTo("COMPLETE");
    assertThat(body.getString("completedAt")).isNotNull();
    assertThat(body.getString("authorId")).isEqualTo(account("officer.xu").toString());
    assertThat(body.getJsonArray("attachments")).isEmpty();
    assertThat(body.getJsonArray("evidence")).isEmpty();
    assertThat(body.getJsonObject("location").getDouble("lat")).isEqualTo(32.45);
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ? AND status = 'COMPLETE' AND completed_at IS NOT NULL", id)).isEqualTo(1);
    auditedAndAnnouncedOnce(env, id);
  }

  /**
   * A phone that sends Expect: 100-continue gets its 100 only once its token is good: with none, or an expired one,
   * the 401 comes without a 100 and the connection is closed (the body is never asked for, nor stored). The 100
   * came first, and the whole body (up to 1 MB) was read before the 401.
   */
  @Test
  void expectContinueIsAnsweredOnlyOnceTheTokenIsGood(TestEnvironment env) throws Exception {
    int port = env.app().config().http().port();
    var keys = env.app().config().tokens();
    String expired = new org.frontline.identity.TokenService(keys.issuer(), keys.audience(), env.app().signingKeys(),
        java.time.Clock.offset(java.time.Clock.systemUTC(), java.time.Duration.ofHours(-1)))
        .issue(account("officer.xu"), List.of("officer"), List.of(HUAISI), null);
    UUID refusedId = UUID.randomUUID();
    byte[] refusedBody = site(refusedId).encode().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    for (String authorization : List.of("", "Authorization: Bearer " + expired + "\r\n")) {
      ExpectContinue.Exchange refused = ExpectContinue.send(port, "POST /v1/reports HTTP/1.1\r\nHost: x\r\n"
          + authorization + "Content-Type: application/json\r\nContent-Length: " + refusedBody.length + "\r\n\r\n",
          refusedBody, java.time.Duration.ofSeconds(5));
      assertThat(refused.continued()).as(refused.answer()).isFalse();
      assertThat(refused.status()).as(refused.answer()).isEqualTo(401);
      assertThat(refused.answer()).contains("urn:frontline:problem:unauthorized");
      assertThat(refused.closed()).as("closed").isTrue();
    }
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?", refusedId)).isZero();

    UUID id = UUID.randomUUID();
    byte[] body = site(id).encode().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    ExpectContinue.Exchange ok = ExpectContinue.send(port, "POST /v1/reports HTTP/1.1\r\nHost: x\r\n"
        + "Authorization: Bearer " + token(env, "officer.xu") + "\r\nContent-Type: application/json\r\n"
        + "Content-Length: " + body.length + "\r\n\r\n", body, java.time.Duration.ofMillis(200));
    assertThat(ok.answer()).startsWith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 ");
    assertThat(ok.closed()).isFalse();
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ? AND status = 'COMPLETE'", id)).isEqualTo(1);

    // A good token, but a Content-Length past the body limit (1 MiB): 413, no 100.
    ExpectContinue.Exchange tooLarge = ExpectContinue.send(port, "POST /v1/reports HTTP/1.1\r\nHost: x\r\n"
        + "Authorization: Bearer " + token(env, "officer.xu") + "\r\nContent-Type: application/json\r\n"
        + "Content-Length: 2000000\r\n\r\n", new byte[0], java.time.Duration.ofSeconds(5));
    assertThat(tooLarge.continued()).as(tooLarge.answer()).isFalse();
    assertThat(tooLarge.status()).as(tooLarge.answer()).isEqualTo(413);
    assertThat(tooLarge.answer()).contains("urn:frontline:problem:payload-too-large");
    assertThat(tooLarge.closed()).as("closed").isTrue();
  }

  /**
   * A report sent with Transfer-Encoding "gzip, chunked" is a 501 problem and is not stored: it was read as plain
   * chunked, so an envelope that was not gzipped after all was stored (201).
   */
  @Test
  void aTransferCodingOtherThanChunkedIs501AndNothingIsStored(TestEnvironment env) throws Exception {
    int port = env.app().config().http().port();
    UUID id = UUID.randomUUID();
    byte[] body = site(id).encode().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    String answer;
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      // One write: the server answers from the head and closes; a second write after that would be a broken pipe.
      var request = new java.io.ByteArrayOutputStream();
      request.write(("POST /v1/reports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token(env, "officer.xu")
          + "\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
          + Integer.toHexString(body.length) + "\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      request.write(body);
      request.write("\r\n0\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      socket.getOutputStream().write(request.toByteArray());
      answer = new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    }
    assertThat(answer).as(answer).startsWith("HTTP/1.1 501 ").contains("urn:frontline:problem:not-implemented");
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?", id)).isZero();
  }

  /**
   * A body with Content-Encoding: gzip is a 415 naming the coding taken (Accept-Encoding: identity, RFC 9110
   * 15.5.16), and nothing is stored: the gzip bytes were read as the body (400, not JSON), and an envelope labelled
   * gzip but sent plain was stored (201).
   */
  @Test
  void aContentCodedBodyIs415AndNothingIsStored(TestEnvironment env) throws Exception {
    UUID gzipped = UUID.randomUUID();
    var bytes = new java.io.ByteArrayOutputStream();
    try (var gzip = new java.util.zip.GZIPOutputStream(bytes)) {
      gzip.write(site(gzipped).encode().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
    UUID plain = UUID.randomUUID();
    for (Buffer body : List.of(Buffer.buffer(bytes.toByteArray()), Buffer.buffer(site(plain).encode()))) {
      HttpResponse<Buffer> r = await(env.client().post("/v1/reports")
          .putHeader("Authorization", "Bearer " + token(env, "officer.xu"))
          .putHeader("Content-Type", "application/json").putHeader("Content-Encoding", "gzip").sendBuffer(body));
      assertProblem(r, 415, "urn:frontline:problem:unsupported-media-type");
      assertThat(r.getHeader("Accept-Encoding")).isEqualTo("identity");
    }
    assertThat(count(env, "SELECT count(*) FROM report WHERE id IN (?, ?)", gzipped, plain)).isZero();
  }

  @Test
  void aReportWithAttachmentsAwaitsMediaAndCompletesOnlyAfterTheLastIsStored(TestEnvironment env) throws Exception {
    UUID id = UUID.randomUUID();
    UUID a1 = UUID.randomUUID();
    UUID a2 = UUID.randomUUID();
    JsonObject env1 = withAttachments(site(id), attachment(a1, 1),
        attachment(a2, 2).put("filename", "../../etc/pa\u0007ss\u202Ewd\t.jpg"));
    HttpResponse<Buffer> r = post(env, "officer.xu", "/v1/reports", env1);
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(201);
    JsonObject body = r.bodyAsJsonObject();
    assertThat(body.getString("status")).isEqualTo("AWAITING_MEDIA");
    assertThat(body.getString("completedAt")).isNull();
    JsonArray atts = body.getJsonArray("attachments");
    assertThat(atts).hasSize(2);
    assertThat(atts.getJsonObject(0).getString("id")).isEqualTo(a1.toString());
    assertThat(atts.getJsonObject(0).getString("status")).isEqualTo("PENDING");
    assertThat(atts.getJsonObject(0).getJsonObject("upload").getString("url")).isEqualTo("/v1/uploads");
    assertThat(atts.getJsonObject(1).getString("filename")).isEqualTo("passwd.jpg");
    assertThat(string(env, "SELECT string_agg(id::text || ':' || ordinal || ':' || status, ',' ORDER BY ordinal) FROM attachment WHERE report_id = ?", id))
        .isEqualTo(a1 + ":0:PENDING," + a2 + ":1:PENDING");
    assertThat(count(env, "SELECT count(*) FROM outbox WHERE aggregate_id = ?", id)).isZero();

    AttachmentLedger ledger = new AttachmentLedger(env.app().database().pool());
    assertThat(await(ledger.markStored(a1, "objects/" + a1, "image/jpeg")).reportCompleted()).isFalse();
    assertThat(string(env, "SELECT status FROM report WHERE id = ?", id)).isEqualTo("AWAITING_MEDIA");
    assertThat(count(env, "SELECT count(*) FROM outbox WHERE aggregate_id = ?", id)).isZero();
    assertThat(await(ledger.markStored(a2, "objects/" + a2, "image/jpeg")).reportCompleted()).isTrue();
    assertThat(string(env, "SELECT status FROM report WHERE id = ?", id)).isEqualTo("COMPLETE");
    assertThat(count(env, "SELECT count(*) FROM outbox WHERE aggregate_id = ? AND event_type = 'report.completed'", id)).isEqualTo(1);
    // Storing again changes nothing.
    await(ledger.markStored(a2, "objects/" + a2, "image/jpeg"));
    assertThat(count(env, "SELECT count(*) FROM outbox WHERE aggregate_id = ?", id)).isEqualTo(1);
    JsonObject read = get(env, "officer.xu", "/v1/reports/" + id).bodyAsJsonObject();
    assertThat(read.getString("status")).isEqualTo("COMPLETE");
    assertThat(read.getJsonArray("attachments").getJsonObject(1).getString("status")).isEqualTo("STORED");
    assertThat(read.getJsonArray("attachments").getJsonObject(1).containsKey("upload")).isFalse();
  }

  @Test
  void filenamesLoseC1ControlsAndLineSeparatorsToo(TestEnvironment env) throws Exception {
    UUID id = UUID.randomUUID();
    // U+009B is the 8-bit CSI (a terminal escape), U+0085 NEL, U+2028/U+2029 line and paragraph separators.
    JsonObject envelope = withAttachments(site(id), attachment(UUID.randomUUID(), 1)
        .put("filename", "C:\\photos\\\u009B31mpa\u0085ss\u2028w\u2029d.jpg"));
    HttpResponse<Buffer> r = post(env, "officer.xu", "/v1/reports", envelope);
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(201);
    assertThat(r.bodyAsJsonObject().getJsonArray("attachments").getJsonObject(0).getString("filename"))
        .isEqualTo("31mpasswd.jpg");
  }

  @Test
  void theSameEnvelopeAgainAnswers200WithTheExactBytesOfThe201(TestEnvironment env) throws Exception {
    UUID id = UUID.randomUUID();
    JsonObject envelope = withAttachments(site(id), attachment(UUID.randomUUID(), 3));
    HttpResponse<Buffer> first = post(env, "officer.xu", "/v1/reports", envelope);
    assertThat(first.statusCode()).isEqualTo(201);
    // The same content with keys in another order is the same envelope.
    JsonObject reordered = new JsonObject();
    List<String> keys = new ArrayList<>(envelope.fieldNames());
    java.util.Collections.reverse(keys);
    keys.forEach(k -> reordered.put(k, envelope.getValue(k)));
    HttpResponse<Buffer> again = post(env, "officer.xu", "/v1/reports", reordered);
    assertThat(again.statusCode()).isEqualTo(200);
    assertThat(again.bodyAsString()).isEqualTo(first.bodyAsString());
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?", id)).isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'report.create' AND object_id = ?", id.toString())).isEqualTo(1);
  }

  @Test
  void theSameIdWithADifferentBodyIs409ListingTheDifferingFields(TestEnvironment env) throws Exception {
    UUID id = UUID.randomUUID();
    assertThat(post(env, "officer.xu", "/v1/reports", site(id)).statusCode()).isEqualTo(201);
    JsonObject changed = site(id).put("title", "Another title");
    changed.getJsonObject("location").put("lat", 32.5);
    JsonObject problem = assertProblem(post(env, "officer.xu", "/v1/reports", changed), 409, CONFLICT);
    assertThat(problem.getJsonArray("differences")).containsExactly("/location/lat", "/title");
    assertThat(string(env, "SELECT title FROM report WHERE id = ?", id)).isEqualTo("Bridge repair at Huaisi");
  }

  @Test
  void aSupervisorsOwnReportIsAnsweredAsItIsReadThen(TestEnvironment env) throws Exception {
    UUID id = UUID.randomUUID();
    HttpResponse<Buffer> created = post(env, "supervisor.hanjiang", "/v1/reports", site(id));
    assertThat(created.statusCode()).as(created.bodyAsString()).isEqualTo(201);
    assertThat(created.bodyAsJsonObject().getBoolean("flagged")).isFalse();
    HttpResponse<Buffer> read = get(env, "supervisor.hanjiang", "/v1/reports/" + id);
    // Its report-level checks (both passed) are listed once a worker has recorded them, and its evidenceChecks
    // (PENDING when answered) is DONE then: the rest reads the same.
    assertThat(created.bodyAsJsonObject().getString("evidenceChecks")).isEqualTo("PENDING");
    JsonObject readNow = read.bodyAsJsonObject();
    readNow.getJsonArray("evidence").forEach(c -> assertThat(((JsonObject) c).getString("outcome")).isEqualTo("PASSED"));
    if ("DONE".equals(readNow.getString("evidenceChecks"))) {
      assertThat(readNow.getJsonArray("evidence")).hasSize(2);
    } else {
      assertThat(readNow.getString("evidenceChecks")).isEqualTo("PENDING");
    }
    readNow.put("evidence", new JsonArray()).put("evidenceChecks", "PENDING");
    assertThat(readNow).isEqualTo(created.bodyAsJsonObject());
    assertThat(post(env, "supervisor.hanjiang", "/v1/reports", site(id)).bodyAsString())
        .isEqualTo(created.bodyAsString());
    // An officer's own: no flag either way (evidence is for readers).
    HttpResponse<Buffer> officers = post(env, "officer.xu", "/v1/reports", site(UUID.randomUUID()));
    assertThat(officers.bodyAsJsonObject().containsKey("flagged")).isFalse();
  }

  @Test
  void theSameNumbersWrittenOtherwiseAreTheSameEnvelope(TestEnvironment env) throws Exception {
    UUID id = UUID.randomUUID();
    JsonObject envelope = site(id);
    envelope.getJsonObject("location").put("accuracyM", 8);
    HttpResponse<Buffer> first = post(env, "officer.xu", "/v1/reports", envelope);
    assertThat(first.statusCode()).isEqualTo(201);
    String sent = envelope.encode();
    assertThat(sent).contains("\"accuracyM\":8,");
    for (String same : List.of(sent.replace("\"accuracyM\":8,", "\"accuracyM\":8.0,"),
        sent.replace("\"accuracyM\":8,", "\"accuracyM\":0.8e1,"))) {
      HttpResponse<Buffer> again = postText(env, "officer.xu", "/v1/reports", same);
      assertThat(again.statusCode()).as(same).isEqualTo(200);
      assertThat(again.bodyAsString()).isEqualTo(first.bodyAsString());
    }
    JsonObject problem = assertProblem(postText(env, "officer.xu", "/v1/reports",
        sent.replace("\"accuracyM\":8,", "\"accuracyM\":8.01,")), 409, CONFLICT);
    assertThat(problem.getJsonArray("differences")).containsExactly("/location/accuracyM");
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?", id)).isEqualTo(1);
  }

  /**
   * A phone offline long enough has no time zone from the network either: its queue's capture instant, written in UTC
   * when first sent, is written at +08:00 on a resend once the network gave it one. The same instant is the same
   * envelope, alone and in a batch (it was a 409 naming /capturedAt: the phone took its report for refused).
   */
  @Test
  void theSameCaptureInstantAtAnotherOffsetIsTheSameEnvelope(TestEnvironment env) throws Exception {
    UUID id = UUID.randomUUID();
    java.time.Instant captured = java.time.Instant.parse(CAPTURED_AT);
    HttpResponse<Buffer> first = post(env, "officer.xu", "/v1/reports", site(id));
    assertThat(first.statusCode()).isEqualTo(201);
    String local = captured.atOffset(java.time.ZoneOffset.ofHours(8)).toString();
    HttpResponse<Buffer> again = post(env, "officer.xu", "/v1/reports", site(id).put("capturedAt", local));
    assertThat(again.statusCode()).as(again.bodyAsString()).isEqualTo(200);
    assertThat(again.bodyAsString()).isEqualTo(first.bodyAsString());
    JsonArray results = post(env, "officer.xu", "/v1/reports/batch", new JsonObject().put("reports", new JsonArray()
        .add(site(id).put("capturedAt", local))
        .add(site(id).put("capturedAt", CAPTURED_AT.replace("Z", ".000000Z")))
        .add(site(id).put("capturedAt", captured.plusSeconds(1).atOffset(java.time.ZoneOffset.ofHours(8)).toString()))))
        .bodyAsJsonObject().getJsonArray("results");
    assertThat(status(results, 0)).isEqualTo("duplicate:200");
    assertThat(results.getJsonObject(0).getJsonObject("report")).isEqualTo(first.bodyAsJsonObject());
    assertThat(status(results, 1)).isEqualTo("duplicate:200");
    // Another instant is another report.
    assertThat(status(results, 2)).isEqualTo("conflict:409");
    assertThat(results.getJsonObject(2).getJsonObject("problem").getJsonArray("differences"))
        .containsExactly("/capturedAt");
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ? AND captured_at = ?::timestamptz", id,
        CAPTURED_AT)).isEqualTo(1);
    auditedAndAnnouncedOnce(env, id);
  }

  /**
   * A member the envelope may leave out (location.mock, attachments) written out as it is read, or left out where the
   * first wrote it, is the same report, stored and answered alike: a queue flushed by code that writes defaults
   * otherwise than the first send (another serialiser for the batch, an app update while offline) got a 409.
   */
  @Test
  void aDefaultWrittenOutOrLeftOutIsTheSameEnvelope(TestEnvironment env) throws Exception {
    UUID id = UUID.randomUUID();
    HttpResponse<Buffer> first = post(env, "officer.xu", "/v1/reports", site(id));
    assertThat(first.statusCode()).isEqualTo(201);
    JsonObject written = site(id).put("attachments", new JsonArray());
    JsonObject leftOut = site(id);
    leftOut.getJsonObject("location").remove("mock");
    for (JsonObject same : List.of(written, leftOut)) {
      HttpResponse<Buffer> again = post(env, "officer.xu", "/v1/reports", same);
      assertThat(again.statusCode()).as(again.bodyAsString()).isEqualTo(200);
      assertThat(again.bodyAsString()).isEqualTo(first.bodyAsString());
    }
    JsonObject mocked = site(id);
    mocked.getJsonObject("location").put("mock", true);
    JsonArray results = post(env, "officer.xu", "/v1/reports/batch", new JsonObject().put("reports", new JsonArray()
        .add(written).add(leftOut).add(mocked).add(withAttachments(site(id), attachment(UUID.randomUUID(), 9)))))
        .bodyAsJsonObject().getJsonArray("results");
    assertThat(status(results, 0)).isEqualTo("duplicate:200");
    assertThat(results.getJsonObject(0).getJsonObject("report")).isEqualTo(first.bodyAsJsonObject());
    assertThat(status(results, 1)).isEqualTo("duplicate:200");
    // Another value is another report.
    assertThat(status(results, 2)).isEqualTo("conflict:409");
    assertThat(results.getJsonObject(2).getJsonObject("problem").getJsonArray("differences"))
        .containsExactly("/location/mock");
    assertThat(status(results, 3)).isEqualTo("conflict:409");
    assertThat(results.getJsonObject(3).getJsonObject("problem").getJsonArray("differences"))
        .containsExactly("/attachments/0");
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ? AND NOT location_mock", id)).isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM attachment WHERE report_id = ?", id)).isZero();
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'report.create' AND object_id = ?",
        id.toString())).isEqualTo(1);
  }

  @Test
  void theSameIdFromAnotherAuthorIs409RevealingNothing(TestEnvironment env) throws Exception {
    UUID id = UUID.randomUUID();
    assertThat(post(env, "officer.xu", "/v1/reports", site(id)).statusCode()).isEqualTo(201);
    JsonObject theirs = site(id).put("unitId", TONGZHOU.toString()).put("title", "Mine");
    JsonObject problem = assertProblem(post(env, "officer.zhang", "/v1/reports", theirs), 409, CONFLICT);
    assertThat(problem.containsKey("differences")).isFalse();
    assertThat(problem.encode()).doesNotContain("Bridge").doesNotContain(account("officer.xu").toString());
    // Even the exact same body: the report is not theirs.
    assertProblem(post(env, "officer.zhang", "/v1/reports", site(id).put("unitId", TONGZHOU.toString())), 409, CONFLICT);
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?", id)).isEqualTo(1);
  }

  @Test
  void twentyConcurrentDuplicatesMakeOneReportOne201AndNineteenIdentical200s(TestEnvironment env) throws Exception {
    UUID id = UUID.randomUUID();
    JsonObject envelope = withAttachments(site(id), attachment(UUID.randomUUID(), 4));
    String token = token(env, "officer.xu");
    List<Future<HttpResponse<Buffer>>> calls = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      calls.add(env.client().post("/v1/reports").putHeader("Authorization", "Bearer " + token).sendJsonObject(envelope));
    }
    await(Future.join(calls));
    List<Integer> statuses = calls.stream().map(f -> f.result().statusCode()).toList();
    assertThat(statuses).filteredOn(s -> s == 201).hasSize(1);
    assertThat(statuses).filteredOn(s -> s == 200).hasSize(19);
    assertThat(calls.stream().map(f -> f.result().bodyAsString()).distinct()).hasSize(1);
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?", id)).isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM attachment WHERE report_id = ?", id)).isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'report.create' AND object_id = ?", id.toString())).isEqualTo(1);
  }

  @Test
  void anUnknownFieldIs400NamingIt(TestEnvironment env) {
    JsonObject problem = assertProblem(post(env, "officer.xu", "/v1/reports", site(UUID.randomUUID()).put("colour", "red")),
        400, VALIDATION);
    assertThat(fields(problem)).contains("body/colour");
  }

  /** A known field of the wrong type is named for its type alone, not also called unknown at its parent. */
  @Test
  void aKnownFieldOfTheWrongTypeIsNotCalledUnknown(TestEnvironment env) throws Exception {
    UUID id = UUID.randomUUID();
    JsonObject envelope = site(id);
    envelope.getJsonObject("location").putNull("mock");
    JsonObject problem = assertProblem(post(env, "officer.xu", "/v1/reports", envelope), 400, VALIDATION);
    assertThat(problem.getJsonArray("errors").encode()).doesNotContain("Unknown field");
    assertThat(fields(problem)).containsExactly("body/location/mock");
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?", id)).isZero();
  }

  @Test
  void anUnknownFieldInTheTypeSpecificBodyIs400NamingIt(TestEnvironment env) {
    JsonObject envelope = site(UUID.randomUUID());
    envelope.getJsonObject("body").put("milestoneId", UUID.randomUUID().toString());
    JsonObject problem = assertProblem(post(env, "officer.xu", "/v1/reports", envelope), 400, VALIDATION);
    assertThat(fields(problem)).contains("body/body/milestoneId");
  }

  @Test
  void aMilestoneReportNeedsItsMilestoneAndQuantity(TestEnvironment env) {
    JsonObject envelope = site(UUID.randomUUID()).put("type", "MILESTONE_PROGRESS")
        .put("body", new JsonObject().put("unit", "m"));
    JsonObject problem = assertProblem(post(env, "officer.xu", "/v1/reports", envelope), 400, VALIDATION);
    assertThat(fields(problem)).contains("body/body/milestoneId", "body/body/quantity");
    JsonObject ok = site(UUID.randomUUID()).put("type", "MILESTONE_PROGRESS").put("body", new JsonObject()
        .put("milestoneId", UUID.randomUUID().toString()).put("quantity", 12.5).put("unit", "m"));
    // Well-formed, but the milestone does not exist: 422 naming it (LinkedReportsTest has the linked cases).
    assertThat(fields(assertProblem(post(env, "officer.xu", "/v1/reports", ok), 422,
        "urn:frontline:problem:unprocessable"))).containsExactly("body/body/milestoneId");
    JsonObject service = site(UUID.randomUUID()).put("type", "ENTERPRISE_SERVICE").put("body", new JsonObject()
        .put("enterpriseId", UUID.randomUUID().toString()).put("serviceRequestId", UUID.randomUUID().toString())
        .put("actionsTaken", new JsonArray().add("Visited the plant")));
    assertThat(fields(assertProblem(post(env, "officer.xu", "/v1/reports", service), 422,
        "urn:frontline:problem:unprocessable"))).containsExactly("body/body/enterpriseId");
  }

  @Test
  void aNulCharacterIs400NamingTheField(TestEnvironment env) {
    JsonObject problem = assertProblem(post(env, "officer.xu", "/v1/reports", site(UUID.randomUUID()).put("title", "a\u0000b")),
        400, VALIDATION);
    assertThat(fields(problem)).containsExactly("body/title");
  }

  /**
   * The contract's title is not blank (\S), but its regex took an ideographic space (a Chinese keyboard's space), a
   * no-break or a zero-width space for a character: such titles were stored (201) and listed blank.
   */
  @Test
  void aTitleOfOnlyUnicodeSpacesIs400NamingItAloneAndInABatch(TestEnvironment env) throws Exception {
    List<UUID> refused = new ArrayList<>();
    for (String blank : List.of("\u3000\u3000", "\u200b", " \u00a0\u2003", "\ufeff\u0007")) {
      UUID id = UUID.randomUUID();
      refused.add(id);
      JsonObject problem = assertProblem(post(env, "officer.xu", "/v1/reports", site(id).put("title", blank)), 400,
          VALIDATION);
      assertThat(fields(problem)).as(blank).containsExactly("body/title");
      assertThat(problem.getJsonArray("errors").getJsonObject(0).getString("reason")).startsWith("Must not be blank");
    }
    UUID blankInBatch = UUID.randomUUID();
    UUID shown = UUID.randomUUID();
    refused.add(blankInBatch);
    JsonArray results = post(env, "officer.xu", "/v1/reports/batch", new JsonObject().put("reports", new JsonArray()
        .add(site(blankInBatch).put("title", "\u3000"))
        .add(site(shown).put("title", "\u3000\u6865\u3000"))))
        .bodyAsJsonObject().getJsonArray("results");
    assertThat(status(results, 0)).isEqualTo("invalid:400");
    assertThat(fields(results.getJsonObject(0).getJsonObject("problem"))).containsExactly("body/title");
    assertThat(status(results, 1)).isEqualTo("created:201");
    assertThat(string(env, "SELECT title FROM report WHERE id = ?", shown)).isEqualTo("\u3000\u6865\u3000");
    for (UUID id : refused) {
      assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?", id)).isZero();
      assertThat(count(env, "SELECT count(*) FROM audit_log WHERE object_id = ?", id.toString())).isZero();
    }
  }

  /**
   * A SITE report's observation of only spaces (U+3000, a zero-width space) is the schema's 400 naming it, alone and
   * as the one item of a batch; the report is not stored. Such an observation was stored and shown blank (201).
   */
  @Test
  void anObservationOfOnlyUnicodeSpacesIs400NamingItAloneAndInABatch(TestEnvironment env) throws Exception {
    UUID id = UUID.randomUUID();
    JsonObject blank = site(id).put("body", new JsonObject().put("observations",
        new JsonArray().add("Drainage cleared").add("\u3000\u200b")));
    JsonObject problem = assertProblem(post(env, "officer.xu", "/v1/reports", blank), 400, VALIDATION);
    assertThat(fields(problem)).containsExactly("body/body/observations/1");
    UUID inBatch = UUID.randomUUID();
    UUID shown = UUID.randomUUID();
    JsonArray results = post(env, "officer.xu", "/v1/reports/batch", new JsonObject().put("reports", new JsonArray()
        .add(blank.copy().put("id", inBatch.toString()))
        .add(site(shown).put("body", new JsonObject().put("observations", new JsonArray().add("Drainage cleared"))))))
        .bodyAsJsonObject().getJsonArray("results");
    assertThat(status(results, 0)).isEqualTo("invalid:400");
    assertThat(fields(results.getJsonObject(0).getJsonObject("problem"))).containsExactly("body/body/observations/1");
    assertThat(status(results, 1)).isEqualTo("created:201");
    assertThat(count(env, "SELECT count(*) FROM report WHERE id IN (?, ?)", id, inBatch)).isZero();
  }

  /**
   * A report stored under older rules (a title of only U+3000, as the server stored it before blank text was
   * refused) is a repeat when its author resends it, alone or in a batch: the phone never got its 201, and a 400
   * would make it drop a report that is stored. Another envelope under its id, or another author, keeps the 400.
   */
  @Test
  void aStoredReportThatTodaysRulesRefuseIsStillARepeatForItsAuthor(TestEnvironment env) throws Exception {
    JsonObject stored = site(UUID.randomUUID()).put("title", "\u3000\u3000");
    JsonObject storedInBatch = site(UUID.randomUUID()).put("title", "\u200b");
    String response = storedUnderOlderRules(env, stored);
    String responseInBatch = storedUnderOlderRules(env, storedInBatch);

    HttpResponse<Buffer> r = post(env, "officer.xu", "/v1/reports", stored);
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    assertThat(r.bodyAsString()).isEqualTo(response);
    JsonArray results = post(env, "officer.xu", "/v1/reports/batch", new JsonObject().put("reports", new JsonArray()
        .add(storedInBatch).add(storedInBatch.copy().put("title", "\u3000"))))
        .bodyAsJsonObject().getJsonArray("results");
    assertThat(status(results, 0)).isEqualTo("duplicate:200");
    assertThat(results.getJsonObject(0).getJsonObject("report")).isEqualTo(new JsonObject(responseInBatch));
    assertThat(status(results, 1)).isEqualTo("invalid:400");
    assertThat(fields(results.getJsonObject(1).getJsonObject("problem"))).containsExactly("body/title");

    // The same id with another body that is refused, or the same envelope from another author: the refusal.
    JsonObject problem = assertProblem(post(env, "officer.xu", "/v1/reports", stored.copy().put("title", "\u3000")),
        400, VALIDATION);
    assertThat(fields(problem)).containsExactly("body/title");
    problem = assertProblem(post(env, "supervisor.hanjiang", "/v1/reports", stored), 400, VALIDATION);
    assertThat(fields(problem)).containsExactly("body/title");
    results = post(env, "supervisor.hanjiang", "/v1/reports/batch", new JsonObject().put("reports",
        new JsonArray().add(storedInBatch))).bodyAsJsonObject().getJsonArray("results");
    assertThat(status(results, 0)).isEqualTo("invalid:400");

    for (JsonObject envelope : List.of(stored, storedInBatch)) {
      String id = envelope.getString("id");
      assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?", UUID.fromString(id))).isEqualTo(1);
      assertThat(string(env, "SELECT title FROM report WHERE id = ?", UUID.fromString(id)))
          .isEqualTo(envelope.getString("title"));
      assertThat(count(env, "SELECT count(*) FROM audit_log WHERE object_id = ?", id)).isZero();
      assertThat(count(env, "SELECT count(*) FROM outbox WHERE aggregate_id = ?", UUID.fromString(id))).isZero();
    }
  }

  /**
   * {@code envelope} stored by officer.xu as a server of older rules stored it (its row, the canonical request and
   * its SHA-256, a 201 body), with no audit entry or event; the 201 body.
   */
  private static String storedUnderOlderRules(TestEnvironment env, JsonObject envelope) throws Exception {
    UUID id = UUID.fromString(envelope.getString("id"));
    String request = CanonicalJson.encode(envelope);
    String response = new JsonObject().put("id", id.toString()).put("type", "SITE").put("unitId", HUAISI.toString())
        .put("authorId", account("officer.xu").toString()).put("status", "COMPLETE")
        .put("title", envelope.getString("title")).put("text", envelope.getString("text"))
        .put("capturedAt", CAPTURED_AT).put("receivedAt", CAPTURED_AT).put("completedAt", CAPTURED_AT)
        .put("location", envelope.getJsonObject("location")).put("body", envelope.getJsonObject("body"))
        .put("attachments", new JsonArray()).put("evidence", new JsonArray()).encode();
    try (Connection c = env.jdbc(); PreparedStatement ps = c.prepareStatement("""
        INSERT INTO report (id, author_id, unit_id, type, status, title, text, captured_at, received_at, completed_at,
                            lat, lon, accuracy_m, location_provider, location_mock, body, request, request_sha256,
                            response)
        VALUES (?, ?, ?, 'SITE', 'COMPLETE', ?, ?, ?::timestamptz, ?::timestamptz, ?::timestamptz, 32.45, 119.43, 8.5,
                'gps', false,
                ?::jsonb -> 'body', ?::jsonb, ?, ?)""")) {
      ps.setObject(1, id);
      ps.setObject(2, account("officer.xu"));
      ps.setObject(3, HUAISI);
      ps.setString(4, envelope.getString("title"));
      ps.setString(5, envelope.getString("text"));
      ps.setString(6, CAPTURED_AT);
      ps.setString(7, CAPTURED_AT);
      ps.setString(8, CAPTURED_AT);
      ps.setString(9, request);
      ps.setString(10, request);
      ps.setBytes(11, CanonicalJson.sha256(request));
      ps.setString(12, response);
      assertThat(ps.executeUpdate()).isEqualTo(1);
    }
    return response;
  }

  @Test
  void anUnpairedSurrogateIs400NamingTheFieldNotStoredAsAQuestionMark(TestEnvironment env) throws Exception {
    UUID id = UUID.randomUUID();
    String sent = withAttachments(site(id), attachment(UUID.randomUUID(), 6).put("filename", "IMG_1.jpg")).encode();
    for (String[] wrong : new String[][] {{"Bridge repair at Huaisi", "Bridge \\ud800 repair", "body/title"},
        {"IMG_1.jpg", "IMG\\udc00.jpg", "body/attachments/0/filename"},
        {"Scaffolding up", "Scaffolding \\ud83d", "body/body/observations/0"}}) {
      assertThat(sent).contains(wrong[0]);
      JsonObject problem = assertProblem(postText(env, "officer.xu", "/v1/reports", sent.replace(wrong[0], wrong[1])),
          400, VALIDATION);
      assertThat(fields(problem)).as(wrong[1]).containsExactly(wrong[2]);
      assertThat(problem.getJsonArray("errors").getJsonObject(0).getString("reason")).contains("unpaired surrogate");
    }
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?", id)).isZero();
    // A pair is a character like any other: stored and answered as sent.
    HttpResponse<Buffer> ok = postText(env, "officer.xu", "/v1/reports",
        sent.replace("Bridge repair at Huaisi", "Bridge \\ud83d\\ude92 repair"));
    assertThat(ok.statusCode()).as(ok.bodyAsString()).isEqualTo(201);
    assertThat(string(env, "SELECT title FROM report WHERE id = ?", id)).isEqualTo("Bridge \ud83d\ude92 repair");
  }

  @Test
  void aCaptureTimeWithoutAnRfc3339FormInUtcIs400(TestEnvironment env) throws Exception {
    UUID id = UUID.randomUUID();
    JsonObject problem = assertProblem(post(env, "officer.xu", "/v1/reports",
        site(id).put("capturedAt", "9999-12-31T23:59:59-14:00")), 400, VALIDATION);
    assertThat(fields(problem)).containsExactly("body/capturedAt");
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?", id)).isZero();
    HttpResponse<Buffer> last = post(env, "officer.xu", "/v1/reports",
        site(id).put("capturedAt", "9999-12-31T23:59:59+14:00"));
    assertThat(last.statusCode()).isEqualTo(201);
    assertThat(last.bodyAsJsonObject().getString("capturedAt")).isEqualTo("9999-12-31T09:59:59Z");
  }

  @Test
  void aCaptureTimeFinerThanAMicrosecondIsAnsweredAsStored(TestEnvironment env) throws Exception {
    UUID id = UUID.randomUUID();
    UUID inBatch = UUID.randomUUID();
    HttpResponse<Buffer> r = post(env, "officer.xu", "/v1/reports",
        site(id).put("capturedAt", "2026-11-20T08:30:00.123456789Z"));
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(201);
    // The database keeps microseconds: the 201 (and every repeat of it) says what a read says, not the digits cut.
    assertThat(r.bodyAsJsonObject().getString("capturedAt")).isEqualTo("2026-11-20T08:30:00.123456Z");
    assertThat(get(env, "officer.xu", "/v1/reports/" + id).bodyAsJsonObject().getString("capturedAt"))
        .isEqualTo("2026-11-20T08:30:00.123456Z");
    HttpResponse<Buffer> b = post(env, "officer.xu", "/v1/reports/batch", new JsonObject().put("reports",
        new JsonArray().add(site(inBatch).put("capturedAt", "2026-11-20T16:30:00.9999999+08:00"))));
    JsonObject created = b.bodyAsJsonObject().getJsonArray("results").getJsonObject(0);
    assertThat(created.getString("status")).isEqualTo("created");
    assertThat(created.getJsonObject("report").getString("capturedAt")).isEqualTo("2026-11-20T08:30:00.999999Z");
    assertThat(get(env, "officer.xu", "/v1/reports/" + inBatch).bodyAsJsonObject().getString("capturedAt"))
        .isEqualTo("2026-11-20T08:30:00.999999Z");
  }

  @Test
  void aBadSha256Is400(TestEnvironment env) {
    JsonObject envelope = withAttachments(site(UUID.randomUUID()), attachment(UUID.randomUUID(), 5).put("sha256", "XYZ"));
    JsonObject problem = assertProblem(post(env, "officer.xu", "/v1/reports", envelope), 400, VALIDATION);
    assertThat(fields(problem)).contains("body/attachments/0/sha256");
  }

  @Test
  void tooManyAttachmentsIs400(TestEnvironment env) {
    JsonObject[] many = new JsonObject[21];
    for (int i = 0; i < many.length; i++) {
      many[i] = attachment(UUID.randomUUID(), i);
    }
    JsonObject problem = assertProblem(post(env, "officer.xu", "/v1/reports", withAttachments(site(UUID.randomUUID()), many)),
        400, VALIDATION);
    assertThat(fields(problem)).contains("body/attachments");
  }

  @Test
  void anOversizedOrWronglyTypedAttachmentIs400(TestEnvironment env) {
    JsonObject big = withAttachments(site(UUID.randomUUID()), attachment(UUID.randomUUID(), 6).put("size", 52428801));
    assertThat(fields(assertProblem(post(env, "officer.xu", "/v1/reports", big), 400, VALIDATION)))
        .contains("body/attachments/0/size");
    JsonObject svg = withAttachments(site(UUID.randomUUID()), attachment(UUID.randomUUID(), 6).put("contentType", "image/svg+xml"));
    assertThat(fields(assertProblem(post(env, "officer.xu", "/v1/reports", svg), 400, VALIDATION)))
        .contains("body/attachments/0/contentType");
  }

  @Test
  void duplicateAttachmentIdsAre422(TestEnvironment env) throws Exception {
    UUID a = UUID.randomUUID();
    UUID id = UUID.randomUUID();
    JsonObject problem = assertProblem(post(env, "officer.xu", "/v1/reports",
        withAttachments(site(id), attachment(a, 1), attachment(a, 2))), 422, UNPROCESSABLE);
    assertThat(fields(problem)).containsExactly("body/attachments/1/id");
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?", id)).isZero();
  }

  @Test
  void anAttachmentIdOfAnotherReportIs409AndNothingIsStored(TestEnvironment env) throws Exception {
    UUID a = UUID.randomUUID();
    assertThat(post(env, "officer.xu", "/v1/reports", withAttachments(site(UUID.randomUUID()), attachment(a, 1))).statusCode())
        .isEqualTo(201);
    UUID id = UUID.randomUUID();
    assertProblem(post(env, "officer.xu", "/v1/reports", withAttachments(site(id), attachment(a, 1))), 409, CONFLICT);
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?", id)).isZero();
  }

  @Test
  void aUnitOutsideTheAuthorsScopeIs422NamingUnitId(TestEnvironment env) throws Exception {
    UUID id = UUID.randomUUID();
    JsonObject problem = assertProblem(post(env, "officer.xu", "/v1/reports", site(id).put("unitId", TONGZHOU.toString())),
        422, UNPROCESSABLE);
    assertThat(fields(problem)).containsExactly("body/unitId");
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?", id)).isZero();
  }

  @Test
  void anAssessorMayNotSubmit(TestEnvironment env) {
    assertProblem(post(env, "assessor.tongzhou", "/v1/reports", site(UUID.randomUUID())), 403,
        "urn:frontline:problem:forbidden");
  }

  @Test
  void aBatchAnswersPerItemAndOneBadItemSinksNothing(TestEnvironment env) throws Exception {
    UUID existing = UUID.randomUUID();
    assertThat(post(env, "officer.xu", "/v1/reports", site(existing)).statusCode()).isEqualTo(201);
    UUID fresh = UUID.randomUUID();
    UUID invalid = UUID.randomUUID();
    UUID outOfScope = UUID.randomUUID();
    JsonArray items = new JsonArray()
        .add(site(fresh))
        .add(site(existing))
        .add(site(existing).put("title", "Changed"))
        .add(site(invalid).put("colour", "red"))
        .add(site(outOfScope).put("unitId", TONGZHOU.toString()))
        .add("not an object");
    HttpResponse<Buffer> r = post(env, "officer.xu", "/v1/reports/batch", new JsonObject().put("reports", items));
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    JsonArray results = r.bodyAsJsonObject().getJsonArray("results");
    assertThat(results).hasSize(6);
    assertThat(status(results, 0)).isEqualTo("created:201");
    assertThat(results.getJsonObject(0).getJsonObject("report").getString("id")).isEqualTo(fresh.toString());
    assertThat(status(results, 1)).isEqualTo("duplicate:200");
    assertThat(status(results, 2)).isEqualTo("conflict:409");
    assertThat(results.getJsonObject(2).getJsonObject("problem").getJsonArray("differences")).containsExactly("/title");
    assertThat(status(results, 3)).isEqualTo("invalid:400");
    // The same field errors as the single endpoint gives.
    JsonObject single = assertProblem(post(env, "officer.xu", "/v1/reports", site(invalid).put("colour", "red")), 400, VALIDATION);
    assertThat(results.getJsonObject(3).getJsonObject("problem").getJsonArray("errors")).isEqualTo(single.getJsonArray("errors"));
    assertThat(status(results, 4)).isEqualTo("invalid:422");
    assertThat(results.getJsonObject(4).getJsonObject("problem").getString("type")).isEqualTo(UNPROCESSABLE);
    assertThat(status(results, 5)).isEqualTo("invalid:400");
    assertThat(count(env, "SELECT count(*) FROM report WHERE id IN (?, ?, ?)", fresh, invalid, outOfScope)).isEqualTo(1);
  }

  @Test
  void aNullItemBeforeALinkedOneIsAnInvalidItemNotA500(TestEnvironment env) throws Exception {
    // The items before an item with links were copied with List.copyOf, which throws on null: the whole offline
    // queue flush was a 500, every time the phone sent it again, and none of its items was stored.
    UUID before = UUID.randomUUID();
    UUID after = UUID.randomUUID();
    UUID linked = UUID.randomUUID();
    String batch = "{\"reports\":[" + site(before).encode() + ",null," + site(linked).put("type", "MILESTONE_PROGRESS")
        .put("body", new JsonObject().put("milestoneId", UUID.randomUUID().toString()).put("quantity", 1)).encode()
        + "," + site(after).encode() + "]}";
    HttpResponse<Buffer> r = postText(env, "officer.xu", "/v1/reports/batch", batch);
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    JsonArray results = r.bodyAsJsonObject().getJsonArray("results");
    assertThat(results).hasSize(4);
    assertThat(status(results, 0)).isEqualTo("created:201");
    assertThat(status(results, 1)).isEqualTo("invalid:400");
    assertThat(results.getJsonObject(1).getValue("id")).isNull();
    assertThat(results.getJsonObject(1).getJsonObject("problem").getString("type")).isEqualTo(VALIDATION);
    assertThat(status(results, 2)).isEqualTo("invalid:422");
    assertThat(results.getJsonObject(2).getJsonObject("problem").getJsonArray("errors").getJsonObject(0)
        .getString("field")).isEqualTo("body/body/milestoneId");
    assertThat(status(results, 3)).isEqualTo("created:201");
    assertThat(count(env, "SELECT count(*) FROM report WHERE id IN (?, ?)", before, after)).isEqualTo(2);
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?", linked)).isZero();
  }

  @Test
  void aBatchItemRefusedBeforeAnotherOfTheSameIdLeavesTheIdToIt(TestEnvironment env) throws Exception {
    UUID id = UUID.randomUUID();
    JsonArray items = new JsonArray()
        .add(site(id).put("unitId", TONGZHOU.toString()))   // refused: a unit outside officer.xu's scope
        .add(site(id))                                      // then the same id, proper: created
        .add(site(id))                                      // and again: a repeat of it
        .add(site(id).put("title", "Other"));               // otherwise: a conflict with it
    HttpResponse<Buffer> r = post(env, "officer.xu", "/v1/reports/batch", new JsonObject().put("reports", items));
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    JsonArray results = r.bodyAsJsonObject().getJsonArray("results");
    assertThat(status(results, 0)).isEqualTo("invalid:422");
    assertThat(status(results, 1)).isEqualTo("created:201");
    assertThat(status(results, 2)).isEqualTo("duplicate:200");
    assertThat(results.getJsonObject(2).getJsonObject("report")).isEqualTo(results.getJsonObject(1).getJsonObject("report"));
    assertThat(status(results, 3)).isEqualTo("conflict:409");
    assertThat(results.getJsonObject(3).getJsonObject("problem").getJsonArray("differences")).containsExactly("/title");
    assertThat(string(env, "SELECT unit_id::text || ' ' || title FROM report WHERE id = ?", id))
        .isEqualTo(site(id).getString("unitId") + " Bridge repair at Huaisi");
    auditedAndAnnouncedOnce(env, id);
  }

  @Test
  void aRepeatAfterTheUnitLeftTheAuthorsScopeStillAnswersTheStoredReport(TestEnvironment env) throws Exception {
    // A unit below Huaisi, retired after the reports are stored (the phone never got the first answers).
    UUID unit = UUID.randomUUID();
    try (Connection c = env.jdbc(); PreparedStatement ps = c.prepareStatement("INSERT INTO org_unit (id, parent_id,"
        + " name, kind, path) SELECT ?, id, 'Depot " + unit + "', 'BUREAU', path || ?::text || '/' FROM org_unit WHERE id = ?")) {
      ps.setObject(1, unit);
      ps.setObject(2, unit.toString());
      ps.setObject(3, HUAISI);
      assertThat(ps.executeUpdate()).isEqualTo(1);
    }
    JsonObject alone = site(UUID.randomUUID()).put("unitId", unit.toString());
    JsonObject batched = site(UUID.randomUUID()).put("unitId", unit.toString());
    HttpResponse<Buffer> first = post(env, "officer.xu", "/v1/reports", alone);
    assertThat(first.statusCode()).as(first.bodyAsString()).isEqualTo(201);
    HttpResponse<Buffer> firstBatch = post(env, "officer.xu", "/v1/reports/batch",
        new JsonObject().put("reports", new JsonArray().add(batched)));
    assertThat(status(firstBatch.bodyAsJsonObject().getJsonArray("results"), 0)).isEqualTo("created:201");
    try (Connection c = env.jdbc(); PreparedStatement ps = c.prepareStatement(
        "UPDATE org_unit SET retired_at = now() WHERE id = ?")) {
      ps.setObject(1, unit);
      assertThat(ps.executeUpdate()).isEqualTo(1);
    }

    HttpResponse<Buffer> again = post(env, "officer.xu", "/v1/reports", alone);
    assertThat(again.statusCode()).as(again.bodyAsString()).isEqualTo(200);
    assertThat(again.bodyAsString()).isEqualTo(first.bodyAsString());
    UUID fresh = UUID.randomUUID();
    HttpResponse<Buffer> r = post(env, "officer.xu", "/v1/reports/batch", new JsonObject().put("reports", new JsonArray()
        .add(batched)
        .add(alone.copy().put("title", "Changed"))
        .add(site(fresh).put("unitId", unit.toString()))
        .add(alone)));
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    JsonArray results = r.bodyAsJsonObject().getJsonArray("results");
    assertThat(status(results, 0)).isEqualTo("duplicate:200");
    assertThat(results.getJsonObject(0).getJsonObject("report"))
        .isEqualTo(firstBatch.bodyAsJsonObject().getJsonArray("results").getJsonObject(0).getJsonObject("report"));
    assertThat(status(results, 1)).isEqualTo("conflict:409");
    assertThat(results.getJsonObject(1).getJsonObject("problem").getJsonArray("differences")).containsExactly("/title");
    assertThat(status(results, 2)).isEqualTo("invalid:422");
    assertThat(status(results, 3)).isEqualTo("duplicate:200");
    assertThat(results.getJsonObject(3).getJsonObject("report")).isEqualTo(first.bodyAsJsonObject());
    // Another author's id in a unit outside their scope: the 422, saying nothing of the report.
    assertProblem(post(env, "officer.zhang", "/v1/reports", alone), 422, UNPROCESSABLE);
    assertThat(count(env, "SELECT count(*) FROM report WHERE unit_id = ?", unit)).isEqualTo(2);
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'report.create' AND unit_id = ?", unit))
        .isEqualTo(2);
  }

  @Test
  void aBatchOfExactly50IsAnsweredItemByItemAndOfMoreIsRefusedWhole(TestEnvironment env) throws Exception {
    List<String> ids = new ArrayList<>();
    JsonArray items = sites(50, ids);
    HttpResponse<Buffer> r = post(env, "officer.xu", "/v1/reports/batch", new JsonObject().put("reports", items));
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    JsonArray results = r.bodyAsJsonObject().getJsonArray("results");
    assertThat(results).hasSize(50);
    for (int i = 0; i < 50; i++) {
      assertThat(status(results, i)).isEqualTo("created:201");
      assertThat(results.getJsonObject(i).getString("id")).isEqualTo(ids.get(i));
    }
    assertThat(count(env, "SELECT count(*) FROM report WHERE id::text = ANY (?)", (Object) ids.toArray(String[]::new)))
        .isEqualTo(50);

    List<String> overIds = new ArrayList<>();
    JsonArray over = sites(51, overIds);
    JsonObject problem = assertProblem(post(env, "officer.xu", "/v1/reports/batch", new JsonObject().put("reports", over)),
        400, VALIDATION);
    assertThat(fields(problem)).contains("body/reports");
    assertThat(count(env, "SELECT count(*) FROM report WHERE id::text = ANY (?)", (Object) overIds.toArray(String[]::new)))
        .isZero();
  }

  @Test
  void aBatchOverTheBodyLimitIs413AndStoresNothingThoughUnder50Items(TestEnvironment env) throws Exception {
    // 30 envelopes of 2,000 characters of Chinese text (3 bytes each in UTF-8): about 180 KB, over the tests' JSON
    // body limit (64 KiB, TestEnvironment; 1 MiB by default) though the count is within 50.
    List<String> ids = new ArrayList<>();
    JsonArray items = sites(30, ids);
    items.forEach(item -> ((JsonObject) item).put("text", "\u5de5".repeat(2_000)));

    JsonObject problem = assertProblem(post(env, "officer.xu", "/v1/reports/batch",
        new JsonObject().put("reports", items)), 413, "urn:frontline:problem:payload-too-large");

    assertThat(problem.getString("detail")).isNotBlank();
    assertThat(count(env, "SELECT count(*) FROM report WHERE id::text = ANY (?)", (Object) ids.toArray(String[]::new)))
        .isZero();
    // Cut by size, the same queue goes through.
    HttpResponse<Buffer> half = post(env, "officer.xu", "/v1/reports/batch",
        new JsonObject().put("reports", new JsonArray(items.getList().subList(0, 5))));
    assertThat(half.statusCode()).as(half.bodyAsString()).isEqualTo(200);
    assertThat(count(env, "SELECT count(*) FROM report WHERE id::text = ANY (?)", (Object) ids.toArray(String[]::new)))
        .isEqualTo(5);
  }

  /** {@code n} SITE envelopes of fresh ids, their ids added to {@code ids} in order. */
  private static JsonArray sites(int n, List<String> ids) {
    JsonArray items = new JsonArray();
    for (int i = 0; i < n; i++) {
      UUID id = UUID.randomUUID();
      ids.add(id.toString());
      items.add(site(id));
    }
    return items;
  }

  /**
   * The report {@code id} has one report.create audit entry and one report.completed event, whatever was sent. The
   * entry names its author, unit, status and the SHA-256 of the envelope stored. (Not the report's xmin: the report
   * checks worker may have written the row since.)
   */
  private static void auditedAndAnnouncedOnce(TestEnvironment env, UUID id) throws java.sql.SQLException {
    assertThat(count(env, "SELECT count(*) FROM audit_log WHERE action = 'report.create' AND object_id = ?",
        id.toString())).isEqualTo(1);
    assertThat(count(env, """
        SELECT count(*) FROM audit_log l JOIN report r ON r.id::text = l.object_id
        WHERE l.action = 'report.create' AND l.object_id = ? AND l.actor_id = r.author_id AND l.unit_id = r.unit_id
          AND l.outcome = 'SUCCESS' AND l.details->>'status' = r.status
          AND l.details->>'requestSha256' = encode(r.request_sha256, 'hex')""", id.toString())).isEqualTo(1);
    assertThat(count(env, "SELECT count(*) FROM outbox WHERE event_type = 'report.completed' AND aggregate_id = ?",
        id)).isEqualTo(1);
  }

  private static String status(JsonArray results, int i) {
    JsonObject r = results.getJsonObject(i);
    return r.getString("status") + ":" + r.getInteger("httpStatus");
  }

  static List<String> fields(JsonObject problem) {
    JsonArray errors = problem.getJsonArray("errors", new JsonArray());
    return errors.stream().map(e -> ((JsonObject) e).getString("field")).toList();
  }
}
