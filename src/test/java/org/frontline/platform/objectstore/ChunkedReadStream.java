package org.frontline.platform.objectstore;

import io.vertx.core.Context;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;

/**
 * A well-behaved test source: emits {@code data} in chunks on {@code context}, honouring pause/resume/fetch, like
 * an HTTP request body of unknown length. It can stop at a limit (to stall) and can fail at a given offset.
 */
final class ChunkedReadStream implements ReadStream<Buffer> {

  private final Context context;
  private final byte[] data;
  private final int chunkSize;
  private final long failAt;
  private long limit;
  private int position;
  private long demand = Long.MAX_VALUE;
  private boolean scheduled;
  private boolean ended;
  private int pauses;
  private Handler<Buffer> handler;
  private Handler<Void> endHandler;
  private Handler<Throwable> exceptionHandler;

  ChunkedReadStream(Context context, byte[] data, int chunkSize, long failAt) {
    this.context = context;
    this.data = data;
    this.chunkSize = chunkSize;
    this.failAt = failAt;
    this.limit = data.length;
  }

  /** Emits nothing beyond {@code limit} bytes until the limit is raised. */
  synchronized ChunkedReadStream limit(long limit) {
    this.limit = limit;
    schedule();
    return this;
  }

  synchronized int pauses() {
    return pauses;
  }

  @Override
  public synchronized ChunkedReadStream handler(Handler<Buffer> handler) {
    this.handler = handler;
    schedule();
    return this;
  }

  @Override
  public synchronized ChunkedReadStream endHandler(Handler<Void> endHandler) {
    this.endHandler = endHandler;
    return this;
  }

  @Override
  public synchronized ChunkedReadStream exceptionHandler(Handler<Throwable> handler) {
    this.exceptionHandler = handler;
    return this;
  }

  @Override
  public synchronized ChunkedReadStream pause() {
    demand = 0;
    pauses++;
    return this;
  }

  @Override
  public ChunkedReadStream resume() {
    return fetch(Long.MAX_VALUE);
  }

  @Override
  public synchronized ChunkedReadStream fetch(long amount) {
    demand = Long.MAX_VALUE - demand <= amount ? Long.MAX_VALUE : demand + amount;
    schedule();
    return this;
  }

  /** Below the limit, or at the very end (the end event is not held back by a limit). */
  private boolean mayEmit() {
    return position < limit || position == data.length;
  }

  private void schedule() {
    if (!scheduled && !ended && demand > 0 && handler != null && mayEmit()) {
      scheduled = true;
      context.runOnContext(v -> emitOne());
    }
  }

  private void emitOne() {
    Buffer chunk = null;
    Handler<Buffer> onData;
    Handler<Void> onEnd = null;
    Handler<Throwable> onFailure = null;
    synchronized (this) {
      scheduled = false;
      if (ended || demand == 0 || handler == null || !mayEmit()) {
        return;
      }
      onData = handler;
      if (failAt >= 0 && position >= failAt) {
        ended = true;
        onFailure = exceptionHandler;
      } else if (position == data.length) {
        ended = true;
        onEnd = endHandler;
      } else {
        int n = Math.min(chunkSize, data.length - position);
        chunk = Buffer.buffer(n).appendBytes(data, position, n);
        position += n;
        if (demand != Long.MAX_VALUE) {
          demand--;
        }
      }
    }
    if (onFailure != null) {
      onFailure.handle(new IllegalStateException("client went away"));
    } else if (onEnd != null) {
      onEnd.handle(null);
    } else if (chunk != null) {
      onData.handle(chunk);
    }
    synchronized (this) {
      schedule();
    }
  }
}
