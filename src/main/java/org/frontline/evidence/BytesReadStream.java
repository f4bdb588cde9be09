package org.frontline.evidence;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;

/** A read stream of one buffer already in memory (a derived copy on its way to the store). */
final class BytesReadStream implements ReadStream<Buffer> {
  private final Buffer data;
  private Handler<Buffer> handler;
  private Handler<Void> endHandler;
  private long demand = Long.MAX_VALUE;
  private boolean sent;
  private boolean ended;

  BytesReadStream(byte[] bytes) {
    this.data = Buffer.buffer(bytes);
  }

  @Override
  public synchronized ReadStream<Buffer> exceptionHandler(Handler<Throwable> h) {
    return this;
  }

  @Override
  public ReadStream<Buffer> handler(Handler<Buffer> h) {
    synchronized (this) {
      handler = h;
    }
    drain();
    return this;
  }

  @Override
  public synchronized ReadStream<Buffer> pause() {
    demand = 0;
    return this;
  }

  @Override
  public ReadStream<Buffer> resume() {
    return fetch(Long.MAX_VALUE);
  }

  @Override
  public ReadStream<Buffer> fetch(long amount) {
    synchronized (this) {
      demand = demand + amount < 0 ? Long.MAX_VALUE : demand + amount;
    }
    drain();
    return this;
  }

  @Override
  public ReadStream<Buffer> endHandler(Handler<Void> h) {
    synchronized (this) {
      endHandler = h;
    }
    drain();
    return this;
  }

  private void drain() {
    Handler<Buffer> h;
    Handler<Void> end = null;
    synchronized (this) {
      h = handler;
      if (h == null || demand <= 0) {
        return;
      }
      if (!sent) {
        sent = true;
        if (demand != Long.MAX_VALUE) {
          demand--;
        }
      } else {
        h = null;
      }
      if (!ended && endHandler != null) {
        ended = true;
        end = endHandler;
      }
    }
    if (h != null) {
      h.handle(data);
    }
    if (end != null) {
      end.handle(null);
    }
  }
}
