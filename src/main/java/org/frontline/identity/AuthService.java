package org.frontline.identity;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemType;
import org.frontline.platform.http.Problems;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

/** Login (password check, throttling), and the issuing of access and refresh tokens. */
public final class AuthService {
  private static final Logger log = LoggerFactory.getLogger(AuthService.class);
  public static final Duration REFRESH_TOKEN_TTL = Duration.ofDays(30);
  public static final int MAX_FAILURES = 5;
  public static final Duration THROTTLE_WINDOW = Duration.ofMinutes(15);
  static final String WRONG_CREDENTIALS = "Wrong username or password.";
  private static final SecureRandom RANDOM = new SecureRandom();

  /** What a successful login or refresh hands out. */
  public record TokenGrant(String accessToken, long expiresIn, String refreshToken) {}

  /** A hash with the same parameters as real ones, so an unknown username costs as much time as a known one. */
  private static final class DummyHash {
    static final String VALUE = PasswordHasher.hash(UUID.randomUUID().toString());
  }

  private final Vertx vertx;
  private final TokenService tokens;
  private final IdentityRepository repository;

  public AuthService(Vertx vertx, TokenService tokens, IdentityRepository repository) {
    this.vertx = vertx;
    this.tokens = tokens;
    this.repository = repository;
    // Compute the dummy hash now, on a worker, so the first unknown-username login is not slower than the rest.
    vertx.executeBlocking(() -> DummyHash.VALUE, false);
  }

  public Future<TokenGrant> login(String givenUsername, String password, String clientAddress) {
    String username = givenUsername.trim().toLowerCase(Locale.ROOT);
    List<String> throttleKeys = List.of("account:" + username, "address:" + clientAddress);
    return repository.throttledForSeconds(throttleKeys, MAX_FAILURES, THROTTLE_WINDOW)
        .compose(wait -> {
          if (wait > 0) {
            log.info("login throttled for {} from {}", username, clientAddress);
            return Future.failedFuture(Problem.of(ProblemType.TOO_MANY_REQUESTS,
                    "Too many failed logins; try again in " + wait + " seconds.")
                .withHeader("Retry-After", Long.toString(wait)).toException());
          }
          return repository.accountByUsername(username);
        })
        .compose(account -> vertx.executeBlocking(() -> PasswordHasher.verify(password,
                account.map(IdentityRepository.LoginAccount::passwordHash).orElse(DummyHash.VALUE)), false)
            .compose(matches -> {
              if (matches && account.isPresent() && !account.get().disabled()) {
                return repository.clearThrottle(throttleKeys.get(0)).compose(v -> issue(account.get()));
              }
              log.info("failed login for {} from {}", username, clientAddress);
              return repository.recordFailure(throttleKeys, THROTTLE_WINDOW)
                  .compose(v -> Future.failedFuture(Problems.unauthorized(WRONG_CREDENTIALS).toException()));
            }));
  }

  /**
   * Rotates a refresh token, in one transaction: spends it (only one of racing callers can), and issues its
   * successor in the same family. A token that was already spent is a replay (stolen, or a client bug): the whole
   * family is revoked, and that revocation is committed even though the answer is a 401.
   */
  public Future<TokenGrant> refresh(String refreshToken) {
    byte[] hash = hash(refreshToken);
    return repository.database().<TokenGrant>inTransaction(conn -> repository.spendRefreshToken(conn, hash)
            .compose(spent -> spent.isPresent() ? rotate(conn, spent.get()) : rejectStale(conn, hash)))
        .compose(grant -> grant != null ? Future.succeededFuture(grant) : Future.failedFuture(
            Problem.of(ProblemType.INVALID_GRANT, "The refresh token is not valid; log in again.").toException()));
  }

  /** Revokes the family of the caller's refresh token (logout). Unknown or foreign tokens change nothing. */
  public Future<Void> logout(UUID accountId, String refreshToken) {
    return repository.revokeFamilyOf(hash(refreshToken), accountId)
        .onSuccess(n -> log.info("logout of {}: {} refresh tokens revoked", accountId, n))
        .mapEmpty();
  }

  /** The successor of a just-spent token, or null (no grant) when the account was disabled meanwhile. */
  private Future<TokenGrant> rotate(io.vertx.sqlclient.SqlConnection conn, IdentityRepository.RefreshRow spent) {
    return repository.accountById(conn, spent.accountId()).compose(account -> {
      if (account.isEmpty() || account.get().disabled()) {
        return repository.revokeFamily(conn, spent.familyId()).map(n -> (TokenGrant) null);
      }
      String next = newRefreshToken();
      var a = account.get();
      return repository.insertRefreshToken(conn, a.id(), spent.familyId(), hash(next), REFRESH_TOKEN_TTL)
          .map(v -> new TokenGrant(tokens.issue(a.id(), a.roles(), a.scope()),
              TokenService.ACCESS_TOKEN_TTL.toSeconds(), next));
    });
  }

  /** No grant for a token that could not be spent; a spent one is a replay and revokes its family. */
  private Future<TokenGrant> rejectStale(io.vertx.sqlclient.SqlConnection conn, byte[] hash) {
    return repository.findRefreshToken(conn, hash).compose(row -> {
      if (row.isPresent() && row.get().used()) {
        return repository.revokeFamily(conn, row.get().familyId()).map(n -> {
          log.warn("refresh token reuse by account {}: family {} revoked ({} tokens)", row.get().accountId(),
              row.get().familyId(), n);
          return (TokenGrant) null;
        });
      }
      return Future.succeededFuture(null);
    });
  }

  /** A new token family: the first refresh token of a login, and an access token. */
  private Future<TokenGrant> issue(IdentityRepository.LoginAccount account) {
    String refresh = newRefreshToken();
    return repository.insertRefreshToken(repository.database().pool(), account.id(), UUID.randomUUID(),
            hash(refresh), REFRESH_TOKEN_TTL)
        .map(v -> new TokenGrant(tokens.issue(account.id(), account.roles(), account.scope()),
            TokenService.ACCESS_TOKEN_TTL.toSeconds(), refresh));
  }

  static String newRefreshToken() {
    byte[] bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  static byte[] hash(String refreshToken) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(refreshToken.getBytes(StandardCharsets.US_ASCII));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
