package org.frontline.notify;

import io.vertx.core.json.JsonObject;
import org.frontline.identity.Scope;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Who is told what: the one table from outbox event type to recipients and message. A later feature adds its
 * event with one more {@link Rule} here; the dispatcher needs no change.
 *
 * <p>Recipients are computed in SQL. A rule's query takes the event's unit id as {@code $1} and its payload (jsonb)
 * as {@code $2}, and returns {@code account_id, locale, subject}: {@code subject} is what the message names (e.g.
 * the unit's name). The dispatcher runs it for a whole batch of events at once, as a lateral subquery in which
 * {@code $1} and {@code $2} are replaced by each event's columns: a query uses no other parameters and no other
 * text "$1"/"$2".
 */
public final class AlertRules {

  /** A localized message for one recipient. */
  public record Text(String title, String body) {}

  /**
   * One kind of alert. {@code message} gets the event, the recipient's locale (zh-CN or en) and the subject from
   * the recipients query. {@code data} is what the app's deep link needs; {@code collapseKey} makes a newer push on
   * the same subject replace the older one on the device.
   */
  public record Rule(String recipientsSql, MessageFormat message, DataFormat data, CollapseKey collapseKey) {}

  @FunctionalInterface
  public interface MessageFormat {
    Text format(OutboxEvent event, String locale, String subject);
  }

  @FunctionalInterface
  public interface DataFormat {
    Map<String, String> data(OutboxEvent event);
  }

  @FunctionalInterface
  public interface CollapseKey {
    String of(OutboxEvent event);
  }

  /** An outbox event as the dispatcher claimed it. */
  public record OutboxEvent(long id, String eventType, String aggregateType, String aggregateId, String unitId,
      JsonObject payload) {}

  /**
   * Every active supervisor whose covered subtrees include the event's unit: the same path-range rule as
   * {@link Scope}, read the other way round (whose scope contains this unit). Admins are not supervisors. Not the
   * event's author (payload {@code authorId}, when it names one; an escalation carries the original's): a supervisor
   * files reports too, has nothing to review in their own, and by opening the urgent alert about their own flagged
   * evidence kept it from being escalated (compared as text: a payload cannot fail the query).
   */
  static final String SUPERVISORS_COVERING_UNIT = "SELECT a.id AS account_id, a.locale, min(target.name) AS subject"
      + " FROM org_unit target"
      + " JOIN org_unit cover ON " + Scope.within("target.path", "cover.path")
      + " JOIN account_scope s ON s.unit_id = cover.id"
      + " JOIN account a ON a.id = s.account_id"
      + " WHERE target.id = $1 AND 'supervisor' = ANY (a.roles) AND a.disabled_at IS NULL"
      + " AND a.id::text IS DISTINCT FROM ($2::jsonb ->> 'authorId')"
      + " GROUP BY a.id, a.locale";

  private static final Map<String, Rule> RULES = new LinkedHashMap<>();

  static {
    RULES.put("report.completed", new Rule(SUPERVISORS_COVERING_UNIT,
        (event, locale, subject) -> "en".equals(locale)
            ? new Text("New field report", "A " + reportType(event, locale) + " report from " + subject + " is complete.")
            : new Text("新的现场报告", subject + " 提交了一份" + reportType(event, locale) + "报告。"),
        event -> Map.of(
            "eventType", event.eventType(),
            "reportId", event.payload().getString("reportId", event.aggregateId()),
            "unitId", event.payload().getString("unitId", event.unitId() == null ? "" : event.unitId())),
        event -> event.payload().getString("reportId", event.aggregateId())));
    // A report's first flagged evidence check: the same supervisors, marked as needing attention.
    RULES.put("report.evidence-flagged", new Rule(SUPERVISORS_COVERING_UNIT,
        (event, locale, subject) -> "en".equals(locale)
            ? new Text("Needs attention: evidence flagged",
                "A " + reportType(event, locale) + " report from " + subject + " has flagged evidence: "
                    + flags(event) + ".")
            : new Text("需要关注：证据存疑", subject + " 的" + reportType(event, locale) + "报告证据检查未通过："
                + flags(event) + "。"),
        event -> Map.of(
            "eventType", event.eventType(),
            "reportId", event.payload().getString("reportId", event.aggregateId()),
            "unitId", event.payload().getString("unitId", event.unitId() == null ? "" : event.unitId()),
            "attention", "true",
            "flags", flags(event)),
        event -> event.payload().getString("reportId", event.aggregateId())));
  }

  /**
   * The author of the report named in the payload ({@code reportId}), read from the report (not from the payload),
   * while their account is enabled; the subject is the report's unit. The event has no unit (outbox.unit_id NULL): the
   * report is the author's wherever their scope has moved since, as its reads are (ReportRepository: own reports).
   */
  static final String REPORT_AUTHOR = "SELECT a.id AS account_id, a.locale, u.name AS subject"
      + " FROM report r JOIN account a ON a.id = r.author_id JOIN org_unit u ON u.id = r.unit_id"
      + " WHERE r.id = ($2::jsonb ->> 'reportId')::uuid AND ($1::uuid IS NULL OR $1::uuid IS NOT NULL)"
      + " AND a.disabled_at IS NULL";

  static {
    // A supervisor RETURNED a report (reports/ReviewService): its author is told, and only them. One collapse key per
    // report's reviews, apart from the supervisors' pushes about the report.
    RULES.put("report.returned", new Rule(REPORT_AUTHOR,
        (event, locale, subject) -> "en".equals(locale)
            ? new Text("Report returned", "Your report from " + subject + " was returned by a supervisor. Open it"
                + " to see why.")
            : new Text("报告被退回", "您在" + subject + " 提交的报告已被主管退回，请打开查看原因。"),
        event -> Map.of(
            "eventType", event.eventType(),
            "reportId", event.payload().getString("reportId", event.aggregateId()),
            "reviewId", event.payload().getString("reviewId", ""),
            "unitId", event.payload().getString("unitId", "")),
        event -> "review:" + event.payload().getString("reportId", event.aggregateId())));
  }

  static {
    // Work records (issue 4): milestones and service requests, to the supervisors covering the record's unit. One
    // collapse key per milestone / request, so the newest state of a record replaces the older push on the device.
    RULES.put("milestone.at-risk", milestoneRule(
        (event, subject) -> new Text("Milestone at risk", milestone(event) + " (" + subject + ") is "
            + event.payload().getString("slippagePercent", "?") + "% behind plan."),
        (event, subject) -> new Text("里程碑进度滞后", subject + "「" + milestone(event) + "」落后计划 "
            + event.payload().getString("slippagePercent", "?") + "%。")));
    RULES.put("milestone.overdue", milestoneRule(
        (event, subject) -> new Text("Milestone overdue", milestone(event) + " (" + subject + ") was due "
            + event.payload().getString("plannedDue", "") + " and is " + event.payload().getString("percentComplete",
            "?") + "% complete."),
        (event, subject) -> new Text("里程碑已逾期", subject + "「" + milestone(event) + "」计划于 "
            + event.payload().getString("plannedDue", "") + " 完成，目前完成 "
            + event.payload().getString("percentComplete", "?") + "%。")));
    RULES.put("milestone.completed", milestoneRule(
        (event, subject) -> new Text("Milestone completed", milestone(event) + " (" + subject + ") is complete."),
        (event, subject) -> new Text("里程碑已完成", subject + "「" + milestone(event) + "」已完成。")));
    RULES.put("service-request.overdue", new Rule(SUPERVISORS_COVERING_UNIT,
        (event, locale, subject) -> "en".equals(locale)
            ? new Text("Service request overdue", "A request of " + event.payload().getString("enterpriseName", "")
                + " (" + subject + ") passed its deadline " + event.payload().getString("dueAt", "") + ".")
            : new Text("企业诉求已超期", subject + " " + event.payload().getString("enterpriseName", "")
                + " 的诉求已超过办理时限（" + event.payload().getString("dueAt", "") + "）。"),
        event -> Map.of(
            "eventType", event.eventType(),
            "serviceRequestId", event.payload().getString("serviceRequestId", event.aggregateId()),
            "enterpriseId", event.payload().getString("enterpriseId", ""),
            "unitId", event.payload().getString("unitId", event.unitId() == null ? "" : event.unitId())),
        event -> "service-request:" + event.payload().getString("serviceRequestId", event.aggregateId())));
  }

  private interface LocalText {
    Text of(OutboxEvent event, String subject);
  }

  private static Rule milestoneRule(LocalText en, LocalText zh) {
    return new Rule(SUPERVISORS_COVERING_UNIT,
        (event, locale, subject) -> "en".equals(locale) ? en.of(event, subject) : zh.of(event, subject),
        event -> Map.of(
            "eventType", event.eventType(),
            "milestoneId", event.payload().getString("milestoneId", event.aggregateId()),
            "projectId", event.payload().getString("projectId", ""),
            "unitId", event.payload().getString("unitId", event.unitId() == null ? "" : event.unitId())),
        event -> "milestone:" + event.payload().getString("milestoneId", event.aggregateId()));
  }

  private static String milestone(OutboxEvent event) {
    return event.payload().getString("projectName", "") + " / " + event.payload().getString("milestoneName", "");
  }

  private static String flags(OutboxEvent event) {
    io.vertx.core.json.JsonArray flags = event.payload().getJsonArray("flags");
    return flags == null ? "" : String.join(", ", flags.stream().map(String::valueOf).toList());
  }

  /**
   * Kinds whose alerts are escalated when nobody opens them in time (see {@code Escalations}); a kind listed here
   * needs a rule above to alert anyone in the first place.
   */
  private static final Set<String> URGENT = Set.of("report.evidence-flagged");

  static {
    // Escalation: the event re-sent one level up. Its unit is the parent of the original's; the payload is the
    // original's plus escalatedEventId, escalatedType, unitId and unitName (the original unit).
    RULES.put("alert.escalated", new Rule(SUPERVISORS_COVERING_UNIT,
        (event, locale, subject) -> "en".equals(locale)
            ? new Text("Unanswered urgent alert", "An urgent alert from "
                + event.payload().getString("unitName", subject) + " has not been opened.")
            : new Text("未处理的紧急提醒", event.payload().getString("unitName", subject) + " 的一条紧急提醒尚未被查看。"),
        event -> Map.of(
            "eventType", event.eventType(),
            "escalatedType", event.payload().getString("escalatedType", ""),
            "reportId", event.payload().getString("reportId", event.aggregateId()),
            "unitId", event.payload().getString("unitId", "")),
        event -> event.payload().getString("reportId", event.aggregateId())));
  }

  /**
   * Every active admin who may manage the partner client named in the payload ({@code clientId}): whose scope holds
   * every unit the client is granted (the rule of PartnerClientService.MANAGEABLE, read the other way round).
   */
  static final String ADMINS_MANAGING_CLIENT = "SELECT a.id AS account_id, a.locale, min(c.name) AS subject"
      + " FROM partner_client c, account a"
      + " WHERE c.id = ($2::jsonb ->> 'clientId')::uuid AND ($1::uuid IS NULL OR $1::uuid IS NOT NULL)"
      + " AND 'admin' = ANY (a.roles) AND a.disabled_at IS NULL"
      + " AND NOT EXISTS (SELECT 1 FROM unnest(c.unit_ids) AS g(unit_id) JOIN org_unit gu ON gu.id = g.unit_id"
      + "   WHERE NOT EXISTS (SELECT 1 FROM account_scope s JOIN org_unit cover ON cover.id = s.unit_id"
      + "     WHERE s.account_id = a.id AND " + Scope.within("gu.path", "cover.path") + "))"
      + " GROUP BY a.id, a.locale";

  static {
    // Webhooks (issue 7): a subscription that kept failing was disabled; the admins who manage its client are told.
    RULES.put("webhook.disabled", new Rule(ADMINS_MANAGING_CLIENT,
        (event, locale, subject) -> "en".equals(locale)
            ? new Text("Webhook disabled", "A webhook of " + subject + " kept failing and was disabled: "
                + webhookHost(event) + ".")
            : new Text("Webhook 已停用", subject + " 的 Webhook 持续投递失败，已停用：" + webhookHost(event) + "。"),
        event -> Map.of(
            "eventType", event.eventType(),
            "subscriptionId", event.payload().getString("subscriptionId", event.aggregateId()),
            "clientId", event.payload().getString("clientId", "")),
        event -> "webhook:" + event.payload().getString("subscriptionId", event.aggregateId())));
  }

  /**
   * The host of the disabled webhook's URL, all an admin's lock screen needs to tell which one it is: the path and
   * query of a receiver's URL often carry its own secret (a capability URL), and the whole URL (up to 2000
   * characters, 6 KB in Chinese) does not fit in a push. The subscription itself is in the data.
   */
  private static String webhookHost(OutboxEvent event) {
    try {
      String host = new URI(event.payload().getString("url", "")).getHost();
      return host == null ? "" : host;
    } catch (URISyntaxException e) {
      return "";
    }
  }

  private AlertRules() {}

  /** The kinds marked urgent. */
  public static Set<String> urgentKinds() {
    return URGENT;
  }

  /**
   * Event type -> the role its rule chooses recipients for ({@code supervisor}, {@code admin}): a delivery is judged
   * again when it is sent, and one whose recipient no longer holds that role is not pushed
   * (DispatchRepository.claimDeliveries). A rule choosing its recipient for who they are (a report's author) has none.
   */
  static Map<String, String> recipientRoles() {
    return RECIPIENT_ROLES;
  }

  /** {@link #recipientRoles()}, read off the rules once (declared after every rule's static block). */
  private static final Map<String, String> RECIPIENT_ROLES = rolesOfRules();

  private static Map<String, String> rolesOfRules() {
    Map<String, String> roles = new LinkedHashMap<>();
    RULES.forEach((eventType, rule) -> {
      if (rule.recipientsSql().equals(SUPERVISORS_COVERING_UNIT)) {
        roles.put(eventType, "supervisor");
      } else if (rule.recipientsSql().equals(ADMINS_MANAGING_CLIENT)) {
        roles.put(eventType, "admin");
      }
    });
    return java.util.Collections.unmodifiableMap(roles);
  }

  /**
   * The event types whose rule chose its recipients for a role that {@code roles} lacks: alerts of these kinds are no
   * longer the caller's (a supervisor made an officer), in the inbox as in the claim of their pushes.
   */
  static String[] kindsNotFor(java.util.Collection<String> roles) {
    return recipientRoles().entrySet().stream().filter(e -> !roles.contains(e.getValue())).map(Map.Entry::getKey)
        .toArray(String[]::new);
  }

  /** The rule for an event type; empty for events that alert nobody (they are marked dispatched all the same). */
  public static Optional<Rule> forEvent(String eventType) {
    return Optional.ofNullable(RULES.get(eventType));
  }

  private static String reportType(OutboxEvent event, String locale) {
    String type = event.payload().getString("type", "");
    boolean en = "en".equals(locale);
    return switch (type) {
      case "SITE" -> en ? "site" : "现场";
      case "ENTERPRISE_SERVICE" -> en ? "enterprise service" : "企业服务";
      case "MILESTONE_PROGRESS" -> en ? "milestone progress" : "项目进度";
      default -> en ? "field" : "";
    };
  }
}
