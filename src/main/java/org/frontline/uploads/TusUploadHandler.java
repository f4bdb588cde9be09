package org.frontline.uploads;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import org.frontline.identity.Caller;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemType;
import org.frontline.platform.http.Problems;
import org.frontline.platform.http.RequestIds;

import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * tus 1.0.0 at {@code /v1/uploads} (creation, creation-with-upload, termination, checksum (sha1, sha256),
 * expiration).
 * Mounted on the router ahead of the contract's root handlers: the body of a PATCH must be streamed to the store,
 * never read whole by the BodyHandler, and the contract validator knows neither tus headers nor
 * {@code application/offset+octet-stream}. Request ids, bearer authentication and problems are the same as on
 * every other route.
 */
public final class TusUploadHandler {
  public static final String VERSION = "1.0.0";
  public static final String EXTENSIONS = "creation,creation-with-upload,termination,checksum,expiration";
  static final String OFFSET_OCTET_STREAM = "application/offset+octet-stream";
  /**
   * RFC 7231 IMF-fixdate, as tus 1.0.0 requires for Upload-Expires: a two-digit day ({@code RFC_1123_DATE_TIME}
   * writes "1 Dec"), English names whatever the default locale, always GMT.
   */
  static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'",
      Locale.US).withZone(ZoneOffset.UTC);

  /** The routing context's key of the future completed when the client's connection closes. */
  private static final String GONE = "frontline.tus.gone";

  private final UploadService uploads;
  private final Handler<RoutingContext> authenticate;

  public TusUploadHandler(UploadService uploads, Handler<RoutingContext> authenticate) {
    this.uploads = uploads;
    this.authenticate = authenticate;
  }

  /** Mounts the tus routes before everything else on {@code router}. */
  public void mount(Router router) {
    Problems problems = new Problems();
    for (String path : List.of("/v1/uploads", "/v1/uploads/:id")) {
      router.route(path).order(-10)
          .handler(new RequestIds())
          .handler(rc -> {
            rc.request().pause(); // until a PATCH's receiver is ready to read; nothing else reads the body
            // Completes when the client's connection closes before the answer (at any stage: authentication,
            // lookup, waiting for a part permit, reading the body); a body waiting for a permit stops waiting.
            Promise<Void> gone = Promise.promise();
            rc.addEndHandler(ended -> {
              if (ended.failed()) {
                rc.put(org.frontline.platform.http.Problems.CLIENT_GONE, true);
                gone.tryComplete();
              }
            });
            rc.put(GONE, gone.future());
            rc.response().putHeader("Tus-Resumable", VERSION);
            // A refusal before (or while) the body is read: drain the rest, so the client reads the answer and
            // the connection stays usable (nothing is kept).
            rc.addHeadersEndHandler(v -> {
              if (rc.response().getStatusCode() >= 400 && !rc.request().isEnded()) {
                rc.request().handler(ignored -> {}).endHandler(ignored -> {}).resume();
              }
            });
            rc.next();
          })
          .handler(this::options)
          .handler(this::version)
          .handler(authenticate)
          .handler(this::dispatch)
          .failureHandler(problems);
    }
  }

  /** Discovery; needs no token and no Tus-Resumable. */
  private void options(RoutingContext rc) {
    if (rc.request().method() != HttpMethod.OPTIONS) {
      rc.next();
      return;
    }
    rc.response().setStatusCode(204)
        .putHeader("Tus-Version", VERSION)
        .putHeader("Tus-Extension", EXTENSIONS)
        .putHeader("Tus-Max-Size", Long.toString(UploadService.MAX_SIZE))
        .putHeader("Tus-Checksum-Algorithm", ChunkChecksum.ADVERTISED)
        .end();
  }

  private void version(RoutingContext rc) {
    if (!VERSION.equals(rc.request().getHeader("Tus-Resumable"))) {
      rc.fail(Problem.of(ProblemType.UNSUPPORTED_PROTOCOL_VERSION, "This server speaks tus " + VERSION
          + "; send 'Tus-Resumable: " + VERSION + "'.").withHeader("Tus-Version", VERSION).toException());
      return;
    }
    rc.next();
  }

  private void dispatch(RoutingContext rc) {
    String override = rc.request().getHeader("X-HTTP-Method-Override");
    String method = override != null && rc.request().method() == HttpMethod.POST
        ? override.toUpperCase(java.util.Locale.ROOT) : rc.request().method().name();
    String id = rc.pathParam("id");
    if (id == null) {
      if ("POST".equals(method)) {
        create(rc);
      } else {
        notAllowed(rc, "OPTIONS, POST");
      }
      return;
    }
    UUID uploadId;
    try {
      uploadId = UUID.fromString(id);
    } catch (IllegalArgumentException e) {
      rc.fail(Problem.of(ProblemType.NOT_FOUND, "No such upload.").toException());
      return;
    }
    switch (method) {
      case "HEAD" -> head(rc, uploadId);
      case "PATCH" -> patch(rc, uploadId);
      case "DELETE" -> delete(rc, uploadId);
      default -> notAllowed(rc, "DELETE, HEAD, OPTIONS, PATCH");
    }
  }

  private void create(RoutingContext rc) {
    Caller caller = Caller.of(rc);
    long length;
    UUID reportId;
    UUID attachmentId;
    try {
      if (rc.request().getHeader("Upload-Defer-Length") != null) {
        throw invalid("header/Upload-Defer-Length", "not supported: the length is the attachment's declared size");
      }
      // Any number of digits is a length (tus: a non-negative integer); one past Tus-Max-Size is 413, however long.
      java.math.BigInteger declared = new java.math.BigInteger(headerDigits(rc, "Upload-Length"));
      if (declared.signum() == 0) {
        throw invalid("header/Upload-Length", "must be positive");
      }
      if (declared.compareTo(java.math.BigInteger.valueOf(UploadService.MAX_SIZE)) > 0) {
        throw Problem.of(ProblemType.PAYLOAD_TOO_LARGE, "Upload-Length exceeds Tus-Max-Size "
            + UploadService.MAX_SIZE + ".").toException();
      }
      length = declared.longValueExact();
      Map<String, String> metadata = metadata(single(rc, "Upload-Metadata"));
      reportId = uuid(metadata, "reportId");
      attachmentId = uuid(metadata, "attachmentId");
    } catch (RuntimeException e) {
      rc.fail(e);
      return;
    }
    boolean withUpload = hasBody(rc);
    if (withUpload && !OFFSET_OCTET_STREAM.equals(mediaType(rc))) {
      rc.fail(Problem.of(ProblemType.UNSUPPORTED_MEDIA_TYPE, "A creation-with-upload body must be "
          + OFFSET_OCTET_STREAM + ".").toException());
      return;
    }
    if (UploadService.declaredLength(rc.request()) > length) {
      // Before the upload exists: refused after its creation, it was left ACTIVE with no Location to resume it.
      rc.fail(UploadService.pastLength(length));
      return;
    }
    ChunkChecksum checksum;
    try {
      checksum = withUpload ? checksum(rc) : null;
    } catch (RuntimeException e) {
      rc.fail(e);
      return;
    }
    uploads.create(caller, reportId, attachmentId, length)
        .compose(found -> !withUpload
            ? io.vertx.core.Future.succeededFuture(new UploadService.Written(found.upload(), 0, false))
            : uploads.write(caller, found, 0, rc.request(), checksum, address(rc), RequestIds.of(rc), gone(rc))
                // The upload exists: a refused first chunk still leaves it, at offset 0, for the client to resume.
                .recover(e -> e instanceof org.frontline.platform.http.ProblemException pe
                    && pe.problem().status() == 460
                    ? io.vertx.core.Future.succeededFuture(new UploadService.Written(found.upload(), 0, false))
                    : io.vertx.core.Future.failedFuture(e)))
        .onSuccess(written -> {
          HttpServerResponse response = rc.response().setStatusCode(201)
              .putHeader("Location", "/v1/uploads/" + written.upload().id())
              .putHeader("Upload-Offset", Long.toString(written.offset()));
          if (!written.complete()) {
            response.putHeader("Upload-Expires", HTTP_DATE.format(written.upload().expiresAt()));
          }
          response.end();
        })
        .onFailure(rc::fail);
  }

  private void head(RoutingContext rc, UUID id) {
    uploads.find(Caller.of(rc), id).map(UploadRepository.Found::upload).onSuccess(upload -> {
      HttpServerResponse response = rc.response().setStatusCode(200)
          .putHeader("Cache-Control", "no-store")
          .putHeader("Upload-Offset", Long.toString(upload.offset()))
          .putHeader("Upload-Length", Long.toString(upload.length()));
      if (upload.status() == Upload.Status.ACTIVE) {
        response.putHeader("Upload-Expires", HTTP_DATE.format(upload.expiresAt()));
      }
      response.end();
    }).onFailure(rc::fail);
  }

  private void patch(RoutingContext rc, UUID id) {
    Caller caller = Caller.of(rc);
    long offset;
    ChunkChecksum checksum;
    try {
      if (!OFFSET_OCTET_STREAM.equals(mediaType(rc))) {
        throw Problem.of(ProblemType.UNSUPPORTED_MEDIA_TYPE, "A PATCH body must be " + OFFSET_OCTET_STREAM + ".")
            .toException();
      }
      offset = headerLong(rc, "Upload-Offset");
      checksum = checksum(rc);
    } catch (RuntimeException e) {
      rc.fail(e);
      return;
    }
    uploads.find(caller, id) // the tail is read once the body holds a part permit (ChunkReceiver.receive)
        .compose(found -> uploads.write(caller, found, offset, rc.request(), checksum, address(rc),
            RequestIds.of(rc), gone(rc)))
        .onSuccess(written -> {
          HttpServerResponse response = rc.response().setStatusCode(204)
              .putHeader("Upload-Offset", Long.toString(written.offset()));
          if (!written.complete()) {
            response.putHeader("Upload-Expires", HTTP_DATE.format(written.upload().expiresAt()));
          }
          response.end();
        })
        .onFailure(rc::fail);
  }

  private void delete(RoutingContext rc, UUID id) {
    Caller caller = Caller.of(rc);
    uploads.find(caller, id)
        .compose(found -> uploads.terminate(caller, found, address(rc), RequestIds.of(rc)))
        .onSuccess(v -> rc.response().setStatusCode(204).end())
        .onFailure(rc::fail);
  }

  private static Future<Void> gone(RoutingContext rc) {
    return rc.get(GONE);
  }

  private static void notAllowed(RoutingContext rc, String allow) {
    rc.fail(Problem.of(ProblemType.METHOD_NOT_ALLOWED, "Allowed here: " + allow + ".").withHeader("Allow", allow)
        .toException());
  }

  private static boolean hasBody(RoutingContext rc) {
    String length = rc.request().getHeader("Content-Length");
    return (length != null && !"0".equals(length.trim())) || rc.request().getHeader("Transfer-Encoding") != null;
  }

  private static String mediaType(RoutingContext rc) {
    String type = rc.request().getHeader("Content-Type");
    return type == null ? null : type.split(";", 2)[0].trim().toLowerCase(java.util.Locale.ROOT);
  }

  /**
   * {@code Upload-Checksum: <algorithm> <base64>}, or null when absent. An algorithm other than those of
   * Tus-Checksum-Algorithm is 400 (tus 1.0.0), as is a digest that is not base64 or not of the algorithm's length.
   */
  static ChunkChecksum checksum(RoutingContext rc) {
    String header = single(rc, "Upload-Checksum");
    if (header == null) {
      return null;
    }
    String[] parts = header.trim().split(" ", 2);
    String algorithm = parts[0].toLowerCase(Locale.ROOT);
    if (parts.length != 2 || !ChunkChecksum.ALGORITHMS.containsKey(algorithm)) {
      throw invalid("header/Upload-Checksum", "must be '<algorithm> <base64 digest>' (Tus-Checksum-Algorithm: "
          + ChunkChecksum.ADVERTISED + ")");
    }
    byte[] digest;
    try {
      digest = Base64.getDecoder().decode(parts[1].trim());
    } catch (IllegalArgumentException e) {
      throw invalid("header/Upload-Checksum", "the digest is not base64");
    }
    int length = ChunkChecksum.newDigest(algorithm).getDigestLength();
    if (digest.length != length) {
      throw invalid("header/Upload-Checksum", "a " + algorithm + " digest is " + length + " bytes");
    }
    return new ChunkChecksum(algorithm, digest);
  }

  /**
   * A tus number (Upload-Length, Upload-Offset): sent once, digits only (tus 1.0.0: a non-negative integer; leading
   * zeros are still digits). {@code Long.parseLong} alone took {@code +5}, and a header sent twice was read as its
   * first value, where a proxy in between may have acted on the other.
   */
  private static long headerLong(RoutingContext rc, String name) {
    try {
      return Long.parseLong(headerDigits(rc, name));
    } catch (NumberFormatException e) {
      throw invalid("header/" + name, "is too large");
    }
  }

  /** The digits of a tus number sent once (see {@link #headerLong}); 400 naming the header for anything else. */
  private static String headerDigits(RoutingContext rc, String name) {
    String value = single(rc, name);
    if (value == null) {
      throw invalid("header/" + name, "is required");
    }
    String digits = value.trim();
    if (digits.startsWith("-")) {
      throw invalid("header/" + name, "must not be negative");
    }
    if (digits.isEmpty() || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
      throw invalid("header/" + name, "must be a whole number (digits only)");
    }
    return digits;
  }

  /** The value of a header tus defines once per request, or null when absent; 400 when it was sent twice. */
  private static String single(RoutingContext rc, String name) {
    List<String> values = rc.request().headers().getAll(name);
    if (values.size() > 1) {
      throw invalid("header/" + name, "must be sent once");
    }
    return values.isEmpty() ? null : values.get(0);
  }

  /**
   * tus Upload-Metadata: comma-separated "key base64value" pairs, each key once (tus 1.0.0: keys MUST be unique; a
   * second {@code reportId} was taken over the first).
   */
  static Map<String, String> metadata(String header) {
    Map<String, String> out = new HashMap<>();
    if (header == null || header.isBlank()) {
      return out;
    }
    for (String pair : header.split(",")) {
      if (pair.isBlank()) {
        continue; // "a x,,b y" or a trailing comma: no pair
      }
      String[] kv = pair.trim().split(" ", 2);
      String value;
      try {
        value = kv.length < 2 ? "" : new String(Base64.getDecoder().decode(kv[1].trim()), StandardCharsets.UTF_8);
      } catch (IllegalArgumentException e) {
        throw invalid("header/Upload-Metadata", "the value of " + kv[0] + " is not base64");
      }
      if (out.putIfAbsent(kv[0], value) != null) {
        throw invalid("header/Upload-Metadata", "the key " + kv[0] + " is given twice (keys must be unique)");
      }
    }
    return out;
  }

  private static UUID uuid(Map<String, String> metadata, String key) {
    String value = metadata.get(key);
    if (value == null) {
      throw invalid("header/Upload-Metadata/" + key, "is required");
    }
    try {
      return UUID.fromString(value);
    } catch (IllegalArgumentException e) {
      throw invalid("header/Upload-Metadata/" + key, "must be a UUID");
    }
  }

  private static RuntimeException invalid(String field, String reason) {
    return Problem.of(ProblemType.VALIDATION_FAILED, field + " " + reason + ".")
        .withErrors(List.of(new Problem.FieldError(field, reason))).toException();
  }

  private static String address(RoutingContext rc) {
    return rc.request().remoteAddress() == null ? null : rc.request().remoteAddress().hostAddress();
  }
}
