package org.frontline.audit;

import java.util.Arrays;

/**
 * Walks the chain in seq order, one entry at a time, and stops at the first broken one. Knows nothing of where the
 * entries come from (the API streams them from the pool, the command line over JDBC). Each entry's hash is
 * recomputed from its stored content; the stored hash is only compared, never trusted.
 */
public final class ChainVerifier {

  public enum Reason {
    /** An entry is missing: a row was deleted (the entries after it are still linked to it). */
    SEQ_GAP("seq-gap"),
    /** prev_hash differs from the hash of the entry before (or from the genesis value for seq 1). */
    PREV_HASH_MISMATCH("prev-hash-mismatch"),
    /** The hash recomputed from the stored content differs from the stored hash: the row was changed. */
    CONTENT_CHANGED("content-changed");

    private final String code;

    Reason(String code) {
      this.code = code;
    }

    public String code() { return code; }
  }

  public record Broken(long seq, Reason reason, String detail) {}

  /** The outcome: how many entries were found intact, and the first broken one (null when the chain is intact). */
  public record Result(long checked, Broken firstBroken) {
    public boolean ok() {
      return firstBroken == null;
    }
  }

  private long expectedSeq = 1;
  private byte[] previousHash = AuditChain.genesis();
  private long checked;
  private Broken broken;

  /** Checks the next entry; returns false once the chain is broken (feed no more). */
  public boolean accept(AuditEntry e) {
    if (broken != null) {
      return false;
    }
    if (e.seq() != expectedSeq) {
      broken = e.seq() > expectedSeq
          ? new Broken(expectedSeq, Reason.SEQ_GAP, "entries " + expectedSeq + (e.seq() - 1 > expectedSeq
              ? " to " + (e.seq() - 1) : "") + " are missing; the next entry present is " + e.seq())
          : new Broken(e.seq(), Reason.SEQ_GAP, "seq " + e.seq() + " out of order after " + (expectedSeq - 1));
      return false;
    }
    if (!Arrays.equals(e.prevHash(), previousHash)) {
      broken = new Broken(e.seq(), Reason.PREV_HASH_MISMATCH, "prev_hash " + AuditChain.hex(e.prevHash())
          + " is not the hash of the entry before, " + AuditChain.hex(previousHash));
      return false;
    }
    if (!e.detailsReadable()) {
      broken = new Broken(e.seq(), Reason.CONTENT_CHANGED, "the stored details are not a JSON object");
      return false;
    }
    byte[] recomputed = AuditChain.hash(e);
    if (!Arrays.equals(recomputed, e.hash())) {
      broken = new Broken(e.seq(), Reason.CONTENT_CHANGED, "stored hash " + AuditChain.hex(e.hash())
          + ", recomputed from the content " + AuditChain.hex(recomputed));
      return false;
    }
    checked++;
    expectedSeq++;
    previousHash = e.hash();
    return true;
  }

  public long lastSeq() {
    return expectedSeq - 1;
  }

  public Result result() {
    return new Result(checked, broken);
  }
}
