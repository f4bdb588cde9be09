package org.frontline.identity;

import io.vertx.pgclient.PgException;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemException;
import org.frontline.platform.http.ProblemType;

import java.util.List;
import java.util.UUID;

/** The problems the admin services answer with, worded once. */
final class AdminProblems {
  private AdminProblems() {}

  /** Missing and out of scope alike: the answer never tells them apart. */
  static ProblemException notFound(String what, UUID id) {
    return Problem.of(ProblemType.NOT_FOUND, "No " + what + " " + id + ".").toException();
  }

  /** A well-formed request that breaks a rule; {@code field} is a body pointer such as body/parentId. */
  static ProblemException unprocessable(String field, String reason) {
    return Problem.of(ProblemType.UNPROCESSABLE, reason)
        .withErrors(List.of(new Problem.FieldError(field, reason))).toException();
  }

  static ProblemException conflict(String detail) {
    return Problem.of(ProblemType.CONFLICT, detail).toException();
  }

  /** True when {@code failure} is PostgreSQL's unique violation (23505) of the named constraint or index. */
  static boolean uniqueViolation(Throwable failure, String constraint) {
    return failure instanceof PgException pg && "23505".equals(pg.getSqlState())
        && constraint.equals(pg.getConstraint());
  }
}
