package org.frontline.testing;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Cursors made up from real ones, for the tests of lists whose cursors are bound to their filters (identity/Page):
 * {@code <sort key>#<hash of the filters>}, base64url.
 */
public final class Cursors {
  private Cursors() {}

  /** {@code cursor} at another position {@code key}, still bound to the filters it was returned with. */
  public static String at(String cursor, String key) {
    String bound = decoded(cursor);
    return encoded(key + bound.substring(bound.lastIndexOf('#')));
  }

  /** {@code cursor} with its position kept and the hash of its filters replaced by {@code hash}. */
  public static String withFilterHash(String cursor, String hash) {
    String bound = decoded(cursor);
    return encoded(bound.substring(0, bound.lastIndexOf('#') + 1) + hash);
  }

  /** {@code cursor} as cursors were before they were bound to filters: its position alone. */
  public static String unbound(String cursor) {
    String bound = decoded(cursor);
    return encoded(bound.substring(0, bound.lastIndexOf('#')));
  }

  /** Made up from {@code cursor}: its filter hash replaced, its hash dropped, its position not a key of any list. */
  public static List<String> forgeries(String cursor) {
    return List.of(withFilterHash(cursor, "AAAAAAAA"), unbound(cursor), at(cursor, "not-a-key"), "bm90LWEtY3Vyc29y");
  }

  /** The cursor's 400: a validation problem naming {@code query/cursor}. */
  public static JsonObject assertRefused(HttpResponse<Buffer> r) {
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(400);
    JsonObject problem = r.bodyAsJsonObject();
    assertThat(problem.getString("type")).isEqualTo("urn:frontline:problem:validation-failed");
    assertThat(problem.getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("query/cursor");
    return problem;
  }

  /** The cursor's 400 for one returned with other filters than those sent. */
  public static void assertOtherFilters(HttpResponse<Buffer> r) {
    assertThat(assertRefused(r).getString("detail")).contains("other filters");
  }

  private static String decoded(String cursor) {
    return new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
  }

  private static String encoded(String key) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(key.getBytes(StandardCharsets.UTF_8));
  }
}
