package org.frontline.media;

/** Width and height as declared by an image header (not decoded). Longs: headers can declare up to 2^32-1. */
public record Dimensions(long width, long height) {
  public long pixels() {
    return width * height;
  }
}
