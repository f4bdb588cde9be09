package org.frontline.reports;

import io.vertx.core.Future;
import io.vertx.sqlclient.SqlConnection;
import org.frontline.identity.Scope;

/**
 * THE place where a report's links are checked to exist and to be in the author's scope: the milestone of a
 * MILESTONE_PROGRESS report, the enterprise and service request of an ENTERPRISE_SERVICE report. Those records do
 * not exist yet (issue 4), so only their shape is checked (by the contract); when they do, this check fails with a
 * 422 naming the field (e.g. body/body/milestoneId), inside the creating transaction.
 */
final class LinkedRecords {
  private LinkedRecords() {}

  /** Whether the envelope links other records (then it is written alone, in a transaction with its links). */
  static boolean hasLinks(Envelope envelope) {
    return hasLinks(envelope.type());
  }

  /** Whether a report of this type (as sent; anything else links nothing) links other records. */
  static boolean hasLinks(Object type) {
    return "MILESTONE_PROGRESS".equals(type) || "ENTERPRISE_SERVICE".equals(type);
  }

  static Future<Void> check(SqlConnection conn, Scope scope, Envelope envelope) {
    return Future.succeededFuture();
  }
}
