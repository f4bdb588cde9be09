package org.frontline.uploads;

import org.frontline.platform.objectstore.ObjectStore.Part;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * One tus upload as persisted: {@code offset} bytes are acknowledged, of which the {@code parts} are in the S3
 * multipart upload and the {@code tail} (less than one part) is kept here; {@code sha256State} is the running
 * SHA-256 over all {@code offset} bytes.
 */
public record Upload(UUID id, UUID attachmentId, UUID reportId, UUID authorId, long length, long offset,
                     String objectKey, String multipartUploadId, List<Part> parts, byte[] tail, byte[] sha256State,
                     Status status, Instant expiresAt) {

  /**
   * How the upload stands. {@code SUPERSEDED} is never written: it is how {@link UploadRepository#find} reads an
   * ACTIVE row whose attachment is STORED already (by another upload or a direct completion), so it can never
   * complete; the row stays ACTIVE until the sweeper expires it and cleans what it left in the store.
   */
  public enum Status { ACTIVE, COMPLETED, FAILED, ABORTED, EXPIRED, SUPERSEDED }

  public Upload {
    parts = List.copyOf(parts);
  }

  public boolean expired(Instant now) {
    return status == Status.EXPIRED || (status == Status.ACTIVE && !now.isBefore(expiresAt));
  }

  public long partBytes() {
    return parts.stream().mapToLong(Part::size).sum();
  }

  /** Whether {@link #tail} holds the acknowledged bytes not in a part (a row read without it holds none). */
  public boolean hasTail() {
    return tail.length == offset - partBytes();
  }

  public Upload withMultipartUploadId(String id) {
    return new Upload(this.id, attachmentId, reportId, authorId, length, offset, objectKey, id, parts, tail,
        sha256State, status, expiresAt);
  }

  public Upload withTail(byte[] bytes) {
    return new Upload(id, attachmentId, reportId, authorId, length, offset, objectKey, multipartUploadId, parts, bytes,
        sha256State, status, expiresAt);
  }
}
