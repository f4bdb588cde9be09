package org.frontline.platform.http;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RequestBody;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.openapi.router.RouterBuilder;
import io.vertx.openapi.validation.ValidatedRequest;
import org.frontline.platform.db.Database;
import org.frontline.platform.db.Transaction;

import javax.crypto.Mac;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Base64;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * People's record-creating writes with an optional {@code Idempotency-Key} header (see {@link IdempotencyKeys}):
 * without it the write runs as ever; with it the write runs once per (account, key), its answer (status, body,
 * Location; no body for a 204) committed in the write's own transaction and replayed to a repeat. The fingerprint
 * covers the operation, the path and the body, so the same key on another operation or another record is another
 * request (422). The key is checked first: an invalid one is 400 naming {@code header/Idempotency-Key}, before the body's
 * own checks.
 */
public final class IdempotentWrites {
  /**
   * Body members holding a secret (createAccount's and resetAccountPassword's password): fingerprinted by their
   * HMAC, as the SHA-256 of a request whose every other member is known would let whoever reads
   * account_idempotency try passwords at the speed of SHA-256 rather than of Argon2id.
   */
  private static final List<String> SECRET_MEMBERS = List.of("password");

  private final Database database;
  private final IdempotencyKeys keys;
  private final Function<RoutingContext, UUID> account;
  private final SecretKeySpec secrets;

  /**
   * {@code account}: the calling account of a request (authenticated by then); {@code secret}: a key kept outside
   * the database (the key-encryption key), from which the key of the secret members' HMAC is derived.
   */
  public IdempotentWrites(Database database, Function<RoutingContext, UUID> account, SecretKey secret) {
    this.database = database;
    this.keys = IdempotencyKeys.forAccounts(database.pool());
    this.account = account;
    this.secrets = new SecretKeySpec(hmac(new SecretKeySpec(secret.getEncoded(), "HmacSHA256"),
        "frontline idempotency fingerprint of secret members"), "HmacSHA256");
  }

  /**
   * Answers {@code rc} with {@code status}, the body and (when {@code location} is given) a Location of the body.
   * {@code write} is the service call, given the transaction to run its work in.
   */
  public void answer(RoutingContext rc, String operation, int status, Function<JsonObject, String> location,
                     Function<Transaction<IdempotencyKeys.Answer>, Future<IdempotencyKeys.Answer>> write) {
    Function<JsonObject, IdempotencyKeys.Answer> answer = json -> new IdempotencyKeys.Answer(status, json,
        location == null ? null : location.apply(json));
    String raw;
    try {
      raw = IdempotencyKeys.header(rc.request());
      if (raw != null) {
        IdempotencyKeys.key(raw);
      }
    } catch (RuntimeException e) {
      rc.fail(e);
      return;
    }
    Transaction<IdempotencyKeys.Answer> transaction;
    if (raw == null) {
      transaction = work -> database.inTransaction(work).map(answer);
    } else {
      JsonObject request = fingerprinted(rc, operation, body(rc));
      UUID owner = account.apply(rc);
      transaction = work -> keys.once(owner, raw, request, conn -> work.apply(conn).map(answer));
    }
    Future<IdempotencyKeys.Answer> result;
    try {
      result = write.apply(transaction);
    } catch (RuntimeException e) {
      rc.fail(e);
      return;
    }
    result.onSuccess(a -> a.send(rc)).onFailure(rc::fail);
  }

  /**
   * The refusal answer of {@code operation} (see {@link ApiRoutes#refusalAnswers}): a request the contract or the
   * handler refused before its write ran, whose key holds the answer to this very request (operation, path, body),
   * gets that answer again ({@link IdempotencyKeys#replayOf}). The body is the one received (a refused request has
   * no validated one); a body not read, because the request's head was refused first, is no body, so such a request
   * repeats nothing stored with one.
   */
  public ApiRoutes.RefusalAnswer replayOf(String operation) {
    return keys.replayOf(account, rc -> {
      RequestBody body = rc.body();
      return fingerprinted(rc, operation, body == null || body.isEmpty() ? null : body.asJsonObject().copy());
    });
  }

  /** Refusal answers ({@link #replayOf}) for each of {@code operations}, by operationId. */
  public Map<String, ApiRoutes.RefusalAnswer> replaysOf(String... operations) {
    return Arrays.stream(operations).collect(Collectors.toMap(op -> op, this::replayOf));
  }

  /** What a write is fingerprinted by: its operation, path and body, secret members by their keyed hash. */
  private JsonObject fingerprinted(RoutingContext rc, String operation, JsonObject body) {
    for (String member : body == null ? List.<String>of() : SECRET_MEMBERS) {
      if (body.getValue(member) instanceof String secret) {
        body.put(member, "hmac-sha256:" + Base64.getEncoder().encodeToString(hmac(secrets, secret)));
      }
    }
    return new JsonObject().put("operation", operation).put("path", rc.request().path()).put("body", body);
  }

  /**
   * A copy of the request's JSON body; null for an operation that takes none (rotateSigningKeys), whatever was sent
   * with it (the contract's validation ignored it).
   */
  private static JsonObject body(RoutingContext rc) {
    ValidatedRequest validated = rc.get(RouterBuilder.KEY_META_DATA_VALIDATED_REQUEST);
    boolean hasBody = validated.getBody() != null && !validated.getBody().isNull();
    return hasBody ? rc.body().asJsonObject().copy() : null;
  }

  private static byte[] hmac(SecretKeySpec key, String value) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(key);
      return mac.doFinal(value.getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
