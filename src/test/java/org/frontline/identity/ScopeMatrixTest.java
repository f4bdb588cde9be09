package org.frontline.identity;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.sql.SQLException;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HANJIANG;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;

/**
 * The scope matrix: for every operation that takes an id, a caller from a sibling subtree (an admin scoped to
 * Nantong, against Hanjiang data) gets 404, exactly like a missing object, and a caller without the role
 * (officer.xu) gets 403; either way the row is unchanged. Later features add a {@link Case} per new operation.
 */
@FrontlineTest
class ScopeMatrixTest {

  /**
   * One operation on one Hanjiang object. {@code table} and {@code id} (a UUID, or a Long for bigint keys) name the
   * row that must stay as it was;
   * {@code otherRows} are further queries whose result must not change (e.g. the account's refresh tokens).
   */
  record Case(String operation, HttpMethod method, String path, JsonObject body, String table, Object id,
              List<String> otherRows) {
    Case(String operation, HttpMethod method, String path, JsonObject body, String table, Object id) {
      this(operation, method, path, body, table, id, List.of());
    }

    @Override
    public String toString() {
      return operation + " " + method + " " + path;
    }
  }

  static final UUID XU = Admin.account("officer.xu");
  static final UUID SUPERVISOR_HANJIANG = Admin.account("supervisor.hanjiang");
  /** A report by officer.xu in Huaisi (made through the API before each test, once per class). */
  static final UUID XU_REPORT = UUID.nameUUIDFromBytes("scope-matrix:report".getBytes(java.nio.charset.StandardCharsets.UTF_8));
  /** A report by officer.xu in Huaisi with one declared (not uploaded) photo, and that attachment. */
  static final UUID XU_PHOTO_REPORT = UUID.nameUUIDFromBytes("scope-matrix:photo-report".getBytes(java.nio.charset.StandardCharsets.UTF_8));
  static final UUID XU_ATTACHMENT = UUID.nameUUIDFromBytes("scope-matrix:attachment".getBytes(java.nio.charset.StandardCharsets.UTF_8));
  /**
   * Who lacks the role of an operation, when not the default officer.xu and supervisor.tongzhou: every role may
   * read reports (what each sees is the scope rule, tested in aReportIsHiddenFromRoleHoldersWhoMayNotSeeIt).
   */
  static final java.util.Map<String, List<String>> WITHOUT_ROLE = java.util.Map.ofEntries(
      java.util.Map.entry("getReport", List.of()),
      java.util.Map.entry("listReportReviews", List.of()),
      // reviews: supervisors and admins (officer.xu is also the report's author)
      java.util.Map.entry("reviewReport", List.of("officer.xu", "assessor.tongzhou")),
      // every account has its own devices, notifications and attachments: no role to lack
      java.util.Map.entry("deleteDevice", List.of()),
      java.util.Map.entry("ackNotification", List.of()),
      java.util.Map.entry("createAttachmentUploadUrl", List.of()),
      java.util.Map.entry("completeAttachmentUpload", List.of()),
      java.util.Map.entry("getAttachmentContent", List.of()),
      // enterprises: every role reads; officers, supervisors and admins handle service requests
      java.util.Map.entry("getEnterprise", List.of()),
      java.util.Map.entry("getServiceRequest", List.of()),
      java.util.Map.entry("createServiceRequest", List.of("assessor.tongzhou")),
      java.util.Map.entry("transitionServiceRequest", List.of("assessor.tongzhou")),
      // projects: every role reads; supervisors and admins plan; officers, supervisors and admins record progress
      java.util.Map.entry("getProject", List.of()),
      java.util.Map.entry("getProjectSCurve", List.of()),
      // a record's hand-over to another unit: admins only (Hanjiang's supervisor covers both units)
      java.util.Map.entry("moveProject", List.of("officer.xu", "supervisor.hanjiang")),
      // closing a project: supervisors and admins, as they create and plan it
      java.util.Map.entry("closeProject", List.of("officer.xu", "assessor.tongzhou")),
      java.util.Map.entry("moveEnterprise", List.of("officer.xu", "supervisor.hanjiang")),
      java.util.Map.entry("getMilestone", List.of()),
      java.util.Map.entry("createMilestone", List.of("officer.xu", "assessor.tongzhou")),
      java.util.Map.entry("rebaselineMilestone", List.of("officer.xu", "assessor.tongzhou")),
      java.util.Map.entry("recordMilestoneProgress", List.of("assessor.tongzhou")),
      // postings: every role reads (officers their own); supervisors and admins write
      java.util.Map.entry("getPosting", List.of()),
      java.util.Map.entry("extendPosting", List.of("officer.xu", "assessor.tongzhou")),
      java.util.Map.entry("endPosting", List.of("officer.xu", "assessor.tongzhou")),
      java.util.Map.entry("cancelPosting", List.of("officer.xu", "assessor.tongzhou")),
      // figures: supervisors, assessors and admins; not officers
      java.util.Map.entry("getFigures", List.of("officer.xu", "officer.zhang")),
      // partner clients: admins only
      java.util.Map.entry("getPartnerClient", List.of("officer.xu", "supervisor.hanjiang", "assessor.tongzhou")),
      java.util.Map.entry("addPartnerClientCredential", List.of("officer.xu", "supervisor.hanjiang")),
      java.util.Map.entry("removePartnerClientCredential", List.of("officer.xu", "supervisor.hanjiang")),
      java.util.Map.entry("disablePartnerClient", List.of("officer.xu", "supervisor.hanjiang")),
      java.util.Map.entry("changePartnerClientGrant", List.of("officer.xu", "supervisor.hanjiang")),
      java.util.Map.entry("listPartnerClientWebhooks", List.of("officer.xu", "supervisor.hanjiang")));
  /** officer.xu's Huaisi posting (a row written before the cases run). */
  static final UUID HUAISI_POSTING = UUID.nameUUIDFromBytes("scope-matrix:posting".getBytes(java.nio.charset.StandardCharsets.UTF_8));
  /** A Huaisi project and one of its milestones (inserted with fixed ids before each test, once per class). */
  static final UUID HUAISI_PROJECT = UUID.nameUUIDFromBytes("scope-matrix:project".getBytes(java.nio.charset.StandardCharsets.UTF_8));
  static final UUID HUAISI_MILESTONE = UUID.nameUUIDFromBytes("scope-matrix:milestone".getBytes(java.nio.charset.StandardCharsets.UTF_8));
  /** A Huaisi enterprise and one of its service requests (RECEIVED), written as rows before the cases run. */
  static final UUID HUAISI_ENTERPRISE = UUID.nameUUIDFromBytes("scope-matrix:enterprise".getBytes(java.nio.charset.StandardCharsets.UTF_8));
  static final UUID HUAISI_SERVICE_REQUEST = UUID.nameUUIDFromBytes("scope-matrix:service-request".getBytes(java.nio.charset.StandardCharsets.UTF_8));

  /** A partner client granted Huaisi, and its secret credential (rows written before the cases run). */
  static final UUID HUAISI_PARTNER = UUID.nameUUIDFromBytes("scope-matrix:partner".getBytes(java.nio.charset.StandardCharsets.UTF_8));
  static final UUID HUAISI_PARTNER_SECRET = UUID.nameUUIDFromBytes("scope-matrix:partner-secret".getBytes(java.nio.charset.StandardCharsets.UTF_8));
  /** A dead push delivery to supervisor.hanjiang's phone (a row written before the cases run; bigint key). */
  static final Long HANJIANG_DEAD_DELIVERY = 900_000_001L;
  static final UUID HANJIANG_PHONE = UUID.nameUUIDFromBytes("scope-matrix:device".getBytes(java.nio.charset.StandardCharsets.UTF_8));
  /** A notification in supervisor.hanjiang's inbox, of a Huaisi event (a row written before the cases run). */
  static final UUID HANJIANG_NOTIFICATION = UUID.nameUUIDFromBytes("scope-matrix:notification".getBytes(java.nio.charset.StandardCharsets.UTF_8));

  /**
   * The operations that are no {@link Case} nor {@link ListCase}, and why: no object of one unit is named by them,
   * or the caller is a partner client (whose 404 beyond its grant is tested where named). Every operation of
   * {@link AccessRules} is one of the three (everyOperationIsInTheMatrixOrNamedHere).
   */
  static final java.util.Map<String, String> ELSEWHERE = java.util.Map.ofEntries(
      java.util.Map.entry("logout", "the caller's own session (LoginTest, RefreshTest)"),
      java.util.Map.entry("getMe", "the caller's own account"),
      java.util.Map.entry("registerDevice", "the caller's own device (DevicesApiTest.aTokenRegisteredByAnotherAccountMovesToIt)"),
      java.util.Map.entry("listDevices", "the caller's own devices (DevicesApiTest)"),
      java.util.Map.entry("listNotifications", "the caller's own inbox (NotificationsApiTest.alertsOfUnitsLeftBehindAreNoLongerTheCallers)"),
      java.util.Map.entry("createOrgUnit", "a parent outside the scope is 422 (OrgUnitAdminTest)"),
      java.util.Map.entry("createAccount", "units outside the scope are 422 (AccountAdminTest.unitsOutsideTheScopeAre422NamingTheField)"),
      java.util.Map.entry("createReport", "a unit outside the author's scope is 422 (ReportSubmissionTest)"),
      java.util.Map.entry("createReportBatch", "a unit outside the author's scope is 422 per item (ReportSubmissionTest)"),
      java.util.Map.entry("createEnterprise", "a unit outside the scope is 422 (EnterprisesApiTest)"),
      java.util.Map.entry("createProject", "a unit outside the scope is 422 (ProjectsApiTest)"),
      java.util.Map.entry("createPosting", "a unit or officer outside the scope is 422 (PostingsApiTest)"),
      java.util.Map.entry("createPartnerClient", "a grant beyond the scope is 422 (PartnerClientsTest.aGrantNeverExceedsTheAdminsScopeAndOtherAdminsSeeNothing)"),
      java.util.Map.entry("listAuditEntries", "AuditApiTest.aScopedAdminSeesOnlyEntriesOfItsSubtree"),
      java.util.Map.entry("verifyAuditChain", "answers seqs and hashes only, open to every admin (NOTES: organisation-wide operations)"),
      java.util.Map.entry("listSigningKeys", "what the public JWKS publishes, open to every admin (NOTES: organisation-wide operations)"),
      java.util.Map.entry("rotateSigningKeys", "organisation-wide (KeyRotationTest.anAdministratorScopedBelowTheRootCannotRotateTheOrganisationsKeysAndIsAudited)"),
      java.util.Map.entry("retireSigningKey", "organisation-wide (KeyRetirementTest.onlyAnAdministratorOfTheWholeOrganisationRetiresKeys)"),
      java.util.Map.entry("listPartnerEvents", "a partner's grant (EventFeedTest.aPartnerReadsOnlyItsGrantInOrderAndReplaysFromAnyCursor)"),
      java.util.Map.entry("listPartnerReports", "a partner's grant (PartnerReportsTest.aPartnerGrantedTongzhouSeesNoHanjiangReportOrPhoto)"),
      java.util.Map.entry("getPartnerReport", "a partner's grant (PartnerReportsTest.aPartnerGrantedTongzhouSeesNoHanjiangReportOrPhoto)"),
      java.util.Map.entry("getPartnerAttachmentContent", "a partner's grant (PartnerReportsTest.aPartnerGrantedTongzhouSeesNoHanjiangReportOrPhoto)"),
      java.util.Map.entry("submitPartnerFigure", "a unit outside the grant is 422 (PartnerFiguresTest.keysArePerClientAndAFailedWriteFreesItsKey)"),
      java.util.Map.entry("createWebhook", "a partner's own subscriptions (WebhooksApiTest)"),
      java.util.Map.entry("listWebhooks", "a partner's own subscriptions (WebhooksApiTest)"),
      java.util.Map.entry("getWebhook", "another partner's subscription is 404 (WebhooksApiTest.peopleAndPartnersWithoutTheScopeGet403AndAnotherPartnersSubscriptionIs404)"),
      java.util.Map.entry("deleteWebhook", "another partner's subscription is 404 (WebhooksApiTest.peopleAndPartnersWithoutTheScopeGet403AndAnotherPartnersSubscriptionIs404)"),
      java.util.Map.entry("enableWebhook", "another partner's subscription is 404 (WebhooksApiTest.peopleAndPartnersWithoutTheScopeGet403AndAnotherPartnersSubscriptionIs404)"),
      java.util.Map.entry("rotateWebhookSecret", "another partner's subscription is 404 (WebhooksApiTest.peopleAndPartnersWithoutTheScopeGet403AndAnotherPartnersSubscriptionIs404)"),
      java.util.Map.entry("listWebhookDeliveries", "another partner's subscription is 404 (WebhooksApiTest.peopleAndPartnersWithoutTheScopeGet403AndAnotherPartnersSubscriptionIs404)"),
      java.util.Map.entry("replayWebhookDelivery", "another partner's subscription is 404 (WebhooksApiTest.peopleAndPartnersWithoutTheScopeGet403AndAnotherPartnersSubscriptionIs404)"));

  /** A list, and an object of Hanjiang's subtree it must never show a caller from Nantong. */
  record ListCase(String operation, String path, Object hidden) {
    @Override
    public String toString() {
      return operation + " GET " + path;
    }
  }

  static List<ListCase> listCases() {
    return List.of(
        new ListCase("listOrgUnits", "/v1/org-units", HUAISI),
        new ListCase("listAccounts", "/v1/accounts", XU),
        new ListCase("listReports", "/v1/reports", XU_REPORT),
        new ListCase("listEnterprises", "/v1/enterprises", HUAISI_ENTERPRISE),
        new ListCase("listServiceRequests", "/v1/service-requests", HUAISI_SERVICE_REQUEST),
        new ListCase("listProjects", "/v1/projects", HUAISI_PROJECT),
        new ListCase("listPostings", "/v1/postings", HUAISI_POSTING),
        new ListCase("listDeliveries", "/v1/admin/deliveries", HANJIANG_DEAD_DELIVERY),
        new ListCase("listPartnerClients", "/v1/partner-clients", HUAISI_PARTNER));
  }

  static List<Case> cases() {
    // Logins add tokens; what must not change is which of them are revoked.
    String xuTokens = "SELECT count(*) FROM refresh_token WHERE revoked_at IS NOT NULL AND account_id = '" + XU + "'";
    String milestones = "SELECT count(*) FROM milestone WHERE project_id = '" + HUAISI_PROJECT + "'";
    String baselines = "SELECT count(*) FROM milestone_baseline WHERE milestone_id = '" + HUAISI_MILESTONE + "'";
    String progress = "SELECT count(*) FROM milestone_progress WHERE milestone_id = '" + HUAISI_MILESTONE + "'";
    String partnerCredentials = "SELECT string_agg(id || ':' || coalesce(removed_at::text, '-') || ':'"
        + " || coalesce(expires_at::text, '-'), ',' ORDER BY id) FROM partner_credential WHERE client_id = '"
        + HUAISI_PARTNER + "'";
    String xuScope = "SELECT string_agg(unit_id::text, ',' ORDER BY unit_id) FROM account_scope WHERE account_id = '" + XU + "'";
    return List.of(
        new Case("getOrgUnit", HttpMethod.GET, "/v1/org-units/" + HANJIANG, null, "org_unit", HANJIANG),
        new Case("renameOrgUnit", HttpMethod.PATCH, "/v1/org-units/" + HUAISI,
            new JsonObject().put("name", "Renamed"), "org_unit", HUAISI),
        new Case("moveOrgUnit", HttpMethod.POST, "/v1/org-units/" + HUAISI + "/move",
            new JsonObject().put("newParentId", TONGZHOU.toString()), "org_unit", HUAISI),
        new Case("retireOrgUnit", HttpMethod.POST, "/v1/org-units/" + HUAISI + "/retire", null, "org_unit", HUAISI),
        new Case("deleteOrgUnit", HttpMethod.DELETE, "/v1/org-units/" + HUAISI, null, "org_unit", HUAISI),
        new Case("getAccount", HttpMethod.GET, "/v1/accounts/" + SUPERVISOR_HANJIANG, null, "account", SUPERVISOR_HANJIANG),
        new Case("updateAccount", HttpMethod.PATCH, "/v1/accounts/" + XU,
            new JsonObject().put("displayName", "Changed").put("coveredUnitIds", new io.vertx.core.json.JsonArray()
                .add(TONGZHOU.toString())), "account", XU, List.of(xuScope)),
        new Case("disableAccount", HttpMethod.POST, "/v1/accounts/" + XU + "/disable", null, "account", XU,
            List.of(xuTokens)),
        new Case("enableAccount", HttpMethod.POST, "/v1/accounts/" + SUPERVISOR_HANJIANG + "/enable", null, "account",
            SUPERVISOR_HANJIANG),
        new Case("resetAccountPassword", HttpMethod.POST, "/v1/accounts/" + XU + "/password",
            new JsonObject().put("password", "Another-Password-2026"), "account", XU, List.of(xuTokens)),
        new Case("getReport", HttpMethod.GET, "/v1/reports/" + XU_REPORT, null, "report", XU_REPORT),
        new Case("reviewReport", HttpMethod.POST, "/v1/reports/" + XU_REPORT + "/review",
            new JsonObject().put("decision", "RETURNED").put("comment", "Scope matrix"), "report", XU_REPORT,
            List.of("SELECT count(*) FROM report_review WHERE report_id = '" + XU_REPORT + "'",
                "SELECT count(*) FROM audit_log WHERE action = 'report.review'")),
        new Case("listReportReviews", HttpMethod.GET, "/v1/reports/" + XU_REPORT + "/reviews", null, "report",
            XU_REPORT),
        new Case("getAttachmentContent", HttpMethod.GET, "/v1/attachments/" + XU_ATTACHMENT + "/content?variant=original",
            null, "attachment", XU_ATTACHMENT),
        new Case("createAttachmentUploadUrl", HttpMethod.POST, "/v1/attachments/" + XU_ATTACHMENT + "/upload-url", null,
            "attachment", XU_ATTACHMENT),
        new Case("completeAttachmentUpload", HttpMethod.POST, "/v1/attachments/" + XU_ATTACHMENT + "/complete", null,
            "attachment", XU_ATTACHMENT),
        new Case("deleteDevice", HttpMethod.DELETE, "/v1/devices/" + HANJIANG_PHONE, null, "device", HANJIANG_PHONE),
        new Case("ackNotification", HttpMethod.POST, "/v1/notifications/" + HANJIANG_NOTIFICATION + "/ack",
            new JsonObject().put("state", "opened"), "notification", HANJIANG_NOTIFICATION),
        new Case("getEnterprise", HttpMethod.GET, "/v1/enterprises/" + HUAISI_ENTERPRISE, null, "enterprise",
            HUAISI_ENTERPRISE),
        new Case("createServiceRequest", HttpMethod.POST, "/v1/enterprises/" + HUAISI_ENTERPRISE + "/service-requests",
            new JsonObject().put("category", "APPROVAL").put("description", "Scope matrix")
                .put("responsibleOfficerId", XU.toString()), "enterprise", HUAISI_ENTERPRISE,
            List.of("SELECT count(*) FROM service_request WHERE enterprise_id = '" + HUAISI_ENTERPRISE + "'")),
        new Case("getServiceRequest", HttpMethod.GET, "/v1/service-requests/" + HUAISI_SERVICE_REQUEST, null,
            "service_request", HUAISI_SERVICE_REQUEST),
        new Case("transitionServiceRequest", HttpMethod.POST, "/v1/service-requests/" + HUAISI_SERVICE_REQUEST
            + "/transitions", new JsonObject().put("to", "COORDINATING").put("department", "Land bureau"),
            "service_request", HUAISI_SERVICE_REQUEST, List.of("SELECT count(*) FROM service_request_step"
                + " WHERE service_request_id = '" + HUAISI_SERVICE_REQUEST + "'")),
        new Case("getProject", HttpMethod.GET, "/v1/projects/" + HUAISI_PROJECT, null, "project", HUAISI_PROJECT),
        new Case("getProjectSCurve", HttpMethod.GET, "/v1/projects/" + HUAISI_PROJECT + "/s-curve", null, "project",
            HUAISI_PROJECT),
        new Case("moveProject", HttpMethod.POST, "/v1/projects/" + HUAISI_PROJECT + "/move",
            new JsonObject().put("newUnitId", HANJIANG.toString()), "project", HUAISI_PROJECT),
        new Case("closeProject", HttpMethod.POST, "/v1/projects/" + HUAISI_PROJECT + "/close",
            new JsonObject().put("outcome", "CANCELLED").put("reason", "Scope matrix"), "project", HUAISI_PROJECT),
        new Case("moveEnterprise", HttpMethod.POST, "/v1/enterprises/" + HUAISI_ENTERPRISE + "/move",
            new JsonObject().put("newUnitId", HANJIANG.toString()), "enterprise", HUAISI_ENTERPRISE),
        new Case("createMilestone", HttpMethod.POST, "/v1/projects/" + HUAISI_PROJECT + "/milestones",
            new JsonObject().put("name", "Leak").put("plannedQuantity", 5).put("unit", "items")
                .put("plannedStart", "2026-03-01").put("plannedDue", "2026-04-01"), "project", HUAISI_PROJECT,
            List.of(milestones)),
        new Case("getMilestone", HttpMethod.GET, "/v1/milestones/" + HUAISI_MILESTONE, null, "milestone", HUAISI_MILESTONE),
        new Case("rebaselineMilestone", HttpMethod.POST, "/v1/milestones/" + HUAISI_MILESTONE + "/baselines",
            new JsonObject().put("plannedQuantity", 5).put("plannedStart", "2026-03-01").put("plannedDue", "2026-04-01")
                .put("reason", "Leak"), "milestone", HUAISI_MILESTONE, List.of(baselines)),
        new Case("recordMilestoneProgress", HttpMethod.POST, "/v1/milestones/" + HUAISI_MILESTONE + "/progress",
            new JsonObject().put("quantity", 1), "milestone", HUAISI_MILESTONE, List.of(progress)),
        new Case("getPosting", HttpMethod.GET, "/v1/postings/" + HUAISI_POSTING, null, "posting", HUAISI_POSTING),
        new Case("extendPosting", HttpMethod.POST, "/v1/postings/" + HUAISI_POSTING + "/extend",
            new JsonObject().put("endsOn", "2026-12-31"), "posting", HUAISI_POSTING),
        new Case("endPosting", HttpMethod.POST, "/v1/postings/" + HUAISI_POSTING + "/end",
            new JsonObject().put("endsOn", "2026-03-01"), "posting", HUAISI_POSTING),
        new Case("cancelPosting", HttpMethod.POST, "/v1/postings/" + HUAISI_POSTING + "/cancel", null, "posting",
            HUAISI_POSTING),
        new Case("getFigures", HttpMethod.GET, "/v1/figures?unitId=" + HUAISI + "&from=2026-01-01&to=2026-12-01", null,
            "org_unit", HUAISI),
        new Case("getPartnerClient", HttpMethod.GET, "/v1/partner-clients/" + HUAISI_PARTNER, null, "partner_client",
            HUAISI_PARTNER, List.of(partnerCredentials)),
        new Case("addPartnerClientCredential", HttpMethod.POST, "/v1/partner-clients/" + HUAISI_PARTNER + "/credentials",
            new JsonObject(), "partner_client", HUAISI_PARTNER, List.of(partnerCredentials)),
        new Case("removePartnerClientCredential", HttpMethod.DELETE, "/v1/partner-clients/" + HUAISI_PARTNER
            + "/credentials/" + HUAISI_PARTNER_SECRET, null, "partner_client", HUAISI_PARTNER, List.of(partnerCredentials)),
        new Case("disablePartnerClient", HttpMethod.POST, "/v1/partner-clients/" + HUAISI_PARTNER + "/disable", null,
            "partner_client", HUAISI_PARTNER, List.of(partnerCredentials)),
        new Case("redriveDelivery", HttpMethod.POST, "/v1/admin/deliveries/" + HANJIANG_DEAD_DELIVERY + "/redrive",
            null, "push_delivery", HANJIANG_DEAD_DELIVERY),
        new Case("changePartnerClientGrant", HttpMethod.PUT, "/v1/partner-clients/" + HUAISI_PARTNER + "/grant",
            new JsonObject().put("scopes", new io.vertx.core.json.JsonArray().add("reports:read").add("figures:write"))
                .put("unitIds", new io.vertx.core.json.JsonArray().add(HUAISI.toString()))
                .put("reportTypes", new io.vertx.core.json.JsonArray().add("SITE")),
            "partner_client", HUAISI_PARTNER),
        new Case("listPartnerClientWebhooks", HttpMethod.GET, "/v1/partner-clients/" + HUAISI_PARTNER + "/webhooks", null,
            "partner_client", HUAISI_PARTNER, List.of(partnerCredentials)));
  }

  /** The objects the cases name that the demo organisation does not hold. */
  static void ensureObjects(TestEnvironment env) throws SQLException {
    if (Admin.row(env, "enterprise", HUAISI_ENTERPRISE) == null) {
      try (var c = env.jdbc(); var st = c.createStatement()) {
        st.executeUpdate("INSERT INTO enterprise (id, name, uscc, industry, unit_id) VALUES ('" + HUAISI_ENTERPRISE
            + "', 'Scope matrix enterprise', '91350100M000100Y43', 'Machinery', '" + HUAISI + "')");
        st.executeUpdate("INSERT INTO service_request (id, enterprise_id, category, description, responsible_officer_id,"
            + " status, received_at, due_at) VALUES ('" + HUAISI_SERVICE_REQUEST + "', '" + HUAISI_ENTERPRISE
            + "', 'APPROVAL', 'Scope matrix', '" + XU + "', 'RECEIVED', now(), now() + interval '10 days')");
      }
    }
    if (Admin.row(env, "project", HUAISI_PROJECT) == null) {
      try (java.sql.Connection c = env.jdbc(); java.sql.Statement st = c.createStatement()) {
        st.execute("INSERT INTO project (id, unit_id, name, investment_yuan, site_lat, site_lon, site_radius_m, status) "
            + "VALUES ('" + HUAISI_PROJECT + "', '" + HUAISI + "', 'Scope matrix project', 1000000, 32.4, 119.4, 500, "
            + "'IN_PROGRESS')");
        st.execute("INSERT INTO milestone (id, project_id, name, unit) VALUES ('" + HUAISI_MILESTONE + "', '"
            + HUAISI_PROJECT + "', 'Scope matrix milestone', 'items')");
        st.execute("INSERT INTO milestone_baseline (milestone_id, version, planned_quantity, planned_start, planned_due) "
            + "VALUES ('" + HUAISI_MILESTONE + "', 1, 10, '2026-03-01', '2026-06-01')");
      }
    }
    if (Admin.row(env, "push_delivery", HANJIANG_DEAD_DELIVERY) == null) {
      try (var c = env.jdbc(); var st = c.createStatement()) {
        st.executeUpdate("INSERT INTO device (id, account_id, token, platform) VALUES ('" + HANJIANG_PHONE + "', '"
            + SUPERVISOR_HANJIANG + "', 'scope-matrix-phone', 'android') ON CONFLICT (token) DO NOTHING");
        st.executeUpdate("WITH o AS (INSERT INTO outbox (event_type, aggregate_type, aggregate_id, unit_id, payload,"
            + " dispatched_at) VALUES ('scope-matrix.dead', 'report', '" + XU_REPORT + "', '" + HUAISI + "', '{}',"
            + " now()) RETURNING id) INSERT INTO push_delivery (id, event_id, account_id, device_id, title, body, data,"
            + " status, attempts, last_error) SELECT " + HANJIANG_DEAD_DELIVERY + ", o.id, '" + SUPERVISOR_HANJIANG
            + "', '" + HANJIANG_PHONE + "', 'Scope matrix', 'Scope matrix', '{}', 'DEAD', 1,"
            + " 'INVALID_ARGUMENT: scope matrix' FROM o");
      }
    }
    if (Admin.row(env, "notification", HANJIANG_NOTIFICATION) == null) {
      try (var c = env.jdbc(); var st = c.createStatement()) {
        st.executeUpdate("WITH o AS (INSERT INTO outbox (event_type, aggregate_type, aggregate_id, unit_id, payload,"
            + " dispatched_at) VALUES ('scope-matrix.alert', 'report', '" + XU_REPORT + "', '" + HUAISI + "', '{}',"
            + " now()) RETURNING id) INSERT INTO notification (id, event_id, account_id, event_type, title, body, data,"
            + " push) SELECT '" + HANJIANG_NOTIFICATION + "', o.id, '" + SUPERVISOR_HANJIANG + "', 'scope-matrix.alert',"
            + " 'Scope matrix', 'Scope matrix', '{}', 'NONE' FROM o");
      }
    }
    if (Admin.row(env, "posting", HUAISI_POSTING) == null) {
      try (var c = env.jdbc(); var st = c.createStatement()) {
        st.executeUpdate("INSERT INTO posting (id, officer_id, front_line, unit_id, starts_on, ends_on) VALUES ('"
            + HUAISI_POSTING + "', '" + XU + "', 'INVESTMENT_PROMOTION', '" + HUAISI + "', '2026-01-01', '2026-06-30')");
      }
    }
    if (Admin.row(env, "partner_client", HUAISI_PARTNER) == null) {
      try (var c = env.jdbc(); var st = c.createStatement()) {
        st.executeUpdate("INSERT INTO partner_client (id, name, auth_method, scopes, unit_ids, report_types) VALUES ('"
            + HUAISI_PARTNER + "', 'Scope matrix partner', 'client_secret_basic', '{events:read}', '{" + HUAISI
            + "}', '{SITE}')");
        st.executeUpdate("INSERT INTO partner_credential (id, client_id, kind, secret_sha256) VALUES ('"
            + HUAISI_PARTNER_SECRET + "', '" + HUAISI_PARTNER + "', 'secret', sha256('scope-matrix'::bytea))");
      }
    }
    if (Admin.row(env, "report", XU_REPORT) == null) {
      Admin.ok(Admin.post(env, Admin.token(env, "officer.xu"), "/v1/reports", new JsonObject()
          .put("id", XU_REPORT.toString()).put("type", "SITE").put("unitId", HUAISI.toString())
          .put("capturedAt", "2026-11-20T08:30:00Z").put("location", new JsonObject().put("lat", 32.4).put("lon", 119.4))
          .put("title", "Scope matrix").put("body", new JsonObject())), 201);
    }
    if (Admin.row(env, "attachment", XU_ATTACHMENT) == null) {
      Admin.ok(Admin.post(env, Admin.token(env, "officer.xu"), "/v1/reports", new JsonObject()
          .put("id", XU_PHOTO_REPORT.toString()).put("type", "SITE").put("unitId", HUAISI.toString())
          .put("capturedAt", "2026-11-20T08:30:00Z").put("location", new JsonObject().put("lat", 32.4).put("lon", 119.4))
          .put("title", "Scope matrix photo").put("body", new JsonObject())
          .put("attachments", new io.vertx.core.json.JsonArray().add(new JsonObject()
              .put("id", XU_ATTACHMENT.toString()).put("sha256", "ab".repeat(32)).put("size", 1000)
              .put("contentType", "image/jpeg").put("filename", "scope.jpg")))), 201);
    }
  }

  @org.junit.jupiter.api.Test
  void aReportIsHiddenFromRoleHoldersWhoMayNotSeeIt(TestEnvironment env) throws Exception {
    ensureObjects(env);
    // Another officer (not the author) and a supervisor of a sibling subtree hold the role but not the report.
    for (String username : List.of("officer.zhang", "supervisor.tongzhou", "assessor.tongzhou")) {
      assertProblem(Admin.get(env, Admin.token(env, username), "/v1/reports/" + XU_REPORT), 404,
          "urn:frontline:problem:not-found");
    }
    Admin.ok(Admin.get(env, Admin.token(env, "supervisor.hanjiang"), "/v1/reports/" + XU_REPORT), 200);
    // Its attachment likewise: 404 out of scope; in scope, the original of a photo not uploaded yet is 409.
    String content = "/v1/attachments/" + XU_ATTACHMENT + "/content?variant=original";
    for (String username : List.of("officer.zhang", "supervisor.tongzhou", "assessor.tongzhou")) {
      assertProblem(Admin.get(env, Admin.token(env, username), content), 404, "urn:frontline:problem:not-found");
    }
    assertProblem(Admin.get(env, Admin.token(env, "supervisor.hanjiang"), content), 409,
        "urn:frontline:problem:conflict");
    assertProblem(Admin.get(env, Admin.token(env, "officer.xu"), content), 409, "urn:frontline:problem:conflict");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void aCallerFromASiblingSubtreeGets404AndChangesNothing(Case c, TestEnvironment env) throws Exception {
    // officer.xu holds a live refresh token, so a disable or reset that leaked through would show in its tokens.
    ensureObjects(env);
    Tokens.loginOk(env, "officer.xu");
    String token = Admin.nantongAdmin(env);
    Snapshot before = Snapshot.of(env, c);
    HttpResponse<Buffer> r = Admin.call(env, token, c.method(), c.path(), c.body());
    assertProblem(r, 404, "urn:frontline:problem:not-found");
    assertThat(Snapshot.of(env, c)).isEqualTo(before);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void aCallerWithoutTheRoleGets403AndChangesNothing(Case c, TestEnvironment env) throws Exception {
    ensureObjects(env);
    Snapshot before = Snapshot.of(env, c);
    for (String username : WITHOUT_ROLE.getOrDefault(c.operation(), List.of("officer.xu", "supervisor.tongzhou"))) {
      HttpResponse<Buffer> r = Admin.call(env, Admin.token(env, username), c.method(), c.path(), c.body());
      assertProblem(r, 403, "urn:frontline:problem:forbidden");
    }
    // The same caller in scope with the role would have been served: the 404/403 above is the rule, not a typo.
    assertThat(Snapshot.of(env, c)).isEqualTo(before);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void aMissingObjectGetsTheSame404(Case c, TestEnvironment env) {
    Object missing = c.id() instanceof Long ? (Object) Long.MAX_VALUE : UUID.randomUUID();
    String path = c.path().replace(c.id().toString(), missing.toString());
    HttpResponse<Buffer> r = Admin.call(env, Admin.token(env, "admin"), c.method(), path, c.body());
    assertProblem(r, 404, "urn:frontline:problem:not-found");
  }

  @org.junit.jupiter.api.Test
  void everyOperationIsInTheMatrixOrNamedHere() {
    java.util.Set<String> covered = new java.util.TreeSet<>();
    cases().forEach(c -> covered.add(c.operation()));
    listCases().forEach(c -> covered.add(c.operation()));
    assertThat(covered).as("in the matrix and named elsewhere too").doesNotContainAnyElementsOf(ELSEWHERE.keySet());
    covered.addAll(ELSEWHERE.keySet());
    assertThat(covered).as("every operation of AccessRules, and nothing else")
        .containsExactlyInAnyOrderElementsOf(AccessRules.operations());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("listCases")
  void aListShowsACallerFromASiblingSubtreeNothingOfTheOther(ListCase c, TestEnvironment env) throws Exception {
    ensureObjects(env);
    Tokens.loginOk(env, "officer.xu");
    // The province's admin finds the object in the list (so its absence below is the rule, not an empty list).
    assertThat(listed(env, Admin.token(env, "admin"), c.path())).contains(c.hidden().toString());
    assertThat(listed(env, Admin.nantongAdmin(env), c.path())).doesNotContain(c.hidden().toString());
  }

  /** Every page of the list, as the text of its items. */
  private static String listed(TestEnvironment env, String token, String path) {
    StringBuilder all = new StringBuilder();
    String cursor = null;
    do {
      String page = path + "?limit=200" + (cursor == null ? "" : "&cursor="
          + java.net.URLEncoder.encode(cursor, java.nio.charset.StandardCharsets.UTF_8));
      JsonObject body = Admin.ok(Admin.get(env, token, page), 200);
      all.append(body.getJsonArray("items").encode());
      cursor = body.getString("nextCursor");
    } while (cursor != null);
    return all.toString();
  }

  record Snapshot(String row, List<String> others) {
    static Snapshot of(TestEnvironment env, Case c) throws SQLException {
      String row = Admin.row(env, c.table(), c.id());
      assertThat(row).as("the target row exists").isNotNull();
      List<String> others = new java.util.ArrayList<>();
      for (String sql : c.otherRows()) {
        others.add(String.valueOf(Admin.string(env, sql)));
      }
      return new Snapshot(row, others);
    }
  }
}
