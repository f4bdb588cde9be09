package org.frontline.evidence;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import org.frontline.identity.Actor;
import org.frontline.identity.Scope;
import org.frontline.media.MediaSniffer;
import org.frontline.platform.db.Database;
import org.frontline.platform.http.ApiRoutes;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemException;
import org.frontline.platform.http.ProblemType;
import org.frontline.platform.objectstore.ObjectStore;

import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * {@code GET /v1/attachments/{id}/content?variant=thumb|display|original}: a 303 redirect to a presigned GET of at
 * most {@link #URL_MINUTES} minutes. Who may: whoever may read the report (its author, or a supervisor, assessor or
 * admin whose scope covers its unit; anyone else 404 as if missing). The original (with its EXIF and GPS) only for
 * the author and supervisors/assessors in scope: an admin who may read the report gets 403. A copy not made yet
 * (or never makeable, e.g. HEIC) is 409. The link makes the store answer with the sniffed content type (the copies:
 * image/jpeg), inline under a name made here ({@code {id}-{variant}.jpg}) and not to be cached, never the
 * Content-Type, Content-Disposition or Cache-Control a client declared on its presigned PUT.
 */
public final class AttachmentContentApi implements ApiRoutes {
  /** Lifetime of the presigned GET. */
  static final int URL_MINUTES = 5;
  private static final List<String> READER_ROLES = List.of("supervisor", "assessor", "admin");
  private static final List<String> ORIGINAL_ROLES = List.of("supervisor", "assessor");

  private final Database database;
  private final ObjectStore store;

  public AttachmentContentApi(Database database, ObjectStore store) {
    this.database = database;
    this.store = store;
  }

  @Override
  public Map<String, Handler<RoutingContext>> handlers() {
    return Map.of("getAttachmentContent", this::content);
  }

  private void content(RoutingContext rc) {
    Actor actor = Actor.of(rc);
    UUID id = UUID.fromString(rc.pathParam("id"));
    String variant = rc.queryParams().get("variant") == null ? "display" : rc.queryParams().get("variant");
    boolean reader = READER_ROLES.stream().anyMatch(actor.caller()::hasRole);
    var pool = database.pool();
    actor.scope(pool)
        .compose(scope -> pool.preparedQuery("SELECT a.status, a.media_status, a.object_key,"
                + " coalesce(a.content_type, a.declared_content_type) AS content_type, a.thumb_key,"
                + " a.display_key, r.author_id = $1 AS author, " + Scope.sqlForUnitId("r.unit_id", 3) + " AS in_scope"
                + " FROM attachment a JOIN report r ON r.id = a.report_id"
                + " WHERE a.id = $4 AND (r.author_id = $1 OR ($2 AND " + Scope.sqlForUnitId("r.unit_id", 3) + "))")
            .execute(Tuple.of(actor.accountId(), reader, scope.paths(), id)))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.failedFuture(problem(ProblemType.NOT_FOUND, "No attachment " + id + " in your scope."));
          }
          Row a = rows.iterator().next();
          String key;
          String contentType;
          if ("original".equals(variant)) {
            boolean mayOriginal = a.getBoolean("author")
                || (a.getBoolean("in_scope") && ORIGINAL_ROLES.stream().anyMatch(actor.caller()::hasRole));
            if (!mayOriginal) {
              return Future.failedFuture(problem(ProblemType.FORBIDDEN, "The original of an attachment is served"
                  + " only to its author and to supervisors and assessors in scope; ask for variant=display."));
            }
            if (!"STORED".equals(a.getString("status"))) {
              return Future.failedFuture(problem(ProblemType.CONFLICT, "Attachment " + id
                  + " is not uploaded yet (PENDING)."));
            }
            key = a.getString("object_key");
            // The sniffed type: a direct upload's object carries whatever Content-Type its PUT declared.
            contentType = a.getString("content_type");
          } else {
            key = a.getString("thumb".equals(variant) ? "thumb_key" : "display_key");
            contentType = "image/jpeg";
            if (key == null) {
              String why = !"STORED".equals(a.getString("status")) ? "the attachment is not uploaded yet"
                  : "PENDING".equals(a.getString("media_status")) ? "the media worker has not processed it yet;"
                      + " try again shortly"
                  : "no " + variant + " copy can be made of it (type without a decoder, or processing failed)";
              return Future.failedFuture(problem(ProblemType.CONFLICT, "The " + variant + " copy of attachment "
                  + id + " is not available: " + why + "."));
            }
          }
          // Served under a name made here (never the client's filename, nor what its PUT declared), not cached.
          return store.presignedGet(key, URL_MINUTES, contentType, MediaSniffer.servedName(id, variant, contentType));
        })
        .onSuccess(url -> rc.response().setStatusCode(303)
            .putHeader("Location", url)
            .putHeader("Cache-Control", "no-store")
            .end())
        .onFailure(rc::fail);
  }

  private static ProblemException problem(ProblemType type, String detail) {
    return new ProblemException(Problem.of(type, detail));
  }
}
