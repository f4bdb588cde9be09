package org.frontline.reports;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;

/**
 * A report as the API represents it (the one representation of 201, replay, read and list). {@code evidence},
 * {@code flagged} and the {@code evidenceChecks} states (the report's and each attachment's) are those of a caller
 * who may see the evidence checks (a reader role); otherwise an empty list and nulls (the fields are left out).
 * {@code review}: the report's latest review, shown to whoever reads the report (left out until it is reviewed, so the
 * 201 body and its replays are as before).
 */
record ReportView(UUID id, String type, UUID unitId, UUID authorId, String status, String title, String text,
                  OffsetDateTime capturedAt, OffsetDateTime receivedAt, OffsetDateTime completedAt,
                  Envelope.Location location, JsonObject body, List<AttachmentView> attachments,
                  List<JsonObject> evidence, Boolean flagged, String evidenceChecks, ReportReview review) {

  /** Where a pending attachment's bytes go (tus; Upload-Metadata names reportId and attachmentId). */
  static final String UPLOAD_URL = "/v1/uploads";

  /** Evidence checks still to come (not run yet, or waiting out an outage), all recorded, or some that never can. */
  static final String CHECKS_PENDING = "PENDING";
  static final String CHECKS_DONE = "DONE";
  static final String CHECKS_UNAVAILABLE = "UNAVAILABLE";

  /**
   * {@code evidenceChecks}: the state of this photo's checks for a reader, else null (left out); {@code resumeUpload}:
   * the caller's unfinished tus upload of it (it is the author), else null.
   */
  record AttachmentView(UUID id, int ordinal, String status, String contentType, long size, byte[] sha256,
                        String filename, String evidenceChecks, UUID resumeUpload) {}

  /**
   * A photo's checks from its {@code media_status}: PENDING until the media worker recorded them (a photo not
   * stored yet, or retried through an outage of up to 24 h), DONE, or UNAVAILABLE once it FAILED (its flagged
   * PHOTO_CHECKS_UNAVAILABLE check says why).
   */
  static String photoChecks(String mediaStatus) {
    return switch (mediaStatus) {
      case "DONE" -> CHECKS_DONE;
      case "FAILED" -> CHECKS_UNAVAILABLE;
      default -> CHECKS_PENDING;
    };
  }

  /**
   * A report's checks: PENDING while any may still come (its own report-level ones not recorded yet: a report
   * awaiting its photos, or without photos before the report checker's round; or any photo's), else UNAVAILABLE
   * when a photo's could not run, else DONE. {@code reportChecksDue}: the report's {@code report_checks_due} is not
   * false.
   */
  static String reportChecks(boolean reportChecksDue, List<String> photoChecks) {
    if (reportChecksDue || photoChecks.contains(CHECKS_PENDING)) {
      return CHECKS_PENDING;
    }
    return photoChecks.contains(CHECKS_UNAVAILABLE) ? CHECKS_UNAVAILABLE : CHECKS_DONE;
  }

  JsonObject toJson() {
    JsonArray atts = new JsonArray();
    for (AttachmentView a : attachments) {
      JsonObject json = new JsonObject()
          .put("id", a.id().toString())
          .put("ordinal", a.ordinal())
          .put("status", a.status())
          .put("contentType", a.contentType())
          .put("size", a.size())
          .put("sha256", HexFormat.of().formatHex(a.sha256()))
          .put("filename", a.filename());
      if (a.evidenceChecks() != null) {
        json.put("evidenceChecks", a.evidenceChecks());
      }
      if ("PENDING".equals(a.status())) {
        JsonObject upload = new JsonObject().put("url", UPLOAD_URL).put("protocol", "tus/1.0.0");
        if (a.resumeUpload() != null) {
          upload.put("resumeUrl", UPLOAD_URL + "/" + a.resumeUpload());
        }
        json.put("upload", upload);
      }
      atts.add(json);
    }
    JsonObject json = new JsonObject()
        .put("id", id.toString())
        .put("type", type)
        .put("unitId", unitId.toString())
        .put("authorId", authorId.toString())
        .put("status", status)
        .put("title", title)
        .put("text", text)
        .put("capturedAt", time(capturedAt))
        .put("receivedAt", time(receivedAt))
        .put("completedAt", time(completedAt))
        .put("location", location.toJson())
        .put("body", body)
        .put("attachments", atts)
        .put("evidence", new JsonArray(new java.util.ArrayList<>(evidence)));
    if (flagged != null) {
      json.put("flagged", flagged);
    }
    if (evidenceChecks != null) {
      json.put("evidenceChecks", evidenceChecks);
    }
    if (review != null) {
      json.put("review", review.toJson());
    }
    return json;
  }

  ReportView withReview(ReportReview latest) {
    return new ReportView(id, type, unitId, authorId, status, title, text, capturedAt, receivedAt, completedAt, location,
        body, attachments, evidence, flagged, evidenceChecks, latest);
  }

  static String time(OffsetDateTime t) {
    return t == null ? null : t.withOffsetSameInstant(ZoneOffset.UTC).toInstant().toString();
  }
}
