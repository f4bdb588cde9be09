package org.frontline.testing;

import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.platform.http.ProblemsAndContractTestAccess.assertProblem;

/** What every refused access token gets: the one 401 problem, invalid_token, and its reason on record. */
public final class TokenRefusals {
  private TokenRefusals() {}

  /** {@code r} is the 401 invalid_token of a refused token, audited (auth.token.rejected) with {@code reason}. */
  public static void assertRefused(TestEnvironment env, HttpResponse<Buffer> r, String reason) {
    assertProblem(r, 401, "urn:frontline:problem:unauthorized");
    assertThat(r.getHeader("WWW-Authenticate")).isEqualTo("Bearer error=\"invalid_token\"");
    assertThat(env.string("SELECT details->>'reason' FROM audit_log WHERE action = 'auth.token.rejected' "
        + "AND request_id = ?", r.getHeader("X-Request-Id"))).isEqualTo(reason);
  }
}
