package org.frontline.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/**
 * Requests a test sends straight to the object store (presigned URLs), each on a connection of its own. The store
 * closes a connection after some answers (a 403 to a PUT whose body it did not want); a pooled client that picks
 * that connection again in the moment before it sees the close fails with "header parser received no bytes". A
 * phone talks to the store the same way, but a test must not depend on that race.
 */
public final class StoreHttp {
  private StoreHttp() {
  }

  public static HttpResponse<byte[]> send(String method, String url, byte[] body)
      throws IOException, InterruptedException {
    var publisher = body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body);
    // Java 17's HttpClient has no close(); an unused client and its connection go with the garbage.
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    return http.send(HttpRequest.newBuilder(URI.create(url)).method(method, publisher).build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  /** {@code body} sent chunked (Transfer-Encoding: chunked, no Content-Length). */
  public static HttpResponse<byte[]> sendChunked(String method, String url, byte[] body)
      throws IOException, InterruptedException {
    // A publisher of unknown length (-1): the client sends the body chunked.
    var publisher = HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofByteArray(body));
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    return http.send(HttpRequest.newBuilder(URI.create(url)).method(method, publisher).build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  public static HttpResponse<byte[]> get(String url) throws IOException, InterruptedException {
    return send("GET", url, null);
  }

  public static HttpResponse<byte[]> put(String url, byte[] body) throws IOException, InterruptedException {
    return send("PUT", url, body);
  }

  /** A PUT declaring {@code contentType}, as any client of a presigned URL may (the signature does not cover it). */
  public static HttpResponse<byte[]> put(String url, byte[] body, String contentType)
      throws IOException, InterruptedException {
    return put(url, body, java.util.Map.of("Content-Type", contentType));
  }

  /**
   * A PUT with headers of the client's choosing (Content-Type, Content-Disposition, Cache-Control...): the signature
   * of a presigned PUT does not cover them, and the store keeps them as the object's metadata.
   */
  public static HttpResponse<byte[]> put(String url, byte[] body, java.util.Map<String, String> headers)
      throws IOException, InterruptedException {
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url));
    headers.forEach(request::header);
    return http.send(request.PUT(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }
}
