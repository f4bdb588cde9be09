package org.frontline.audit;

import io.vertx.core.Future;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

/** Verifies the whole chain, streamed in keyset batches: over the pool (the API) or over JDBC (the command line). */
public final class AuditVerification {
  private final AuditRepository repository;

  public AuditVerification(AuditRepository repository) {
    this.repository = repository;
  }

  /** The head is read first: entries appended while the chain is walked lie beyond it. */
  public Future<ChainVerifier.Result> verify() {
    return repository.head().compose(head -> next(new ChainVerifier(head)));
  }

  private Future<ChainVerifier.Result> next(ChainVerifier verifier) {
    return repository.batchAfter(verifier.lastSeq(), AuditRepository.BATCH).compose(batch -> {
      if (!feed(verifier, batch) || batch.size() < AuditRepository.BATCH) {
        return Future.succeededFuture(verifier.result());
      }
      return next(verifier);
    });
  }

  public static ChainVerifier.Result verify(Connection c) throws SQLException {
    ChainVerifier verifier = new ChainVerifier(AuditRepository.head(c));
    while (true) {
      List<AuditEntry> batch = AuditRepository.batchAfter(c, verifier.lastSeq(), AuditRepository.BATCH);
      if (!feed(verifier, batch) || batch.size() < AuditRepository.BATCH) {
        return verifier.result();
      }
    }
  }

  /** Feeds a batch; false when the chain broke within it. */
  private static boolean feed(ChainVerifier verifier, List<AuditEntry> batch) {
    for (AuditEntry e : batch) {
      if (!verifier.accept(e)) {
        return false;
      }
    }
    return true;
  }
}
