package org.frontline.media;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.streams.ReadStream;
import org.frontline.Frontline;
import org.frontline.dev.DemoOrganisation;
import org.frontline.evidence.MediaWorkerVerticle;
import org.frontline.testing.Waits;
import org.frontline.testing.FrontlineTest;
import org.frontline.testing.LogCapture;
import org.frontline.testing.StoreHttp;
import org.frontline.testing.TestEnvironment;
import org.junit.jupiter.api.Test;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.testing.TestEnvironment.await;

/**
 * The media worker end to end: photos uploaded through the API (presigned PUT + completion), processed for real by
 * the worker deployed in the service, the checks and flags read back through the API, the alert pushed to the fake
 * FCM, the served copies fetched through the content redirect.
 */
@FrontlineTest
class EvidenceWorkerTest {
  private static final double REPORT_LAT = 32.45;
  private static final double REPORT_LON = 119.43;
  private final HttpClient http = TestEnvironment.checkedHttp();

  @Test
  void aPhotoFarFromTheReportIsFlaggedAlertedAndServedWithoutMetadata(TestEnvironment env) throws Exception {
    device(env, "supervisor.hanjiang", "evidence-hanjiang");
    device(env, "supervisor.tongzhou", "evidence-tongzhou");
    Instant captured = Instant.now().minus(10, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.SECONDS);
    // Taken in Shanghai (about 250 km away), at the report's capture time.
    byte[] photo = withExif(TestImages.jpeg(TestImages.scene(800, 600, 11), 0.9f), captured, 31.23, 121.47);
    UUID report = UUID.randomUUID();
    double doneBefore = processed(env, "done");
    long timedBefore = env.app().registry().get("frontline.media.processing").timer().count();
    UUID attachment = submitWithPhoto(env, report, captured, photo);

    awaitDone(env, attachment);
    Waits.until(java.time.Duration.ofSeconds(20), "the photo counted", () -> processed(env, "done") >= doneBefore + 1);
    assertThat(env.app().registry().get("frontline.media.processing").timer().count()).isGreaterThan(timedBefore);
    assertThat(check(env, attachment, "PHOTO_GPS_DISTANCE")).startsWith("FLAGGED|");
    assertThat(Double.parseDouble(check(env, attachment, "PHOTO_GPS_DISTANCE").split("\\|")[1])).isGreaterThan(200_000);
    assertThat(check(env, attachment, "PHOTO_TIME_SKEW")).startsWith("PASSED|");
    assertThat(check(env, attachment, "EXACT_REUSE")).startsWith("PASSED|");
    assertThat(string(env, "SELECT flagged::text FROM report WHERE id = ?", report)).isEqualTo("true");
    assertThat(string(env, "SELECT count(*) FROM outbox WHERE event_type = 'report.evidence-flagged'"
        + " AND aggregate_id = ?", report)).isEqualTo("1");
    assertThat(string(env, "SELECT payload->>'flags' FROM outbox WHERE event_type = 'report.evidence-flagged'"
        + " AND aggregate_id = ?", report)).contains("PHOTO_GPS_DISTANCE");

    // The alert: supervisor.hanjiang (covers Huaisi) is told, marked as needing attention; supervisor.tongzhou not.
    Waits.until(java.time.Duration.ofSeconds(20), "the flagged alert is sent", () -> "SENT".equals(string(env, "SELECT p.status FROM push_delivery p"
        + " JOIN outbox o ON o.id = p.event_id JOIN device d ON d.id = p.device_id"
        + " WHERE o.aggregate_id = ? AND o.event_type = 'report.evidence-flagged' AND d.token = 'evidence-hanjiang'",
        report)));
    Thread.sleep(1200);
    assertThat(env.fcm().requestsFor("evidence-tongzhou")).isEmpty();
    assertThat(string(env, "SELECT count(*) FROM notification n JOIN outbox o ON o.id = n.event_id"
        + " WHERE o.event_type = 'report.evidence-flagged' AND n.account_id = ?", account("supervisor.tongzhou")))
        .isEqualTo("0");
    // Only this report's: another test's flagged report in Huaisi may be dispatched to this device meanwhile.
    var pushes = env.fcm().requestsFor("evidence-hanjiang").stream()
        .filter(r -> "report.evidence-flagged".equals(r.data().getString("eventType")))
        .filter(r -> report.toString().equals(r.data().getString("reportId"))).toList();
    assertThat(pushes).hasSize(1);
    assertThat(pushes.get(0).data().getMap()).containsEntry("attention", "true")
        .containsEntry("flags", "PHOTO_GPS_DISTANCE");
    assertThat(pushes.get(0).notification().getString("title")).contains("需要关注");

    // The representation: the supervisor sees the checks and the flag; the author sees neither.
    JsonObject seen = new JsonObject(get(env, "supervisor.hanjiang", "/v1/reports/" + report).body());
    assertThat(seen.getBoolean("flagged")).isTrue();
    JsonObject distance = find(seen.getJsonArray("evidence"), attachment, "PHOTO_GPS_DISTANCE");
    assertThat(distance.getString("outcome")).isEqualTo("FLAGGED");
    assertThat(distance.getString("unit")).isEqualTo("m");
    assertThat(distance.getDouble("measured")).isGreaterThan(distance.getDouble("threshold"));
    assertThat(find(seen.getJsonArray("evidence"), null, "MOCK_LOCATION").getString("outcome")).isEqualTo("PASSED");
    JsonObject own = new JsonObject(get(env, "officer.xu", "/v1/reports/" + report).body());
    assertThat(own.getJsonArray("evidence")).isEmpty();
    assertThat(own.containsKey("flagged")).isFalse();

    // The filter, from the partial index.
    JsonArray flagged = new JsonObject(get(env, "supervisor.hanjiang", "/v1/reports?hasEvidenceFlags=true").body())
        .getJsonArray("items");
    assertThat(flagged.stream().map(o -> ((JsonObject) o).getString("id"))).contains(report.toString());
    assertThat(flagged.stream().allMatch(o -> ((JsonObject) o).getBoolean("flagged"))).isTrue();
    JsonArray clean = new JsonObject(get(env, "supervisor.hanjiang", "/v1/reports?hasEvidenceFlags=false").body())
        .getJsonArray("items");
    assertThat(clean.stream().map(o -> ((JsonObject) o).getString("id"))).doesNotContain(report.toString());
    HttpResponse<String> officerFilter = get(env, "officer.xu", "/v1/reports?hasEvidenceFlags=true");
    assertThat(officerFilter.statusCode()).isEqualTo(403);
    assertThat(new JsonObject(officerFilter.body()).getString("type")).isEqualTo("urn:frontline:problem:forbidden");

    // Derived copies: in the store, JPEG, no EXIF (no GPS) at all.
    for (String column : List.of("thumb_key", "display_key")) {
      String key = string(env, "SELECT " + column + " FROM attachment WHERE id = ?", attachment);
      assertThat(key).isEqualTo("derived/" + attachment + "/" + (column.startsWith("thumb") ? "thumb" : "display")
          + ".jpg");
      byte[] copy = stored(env, key);
      assertThat(new MediaSniffer().sniff(MediaBytes.of(copy)).toString()).contains("image/jpeg");
      assertThat(new String(copy, StandardCharsets.ISO_8859_1)).doesNotContain("Exif\0\0");
      assertThat(new PhotoMetadataReader().read(MediaBytes.of(copy)).gps()).isEmpty();
      BufferedImage img = ImageIO.read(new ByteArrayInputStream(copy));
      assertThat(Math.max(img.getWidth(), img.getHeight()))
          .isEqualTo(column.startsWith("thumb") ? DerivedImages.THUMB_LONG_SIDE : 800);
    }

    // The content redirect: 303 to a presigned GET of at most 5 minutes that serves the copy.
    HttpResponse<String> thumb = get(env, "supervisor.hanjiang", "/v1/attachments/" + attachment + "/content?variant=thumb");
    assertThat(thumb.statusCode()).as(thumb.body()).isEqualTo(303);
    String location = thumb.headers().firstValue("Location").orElseThrow();
    Matcher expires = Pattern.compile("X-Amz-Expires=(\\d+)").matcher(location);
    assertThat(expires.find()).isTrue();
    assertThat(Integer.parseInt(expires.group(1))).isBetween(1, 300);
    HttpResponse<byte[]> fetched = StoreHttp.get(location);
    assertThat(fetched.statusCode()).isEqualTo(200);
    assertThat(fetched.body()).isEqualTo(stored(env, "derived/" + attachment + "/thumb.jpg"));
    assertThat(fetched.headers().firstValue("Content-Type")).hasValue("image/jpeg");
    assertThat(fetched.headers().firstValue("Content-Disposition"))
        .hasValue("inline; filename=\"" + attachment + "-thumb.jpg\"");
    assertThat(fetched.headers().firstValue("Cache-Control")).hasValue("private, no-store");
    // Originals: the author and a supervisor in scope; an admin who may read the report: 403.
    HttpResponse<String> original = get(env, "officer.xu", "/v1/attachments/" + attachment + "/content?variant=original");
    assertThat(original.statusCode()).isEqualTo(303);
    assertThat(StoreHttp.get(original.headers().firstValue("Location").orElseThrow()).body()).isEqualTo(photo);
    assertThat(get(env, "supervisor.hanjiang", "/v1/attachments/" + attachment + "/content?variant=original")
        .statusCode()).isEqualTo(303);
    assertProblem(get(env, "admin", "/v1/attachments/" + attachment + "/content?variant=original"), 403,
        "urn:frontline:problem:forbidden");
    assertThat(get(env, "admin", "/v1/attachments/" + attachment + "/content").statusCode()).isEqualTo(303);
    // Out of scope: as if missing.
    for (String who : List.of("supervisor.tongzhou", "officer.zhang", "assessor.tongzhou")) {
      assertProblem(get(env, who, "/v1/attachments/" + attachment + "/content?variant=thumb"), 404,
          "urn:frontline:problem:not-found");
    }
  }

  /**
   * A photo just beyond the allowed distance is told so: its detail gives the distance as `measured` does (to the
   * decimetre), never "taken 200 m from the report location (allowed 200 m)" on a FLAGGED check, which a supervisor
   * reads as a wrong flag.
   */
  @Test
  void aPhotoJustBeyondTheAllowedDistanceSaysByHowMuch(TestEnvironment env) throws Exception {
    Instant captured = Instant.now().minus(10, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.SECONDS);
    // About 200.3 m north of the report (accuracy 10 m: 200 m allowed).
    byte[] photo = withExif(TestImages.jpeg(TestImages.scene(320, 240, 913), 0.9f), captured,
        REPORT_LAT + 200.3 / 111_195.0, REPORT_LON);
    UUID report = UUID.randomUUID();
    UUID attachment = submitWithPhoto(env, report, captured, photo);

    awaitDone(env, attachment);
    JsonObject distance = find(new JsonObject(get(env, "supervisor.hanjiang", "/v1/reports/" + report).body())
        .getJsonArray("evidence"), attachment, "PHOTO_GPS_DISTANCE");
    assertThat(distance.getString("outcome")).isEqualTo("FLAGGED");
    double measured = distance.getDouble("measured");
    assertThat(measured).isGreaterThan(200).isLessThan(200.5);
    assertThat(distance.getString("detail")).startsWith("the photo was taken " + measured + " m from the report"
        + " location (allowed 200 m:");
    assertThat(string(env, "SELECT detail FROM evidence_check WHERE attachment_id = ? AND code = ?", attachment,
        "PHOTO_GPS_DISTANCE")).isEqualTo(distance.getString("detail"));
  }

  @Test
  void aPhotoNotCheckedYetReadsPendingAndItsReportIsNotListedAsClean(TestEnvironment env) throws Exception {
    Instant captured = Instant.now().minus(5, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.SECONDS);
    byte[] photo = withExif(TestImages.jpeg(TestImages.scene(320, 240, 91), 0.9f), captured, REPORT_LAT, REPORT_LON);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    Workers.stopMediaWorker(env);
    boolean started = false;
    try {
      declare(env, report, a, captured, photo);
      // Awaiting its photo: nothing checked.
      assertChecksStates(env, report, a, "PENDING", "PENDING");
      upload(env, a, photo);
      // Stored, the media worker not run: still nothing checked, and no flag does not mean clean.
      JsonObject stored = assertChecksStates(env, report, a, "PENDING", "PENDING");
      assertThat(stored.getString("status")).isEqualTo("COMPLETE");
      assertThat(stored.getBoolean("flagged")).isFalse();
      assertThat(stored.getJsonArray("evidence")).isEmpty();
      assertThat(listedIds(env, "/v1/reports?hasEvidenceFlags=false&limit=200")).doesNotContain(report.toString());
      assertThat(listedIds(env, "/v1/reports?hasEvidenceFlags=true&limit=200")).doesNotContain(report.toString());
      // Listed as pending to a reader in scope, not to another district's supervisor.
      assertThat(listedIds(env, "/v1/reports?evidenceChecks=PENDING&limit=200")).contains(report.toString());
      assertThat(listedIds(env, "/v1/reports?evidenceChecks=DONE&limit=200")).doesNotContain(report.toString());
      assertThat(listedIds(env, "supervisor.tongzhou", "/v1/reports?evidenceChecks=PENDING&limit=200"))
          .doesNotContain(report.toString());
      // Its author is told nothing of the checks.
      JsonObject own = new JsonObject(get(env, "officer.xu", "/v1/reports/" + report).body());
      assertThat(own.containsKey("evidenceChecks")).isFalse();
      assertThat(own.getJsonArray("attachments").getJsonObject(0).containsKey("evidenceChecks")).isFalse();

      Workers.startMediaWorker(env);
      started = true;
      awaitDone(env, a);
      JsonObject checked = assertChecksStates(env, report, a, "DONE", "DONE");
      assertThat(checked.getBoolean("flagged")).isFalse();
      assertThat(find(checked.getJsonArray("evidence"), a, "PHOTO_GPS_DISTANCE").getString("outcome"))
          .isEqualTo("PASSED");
      assertThat(listedIds(env, "/v1/reports?hasEvidenceFlags=false&limit=200")).contains(report.toString());
      assertThat(listedIds(env, "/v1/reports?evidenceChecks=DONE&limit=200")).contains(report.toString());
      assertThat(listedIds(env, "/v1/reports?evidenceChecks=PENDING&limit=200")).doesNotContain(report.toString());
    } finally {
      if (!started) {
        Workers.startMediaWorker(env);
      }
    }
  }

  @Test
  void theSameBytesOnAnotherReportAreExactReuseAndAReencodedCopyANearDuplicate(TestEnvironment env) throws Exception {
    Instant captured = Instant.now().minus(5, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.SECONDS);
    BufferedImage scene = TestImages.scene(900, 700, 21);
    byte[] photo = withExif(TestImages.jpeg(scene, 0.9f), captured, REPORT_LAT, REPORT_LON);
    UUID first = UUID.randomUUID();
    UUID a1 = submitWithPhoto(env, first, captured, photo);
    awaitDone(env, a1);
    assertThat(check(env, a1, "PHOTO_GPS_DISTANCE")).startsWith("PASSED|");
    assertThat(check(env, a1, "EXACT_REUSE")).startsWith("PASSED|");
    assertThat(string(env, "SELECT flagged::text FROM report WHERE id = ?", first)).isEqualTo("false");

    // The same bytes on another report.
    UUID second = UUID.randomUUID();
    UUID a2 = submitWithPhoto(env, second, captured, photo);
    awaitDone(env, a2);
    assertThat(check(env, a2, "EXACT_REUSE")).startsWith("FLAGGED|");
    assertThat(string(env, "SELECT detail FROM evidence_check WHERE attachment_id = ? AND code = 'EXACT_REUSE'", a2))
        .contains(first.toString());
    assertThat(string(env, "SELECT flagged::text FROM report WHERE id = ?", second)).isEqualTo("true");

    // A re-encoded, resized copy: other bytes, same picture.
    byte[] copy = withExif(TestImages.jpeg(TestImages.resized(scene, 720, 560), 0.6f), captured, REPORT_LAT,
        REPORT_LON);
    UUID third = UUID.randomUUID();
    UUID a3 = submitWithPhoto(env, third, captured, copy);
    awaitDone(env, a3);
    assertThat(check(env, a3, "EXACT_REUSE")).startsWith("PASSED|");
    assertThat(check(env, a3, "NEAR_DUPLICATE")).startsWith("FLAGGED|");
    assertThat(Double.parseDouble(check(env, a3, "NEAR_DUPLICATE").split("\\|")[1]))
        .isLessThanOrEqualTo(PerceptualHash.NEAR_DUPLICATE_BITS);
    assertThat(string(env, "SELECT flagged::text FROM report WHERE id = ?", third)).isEqualTo("true");

    // A photo of another scene is neither.
    UUID fourth = UUID.randomUUID();
    UUID a4 = submitWithPhoto(env, fourth, captured,
        withExif(TestImages.jpeg(TestImages.scene(900, 700, 4242), 0.9f), captured, REPORT_LAT, REPORT_LON));
    awaitDone(env, a4);
    assertThat(check(env, a4, "NEAR_DUPLICATE")).startsWith("PASSED|");
    assertThat(check(env, a4, "EXACT_REUSE")).startsWith("PASSED|");
  }

  @Test
  void theSameBytesTwiceInOneReportAreExactReuseNamingTheOtherPhoto(TestEnvironment env) throws Exception {
    Instant captured = Instant.now().minus(5, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.SECONDS);
    byte[] photo = withExif(TestImages.jpeg(TestImages.scene(640, 480, 9191), 0.9f), captured, REPORT_LAT,
        REPORT_LON);
    UUID report = UUID.randomUUID();
    UUID a1 = UUID.randomUUID();
    UUID a2 = UUID.randomUUID();
    JsonObject envelope = envelope(report, a1, captured, photo);
    JsonArray manifest = envelope.getJsonArray("attachments");
    manifest.add(manifest.getJsonObject(0).copy().put("id", a2.toString()));
    HttpResponse<String> created = post(env, "officer.xu", "/v1/reports", envelope);
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    upload(env, a1, photo);
    upload(env, a2, photo);
    awaitDone(env, a1);
    awaitDone(env, a2);

    // The photo checked second finds the first stored (the first may have been checked alone): at least it is flagged.
    List<String> outcomes = new ArrayList<>();
    for (UUID a : new UUID[] {a1, a2}) {
      UUID other = a.equals(a1) ? a2 : a1;
      String outcome = check(env, a, "EXACT_REUSE");
      outcomes.add(outcome.split("\\|")[0]);
      if (outcome.startsWith("FLAGGED|")) {
        assertThat(string(env, "SELECT detail || ' ' || coalesce(other_report_id::text, '-') FROM evidence_check"
            + " WHERE attachment_id = ? AND code = 'EXACT_REUSE'", a))
            .isEqualTo("the same file is attached to this report twice (attachment " + other + ") -");
      }
    }
    assertThat(outcomes).contains("FLAGGED");
    assertThat(string(env, "SELECT flagged::text FROM report WHERE id = ?", report)).isEqualTo("true");
    JsonObject read = new JsonObject(get(env, "supervisor.hanjiang", "/v1/reports/" + report).body());
    assertThat(read.getBoolean("flagged")).isTrue();
  }

  @Test
  void aPhotoThatSaysNoTimeZoneIsReadInThePhonesZoneNotInUtc(TestEnvironment env) throws Exception {
    Instant captured = Instant.now().minus(5, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.SECONDS);
    // capturedAt as sent, and the zone the camera's wall clock is in (no OffsetTimeOriginal in the photo).
    String[][] cases = {{"Z", "+08:00"}, {"+08:00", "+08:00"}, {"+05:00", "+05:00"}};
    for (String[] c : cases) {
      ZoneOffset camera = ZoneOffset.of(c[1]);
      byte[] photo = new ExifSegment().make("Xiaomi").model("Redmi 9")
          .dateTimeOriginal(LocalDateTime.ofInstant(captured, camera)
              .format(DateTimeFormatter.ofPattern("yyyy:MM:dd HH:mm:ss")))
          .gps(REPORT_LAT, REPORT_LON).spliceInto(TestImages.jpeg(TestImages.scene(320, 240, 77), 0.9f));
      UUID report = UUID.randomUUID();
      UUID a = UUID.randomUUID();
      String sent = c[0].equals("Z") ? captured.toString() : captured.atOffset(ZoneOffset.of(c[0])).toString();
      HttpResponse<String> created = post(env, "officer.xu", "/v1/reports",
          envelope(report, a, captured, photo).put("capturedAt", sent));
      assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
      upload(env, a, photo);
      awaitDone(env, a);
      assertThat(check(env, a, "PHOTO_TIME_SKEW")).as(sent).startsWith("PASSED|0");
      assertThat(string(env, "SELECT detail FROM evidence_check WHERE attachment_id = ? AND code = 'PHOTO_TIME_SKEW'",
          a)).as(sent).contains("assumed " + c[1]);
    }
  }

  /**
   * A photo taken after the server received its report is flagged: its time was checked against capturedAt only
   * (an hour either way), and capturedAt against the receipt (5 minutes ahead at most), so a photo 50 minutes after
   * the receipt passed both.
   */
  @Test
  void aPhotoTakenAfterTheServerReceivedItsReportIsFlagged(TestEnvironment env) throws Exception {
    Instant captured = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    byte[] photo = withExif(TestImages.jpeg(TestImages.scene(320, 240, 1605), 0.9f),
        captured.plus(50, ChronoUnit.MINUTES), REPORT_LAT, REPORT_LON);
    UUID report = UUID.randomUUID();
    UUID attachment = submitWithPhoto(env, report, captured, photo);
    awaitDone(env, attachment);

    JsonObject seen = new JsonObject(get(env, "supervisor.hanjiang", "/v1/reports/" + report).body());
    assertThat(seen.getBoolean("flagged")).isTrue();
    assertThat(find(seen.getJsonArray("evidence"), attachment, "PHOTO_TIME_SKEW").getString("outcome"))
        .isEqualTo("PASSED");
    assertThat(find(seen.getJsonArray("evidence"), null, "CAPTURE_RECEIPT_SKEW").getString("outcome"))
        .isEqualTo("PASSED");
    JsonObject late = find(seen.getJsonArray("evidence"), attachment, "PHOTO_RECEIPT_SKEW");
    assertThat(late.getString("outcome")).isEqualTo("FLAGGED");
    assertThat(late.getDouble("measured")).isBetween(-3000.0, -2900.0);
    assertThat(late.getDouble("threshold")).isEqualTo(-300.0);
    assertThat(check(env, attachment, "PHOTO_RECEIPT_SKEW")).startsWith("FLAGGED|-");
    assertThat(string(env, "SELECT count(*) FROM outbox WHERE event_type = 'report.evidence-flagged'"
        + " AND aggregate_id = ?", report)).isEqualTo("1");
  }

  /**
   * An impossible DateTimeOriginal is no capture time: it was resolved into the nearest real one (April 31 as April
   * 30, 24:00 as the next midnight), and the photo passed the skew check against a capturedAt of that very time.
   */
  @Test
  void aPhotoWhoseCaptureTimeIsImpossibleHasNoCaptureTime(TestEnvironment env) throws Exception {
    // The photo's DateTimeOriginal, and the capturedAt the smart reading made of it.
    String[][] cases = {{"2026:04:31 10:00:00", "2026-04-30T10:00:00+08:00"},
        {"2026:04:29 24:00:00", "2026-04-30T00:00:00+08:00"}};
    for (String[] c : cases) {
      Instant captured = OffsetDateTime.parse(c[1]).toInstant();
      byte[] photo = new ExifSegment().make("Xiaomi").model("Redmi 9").dateTimeOriginal(c[0])
          .offsetTimeOriginal("+08:00").gps(REPORT_LAT, REPORT_LON)
          .spliceInto(TestImages.jpeg(TestImages.scene(320, 240, 1601), 0.9f));
      UUID report = UUID.randomUUID();
      UUID a = submitWithPhoto(env, report, captured, photo);
      awaitDone(env, a);
      assertThat(check(env, a, "PHOTO_TIME_MISSING")).as(c[0]).startsWith("FLAGGED|");
      assertThat(string(env, "SELECT count(*)::text FROM evidence_check WHERE attachment_id = ?"
          + " AND code = 'PHOTO_TIME_SKEW'", a)).as(c[0]).isEqualTo("0");
      assertThat(string(env, "SELECT exif::text FROM attachment WHERE id = ?", a)).as(c[0])
          .doesNotContain("capturedLocal");
      assertThat(string(env, "SELECT flagged::text FROM report WHERE id = ?", report)).isEqualTo("true");
    }
  }

  /**
   * GPS no camera writes is no GPS: a reference other than N/S, E/W was read as north or east, and minutes or seconds
   * of 60 or more were summed (31 degrees 87 minutes: 32.45), so such a photo passed the distance check at the
   * report's location.
   */
  @Test
  void aPhotoWhoseGpsIsMalformedHasNoGps(TestEnvironment env) throws Exception {
    long[] lon = {119, 1, 25, 1, 48, 1}; // 119.43
    ExifSegment[] malformed = {
        new ExifSegment().gpsRationals("N", new long[] {31, 1, 87, 1, 0, 1}, "E", lon),
        new ExifSegment().gpsRationals("N", new long[] {32, 1, 26, 1, 60, 1}, "E", lon),
        new ExifSegment().gpsRationals("X", new long[] {32, 1, 27, 1, 0, 1}, "E", lon)};
    Instant captured = Instant.now().minus(5, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.SECONDS);
    String local = LocalDateTime.ofInstant(captured, ZoneOffset.ofHours(8))
        .format(DateTimeFormatter.ofPattern("yyyy:MM:dd HH:mm:ss"));
    for (int i = 0; i < malformed.length; i++) {
      byte[] photo = malformed[i].make("Xiaomi").model("Redmi 9").dateTimeOriginal(local).offsetTimeOriginal("+08:00")
          .spliceInto(TestImages.jpeg(TestImages.scene(320, 240, 1602 + i), 0.9f));
      UUID report = UUID.randomUUID();
      UUID a = submitWithPhoto(env, report, captured, photo);
      awaitDone(env, a);
      assertThat(check(env, a, "PHOTO_GPS_MISSING")).as("case " + i).startsWith("FLAGGED|");
      assertThat(string(env, "SELECT count(*)::text FROM evidence_check WHERE attachment_id = ?"
          + " AND code = 'PHOTO_GPS_DISTANCE'", a)).as("case " + i).isEqualTo("0");
      assertThat(string(env, "SELECT flagged::text FROM report WHERE id = ?", report)).isEqualTo("true");
    }
  }

  @Test
  void aHeicPhotoIsHashedAndServedAndMatchesAJpegOfTheSameScene(TestEnvironment env) throws Exception {
    HeicEncoder.assumeAvailable();
    Instant captured = Instant.now().minus(5, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.SECONDS);
    BufferedImage scene = TestImages.scene(1024, 768, 31);
    UUID first = UUID.randomUUID();
    UUID jpeg = submitWithPhoto(env, first, captured,
        withExif(TestImages.jpeg(scene, 0.9f), captured, REPORT_LAT, REPORT_LON));
    awaitDone(env, jpeg);

    // The same scene from an iPhone: HEIC, EXIF with GPS (250 km away) and an orientation HEIF says not to apply.
    LocalDateTime local = LocalDateTime.ofInstant(captured, ZoneOffset.ofHours(8));
    byte[] heic = HeicEncoder.heic(scene, new ExifSegment().make("Apple").model("iPhone 15")
        .dateTimeOriginal(local.format(DateTimeFormatter.ofPattern("yyyy:MM:dd HH:mm:ss"))).offsetTimeOriginal("+08:00")
        .gps(31.23, 121.47).orientation(6).tiff());
    UUID second = UUID.randomUUID();
    UUID a = submitWithPhoto(env, second, captured, heic);
    awaitDone(env, a);
    assertThat(string(env, "SELECT content_type FROM attachment WHERE id = ?", a)).isEqualTo("image/heic");
    assertThat(string(env, "SELECT coalesce(media_error, 'none') FROM attachment WHERE id = ?", a)).isEqualTo("none");
    assertThat(check(env, a, "PHOTO_GPS_DISTANCE")).startsWith("FLAGGED|");
    assertThat(check(env, a, "PHOTO_TIME_SKEW")).startsWith("PASSED|");
    assertThat(check(env, a, "NEAR_DUPLICATE")).startsWith("FLAGGED|");
    assertThat(string(env, "SELECT detail FROM evidence_check WHERE attachment_id = ? AND code = 'NEAR_DUPLICATE'", a))
        .contains(first.toString());
    assertThat(string(env, "SELECT (dhash IS NOT NULL)::text FROM attachment WHERE id = ?", a)).isEqualTo("true");

    // Served copies: JPEG, landscape as HEIF says (the EXIF orientation 6 not applied on top), no metadata.
    for (String variant : List.of("thumb", "display")) {
      HttpResponse<String> r = get(env, "supervisor.hanjiang", "/v1/attachments/" + a + "/content?variant=" + variant);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(303);
      byte[] copy = StoreHttp.get(r.headers().firstValue("Location").orElseThrow()).body();
      assertThat(copy).isEqualTo(stored(env, "derived/" + a + "/" + variant + ".jpg"));
      assertThat(contentType(copy)).isEqualTo("image/jpeg");
      assertThat(new PhotoMetadataReader().read(MediaBytes.of(copy))).isEqualTo(PhotoMetadata.NONE);
      assertThat(new String(copy, StandardCharsets.ISO_8859_1)).doesNotContain("Apple");
      BufferedImage img = ImageIO.read(new ByteArrayInputStream(copy));
      assertThat(img.getWidth()).isEqualTo(variant.equals("thumb") ? DerivedImages.THUMB_LONG_SIDE : 1024);
      assertThat(img.getHeight()).isEqualTo(variant.equals("thumb") ? 240 : 768);
    }
    // The original stays the HEIC as uploaded; out of scope, as if missing.
    HttpResponse<String> original = get(env, "officer.xu", "/v1/attachments/" + a + "/content?variant=original");
    assertThat(StoreHttp.get(original.headers().firstValue("Location").orElseThrow()).body()).isEqualTo(heic);
    assertProblem(get(env, "supervisor.tongzhou", "/v1/attachments/" + a + "/content?variant=thumb"), 404,
        "urn:frontline:problem:not-found");
  }

  @Test
  void pixelsThatDoNotDecodeLoseTheCopiesNotTheChecks(TestEnvironment env) throws Exception {
    HeicEncoder.assumeAvailable();
    Instant captured = Instant.now().minus(5, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.SECONDS);
    // A HEIF container that declares 4032x3024 and holds no coded image: allowed at upload, refused by the decoder.
    byte[] broken = TestImages.heif("heic", new String[] {"mif1", "heic"}, 4032, 3024);
    double notDecodedBefore = processed(env, "not_decoded");
    UUID report = UUID.randomUUID();
    UUID a = submitWithPhoto(env, report, captured, broken);
    awaitDone(env, a);
    Waits.until(java.time.Duration.ofSeconds(20), "the photo counted", () -> processed(env, "not_decoded") >= notDecodedBefore + 1);
    assertThat(string(env, "SELECT media_error FROM attachment WHERE id = ?", a)).startsWith("pixels not decoded: ");
    assertThat(string(env, "SELECT media_attempts FROM attachment WHERE id = ?", a)).isEqualTo("1");
    assertThat(string(env, "SELECT coalesce(thumb_key, 'none') || coalesce(dhash::text, 'none') FROM attachment"
        + " WHERE id = ?", a)).isEqualTo("nonenone");
    assertThat(check(env, a, "EXACT_REUSE")).startsWith("PASSED|");
    assertThat(string(env, "SELECT count(*) FROM evidence_check WHERE attachment_id = ? AND code = 'NEAR_DUPLICATE'",
        a)).isEqualTo("0");
    assertThat(string(env, "SELECT count(*) FROM evidence_check WHERE report_id = ? AND attachment_id IS NULL",
        report)).isNotEqualTo("0");
    assertNearDuplicateUnavailableShown(env, a, "not decoded");
    assertProblem(get(env, "supervisor.hanjiang", "/v1/attachments/" + a + "/content?variant=thumb"), 409,
        "urn:frontline:problem:conflict");
  }

  @Test
  void aTruncatedJpegIsCheckedAndFlaggedNotRetriedAndFailed(TestEnvironment env) throws Exception {
    Instant captured = Instant.now().minus(5, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.SECONDS);
    // Cut inside its tables: the header (and so the content rules) are fine, metadata-extractor runs out of data
    // ("End of data reached.", an EOFException) and ImageIO finds no scan.
    byte[] whole = withExif(TestImages.jpeg(TestImages.scene(640, 480, 83), 0.9f), captured, REPORT_LAT, REPORT_LON);
    byte[] cut = java.util.Arrays.copyOf(whole, whole.length - TestImages.jpeg(TestImages.scene(640, 480, 83), 0.9f)
        .length + 600);
    assertThat(contentType(cut)).isEqualTo("image/jpeg");
    UUID report = UUID.randomUUID();
    UUID a = submitWithPhoto(env, report, captured, cut);

    awaitDone(env, a);
    assertThat(string(env, "SELECT media_attempts FROM attachment WHERE id = ?", a)).isEqualTo("1");
    assertThat(string(env, "SELECT media_error FROM attachment WHERE id = ?", a)).startsWith("pixels not decoded: ");
    // Metadata that cannot be read is none: what is missing is flagged, the rest checked as for any photo.
    assertThat(check(env, a, "PHOTO_GPS_MISSING")).startsWith("FLAGGED|");
    assertThat(check(env, a, "PHOTO_TIME_MISSING")).startsWith("FLAGGED|");
    assertThat(check(env, a, "EXACT_REUSE")).startsWith("PASSED|");
    assertThat(string(env, "SELECT count(*) FROM evidence_check WHERE report_id = ? AND attachment_id IS NULL",
        report)).isEqualTo("2");
    assertThat(string(env, "SELECT flagged::text FROM report WHERE id = ?", report)).isEqualTo("true");
    assertThat(string(env, "SELECT count(*) FROM outbox WHERE event_type = 'report.evidence-flagged'"
        + " AND aggregate_id = ?", report)).isEqualTo("1");
    JsonObject seen = new JsonObject(get(env, "supervisor.hanjiang", "/v1/reports/" + report).body());
    assertThat(seen.getBoolean("flagged")).isTrue();
    assertThat(find(seen.getJsonArray("evidence"), a, "PHOTO_GPS_MISSING").getString("outcome")).isEqualTo("FLAGGED");
    assertProblem(get(env, "supervisor.hanjiang", "/v1/attachments/" + a + "/content?variant=thumb"), 409,
        "urn:frontline:problem:conflict");
  }

  @Test
  void aHeicGridOfThousandsOfTilesIsNotDecodedButChecked(TestEnvironment env) throws Exception {
    HeicEncoder.assumeAvailable();
    Instant captured = Instant.now().minus(5, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.SECONDS);
    // 110 x 110 tiles of 64 x 64 over a 7000 x 7000 canvas (within the pixel cap), every position the same tile
    // item: libheif decodes each tile on its own, 12100 HEVC decodes (40 s of a blocking thread, uninterruptible)
    // for a file of about 25 KB.
    byte[] tile = HeicEncoder.heic(TestImages.scene(64, 64, 99), null);
    byte[] photo = HeicGrid.of(tile, 110, 110, 7000, 7000, true);
    assertThat(photo.length).isLessThan(30_000);
    UUID report = UUID.randomUUID();
    UUID a = submitWithPhoto(env, report, captured, photo);

    // Refused from its grid descriptor before libheif sees it.
    awaitDone(env, a);
    assertThat(string(env, "SELECT media_error FROM attachment WHERE id = ?", a))
        .startsWith("pixels not decoded: ").endsWith("a grid of 12100 tiles, above the limit of 1024");
    assertThat(string(env, "SELECT media_attempts || ' ' || coalesce(thumb_key, 'none') FROM attachment WHERE id = ?",
        a)).isEqualTo("1 none");
    // Its checks are recorded, and a reader sees them done.
    assertThat(check(env, a, "PHOTO_GPS_MISSING")).startsWith("FLAGGED|");
    assertThat(check(env, a, "EXACT_REUSE")).startsWith("PASSED|");
    assertChecksStates(env, report, a, "DONE", "DONE");
    assertNearDuplicateUnavailableShown(env, a, "a grid of 12100 tiles, above the limit of 1024");
    assertProblem(get(env, "supervisor.hanjiang", "/v1/attachments/" + a + "/content?variant=display"), 409,
        "urn:frontline:problem:conflict");
  }

  @Test
  void aHeicWhoseBoxesBreakTheMetadataReaderIsCheckedNotRetriedAndFailed(TestEnvironment env) throws Exception {
    HeicEncoder.assumeAvailable();
    Instant captured = Instant.now().minus(5, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.SECONDS);
    byte[] heic = HeicEncoder.heic(TestImages.scene(256, 192, 97), new ExifSegment().make("Apple")
        .gps(REPORT_LAT, REPORT_LON).tiff());
    // iloc's offset_size nibble says 14 bytes (0, 4 or 8 are defined): the declared sizes (ispe, hvcC) are fine, so
    // the upload is taken; metadata-extractor 2.19 throws a NullPointerException on it, libheif finds no data.
    int iloc = new String(heic, StandardCharsets.ISO_8859_1).indexOf("iloc");
    heic[iloc + 8] = (byte) 0xE0;
    UUID report = UUID.randomUUID();
    UUID a = submitWithPhoto(env, report, captured, heic);

    awaitDone(env, a);
    assertThat(string(env, "SELECT media_attempts FROM attachment WHERE id = ?", a)).isEqualTo("1");
    assertThat(string(env, "SELECT media_error FROM attachment WHERE id = ?", a)).startsWith("pixels not decoded: ");
    assertThat(check(env, a, "PHOTO_GPS_MISSING")).startsWith("FLAGGED|");
    assertThat(check(env, a, "EXACT_REUSE")).startsWith("PASSED|");
    assertThat(string(env, "SELECT count(*) FROM evidence_check WHERE report_id = ? AND attachment_id IS NULL",
        report)).isEqualTo("2");
    assertThat(string(env, "SELECT flagged::text FROM report WHERE id = ?", report)).isEqualTo("true");
    JsonObject seen = new JsonObject(get(env, "supervisor.hanjiang", "/v1/reports/" + report).body());
    assertThat(find(seen.getJsonArray("evidence"), a, "PHOTO_GPS_MISSING").getString("outcome")).isEqualTo("FLAGGED");
  }

  @Test
  void aProgressiveJpegOfEndlessScansIsNotDecodedButChecked(TestEnvironment env) throws Exception {
    Instant captured = Instant.now().minus(5, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.SECONDS);
    // A flat 2000 x 2000 progressive JPEG whose last scan (a few bytes: one run of empty blocks) is repeated: the
    // decoder walks every block of the image once per scan, so each costs the CPU of a whole image. A 125 KB file of
    // 1000 such scans at 4000 x 4000 took ImageIO 110 s, 50 MB of them days, on a blocking thread, while the
    // worker's round waited for it and the lease ran out for the next instance to take it up.
    byte[] photo = withExif(TestImages.scanBomb(2000, 300), captured, REPORT_LAT, REPORT_LON);
    assertThat(photo.length).isLessThan(100_000);
    device(env, "supervisor.hanjiang", "evidence-hanjiang-not-decoded");
    UUID report = UUID.randomUUID();
    UUID a = submitWithPhoto(env, report, captured, photo);

    awaitDone(env, a);
    assertThat(string(env, "SELECT media_error FROM attachment WHERE id = ?", a))
        .startsWith("pixels not decoded: ").contains("scans");
    assertThat(string(env, "SELECT coalesce(thumb_key, 'none') FROM attachment WHERE id = ?", a)).isEqualTo("none");
    assertThat(check(env, a, "PHOTO_GPS_DISTANCE")).startsWith("PASSED|");
    assertThat(check(env, a, "PHOTO_TIME_SKEW")).startsWith("PASSED|");
    assertThat(check(env, a, "EXACT_REUSE")).startsWith("PASSED|");
    // Every other check passed: the photo that could not be compared is what flags the report, and it is alerted.
    assertNearDuplicateUnavailableShown(env, a, "scans, above the limit of 100");
    assertThat(string(env, "SELECT payload->>'flags' FROM outbox WHERE event_type = 'report.evidence-flagged'"
        + " AND aggregate_id = ?", report)).isEqualTo("[\"NEAR_DUPLICATE_UNAVAILABLE\"]");
    Waits.until(java.time.Duration.ofSeconds(20), "the flagged alert is sent", () -> env.fcm().requestsFor("evidence-hanjiang-not-decoded").stream()
        .anyMatch(r -> report.toString().equals(r.data().getString("reportId"))
            && "report.evidence-flagged".equals(r.data().getString("eventType"))
            && "NEAR_DUPLICATE_UNAVAILABLE".equals(r.data().getString("flags"))));
    assertProblem(get(env, "supervisor.hanjiang", "/v1/attachments/" + a + "/content?variant=display"), 409,
        "urn:frontline:problem:conflict");
  }

  @Test
  void aMatchOnAReportTheReaderMayNotReadIsNotNamedToThem(TestEnvironment env) throws Exception {
    String assessor = huaisiAssessor(env);
    Instant captured = Instant.now().minus(5, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.SECONDS);
    byte[] photo = withExif(TestImages.jpeg(TestImages.scene(640, 480, 91), 0.9f), captured, REPORT_LAT, REPORT_LON);
    // First filed by supervisor.hanjiang at the district itself: outside Huaisi.
    UUID first = UUID.randomUUID();
    UUID a1 = UUID.randomUUID();
    HttpResponse<String> created = post(env, "supervisor.hanjiang", "/v1/reports",
        envelope(first, a1, captured, photo).put("unitId", DemoOrganisation.HANJIANG.toString()));
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    upload(env, "supervisor.hanjiang", a1, photo);
    awaitDone(env, a1);
    // The same file in Huaisi: compared across the district supervisor.hanjiang covers, so it matches the first.
    UUID second = UUID.randomUUID();
    UUID a2 = submitWithPhoto(env, second, captured, photo);
    awaitDone(env, a2);
    assertThat(check(env, a2, "EXACT_REUSE")).startsWith("FLAGGED|");
    assertThat(check(env, a2, "NEAR_DUPLICATE")).startsWith("FLAGGED|");

    // The supervisor covering both reports is told which report it was.
    JsonObject bySupervisor = new JsonObject(get(env, "supervisor.hanjiang", "/v1/reports/" + second).body());
    assertThat(find(bySupervisor.getJsonArray("evidence"), a2, "EXACT_REUSE").getString("detail"))
        .contains(first.toString());
    assertThat(find(bySupervisor.getJsonArray("evidence"), a2, "NEAR_DUPLICATE").getString("detail"))
        .contains(first.toString());
    // Huaisi's assessor may not read the first report (404), and is not given its id either: the flags stay.
    assertProblem(get(env, assessor, "/v1/reports/" + first), 404, "urn:frontline:problem:not-found");
    HttpResponse<String> read = get(env, assessor, "/v1/reports/" + second);
    assertThat(read.statusCode()).as(read.body()).isEqualTo(200);
    JsonObject byAssessor = new JsonObject(read.body());
    assertThat(byAssessor.getBoolean("flagged")).isTrue();
    JsonObject reuse = find(byAssessor.getJsonArray("evidence"), a2, "EXACT_REUSE");
    assertThat(reuse.getString("outcome")).isEqualTo("FLAGGED");
    assertThat(reuse.getString("detail")).isEqualTo("the same file was already submitted with a report outside your"
        + " scope");
    assertThat(find(byAssessor.getJsonArray("evidence"), a2, "NEAR_DUPLICATE").getString("detail"))
        .startsWith("the most similar photo (a report outside your scope) differs by 0 ");
    assertThat(read.body()).doesNotContain(first.toString());
    HttpResponse<String> listed = get(env, assessor, "/v1/reports?unitId=" + DemoOrganisation.HUAISI + "&limit=5");
    assertThat(listed.statusCode()).as(listed.body()).isEqualTo(200);
    assertThat(listed.body()).contains(second.toString()).doesNotContain(first.toString());
  }

  @Test
  void anAttachmentWhoseLastAttemptNeverFinishedIsAbandonedNotClaimedAgain(TestEnvironment env) throws Exception {
    // As if three workers in turn had died on this photo (a crash in native decoding, say): every attempt used, the
    // last claim's lease running out.
    int max = MediaWorkerVerticle.Settings.defaults().maxAttempts();
    double abandonedBefore = processed(env, "abandoned");
    UUID a = uploadedUnderADeadClaim(env, 78, max, "1 second");
    Waits.until(java.time.Duration.ofSeconds(20), "attachment " + a + " abandoned",
        () -> "FAILED".equals(string(env, "SELECT media_status FROM attachment WHERE id = ?", a)));
    assertThat(string(env, "SELECT media_attempts FROM attachment WHERE id = ?", a)).isEqualTo(String.valueOf(max));
    assertThat(string(env, "SELECT media_error FROM attachment WHERE id = ?", a))
        .startsWith("abandoned: " + max + " attempt(s) never finished");
    Waits.until(java.time.Duration.ofSeconds(20), "the abandoned photo counted", () -> processed(env, "abandoned") >= abandonedBefore + 1);
    assertThat(processed(env, "abandoned")).isEqualTo(abandonedBefore + 1);
    assertThat(string(env, "SELECT string_agg(code, ',') FROM evidence_check WHERE attachment_id = ?", a))
        .isEqualTo("PHOTO_CHECKS_UNAVAILABLE");
    assertThat(string(env, "SELECT coalesce(thumb_key, 'none') FROM attachment WHERE id = ?", a)).isEqualTo("none");
    assertChecksUnavailableShown(env, a, "never finished in " + max + " attempt(s)");
  }

  /**
   * The worker on a photo's last attempt put its copies into the store and died before recording them; the photo is
   * then abandoned (FAILED) and no row names those copies. They are owed to the upload sweeper, which deletes them
   * an hour later (a worker whose lease ran out may still be putting them); before, they stayed for good. A done
   * photo's copies are kept.
   */
  @Test
  void copiesPutByAWorkerThatDiedOnThePhotosLastAttemptAreRemovedOnceItFails(TestEnvironment env) throws Exception {
    int max = MediaWorkerVerticle.Settings.defaults().maxAttempts();
    UUID done = uploadedUnderADeadClaim(env, 83, 0, "1 second");
    Waits.until(java.time.Duration.ofSeconds(20), "attachment " + done + " done",
        () -> "DONE".equals(string(env, "SELECT media_status FROM attachment WHERE id = ?", done)));
    UUID a = uploadedUnderADeadClaim(env, 84, max, "1 day");
    for (String variant : List.of("thumb", "display")) {
      await(env.app().objectStore().putBytes("derived/" + a + "/" + variant + ".jpg",
          Buffer.buffer(TestImages.jpeg(TestImages.scene(64, 48, 84), 0.8f)), "image/jpeg"));
    }
    update(env, "UPDATE attachment SET media_lease_until = now() - interval '1 second' WHERE id = ?", a);
    Waits.until(java.time.Duration.ofSeconds(20), "attachment " + a + " abandoned",
        () -> "FAILED".equals(string(env, "SELECT media_status FROM attachment WHERE id = ?", a)));
    assertThat(string(env, "SELECT coalesce(thumb_key, 'none') FROM attachment WHERE id = ?", a)).isEqualTo("none");

    // Young: a worker whose lease ran out may still be putting them.
    await(env.app().uploadSweeper().sweep());
    assertThat(derivedKeys(env, a)).hasSize(2);
    await(new org.frontline.uploads.UploadSweeper(new org.frontline.uploads.UploadRepository(
        env.app().database().pool()), env.app().objectStore(), java.time.Clock.offset(java.time.Clock.systemUTC(),
        org.frontline.uploads.UploadRepository.LATE_WRITES.plusMinutes(1)), org.frontline.Frontline.UPLOAD_LIFETIME)
        .sweep());

    assertThat(derivedKeys(env, a)).as("copies of a FAILED photo").isEmpty();
    assertThat(derivedKeys(env, done)).containsExactly("derived/" + done + "/display.jpg",
        "derived/" + done + "/thumb.jpg");
    assertThat(string(env, "SELECT thumb_key || ' ' || display_key FROM attachment WHERE id = ?", done))
        .isEqualTo("derived/" + done + "/thumb.jpg derived/" + done + "/display.jpg");
  }

  private static List<String> derivedKeys(TestEnvironment env, UUID attachment) {
    return await(env.app().objectStore().list("derived/" + attachment + "/", null, 10)).stream()
        .map(org.frontline.platform.objectstore.ObjectStore.ObjectInfo::key).toList();
  }

  @Test
  void aPhotoThatCannotBeReadIsRetriedThenFailedWithItsReason(TestEnvironment env) throws Exception {
    // Its last attempt but one is used up, and its object vanishes from the store before the worker reads it.
    int max = MediaWorkerVerticle.Settings.defaults().maxAttempts();
    UUID a = uploadedUnderADeadClaim(env, 79, max - 1, "1 day");
    await(env.app().objectStore().delete(string(env, "SELECT object_key FROM attachment WHERE id = ?", a)));
    double failedBefore = processed(env, "failed");
    update(env, "UPDATE attachment SET media_lease_until = now() - interval '1 second' WHERE id = ?", a);

    Waits.until(java.time.Duration.ofSeconds(20), "attachment " + a + " failed",
        () -> "FAILED".equals(string(env, "SELECT media_status FROM attachment WHERE id = ?", a)));
    assertThat(string(env, "SELECT media_attempts FROM attachment WHERE id = ?", a)).isEqualTo(String.valueOf(max));
    assertThat(string(env, "SELECT media_error FROM attachment WHERE id = ?", a)).isNotBlank()
        .doesNotStartWith("abandoned").doesNotStartWith("pixels not decoded");
    Waits.until(java.time.Duration.ofSeconds(20), "the failure counted", () -> processed(env, "failed") >= failedBefore + 1);
    // Not left looking like a clean photo: flagged as not checked, with the report's own checks.
    assertThat(string(env, "SELECT string_agg(code || ' ' || outcome, ',') FROM evidence_check WHERE attachment_id = ?",
        a)).isEqualTo("PHOTO_CHECKS_UNAVAILABLE FLAGGED");
    assertChecksUnavailableShown(env, a, "could not be read or processed in " + max + " attempt(s)");
  }

  /**
   * The object store down for longer than the 3 attempts' span: each try finds it unreachable, gives its attempt
   * back and waits twice as long as the last (30 s, 1 min, ..., at most 30 min); the waits are cut short here by
   * expiring the lease. Once the store is back, the photo is checked and its copies made.
   */
  @Test
  void aPhotoIsRetriedWithGrowingDelaysWhileTheStoreIsDownAndCheckedOnceItIsBack(TestEnvironment env)
      throws Exception {
    MediaWorkerVerticle.Settings settings = MediaWorkerVerticle.Settings.defaults();
    double unavailableBefore = processed(env, "unavailable");
    UUID a = uploadedUnderADeadClaim(env, 81, 0, "1 day");
    UUID report = UUID.fromString(string(env, "SELECT report_id FROM attachment WHERE id = ?", a));
    int tries = settings.maxAttempts() + 5;
    env.s3().stop();
    try {
      for (int i = 1; i <= tries; i++) {
        update(env, "UPDATE attachment SET media_lease_until = now() - interval '1 second' WHERE id = ?", a);
        String n = String.valueOf(i);
        Waits.until(java.time.Duration.ofSeconds(20), "try " + n + " while the store is down",
            () -> n.equals(string(env, "SELECT media_unavailable_tries FROM attachment WHERE id = ?", a)));
        assertThat(string(env, "SELECT media_status || ' ' || media_attempts FROM attachment WHERE id = ?", a))
            .isEqualTo("PENDING 0");
        double wait = Double.parseDouble(string(env, "SELECT extract(epoch FROM media_lease_until - now())"
            + " FROM attachment WHERE id = ?", a));
        long expected = Math.min(settings.retryAfter().toSeconds() << (i - 1), settings.retryCap().toSeconds());
        assertThat(wait).as("the wait after try " + n).isBetween(expected - 15.0, (double) expected);
      }
      assertThat(string(env, "SELECT media_error FROM attachment WHERE id = ?", a)).contains("unavailable");
      assertThat(string(env, "SELECT count(*) FROM evidence_check WHERE report_id = ?", report)).isEqualTo("0");
      // Waiting out the outage, the photo reads as not checked yet (not as clean).
      assertChecksStates(env, report, a, "PENDING", "PENDING");
    } finally {
      env.s3().restart();
    }
    assertThat(processed(env, "unavailable")).isGreaterThanOrEqualTo(unavailableBefore + tries);

    update(env, "UPDATE attachment SET media_lease_until = now() - interval '1 second' WHERE id = ?", a);
    awaitDone(env, a);
    assertThat(string(env, "SELECT media_attempts || ' ' || media_unavailable_tries || ' '"
        + " || (media_unavailable_since IS NULL) FROM attachment WHERE id = ?", a)).isEqualTo("1 0 true");
    assertThat(check(env, a, "PHOTO_GPS_DISTANCE")).startsWith("PASSED|");
    assertThat(string(env, "SELECT count(*) FROM evidence_check WHERE attachment_id = ?"
        + " AND code = 'PHOTO_CHECKS_UNAVAILABLE'", a)).isEqualTo("0");
    assertThat(string(env, "SELECT count(*) FROM evidence_check WHERE report_id = ? AND attachment_id IS NULL",
        report)).isEqualTo("2");
    assertThat(stored(env, "derived/" + a + "/thumb.jpg")).isNotEmpty();
    assertThat(stored(env, "derived/" + a + "/display.jpg")).isNotEmpty();
    assertThat(string(env, "SELECT flagged::text FROM report WHERE id = ?", report)).isEqualTo("false");
    assertChecksStates(env, report, a, "DONE", "DONE");
  }

  /**
   * The database goes down in the middle of an attempt (here while the worker waits to insert its checks): neither
   * the attempt's results nor its failure can be written. The worker keeps the failure and records it once the
   * database is back, before claiming again: the attempt is given back, not left used as by a dead worker.
   */
  @Test
  void anAttemptTheDatabaseWentDownDuringIsGivenBackOnceItIsBack(TestEnvironment env) throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(env.postgres() != null, "needs the embedded PostgreSQL");
    UUID a = outageCaught(env, run -> new UUID[] {uploadedUnderADeadClaim(env, 83 + 1000 * run, 0, "1 day")})[0];
    Waits.until(java.time.Duration.ofSeconds(20), "the failed attempt recorded once the database is back",
        () -> "1".equals(string(env, "SELECT media_unavailable_tries FROM attachment WHERE id = ?", a)));
    assertThat(string(env, "SELECT media_status || ' ' || media_attempts FROM attachment WHERE id = ?", a))
        .isEqualTo("PENDING 0");
    update(env, "UPDATE attachment SET media_lease_until = now() - interval '1 second' WHERE id = ?", a);
    awaitDone(env, a);
    assertThat(string(env, "SELECT media_attempts FROM attachment WHERE id = ?", a)).isEqualTo("1");
    assertThat(check(env, a, "PHOTO_GPS_DISTANCE")).startsWith("PASSED|");
  }

  /**
   * The database goes down while the worker fails an abandoned photo (here while it waits to insert its checks): that
   * failure is kept and recorded once the database is back, and the round goes on, so the photo claimed beside it
   * gets its attempt back instead of being left claimed with an attempt used and never tried.
   */
  @Test
  void anAbandonedPhotoTheDatabaseWentDownWhileFailingIsFailedOnceItIsBack(TestEnvironment env) throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(env.postgres() != null, "needs the embedded PostgreSQL");
    int max = MediaWorkerVerticle.Settings.defaults().maxAttempts();
    UUID[] photos = outageCaught(env, run -> new UUID[] {uploadedUnderADeadClaim(env, 86 + 1000 * run, max, "1 day"),
        uploadedUnderADeadClaim(env, 87 + 1000 * run, 0, "1 day")});
    UUID gone = photos[0];
    UUID next = photos[1];

    Waits.until(java.time.Duration.ofSeconds(20), "the abandoned photo failed once the database is back",
        () -> "FAILED".equals(string(env, "SELECT media_status FROM attachment WHERE id = ?", gone)));
    assertThat(string(env, "SELECT media_error FROM attachment WHERE id = ?", gone))
        .startsWith("abandoned: " + max + " attempt(s) never finished");
    assertChecksUnavailableShown(env, gone, "never finished in " + max + " attempt(s)");
    // Given back when it reached the database while it was down, processed when it was back already.
    Waits.until(java.time.Duration.ofSeconds(20), "the photo claimed beside it given its attempt back or processed", () -> List.of("PENDING 0 1",
        "DONE 1 0").contains(string(env, "SELECT media_status || ' ' || media_attempts || ' '"
        + " || media_unavailable_tries FROM attachment WHERE id = ?", next)));
  }

  /**
   * Photos FAILED before outages were told apart (V162, run again here over two such rows): one whose last error was
   * the store unreachable runs again and is checked; one that failed on itself is flagged as not checked.
   */
  @Test
  void photosFailedBeforeAreRunAgainAfterAnOutageOrFlaggedNotChecked(TestEnvironment env) throws Exception {
    UUID outage = uploadedUnderADeadClaim(env, 84, 3, "1 day");
    UUID broken = uploadedUnderADeadClaim(env, 85, 3, "1 day");
    update(env, "UPDATE attachment SET media_status = 'FAILED', media_error = ? WHERE id = ?",
        "org.frontline.platform.http.DependencyUnavailableException: object store unavailable", outage);
    update(env, "UPDATE attachment SET media_status = 'FAILED', media_error = ? WHERE id = ?",
        "java.lang.IllegalStateException: object of 60000000 bytes exceeds the 52428800-byte media limit", broken);
    String migration;
    try (var in = MediaWorkerVerticle.class.getResourceAsStream("/db/migration/V162__media_failed_backfill.sql")) {
      migration = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    try (Connection c = env.jdbc(); var st = c.createStatement()) {
      st.execute(migration);
    }

    awaitDone(env, outage);
    assertThat(string(env, "SELECT media_attempts FROM attachment WHERE id = ?", outage)).isEqualTo("1");
    assertThat(check(env, outage, "PHOTO_GPS_DISTANCE")).startsWith("PASSED|");
    assertThat(stored(env, "derived/" + outage + "/thumb.jpg")).isNotEmpty();
    assertThat(string(env, "SELECT media_status FROM attachment WHERE id = ?", broken)).isEqualTo("FAILED");
    assertThat(check(env, broken, "PHOTO_CHECKS_UNAVAILABLE")).isEqualTo("FLAGGED|");
    UUID report = UUID.fromString(string(env, "SELECT report_id FROM attachment WHERE id = ?", broken));
    assertThat(string(env, "SELECT flagged::text FROM report WHERE id = ?", report)).isEqualTo("true");
    JsonObject seen = new JsonObject(get(env, "supervisor.hanjiang", "/v1/reports/" + report).body());
    assertThat(seen.getBoolean("flagged")).isTrue();
    assertThat(find(seen.getJsonArray("evidence"), broken, "PHOTO_CHECKS_UNAVAILABLE").getString("detail"))
        .isEqualTo("the evidence checks of this photo could not run: the photo could not be read or processed");
    HttpResponse<String> listed = get(env, "supervisor.hanjiang", "/v1/reports?hasEvidenceFlags=true&limit=100");
    assertThat(listed.body()).contains(report.toString());
  }

  /**
   * Photos checked without a dHash before the worker said so (V174, run again here): the one whose pixels were not
   * decoded gets the flagged NEAR_DUPLICATE_UNAVAILABLE check with the reason media_error kept, its report the flag
   * without a second alert; a photo that was compared is left as it was.
   */
  @Test
  void photosCheckedWithoutADHashBeforeAreFlaggedNotCompared(TestEnvironment env) throws Exception {
    Instant captured = Instant.now().minus(5, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.SECONDS);
    UUID report = UUID.randomUUID();
    UUID old = submitWithPhoto(env, report, captured, withExif(TestImages.scanBomb(600, 150), captured, REPORT_LAT,
        REPORT_LON));
    UUID compared = submitWithPhoto(env, UUID.randomUUID(), captured, withExif(TestImages.jpeg(TestImages.scene(320,
        240, 86), 0.9f), captured, REPORT_LAT, REPORT_LON));
    awaitDone(env, old);
    awaitDone(env, compared);
    // As the worker left it before: no check saying the comparison was not done, the report not flagged.
    update(env, "DELETE FROM evidence_check WHERE attachment_id = ? AND code = 'NEAR_DUPLICATE_UNAVAILABLE'", old);
    update(env, "UPDATE report SET flagged = false WHERE id = ?", report);
    String migration;
    try (var in = MediaWorkerVerticle.class.getResourceAsStream(
        "/db/migration/V174__near_duplicate_unavailable_backfill.sql")) {
      migration = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    try (Connection c = env.jdbc(); var st = c.createStatement()) {
      st.execute(migration);
    }

    assertThat(check(env, old, "NEAR_DUPLICATE_UNAVAILABLE")).isEqualTo("FLAGGED|");
    assertThat(string(env, "SELECT detail FROM evidence_check WHERE attachment_id = ?"
        + " AND code = 'NEAR_DUPLICATE_UNAVAILABLE'", old)).endsWith("no served copies were made: not decoded: "
        + string(env, "SELECT regexp_replace(media_error, '^.*not decoded: ', '') FROM attachment WHERE id = ?", old));
    assertThat(string(env, "SELECT flagged::text FROM report WHERE id = ?", report)).isEqualTo("true");
    assertThat(string(env, "SELECT count(*) FROM outbox WHERE event_type = 'report.evidence-flagged'"
        + " AND aggregate_id = ?", report)).isEqualTo("1");
    assertThat(string(env, "SELECT count(*) FROM evidence_check WHERE attachment_id = ?"
        + " AND code = 'NEAR_DUPLICATE_UNAVAILABLE'", compared)).isEqualTo("0");
    assertThat(listedIds(env, "/v1/reports?hasEvidenceFlags=true&limit=200")).contains(report.toString());
  }

  /** Unreachable for the whole bound (24 h since the first failed try): FAILED, and shown as not checked. */
  @Test
  void aPhotoWhoseStoreStaysDownForTheWholeBoundFailsAndIsFlaggedNotChecked(TestEnvironment env) throws Exception {
    MediaWorkerVerticle.Settings settings = MediaWorkerVerticle.Settings.defaults();
    double failedBefore = processed(env, "failed");
    UUID a = uploadedUnderADeadClaim(env, 82, 0, "1 day");
    update(env, "UPDATE attachment SET media_unavailable_since = now() - ?::interval, media_unavailable_tries = 52"
        + " WHERE id = ?", settings.unavailableFor().toHours() + " hours 1 minute", a);
    env.s3().stop();
    try {
      update(env, "UPDATE attachment SET media_lease_until = now() - interval '1 second' WHERE id = ?", a);
      Waits.until(java.time.Duration.ofSeconds(20), "attachment " + a + " failed",
          () -> "FAILED".equals(string(env, "SELECT media_status FROM attachment WHERE id = ?", a)));
    } finally {
      env.s3().restart();
    }
    assertThat(string(env, "SELECT media_attempts FROM attachment WHERE id = ?", a)).isEqualTo("0");
    assertThat(string(env, "SELECT media_error FROM attachment WHERE id = ?", a)).contains("unavailable");
    Waits.until(java.time.Duration.ofSeconds(20), "the failure counted", () -> processed(env, "failed") >= failedBefore + 1);
    assertChecksUnavailableShown(env, a, "could not be reached for " + settings.unavailableFor().toHours() + " h");
  }

  /**
   * A FAILED photo: its PHOTO_CHECKS_UNAVAILABLE flag and the report's own checks are recorded, the report flagged
   * (once, with its event), shown so to a supervisor and listed by the flags filter.
   */
  private void assertChecksUnavailableShown(TestEnvironment env, UUID a, String why) throws Exception {
    UUID report = UUID.fromString(string(env, "SELECT report_id FROM attachment WHERE id = ?", a));
    assertThat(check(env, a, "PHOTO_CHECKS_UNAVAILABLE")).isEqualTo("FLAGGED|");
    assertThat(string(env, "SELECT string_agg(code, ',' ORDER BY code) FROM evidence_check WHERE report_id = ?"
        + " AND attachment_id IS NULL", report)).isEqualTo("CAPTURE_RECEIPT_SKEW,MOCK_LOCATION");
    assertThat(string(env, "SELECT flagged::text FROM report WHERE id = ?", report)).isEqualTo("true");
    assertThat(string(env, "SELECT payload->>'flags' FROM outbox WHERE event_type = 'report.evidence-flagged'"
        + " AND aggregate_id = ?", report)).contains("PHOTO_CHECKS_UNAVAILABLE");
    HttpResponse<String> read = get(env, "supervisor.hanjiang", "/v1/reports/" + report);
    assertThat(read.statusCode()).as(read.body()).isEqualTo(200);
    JsonObject seen = new JsonObject(read.body());
    assertThat(seen.getBoolean("flagged")).isTrue();
    assertThat(seen.getString("evidenceChecks")).isEqualTo("UNAVAILABLE");
    assertThat(seen.getJsonArray("attachments").getJsonObject(0).getString("evidenceChecks")).isEqualTo("UNAVAILABLE");
    JsonObject unavailable = find(seen.getJsonArray("evidence"), a, "PHOTO_CHECKS_UNAVAILABLE");
    assertThat(unavailable.getString("outcome")).isEqualTo("FLAGGED");
    assertThat(unavailable.getString("detail")).startsWith("the evidence checks of this photo could not run: ")
        .contains(why);
    assertThat(find(seen.getJsonArray("evidence"), null, "MOCK_LOCATION").getString("outcome")).isEqualTo("PASSED");
    HttpResponse<String> listed = get(env, "supervisor.hanjiang", "/v1/reports?hasEvidenceFlags=true&limit=100");
    assertThat(listed.statusCode()).as(listed.body()).isEqualTo(200);
    assertThat(new JsonObject(listed.body()).getJsonArray("items").stream()
        .map(o -> ((JsonObject) o).getString("id"))).contains(report.toString());
    assertThat(listedIds(env, "/v1/reports?evidenceChecks=UNAVAILABLE&hasEvidenceFlags=true&limit=200"))
        .contains(report.toString());
    assertThat(listedIds(env, "/v1/reports?evidenceChecks=DONE&limit=200")).doesNotContain(report.toString());
    assertThat(listedIds(env, "supervisor.tongzhou", "/v1/reports?evidenceChecks=UNAVAILABLE&limit=200"))
        .doesNotContain(report.toString());
  }

  /**
   * A photo whose pixels were not decoded: EXACT_REUSE ran, NEAR_DUPLICATE did not, and a flagged
   * NEAR_DUPLICATE_UNAVAILABLE check says so with {@code why}; the report is flagged (once, with its event), shown so
   * to a supervisor and listed by the flags filter, not by the clean one.
   */
  private void assertNearDuplicateUnavailableShown(TestEnvironment env, UUID a, String why) throws Exception {
    UUID report = UUID.fromString(string(env, "SELECT report_id FROM attachment WHERE id = ?", a));
    assertThat(check(env, a, "EXACT_REUSE")).startsWith("PASSED|");
    assertThat(check(env, a, "NEAR_DUPLICATE_UNAVAILABLE")).isEqualTo("FLAGGED|");
    assertThat(string(env, "SELECT count(*) FROM evidence_check WHERE attachment_id = ? AND code = 'NEAR_DUPLICATE'",
        a)).isEqualTo("0");
    assertThat(string(env, "SELECT flagged::text FROM report WHERE id = ?", report)).isEqualTo("true");
    assertThat(string(env, "SELECT count(*) FROM outbox WHERE event_type = 'report.evidence-flagged'"
        + " AND aggregate_id = ?", report)).isEqualTo("1");
    JsonObject seen = assertChecksStates(env, report, a, "DONE", "DONE");
    assertThat(seen.getBoolean("flagged")).isTrue();
    JsonObject unavailable = find(seen.getJsonArray("evidence"), a, "NEAR_DUPLICATE_UNAVAILABLE");
    assertThat(unavailable.getString("outcome")).isEqualTo("FLAGGED");
    assertThat(unavailable.getString("detail")).startsWith("the photo's pixels were not decoded, so it could not be"
        + " compared with other photos for near-duplicates and no served copies were made: ").contains(why);
    assertThat(listedIds(env, "/v1/reports?hasEvidenceFlags=true&limit=200")).contains(report.toString());
    assertThat(listedIds(env, "/v1/reports?hasEvidenceFlags=false&limit=200")).doesNotContain(report.toString());
    assertThat(listedIds(env, "/v1/reports?evidenceChecks=DONE&hasEvidenceFlags=true&limit=200"))
        .contains(report.toString());
  }

  /**
   * An instance stopped while its media round is at work (here: waiting for the one thread of its blocking pool)
   * lets the round finish before it closes its pools: the photo is processed, with one attempt, and nothing is
   * refused by a closed pool. The stop used to undeploy the worker at once and close the database and the blocking
   * pool beneath the round: "Pool closed", then "media round failed: RejectedExecutionException", and the photo stayed
   * claimed with its attempt used until the lease ran out.
   */
  @Test
  void anInstanceStoppedDuringAMediaRoundFinishesItsPhotoBeforeClosingItsPools(TestEnvironment env) throws Exception {
    stoppedDuringAMediaRound(env, instance -> { });
  }

  /**
   * The same with a media worker that the instance did not deploy itself (tests deploy workers again by hand, as
   * {@link Workers} does): its stop undeploys every verticle before the pools close, not only its own. Those were
   * left to {@code vertx.close()}, after the pools ("webhook send round failed: Pool closed" as a test run ended).
   */
  @Test
  void anInstanceStoppedDuringTheRoundOfAWorkerDeployedByHandFinishesItFirst(TestEnvironment env) throws Exception {
    stoppedDuringAMediaRound(env, instance -> {
      Workers.stopMediaWorker(instance);
      Workers.startMediaWorker(instance);
    });
  }

  /**
   * Stops a workers-only instance (prepared by {@code prepare}) while its media worker's round waits for the
   * instance's one blocking thread, frees the thread, and asserts the photo was processed once and nothing logged.
   */
  private void stoppedDuringAMediaRound(TestEnvironment env, java.util.function.Consumer<Frontline> prepare)
      throws Exception {
    Workers.stopMediaWorker(env);
    Frontline instance = env.startApiInstance(java.util.Map.of("FRONTLINE_ROLES", "workers",
        "FRONTLINE_WORKER_POOL_SIZE", "1"));
    try {
      prepare.accept(instance);
      java.util.concurrent.CountDownLatch held = new java.util.concurrent.CountDownLatch(1);
      instance.blocking().executeBlocking(() -> held.await(60, java.util.concurrent.TimeUnit.SECONDS), false);
      Instant captured = Instant.now().minus(5, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.SECONDS);
      UUID a = submitWithPhoto(env, UUID.randomUUID(), captured,
          withExif(TestImages.jpeg(TestImages.scene(640, 480, 901), 0.85f), captured, REPORT_LAT, REPORT_LON));
      Waits.until(java.time.Duration.ofSeconds(20), "the instance's media worker claims the photo",
          () -> string(env, "SELECT coalesce(media_claimed_by, '') FROM attachment WHERE id = ?", a)
              .startsWith("media-"));

      try (LogCapture log = LogCapture.of(MediaWorkerVerticle.class, "%level %msg%n")) {
        java.util.concurrent.CompletableFuture<Void> stopped = instance.stop();
        Thread.sleep(500); // the stop goes as far as it goes while the round waits
        held.countDown();
        stopped.get(30, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(log.text()).doesNotContain("RejectedExecutionException").doesNotContain("Pool closed")
            .doesNotContain("round failed").doesNotContain("WARN media processing");
      }
      assertThat(string(env, "SELECT media_status || ' ' || media_attempts FROM attachment WHERE id = ?", a))
          .isEqualTo("DONE 1");
      assertThat(string(env, "SELECT count(*) FROM evidence_check WHERE attachment_id = ?", a)).isEqualTo("7");
    } finally {
      instance.stop().get(30, java.util.concurrent.TimeUnit.SECONDS);
      Workers.startMediaWorker(env);
    }
  }

  @Test
  void twoWorkerInstancesNeverProcessAnAttachmentTwice(TestEnvironment env) throws Exception {
    String second = await(env.app().vertx().deployVerticle(new MediaWorkerVerticle(env.app().database(),
        env.app().objectStore(), env.app().blocking(), MediaWorkerVerticle.Settings.defaults(), env.app().registry()),
        new DeploymentOptions()));
    try {
      Instant captured = Instant.now().minus(5, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.SECONDS);
      List<UUID> attachments = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        attachments.add(submitWithPhoto(env, UUID.randomUUID(), captured,
            withExif(TestImages.jpeg(TestImages.scene(640, 480, 500 + i), 0.85f), captured, REPORT_LAT, REPORT_LON)));
      }
      for (UUID a : attachments) {
        awaitDone(env, a);
      }
      for (UUID a : attachments) {
        assertThat(string(env, "SELECT media_attempts FROM attachment WHERE id = ?", a)).isEqualTo("1");
        assertThat(string(env, "SELECT count(*) FROM evidence_check WHERE attachment_id = ?", a)).isEqualTo("7");
      }
    } finally {
      await(env.app().vertx().undeploy(second));
    }
  }

  @Test
  void aCopyNotMadeYetIs409AndAnExpiredLeaseIsClaimedAgain(TestEnvironment env) throws Exception {
    Instant captured = Instant.now().minus(5, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.SECONDS);
    UUID report = UUID.randomUUID();
    UUID a = UUID.randomUUID();
    byte[] photo = withExif(TestImages.jpeg(TestImages.scene(320, 240, 77), 0.9f), captured, REPORT_LAT, REPORT_LON);
    declare(env, report, a, captured, photo);
    assertProblem(get(env, "officer.xu", "/v1/attachments/" + a + "/content?variant=display"), 409,
        "urn:frontline:problem:conflict");
    assertProblem(get(env, "officer.xu", "/v1/attachments/" + a + "/content?variant=original"), 409,
        "urn:frontline:problem:conflict");
    // A claim by an instance that died: its lease is in the future, so nobody takes it until it expires. The lease
    // outlasts the wait for the gauges below (refreshed every 5 s, after an upload that may itself take seconds on a
    // loaded machine); a short one could expire, and the photo be processed, before any refresh saw it pending.
    update(env, "UPDATE attachment SET media_claimed_by = 'dead-instance', media_lease_until = now() + interval '1 hour',"
        + " media_attempts = 1 WHERE id = ?", a);
    upload(env, a, photo);
    // Meanwhile it is the backlog: the gauges (refreshed every 5 s) count it.
    Waits.until(java.time.Duration.ofSeconds(20), "the backlog gauges count the photo", () -> gauge(env, "frontline.media.pending") >= 1
        && gauge(env, "frontline.media.oldest.pending.age") > 0);
    assertThat(string(env, "SELECT media_status FROM attachment WHERE id = ?", a)).isEqualTo("PENDING");
    assertThat(string(env, "SELECT media_claimed_by FROM attachment WHERE id = ?", a)).isEqualTo("dead-instance");
    // The dead instance's lease runs out: the photo is claimed again.
    update(env, "UPDATE attachment SET media_lease_until = now() - interval '1 second' WHERE id = ?", a);
    awaitDone(env, a);
    assertThat(string(env, "SELECT media_attempts FROM attachment WHERE id = ?", a)).isEqualTo("2");
    assertThat(string(env, "SELECT media_claimed_by FROM attachment WHERE id = ?", a)).isNotEqualTo("dead-instance");
    assertThat(get(env, "officer.xu", "/v1/attachments/" + a + "/content?variant=display").statusCode()).isEqualTo(303);
  }

  @Test
  void theFlaggedFilterIsServedFromItsPartialIndex(TestEnvironment env) throws Exception {
    try (Connection c = env.jdbc(); var st = c.createStatement()) {
      st.execute("SET enable_seqscan = off");
      StringBuilder plan = new StringBuilder();
      try (ResultSet rs = st.executeQuery("EXPLAIN SELECT r.id FROM report r WHERE r.flagged"
          + " ORDER BY r.received_at DESC, r.id LIMIT 51")) {
        while (rs.next()) {
          plan.append(rs.getString(1)).append('\n');
        }
      }
      assertThat(plan.toString()).contains("report_flagged_received_idx");
    }
  }

  // ---- helpers ----

  private static byte[] withExif(byte[] jpeg, Instant captured, double lat, double lon) {
    LocalDateTime local = LocalDateTime.ofInstant(captured, ZoneOffset.ofHours(8));
    return new ExifSegment().make("Huawei").model("P60")
        .dateTimeOriginal(local.format(DateTimeFormatter.ofPattern("yyyy:MM:dd HH:mm:ss")))
        .offsetTimeOriginal("+08:00").gps(lat, lon).spliceInto(jpeg);
  }

  private JsonObject envelope(UUID report, UUID attachment, Instant captured, byte[] photo) throws Exception {
    return new JsonObject()
        .put("id", report.toString()).put("type", "SITE").put("unitId", DemoOrganisation.HUAISI.toString())
        .put("capturedAt", captured.toString())
        .put("location", new JsonObject().put("lat", REPORT_LAT).put("lon", REPORT_LON).put("accuracyM", 10)
            .put("provider", "gps").put("mock", false))
        .put("title", "Evidence").put("body", new JsonObject())
        .put("attachments", new JsonArray().add(new JsonObject().put("id", attachment.toString())
            .put("sha256", HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(photo)))
            .put("size", photo.length).put("contentType", contentType(photo)).put("filename", "IMG")));
  }

  /** The report as supervisor.hanjiang reads it, having asserted its and its one photo's evidenceChecks states. */
  private JsonObject assertChecksStates(TestEnvironment env, UUID report, UUID attachment, String reportState,
                                        String photoState) throws Exception {
    HttpResponse<String> read = get(env, "supervisor.hanjiang", "/v1/reports/" + report);
    assertThat(read.statusCode()).as(read.body()).isEqualTo(200);
    JsonObject seen = new JsonObject(read.body());
    JsonObject photo = seen.getJsonArray("attachments").getJsonObject(0);
    assertThat(photo.getString("id")).isEqualTo(attachment.toString());
    assertThat(seen.getString("evidenceChecks") + "/" + photo.getString("evidenceChecks"))
        .isEqualTo(reportState + "/" + photoState);
    return seen;
  }

  private List<String> listedIds(TestEnvironment env, String path) throws Exception {
    return listedIds(env, "supervisor.hanjiang", path);
  }

  private List<String> listedIds(TestEnvironment env, String username, String path) throws Exception {
    HttpResponse<String> page = get(env, username, path);
    assertThat(page.statusCode()).as(page.body()).isEqualTo(200);
    return new JsonObject(page.body()).getJsonArray("items").stream().map(o -> ((JsonObject) o).getString("id"))
        .toList();
  }

  private static double processed(TestEnvironment env, String outcome) {
    var counter = env.app().registry().find("frontline.media.processed").tag("outcome", outcome).counter();
    return counter == null ? 0 : counter.count();
  }

  private static double gauge(TestEnvironment env, String name) {
    return env.app().registry().get(name).gauge().value();
  }

  private static String contentType(byte[] photo) {
    return ((SniffResult.Sniffed) new MediaSniffer().sniff(photo)).contentType();
  }

  /** A report by officer.xu with one photo, uploaded by presigned PUT and completed; the attachment id. */
  private UUID submitWithPhoto(TestEnvironment env, UUID report, Instant captured, byte[] photo) throws Exception {
    UUID attachment = UUID.randomUUID();
    declare(env, report, attachment, captured, photo);
    upload(env, attachment, photo);
    return attachment;
  }

  /** Uploads the photos of one run of an outage test ({@code run} from 0, for photos of their own). */
  private interface OutagePhotos {
    UUID[] upload(int run) throws Exception;
  }

  /**
   * Runs {@link #databaseDownWhileTheWorkerWaitsOn} over photos from {@code photos} until the outage caught the
   * worker on the first of them (at most 3 runs); those photos. PostgreSQL's fast shutdown ends its sessions in no
   * set order: when the lock holder's goes first, the worker's insert goes on and may commit
   * before its own session ends. That photo was then simply recorded (checked, or failed when abandoned), which is
   * asserted, and the test runs again with new photos.
   */
  private UUID[] outageCaught(TestEnvironment env, OutagePhotos photos) throws Exception {
    for (int run = 0; ; run++) {
      UUID[] uploaded = photos.upload(run);
      UUID report = UUID.fromString(string(env, "SELECT report_id FROM attachment WHERE id = ?", uploaded[0]));
      if (databaseDownWhileTheWorkerWaitsOn(env, report, uploaded)) {
        return uploaded;
      }
      assertThat(string(env, "SELECT media_status FROM attachment WHERE id = ?", uploaded[0]))
          .as("a photo whose failure was not kept was recorded before the server stopped").isNotEqualTo("PENDING");
      assertThat(run).as("runs whose outage came too late").isLessThan(2);
    }
  }

  /**
   * Holds {@code report}'s row lock, expires the leases of {@code attachments} (at once: one claim takes them all),
   * waits for the worker's insert of checks blocked on that lock, then stops PostgreSQL until the worker says it
   * kept the failure of the first attachment it could not record, or its round ends otherwise, and starts it again.
   * Whether the failure was kept.
   */
  private static boolean databaseDownWhileTheWorkerWaitsOn(TestEnvironment env, UUID report, UUID... attachments)
      throws Exception {
    String kept = "media failure of attachment " + attachments[0] + " not recorded";
    Connection lock = env.jdbc();
    boolean restarted = false;
    try {
      lock.setAutoCommit(false);
      try (PreparedStatement ps = lock.prepareStatement("SELECT 1 FROM report WHERE id = ? FOR UPDATE")) {
        ps.setObject(1, report);
        ps.executeQuery().close();
      }
      int lockHolder = ((org.postgresql.PGConnection) lock.unwrap(org.postgresql.PGConnection.class))
          .getBackendPID();
      update(env, "UPDATE attachment SET media_lease_until = now() - interval '1 second'"
          + " WHERE id::text = ANY (string_to_array(?, ','))",
          String.join(",", java.util.Arrays.stream(attachments).map(UUID::toString).toList()));
      // The media worker's insert, waiting for this report's row (the report checker's claims skip locked rows).
      Waits.until(java.time.Duration.ofSeconds(20), "the worker waits to insert the checks", () -> "1".equals(string(env, "SELECT count(*)"
          + " FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO evidence_check%'"
          + " AND " + lockHolder + " = ANY (pg_blocking_pids(pid))")));
      try (LogCapture log = LogCapture.of(MediaWorkerVerticle.class, "%msg%n")) {
        env.stopPostgres();
        try {
          Waits.until(java.time.Duration.ofSeconds(20), "the worker keeps the failure it could not record, or its round ends",
              () -> log.text().contains(kept) || log.text().contains("media round failed"));
          return log.text().contains(kept);
        } finally {
          env.restartPostgres();
          restarted = true;
        }
      }
    } finally {
      try {
        lock.close();
      } catch (Exception gone) {
        // the connection died with the server
      }
      if (!restarted) {
        env.restartPostgres();
      }
    }
  }

  /**
   * A photo of officer.xu's, uploaded while an instance that died holds its claim ({@code attempts} used, the lease
   * running for {@code lease}, an SQL interval); the attachment id.
   */
  private UUID uploadedUnderADeadClaim(TestEnvironment env, long seed, int attempts, String lease) throws Exception {
    Instant captured = Instant.now().minus(5, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.SECONDS);
    byte[] photo = withExif(TestImages.jpeg(TestImages.scene(320, 240, seed), 0.9f), captured, REPORT_LAT, REPORT_LON);
    UUID a = UUID.randomUUID();
    declare(env, UUID.randomUUID(), a, captured, photo);
    update(env, "UPDATE attachment SET media_claimed_by = 'dead-instance', media_lease_until = now() + ?::interval,"
        + " media_attempts = ? WHERE id = ?", lease, attempts, a);
    upload(env, a, photo);
    return a;
  }

  /** A report by officer.xu whose manifest declares the photo, not uploaded yet. */
  private void declare(TestEnvironment env, UUID report, UUID attachment, Instant captured, byte[] photo)
      throws Exception {
    HttpResponse<String> created = post(env, "officer.xu", "/v1/reports", envelope(report, attachment, captured, photo));
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
  }

  private void upload(TestEnvironment env, UUID attachment, byte[] photo) throws Exception {
    upload(env, "officer.xu", attachment, photo);
  }

  private void upload(TestEnvironment env, String author, UUID attachment, byte[] photo) throws Exception {
    HttpResponse<String> url = post(env, author, "/v1/attachments/" + attachment + "/upload-url", null);
    assertThat(url.statusCode()).as(url.body()).isEqualTo(200);
    HttpResponse<byte[]> put = StoreHttp.put(new JsonObject(url.body()).getString("url"), photo);
    assertThat(put.statusCode()).isEqualTo(200);
    HttpResponse<String> done = post(env, author, "/v1/attachments/" + attachment + "/complete", null);
    assertThat(done.statusCode()).as(done.body()).isEqualTo(200);
  }

  /** An assessor whose scope is Huaisi alone (below supervisor.hanjiang's district), created once. */
  private String huaisiAssessor(TestEnvironment env) throws Exception {
    String username = "assessor.huaisi.evidence";
    if ("0".equals(string(env, "SELECT count(*) FROM account WHERE username = ?", username))) {
      HttpResponse<String> r = post(env, "admin", "/v1/accounts", new JsonObject().put("username", username)
          .put("displayName", "Huaisi Assessor").put("roles", new JsonArray().add("assessor"))
          .put("homeUnitId", DemoOrganisation.HUAISI.toString()).put("password", DemoOrganisation.PASSWORD));
      assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    }
    return username;
  }

  private void device(TestEnvironment env, String username, String token) throws Exception {
    env.awaitEventsDispatched();
    HttpResponse<String> r = post(env, username, "/v1/devices",
        new JsonObject().put("token", token).put("platform", "android").put("appVersion", "1.0.0"));
    assertThat(r.statusCode()).as(r.body()).isIn(200, 201);
  }

  private static void awaitDone(TestEnvironment env, UUID attachment) throws Exception {
    Waits.until(java.time.Duration.ofSeconds(20), "attachment " + attachment + " processed",
        () -> "DONE".equals(string(env, "SELECT media_status FROM attachment WHERE id = ?", attachment)));
  }

  /** outcome|measured of one check of the attachment. */
  private static String check(TestEnvironment env, UUID attachment, String code) {
    return string(env, "SELECT outcome || '|' || coalesce(measured::text, '') FROM evidence_check"
        + " WHERE attachment_id = ? AND code = ?", attachment, code);
  }

  private static JsonObject find(JsonArray evidence, UUID attachment, String code) {
    return evidence.stream().map(o -> (JsonObject) o)
        .filter(c -> code.equals(c.getString("code"))
            && (attachment == null ? c.getValue("attachmentId") == null : attachment.toString().equals(c.getString("attachmentId"))))
        .findFirst().orElseThrow(() -> new AssertionError("no " + code + " in " + evidence.encode()));
  }

  private static byte[] stored(TestEnvironment env, String key) {
    ReadStream<Buffer> stream = await(env.app().objectStore().get(key, 0, -1));
    Buffer all = Buffer.buffer();
    io.vertx.core.Promise<Void> done = io.vertx.core.Promise.promise();
    // End and failure handlers before the data handler: setting the data handler starts the flow, and the end may
    // come before a later endHandler call.
    stream.exceptionHandler(done::tryFail).endHandler(done::tryComplete).handler(all::appendBuffer);
    await(done.future());
    return all.getBytes();
  }

  private static final java.util.Map<String, String> TOKENS = new java.util.concurrent.ConcurrentHashMap<>();

  private String token(TestEnvironment env, String username) throws Exception {
    String cached = TOKENS.get(username + "@" + env.app().config().http().port());
    if (cached != null) {
      return cached;
    }
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri(env, "/v1/auth/login"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(new JsonObject().put("username", username)
            .put("password", DemoOrganisation.PASSWORD).encode())).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    String token = new JsonObject(r.body()).getString("access_token");
    TOKENS.put(username + "@" + env.app().config().http().port(), token);
    return token;
  }

  private HttpResponse<String> get(TestEnvironment env, String username, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(uri(env, path)).header("Authorization", "Bearer " + token(env, username))
        .GET().build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> post(TestEnvironment env, String username, String path, JsonObject body)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri(env, path)).header("Authorization", "Bearer " + token(env, username));
    if (body == null) {
      b.POST(HttpRequest.BodyPublishers.noBody());
    } else {
      b.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.encode()));
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static URI uri(TestEnvironment env, String path) {
    return URI.create("http://127.0.0.1:" + env.app().config().http().port() + path);
  }

  private static void assertProblem(HttpResponse<String> r, int status, String type) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
    assertThat(new JsonObject(r.body()).getString("type")).isEqualTo(type);
  }

  private static UUID account(String username) {
    return UUID.nameUUIDFromBytes(("frontline-demo:account:" + username).getBytes(StandardCharsets.UTF_8));
  }

  private static String string(TestEnvironment env, String sql, Object... params) {
    return env.string(sql, params);
  }

  private static void update(TestEnvironment env, String sql, Object... params) throws Exception {
    try (Connection c = env.jdbc(); PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < params.length; i++) {
        ps.setObject(i + 1, params[i]);
      }
      ps.executeUpdate();
    }
  }
}
