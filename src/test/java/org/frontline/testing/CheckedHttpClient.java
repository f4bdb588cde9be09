package org.frontline.testing;

import io.vertx.core.buffer.Buffer;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import java.io.IOException;
import java.net.Authenticator;
import java.net.CookieHandler;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * A JDK HttpClient whose answers from the API are checked against the contract like those of
 * {@link TestEnvironment#client()}: for the tests that need java.net.http (tus, streamed or concurrent uploads). A
 * body read as a String or bytes is checked too; one read otherwise (discarded, streamed) is not.
 */
final class CheckedHttpClient extends HttpClient {
  private final HttpClient delegate;
  private final Supplier<ContractConformance> contract;

  CheckedHttpClient(HttpClient delegate, Supplier<ContractConformance> contract) {
    this.delegate = delegate;
    this.contract = contract;
  }

  private <T> HttpResponse<T> checked(HttpResponse<T> r) {
    ContractConformance c = contract.get();
    if (c != null) {
      URI uri = r.request().uri();
      Object body = r.body();
      Buffer buffer = body instanceof String s ? Buffer.buffer(s) : body instanceof byte[] b ? Buffer.buffer(b) : null;
      boolean read = buffer != null || body == null && "HEAD".equals(r.request().method());
      c.check(r.request().method(), uri.getRawPath() + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery()),
          r.statusCode(), name -> r.headers().firstValue(name).orElse(null), buffer, read);
    }
    return r;
  }

  @Override
  public <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler)
      throws IOException, InterruptedException {
    return checked(delegate.send(request, handler));
  }

  @Override
  public <T> CompletableFuture<HttpResponse<T>> sendAsync(HttpRequest request, HttpResponse.BodyHandler<T> handler) {
    return delegate.sendAsync(request, handler).thenApply(this::checked);
  }

  @Override
  public <T> CompletableFuture<HttpResponse<T>> sendAsync(HttpRequest request, HttpResponse.BodyHandler<T> handler,
                                                          HttpResponse.PushPromiseHandler<T> push) {
    return delegate.sendAsync(request, handler, push).thenApply(this::checked);
  }

  @Override public Optional<CookieHandler> cookieHandler() { return delegate.cookieHandler(); }
  @Override public Optional<Duration> connectTimeout() { return delegate.connectTimeout(); }
  @Override public Redirect followRedirects() { return delegate.followRedirects(); }
  @Override public Optional<ProxySelector> proxy() { return delegate.proxy(); }
  @Override public SSLContext sslContext() { return delegate.sslContext(); }
  @Override public SSLParameters sslParameters() { return delegate.sslParameters(); }
  @Override public Optional<Authenticator> authenticator() { return delegate.authenticator(); }
  @Override public Version version() { return delegate.version(); }
  @Override public Optional<Executor> executor() { return delegate.executor(); }
}
