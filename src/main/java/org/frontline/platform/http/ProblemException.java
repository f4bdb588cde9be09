package org.frontline.platform.http;

/** Carries a problem from anywhere in a request's chain to the one failure handler that writes it. */
public final class ProblemException extends RuntimeException {
  private final Problem problem;

  public ProblemException(Problem problem) {
    super(problem.type().name() + ": " + problem.detail(), null, false, false);
    this.problem = problem;
  }

  public Problem problem() {
    return problem;
  }
}
