package org.frontline.platform.objectstore;

import java.util.Objects;

/**
 * Where the media bucket lives and how to sign requests to it. {@code endpoint} is where the service reaches the
 * store; {@code publicEndpoint} is where clients reach it (the presigned URLs handed to them are signed for it).
 */
public record ObjectStoreSettings(String endpoint, String publicEndpoint, String accessKey, String secretKey,
                                  String bucket, String region) {

  public ObjectStoreSettings {
    Objects.requireNonNull(endpoint, "endpoint");
    Objects.requireNonNull(publicEndpoint, "publicEndpoint");
    Objects.requireNonNull(accessKey, "accessKey");
    Objects.requireNonNull(secretKey, "secretKey");
    Objects.requireNonNull(bucket, "bucket");
    Objects.requireNonNull(region, "region");
  }

  /** Clients reach the store where the service does. */
  public ObjectStoreSettings(String endpoint, String accessKey, String secretKey, String bucket, String region) {
    this(endpoint, endpoint, accessKey, secretKey, bucket, region);
  }

  /** Never print the secret (settings end up in logs and exception messages). */
  @Override
  public String toString() {
    return "ObjectStoreSettings[endpoint=" + endpoint + ", publicEndpoint=" + publicEndpoint + ", accessKey="
        + accessKey + ", bucket=" + bucket + ", region=" + region + "]";
  }
}
