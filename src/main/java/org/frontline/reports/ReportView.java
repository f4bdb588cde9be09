package org.frontline.reports;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;

/**
 * A report as the API represents it (the one representation of 201, replay, read and list). {@code evidence} and
 * {@code flagged} are those of a caller who may see the evidence checks (a reader role); otherwise an empty list and
 * null (the field is left out).
 */
record ReportView(UUID id, String type, UUID unitId, UUID authorId, String status, String title, String text,
                  OffsetDateTime capturedAt, OffsetDateTime receivedAt, OffsetDateTime completedAt,
                  Envelope.Location location, JsonObject body, List<AttachmentView> attachments,
                  List<JsonObject> evidence, Boolean flagged) {

  /** Where a pending attachment's bytes go (tus; Upload-Metadata names reportId and attachmentId). */
  static final String UPLOAD_URL = "/v1/uploads";

  record AttachmentView(UUID id, int ordinal, String status, String contentType, long size, byte[] sha256,
                        String filename) {}

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
      if ("PENDING".equals(a.status())) {
        json.put("upload", new JsonObject().put("url", UPLOAD_URL).put("protocol", "tus/1.0.0"));
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
    return json;
  }

  static String time(OffsetDateTime t) {
    return t == null ? null : t.withOffsetSameInstant(ZoneOffset.UTC).toInstant().toString();
  }
}
