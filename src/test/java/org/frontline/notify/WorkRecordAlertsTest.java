package org.frontline.notify;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.enterprises.EnterprisesApiTestAccess;
import org.frontline.platform.push.FakeFcmServer;
import org.frontline.projects.MilestoneAlerts;
import org.frontline.projects.RecordWatch;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.notify.Alerts.awaitUntil;
import static org.frontline.notify.Alerts.device;
import static org.frontline.notify.Alerts.login;
import static org.frontline.testing.TestEnvironment.await;

/** Work-record alerts reach the supervisors covering the record's unit, and only them. */
@FrontlineTest
class WorkRecordAlertsTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

  static JsonObject created(HttpResponse<Buffer> r) {
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(201);
    return r.bodyAsJsonObject();
  }

  static JsonObject post(TestEnvironment env, String token, String path, JsonObject body) {
    return created(await(env.client().post(path).putHeader("Authorization", "Bearer " + token).sendJsonObject(body)));
  }

  /** The pushes to the device token about one record (by a data key), in arrival order. */
  static List<FakeFcmServer.Request> about(TestEnvironment env, String token, String key, UUID id) {
    return env.fcm().requestsFor(token).stream().filter(r -> id.toString().equals(r.data().getString(key))).toList();
  }

  static RecordWatch watch(TestEnvironment env, Instant at) {
    return new RecordWatch(env.app().database().pool(), new MilestoneAlerts(10), Clock.fixed(at, ZoneOffset.UTC));
  }

  @Test
  void milestoneAlertsReachTongzhouAndRequestAlertsReachHanjiangOnly(TestEnvironment env) throws Exception {
    device(env, "supervisor.tongzhou", "records-tongzhou");
    device(env, "supervisor.hanjiang", "records-hanjiang");

    String tongzhou = login(env, "supervisor.tongzhou");
    JsonObject project = post(env, tongzhou, "/v1/projects", new JsonObject().put("unitId", TONGZHOU.toString())
        .put("name", "Jianghai Avenue east extension").put("investmentYuan", 1000)
        .put("site", new JsonObject().put("lat", 32.06).put("lon", 121.07).put("radiusM", 2500))
        .put("status", "IN_PROGRESS"));
    UUID milestone = UUID.fromString(post(env, tongzhou, "/v1/projects/" + project.getString("id") + "/milestones",
        new JsonObject().put("name", "Street trees").put("plannedQuantity", 100).put("unit", "trees")
            .put("plannedStart", "2030-01-01").put("plannedDue", "2030-01-11")).getString("id"));
    await(watch(env, Instant.parse("2030-01-12T04:00:00Z")).check());
    awaitUntil(WAIT, "the overdue milestone pushed to supervisor.tongzhou",
        () -> about(env, "records-tongzhou", "milestoneId", milestone).size() >= 2);
    List<FakeFcmServer.Request> pushes = about(env, "records-tongzhou", "milestoneId", milestone);
    assertThat(pushes.stream().map(p -> p.data().getString("eventType")))
        .containsExactlyInAnyOrder("milestone.at-risk", "milestone.overdue");
    FakeFcmServer.Request overdue = pushes.stream()
        .filter(p -> "milestone.overdue".equals(p.data().getString("eventType"))).findFirst().orElseThrow();
    assertThat(overdue.notification().getString("title")).isEqualTo("Milestone overdue"); // supervisor.tongzhou: en
    assertThat(overdue.notification().getString("body")).contains("Street trees").contains("2030-01-11");
    assertThat(overdue.data().getMap()).containsEntry("projectId", project.getString("id"))
        .containsEntry("unitId", TONGZHOU.toString());
    assertThat(overdue.android().getString("collapse_key")).isEqualTo("milestone:" + milestone);

    // Completed through the API (a progress write): its event is written in that transaction and pushed too.
    post(env, login(env, "officer.zhang"), "/v1/milestones/" + milestone + "/progress",
        new JsonObject().put("quantity", 100));
    awaitUntil(WAIT, "the completed milestone pushed to supervisor.tongzhou",
        () -> about(env, "records-tongzhou", "milestoneId", milestone).size() >= 3);
    assertThat(about(env, "records-tongzhou", "milestoneId", milestone).get(2).notification().getString("title"))
        .isEqualTo("Milestone completed");

    String hanjiang = login(env, "supervisor.hanjiang");
    JsonObject enterprise = post(env, hanjiang, "/v1/enterprises", EnterprisesApiTestAccess.enterprise(HUAISI));
    JsonObject request = post(env, hanjiang, "/v1/enterprises/" + enterprise.getString("id") + "/service-requests",
        new JsonObject().put("category", "FINANCING").put("description", "Working capital loan")
            .put("responsibleOfficerId", Alerts.accountId("officer.xu").toString()));
    UUID requestId = UUID.fromString(request.getString("id"));
    await(watch(env, OffsetDateTime.parse(request.getString("dueAt")).plusMinutes(1).toInstant()).check());
    awaitUntil(WAIT, "the overdue request pushed to supervisor.hanjiang",
        () -> !about(env, "records-hanjiang", "serviceRequestId", requestId).isEmpty());
    FakeFcmServer.Request push = about(env, "records-hanjiang", "serviceRequestId", requestId).get(0);
    assertThat(push.notification().getString("title")).isEqualTo("企业诉求已超期"); // supervisor.hanjiang: zh-CN
    assertThat(push.data().getMap()).containsEntry("eventType", "service-request.overdue")
        .containsEntry("enterpriseId", enterprise.getString("id")).containsEntry("unitId", HUAISI.toString());
    assertThat(push.android().getString("collapse_key")).isEqualTo("service-request:" + requestId);

    Thread.sleep(1500); // another dispatch round or two: nothing crosses over
    assertThat(about(env, "records-hanjiang", "milestoneId", milestone)).isEmpty();
    assertThat(about(env, "records-tongzhou", "serviceRequestId", requestId)).isEmpty();
    assertThat(about(env, "records-hanjiang", "serviceRequestId", requestId)).hasSize(1);
  }
}
