package org.frontline.platform.http;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.platform.http.ProblemsAndContractTest.assertProblem;
import static org.frontline.testing.TestEnvironment.await;

/**
 * Numbers read exactly as written (ExactNumbers) with an exponent far past their digits: their plain form had
 * millions of digits. A zero was a 500; any other a 422 whose detail carried every digit (megabytes).
 */
@FrontlineTest
class ExactNumbersTest {

  private static HttpResponse<Buffer> createProject(TestEnvironment env, String token, String unitId, String name,
                                                    String investment) {
    String body = "{\"unitId\":\"" + unitId + "\",\"name\":\"" + name + "\",\"investmentYuan\":" + investment
        + ",\"site\":{\"lat\":32.4,\"lon\":119.4,\"radiusM\":100}}";
    return await(env.client().post("/v1/projects").putHeader("Authorization", "Bearer " + token)
        .putHeader("Content-Type", "application/json").sendBuffer(Buffer.buffer(body)));
  }

  @Test
  void anExponentFarPastTheDigitsIsAZeroOrA400NeverMegabytes(TestEnvironment env) {
    HttpResponse<Buffer> login = await(env.client().post("/v1/auth/login")
        .sendJsonObject(new JsonObject().put("username", "supervisor.hanjiang").put("password", "frontline-dev")));
    String token = login.bodyAsJsonObject().getString("access_token");
    String unitId = await(env.client().get("/v1/me").putHeader("Authorization", "Bearer " + token).send())
        .bodyAsJsonObject().getJsonObject("homeUnit").getString("id");

    String zeroName = "zero " + UUID.randomUUID();
    HttpResponse<Buffer> zero = createProject(env, token, unitId, zeroName, "0e-2000000");
    assertThat(zero.statusCode()).as(zero.bodyAsString()).isEqualTo(201);
    assertThat(zero.bodyAsJsonObject().getValue("investmentYuan").toString()).matches("0(\\.0+)?");
    assertThat(env.string("SELECT investment_yuan::text FROM project WHERE name = ?", zeroName)).isEqualTo("0.00");

    String tinyName = "tiny " + UUID.randomUUID();
    HttpResponse<Buffer> tiny = createProject(env, token, unitId, tinyName, "1e-2000000");
    JsonObject problem = assertProblem(tiny, 400, "urn:frontline:problem:validation-failed");
    assertThat(problem.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("body/investmentYuan");
    assertThat(tiny.body().length()).isLessThan(2000);
    assertThat(env.count("SELECT count(*) FROM project WHERE name = ?", tinyName)).isZero();

    // An exponent within reach of real digits is judged by the field's own rule, as before.
    HttpResponse<Buffer> fen = createProject(env, token, unitId, "fen " + UUID.randomUUID(), "1e-3");
    assertProblem(fen, 422, "urn:frontline:problem:unprocessable");
  }
}
