package org.frontline.identity;

import java.util.Map;
import java.util.Set;

/**
 * Who may call each secured operation: the one table, reviewable at a glance. {@link BearerAuthHandler} enforces
 * it for every operation that declares bearerAuth (403 forbidden when the caller holds none of the roles), and
 * the service refuses to start when a secured operation of the contract has no entry here. What an allowed caller
 * may then see is decided by {@link Scope}.
 */
public final class AccessRules {
  /** Any authenticated account, whatever its roles. */
  static final Set<String> ANY_AUTHENTICATED = Set.of();
  private static final Set<String> ADMIN = Set.of("admin");
  /** Who files field reports: officers, and supervisors on their own field visits. */
  private static final Set<String> REPORTERS = Set.of("officer", "supervisor");
  /** Who reads reports (what each sees is the report repository's visibility rule: own, or unit in scope). */
  private static final Set<String> REPORT_READERS = Set.of("officer", "supervisor", "assessor", "admin");
  /** Who reviews reports (in scope, never their own): supervisors, and admins as for other supervisors' writes. */
  private static final Set<String> REPORT_REVIEWERS = Set.of("supervisor", "admin");

  /** Who registers enterprises. */
  private static final Set<String> ENTERPRISE_WRITERS = Set.of("supervisor", "admin");
  /** Who handles an enterprise's service requests: the officers on the case, their supervisors, admins. */
  private static final Set<String> SERVICE_REQUEST_WRITERS = Set.of("officer", "supervisor", "admin");
  /** Who reads enterprises and service requests (within their scope). */
  private static final Set<String> ENTERPRISE_READERS = Set.of("officer", "supervisor", "assessor", "admin");
  /** Who plans major projects and milestones: supervisors and admins (in scope). */
  private static final Set<String> PROJECT_PLANNERS = Set.of("supervisor", "admin");
  /** Who reads projects and milestones (in scope). */
  private static final Set<String> PROJECT_READERS = Set.of("officer", "supervisor", "assessor", "admin");
  /** Who records a milestone's actual progress: the officers on site too (in scope). */
  private static final Set<String> PROGRESS_RECORDERS = Set.of("officer", "supervisor", "admin");

  /** Who posts officers to the front lines: supervisors and admins (in scope). */
  private static final Set<String> POSTING_WRITERS = Set.of("supervisor", "admin");
  /** Who reads postings: in scope; a caller with only the officer role reads only their own (in the query). */
  private static final Set<String> POSTING_READERS = Set.of("officer", "supervisor", "assessor", "admin");

  /** Who reads the figures of a subtree (GET /v1/figures): not officers. */
  private static final Set<String> FIGURE_READERS = Set.of("supervisor", "assessor", "admin");
  /** Partner clients granted webhooks:manage (subscriptions of their own; deliveries within their grant). */
  private static final Set<String> WEBHOOK_MANAGERS = Set.of(Caller.PARTNER_ROLE_PREFIX + "webhooks:manage");
  /** Partner clients granted reports:read (what each sees: its grant's units and report types). */
  private static final Set<String> PARTNER_REPORT_READERS = Set.of(Caller.PARTNER_ROLE_PREFIX + "reports:read");

  private static final Map<String, Set<String>> RULES = Map.ofEntries(
      // identity
      Map.entry("logout", ANY_AUTHENTICATED),
      Map.entry("getMe", ANY_AUTHENTICATED),
      // uploads: only the report's author, checked by the handler (anyone else: 404)
      Map.entry("createAttachmentUploadUrl", ANY_AUTHENTICATED),
      Map.entry("completeAttachmentUpload", ANY_AUTHENTICATED),
      // org units
      Map.entry("listOrgUnits", ADMIN),
      Map.entry("getOrgUnit", ADMIN),
      Map.entry("createOrgUnit", ADMIN),
      Map.entry("renameOrgUnit", ADMIN),
      Map.entry("moveOrgUnit", ADMIN),
      Map.entry("retireOrgUnit", ADMIN),
      Map.entry("deleteOrgUnit", ADMIN),
      // accounts
      Map.entry("listAccounts", ADMIN),
      Map.entry("getAccount", ADMIN),
      Map.entry("createAccount", ADMIN),
      Map.entry("updateAccount", ADMIN),
      Map.entry("disableAccount", ADMIN),
      Map.entry("enableAccount", ADMIN),
      Map.entry("resetAccountPassword", ADMIN),
      // signing keys
      Map.entry("listSigningKeys", ADMIN),
      Map.entry("rotateSigningKeys", ADMIN),
      Map.entry("retireSigningKey", ADMIN),
      // audit log
      Map.entry("listAuditEntries", ADMIN),
      Map.entry("verifyAuditChain", ADMIN),
      // field reports
      Map.entry("createReport", REPORTERS),
      Map.entry("createReportBatch", REPORTERS),
      Map.entry("getReport", REPORT_READERS),
      Map.entry("listReports", REPORT_READERS),
      Map.entry("reviewReport", REPORT_REVIEWERS),
      Map.entry("listReportReviews", REPORT_READERS),
      // attachment copies: whoever reads the report (originals: author, supervisors/assessors in scope; handler)
      Map.entry("getAttachmentContent", REPORT_READERS),
      // devices and notifications: every account has its own, and sees only its own
      Map.entry("registerDevice", ANY_AUTHENTICATED),
      Map.entry("listDevices", ANY_AUTHENTICATED),
      Map.entry("deleteDevice", ANY_AUTHENTICATED),
      Map.entry("listNotifications", ANY_AUTHENTICATED),
      Map.entry("ackNotification", ANY_AUTHENTICATED),
      // push deliveries (dead letters): admins, recipients within their scope
      Map.entry("listDeliveries", ADMIN),
      Map.entry("redriveDelivery", ADMIN),
      // enterprises and service requests (what each sees: the enterprise's unit in scope)
      Map.entry("createEnterprise", ENTERPRISE_WRITERS),
      Map.entry("getEnterprise", ENTERPRISE_READERS),
      Map.entry("listEnterprises", ENTERPRISE_READERS),
      // a record's hand-over to another unit (units merged or abolished): admins, both units in scope
      Map.entry("moveEnterprise", ADMIN),
      Map.entry("createServiceRequest", SERVICE_REQUEST_WRITERS),
      Map.entry("listServiceRequests", ENTERPRISE_READERS),
      Map.entry("getServiceRequest", ENTERPRISE_READERS),
      Map.entry("transitionServiceRequest", SERVICE_REQUEST_WRITERS),
      // projects and milestones
      Map.entry("createProject", PROJECT_PLANNERS),
      Map.entry("listProjects", PROJECT_READERS),
      Map.entry("getProject", PROJECT_READERS),
      Map.entry("getProjectSCurve", PROJECT_READERS),
      Map.entry("closeProject", PROJECT_PLANNERS),
      Map.entry("moveProject", ADMIN),
      Map.entry("createMilestone", PROJECT_PLANNERS),
      Map.entry("getMilestone", PROJECT_READERS),
      Map.entry("rebaselineMilestone", PROJECT_PLANNERS),
      Map.entry("recordMilestoneProgress", PROGRESS_RECORDERS),
      // postings
      Map.entry("createPosting", POSTING_WRITERS),
      Map.entry("extendPosting", POSTING_WRITERS),
      Map.entry("endPosting", POSTING_WRITERS),
      Map.entry("cancelPosting", POSTING_WRITERS),
      Map.entry("getPosting", POSTING_READERS),
      Map.entry("listPostings", POSTING_READERS),
      // figures of a unit subtree and period
      Map.entry("getFigures", FIGURE_READERS),
      // partner clients (admins, within their scope)
      Map.entry("createPartnerClient", ADMIN),
      Map.entry("listPartnerClients", ADMIN),
      Map.entry("getPartnerClient", ADMIN),
      Map.entry("addPartnerClientCredential", ADMIN),
      Map.entry("removePartnerClientCredential", ADMIN),
      Map.entry("disablePartnerClient", ADMIN),
      Map.entry("changePartnerClientGrant", ADMIN),
      // partner API: partner clients holding the OAuth scope (never a person: no person has these roles)
      Map.entry("listPartnerEvents", Set.of(Caller.PARTNER_ROLE_PREFIX + "events:read")),
      Map.entry("listPartnerReports", PARTNER_REPORT_READERS),
      Map.entry("getPartnerReport", PARTNER_REPORT_READERS),
      Map.entry("getPartnerAttachmentContent", PARTNER_REPORT_READERS),
      Map.entry("submitPartnerFigure", Set.of(Caller.PARTNER_ROLE_PREFIX + "figures:write")),
      // webhooks: partners holding webhooks:manage manage their own subscriptions; admins list a client's
      Map.entry("createWebhook", WEBHOOK_MANAGERS),
      Map.entry("listWebhooks", WEBHOOK_MANAGERS),
      Map.entry("getWebhook", WEBHOOK_MANAGERS),
      Map.entry("deleteWebhook", WEBHOOK_MANAGERS),
      Map.entry("enableWebhook", WEBHOOK_MANAGERS),
      Map.entry("rotateWebhookSecret", WEBHOOK_MANAGERS),
      Map.entry("listWebhookDeliveries", WEBHOOK_MANAGERS),
      Map.entry("replayWebhookDelivery", WEBHOOK_MANAGERS),
      Map.entry("listPartnerClientWebhooks", ADMIN));

  /**
   * Operations on what the whole organisation shares, not on a unit's data: the signing keys sign every account's
   * and every partner's tokens. Besides the role, the caller's scope must cover a root unit (the one the bootstrap
   * creates; an admin scoped to a city or district is refused with 403, audited like a missing role). Listing the
   * keys is not here: it shows what the public JWKS already publishes (kids, states, dates).
   */
  private static final Set<String> ORGANISATION_WIDE = Set.of("rotateSigningKeys", "retireSigningKey");

  private AccessRules() {}

  /** True when the operation acts on the whole organisation: only a caller whose scope covers a root unit may call it. */
  public static boolean organisationWide(String operationId) {
    return ORGANISATION_WIDE.contains(operationId);
  }

  /** The roles of which the caller needs one, or {@link #ANY_AUTHENTICATED} (empty). */
  public static Set<String> rolesFor(String operationId) {
    Set<String> roles = RULES.get(operationId);
    if (roles == null) {
      throw new IllegalStateException("secured operation " + operationId + " has no entry in AccessRules");
    }
    return roles;
  }

  /** {@link #ANY_AUTHENTICATED} means any account: a partner client only ever passes a rule naming its scope. */
  public static boolean allows(Set<String> required, Caller caller) {
    return required.isEmpty() ? !caller.isPartner() : caller.roles().stream().anyMatch(required::contains);
  }

  public static Set<String> operations() {
    return RULES.keySet();
  }

  public static Set<String> organisationWideOperations() {
    return ORGANISATION_WIDE;
  }
}
