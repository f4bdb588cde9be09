package org.frontline.platform.objectstore;

import java.util.Objects;

/** Where the media bucket lives and how to sign requests to it. */
public record ObjectStoreSettings(String endpoint, String accessKey, String secretKey, String bucket, String region) {

  public ObjectStoreSettings {
    Objects.requireNonNull(endpoint, "endpoint");
    Objects.requireNonNull(accessKey, "accessKey");
    Objects.requireNonNull(secretKey, "secretKey");
    Objects.requireNonNull(bucket, "bucket");
    Objects.requireNonNull(region, "region");
  }

  /** Never print the secret (settings end up in logs and exception messages). */
  @Override
  public String toString() {
    return "ObjectStoreSettings[endpoint=" + endpoint + ", accessKey=" + accessKey + ", bucket=" + bucket
        + ", region=" + region + "]";
  }
}
