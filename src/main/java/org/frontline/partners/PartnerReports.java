package org.frontline.partners;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import org.frontline.identity.Caller;
import org.frontline.identity.Page;
import org.frontline.identity.Scope;
import org.frontline.media.MediaSniffer;
import org.frontline.platform.http.ExactNumbers;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemType;
import org.frontline.platform.objectstore.ObjectStore;

import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Reports as partners read them: only within the grant (unit subtrees through {@link Scope}, and the granted report
 * types); anything else is 404 like a missing report. The partner representation is its own (no author, no evidence
 * checks), and photos are served as short-lived links to the derived copies, which carry no metadata; never the
 * original.
 */
public final class PartnerReports {
  /** Lifetime of a photo link. */
  static final int LINK_MINUTES = 5;
  /** The grant, as a SQL condition on report r: $1 = the granted paths, $2 = the granted report types. */
  private static final String GRANTED = "r.type = ANY ($2) AND " + Scope.sqlForUnitId("r.unit_id", 1);
  private static final String COLUMNS = "r.id, r.type, r.unit_id, r.status, r.title, r.text, r.captured_at, "
      + "r.received_at, r.completed_at, r.lat, r.lon, r.accuracy_m, r.body::text AS body";

  private final Pool pool;
  private final ObjectStore store;

  public PartnerReports(Pool pool, ObjectStore store) {
    this.pool = pool;
    this.store = store;
  }

  public Future<JsonObject> get(Caller caller, UUID id) {
    return Scope.of(pool, caller)
        .compose(scope -> pool.preparedQuery("SELECT " + COLUMNS + " FROM report r WHERE r.id = $3 AND " + GRANTED)
            .execute(Tuple.of(scope.paths(), types(caller), id)))
        .compose(rows -> rows.size() == 0
            ? Future.failedFuture(Problem.of(ProblemType.NOT_FOUND, "No report " + id + " in your grant.").toException())
            : withAttachments(List.of(rows.iterator().next())).map(list -> list.get(0)));
  }

  /** Newest received first; the cursor is the (received_at, id) of the last item. */
  public Future<JsonObject> list(Caller caller, String cursor, Integer limit) {
    String after = Page.decode(cursor, Page.TimeId::valid);
    Page.TimeId last = after == null ? null : Page.TimeId.parse(after);
    int size = Page.limit(limit);
    return Scope.of(pool, caller)
        .compose(scope -> pool.preparedQuery("SELECT " + COLUMNS + " FROM report r WHERE " + GRANTED
                + " AND ($3::timestamptz IS NULL OR (r.received_at, r.id) < ($3, $4)) ORDER BY r.received_at DESC, r.id DESC LIMIT $5")
            .execute(Tuple.of(scope.paths(), types(caller), last == null ? null : last.at(), last == null ? null : last.id(),
                size + 1)))
        .compose(rows -> {
          List<Row> list = new ArrayList<>();
          rows.forEach(list::add);
          Page<Row> page = Page.of(list, size, r -> Page.TimeId.key(r.getOffsetDateTime("received_at"), r.getUUID("id")));
          return withAttachments(page.items()).map(items -> new JsonObject().put("items", new JsonArray(items))
              .put("nextCursor", page.nextCursor()));
        });
  }

  /** A short-lived link to the thumb or display copy of a photo of a report in the grant. */
  public Future<String> photoLink(Caller caller, UUID attachmentId, String variant) {
    return Scope.of(pool, caller)
        .compose(scope -> pool.preparedQuery("SELECT a.status, a.thumb_key, a.display_key FROM attachment a "
                + "JOIN report r ON r.id = a.report_id WHERE a.id = $3 AND " + GRANTED)
            .execute(Tuple.of(scope.paths(), types(caller), attachmentId)))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.failedFuture(Problem.of(ProblemType.NOT_FOUND, "No attachment " + attachmentId
                + " in your grant.").toException());
          }
          Row a = rows.iterator().next();
          String key = a.getString("thumb".equals(variant) ? "thumb_key" : "display_key");
          if (key == null) {
            return Future.failedFuture(Problem.of(ProblemType.CONFLICT, "The " + variant + " copy of attachment "
                + attachmentId + " is not available yet.").toException());
          }
          return store.presignedGet(key, LINK_MINUTES, MediaSniffer.JPEG,
              MediaSniffer.servedName(attachmentId, variant, MediaSniffer.JPEG));
        });
  }

  private static String[] types(Caller caller) {
    return caller.client() == null ? new String[0] : caller.client().reportTypes().toArray(String[]::new);
  }

  private Future<List<JsonObject>> withAttachments(List<Row> reports) {
    if (reports.isEmpty()) {
      return Future.succeededFuture(List.of());
    }
    UUID[] ids = reports.stream().map(r -> r.getUUID("id")).toArray(UUID[]::new);
    // The type sniffed from the stored bytes (recorded at completion), not the one the phone declared; a photo not
    // stored yet has only the declared one.
    return pool.preparedQuery("SELECT id, report_id, status, coalesce(content_type, declared_content_type) AS content_type,"
            + " declared_size AS size, encode(declared_sha256, 'hex') AS sha256 FROM attachment WHERE report_id = ANY ($1)"
            + " ORDER BY report_id, ordinal")
        .execute(Tuple.of((Object) ids))
        .map(rows -> {
          List<JsonObject> out = new ArrayList<>();
          for (Row r : reports) {
            JsonArray attachments = new JsonArray();
            for (Row a : rows) {
              if (a.getUUID("report_id").equals(r.getUUID("id"))) {
                attachments.add(new JsonObject()
                    .put("id", a.getUUID("id").toString())
                    .put("status", a.getString("status"))
                    .put("contentType", a.getString("content_type"))
                    .put("size", a.getLong("size"))
                    .put("sha256", a.getString("sha256"))
                    .put("content", "/v1/partner/attachments/" + a.getUUID("id") + "/content"));
              }
            }
            out.add(new JsonObject()
                .put("id", r.getUUID("id").toString())
                .put("type", r.getString("type"))
                .put("unitId", r.getUUID("unit_id").toString())
                .put("status", r.getString("status"))
                .put("title", r.getString("title"))
                .put("text", r.getString("text"))
                .put("capturedAt", time(r.getOffsetDateTime("captured_at")))
                .put("receivedAt", time(r.getOffsetDateTime("received_at")))
                .put("completedAt", time(r.getOffsetDateTime("completed_at")))
                .put("location", new JsonObject().put("lat", r.getDouble("lat")).put("lon", r.getDouble("lon"))
                    .put("accuracyM", r.getDouble("accuracy_m")))
                .put("body", ExactNumbers.object(r.getString("body")))
                .put("attachments", attachments));
          }
          return out;
        });
  }

  private static String time(OffsetDateTime t) {
    return t == null ? null : DateTimeFormatter.ISO_INSTANT.format(t.toInstant());
  }
}
