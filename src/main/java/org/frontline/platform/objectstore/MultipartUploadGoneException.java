package org.frontline.platform.objectstore;

/**
 * The multipart upload no longer takes parts nor a completion (S3's NoSuchUpload): it was aborted, or it was
 * completed already (S3 and MinIO forget a completed one's id).
 */
public final class MultipartUploadGoneException extends RuntimeException {
  public MultipartUploadGoneException(String key, String uploadId) {
    super("no multipart upload " + uploadId + " of " + key + " (NoSuchUpload: aborted or completed)");
  }
}
