package org.frontline.platform.http;

/** Every kind of problem the API answers with: one stable type URI per cause, everywhere. */
public enum ProblemType {
  VALIDATION_FAILED(400, "Request is invalid"),
  MALFORMED_REQUEST(400, "Request cannot be read"),
  UNAUTHORIZED(401, "Authentication required"),
  /** A refresh token that is unknown, spent, revoked or expired (OAuth's invalid_grant). */
  INVALID_GRANT(401, "Refresh token rejected"),
  FORBIDDEN(403, "Not allowed"),
  NOT_FOUND(404, "Not found"),
  METHOD_NOT_ALLOWED(405, "Method not allowed"),
  NOT_ACCEPTABLE(406, "Not acceptable"),
  CONFLICT(409, "Conflict"),
  /** An upload past its expiry (tus expiration). */
  GONE(410, "Gone"),
  /** A tus request whose Tus-Resumable version the server does not speak. */
  UNSUPPORTED_PROTOCOL_VERSION(412, "Unsupported protocol version"),
  PAYLOAD_TOO_LARGE(413, "Payload too large"),
  /** A request line longer than the server reads (HttpServerOptions' max initial line length). */
  URI_TOO_LONG(414, "URI too long"),
  UNSUPPORTED_MEDIA_TYPE(415, "Unsupported media type"),
  /** An {@code Expect} header other than {@code 100-continue}, the only expectation HTTP defines. */
  EXPECTATION_FAILED(417, "Expectation failed"),
  UNPROCESSABLE(422, "Request breaks a rule"),
  TOO_MANY_REQUESTS(429, "Too many requests"),
  /** Header fields larger in all than the server reads (HttpServerOptions' max header size). */
  HEADER_FIELDS_TOO_LARGE(431, "Request header fields too large"),
  /** tus checksum extension: the chunk does not match its Upload-Checksum; the chunk was discarded. */
  CHECKSUM_MISMATCH(460, "Checksum mismatch"),
  INTERNAL(500, "Internal error"),
  /** A request whose Transfer-Encoding is other than chunked (RFC 9112 6.1). */
  NOT_IMPLEMENTED(501, "Not implemented"),
  DEPENDENCY_UNAVAILABLE(503, "Service temporarily unavailable"),
  TIMEOUT(503, "Request timed out");

  private final int status;
  private final String title;

  ProblemType(int status, String title) {
    this.status = status;
    this.title = title;
  }

  public int status() { return status; }

  public String title() { return title; }

  /** e.g. {@code urn:frontline:problem:validation-failed}. A URN needs no server to resolve it and never moves. */
  public String uri() {
    return "urn:frontline:problem:" + name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
  }
}
