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
