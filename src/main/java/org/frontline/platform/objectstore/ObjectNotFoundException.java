package org.frontline.platform.objectstore;

/** The key names no object. */
public final class ObjectNotFoundException extends RuntimeException {
  public ObjectNotFoundException(String key) {
    super("no object with key " + key);
  }
}
