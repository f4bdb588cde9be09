package org.frontline;

import org.frontline.audit.AuditTesting;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code admin audit-verify}: exit 0 on an intact chain, 3 naming the first broken entry, 2 without settings. */
@FrontlineTest
class AuditVerifyCommandTest {

  @Test
  void exitStatusTellsWhetherTheChainIsIntact(TestEnvironment env) throws Exception {
    AuditTesting.clearAuditAndThrottle(env);
    for (String user : new String[] {"officer.xu", "officer.zhang", "supervisor.hanjiang"}) {
      AuditTesting.loginOk(env, user);
    }
    Map<String, String> settings = Map.of("FRONTLINE_DATABASE_URL", env.settings().get("FRONTLINE_DATABASE_URL"));
    MainTest.Run intact = MainTest.run(settings, "admin", "audit-verify");
    assertThat(intact.status()).as(intact.err()).isZero();
    assertThat(intact.out()).contains("audit log intact: 3 entries checked");

    AuditTesting.tamper(env, "UPDATE audit_log SET outcome = 'FAILURE' WHERE seq = 2");
    MainTest.Run broken = MainTest.run(settings, "admin", "audit-verify");
    assertThat(broken.status()).isEqualTo(3);
    assertThat(broken.out()).contains("audit log BROKEN at seq 2: content-changed");

    MainTest.Run noSettings = MainTest.run(Map.of(), "admin", "audit-verify");
    assertThat(noSettings.status()).isEqualTo(2);
    assertThat(noSettings.err()).contains("FRONTLINE_DATABASE_URL: missing");
  }
}
