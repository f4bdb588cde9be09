package org.frontline.platform.objectstore;

/** Where the media bucket lives and how to reach it. */
public record ObjectStoreSettings(String endpoint, String accessKey, String secretKey, String bucket, String region) {
  @Override
  public String toString() {
    return "ObjectStoreSettings[" + endpoint + ", bucket=" + bucket + ", region=" + region + "]";
  }
}
