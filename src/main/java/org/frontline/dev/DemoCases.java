package org.frontline.dev;

import org.frontline.config.FrontlineConfig;
import org.frontline.enterprises.Uscc;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Date;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.temporal.ChronoUnit;
import java.util.UUID;

/**
 * The reference cases of docs/DOMAIN.md as dev-mode records, on top of {@link DemoOrganisation}: the Jianghai Avenue
 * east extension (Tongzhou) with its milestones, some progress and one slipping bid section; Hanjiang enterprises
 * with valid credit codes and service requests in every state, one of them overdue; postings of officer.xu and
 * officer.zhang to the four front lines. Dates are relative to the first run (a project 4 months into its 9), so
 * the figures mean something whenever dev mode is first started. Ids are derived from names and every insert is
 * {@code ON CONFLICT DO NOTHING}: a restart writes nothing. Dev mode only (the test environment seeds only the
 * organisation, as its tests count rows); written as rows, not through the API, because the cases lie in the past
 * (an overdue request, progress measured weeks ago) and the API stamps "now".
 */
public final class DemoCases {
  public static final UUID JIANGHAI_AVENUE = id("project:Jianghai Avenue east extension");
  static final ZoneId ZONE = ZoneId.of("Asia/Shanghai");
  private static final UUID XU = account("officer.xu");
  private static final UUID ZHANG = account("officer.zhang");
  private static final UUID SUPERVISOR_HANJIANG = account("supervisor.hanjiang");

  /**
   * Hanjiang enterprises: name, industry, unit, the credit code's first 17 characters (check character computed), and
   * the account responsible for its requests, who must cover its unit (as the API requires) to read and move them.
   */
  record Enterprise(String key, String name, String industry, UUID unit, String code17, UUID responsible) {
    UUID id() {
      return DemoCases.id("enterprise:" + key);
    }

    String uscc() {
      return code17 + Uscc.checkCharacter(code17);
    }
  }

  static final Enterprise SEMICONDUCTOR = new Enterprise("zhixin", "扬州智芯半导体有限公司 Yangzhou Zhixin Semiconductor",
      "Semiconductors", DemoOrganisation.HUAISI, "91321003MA1WB2XK6", XU);
  static final Enterprise STORAGE = new Enterprise("storage", "扬州邗江储能科技有限公司 Hanjiang Energy Storage Technology",
      "Energy storage", DemoOrganisation.HANJIANG, "91321003MA1Y8N3Q1", SUPERVISOR_HANJIANG);
  static final Enterprise MACHINERY = new Enterprise("machinery", "扬州槐泗精密机械有限公司 Huaisi Precision Machinery",
      "Precision machinery", DemoOrganisation.HUAISI, "91321003MA1TQ7HR4", XU);

  private DemoCases() {}

  /** Writes whatever of the cases is missing; returns the number of rows written (0 on a restart). */
  public static int seed(FrontlineConfig.Database config) throws SQLException {
    try (Connection c = DriverManager.getConnection(config.jdbcUrl(), config.user(), config.password())) {
      c.setAutoCommit(false);
      // Two dev instances starting at once on one database would both insert: ON CONFLICT keeps the first.
      int n = new Writer(c, LocalDate.now(ZONE), Instant.now().truncatedTo(ChronoUnit.SECONDS)).all();
      c.commit();
      return n;
    }
  }

  private static final class Writer {
    private final Connection c;
    private final LocalDate today;
    private final Instant now;
    private int written;

    Writer(Connection c, LocalDate today, Instant now) {
      this.c = c;
      this.today = today;
      this.now = now;
    }

    int all() throws SQLException {
      if (exists()) {
        return 0;
      }
      jianghaiAvenue();
      enterprises();
      serviceRequests();
      postings();
      return written;
    }

    /** Seeded once: the project is the marker (its dates would otherwise move with each restart's "today"). */
    private boolean exists() throws SQLException {
      try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM project WHERE id = ?")) {
        ps.setObject(1, JIANGHAI_AVENUE);
        return ps.executeQuery().next();
      }
    }

    /** Started 120 days ago, 9 months (270 days) in all: utilities and trees first, then the road in two sections. */
    private void jianghaiAvenue() throws SQLException {
      LocalDate start = today.minusDays(120);
      update("INSERT INTO project (id, unit_id, name, investment_yuan, site_lat, site_lon, site_radius_m, bid_sections,"
              + " status) VALUES (?, ?, ?, 3500000000, 32.0648, 121.0876, 3000, ARRAY['Bid section 1', 'Bid section 2'],"
              + " 'IN_PROGRESS') ON CONFLICT (id) DO NOTHING",
          JIANGHAI_AVENUE, DemoOrganisation.TONGZHOU, "江海大道东延 Jianghai Avenue east extension");
      // Done: all 10 kinds of utility lines moved, and the 10,000+ trees.
      milestone("Utility lines relocated (10 kinds)", "utility_lines", "10", start, start.plusDays(60),
          "4", start.plusDays(20), "10", start.plusDays(57));
      milestone("Trees relocated", "trees", "10200", start, start.plusDays(90),
          "6000", start.plusDays(50), "10200", start.plusDays(86));
      // The road: on day 120 of 270, 60 of 210 days into each section: 0.426 km planned to date.
      milestone("Elevated road, bid section 1", "km", "1.49", start.plusDays(60), start.plusDays(270),
          "0.20", start.plusDays(90), "0.42", start.plusDays(118));
      // Slipping: 0.25 km of 0.426 planned to date (11.8 % of the section behind, above the 10 % threshold).
      milestone("Elevated road, bid section 2", "km", "1.49", start.plusDays(60), start.plusDays(270),
          "0.12", start.plusDays(90), "0.25", start.plusDays(118));
    }

    private void milestone(String name, String unit, String planned, LocalDate start, LocalDate due,
                           String q1, LocalDate on1, String q2, LocalDate on2) throws SQLException {
      UUID id = id("milestone:" + name);
      update("INSERT INTO milestone (id, project_id, name, unit) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
          id, JIANGHAI_AVENUE, name, unit);
      update("INSERT INTO milestone_baseline (milestone_id, version, planned_quantity, planned_start, planned_due,"
          + " reason) VALUES (?, 1, ?::numeric, ?, ?, 'Dev-mode demo case') ON CONFLICT DO NOTHING", id, planned,
          Date.valueOf(start), Date.valueOf(due));
      for (String[] p : new String[][] {{q1, on1.toString()}, {q2, on2.toString()}}) {
        update("INSERT INTO milestone_progress (milestone_id, quantity, measured_on, recorded_by) SELECT ?, ?::numeric, ?, ?"
            + " WHERE NOT EXISTS (SELECT 1 FROM milestone_progress WHERE milestone_id = ? AND measured_on = ?)",
            id, p[0], Date.valueOf(p[1]), ZHANG, id, Date.valueOf(p[1]));
      }
    }

    private void enterprises() throws SQLException {
      for (Enterprise e : new Enterprise[] {SEMICONDUCTOR, STORAGE, MACHINERY}) {
        update("INSERT INTO enterprise (id, name, uscc, industry, unit_id) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            e.id(), e.name(), e.uscc(), e.industry(), e.unit());
      }
      update("INSERT INTO enterprise_designation (enterprise_id, kind, awarded_on) VALUES (?,"
          + " 'SPECIALISED_REFINED_DISTINCTIVE_INNOVATIVE', ?) ON CONFLICT DO NOTHING", SEMICONDUCTOR.id(),
          Date.valueOf(today.minusYears(1)));
    }

    /** One request in each state; the land request is past its 30-day SLA and still being coordinated. */
    private void serviceRequests() throws SQLException {
      UUID talent = request("talent", SEMICONDUCTOR, "TALENT", "Housing for 12 chip engineers joining in spring",
          40, 15, 30, "Talent apartments allocated", 29, 5, null);
      step(talent, SEMICONDUCTOR, 1, "RECEIVED", "COORDINATING", "人社局 Human Resources and Social Security Bureau",
          null, null, 38);
      step(talent, SEMICONDUCTOR, 2, "COORDINATING", "RESOLVED", null, "Talent apartments allocated", null, 30);
      step(talent, SEMICONDUCTOR, 3, "RESOLVED", "CLOSED", null, null, 5, 29);
      // The storage project whose approvals were cut by 13 working days (DOMAIN.md).
      UUID approval = request("approval", STORAGE, "APPROVAL", "Parallel approvals for the 10-billion-yuan storage"
          + " project", 20, 10, 17, "Joint review: permits issued in 3 days", null, null, 13);
      step(approval, STORAGE, 1, "RECEIVED", "COORDINATING", "行政审批局 Administrative Approval Bureau", null, null,
          19);
      step(approval, STORAGE, 2, "COORDINATING", "RESOLVED", null, "Joint review: permits issued in 3 days", null, 17);
      UUID land = request("land", MACHINERY, "LAND", "Land for the second workshop (35 mu)", 45, 30, null, null, null,
          null, null);
      step(land, MACHINERY, 1, "RECEIVED", "COORDINATING", "自然资源和规划局 Natural Resources and Planning Bureau",
          null, null, 40);
      request("financing", SEMICONDUCTOR, "FINANCING", "Working-capital loan guarantee", 2, 15, null, null, null, null,
          null);
    }

    private UUID request(String key, Enterprise e, String category, String description, int receivedDaysAgo,
                         int slaDays, Integer resolvedDaysAgo, String evidence, Integer closedDaysAgo,
                         Integer satisfaction, Integer daysSaved) throws SQLException {
      UUID id = id("service-request:" + key);
      Instant received = ago(receivedDaysAgo);
      String status = closedDaysAgo != null ? "CLOSED" : resolvedDaysAgo != null ? "RESOLVED"
          : key.equals("land") ? "COORDINATING" : "RECEIVED";
      update("INSERT INTO service_request (id, enterprise_id, category, description, responsible_officer_id, status,"
              + " received_at, due_at, resolved_at, evidence, closed_at, satisfaction, approval_days_saved)"
              + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
          id, e.id(), category, description, e.responsible(), status, Timestamp.from(received),
          Timestamp.from(received.plus(slaDays, ChronoUnit.DAYS)),
          resolvedDaysAgo == null ? null : Timestamp.from(ago(resolvedDaysAgo)), evidence,
          closedDaysAgo == null ? null : Timestamp.from(ago(closedDaysAgo)), satisfaction, daysSaved);
      return id;
    }

    private void step(UUID request, Enterprise e, int seq, String from, String to, String department, String evidence,
                      Integer satisfaction, int daysAgo) throws SQLException {
      update("INSERT INTO service_request_step (service_request_id, seq, from_status, to_status, department, evidence,"
              + " satisfaction, actor_id, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
          request, seq, from, to, department, evidence, satisfaction, e.responsible(), Timestamp.from(ago(daysAgo)));
    }

    /** The four front lines: each officer's current posting and an earlier, ended one. */
    private void postings() throws SQLException {
      LocalDate projectStart = today.minusDays(120);
      posting("xu:investment", XU, "INVESTMENT_PROMOTION", DemoOrganisation.HUAISI, today.minusDays(90), null, null,
          new UUID[] {SEMICONDUCTOR.id(), MACHINERY.id()});
      posting("xu:environmental", XU, "ENVIRONMENTAL", DemoOrganisation.HUAISI, today.minusDays(400),
          today.minusDays(91), null, new UUID[0]);
      posting("zhang:major-project", ZHANG, "MAJOR_PROJECT", DemoOrganisation.TONGZHOU, projectStart,
          projectStart.plusDays(270), JIANGHAI_AVENUE, new UUID[0]);
      posting("zhang:petition", ZHANG, "PETITION_STABILITY", DemoOrganisation.TONGZHOU, today.minusDays(300),
          projectStart.minusDays(1), null, new UUID[0]);
    }

    private void posting(String key, UUID officer, String frontLine, UUID unit, LocalDate starts, LocalDate ends,
                         UUID project, UUID[] enterprises) throws SQLException {
      update("INSERT INTO posting (id, officer_id, front_line, unit_id, starts_on, ends_on, project_id, enterprise_ids)"
              + " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", id("posting:" + key), officer, frontLine,
          unit, Date.valueOf(starts), ends == null ? null : Date.valueOf(ends), project,
          c.createArrayOf("uuid", enterprises));
    }

    private Instant ago(int days) {
      return now.minus(days, ChronoUnit.DAYS);
    }

    private void update(String sql, Object... params) throws SQLException {
      try (PreparedStatement ps = c.prepareStatement(sql)) {
        for (int i = 0; i < params.length; i++) {
          ps.setObject(i + 1, params[i]);
        }
        written += ps.executeUpdate();
      }
    }
  }

  static UUID id(String name) {
    return UUID.nameUUIDFromBytes(("frontline-demo-case:" + name).getBytes(StandardCharsets.UTF_8));
  }

  private static UUID account(String username) {
    return DemoOrganisation.ACCOUNTS.stream().filter(a -> a.username().equals(username)).findFirst().orElseThrow().id();
  }
}
