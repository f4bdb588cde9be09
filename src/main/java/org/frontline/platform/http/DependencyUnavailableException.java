package org.frontline.platform.http;

/** A backing service (database, object store, push) cannot be reached; answered as 503 with Retry-After. */
public final class DependencyUnavailableException extends RuntimeException {
  private final String dependency;

  public DependencyUnavailableException(String dependency, Throwable cause) {
    super(dependency + " unavailable", cause);
    this.dependency = dependency;
  }

  public String dependency() {
    return dependency;
  }
}
