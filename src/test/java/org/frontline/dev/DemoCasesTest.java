package org.frontline.dev;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.enterprises.Uscc;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.time.LocalDate;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.testing.TestEnvironment.await;

/** Dev mode's demo cases, seeded twice into the test database: written once, and the figures answer for them. */
@FrontlineTest
class DemoCasesTest {

  @Test
  void seedingTwiceWritesTheCasesOnceAndTheFiguresAnswerForThem(TestEnvironment env) throws Exception {
    assertThat(DemoCases.seed(env.databaseConfig())).isPositive();
    List<String> tables = List.of("project", "milestone", "milestone_baseline", "milestone_progress", "enterprise",
        "enterprise_designation", "service_request", "service_request_step", "posting");
    List<Long> counts = tables.stream().map(t -> env.count("SELECT count(*) FROM " + t)).toList();
    assertThat(DemoCases.seed(env.databaseConfig())).isZero();
    assertThat(tables.stream().map(t -> env.count("SELECT count(*) FROM " + t)).toList()).isEqualTo(counts);

    assertThat(env.count("SELECT count(*) FROM project WHERE id = ?", DemoCases.JIANGHAI_AVENUE)).isEqualTo(1);
    assertThat(env.count("SELECT count(*) FROM milestone WHERE project_id = ?", DemoCases.JIANGHAI_AVENUE)).isEqualTo(4);
    assertThat(env.string("SELECT sum(planned_quantity)::text FROM milestone_baseline b JOIN milestone m"
        + " ON m.id = b.milestone_id WHERE m.unit = 'km'")).isEqualTo("2.980");
    assertThat(env.count("SELECT count(*) FROM enterprise")).isEqualTo(3);
    for (DemoCases.Enterprise e : List.of(DemoCases.SEMICONDUCTOR, DemoCases.STORAGE, DemoCases.MACHINERY)) {
      assertThat(Uscc.valid(env.string("SELECT uscc FROM enterprise WHERE id = ?", e.id()))).isTrue();
    }
    assertThat(env.string("SELECT string_agg(status, ',' ORDER BY status) FROM service_request"))
        .isEqualTo("CLOSED,COORDINATING,RECEIVED,RESOLVED");
    assertThat(env.string("SELECT string_agg(DISTINCT front_line, ',' ORDER BY front_line) FROM posting"))
        .isEqualTo("ENVIRONMENTAL,INVESTMENT_PROMOTION,MAJOR_PROJECT,PETITION_STABILITY");

    // Hanjiang over the last 60 days: 4 requests; the land request overdue; the storage approval 13 days saved.
    LocalDate today = LocalDate.now(DemoCases.ZONE);
    JsonObject hanjiang = figures(env, "supervisor.hanjiang", today.minusDays(60), today.plusDays(1));
    assertThat(hanjiang.getJsonObject("requests").encode())
        .isEqualTo("{\"received\":4,\"overdue\":1,\"overdueOpen\":1}");
    assertThat(hanjiang.getJsonObject("resolution").getLong("resolved")).isEqualTo(2);
    assertThat(hanjiang.getJsonObject("resolution").getLong("approvalDaysSaved")).isEqualTo(13);
    assertThat(hanjiang.getJsonObject("satisfaction").getLong("rated")).isEqualTo(1);
    assertThat(hanjiang.getJsonObject("satisfaction").getDouble("mean")).isEqualTo(5.0);
    // Tongzhou: the Jianghai Avenue project, at risk (bid section 2 slipping).
    JsonObject tongzhou = figures(env, "supervisor.tongzhou", today.minusDays(30), today.plusDays(1));
    assertThat(tongzhou.getJsonObject("projects").getInteger("total")).isEqualTo(1);
    assertThat(tongzhou.getJsonObject("projects").getInteger("atRisk")).isEqualTo(1);
    // Each request's responsible account covers its enterprise's unit, as the API requires, so it reads the request
    // (the Hanjiang storage request was officer.xu's, of Huaisi below it: 404 to its own responsible officer).
    String responsible = env.string("SELECT string_agg(r.id || ' ' || a.username, ',') FROM service_request r"
        + " JOIN account a ON a.id = r.responsible_officer_id");
    for (String pair : responsible.split(",")) {
      String[] request = pair.split(" ");
      assertThat(get(env, request[1], "/v1/service-requests/" + request[0]).getString("responsibleOfficerId"))
          .isEqualTo(env.string("SELECT id::text FROM account WHERE username = ?", request[1]));
    }
    // officer.zhang's current posting is to the project; officer.xu's to Huaisi's enterprises.
    JsonObject me = get(env, "officer.zhang", "/v1/me");
    assertThat(me.getJsonArray("postings").size()).isEqualTo(1);
    assertThat(me.getJsonArray("postings").getJsonObject(0).getString("frontLine")).isEqualTo("MAJOR_PROJECT");
  }

  private static JsonObject figures(TestEnvironment env, String username, LocalDate from, LocalDate to) {
    return get(env, username, "/v1/figures?from=" + from + "&to=" + to);
  }

  private static JsonObject get(TestEnvironment env, String username, String path) {
    HttpResponse<Buffer> login = await(env.client().post("/v1/auth/login").sendJsonObject(
        new JsonObject().put("username", username).put("password", DemoOrganisation.PASSWORD)));
    String token = login.bodyAsJsonObject().getString("access_token");
    HttpResponse<Buffer> r = await(env.client().request(HttpMethod.GET, path)
        .putHeader("Authorization", "Bearer " + token).send());
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    return r.bodyAsJsonObject();
  }
}
