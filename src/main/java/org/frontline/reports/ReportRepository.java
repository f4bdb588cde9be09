package org.frontline.reports;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import org.frontline.identity.Scope;
import org.frontline.platform.db.BoundedWalk;
import org.frontline.platform.http.ExactNumbers;

import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/** The SQL of reports and their declared attachments. */
final class ReportRepository {

  /** What is stored under an id already taken: enough to tell a repeat from a conflict. */
  record Existing(UUID authorId, byte[] requestSha256, JsonObject request, String responseText) {}

  /**
   * Filters of the list; null fields do not filter. {@code evidenceChecks}: the report's {@code evidenceChecks} state
   * (PENDING, DONE, UNAVAILABLE: {@link ReportView#reportChecks}); {@code review}: PENDING (COMPLETE, never reviewed),
   * ACCEPTED or RETURNED (its latest review's decision).
   */
  record Filter(UUID unitId, String type, String status, UUID authorId, OffsetDateTime from, OffsetDateTime to,
                double[] bbox, Boolean hasEvidenceFlags, String evidenceChecks, String review) {
    /**
     * What the list's cursors are bound to (Page.filters). {@code evidenceChecks} and {@code review} only when given
     * (review named, so review=PENDING is not evidenceChecks=PENDING), so the cursors of the lists without them are
     * those handed out before they existed.
     */
    String cursorFilters() {
      List<Object> values = new ArrayList<>(java.util.Arrays.asList(unitId, type, status, authorId, from, to, bbox,
          hasEvidenceFlags));
      if (evidenceChecks != null) {
        values.add(evidenceChecks);
      }
      if (review != null) {
        values.add("review=" + review);
      }
      return org.frontline.identity.Page.filters("reports", values.toArray());
    }
  }

  /** Whether the caller is in the unit in scope (live units only). */
  Future<Boolean> unitInScope(SqlClient conn, Scope scope, UUID unitId) {
    return conn.preparedQuery("SELECT 1 FROM org_unit u WHERE u.id = $1 AND u.retired_at IS NULL AND "
            + Scope.sql("u.path", 2))
        .execute(Tuple.of(unitId, (Object) scope.paths()))
        .map(rows -> rows.size() > 0);
  }

  /** The reports' columns as arrays, $1-$18 ({@link #reportArrays}), unnested with these names. */
  private static final String REPORT_ARRAYS = """
      $1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[],
      $9::timestamptz[], $10::timestamptz[], $11::float8[], $12::float8[], $13::float8[], $14::text[], $15::bool[],
      $16::text[], $17::bytea[], $18::text[]""";
  private static final String REPORT_ARRAY_NAMES = """
      id, author_id, unit_id, type, status, title, "text", captured_at, received_at, completed_at, lat, lon,
      accuracy_m, location_provider, location_mock, request, request_sha256, response""";

  /** Inserts the reports of {@code source} (rows named as REPORT_ARRAY_NAMES, plus req and ordinal). */
  private static String insertReportsFrom(String source) {
    return """
        INSERT INTO report (id, author_id, unit_id, type, status, title, text, captured_at, received_at,
                            completed_at, lat, lon, accuracy_m, location_provider, location_mock, body, request,
                            request_sha256, response)
        SELECT id, author_id, unit_id, type, status, title, "text", captured_at, received_at, completed_at, lat, lon,
               accuracy_m, location_provider, location_mock, req -> 'body', req, request_sha256, response
        FROM %s ORDER BY ordinal
        ON CONFLICT (id) DO NOTHING
        RETURNING id""".formatted(source);
  }

  /**
   * Inserts a report written alone ({@link #insert}) unless its id is taken, with the insert a group's statement
   * ends its reports with. The envelope is sent once and parsed once (materialized); its body part is taken from it,
   * not sent again.
   */
  static final String INSERT_REPORTS = "WITH r AS MATERIALIZED (SELECT u.*, u.request::jsonb AS req FROM unnest("
      + REPORT_ARRAYS + ") WITH ORDINALITY AS u(" + REPORT_ARRAY_NAMES + ", ordinal))\n" + insertReportsFrom("r");

  /** The columns of an attachment's row that its declaration gives. */
  private static final String ATTACHMENT_COLUMNS =
      "attachment (id, report_id, ordinal, declared_sha256, declared_size, declared_content_type, filename)";

  /** The declared attachments as arrays ({@link #attachmentArrays}) from parameter ${@code first} on, as rows a. */
  private static String attachmentRows(int first) {
    return "unnest($%d::uuid[], $%d::uuid[], $%d::int[], $%d::bytea[], $%d::int8[], $%d::text[], $%d::text[])"
        .formatted(first, first + 1, first + 2, first + 3, first + 4, first + 5, first + 6)
        + " AS a(id, report_id, ordinal, sha256, size, content_type, filename)";
  }

  /** The payload of a report.completed event, from columns report_id/id, unit_id, author_id, type. */
  private static final String COMPLETED_PAYLOAD = """
      jsonb_build_object('reportId', %1$s::text, 'unitId', unit_id::text, 'authorId', author_id::text, 'type', type)""";

  /**
   * A group of submissions in one statement, so in one transaction that commits when it ends, with no round trip
   * between its parts (SubmissionBatcher): each report whose unit is live and in its author's scope is inserted
   * unless its id is taken; for those inserted, their attachments, the report.completed events of those complete,
   * and their audit entries (audit_append, last: the chain's lock is taken after everything else is written and
   * held only to the commit). A report declaring an attachment id that another report holds (as the statement's
   * snapshot sees it: one primary-key lookup per declared attachment) is left out like one not allowed, so the
   * group does not fail on attachment_pkey; one committed by another transaction while the statement runs still
   * fails it. One row per submission, in order: whether it was allowed, whether created, whether an attachment id
   * was taken, and for a taken id what this statement's snapshot holds under it (nothing if the report that took it
   * committed after the statement began). Parameters: $1-$18 the reports ({@link #reportArrays}), $19-$23 per report: scope everywhere
   * (the system), the actor's label when not an account's name, client address, request id, the audit details as
   * canonical JSON; $24-$25 the authors' scope units as (ordinal, unit id) pairs; $26-$32 the attachments.
   */
  static final String SUBMIT_GROUP = """
      WITH r AS MATERIALIZED (
        SELECT u.*, u.request::jsonb AS req
        FROM unnest(%1$s, $19::bool[], $20::text[], $21::text[], $22::text[], $23::text[])
          WITH ORDINALITY AS u(%2$s, everywhere, actor_label, client_address, request_id, audit_details, ordinal)),
      attachment_taken AS MATERIALIZED (
        -- by its primary key, per declared attachment (LIMIT keeps it a lookup, as below)
        SELECT DISTINCT a.report_id FROM unnest($26::uuid[], $27::uuid[]) AS a(id, report_id)
        CROSS JOIN LATERAL (SELECT 1 FROM attachment x WHERE x.id = a.id AND x.report_id <> a.report_id LIMIT 1) AS x),
      allowed AS MATERIALIZED (
        SELECT r.* FROM r JOIN org_unit u ON u.id = r.unit_id AND u.retired_at IS NULL
        WHERE (r.everywhere OR EXISTS (
          SELECT 1 FROM unnest($24::int[], $25::uuid[]) AS s(ordinal, unit_id) JOIN org_unit su ON su.id = s.unit_id
          WHERE s.ordinal = r.ordinal AND %3$s))
          AND r.id NOT IN (SELECT report_id FROM attachment_taken)),
      ins AS (%4$s),
      att AS (
        INSERT INTO %6$s
        SELECT a.* FROM %7$s JOIN ins ON ins.id = a.report_id
        ORDER BY a.id
        RETURNING 1),
      ev AS (
        -- the feed position once for the group (an InitPlan), not the column's default once per event: the same
        -- transaction, so the same position, at a tenth of the cost in a group of ten (V185 feed_position)
        INSERT INTO outbox (event_type, aggregate_type, aggregate_id, unit_id, payload, txid)
        SELECT 'report.completed', 'report', a.id, a.unit_id, %5$s, (SELECT feed_position())
        FROM allowed a JOIN ins USING (id) WHERE a.status = 'COMPLETE' ORDER BY a.ordinal
        RETURNING 1),
      aud AS MATERIALIZED (
        SELECT audit_append(e.actor_ids, e.labels, e.actions, e.object_types, e.object_ids, e.unit_ids, e.clients,
                            e.request_ids, e.outcomes, e.details) AS last_seq
        FROM (SELECT array_agg(a.author_id ORDER BY a.ordinal) AS actor_ids,
                     array_agg(coalesce(a.actor_label, acc.username, a.author_id::text) ORDER BY a.ordinal) AS labels,
                     array_agg('report.create'::text ORDER BY a.ordinal) AS actions,
                     array_agg('report'::text ORDER BY a.ordinal) AS object_types,
                     array_agg(a.id::text ORDER BY a.ordinal) AS object_ids,
                     array_agg(a.unit_id ORDER BY a.ordinal) AS unit_ids,
                     array_agg(a.client_address ORDER BY a.ordinal) AS clients,
                     array_agg(a.request_id ORDER BY a.ordinal) AS request_ids,
                     array_agg('SUCCESS'::text ORDER BY a.ordinal) AS outcomes,
                     array_agg(a.audit_details ORDER BY a.ordinal) AS details
              FROM allowed a JOIN ins USING (id) LEFT JOIN account acc ON acc.id = a.author_id) AS e,
             -- the attachments and events first: the chain's lock is held from here to the commit
             (SELECT count(*) FROM att) AS attachments, (SELECT count(*) FROM ev) AS events)
      SELECT r.ordinal, al.id IS NOT NULL AS allowed, ins.id IS NOT NULL AS created,
             r.id IN (SELECT report_id FROM attachment_taken) AS attachment_taken,
             x.author_id, x.request_sha256, x.request, x.response
      FROM r
      LEFT JOIN allowed al ON al.ordinal = r.ordinal
      LEFT JOIN ins ON ins.id = r.id
      -- by its primary key (LIMIT keeps it a lookup: a join could be planned as a scan of the table)
      LEFT JOIN LATERAL (SELECT x.author_id, x.request_sha256, x.request::text AS request, x.response FROM report x
                         WHERE x.id = r.id AND ins.id IS NULL AND al.id IS NOT NULL LIMIT 1) AS x
        ON true
      CROSS JOIN aud
      ORDER BY r.ordinal""".formatted(REPORT_ARRAYS, REPORT_ARRAY_NAMES, Scope.within("u.path", "su.path"),
      insertReportsFrom("allowed"), COMPLETED_PAYLOAD.formatted("a.id"), ATTACHMENT_COLUMNS, attachmentRows(26));

  /** A submission of a group: its report, and what its audit entry and scope check need. */
  record GroupItem(NewReport report, boolean everywhere, List<UUID> scopeUnitIds, String actorLabel,
                   String clientAddress, String requestId, JsonObject auditDetails) {}

  /**
   * What became of a submission of a group: not allowed (unit retired or outside the author's scope, or
   * {@code attachmentTaken}: an attachment id it declares is another report's), created, or its id taken; then
   * {@code existing} is what was stored under it, when the statement could see it.
   */
  record GroupResult(boolean allowed, boolean created, boolean attachmentTaken, Existing existing) {}

  /** Writes a group with {@link #SUBMIT_GROUP}: one result per item, in order. */
  Future<List<GroupResult>> submitGroup(SqlClient client, List<GroupItem> items) {
    int n = items.size();
    Boolean[] everywhere = new Boolean[n];
    String[] labels = new String[n], clients = new String[n], requestIds = new String[n], details = new String[n];
    List<Integer> scopeOrdinals = new ArrayList<>();
    List<UUID> scopeUnits = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      GroupItem item = items.get(i);
      everywhere[i] = item.everywhere();
      labels[i] = item.actorLabel();
      clients[i] = item.clientAddress();
      requestIds[i] = item.requestId();
      details[i] = org.frontline.audit.AuditChain.canonicalJson(item.auditDetails());
      for (UUID unit : item.scopeUnitIds()) {
        scopeOrdinals.add(i + 1);
        scopeUnits.add(unit);
      }
    }
    Object[] reportArrays = reportArrays(items.stream().map(GroupItem::report).toList());
    List<Object> args = new ArrayList<>(List.of(reportArrays));
    args.addAll(List.of(everywhere, labels, clients, requestIds, details, scopeOrdinals.toArray(Integer[]::new),
        scopeUnits.toArray(UUID[]::new)));
    args.addAll(List.of(attachmentArrays(items.stream().map(item -> item.report().envelope()).toList())));
    return client.preparedQuery(SUBMIT_GROUP).execute(Tuple.from(args)).map(rows -> {
      List<GroupResult> results = new ArrayList<>(n);
      for (Row r : rows) {
        Existing existing = r.getUUID("author_id") == null ? null : existing(r);
        results.add(new GroupResult(r.getBoolean("allowed"), r.getBoolean("created"), r.getBoolean("attachment_taken"),
            existing));
      }
      return results;
    });
  }

  /** A report to insert: what {@link #insert} and a group need of a submission. */
  record NewReport(Envelope envelope, UUID authorId, String status, OffsetDateTime receivedAt, byte[] sha256,
                   String response) {}

  /** The reports as the 18 arrays of {@link #REPORT_ARRAYS}, in that order (the 201 bodies last, as text). */
  private static Object[] reportArrays(List<NewReport> rows) {
    int n = rows.size();
    UUID[] ids = new UUID[n], authors = new UUID[n], units = new UUID[n];
    String[] types = new String[n], statuses = new String[n], titles = new String[n], texts = new String[n],
        providers = new String[n], requests = new String[n], responses = new String[n];
    OffsetDateTime[] captured = new OffsetDateTime[n], received = new OffsetDateTime[n], completed = new OffsetDateTime[n];
    Double[] lats = new Double[n], lons = new Double[n], accuracies = new Double[n];
    Boolean[] mocks = new Boolean[n];
    Buffer[] hashes = new Buffer[n];
    for (int i = 0; i < n; i++) {
      NewReport r = rows.get(i);
      Envelope e = r.envelope();
      ids[i] = e.id();
      authors[i] = r.authorId();
      units[i] = e.unitId();
      types[i] = e.type();
      statuses[i] = r.status();
      titles[i] = e.title();
      texts[i] = e.text();
      captured[i] = e.capturedAt();
      received[i] = r.receivedAt();
      completed[i] = "COMPLETE".equals(r.status()) ? r.receivedAt() : null;
      lats[i] = e.location().lat();
      lons[i] = e.location().lon();
      accuracies[i] = e.location().accuracyM();
      providers[i] = e.location().provider();
      mocks[i] = e.location().mock();
      requests[i] = e.canonical();
      hashes[i] = Buffer.buffer(r.sha256());
      responses[i] = r.response();
    }
    return new Object[] {ids, authors, units, types, statuses, titles, texts, captured, received, completed, lats,
        lons, accuracies, providers, mocks, requests, hashes, responses};
  }

  /**
   * Inserts the report unless its id is taken (the primary key decides, never a prior check): the stored 201 body,
   * or empty when the id was already taken (by a committed report).
   */
  Future<Optional<String>> insert(SqlClient conn, Envelope e, UUID authorId, String status, OffsetDateTime receivedAt,
                                  byte[] sha256, String response) {
    return conn.preparedQuery(INSERT_REPORTS)
        .execute(Tuple.from(reportArrays(List.of(new NewReport(e, authorId, status, receivedAt, sha256, response)))))
        .map(inserted -> inserted.size() == 0 ? Optional.<String>empty() : Optional.of(response));
  }

  /** A report's declared attachments in one statement, in attachment-id order (as a group inserts them). */
  private static final String INSERT_ATTACHMENTS =
      "INSERT INTO " + ATTACHMENT_COLUMNS + " SELECT a.* FROM " + attachmentRows(1) + " ORDER BY a.id";

  Future<Void> insertAttachments(SqlClient conn, Envelope envelope) {
    if (envelope.attachments().isEmpty()) {
      return Future.succeededFuture();
    }
    return conn.preparedQuery(INSERT_ATTACHMENTS).execute(Tuple.from(attachmentArrays(List.of(envelope))))
        .mapEmpty();
  }

  /**
   * The report.completed event of a report: complete at once, or whose last photo is in (AttachmentLedger). A group
   * writes its reports' events in its own statement, with the same payload.
   */
  private static final String INSERT_COMPLETED_EVENT = """
      INSERT INTO outbox (event_type, aggregate_type, aggregate_id, unit_id, payload)
      SELECT 'report.completed', 'report', report_id, unit_id, %s
      FROM (VALUES ($1::uuid, $2::uuid, $3::uuid, $4::text)) AS e(report_id, unit_id, author_id, type)"""
      .formatted(COMPLETED_PAYLOAD.formatted("report_id"));

  Future<Void> insertCompletedEvent(SqlClient conn, UUID reportId, UUID unitId, UUID authorId, String type) {
    return conn.preparedQuery(INSERT_COMPLETED_EVENT).execute(Tuple.of(reportId, unitId, authorId, type)).mapEmpty();
  }

  Future<Existing> existing(SqlClient conn, UUID id) {
    return existing(conn, new UUID[] {id}).map(found -> found.get(id));
  }

  /** The declared attachments of these envelopes as the arrays $26-$32 of {@link #SUBMIT_GROUP}. */
  private static Object[] attachmentArrays(List<Envelope> envelopes) {
    int m = envelopes.stream().mapToInt(e -> e.attachments().size()).sum();
    UUID[] ids = new UUID[m], reportIds = new UUID[m];
    Integer[] ordinals = new Integer[m];
    Buffer[] sha256s = new Buffer[m];
    Long[] sizes = new Long[m];
    String[] contentTypes = new String[m], filenames = new String[m];
    int a = 0;
    for (Envelope e : envelopes) {
      for (int i = 0; i < e.attachments().size(); i++, a++) {
        Envelope.Declaration d = e.attachments().get(i);
        ids[a] = d.id();
        reportIds[a] = e.id();
        ordinals[a] = i;
        sha256s[a] = Buffer.buffer(d.sha256());
        sizes[a] = d.size();
        contentTypes[a] = d.contentType();
        filenames[a] = d.filename();
      }
    }
    return new Object[] {ids, reportIds, ordinals, sha256s, sizes, contentTypes, filenames};
  }

  /** What is stored under each of these ids (ids without a report are absent from the map). */
  Future<Map<UUID, Existing>> existing(SqlClient conn, UUID[] ids) {
    return conn.preparedQuery("SELECT id, author_id, request_sha256, request::text AS request, response FROM report"
            + " WHERE id = ANY ($1)")
        .execute(Tuple.of(ids))
        .map(rows -> {
          Map<UUID, Existing> found = new HashMap<>();
          for (Row r : rows) {
            found.put(r.getUUID("id"), existing(r));
          }
          return found;
        });
  }

  private static Existing existing(Row r) {
    return new Existing(r.getUUID("author_id"), r.getBuffer("request_sha256").getBytes(),
        ExactNumbers.object(r.getString("request")), r.getString("response"));
  }

  private static final String COLUMNS = """
      r.id, r.type, r.unit_id, r.author_id, r.status, r.title, r.text, r.captured_at, r.received_at, r.completed_at,
      r.lat, r.lon, r.accuracy_m, r.location_provider, r.location_mock, r.body::text AS body, r.flagged,
      r.report_checks_due IS NOT FALSE AS checks_due, r.review_decision""";

  /**
   * Who may read a report: its author, or a reader role (supervisor, assessor, admin) whose scope covers its unit.
   * Parameters: $1 the caller's account id, $2 whether the caller holds a reader role, $3 the scope's paths.
   */
  private static final String AS_READER = "($2 AND " + Scope.sqlForUnitId("r.unit_id", 3) + ")";
  private static final String VISIBLE = "(r.author_id = $1 OR " + AS_READER + ")";
  /**
   * Whether the caller reads the report as a reader in scope, who sees its evidence checks and flag, rather than
   * only as its author (a supervisor's own report in a unit no longer in their scope): decided per report.
   */
  private static final String SELECT_COLUMNS = "SELECT " + COLUMNS + ", " + AS_READER + " AS as_reader";
  private static final String SELECT = SELECT_COLUMNS + " FROM report r WHERE ";

  /**
   * review=PENDING (COMPLETE, never reviewed) in two parts, each a page of its own in index order, then merged: the
   * reports whose report-level checks are recorded, from report_review_pending_idx (V198: an entry from the checks'
   * UPDATE to the first review, none at the INSERT), and the few still awaiting the report checker, from
   * report_checks_due_idx. Neither walks the reviewed reports. Each part carries every condition and its own ORDER BY
   * and LIMIT: a UNION ALL whose parts have WHERE clauses is not flattened, so a limit only outside it read each part
   * whole (a bitmap scan and a sort of every pending report).
   */
  private static final List<String> PENDING_REVIEW = List.of(
      "r.status = 'COMPLETE' AND r.report_checks_due IS FALSE AND r.review_decision IS NULL",
      "r.status = 'COMPLETE' AND r.report_checks_due IS NOT FALSE AND r.review_decision IS NULL");

  /**
   * The review filter's condition for a decision (a literal, so that a generic plan may use the partial
   * report_reviewed_idx, as CHECKS_STATE's); PENDING is a source of its own ({@link #PENDING_REVIEW}).
   */
  private static final Map<String, String> REVIEWED = Map.of(
      ReportReview.ACCEPTED, " AND r.review_decision = 'ACCEPTED'",
      ReportReview.RETURNED, " AND r.review_decision = 'RETURNED'");

  /** Whether the caller may read the report (the rule of {@link #find}), without reading it. */
  static Future<Boolean> readable(SqlClient client, UUID callerId, boolean reader, Scope scope, UUID id) {
    return client.preparedQuery("SELECT 1 FROM report r WHERE r.id = $4 AND " + VISIBLE)
        .execute(Tuple.of(callerId, reader, scope.paths(), id))
        .map(rows -> rows.size() > 0);
  }

  Future<Optional<ReportView>> find(SqlClient client, UUID callerId, boolean reader, Scope scope, UUID id) {
    return client.preparedQuery(SELECT + "r.id = $4 AND " + VISIBLE)
        .execute(Tuple.of(callerId, reader, scope.paths(), id))
        .compose(rows -> rows.size() == 0 ? Future.succeededFuture(Optional.<ReportView>empty())
            : withAttachments(client, callerId, scope, List.of(rows.iterator().next()))
                .map(list -> Optional.of(list.get(0))));
  }

  /** One page (limit rows, +1 to know there is more), newest received first, then by id: the indexes' order. */
  Future<List<ReportView>> list(SqlClient client, UUID callerId, boolean reader, Scope scope, Filter f,
                                OffsetDateTime afterReceived, UUID afterId, int limit) {
    PageStatements s = pageStatements(callerId, reader, scope.paths(), reader && scope.coversARoot(), f,
        afterReceived, afterId, limit);
    Future<List<Row>> page = s.walk() == null ? rows(client, s.sql(), s.params()) : rows(client, s.walk(),
        s.walkParams()).compose(walked -> BoundedWalk.page(walked, limit, () -> rows(client, s.sql(), s.params())));
    return page.compose(rows -> withAttachments(client, callerId, scope, rows));
  }

  /**
   * A page's statements: {@code walk} (null: none), a {@link BoundedWalk} of the newest first, and {@code sql}, the
   * page's statement, or the walk's second when the walk does not fill the page.
   */
  record PageStatements(String walk, List<Object> walkParams, String sql, List<Object> params) {}

  /**
   * The statements of a page for a caller ({@code paths}: the scope's; {@code wholeOrganisation}: a reader whose scope
   * covers a root unit). With a bbox: the walk, then the box's reports ({@link #listSql}). For a reader narrower than
   * the organisation (or the unitId filter): the walk of the organisation's newest ({@link #narrowWalkSql}), then the
   * caller's by unit ({@link #byUnitSql}): walked in the organisation's order and filtered, a small unit read every
   * newer report of the others first; for a caller without a reader role (their own reports) that second statement
   * alone. Otherwise the one statement ({@link #listSql}).
   */
  static PageStatements pageStatements(UUID callerId, boolean reader, String[] paths, boolean wholeOrganisation,
                                       Filter f, OffsetDateTime afterReceived, UUID afterId, int limit) {
    List<Object> params = new ArrayList<>(List.of(callerId, reader, paths));
    List<Object> walkParams = new ArrayList<>(params);
    boolean narrow = f.bbox() == null && (f.unitId() != null || !wholeOrganisation)
        && (f.review() != null || !readsOutstandingChecks(f));
    String sql = narrow ? byUnitSql(f, afterReceived, afterId, limit, params)
        : listSql(f, afterReceived, afterId, limit, params);
    // No walk for a caller without a reader role: they read only their own reports, which the organisation's newest
    // would rarely hold in a big organisation; their author's index answers at once.
    String walk = f.bbox() != null ? boxWalkSql(f, afterReceived, afterId, limit, walkParams)
        : narrow && reader ? narrowWalkSql(f, afterReceived, afterId, limit, walkParams) : null;
    return new PageStatements(walk, walkParams, sql, params);
  }

  /**
   * Whether the list is filtered by evidenceChecks PENDING or UNAVAILABLE: read from the partial indexes of what is
   * outstanding (few, organisation-wide: {@link #CHECKS_STATE}), which neither a walk nor a unit's index would beat.
   */
  private static boolean readsOutstandingChecks(Filter f) {
    return f.evidenceChecks() != null && !ReportView.CHECKS_DONE.equals(f.evidenceChecks());
  }

  private static Future<List<Row>> rows(SqlClient client, String sql, List<Object> params) {
    return client.preparedQuery(sql).execute(Tuple.from(params)).map(rows -> {
      List<Row> list = new ArrayList<>();
      rows.forEach(list::add);
      return list;
    });
  }

  private static final String ORDER = "r.received_at DESC, r.id";

  /**
   * The list's statement; {@code params} holds $1-$3 (caller, reader, scope paths) and gets the filters' values and
   * the limit appended. With a bbox, the box's reports are read from report_location_idx (V192) and sorted: the
   * second statement of a page with a bbox ({@link BoundedWalk}).
   */
  static String listSql(Filter f, OffsetDateTime afterReceived, UUID afterId, int limit, List<Object> params) {
    String where = VISIBLE + conditions(f, afterReceived, afterId, params)
        + (f.bbox() == null ? "" : " AND " + inBox(f.bbox(), params, true));
    if (f.review() == null) {
      params.add(limit);
      return SELECT + where + " ORDER BY " + ORDER + " LIMIT $" + params.size();
    }
    // The limit written in (a number from Page.limit): with LIMIT $n a generic plan guessed a tenth of the reviewed
    // (or pending) reports and read them all through a bitmap scan of the partial index, then sorted them, rather
    // than walking the index in order for a page (EventFeed.PAGE, likewise).
    String page = " ORDER BY " + ORDER + " LIMIT " + limit;
    if (!"PENDING".equals(f.review())) {
      return SELECT + where + page;
    }
    return SELECT_COLUMNS + " FROM (" + String.join(" UNION ALL ", PENDING_REVIEW.stream()
        .map(part -> "(SELECT r.* FROM report r WHERE " + part + " AND " + where + page + ")").toList()) + ") r"
        + page;
  }

  /**
   * The first statement of a page for a caller narrower than the organisation (a scope under its root, the unitId
   * filter, or no reader role): the walk of the organisation's newest reports the filters pass, from
   * report_received_idx (or, filtered by review, V198's indexes), each marked whether the caller reads it in the unit
   * filter ({@link BoundedWalk}).
   */
  static String narrowWalkSql(Filter f, OffsetDateTime afterReceived, UUID afterId, int limit, List<Object> params) {
    String visible = VISIBLE + unitCondition(f, "r.unit_id", params);
    String where = filters(f, afterReceived, afterId, params);
    params.add(limit);
    String walked = " ORDER BY " + ORDER + " LIMIT " + BoundedWalk.ROWS;
    String source = !"PENDING".equals(f.review()) ? "report r WHERE true" + where
        : "(" + String.join(" UNION ALL ", PENDING_REVIEW.stream()
            .map(part -> "(SELECT r.* FROM report r WHERE " + part + where + walked + ")").toList()) + ") r";
    return BoundedWalk.sqlFrom(COLUMNS + ", " + AS_READER + " AS as_reader", source, "report", "r", "id", ORDER,
        visible, params.size());
  }

  /**
   * The second statement of such a page: the caller's reports, read per unit the caller reads as a reader (in the
   * unit filter), a page each, merged: from report_unit_received_idx (unit_id, received_at DESC, id), or, filtered by
   * review, V199's pending (reviewed) index of the same shape; their own reports in other units from
   * report_author_received_idx, or, filtered by review, V200's pending (reviewed) index by author; for review=PENDING
   * also the few the checker has not reached (report_checks_due_idx).
   * Each part a page of its own, merged, as {@link #listSql}'s. Per unit (LATERAL), not unit_id = ANY (...): with an
   * array of unknown length the generic plan walked the organisation-wide index in order instead. The own reports
   * behind a fence (OFFSET 0), in their review state inside it: with few authors in the statistics, the generic plan
   * walked V198's index filtering by author (every review-state report); with the state outside, an officer's page
   * read all their reports in order, dropping those in another state. The limit is written in,
   * as {@link #listSql}'s with a review filter.
   */
  static String byUnitSql(Filter f, OffsetDateTime afterReceived, UUID afterId, int limit, List<Object> params) {
    String where = VISIBLE + conditions(f, afterReceived, afterId, params);
    // the cursor's time (the last two parameters appended) bounds the own reports' walk inside the fence too
    String ownFrom = afterReceived == null ? "" : " AND r.received_at <= $" + (params.size() - 1);
    String units = "(SELECT DISTINCT u.id FROM unnest($3::text[]) AS scope(p) JOIN org_unit u ON "
        + Scope.within("u.path", "scope.p") + " WHERE $2" + unitCondition(f, "u.id", params) + ")";
    boolean pending = "PENDING".equals(f.review());
    // the review state as the unit and author indexes' predicates have it (V199, V200)
    String state = pending ? " AND " + PENDING_REVIEW.get(0)
        : f.review() != null ? " AND r.review_decision IS NOT NULL" + REVIEWED.get(f.review()) : "";
    String page = " ORDER BY " + ORDER + " LIMIT " + limit;
    List<String> parts = new ArrayList<>(List.of(
        "SELECT r.* FROM " + units + " u CROSS JOIN LATERAL (SELECT r.* FROM report r WHERE r.unit_id = u.id"
            + state + " AND " + where + page + ") r" + page,
        "SELECT r.* FROM (SELECT * FROM report r WHERE r.author_id = $1" + state + ownFrom + " ORDER BY " + ORDER
            + " OFFSET 0) r WHERE r.unit_id NOT IN " + units + " AND " + where + page));
    if (pending) {
      parts.add("SELECT r.* FROM report r WHERE " + PENDING_REVIEW.get(1) + " AND " + where + page);
    }
    return SELECT_COLUMNS + " FROM (" + String.join(" UNION ALL ", parts.stream().map(part -> "(" + part + ")")
        .toList()) + ") r" + page;
  }

  /** The first statement of a page with a bbox: the walk of the newest reports ({@link BoundedWalk}). */
  static String boxWalkSql(Filter f, OffsetDateTime afterReceived, UUID afterId, int limit, List<Object> params) {
    String conditions = conditions(f, afterReceived, afterId, params)
        + ("PENDING".equals(f.review()) ? " AND r.status = 'COMPLETE' AND r.review_decision IS NULL" : "");
    String box = inBox(f.bbox(), params, false);
    params.add(limit);
    return BoundedWalk.sql(COLUMNS + ", " + AS_READER + " AS as_reader", "report", "r", "id", VISIBLE + conditions,
        ORDER, box, params.size());
  }

  /**
   * "The report lies in the box" (minLat, minLon, maxLat, maxLon; the values appended to {@code params}). A box
   * crossing the antimeridian (minLon > maxLon) is two ranges of longitude, minLon..180 and -180..maxLon (a different
   * statement text than BETWEEN, each prepared once). {@code indexed}: report_location_idx's condition too, for the
   * planner (point <@ box, two boxes when crossing); the ranges decide, exactly as before.
   */
  private static String inBox(double[] bbox, List<Object> params, boolean indexed) {
    for (double v : bbox) {
      params.add(v);
    }
    int p = params.size() - 3;
    boolean crossing = bbox[1] > bbox[3];
    String ranges = "r.lat BETWEEN $%1$d AND $%3$d AND "
        + (crossing ? "(r.lon >= $%2$d OR r.lon <= $%4$d)" : "r.lon BETWEEN $%2$d AND $%4$d");
    String located = crossing
        ? "(point(r.lon, r.lat) <@ box(point($%2$d, $%1$d), point(180, $%3$d))"
            + " OR point(r.lon, r.lat) <@ box(point(-180, $%1$d), point($%4$d, $%3$d)))"
        : "point(r.lon, r.lat) <@ box(point($%2$d, $%1$d), point($%4$d, $%3$d))";
    return ((indexed ? located + " AND " : "") + "(" + ranges + ")").formatted(p, p + 1, p + 2, p + 3);
  }

  /** The filters but the bbox, and the cursor, as " AND ..." conditions; their values appended to {@code params}. */
  private static String conditions(Filter f, OffsetDateTime afterReceived, UUID afterId, List<Object> params) {
    return unitCondition(f, "r.unit_id", params) + filters(f, afterReceived, afterId, params);
  }

  /** The unitId filter (the unit {@code unitIdExpr} in the filter unit's subtree) as " AND ...", or "". */
  private static String unitCondition(Filter f, String unitIdExpr, List<Object> params) {
    if (f.unitId() == null) {
      return "";
    }
    params.add(f.unitId());
    return " AND EXISTS (SELECT 1 FROM org_unit fu JOIN org_unit ru ON ru.id = " + unitIdExpr + " WHERE fu.id = $"
        + params.size() + " AND ru.path >= fu.path AND ru.path < subtree_end(fu.path))";
  }

  /** The filters but the unitId and the bbox, and the cursor, as in {@link #conditions}. */
  private static String filters(Filter f, OffsetDateTime afterReceived, UUID afterId, List<Object> params) {
    StringBuilder sql = new StringBuilder();
    if (f.type() != null) {
      params.add(f.type());
      sql.append(" AND r.type = $").append(params.size());
    }
    if (f.status() != null) {
      params.add(f.status());
      sql.append(" AND r.status = $").append(params.size());
    }
    if (f.authorId() != null) {
      params.add(f.authorId());
      sql.append(" AND r.author_id = $").append(params.size());
    }
    if (f.from() != null) {
      params.add(f.from());
      sql.append(" AND r.received_at >= $").append(params.size());
    }
    if (f.to() != null) {
      params.add(f.to());
      sql.append(" AND r.received_at < $").append(params.size());
    }
    if (f.hasEvidenceFlags() != null) {
      // Served by report_flagged_received_idx (partial, flagged only) for true. Only reports whose flag the caller
      // may see: in scope as a reader, not their own elsewhere. False lists the reports checked and clean: not
      // one whose checks are still pending (it may yet be flagged), a probe of attachment_report_idx per row.
      sql.append(" AND ").append(AS_READER).append(f.hasEvidenceFlags() ? " AND r.flagged" : " AND NOT r.flagged"
          + " AND r.report_checks_due IS FALSE AND NOT EXISTS (SELECT 1 FROM attachment pa"
          + " WHERE pa.report_id = r.id AND pa.media_status = 'PENDING')");
    }
    if (f.evidenceChecks() != null) {
      sql.append(" AND ").append(AS_READER).append(CHECKS_STATE.get(f.evidenceChecks()));
    }
    if (f.review() != null && REVIEWED.containsKey(f.review())) {
      sql.append(REVIEWED.get(f.review()));
    }
    if (afterReceived != null) {
      params.add(afterReceived);
      params.add(afterId);
      int p = params.size() - 1;
      // After (received_at, id) in the list's order, written so that an index walk starts at the cursor (an index
      // condition): as received_at < $p OR (received_at = $p AND id > $q) it was only a filter, and a walk in
      // received_at order read (and dropped) every newer row first
      sql.append(" AND r.received_at <= $").append(p).append(" AND NOT (r.received_at = $").append(p)
          .append(" AND r.id <= $").append(p + 1).append(")");
    }
    return sql.toString();
  }

  /**
   * The {@code evidenceChecks} filter, the state {@link ReportView#reportChecks} computes, written so an index serves
   * it (literals, not parameters, so that a generic plan may use the partial indexes). PENDING (few, recent: a
   * report's checks outstanding, or a photo's, for up to 24 h in an outage) is read from the partial indexes of
   * what is outstanding, never by walking the reports: report_checks_due_idx (COMPLETE reports the checker has not
   * run on) and attachment_checks_open_idx (V175: photos PENDING or FAILED; a report awaiting its photos has one
   * PENDING, a declared photo is PENDING until it is stored and checked), then sorted. UNAVAILABLE (rare) likewise
   * from the FAILED photos. DONE (most reports) walks received_at as the unfiltered list does, with one probe of
   * attachment_checks_open_idx per row, as hasEvidenceFlags=false does.
   */
  private static final Map<String, String> CHECKS_STATE = Map.of(
      ReportView.CHECKS_PENDING, " AND r.id IN (SELECT d.id FROM report d WHERE d.status = 'COMPLETE'"
          + " AND d.report_checks_due IS NOT FALSE UNION ALL SELECT pa.report_id FROM attachment pa"
          + " WHERE pa.media_status = 'PENDING')",
      ReportView.CHECKS_UNAVAILABLE, " AND r.report_checks_due IS FALSE AND r.id IN (SELECT fa.report_id"
          + " FROM attachment fa WHERE fa.media_status = 'FAILED') AND NOT EXISTS (SELECT 1 FROM attachment pa"
          + " WHERE pa.report_id = r.id AND pa.media_status = 'PENDING')",
      ReportView.CHECKS_DONE, " AND r.report_checks_due IS FALSE AND NOT EXISTS (SELECT 1 FROM attachment pa"
          + " WHERE pa.report_id = r.id AND pa.media_status IN ('PENDING', 'FAILED'))");

  /**
   * Attachments, and the evidence checks, flag and checks' states of the reports the caller reads as a reader in
   * scope.
   */
  private Future<List<ReportView>> withAttachments(SqlClient client, UUID callerId, Scope scope, List<Row> reports) {
    if (reports.isEmpty()) {
      return Future.succeededFuture(List.of());
    }
    UUID[] ids = reports.stream().map(r -> r.getUUID("id")).toArray(UUID[]::new);
    UUID[] readable = reports.stream().filter(r -> r.getBoolean("as_reader")).map(r -> r.getUUID("id"))
        .toArray(UUID[]::new);
    UUID[] reviewed = reports.stream().filter(r -> r.getString("review_decision") != null).map(r -> r.getUUID("id"))
        .toArray(UUID[]::new);
    // resume_upload: the caller's newest unfinished, unexpired tus upload of a pending attachment (only its author
    // uploads), so a phone that lost the upload's URL resumes it rather than sending every byte again.
    return client.preparedQuery("""
            SELECT a.id, a.report_id, a.ordinal, a.status,
                   coalesce(a.content_type, a.declared_content_type) AS content_type,
                   a.declared_size, a.declared_sha256, a.filename, a.media_status, u.id AS resume_upload
            FROM attachment a
            LEFT JOIN LATERAL (SELECT id FROM upload
                               WHERE attachment_id = a.id AND author_id = $2 AND status = 'ACTIVE'
                                 AND expires_at > now()
                               ORDER BY created_at DESC LIMIT 1) u ON a.status = 'PENDING'
            WHERE a.report_id = ANY ($1) ORDER BY a.report_id, a.ordinal""")
        .execute(Tuple.of(ids, callerId))
        .map(rows -> {
          Set<UUID> asReader = Set.of(readable);
          Map<UUID, List<ReportView.AttachmentView>> byReport = new LinkedHashMap<>();
          for (Row a : rows) {
            UUID report = a.getUUID("report_id");
            byReport.computeIfAbsent(report, k -> new ArrayList<>()).add(new ReportView.AttachmentView(
                a.getUUID("id"), a.getInteger("ordinal"), a.getString("status"), a.getString("content_type"),
                a.getLong("declared_size"), a.getBuffer("declared_sha256").getBytes(), a.getString("filename"),
                asReader.contains(report) ? ReportView.photoChecks(a.getString("media_status")) : null,
                a.getUUID("resume_upload")));
          }
          return byReport;
        })
        .compose(byReport -> (readable.length > 0 ? evidence(client, callerId, scope, readable)
                : Future.succeededFuture(Map.<UUID, List<JsonObject>>of()))
            .map(checks -> reports.stream().map(r -> view(r, byReport.getOrDefault(r.getUUID("id"), List.of()),
                checks.getOrDefault(r.getUUID("id"), List.of()))).toList()))
        .compose(views -> reviewed.length == 0 ? Future.succeededFuture(views) : latestReviews(client, reviewed)
            .map(latest -> views.stream().map(v -> v.withReview(latest.get(v.id()))).toList()));
  }

  /** The latest review of each of these reports (by report_review's (report_id, seq) key, one probe each). */
  static Future<Map<UUID, ReportReview>> latestReviews(SqlClient client, UUID[] reportIds) {
    return client.preparedQuery("SELECT v.* FROM unnest($1::uuid[]) AS q(report_id) CROSS JOIN LATERAL (SELECT "
            + ReportReview.COLUMNS + " FROM report_review WHERE report_id = q.report_id ORDER BY seq DESC LIMIT 1) v")
        .execute(Tuple.of(reportIds))
        .map(rows -> {
          Map<UUID, ReportReview> latest = new HashMap<>();
          rows.forEach(r -> latest.put(r.getUUID("report_id"), ReportReview.of(r)));
          return latest;
        });
  }

  /**
   * The checks of reports the caller reads as a reader. A check naming another report (exact reuse, near-duplicate:
   * compared across the subtrees of every supervisor covering the unit, wider than this reader's scope may be) names
   * it only to a caller who may read it: its author, or a reader whose scope covers its unit.
   */
  private Future<Map<UUID, List<JsonObject>>> evidence(SqlClient client, UUID callerId, Scope scope, UUID[] ids) {
    return client.preparedQuery("SELECT c.report_id, c.attachment_id, c.code, c.outcome, c.measured, c.threshold,"
            + " c.unit, CASE WHEN c.other_report_id IS NULL OR EXISTS (SELECT 1 FROM report o"
            + " WHERE o.id = c.other_report_id AND (o.author_id = $2 OR " + Scope.sqlForUnitId("o.unit_id", 3) + "))"
            + " THEN c.detail ELSE replace(c.detail, 'report ' || c.other_report_id, 'a report outside your scope')"
            + " END AS detail, c.checked_at"
            + " FROM evidence_check c WHERE c.report_id = ANY ($1) ORDER BY c.report_id, c.attachment_id NULLS FIRST,"
            + " c.id")
        .execute(Tuple.of(ids, callerId, scope.paths()))
        .map(rows -> {
          Map<UUID, List<JsonObject>> byReport = new LinkedHashMap<>();
          for (Row c : rows) {
            UUID att = c.getUUID("attachment_id");
            byReport.computeIfAbsent(c.getUUID("report_id"), k -> new ArrayList<>()).add(new JsonObject()
                .put("attachmentId", att == null ? null : att.toString())
                .put("code", c.getString("code"))
                .put("outcome", c.getString("outcome"))
                .put("measured", c.getDouble("measured"))
                .put("threshold", c.getDouble("threshold"))
                .put("unit", c.getString("unit"))
                .put("detail", c.getString("detail"))
                .put("checkedAt", ReportView.time(c.getOffsetDateTime("checked_at"))));
          }
          return byReport;
        });
  }

  /** The report as read; its flag and checks' state only for a caller who reads it as a reader in scope. */
  private static ReportView view(Row r, List<ReportView.AttachmentView> attachments, List<JsonObject> evidence) {
    boolean asReader = r.getBoolean("as_reader");
    String checks = asReader ? ReportView.reportChecks(r.getBoolean("checks_due"),
        attachments.stream().map(ReportView.AttachmentView::evidenceChecks).toList()) : null;
    return new ReportView(r.getUUID("id"), r.getString("type"), r.getUUID("unit_id"), r.getUUID("author_id"),
        r.getString("status"), r.getString("title"), r.getString("text"), r.getOffsetDateTime("captured_at"),
        r.getOffsetDateTime("received_at"), r.getOffsetDateTime("completed_at"),
        new Envelope.Location(r.getDouble("lat"), r.getDouble("lon"), r.getDouble("accuracy_m"),
            r.getString("location_provider"), r.getBoolean("location_mock")),
        ExactNumbers.object(r.getString("body")), attachments, evidence, asReader ? r.getBoolean("flagged") : null,
        checks, null);
  }
}
