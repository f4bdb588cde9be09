package org.frontline.partners;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.media.TestImages;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.StoreHttp;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.partners.Partners.call;
import static org.frontline.partners.Partners.ok;
import static org.frontline.partners.Partners.partnerToken;
import static org.frontline.partners.Partners.report;
import static org.frontline.partners.Partners.secretClient;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.testing.TestEnvironment.await;

/** Partner reads of reports and photo links: only within the grant; others 404; without reports:read 403. */
@FrontlineTest
class PartnerReportsTest {
  private static final String NOT_FOUND = "urn:frontline:problem:not-found";
  private static final String FORBIDDEN = "urn:frontline:problem:forbidden";

  static String attachmentOf(TestEnvironment env, UUID report) {
    return env.string("SELECT id::text FROM attachment WHERE report_id = ?::uuid", report.toString());
  }

  static HttpResponse<Buffer> get(TestEnvironment env, String token, String path) {
    return await(env.client().get(path).followRedirects(false).putHeader("Authorization", "Bearer " + token).send());
  }

  @Test
  void aPartnerGrantedTongzhouSeesNoHanjiangReportOrPhoto(TestEnvironment env) {
    String token = partnerToken(env, secretClient(env, List.of("reports:read"), List.of(TONGZHOU), List.of("SITE")));
    UUID tongzhou = report(env, "officer.zhang", TONGZHOU, true);
    UUID hanjiang = report(env, "officer.xu", HUAISI, true);
    String tongzhouPhoto = attachmentOf(env, tongzhou);
    String hanjiangPhoto = attachmentOf(env, hanjiang);

    JsonObject page = ok(get(env, token, "/v1/partner/reports"), 200);
    JsonArray items = page.getJsonArray("items");
    // Newest first (other tests of the class add Tongzhou reports too): never one outside the grant.
    assertThat(items.getJsonObject(0).getString("id")).isEqualTo(tongzhou.toString());
    assertThat(items.stream().map(i -> ((JsonObject) i).getString("unitId") + "/" + ((JsonObject) i).getString("type")))
        .containsOnly(TONGZHOU + "/SITE");
    assertThat(items.stream().map(i -> ((JsonObject) i).getString("id"))).doesNotContain(hanjiang.toString());
    JsonObject one = ok(get(env, token, "/v1/partner/reports/" + tongzhou), 200);
    assertThat(one).isEqualTo(items.getJsonObject(0));
    assertThat(one.getString("unitId")).isEqualTo(TONGZHOU.toString());
    assertThat(one.containsKey("authorId")).isFalse();
    assertThat(one.containsKey("evidence")).isFalse();
    assertThat(one.getJsonArray("attachments").getJsonObject(0).getString("content"))
        .isEqualTo("/v1/partner/attachments/" + tongzhouPhoto + "/content");

    assertProblem(get(env, token, "/v1/partner/reports/" + hanjiang), 404, NOT_FOUND);
    assertProblem(get(env, token, "/v1/partner/reports/" + UUID.randomUUID()), 404, NOT_FOUND);
    assertProblem(get(env, token, "/v1/partner/attachments/" + hanjiangPhoto + "/content"), 404, NOT_FOUND);

    // The photo's copy: 409 until made, then a short-lived link (the original is never served to partners).
    assertProblem(get(env, token, "/v1/partner/attachments/" + tongzhouPhoto + "/content"), 409,
        "urn:frontline:problem:conflict");
    try (var c = env.jdbc(); var st = c.prepareStatement("UPDATE attachment SET display_key = 'derived/' || id || "
        + "'/display.jpg', thumb_key = 'derived/' || id || '/thumb.jpg' WHERE id IN (?::uuid, ?::uuid)")) {
      st.setString(1, tongzhouPhoto);
      st.setString(2, hanjiangPhoto);
      st.executeUpdate();
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
    HttpResponse<Buffer> link = get(env, token, "/v1/partner/attachments/" + tongzhouPhoto + "/content?variant=thumb");
    assertThat(link.statusCode()).as(link.bodyAsString()).isEqualTo(303);
    assertThat(link.getHeader("Location")).contains("derived/" + tongzhouPhoto + "/thumb.jpg").contains("X-Amz-Expires=300");
    assertProblem(get(env, token, "/v1/partner/attachments/" + hanjiangPhoto + "/content"), 404, NOT_FOUND);
    assertProblem(get(env, token, "/v1/partner/attachments/" + tongzhouPhoto + "/content?variant=original"), 400,
        "urn:frontline:problem:validation-failed");

    // Nor the people's endpoints.
    assertProblem(get(env, token, "/v1/reports/" + tongzhou), 403, FORBIDDEN);
  }

  /** tus is a people's endpoint like the others: a valid partner token is 403 there (not 401), and changes nothing. */
  @Test
  void aPartnerTokenGets403OnTheTusRoutes(TestEnvironment env) {
    JsonObject client = secretClient(env, List.of("reports:read"), List.of(HUAISI), List.of("SITE"));
    String token = partnerToken(env, client);
    UUID report = report(env, "officer.xu", HUAISI, true);
    String attachment = attachmentOf(env, report);
    Base64.Encoder b64 = Base64.getEncoder();
    String metadata = "reportId " + b64.encodeToString(report.toString().getBytes(StandardCharsets.UTF_8))
        + ",attachmentId " + b64.encodeToString(attachment.getBytes(StandardCharsets.UTF_8));
    // The author's own upload of that attachment, which the partner then tries to read, write and end.
    HttpResponse<Buffer> created = await(env.client().post("/v1/uploads").putHeader("Tus-Resumable", "1.0.0")
        .putHeader("Authorization", "Bearer " + Partners.login(env, "officer.xu")).putHeader("Upload-Length", "1007")
        .putHeader("Upload-Metadata", metadata).send());
    assertThat(created.statusCode()).as(created.bodyAsString()).isEqualTo(201);
    String location = created.getHeader("Location");

    HttpResponse<Buffer> create = await(env.client().post("/v1/uploads").putHeader("Tus-Resumable", "1.0.0")
        .putHeader("Authorization", "Bearer " + token).putHeader("Upload-Length", "1007")
        .putHeader("Upload-Metadata", metadata).send());
    assertProblem(create, 403, FORBIDDEN);
    assertThat(create.getHeader("Tus-Resumable")).isEqualTo("1.0.0");
    HttpResponse<Buffer> head = await(env.client().head(location).putHeader("Tus-Resumable", "1.0.0")
        .putHeader("Authorization", "Bearer " + token).send());
    assertThat(head.statusCode()).isEqualTo(403); // HEAD: the problem's headers, no body
    assertThat(head.getHeader("Content-Type")).isEqualTo("application/problem+json");
    assertProblem(await(env.client().patch(location).putHeader("Tus-Resumable", "1.0.0")
        .putHeader("Authorization", "Bearer " + token).putHeader("Upload-Offset", "0")
        .putHeader("Content-Type", "application/offset+octet-stream").sendBuffer(Buffer.buffer(new byte[100]))),
        403, FORBIDDEN);
    assertProblem(await(env.client().delete(location).putHeader("Tus-Resumable", "1.0.0")
        .putHeader("Authorization", "Bearer " + token).send()), 403, FORBIDDEN);

    // Refused before any upload work, each on record; the author's upload is untouched.
    assertThat(env.count("SELECT count(*) FROM upload WHERE attachment_id = ?::uuid", attachment)).isEqualTo(1);
    assertThat(env.string("SELECT status || ' ' || \"offset\" FROM upload WHERE attachment_id = ?::uuid",
        attachment)).isEqualTo("ACTIVE 0");
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'access.denied' AND actor_id = ?::uuid"
        + " AND object_id = 'tus /v1/uploads'", client.getString("id"))).isEqualTo(4);
  }

  @Test
  void theGrantsReportTypesLimitReads(TestEnvironment env) {
    String token = partnerToken(env, secretClient(env, List.of("reports:read"), List.of(TONGZHOU),
        List.of("ENTERPRISE_SERVICE")));
    UUID site = report(env, "officer.zhang", TONGZHOU);
    assertProblem(get(env, token, "/v1/partner/reports/" + site), 404, NOT_FOUND);
    assertThat(ok(get(env, token, "/v1/partner/reports"), 200).getJsonArray("items")).isEmpty();
  }

  @Test
  void aMilestoneReportsQuantityIsReadAsTheExactDecimalStored(TestEnvironment env) {
    // Read through a double, 12345678901234.567 was answered as 1.2345678901234568E13 (.568).
    String token = partnerToken(env, secretClient(env, List.of("reports:read"), List.of(TONGZHOU),
        List.of("MILESTONE_PROGRESS")));
    String supervisor = Partners.login(env, "supervisor.tongzhou");
    JsonObject project = ok(call(env, supervisor, HttpMethod.POST, "/v1/projects", new JsonObject()
        .put("unitId", TONGZHOU.toString()).put("name", "Jianghai Avenue").put("investmentYuan", 1000)
        .put("site", new JsonObject().put("lat", 32.06).put("lon", 121.07).put("radiusM", 2500))
        .put("status", "IN_PROGRESS")), 201);
    String milestone = ok(call(env, supervisor, HttpMethod.POST, "/v1/projects/" + project.getString("id")
        + "/milestones", new JsonObject().put("name", "Utility lines").put("plannedQuantity", 10).put("unit", "lines")
        .put("plannedStart", "2026-11-01").put("plannedDue", "2027-03-01")), 201).getString("id");
    UUID id = UUID.randomUUID();
    String envelope = new JsonObject().put("id", id.toString()).put("type", "MILESTONE_PROGRESS")
        .put("unitId", TONGZHOU.toString()).put("capturedAt", "2026-11-20T08:30:00Z")
        .put("location", new JsonObject().put("lat", 32.06).put("lon", 121.07)).put("title", "Lines laid")
        .put("body", new JsonObject().put("milestoneId", milestone).put("quantity", 7)).encode()
        .replace("\"quantity\":7", "\"quantity\":12345678901234.567");
    HttpResponse<Buffer> created = await(env.client().post("/v1/reports")
        .putHeader("Authorization", "Bearer " + Partners.login(env, "officer.zhang"))
        .putHeader("Content-Type", "application/json").sendBuffer(Buffer.buffer(envelope)));
    assertThat(created.statusCode()).as(created.bodyAsString()).isEqualTo(201);
    assertThat(get(env, token, "/v1/partner/reports/" + id).bodyAsString())
        .contains("\"quantity\":12345678901234.567");
    assertThat(get(env, token, "/v1/partner/reports").bodyAsString()).contains("\"quantity\":12345678901234.567");
  }

  /** The phone's declared type is its claim; once stored, partners are told the type the bytes turned out to be. */
  @Test
  void aStoredPhotoIsListedWithTheTypeSniffedFromItsBytesNotTheDeclaredOne(TestEnvironment env) throws Exception {
    String token = partnerToken(env, secretClient(env, List.of("reports:read"), List.of(TONGZHOU), List.of("SITE")));
    // HEIC bytes (major brand heic: sniffed image/heic) declared as image/heif, the same family: accepted.
    byte[] photo = TestImages.heif("heic", new String[] {"mif1", "heic"}, 640, 480);
    UUID report = UUID.randomUUID();
    UUID attachment = UUID.randomUUID();
    String officer = Partners.login(env, "officer.zhang");
    ok(call(env, officer, HttpMethod.POST, "/v1/reports", new JsonObject().put("id", report.toString())
        .put("type", "SITE").put("unitId", TONGZHOU.toString())
        .put("capturedAt", Instant.now().minusSeconds(3600).truncatedTo(ChronoUnit.SECONDS).toString())
        .put("location", new JsonObject().put("lat", 32.0).put("lon", 121.0).put("accuracyM", 8.5)
            .put("provider", "gps").put("mock", false))
        .put("title", "Site visit").put("body", new JsonObject())
        .put("attachments", new JsonArray().add(new JsonObject().put("id", attachment.toString())
            .put("sha256", HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(photo)))
            .put("size", photo.length).put("contentType", "image/heif").put("filename", "IMG_1.heic")))), 201);
    assertThat(partnerAttachment(env, token, report).getString("contentType")).isEqualTo("image/heif");

    String url = ok(call(env, officer, HttpMethod.POST, "/v1/attachments/" + attachment + "/upload-url", null), 200)
        .getString("url");
    assertThat(StoreHttp.put(url, photo).statusCode()).isEqualTo(200);
    ok(call(env, officer, HttpMethod.POST, "/v1/attachments/" + attachment + "/complete", null), 200);

    assertThat(env.string("SELECT declared_content_type || ' ' || content_type FROM attachment WHERE id = ?::uuid",
        attachment.toString())).isEqualTo("image/heif image/heic");
    JsonObject listed = partnerAttachment(env, token, report);
    assertThat(listed.getString("status")).isEqualTo("STORED");
    assertThat(listed.getString("contentType")).isEqualTo("image/heic");
    // The list answers the same representation.
    JsonObject inList = ok(get(env, token, "/v1/partner/reports?limit=200"), 200).getJsonArray("items").stream()
        .map(i -> (JsonObject) i).filter(i -> report.toString().equals(i.getString("id"))).findFirst().orElseThrow();
    assertThat(inList.getJsonArray("attachments").getJsonObject(0)).isEqualTo(listed);
  }

  private static JsonObject partnerAttachment(TestEnvironment env, String token, UUID report) {
    return ok(get(env, token, "/v1/partner/reports/" + report), 200).getJsonArray("attachments").getJsonObject(0);
  }

  @Test
  void aPartnerWithoutReportsReadGets403(TestEnvironment env) {
    String token = partnerToken(env, secretClient(env, List.of("events:read"), List.of(TONGZHOU), List.of("SITE")));
    UUID tongzhou = report(env, "officer.zhang", TONGZHOU, true);
    for (String path : List.of("/v1/partner/reports", "/v1/partner/reports/" + tongzhou,
        "/v1/partner/attachments/" + attachmentOf(env, tongzhou) + "/content")) {
      assertProblem(get(env, token, path), 403, FORBIDDEN);
    }
    // People never pass the partner rules.
    assertProblem(call(env, Partners.login(env, "admin"), HttpMethod.GET, "/v1/partner/reports", null), 403, FORBIDDEN);
  }
}
