package org.frontline.postings;

import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.LocalDate;
import java.time.ZoneId;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.dev.DemoOrganisation.HANJIANG;
import static org.frontline.dev.DemoOrganisation.HUAISI;
import static org.frontline.dev.DemoOrganisation.TONGZHOU;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;
import static org.frontline.postings.PostingsApiTest.XU;
import static org.frontline.postings.PostingsApiTest.ZHANG;
import static org.frontline.postings.PostingsApiTest.account;
import static org.frontline.postings.PostingsApiTest.call;
import static org.frontline.postings.PostingsApiTest.ok;
import static org.frontline.postings.PostingsApiTest.posting;
import static org.frontline.postings.PostingsApiTest.token;

/**
 * Cancelling a mistaken posting before it starts (POST /v1/postings/{id}/cancel): who may, when, what it leaves
 * (the row marked cancelled, one audit entry) and what it no longer counts for (overlaps, the current posting in
 * lists and /v1/me, the unit's retirement).
 */
@FrontlineTest
class PostingCancelTest {
  /** Read per test, not per class: a run crossing midnight in China would otherwise test the wrong boundary. */
  private LocalDate today;

  @BeforeEach
  void clean(TestEnvironment env) throws Exception {
    today = LocalDate.now(ZoneId.of("Asia/Shanghai"));
    try (var c = env.jdbc(); var st = c.createStatement()) {
      st.executeUpdate("DELETE FROM posting");
    }
  }

  private static String cancel(String id) {
    return "/v1/postings/" + id + "/cancel";
  }

  private static long audited(TestEnvironment env, String action, String id) {
    return env.count("SELECT count(*) FROM audit_log WHERE action = ? AND object_id = ?", action, id);
  }

  @Test
  void aPostingNotYetStartedIsCancelledOnceAndCountsForNothingAfter(TestEnvironment env) throws Exception {
    String admin = token(env, "admin");
    String supervisor = token(env, "supervisor.tongzhou");
    String unit = ok(call(env, admin, HttpMethod.POST, "/v1/org-units", new JsonObject().put("parentId",
        TONGZHOU.toString()).put("name", "Typo site " + UUID.randomUUID()).put("kind", "PARK")), 201).getString("id");
    // Starting tomorrow (China Standard Time): the last day it can be cancelled is today.
    JsonObject created = ok(call(env, supervisor, HttpMethod.POST, "/v1/postings",
        posting(ZHANG, "MAJOR_PROJECT", UUID.fromString(unit), today.plusDays(1), today.plusDays(30))), 201);
    String id = created.getString("id");
    assertThat(created.getValue("cancelledAt")).isNull();
    // While it stands, it keeps its unit from being retired (the answer says what is left to do).
    assertThat(assertProblem(call(env, admin, HttpMethod.POST, "/v1/org-units/" + unit + "/retire", null), 409,
        "urn:frontline:problem:conflict").getString("detail")).contains("cancel");

    JsonObject cancelled = ok(call(env, supervisor, HttpMethod.POST, cancel(id), null), 200);
    assertThat(cancelled.getString("cancelledAt")).isNotNull();
    assertThat(cancelled.copy().put("cancelledAt", null)).isEqualTo(created);
    assertThat(env.count("SELECT count(*) FROM posting WHERE id = ?::uuid AND cancelled_at IS NOT NULL AND "
        + "cancelled_by = ?::uuid AND starts_on = ?::date", id, account("supervisor.tongzhou").toString(),
        today.plusDays(1).toString())).isEqualTo(1);
    assertThat(audited(env, "posting.cancel", id)).isEqualTo(1);
    assertThat(env.string("SELECT actor_label || ' ' || unit_id || ' ' || (details->>'officerId') || ' ' "
        + "|| (details->>'startsOn') || ' ' || (details->>'endsOn') FROM audit_log WHERE action = 'posting.cancel' "
        + "AND object_id = ?", id)).isEqualTo("supervisor.tongzhou " + unit + " " + ZHANG + " "
        + today.plusDays(1) + " " + today.plusDays(30));
    String at = env.string("SELECT cancelled_at::text FROM posting WHERE id = ?::uuid", id);

    // A repeat (a flaky network) answers the same and changes nothing.
    assertThat(ok(call(env, supervisor, HttpMethod.POST, cancel(id), null), 200)).isEqualTo(cancelled);
    assertThat(ok(call(env, supervisor, HttpMethod.GET, "/v1/postings/" + id, null), 200)).isEqualTo(cancelled);
    assertThat(env.string("SELECT cancelled_at::text FROM posting WHERE id = ?::uuid", id)).isEqualTo(at);
    assertThat(audited(env, "posting.cancel", id)).isEqualTo(1);

    // It is neither extended nor ended (409, nothing changes).
    assertProblem(call(env, supervisor, HttpMethod.POST, "/v1/postings/" + id + "/extend",
        new JsonObject().put("endsOn", today.plusDays(60).toString())), 409, "urn:frontline:problem:conflict");
    assertProblem(call(env, supervisor, HttpMethod.POST, "/v1/postings/" + id + "/end",
        new JsonObject().put("endsOn", today.plusDays(10).toString())), 409, "urn:frontline:problem:conflict");
    assertThat(env.string("SELECT ends_on::text FROM posting WHERE id = ?::uuid", id))
        .isEqualTo(today.plusDays(30).toString());
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action IN ('posting.extend', 'posting.end') "
        + "AND object_id = ?", id)).isZero();

    // The officer's period is free again: the corrected posting overlaps nothing.
    JsonObject corrected = ok(call(env, supervisor, HttpMethod.POST, "/v1/postings",
        posting(ZHANG, "MAJOR_PROJECT", TONGZHOU, today.plusDays(1), today.plusDays(30))), 201);
    assertThat(corrected.getBoolean("overlapAllowed")).isFalse();
    assertThat(env.string("SELECT details->>'overlapsWith' FROM audit_log WHERE action = 'posting.create' AND "
        + "object_id = ?", corrected.getString("id"))).isEqualTo("[]");
    // And the unit can be retired.
    ok(call(env, admin, HttpMethod.POST, "/v1/org-units/" + unit + "/retire", null), 200);
    assertThat(env.count("SELECT count(*) FROM org_unit WHERE id = ?::uuid AND retired_at IS NOT NULL", unit))
        .isEqualTo(1);

    // Once its days have come (moved here, as time would), it is still nobody's current posting.
    try (var c = env.jdbc(); var st = c.createStatement()) {
      st.executeUpdate("UPDATE posting SET starts_on = current_date - 400 WHERE id = '" + id + "'");
    }
    assertThat(ok(call(env, token(env, "officer.zhang"), HttpMethod.GET, "/v1/me", null), 200)
        .getJsonArray("postings")).isEmpty();
    assertThat(ok(call(env, supervisor, HttpMethod.GET, "/v1/postings?officerId=" + ZHANG + "&current=true", null),
        200).getJsonArray("items")).isEmpty();
    // The list still shows it, marked, for the record; a repeated cancel still answers it.
    assertThat(ok(call(env, supervisor, HttpMethod.GET, "/v1/postings?officerId=" + ZHANG, null), 200)
        .getJsonArray("items").stream().map(o -> ((JsonObject) o).getValue("cancelledAt") != null).toList())
        .containsExactly(false, true);
    assertThat(ok(call(env, supervisor, HttpMethod.POST, cancel(id), null), 200).getString("cancelledAt"))
        .isEqualTo(cancelled.getString("cancelledAt"));
    assertThat(audited(env, "posting.cancel", id)).isEqualTo(1);
  }

  /** A posting that has started, today or before, is ended instead: 409, nothing changes, nothing audited. */
  @Test
  void aPostingThatHasStartedIsNotCancelled(TestEnvironment env) throws Exception {
    String supervisor = token(env, "supervisor.tongzhou");
    for (LocalDate start : List.of(today, today.minusDays(20))) {
      String id = ok(call(env, supervisor, HttpMethod.POST, "/v1/postings",
          posting(ZHANG, "ENVIRONMENTAL", TONGZHOU, start, start.plusDays(10))), 201).getString("id");
      JsonObject problem = assertProblem(call(env, supervisor, HttpMethod.POST, cancel(id), null), 409,
          "urn:frontline:problem:conflict");
      assertThat(problem.getString("detail")).as(start.toString()).contains(start.toString()).contains("end it");
      assertThat(env.count("SELECT count(*) FROM posting WHERE id = ?::uuid AND cancelled_at IS NULL "
          + "AND cancelled_by IS NULL", id)).isEqualTo(1);
      assertThat(audited(env, "posting.cancel", id)).isZero();
    }
    assertThat(ok(call(env, token(env, "officer.zhang"), HttpMethod.GET, "/v1/me", null), 200)
        .getJsonArray("postings")).hasSize(1);
  }

  /**
   * Who may cancel is who may create it: a supervisor or admin whose scope holds the posting's unit. Another unit's
   * admin or supervisor gets the answer an unknown posting gets (404); an officer, even the one posted, and an
   * assessor are 403. Nothing changes for any of them.
   */
  @Test
  void onlyASupervisorOrAdminWhoseScopeHoldsTheUnitCancels(TestEnvironment env) throws Exception {
    String admin = token(env, "admin");
    String username = "admin.tongzhou." + UUID.randomUUID().toString().substring(0, 8);
    ok(call(env, admin, HttpMethod.POST, "/v1/accounts", new JsonObject().put("username", username)
        .put("displayName", "Tongzhou admin").put("roles", new JsonArray().add("admin"))
        .put("homeUnitId", TONGZHOU.toString()).put("password", "Tongzhou-Admin-2026")), 201);
    String otherAdmin = token(env, username, "Tongzhou-Admin-2026");
    String hanjiang = token(env, "supervisor.hanjiang");
    String id = ok(call(env, hanjiang, HttpMethod.POST, "/v1/postings",
        posting(XU, "INVESTMENT_PROMOTION", HUAISI, today.plusDays(5), null)), 201).getString("id");
    String unknown = UUID.randomUUID().toString();

    JsonObject missing = assertProblem(call(env, otherAdmin, HttpMethod.POST, cancel(unknown), null), 404,
        "urn:frontline:problem:not-found");
    for (String caller : List.of(otherAdmin, token(env, "supervisor.tongzhou"))) {
      JsonObject hidden = assertProblem(call(env, caller, HttpMethod.POST, cancel(id), null), 404,
          "urn:frontline:problem:not-found");
      assertThat(hidden.getString("detail").replace(id, unknown)).isEqualTo(missing.getString("detail"));
      assertThat(hidden.getString("title")).isEqualTo(missing.getString("title"));
    }
    for (String caller : List.of(token(env, "officer.xu"), token(env, "assessor.tongzhou"))) {
      assertProblem(call(env, caller, HttpMethod.POST, cancel(id), null), 403, "urn:frontline:problem:forbidden");
    }
    assertThat(env.count("SELECT count(*) FROM posting WHERE id = ?::uuid AND cancelled_at IS NULL", id))
        .isEqualTo(1);
    assertThat(audited(env, "posting.cancel", id)).isZero();

    // The unit's own supervisor may; so may an admin whose scope holds it.
    assertThat(ok(call(env, hanjiang, HttpMethod.POST, cancel(id), null), 200).getString("cancelledAt")).isNotNull();
    String another = ok(call(env, admin, HttpMethod.POST, "/v1/postings",
        posting(XU, "ENVIRONMENTAL", HANJIANG, today.plusDays(5), today.plusDays(9))), 201).getString("id");
    assertThat(ok(call(env, admin, HttpMethod.POST, cancel(another), null), 200).getString("cancelledAt"))
        .isNotNull();
    assertThat(env.count("SELECT count(*) FROM posting WHERE cancelled_at IS NOT NULL")).isEqualTo(2);
    assertThat(env.count("SELECT count(*) FROM audit_log WHERE action = 'posting.cancel' AND object_id IN (?, ?)",
        id, another)).isEqualTo(2);
  }
}
