package org.frontline.identity;

import org.frontline.dev.DemoOrganisation;
import org.frontline.testing.TestEnvironment;

import java.sql.SQLException;
import java.util.Map;

/** Opens ScopeMatrixTest's objects of Hanjiang's subtree to tests in other packages (the hostile-input sweep). */
public final class ScopeMatrixTestAccess {
  private ScopeMatrixTestAccess() {}

  /** Writes the objects the scope matrix names, once per class. */
  public static void ensureObjects(TestEnvironment env) throws SQLException {
    ScopeMatrixTest.ensureObjects(env);
  }

  /**
   * An existing object's id for each collection of the API, by the path segment that names it
   * ({@code /v1/projects/{id}}: "projects"; {@code .../credentials/{credentialId}}: "credentials").
   */
  public static Map<String, Object> objectsByCollection() {
    return Map.ofEntries(
        Map.entry("org-units", DemoOrganisation.HUAISI),
        Map.entry("accounts", ScopeMatrixTest.XU),
        Map.entry("reports", ScopeMatrixTest.XU_REPORT),
        Map.entry("attachments", ScopeMatrixTest.XU_ATTACHMENT),
        Map.entry("enterprises", ScopeMatrixTest.HUAISI_ENTERPRISE),
        Map.entry("service-requests", ScopeMatrixTest.HUAISI_SERVICE_REQUEST),
        Map.entry("projects", ScopeMatrixTest.HUAISI_PROJECT),
        Map.entry("milestones", ScopeMatrixTest.HUAISI_MILESTONE),
        Map.entry("postings", ScopeMatrixTest.HUAISI_POSTING),
        Map.entry("devices", ScopeMatrixTest.HANJIANG_PHONE),
        Map.entry("notifications", ScopeMatrixTest.HANJIANG_NOTIFICATION),
        Map.entry("deliveries", ScopeMatrixTest.HANJIANG_DEAD_DELIVERY),
        Map.entry("partner-clients", ScopeMatrixTest.HUAISI_PARTNER),
        Map.entry("credentials", ScopeMatrixTest.HUAISI_PARTNER_SECRET));
  }
}
