package org.frontline.partners;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

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

  @Test
  void theGrantsReportTypesLimitReads(TestEnvironment env) {
    String token = partnerToken(env, secretClient(env, List.of("reports:read"), List.of(TONGZHOU),
        List.of("ENTERPRISE_SERVICE")));
    UUID site = report(env, "officer.zhang", TONGZHOU);
    assertProblem(get(env, token, "/v1/partner/reports/" + site), 404, NOT_FOUND);
    assertThat(ok(get(env, token, "/v1/partner/reports"), 200).getJsonArray("items")).isEmpty();
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
