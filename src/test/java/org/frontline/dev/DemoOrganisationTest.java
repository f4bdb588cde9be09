package org.frontline.dev;

import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;

import static org.assertj.core.api.Assertions.assertThat;

/** The demo organisation is written through the admin services, once: a second seed changes nothing. */
@FrontlineTest
class DemoOrganisationTest {

  private static String state(TestEnvironment env) throws Exception {
    try (Connection c = env.jdbc(); ResultSet rs = c.createStatement().executeQuery("""
        SELECT (SELECT string_agg(id || ':' || path || ':' || name, ',' ORDER BY path) FROM org_unit) || '|' ||
               (SELECT string_agg(username || ':' || home_unit_id || ':' || password_hash, ',' ORDER BY username) FROM account) || '|' ||
               (SELECT string_agg(account_id || ':' || unit_id, ',' ORDER BY account_id, unit_id) FROM account_scope)""")) {
      rs.next();
      return rs.getString(1);
    }
  }

  @Test
  void seedingTwiceWritesNothingTheSecondTime(TestEnvironment env) throws Exception {
    String before = state(env);
    assertThat(DemoOrganisation.seed(env.databaseConfig())).isZero();
    assertThat(state(env)).isEqualTo(before);
  }

  @Test
  void theTreeAndTheAccountsAreAsListed(TestEnvironment env) throws Exception {
    try (Connection c = env.jdbc(); ResultSet rs = c.createStatement().executeQuery("""
        SELECT (SELECT count(*) FROM org_unit), (SELECT count(*) FROM account),
               (SELECT path FROM org_unit WHERE id = '%s'),
               (SELECT count(*) FROM account a JOIN account_scope s ON s.account_id = a.id AND s.unit_id = a.home_unit_id)"""
        .formatted(DemoOrganisation.HUAISI))) {
      rs.next();
      assertThat(rs.getInt(1)).isEqualTo(DemoOrganisation.UNITS.size());
      assertThat(rs.getInt(2)).isEqualTo(DemoOrganisation.ACCOUNTS.size());
      assertThat(rs.getString(3)).isEqualTo("/" + DemoOrganisation.JIANGSU + "/" + DemoOrganisation.YANGZHOU + "/"
          + DemoOrganisation.HANJIANG + "/" + DemoOrganisation.HUAISI + "/");
      assertThat(rs.getInt(4)).as("every home unit is covered").isEqualTo(DemoOrganisation.ACCOUNTS.size());
    }
  }
}
