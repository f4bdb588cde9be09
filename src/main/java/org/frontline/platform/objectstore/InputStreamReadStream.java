package org.frontline.platform.objectstore;

import io.vertx.core.AsyncResult;
import io.vertx.core.Context;
import io.vertx.core.Handler;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;

import java.io.IOException;
import java.io.InputStream;

/**
 * Exposes a blocking {@link InputStream} (an S3 response body) as a Vert.x {@link ReadStream}. Each chunk is read
 * on the worker pool and only while there is demand (pause/resume/fetch), so a slow consumer slows the download
 * instead of filling memory. Events are delivered on {@code context}. The input is closed at the end, on failure,
 * and when the data handler is removed before the end (the consumer gave up), which releases the HTTP connection.
 */
final class InputStreamReadStream implements ReadStream<Buffer> {

  private static final int CHUNK_SIZE = 64 * 1024;

  private final Context context;
  private final WorkerExecutor worker;
  private final InputStream input;

  // Guarded by this: the API may be called from any thread, reads complete on the context.
  private Handler<Buffer> handler;
  private Handler<Void> endHandler;
  private Handler<Throwable> exceptionHandler;
  private long demand = Long.MAX_VALUE;
  private boolean reading;
  private boolean done;

  InputStreamReadStream(Context context, WorkerExecutor worker, InputStream input) {
    this.context = context;
    this.worker = worker;
    this.input = input;
  }

  @Override
  public synchronized InputStreamReadStream handler(Handler<Buffer> handler) {
    this.handler = handler;
    if (handler == null) {
      close();
    } else {
      readMore();
    }
    return this;
  }

  @Override
  public synchronized InputStreamReadStream endHandler(Handler<Void> endHandler) {
    this.endHandler = endHandler;
    return this;
  }

  @Override
  public synchronized InputStreamReadStream exceptionHandler(Handler<Throwable> handler) {
    this.exceptionHandler = handler;
    return this;
  }

  @Override
  public synchronized InputStreamReadStream pause() {
    demand = 0;
    return this;
  }

  @Override
  public InputStreamReadStream resume() {
    return fetch(Long.MAX_VALUE);
  }

  @Override
  public synchronized InputStreamReadStream fetch(long amount) {
    if (amount > 0) {
      demand = Long.MAX_VALUE - demand <= amount ? Long.MAX_VALUE : demand + amount;
      readMore();
    }
    return this;
  }

  /** Starts one chunk read when there is demand and none is in flight. Caller holds the lock. */
  private void readMore() {
    if (reading || done || demand == 0 || handler == null) {
      return;
    }
    reading = true;
    // Unordered: ordered tasks of one context run one at a time, so a long download would stall every other
    // blocking call made from the same event loop.
    context.runOnContext(v -> worker.executeBlocking(this::readChunk, false).onComplete(this::deliver));
  }

  private Buffer readChunk() throws IOException {
    byte[] bytes = new byte[CHUNK_SIZE];
    int n = input.read(bytes);
    return n < 0 ? null : Buffer.buffer(n).appendBytes(bytes, 0, n);
  }

  private void deliver(AsyncResult<Buffer> result) {
    Handler<Buffer> onData;
    Handler<Void> onEnd;
    Handler<Throwable> onFailure;
    synchronized (this) {
      reading = false;
      if (done) {
        return;
      }
      if (result.failed() || result.result() == null) {
        close();
      } else if (demand != Long.MAX_VALUE) {
        demand--;
      }
      onData = handler;
      onEnd = endHandler;
      onFailure = exceptionHandler;
    }
    if (result.failed()) {
      if (onFailure != null) {
        onFailure.handle(result.cause());
      }
    } else if (result.result() == null) {
      if (onEnd != null) {
        onEnd.handle(null);
      }
    } else {
      if (onData != null) {
        onData.handle(result.result());
      }
      synchronized (this) {
        readMore();
      }
    }
  }

  /** Caller holds the lock. Closing may block briefly on the socket, so it runs on the worker pool. */
  private void close() {
    if (!done) {
      done = true;
      worker.executeBlocking(() -> {
        input.close();
        return null;
      }, false);
    }
  }
}
