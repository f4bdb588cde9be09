package org.frontline.media;

/** What the bytes are: an allowed photo type, or a refusal (HTTP 415) with the reason. */
public sealed interface SniffResult {

  /** An allowed photo; {@code contentType} is image/jpeg, image/png, image/heic or image/heif. */
  record Sniffed(String contentType) implements SniffResult {}

  /** Not an allowed photo; {@code reason} is fit to show the uploader. */
  record Refused(String reason) implements SniffResult {}

  default boolean allowed() {
    return this instanceof Sniffed;
  }
}
