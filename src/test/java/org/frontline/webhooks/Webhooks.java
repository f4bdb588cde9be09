package org.frontline.webhooks;

import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import org.frontline.testing.TestEnvironment;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.frontline.testing.TestEnvironment.await;

/** Test helpers: partner clients and tokens, reports, a webhook receiver, and an independent signature verifier. */
final class Webhooks {
  private Webhooks() {}

  static String login(TestEnvironment env, String username) {
    HttpResponse<Buffer> r = await(env.client().post("/v1/auth/login").sendJsonObject(
        new JsonObject().put("username", username).put("password", "frontline-dev")));
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    return r.bodyAsJsonObject().getString("access_token");
  }

  static HttpResponse<Buffer> call(TestEnvironment env, String token, HttpMethod method, String path, JsonObject body) {
    HttpRequest<Buffer> request = env.client().request(method, path).putHeader("Authorization", "Bearer " + token);
    return await(body == null ? request.send() : request.sendJsonObject(body));
  }

  static JsonObject ok(HttpResponse<Buffer> r, int status) {
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(status);
    return r.bodyAsJsonObject();
  }

  /** A client_secret_basic partner client registered by the province admin; the answer holds clientSecret. */
  static JsonObject client(TestEnvironment env, List<String> scopes, List<UUID> units) {
    JsonObject body = new JsonObject().put("name", "Assessment system").put("authMethod", "client_secret_basic")
        .put("scopes", new JsonArray(scopes)).put("unitIds", new JsonArray(units.stream().map(UUID::toString).toList()))
        .put("reportTypes", new JsonArray().add("SITE"));
    return ok(call(env, login(env, "admin"), HttpMethod.POST, "/v1/partner-clients", body), 201);
  }

  static String token(TestEnvironment env, JsonObject client) {
    String basic = Base64.getEncoder().encodeToString((client.getString("id") + ":" + client.getString("clientSecret"))
        .getBytes(StandardCharsets.UTF_8));
    HttpResponse<Buffer> r = await(env.client().post("/oauth2/token").putHeader("Authorization", "Basic " + basic)
        .sendForm(MultiMap.caseInsensitiveMultiMap().add("grant_type", "client_credentials")));
    return ok(r, 200).getString("access_token");
  }

  static String partner(TestEnvironment env, List<UUID> units) {
    return token(env, client(env, List.of("events:read", "webhooks:manage"), units));
  }

  static JsonObject subscribe(TestEnvironment env, String token, String url) {
    return ok(call(env, token, HttpMethod.POST, "/v1/webhooks", new JsonObject().put("url", url)
        .put("eventTypes", new JsonArray().add("report.completed"))), 201);
  }

  /** A SITE report without attachments (COMPLETE at once: one report.completed event); its id. */
  static UUID report(TestEnvironment env, String username, UUID unit) {
    return reportAs(env, login(env, username), unit);
  }

  /** {@code n} reports of one officer (one login); their ids, in order. */
  static List<UUID> reports(TestEnvironment env, String username, UUID unit, int n) {
    String token = login(env, username);
    List<UUID> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ids.add(reportAs(env, token, unit));
    }
    return ids;
  }

  private static UUID reportAs(TestEnvironment env, String token, UUID unit) {
    UUID id = UUID.randomUUID();
    JsonObject envelope = new JsonObject().put("id", id.toString()).put("type", "SITE").put("unitId", unit.toString())
        .put("capturedAt", "2026-11-20T08:30:00Z")
        .put("location", new JsonObject().put("lat", 32.0).put("lon", 121.0).put("accuracyM", 8.5)
            .put("provider", "gps").put("mock", false))
        .put("title", "Site visit").put("body", new JsonObject().put("observations", new JsonArray().add("Seen")));
    ok(call(env, token, HttpMethod.POST, "/v1/reports", envelope), 201);
    return id;
  }

  /** Polls (every 50 ms, up to 20 s) until the condition holds; false if it never did. */
  static boolean eventually(BooleanSupplier condition) throws InterruptedException {
    for (int i = 0; i < 400; i++) {
      if (condition.getAsBoolean()) {
        return true;
      }
      Thread.sleep(50);
    }
    return condition.getAsBoolean();
  }

  static long count(TestEnvironment env, String sql, Object... params) {
    return env.count(sql, params);
  }

  /** The deliveries of a subscription that meet {@code condition} (SQL over webhook_delivery's columns). */
  static long deliveries(TestEnvironment env, String subscriptionId, String condition) {
    return count(env, "SELECT count(*) FROM webhook_delivery WHERE subscription_id = ?::uuid AND " + condition,
        subscriptionId);
  }

  /** One request the receiver got. */
  record Received(String path, MultiMap headers, String body) {
    JsonObject json() {
      return new JsonObject(body);
    }
  }

  /** A small HTTP receiver on 127.0.0.1: records every request and answers {@link #status}. */
  static final class Receiver implements AutoCloseable {
    final Vertx vertx = Vertx.vertx();
    final ConcurrentLinkedQueue<Received> received = new ConcurrentLinkedQueue<>();
    final AtomicInteger status = new AtomicInteger(204);
    /** While set, requests are recorded and never answered (a receiver that hangs). */
    final java.util.concurrent.atomic.AtomicBoolean hang = new java.util.concurrent.atomic.AtomicBoolean();
    /** While set, the status is answered at once and the body never ends (a kilobyte every 100 ms). */
    final java.util.concurrent.atomic.AtomicBoolean trickle = new java.util.concurrent.atomic.AtomicBoolean();
    /** How long each answer waits (a slow receiver); 0: at once. */
    final java.util.concurrent.atomic.AtomicLong answerAfterMillis = new java.util.concurrent.atomic.AtomicLong();
    /** While set, the first request of each message (webhook-id) is answered 500, the next ones {@link #status}. */
    final java.util.concurrent.atomic.AtomicBoolean failFirst = new java.util.concurrent.atomic.AtomicBoolean();
    private final java.util.Set<String> seen = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** When each request arrived ({@link System#nanoTime}), in arrival order. */
    final ConcurrentLinkedQueue<Long> arrivals = new ConcurrentLinkedQueue<>();
    private HttpServer server;

    Receiver start(int port) {
      return start(port, null);
    }

    /** With {@code tls}: an https receiver presenting that key and certificate. */
    Receiver start(int port, io.vertx.core.net.KeyCertOptions tls) {
      io.vertx.core.http.HttpServerOptions options = new io.vertx.core.http.HttpServerOptions();
      if (tls != null) {
        options.setSsl(true).setKeyCertOptions(tls);
      }
      server = await(vertx.createHttpServer(options).requestHandler(req -> req.body().onSuccess(body -> {
        received.add(new Received(req.path(), MultiMap.caseInsensitiveMultiMap().addAll(req.headers()),
            body.toString(StandardCharsets.UTF_8)));
        arrivals.add(System.nanoTime());
        if (hang.get()) {
          return;
        }
        if (trickle.get()) {
          req.response().setChunked(true).setStatusCode(status.get()).write("x".repeat(1024));
          long timer = vertx.setPeriodic(100, id -> req.response().write("x".repeat(1024)));
          req.response().closeHandler(v -> vertx.cancelTimer(timer));
          return;
        }
        if (status.get() / 100 == 3) {
          req.response().putHeader("Location", "/elsewhere");
        }
        if (failFirst.get() && seen.add(req.getHeader("webhook-id"))) {
          req.response().setStatusCode(500).end();
          return;
        }
        long after = answerAfterMillis.get();
        if (after > 0) {
          vertx.setTimer(after, id -> req.response().setStatusCode(status.get()).end());
          return;
        }
        req.response().setStatusCode(status.get()).end();
      })).listen(port, "127.0.0.1"));
      return this;
    }

    int port() {
      return server.actualPort();
    }

    String url() {
      return "http://127.0.0.1:" + port() + "/hook";
    }

    List<Received> list() {
      return new ArrayList<>(received);
    }

    @Override
    public void close() {
      await(vertx.close());
    }
  }

  /**
   * A host that accepts TCP connections and reads what is sent, but never answers a byte: what a hung receiver (or
   * a black-holing proxy in front of it) looks like to the sender. Counts connections and records the
   * {@code webhook-id} of each request that arrived.
   */
  static final class SilentReceiver implements AutoCloseable {
    private static final java.util.regex.Pattern MESSAGE_ID =
        java.util.regex.Pattern.compile("(?im)^webhook-id:\\s*(\\S+)\\r?$");
    final Vertx vertx = Vertx.vertx();
    final AtomicInteger connections = new AtomicInteger();
    final ConcurrentLinkedQueue<String> messageIds = new ConcurrentLinkedQueue<>();
    private io.vertx.core.net.NetServer server;

    SilentReceiver start() {
      server = await(vertx.createNetServer().connectHandler(socket -> {
        connections.incrementAndGet();
        StringBuilder head = new StringBuilder();
        boolean[] seen = {false};
        socket.handler(data -> {
          if (seen[0] || head.length() > 65_536) {
            return;
          }
          head.append(data.toString(StandardCharsets.ISO_8859_1));
          java.util.regex.Matcher m = MESSAGE_ID.matcher(head);
          if (head.indexOf("\r\n\r\n") >= 0 && m.find()) {
            seen[0] = true;
            messageIds.add(m.group(1));
          }
        });
      }).listen(0, "127.0.0.1"));
      return this;
    }

    String url(String path) {
      return "http://127.0.0.1:" + server.actualPort() + path;
    }

    @Override
    public void close() {
      await(vertx.close());
    }
  }

  /**
   * The Standard Webhooks verification, written from the specification (not with the service's signer): the
   * secret is base64 after "whsec_"; the signed content is "{id}.{timestamp}.{body}"; the header lists
   * space-separated "v1,{base64 HMAC-SHA256}" signatures, any one of which may match; the timestamp must be within
   * 5 minutes. Returns how many of the listed signatures match this secret.
   */
  static int verify(String secret, Received r) throws Exception {
    String id = r.headers().get("webhook-id");
    String timestamp = r.headers().get("webhook-timestamp");
    String signatures = r.headers().get("webhook-signature");
    assertThat(id).isNotBlank();
    assertThat(Math.abs(Long.parseLong(timestamp) - System.currentTimeMillis() / 1000)).isLessThan(300);
    assertThat(secret).startsWith("whsec_");
    byte[] key = Base64.getDecoder().decode(secret.substring("whsec_".length()));
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(key, "HmacSHA256"));
    byte[] expected = mac.doFinal((id + "." + timestamp + "." + r.body()).getBytes(StandardCharsets.UTF_8));
    int matches = 0;
    for (String versioned : signatures.split(" ")) {
      String[] parts = versioned.split(",", 2);
      assertThat(parts[0]).isEqualTo("v1");
      if (MessageDigest.isEqual(expected, Base64.getDecoder().decode(parts[1]))) {
        matches++;
      }
    }
    return matches;
  }
}
