package org.frontline.platform.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.net.impl.ConnectionBase;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Closes an HTTP/1.1 connection whose request head (request line and header fields) has not arrived whole within
 * the deadline from its first byte. The idle timeout restarts on every byte and the request timeout
 * ({@code TimeoutHandler}) only starts once the head is complete, so a head trickled a header line at a time
 * (slowloris) held its connection open for as long as the client kept trickling. A connection with nothing sent
 * (an idle keep-alive) is left to the idle timeout.
 *
 * <p>Two handlers around Netty's request decoder: the one before it sees the bytes (the first byte outside a request
 * arms the deadline), the one after it sees the decoded request (its head cancels the deadline; its last content
 * ends it, so the next byte starts the next head). Both run on the connection's event loop.
 */
final class RequestHeadDeadline {
  private static final Logger log = LoggerFactory.getLogger(RequestHeadDeadline.class);
  /** Vert.x's name for the HTTP/1.x request decoder in a server connection's pipeline. */
  private static final String DECODER = "httpDecoder";

  private final long millis;
  /** Between a decoded request head and its last content: bytes then are its body. */
  private boolean inRequest;
  private ScheduledFuture<?> deadline;

  private RequestHeadDeadline(long millis) {
    this.millis = millis;
  }

  /** Watches {@code connection}'s request heads (HTTP/1.x; any other connection is left alone). */
  static void watch(HttpConnection connection, long millis) {
    if (!(connection instanceof ConnectionBase base)) {
      return;
    }
    ChannelPipeline pipeline = base.channel().pipeline();
    if (pipeline.get(DECODER) == null) {
      return;
    }
    RequestHeadDeadline watch = new RequestHeadDeadline(millis);
    pipeline.addBefore(DECODER, "frontlineHeadBytes", watch.new Bytes());
    pipeline.addAfter(DECODER, "frontlineHeads", watch.new Heads());
  }

  private void cancel() {
    if (deadline != null) {
      deadline.cancel(false);
      deadline = null;
    }
  }

  private final class Bytes extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (!inRequest && deadline == null) {
        deadline = ctx.executor().schedule(() -> {
          log.debug("closing {}: no complete request head within {} ms", ctx.channel().remoteAddress(), millis);
          ctx.channel().close();
        }, millis, TimeUnit.MILLISECONDS);
      }
      ctx.fireChannelRead(msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      cancel();
      ctx.fireChannelInactive();
    }
  }

  private final class Heads extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof HttpRequest) {
        cancel();
        inRequest = true;
      }
      if (msg instanceof LastHttpContent) {
        inRequest = false;
      }
      ctx.fireChannelRead(msg);
    }
  }
}
