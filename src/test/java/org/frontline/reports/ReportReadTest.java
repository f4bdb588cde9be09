package org.frontline.reports;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.Cursors;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.QueryPlans;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HANJIANG;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.reports.ReportFixtures.*;

@FrontlineTest
class ReportReadTest {
  @BeforeAll
  static void freshTokens() {
    forgetTokens();
  }

  static final String NOT_FOUND = "urn:frontline:problem:not-found";

  /** officer.xu: 3 SITE (one far away) + 1 MILESTONE_PROGRESS awaiting media; officer.zhang: 1; supervisor.hanjiang: 1. */
  static final List<UUID> XU = new ArrayList<>();
  static UUID zhang;
  static UUID hanjiang;
  static UUID far;
  static UUID awaiting;

  private static synchronized void seed(TestEnvironment env) {
    if (zhang != null) {
      return;
    }
    for (int i = 0; i < 3; i++) {
      UUID id = UUID.randomUUID();
      JsonObject e = site(id);
      if (i == 2) {
        e.getJsonObject("location").put("lat", 20.0).put("lon", 110.0);
        far = id;
      }
      created(post(env, "officer.xu", "/v1/reports", e));
      XU.add(id);
    }
    awaiting = UUID.randomUUID();
    // A milestone report needs a milestone in the author's scope (a Huaisi project's).
    JsonObject project = created(post(env, "supervisor.hanjiang", "/v1/projects", new JsonObject()
        .put("unitId", org.frontline.dev.DemoOrganisation.HUAISI.toString()).put("name", "Huaisi bridge")
        .put("investmentYuan", 1000).put("site", new JsonObject().put("lat", 32.45).put("lon", 119.43)
            .put("radiusM", 500)).put("status", "IN_PROGRESS")));
    JsonObject milestone = created(post(env, "supervisor.hanjiang", "/v1/projects/" + project.getString("id")
        + "/milestones", new JsonObject().put("name", "Deck").put("plannedQuantity", 10).put("unit", "m")
        .put("plannedStart", "2026-11-01").put("plannedDue", "2027-03-01")));
    created(post(env, "officer.xu", "/v1/reports", withAttachments(site(awaiting).put("type", "MILESTONE_PROGRESS")
        .put("body", new JsonObject().put("milestoneId", milestone.getString("id")).put("quantity", 3)),
        attachment(UUID.randomUUID(), 1))));
    XU.add(awaiting);
    zhang = UUID.randomUUID();
    created(post(env, "officer.zhang", "/v1/reports", site(zhang).put("unitId", TONGZHOU.toString())));
    hanjiang = UUID.randomUUID();
    created(post(env, "supervisor.hanjiang", "/v1/reports", site(hanjiang).put("unitId", HANJIANG.toString())));
  }

  static JsonObject created(HttpResponse<Buffer> r) {
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(201);
    return r.bodyAsJsonObject();
  }

  @Test
  void theAuthorAndReadersInScopeReadAReportOthersGet404(TestEnvironment env) {
    seed(env);
    UUID report = XU.get(0);
    for (String reader : List.of("officer.xu", "supervisor.hanjiang", "admin")) {
      HttpResponse<Buffer> r = get(env, reader, "/v1/reports/" + report);
      assertThat(r.statusCode()).as(reader + ": " + r.bodyAsString()).isEqualTo(200);
      assertThat(r.bodyAsJsonObject().getString("id")).isEqualTo(report.toString());
      // Readers see its report-level checks once a worker has recorded them; its author never does.
      if (reader.equals("officer.xu")) {
        assertThat(r.bodyAsJsonObject().getJsonArray("evidence")).isEmpty();
      }
    }
    for (String other : List.of("supervisor.tongzhou", "assessor.tongzhou", "officer.zhang")) {
      assertProblem(get(env, other, "/v1/reports/" + report), 404, NOT_FOUND);
    }
    assertThat(get(env, "assessor.tongzhou", "/v1/reports/" + zhang).statusCode()).isEqualTo(200);
    assertProblem(get(env, "officer.xu", "/v1/reports/" + UUID.randomUUID()), 404, NOT_FOUND);
  }

  @Test
  void aReaderSeesTheEvidenceOfOwnReportsOnlyWhileTheyAreInScope(TestEnvironment env) throws Exception {
    UUID id = UUID.randomUUID();
    JsonObject mocked = site(id);
    mocked.getJsonObject("location").put("mock", true);
    assertThat(post(env, "supervisor.hanjiang", "/v1/reports", mocked).statusCode()).isEqualTo(201);
    // Flagged by its report-level checks (MOCK_LOCATION), recorded by a worker (ReportChecksTest has the details).
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (!"true".equals(string(env, "SELECT flagged::text FROM report WHERE id = ?", id))) {
      assertThat(System.nanoTime()).as("report " + id + " flagged").isLessThan(deadline);
      Thread.sleep(50);
    }
    JsonObject inScope = get(env, "supervisor.hanjiang", "/v1/reports/" + id).bodyAsJsonObject();
    assertThat(inScope.getBoolean("flagged")).isTrue();
    assertThat(inScope.getJsonArray("evidence")).hasSize(2);
    assertThat(ids(get(env, "supervisor.hanjiang", "/v1/reports?hasEvidenceFlags=true&limit=200"))).contains(id);
    // As the contract's validation read it (JSON): ` true` passed it as true, and the handler took it for false.
    assertThat(ids(get(env, "supervisor.hanjiang", "/v1/reports?hasEvidenceFlags=%20true&limit=200"))).contains(id);
    assertThat(ids(get(env, "supervisor.hanjiang", "/v1/reports?hasEvidenceFlags=true%20&limit=200"))).contains(id);

    // The report's unit leaves the supervisor's scope: still theirs to read, as its author only.
    try (var c = env.jdbc(); var st = c.prepareStatement("UPDATE report SET unit_id = ? WHERE id = ?")) {
      st.setObject(1, TONGZHOU);
      st.setObject(2, id);
      st.execute();
    }
    JsonObject asAuthor = get(env, "supervisor.hanjiang", "/v1/reports/" + id).bodyAsJsonObject();
    assertThat(asAuthor.getJsonArray("evidence")).isEmpty();
    assertThat(asAuthor.containsKey("flagged")).isFalse();
    JsonObject listed = get(env, "supervisor.hanjiang", "/v1/reports?limit=200").bodyAsJsonObject().getJsonArray("items")
        .stream().map(o -> (JsonObject) o).filter(r -> r.getString("id").equals(id.toString())).findFirst().orElseThrow();
    assertThat(listed.getJsonArray("evidence")).isEmpty();
    assertThat(listed.containsKey("flagged")).isFalse();
    assertThat(ids(get(env, "supervisor.hanjiang", "/v1/reports?hasEvidenceFlags=true&limit=200"))).doesNotContain(id);
    assertThat(ids(get(env, "supervisor.hanjiang", "/v1/reports?hasEvidenceFlags=false&limit=200"))).doesNotContain(id);
    // Tongzhou's supervisor, in whose scope it now is, sees the checks.
    JsonObject theirs = get(env, "supervisor.tongzhou", "/v1/reports/" + id).bodyAsJsonObject();
    assertThat(theirs.getBoolean("flagged")).isTrue();
    assertThat(theirs.getJsonArray("evidence")).hasSize(2);
  }

  private static List<UUID> ids(HttpResponse<Buffer> page) {
    assertThat(page.statusCode()).as(page.bodyAsString()).isEqualTo(200);
    return page.bodyAsJsonObject().getJsonArray("items").stream()
        .map(o -> UUID.fromString(((JsonObject) o).getString("id"))).toList();
  }

  @Test
  void anAwaitingReportShowsItsPendingAttachment(TestEnvironment env) {
    seed(env);
    JsonObject r = get(env, "officer.xu", "/v1/reports/" + awaiting).bodyAsJsonObject();
    assertThat(r.getString("status")).isEqualTo("AWAITING_MEDIA");
    JsonObject a = r.getJsonArray("attachments").getJsonObject(0);
    assertThat(a.getString("status")).isEqualTo("PENDING");
    assertThat(a.getString("contentType")).isEqualTo("image/jpeg");
    assertThat(a.getLong("size")).isEqualTo(1001L);
  }

  @Test
  void anOfficerListsOnlyOwnReportsNewestFirst(TestEnvironment env) {
    seed(env);
    List<String> ids = ids(list(env, "officer.xu", ""));
    List<String> expected = new ArrayList<>(XU.stream().map(UUID::toString).toList());
    java.util.Collections.reverse(expected);
    assertThat(ids).containsExactlyElementsOf(expected);
  }

  @Test
  void aSupervisorListsTheReportsOfTheScope(TestEnvironment env) {
    seed(env);
    assertThat(ids(list(env, "supervisor.hanjiang", ""))).hasSize(5).doesNotContain(zhang.toString());
    assertThat(ids(list(env, "supervisor.tongzhou", ""))).containsExactly(zhang.toString());
    assertThat(ids(list(env, "supervisor.hanjiang", "?unitId=" + TONGZHOU))).isEmpty();
    assertThat(ids(list(env, "admin", "?unitId=" + HANJIANG))).hasSize(5);
  }

  @Test
  void filtersNarrowTheList(TestEnvironment env) {
    seed(env);
    assertThat(ids(list(env, "supervisor.hanjiang", "?type=MILESTONE_PROGRESS"))).containsExactly(awaiting.toString());
    assertThat(ids(list(env, "supervisor.hanjiang", "?status=AWAITING_MEDIA"))).containsExactly(awaiting.toString());
    assertThat(ids(list(env, "supervisor.hanjiang", "?authorId=" + account("supervisor.hanjiang"))))
        .containsExactly(hanjiang.toString());
    assertThat(ids(list(env, "supervisor.hanjiang", "?bbox=19,109,21,111"))).containsExactly(far.toString());
    assertThat(ids(list(env, "admin", "?from=2000-01-01T00:00:00Z&to=2001-01-01T00:00:00Z"))).isEmpty();
    assertThat(ids(list(env, "admin", "?from=2000-01-01T00:00:00Z"))).hasSize(6);
  }

  @Test
  void pagesFollowNextCursorWithoutGapsOrRepeats(TestEnvironment env) {
    seed(env);
    List<String> all = ids(list(env, "admin", ""));
    List<String> paged = new ArrayList<>();
    String cursor = null;
    int pages = 0;
    do {
      JsonObject page = list(env, "admin", "?limit=4" + (cursor == null ? "" : "&cursor=" + cursor));
      paged.addAll(ids(page));
      cursor = page.getString("nextCursor");
      pages++;
    } while (cursor != null);
    // The seeded six, and whatever other tests of this class wrote: every one once, in pages of 4.
    assertThat(all).hasSizeGreaterThanOrEqualTo(6);
    assertThat(pages).isEqualTo((all.size() + 3) / 4);
    assertThat(paged).containsExactlyElementsOf(all);
  }

  /**
   * A cursor is a place in the list of its filters: with other filters it went on from that place in another list
   * (silently wrong pages). It pages on with the same filters (written otherwise too), and is the cursor's 400 with
   * any other, as is a cursor whose filter hash was made up or that has none.
   */
  @Test
  void aCursorIsBoundToItsFilters(TestEnvironment env) {
    seed(env);
    String filters = "authorId=" + account("officer.xu") + "&type=SITE&from=2000-01-01T00:00:00Z";
    List<String> all = ids(list(env, "admin", "?" + filters));
    assertThat(all).hasSizeGreaterThanOrEqualTo(3);
    JsonObject first = list(env, "admin", "?" + filters + "&limit=2");
    String cursor = first.getString("nextCursor");
    assertThat(cursor).isNotNull();

    // The same filters, in another order, the same instant at another offset, another limit: the next page.
    JsonObject second = list(env, "admin", "?from=2000-01-01T08:00:00%2B08:00&type=SITE&authorId="
        + account("officer.xu") + "&limit=200&cursor=" + cursor);
    List<String> paged = new ArrayList<>(ids(first));
    paged.addAll(ids(second));
    assertThat(paged).containsExactlyElementsOf(all);

    for (String other : List.of("", "type=SITE", "authorId=" + account("officer.xu"),
        filters.replace("SITE", "MILESTONE_PROGRESS"), filters + "&status=COMPLETE", filters + "&bbox=-90,-180,90,180",
        filters + "&hasEvidenceFlags=false", filters + "&evidenceChecks=DONE", filters + "&unitId=" + HUAISI,
        filters.replace("2000", "2001"),
        filters + "&to=2100-01-01T00:00:00Z")) {
      Cursors.assertOtherFilters(get(env, "admin", "/v1/reports?" + other + "&cursor=" + cursor));
    }
    for (String forged : Cursors.forgeries(cursor)) {
      Cursors.assertRefused(get(env, "admin", "/v1/reports?" + filters + "&cursor=" + forged));
    }
  }

  @Test
  void aForeignCursorAndABadBboxAre400(TestEnvironment env) {
    JsonObject p = invalidAsAdmin(env, "/v1/reports?cursor=bm90LWEtY3Vyc29y");
    assertThat(firstField(p)).isEqualTo("query/cursor");
    JsonObject b = invalidAsAdmin(env, "/v1/reports?bbox=21,0,19,1");
    assertThat(firstField(b)).isEqualTo("query/bbox");
  }

  /**
   * A cursor is opaque but its time is read back into the query: one made up beyond PostgreSQL's timestamptz (year
   * 294277) failed the query, a 500. Every key we write is a stored time, so a year outside 0001-9999 is not ours.
   */
  @Test
  void aCursorWithATimeBeyondWhatIsStoredIs400NotA500(TestEnvironment env) {
    seed(env);
    for (String time : List.of("+294277-01-01T00:00Z", "+10000-01-01T00:00Z", "-4714-01-01T00:00Z",
        "0000-12-31T23:59Z", "9999-12-31T23:59-01:00")) {
      String cursor = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString((time + "|" + UUID.randomUUID())
          .getBytes(java.nio.charset.StandardCharsets.UTF_8));
      assertThat(firstField(invalidAsAdmin(env, "/v1/reports?cursor=" + cursor))).as(time).isEqualTo("query/cursor");
    }
    // The last instant of year 9999 is still a cursor: the page after it is every report, newest first.
    String last = Cursors.at(list(env, "officer.xu", "?limit=1").getString("nextCursor"),
        "9999-12-31T23:59:59.999999Z|" + UUID.randomUUID());
    HttpResponse<Buffer> page = get(env, "officer.xu", "/v1/reports?cursor=" + last);
    assertThat(page.statusCode()).as(page.bodyAsString()).isEqualTo(200);
    assertThat(page.bodyAsJsonObject().getJsonArray("items").stream().map(i -> ((JsonObject) i).getString("id")))
        .containsAll(XU.stream().map(UUID::toString).toList());
  }

  /**
   * A China Standard Time offset, "+08:00", percent-encoded in the query as clients must ("%2B08:00"), reaches the
   * validator and the filter as "+08:00" (vertx-openapi 5.0 decoded it a second time, to " 08:00": a 400).
   */
  @Test
  void aWindowWithAnEncodedPlusOffsetFiltersByReceivedAt(TestEnvironment env) {
    seed(env);
    OffsetDateTime first = receivedAt(env, XU.get(0));
    OffsetDateTime second = receivedAt(env, XU.get(1));
    assertThat(first).isBefore(second);
    String from = chinaStandardTime(first);
    String to = chinaStandardTime(second);
    assertThat(from).endsWith("+08:00");
    // [from, to): the first report only.
    assertThat(ids(list(env, "admin", "?from=" + from.replace("+", "%2B") + "&to=" + to.replace("+", "%2B"))))
        .contains(XU.get(0).toString()).doesNotContain(XU.get(1).toString(), XU.get(2).toString());
    assertThat(ids(list(env, "admin", "?from=" + to.replace("+", "%2B"))))
        .contains(XU.get(1).toString(), XU.get(2).toString()).doesNotContain(XU.get(0).toString());
    assertThat(ids(list(env, "admin", "?to=" + from.replace("+", "%2B"))))
        .doesNotContain(XU.get(0).toString(), XU.get(1).toString());
    assertThat(ids(list(env, "admin", "?from=2026-11-27T13:25:12%2B08:00&to=2026-11-27T13:25:13%2B08:00"))).isEmpty();
    // The other offsets as before.
    assertThat(ids(list(env, "admin", "?from=" + first.withOffsetSameInstant(ZoneOffset.ofHours(-1))
        .format(DateTimeFormatter.ISO_OFFSET_DATE_TIME)))).contains(XU.get(0).toString());
    // A bare "+" is a space in a query (form encoding): not a date-time, a 400 naming the parameter.
    JsonObject bare = invalidAsAdmin(env, "/v1/reports?from=2026-11-27T13:25:12+08:00");
    assertThat(firstField(bare)).isEqualTo("query/from");
  }

  /** A "%" sent as "%25" is a "%" to every check: the enum's and the cursor's own 400, each naming its parameter. */
  @Test
  void anEncodedPercentIsJudgedByItsParameter(TestEnvironment env) {
    JsonObject type = invalidAsAdmin(env, "/v1/reports?type=SITE%25");
    assertThat(firstField(type)).isEqualTo("query/type");
    JsonObject cursor = invalidAsAdmin(env, "/v1/reports?cursor=%25");
    assertThat(firstField(cursor)).isEqualTo("query/cursor");
    assertThat(cursor.getJsonArray("errors").getJsonObject(0).getString("reason")).contains("Not a cursor");
  }

  /** A path parameter with percent-encoded characters is decoded once, as before. */
  @Test
  void anEncodedPathParameterIsDecodedOnce(TestEnvironment env) {
    seed(env);
    String id = XU.get(0).toString();
    String encoded = id.chars().mapToObj(c -> c == '-' ? "%2D" : String.valueOf((char) c))
        .collect(java.util.stream.Collectors.joining());
    HttpResponse<Buffer> r = get(env, "officer.xu", "/v1/reports/" + encoded);
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    assertThat(r.bodyAsJsonObject().getString("id")).isEqualTo(id);
    JsonObject percent = assertProblem(get(env, "officer.xu", "/v1/reports/%25" + id.substring(1)), 400,
        "urn:frontline:problem:validation-failed");
    assertThat(firstField(percent)).isEqualTo("path/id");
  }

  private static OffsetDateTime receivedAt(TestEnvironment env, UUID report) {
    HttpResponse<Buffer> r = get(env, "admin", "/v1/reports/" + report);
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    return OffsetDateTime.parse(r.bodyAsJsonObject().getString("receivedAt"));
  }

  private static String chinaStandardTime(OffsetDateTime t) {
    return t.withOffsetSameInstant(ZoneOffset.ofHours(8)).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME);
  }

  static JsonObject list(TestEnvironment env, String user, String query) {
    HttpResponse<Buffer> r = get(env, user, "/v1/reports" + query);
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    return r.bodyAsJsonObject();
  }

  static List<String> ids(JsonObject page) {
    JsonArray items = page.getJsonArray("items");
    return items.stream().map(o -> ((JsonObject) o).getString("id")).toList();
  }

  /** The 400 validation problem an admin gets for {@code path}. */
  static JsonObject invalidAsAdmin(TestEnvironment env, String path) {
    return assertProblem(get(env, "admin", path), 400, "urn:frontline:problem:validation-failed");
  }

  /**
   * `format: uuid` alone also takes RFC 4122's URN form, which every handler's UUID.fromString refuses (a 500): the
   * contract's uuids carry the plain form's pattern, so the URN form is the validator's 400, in a path, a query and
   * a body, and nothing is stored.
   */
  @Test
  void aUuidInItsUrnFormIsA400NamingItNeverA500(TestEnvironment env) throws Exception {
    seed(env);
    UUID mine = XU.get(0);
    JsonObject byPath = assertProblem(get(env, "officer.xu", "/v1/reports/urn:uuid:" + mine), 400,
        "urn:frontline:problem:validation-failed");
    assertThat(firstField(byPath)).isEqualTo("path/id");
    JsonObject byQuery = assertProblem(get(env, "supervisor.hanjiang", "/v1/reports?unitId=URN:UUID:" + HANJIANG), 400,
        "urn:frontline:problem:validation-failed");
    assertThat(firstField(byQuery)).isEqualTo("query/unitId");
    UUID id = UUID.randomUUID();
    JsonObject envelope = site(id).put("unitId", "urn:uuid:" + HUAISI);
    JsonObject byBody = assertProblem(post(env, "officer.xu", "/v1/reports", envelope), 400,
        "urn:frontline:problem:validation-failed");
    assertThat(ReportSubmissionTest.fields(byBody)).contains("body/unitId");
    assertThat(count(env, "SELECT count(*) FROM report WHERE id = ?", id)).isZero();
    // The plain form, upper case too, is still read.
    assertThat(get(env, "officer.xu", "/v1/reports/" + mine.toString().toUpperCase()).statusCode()).isEqualTo(200);
  }

  /**
   * evidenceChecks lists the reports whose checks are in that state, as their representation says, to readers in
   * scope only: the report awaiting its photo is PENDING to supervisor.hanjiang (Huaisi in scope) and admin, not
   * listed to supervisor.tongzhou, and officer.xu may not filter (403); it combines with the other filters and
   * pages with cursors bound to it; the photo-less reports are DONE once the report checker ran.
   */
  @Test
  void theChecksFilterListsReportsInThatStateToReadersInScope(TestEnvironment env) throws Exception {
    seed(env);
    JsonObject pending = list(env, "supervisor.hanjiang", "?evidenceChecks=PENDING&limit=200");
    assertThat(ids(pending)).contains(awaiting.toString());
    assertThat(states(pending)).containsOnly("PENDING");
    assertThat(ids(list(env, "admin", "?evidenceChecks=PENDING&limit=200"))).contains(awaiting.toString());
    assertThat(ids(list(env, "supervisor.tongzhou", "?evidenceChecks=PENDING&limit=200")))
        .doesNotContain(awaiting.toString());
    for (String other : List.of("DONE", "UNAVAILABLE")) {
      JsonObject page = list(env, "supervisor.hanjiang", "?evidenceChecks=" + other + "&limit=200");
      assertThat(ids(page)).doesNotContain(awaiting.toString());
      assertThat(states(page)).allMatch(other::equals);
    }
    // With the other filters.
    assertThat(ids(list(env, "supervisor.hanjiang", "?evidenceChecks=PENDING&type=MILESTONE_PROGRESS&unitId="
        + HUAISI + "&limit=200"))).contains(awaiting.toString());
    assertThat(ids(list(env, "supervisor.hanjiang", "?evidenceChecks=PENDING&type=SITE&limit=200")))
        .doesNotContain(awaiting.toString());
    assertThat(ids(list(env, "supervisor.hanjiang", "?evidenceChecks=PENDING&hasEvidenceFlags=false&limit=200")))
        .doesNotContain(awaiting.toString());

    // The photo-less reports, DONE once the report checker ran (about a second); Tongzhou's only to its supervisor.
    String xuDone = "?evidenceChecks=DONE&authorId=" + account("officer.xu") + "&type=SITE";
    long deadline = System.nanoTime() + 20_000_000_000L;
    List<String> xuSites = List.of(XU.get(2).toString(), XU.get(1).toString(), XU.get(0).toString());
    while (!ids(list(env, "supervisor.hanjiang", xuDone + "&limit=200")).containsAll(xuSites)) {
      assertThat(System.nanoTime()).as("officer.xu's reports checked").isLessThan(deadline);
      Thread.sleep(50);
    }
    List<String> done = ids(list(env, "supervisor.hanjiang", xuDone + "&limit=200"));
    assertThat(done).containsSubsequence(xuSites);
    while (!ids(list(env, "supervisor.tongzhou", "?evidenceChecks=DONE&limit=200")).contains(zhang.toString())) {
      assertThat(System.nanoTime()).as("officer.zhang's report checked").isLessThan(deadline);
      Thread.sleep(50);
    }
    assertThat(ids(list(env, "supervisor.hanjiang", "?evidenceChecks=DONE&limit=200"))).doesNotContain(
        zhang.toString());
    assertThat(ids(list(env, "supervisor.hanjiang", "?evidenceChecks=PENDING&limit=200"))).doesNotContainAnyElementsOf(done);

    // Pages follow the filter; its cursor is refused with another state, or without it.
    List<String> paged = new ArrayList<>();
    JsonObject page = list(env, "supervisor.hanjiang", xuDone + "&limit=1");
    String first = page.getString("nextCursor");
    paged.addAll(ids(page));
    while (page.getString("nextCursor") != null) {
      page = list(env, "supervisor.hanjiang", xuDone + "&limit=1&cursor=" + page.getString("nextCursor"));
      paged.addAll(ids(page));
    }
    assertThat(paged).containsExactlyElementsOf(done);
    for (String other : List.of(xuDone.replace("DONE", "PENDING"), xuDone.replace("evidenceChecks=DONE&", ""))) {
      Cursors.assertOtherFilters(get(env, "supervisor.hanjiang", "/v1/reports" + other + "&cursor=" + first));
    }

    // Readers only; a state the contract does not name is the validator's 400.
    assertProblem(get(env, "officer.xu", "/v1/reports?evidenceChecks=PENDING"), 403,
        "urn:frontline:problem:forbidden");
    assertThat(firstField(invalidAsAdmin(env, "/v1/reports?evidenceChecks=SOON"))).isEqualTo("query/evidenceChecks");
  }

  private static List<String> states(JsonObject page) {
    return page.getJsonArray("items").stream().map(o -> ((JsonObject) o).getString("evidenceChecks")).toList();
  }

  /**
   * The evidenceChecks filter is read from indexes: PENDING from report_checks_due_idx and attachment_checks_open_idx
   * (what is outstanding), UNAVAILABLE from the latter, never by walking the reports in scope (3000 reports checked
   * and clean, added in a rolled-back transaction, are not read); DONE walks received_at as the unfiltered list does,
   * reading a page's worth. hasEvidenceFlags=true walks the flagged reports' own partial index.
   */
  @Test
  void theChecksFilterIsServedFromIndexes(TestEnvironment env) throws Exception {
    seed(env);
    String path = string(env, "SELECT path FROM org_unit WHERE id = ?", HANJIANG);
    QueryPlans.rolledBack(env, st -> {
      st.execute("INSERT INTO report (id, author_id, unit_id, type, status, title, captured_at, received_at,"
          + " completed_at, lat, lon, accuracy_m, location_provider, location_mock, body, request, request_sha256,"
          + " response, report_checks_due) SELECT gen_random_uuid(), author_id, unit_id, type, status, title,"
          + " captured_at, received_at + g * interval '1 millisecond', completed_at, lat, lon, accuracy_m,"
          + " location_provider, location_mock, body, request, request_sha256, response, false"
          + " FROM report, generate_series(1, 3000) g WHERE id = '" + XU.get(0) + "'");
      st.execute("ANALYZE report");
      st.execute("ANALYZE attachment");
      st.execute("SET LOCAL enable_seqscan = off");
      String args = "'" + UUID.randomUUID() + "', true, ARRAY['" + path + "'], 51";
      for (String state : List.of("PENDING", "UNAVAILABLE", "DONE")) {
        List<Object> params = new ArrayList<>(List.of(UUID.randomUUID(), true, new String[] {path}));
        String sql = ReportRepository.listSql(new ReportRepository.Filter(null, null, null, null, null, null, null,
            null, state, null), null, null, 51, params);
        String plan = QueryPlans.assertReadsFewerThan(1000, st, "checks_" + state.toLowerCase(),
            "uuid, boolean, text[], integer", sql, args);
        assertThat(plan).as(plan).contains("attachment_checks_open_idx");
        if (!state.equals("DONE")) {
          assertThat(plan).as(plan).doesNotContain("report_received_idx");
        }
        if (state.equals("PENDING")) {
          assertThat(plan).as(plan).contains("report_checks_due_idx");
        }
      }
      // hasEvidenceFlags=true walks the flagged reports alone (report_flagged_received_idx, partial).
      List<Object> params = new ArrayList<>(List.of(UUID.randomUUID(), true, new String[] {path}));
      String sql = ReportRepository.listSql(new ReportRepository.Filter(null, null, null, null, null, null, null,
          true, null, null), null, null, 51, params);
      String plan = QueryPlans.assertReadsFewerThan(1000, st, "flagged", "uuid, boolean, text[], integer", sql, args);
      assertThat(plan).as(plan).contains("report_flagged_received_idx");
    });
  }

  static String firstField(JsonObject problem) {
    return problem.getJsonArray("errors").getJsonObject(0).getString("field");
  }
}
