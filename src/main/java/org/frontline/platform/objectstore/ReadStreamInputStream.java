package org.frontline.platform.objectstore;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Turns a Vert.x {@link ReadStream} into a blocking {@link InputStream} with back-pressure: the source is paused
 * once {@code highWaterBytes} are queued and resumed when the reader has drained half of them, so memory stays
 * bounded whatever the object size. A reader never waits longer than {@code idleTimeout} for the next chunk, and
 * {@link #close()} wakes it at once, so a stalled or failed upload cannot pin a thread forever.
 *
 * <p>The source handlers run on the source's context; {@code read} runs on whatever thread the consumer uses (the
 * MinIO SDK reads on its own async threads, see {@link MinioObjectStore#put}).
 */
final class ReadStreamInputStream extends InputStream {

  private static final Object END = new Object();
  private static final Object CLOSED = new Object();

  private final ReadStream<Buffer> source;
  private final int highWaterBytes;
  private final long idleTimeoutNanos;
  /** Buffer, END, CLOSED or the Throwable the source failed with. Bounded in bytes by pausing the source. */
  private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();

  // Guarded by this: the byte count decides pause/resume, which both threads act on.
  private long queuedBytes;
  private boolean paused;
  private volatile Context sourceContext;
  private volatile boolean closed;

  // Reader-thread state only.
  private Buffer current;
  private int position;
  private boolean finished;
  private long bytesRead;

  ReadStreamInputStream(ReadStream<Buffer> source, int highWaterBytes, Duration idleTimeout) {
    this.source = source;
    this.highWaterBytes = highWaterBytes;
    this.idleTimeoutNanos = idleTimeout.toNanos();
    // Handlers are set right away (on the caller's thread) so no early chunk is missed; data handler last
    // because setting it may start the flow.
    source.exceptionHandler(failure -> queue.add(failure));
    source.endHandler(v -> queue.add(END));
    source.handler(this::onChunk);
  }

  /** Bytes handed to the reader so far. */
  long bytesRead() {
    return bytesRead;
  }

  private void onChunk(Buffer chunk) {
    if (closed) {
      return; // the put is over (failed); drop what was still in flight
    }
    sourceContext = Vertx.currentContext();
    boolean pauseNow;
    synchronized (this) {
      queuedBytes += chunk.length();
      queue.add(chunk);
      pauseNow = !paused && queuedBytes >= highWaterBytes;
      paused |= pauseNow;
    }
    if (pauseNow) {
      source.pause();
    }
  }

  private void onConsumed(int length) {
    boolean resumeNow;
    synchronized (this) {
      queuedBytes -= length;
      resumeNow = paused && queuedBytes <= highWaterBytes / 2;
      paused &= !resumeNow;
    }
    if (resumeNow) {
      // ReadStreams are not thread-safe: resume on the context the chunks arrive on.
      Context context = sourceContext;
      if (context != null) {
        context.runOnContext(v -> source.resume());
      } else {
        source.resume();
      }
    }
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] target, int offset, int length) throws IOException {
    if (length == 0) {
      return 0;
    }
    while (current == null || position == current.length()) {
      if (finished) {
        return -1;
      }
      Object next = take();
      if (next == END) {
        finished = true;
        return -1;
      }
      if (next == CLOSED) {
        throw new IOException("upload stream closed");
      }
      if (next instanceof Throwable failure) {
        throw new IOException("upload stream failed: " + failure.getMessage(), failure);
      }
      current = (Buffer) next;
      position = 0;
      onConsumed(current.length());
    }
    int n = Math.min(length, current.length() - position);
    current.getBytes(position, position + n, target, offset);
    position += n;
    bytesRead += n;
    return n;
  }

  /**
   * Waits for the next item as a ForkJoinPool managed block: the SDK reads on the common pool when it has more
   * than one thread, and a plain blocking wait there would starve every other user of the pool during slow uploads.
   */
  private Object take() throws IOException {
    var blocker = new ForkJoinPool.ManagedBlocker() {
      Object item;

      @Override
      public boolean block() throws InterruptedException {
        item = queue.poll(idleTimeoutNanos, TimeUnit.NANOSECONDS);
        return true;
      }

      @Override
      public boolean isReleasable() {
        return item != null || (item = queue.poll()) != null;
      }
    };
    try {
      ForkJoinPool.managedBlock(blocker);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while waiting for upload data", e);
    }
    if (blocker.item == null) {
      throw new IOException("no upload data for " + Duration.ofNanos(idleTimeoutNanos).toSeconds() + " s");
    }
    return blocker.item;
  }

  /**
   * Ends the bridge: wakes a waiting reader and drops further chunks. The source is left as it is (possibly
   * paused): after a failed put the owner decides, e.g. by closing the HTTP connection, rather than us draining
   * a large upload for nothing.
   */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      queue.clear();
      queue.add(CLOSED);
    }
  }
}
