package org.frontline.uploads;

import io.vertx.core.Future;
import org.frontline.notify.Retention;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.QueryPlans;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.Statement;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.testing.TestEnvironment.await;
import static org.frontline.uploads.TusUploadTest.XU;
import static org.frontline.uploads.TusUploadTest.query;
import static org.frontline.uploads.UploadRequests.uploadId;

/**
 * Retention of upload rows: an ended upload that owes the store nothing goes a week after its expiry (HEAD is then
 * 404); an active one, one still owing a clean-up and a younger one stay.
 */
@FrontlineTest
class UploadRetentionTest {
  private final HttpClient http = TestEnvironment.checkedHttp();
  private final UploadRequests uploads = new UploadRequests(http);

  private int send(TestEnvironment env, String token, String id, String method, byte[] body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(env.apiUri("/v1/uploads/" + id))
        .header("Tus-Resumable", "1.0.0").header("Authorization", "Bearer " + token);
    if (body != null) {
      b.header("Upload-Offset", "0").header("Content-Type", "application/offset+octet-stream");
    }
    return http.send(b.method(method, body == null ? HttpRequest.BodyPublishers.noBody()
        : HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString()).statusCode();
  }

  private static void update(TestEnvironment env, String sql) throws Exception {
    try (Connection c = env.jdbc(); Statement s = c.createStatement()) {
      s.executeUpdate(sql);
    }
  }

  private static long rows(TestEnvironment env, String id) {
    return env.count("SELECT count(*) FROM upload WHERE id = ?::uuid", id);
  }

  /**
   * With 5,000 ended uploads younger than the window, the statement's generic plan reads a handful of rows (through
   * upload_ended_expiry_idx). Rolled back.
   */
  private static void theStatementReadsOnlyWhatItDeletes(TestEnvironment env, String like) throws Exception {
    QueryPlans.rolledBack(env, st -> {
      st.execute("INSERT INTO upload (id, attachment_id, report_id, author_id, length, object_key, status,"
          + " expires_at, finished_at) SELECT gen_random_uuid(), attachment_id, report_id, author_id, length,"
          + " object_key, 'COMPLETED', now() - interval '1 day', now() FROM upload, generate_series(1, 5000)"
          + " WHERE id = '" + like + "'");
      st.execute("ANALYZE upload");
      QueryPlans.assertReadsOnlyAFew(st, "uploads", "bigint, int", Retention.UPLOADS,
          Retention.UPLOAD_KEPT_AFTER_EXPIRY.toMillis(), 1000);
    });
  }

  @Test
  void endedUploadsGoAWeekAfterTheirExpiryAndTheRestStays(TestEnvironment env) throws Exception {
    String token = TusUploadTest.token(http, env, "officer.xu");
    byte[][] data = {TusUploadTest.photo(4000), TusUploadTest.photo(4001), TusUploadTest.photo(4002),
        TusUploadTest.photo(4003)};
    UUID report = UUID.randomUUID();
    UUID[] a = {UUID.randomUUID(), UUID.randomUUID(), UUID.randomUUID(), UUID.randomUUID()};
    TusUploadTest.insertReport(env, report, XU, a, data);
    String old = uploadId(uploads.create(env, token, report, a[0], data[0].length));
    String young = uploadId(uploads.create(env, token, report, a[1], data[1].length));
    String owing = uploadId(uploads.create(env, token, report, a[2], data[2].length));
    String active = uploadId(uploads.create(env, token, report, a[3], data[3].length));
    assertThat(send(env, token, old, "PATCH", data[0])).isEqualTo(204);
    assertThat(send(env, token, young, "PATCH", data[1])).isEqualTo(204);
    assertThat(send(env, token, owing, "DELETE", null)).isEqualTo(204);
    assertThat(query(env, "SELECT string_agg(status, ',' ORDER BY length) FROM upload WHERE report_id = '" + report
        + "'")).isEqualTo("COMPLETED,COMPLETED,ABORTED,ACTIVE");

    // Completed, expired 8 days ago: it goes.
    update(env, "UPDATE upload SET expires_at = now() - interval '8 days' WHERE id = '" + old + "'");
    // Completed, expired 6 days ago: HEAD still says it is complete.
    update(env, "UPDATE upload SET expires_at = now() - interval '6 days' WHERE id = '" + young + "'");
    // Terminated 8 days past its expiry, but its clean-up failed and is owed: it stays.
    update(env, "UPDATE upload SET expires_at = now() - interval '8 days', cleanup_after = now() + interval '1 hour'"
        + " WHERE id = '" + owing + "'");
    // Still ACTIVE 8 days past its expiry (not swept yet): the upload sweeper's, it stays.
    update(env, "UPDATE upload SET expires_at = now() - interval '8 days' WHERE id = '" + active + "'");

    Future<Retention.Swept> one = env.app().retention().sweep();
    Future<Retention.Swept> two = env.app().retention().sweep();
    await(Future.join(one, two));
    assertThat(one.succeeded()).as(String.valueOf(one.cause())).isTrue();
    assertThat(two.succeeded()).as(String.valueOf(two.cause())).isTrue();
    assertThat(one.result().uploads() + two.result().uploads()).isGreaterThanOrEqualTo(1);

    assertThat(rows(env, old)).isZero();
    assertThat(rows(env, young) + rows(env, owing) + rows(env, active)).isEqualTo(3);
    assertThat(query(env, "SELECT status FROM attachment WHERE id = '" + a[0] + "'")).isEqualTo("STORED");
    assertThat(send(env, token, old, "HEAD", null)).isEqualTo(404);
    assertThat(send(env, token, young, "HEAD", null)).isEqualTo(200);
    assertThat(send(env, token, active, "HEAD", null)).isEqualTo(410);

    // Once its clean-up is done, the terminated one goes too.
    update(env, "UPDATE upload SET cleanup_after = NULL WHERE id = '" + owing + "'");
    assertThat(await(env.app().retention().sweep()).uploads()).isEqualTo(1);
    assertThat(rows(env, owing)).isZero();
    assertThat(await(env.app().retention().sweep()).uploads()).isZero();
    theStatementReadsOnlyWhatItDeletes(env, young);
  }
}
