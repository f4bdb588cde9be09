package org.frontline.platform.objectstore;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;

import java.util.Optional;

/**
 * The media store. Every call returns a Future completed on the caller's context; implementations run
 * blocking SDK work on a bounded, named worker pool, never on an event loop.
 */
public interface ObjectStore {

  /** Creates the bucket when it does not exist yet. Called once at start. */
  Future<Void> ensureBucket();

  /** A cheap round trip used by readiness checks. Fails when the store cannot be reached. */
  Future<Void> ping();

  /**
   * Streams {@code body} of unknown length into {@code key} (multipart; at most one part is held in memory).
   * The SHA-256 and the size are computed on the fly. The stream is consumed with back-pressure.
   */
  Future<PutResult> put(String key, ReadStream<Buffer> body, String contentType);

  /** Metadata of an object, or empty when there is no such key. */
  Future<Optional<ObjectInfo>> stat(String key);

  /**
   * Reads {@code length} bytes from {@code offset} (length {@code -1}: to the end). Fails with
   * {@link ObjectNotFoundException} when there is no such key.
   */
  Future<ReadStream<Buffer>> get(String key, long offset, long length);

  /**
   * Copies {@code from} to {@code to} inside the store, only while {@code from}'s ETag is still {@code ifMatchEtag}
   * (null: unconditionally); fails with {@link IllegalStateException} when the source changed meanwhile.
   */
  Future<Void> copy(String from, String to, String ifMatchEtag);

  /**
   * Up to {@code max} objects whose key starts with {@code prefix}, in key order, after {@code startAfter} (null:
   * from the first); fewer than {@code max} means there are no more. Their content type is not listed (null).
   */
  Future<java.util.List<ObjectInfo>> list(String prefix, String startAfter, int max);

  /** Removes an object; removing a missing key succeeds. */
  Future<Void> delete(String key);

  /** A URL for clients (at the store's public endpoint) allowing one GET of exactly this key until it expires. */
  Future<String> presignedGet(String key, int expiryMinutes);

  /**
   * As {@link #presignedGet(String, int)}, the store answering as the service says, whatever metadata the object was
   * written with: an object a client PUT through a presigned URL carries the Content-Type, Content-Disposition and
   * Cache-Control that client chose (text/html, a download named {@code report.html}, a year in every shared cache),
   * and the store serves them back. Signed overrides: {@code response-content-type} {@code contentType},
   * {@code response-content-disposition} {@code inline; filename="filename"} (a name the server made: letters,
   * digits, '.', '-' and '_' only) and {@code response-cache-control} {@code private, no-store}.
   */
  Future<String> presignedGet(String key, int expiryMinutes, String contentType, String filename);

  /**
   * A URL for clients (at the store's public endpoint) allowing a PUT of exactly this key, of exactly
   * {@code contentLength} bytes, until it expires, and the headers the PUT must carry as they are: they are signed
   * ({@code Content-Length} among them), so the store refuses a PUT without one of them or with another value (403
   * SignatureDoesNotMatch) and keeps nothing of it.
   */
  Future<PresignedRequest> presignedPut(String key, int expiryMinutes, long contentLength);

  /**
   * Stores bytes already in memory (at most one part, {@code 5 MiB}) with one PUT; returns the object's ETag. For
   * uploads received whole, where a multipart upload would cost two more calls and the store a copy.
   */
  Future<String> putBytes(String key, Buffer data, String contentType);

  // ---- S3 multipart primitives (tus uploads): every part but the last must be at least 5 MiB ----

  /** Starts a multipart upload of {@code key}; returns its upload id. */
  Future<String> createMultipart(String key, String contentType);

  /** Uploads one part (numbered from 1) of a multipart upload; returns its ETag. */
  Future<String> uploadPart(String key, String uploadId, int partNumber, Buffer data);

  /** The parts the store holds for a multipart upload, by part number. */
  Future<java.util.List<Part>> listParts(String key, String uploadId);

  /** Assembles the object from {@code parts} (ascending part numbers); returns the object's ETag. */
  Future<String> completeMultipart(String key, String uploadId, java.util.List<Part> parts);

  /** Aborts a multipart upload, discarding its parts; aborting an unknown upload succeeds. */
  Future<Void> abortMultipart(String key, String uploadId);

  /** Incomplete multipart uploads whose key starts with {@code prefix} (at most 1000). */
  Future<java.util.List<MultipartUpload>> listMultipartUploads(String prefix);

  /** A presigned request for a client: its URL, and the headers it must send with exactly these values. */
  record PresignedRequest(String url, java.util.Map<String, String> headers) {}

  /** One stored part of a multipart upload. */
  record Part(int number, String etag, long size) {}

  /** An incomplete multipart upload. */
  record MultipartUpload(String key, String uploadId) {}

  /** Result of a streaming put: the bytes actually stored and their SHA-256 (lower-case hex). */
  record PutResult(String key, long size, String sha256Hex, String etag) {}

  /** Object metadata. */
  record ObjectInfo(String key, long size, String etag, String contentType, java.time.Instant lastModified) {}
}
