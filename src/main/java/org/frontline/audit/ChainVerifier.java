package org.frontline.audit;

import java.util.Arrays;

/**
 * Walks the chain in seq order, one entry at a time, and stops at the first broken one. Knows nothing of where the
 * entries come from (the API streams them from the pool, the command line over JDBC). Each entry's hash is
 * recomputed from its stored content; the stored hash is only compared, never trusted.
 */
public final class ChainVerifier {

  public enum Reason {
    /**
     * An entry is missing: a row was deleted (the entries after it are still linked to it), or the newest ones were
     * (the chain ends before its head).
     */
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

  /** The newest entry appended as audit_append recorded it (V148, table audit_head), read before the walk. */
  public record Head(long seq, byte[] hash) {}

  /** The outcome: how many entries were found intact, and the first broken one (null when the chain is intact). */
  public record Result(long checked, Broken firstBroken) {
    public boolean ok() {
      return firstBroken == null;
    }
  }

  private final Head head;
  private long expectedSeq = 1;
  private byte[] previousHash = AuditChain.genesis();
  private long checked;
  private Broken broken;

  /** A verifier that knows no head: the chain is checked as far as it goes. */
  public ChainVerifier() {
    this(null);
  }

  /** {@code head}: null when none was recorded (an empty log). */
  public ChainVerifier(Head head) {
    this.head = head;
  }

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
    if (head != null && e.seq() == head.seq() && !Arrays.equals(e.hash(), head.hash())) {
      broken = new Broken(e.seq(), Reason.CONTENT_CHANGED, "the chain's head recorded this entry with hash "
          + AuditChain.hex(head.hash()) + ", it has " + AuditChain.hex(e.hash()));
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

  /** The outcome once every entry was fed: a chain that ends before its head lost its newest entries. */
  public Result result() {
    if (broken == null && head != null && lastSeq() < head.seq()) {
      return new Result(checked, new Broken(expectedSeq, Reason.SEQ_GAP, "entries " + expectedSeq
          + (head.seq() > expectedSeq ? " to " + head.seq() : "") + " are missing; the chain's head is " + head.seq()));
    }
    return new Result(checked, broken);
  }
}
