package org.frontline.identity;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.SqlClient;
import org.frontline.audit.AuditEvent;
import org.frontline.audit.AuditEvent.Outcome;
import org.frontline.audit.AuditLog;
import org.frontline.platform.http.AddressKeys;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemType;
import org.frontline.platform.http.Problems;
import org.frontline.platform.http.RequestIds;
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
  /** Attempts on one account per window (a password guessed). */
  public static final int MAX_FAILURES = 5;
  /**
   * Attempts from one client address per window (passwords sprayed over accounts). Higher than an account's: an
   * office's officers share one address behind its NAT, and attempts count before their password is checked, so
   * logins at once all count until they succeed.
   */
  public static final int MAX_ADDRESS_FAILURES = 20;
  public static final Duration THROTTLE_WINDOW = Duration.ofMinutes(15);
  static final String WRONG_CREDENTIALS = "Wrong username or password.";
  static final String TOO_MANY_CHECKS = "Too many logins are being checked at once; try again shortly.";
  private static final SecureRandom RANDOM = new SecureRandom();

  /** What a successful login or refresh hands out. */
  public record TokenGrant(String accessToken, long expiresIn, String refreshToken) {}

  /** A hash with the same parameters as real ones, so an unknown username costs as much time as a known one. */
  private static final class DummyHash {
    static final String VALUE = PasswordHasher.hash(UUID.randomUUID().toString());
  }

  private final TokenService tokens;
  private final IdentityRepository repository;
  private final AuditLog audit;
  private final RefusalAudit refusals;
  private final PasswordChecks checks;

  /**
   * {@code refusals}: where throttled logins go on record (anyone can send them at line rate); {@code checks}: where
   * passwords are checked, a bounded number at once.
   */
  public AuthService(TokenService tokens, IdentityRepository repository, AuditLog audit,
                     RefusalAudit refusals, PasswordChecks checks) {
    this.tokens = tokens;
    this.repository = repository;
    this.audit = audit;
    this.refusals = refusals;
    this.checks = checks;
    // Compute the dummy hash now, on a worker, so the first unknown-username login is not slower than the rest.
    checks.run(() -> DummyHash.VALUE);
  }

  /**
   * Checks the password and opens a token family. Every outcome is audited: a success with the new family, a failure
   * (with the username tried, never the password) and a throttled attempt; failures are written in a transaction
   * of their own, so they stay although the answer is an error. Throttled attempts of one address go through
   * {@link RefusalAudit}: the first of an interval is audited, the rest counted into one summary entry.
   */
  public Future<TokenGrant> login(String givenUsername, String password, String clientAddress) {
    String requestId = RequestIds.current();
    String username = givenUsername.trim().toLowerCase(Locale.ROOT);
    List<String> throttleKeys = List.of("account:" + username, "address:" + AddressKeys.of(clientAddress));
    // The attempt is counted before the password is checked, so guesses sent at once cannot all pass the limit.
    return repository.reserveAttempt(throttleKeys, List.of(MAX_FAILURES, MAX_ADDRESS_FAILURES), THROTTLE_WINDOW)
        .compose(wait -> {
          if (wait > 0) {
            return refusals.refused(new AuditEvent(null, username, "auth.login.throttled", null, null, null,
                    clientAddress, requestId, Outcome.DENIED, new JsonObject().put("retryAfterSeconds", wait)),
                    "throttled")
                .compose(v -> Future.failedFuture(Problem.of(ProblemType.TOO_MANY_REQUESTS,
                        "Too many failed logins; try again in " + wait + " seconds.")
                    .withHeader("Retry-After", Long.toString(wait)).toException()));
          }
          return repository.accountByUsername(username);
        })
        .compose(account -> checks.admit(() -> PasswordHasher.verify(password,
                account.map(IdentityRepository.LoginAccount::passwordHash).orElse(DummyHash.VALUE)))
            .recover(e -> e instanceof PasswordChecks.Full ? notChecked(throttleKeys) : Future.failedFuture(e))
            .compose(matches -> {
              if (matches && account.isPresent() && !account.get().disabled()) {
                return repository.clearThrottle(throttleKeys.get(0))
                    .compose(v -> repository.refundAttempt(throttleKeys.get(1)))
                    .compose(v -> issue(account.get(), clientAddress, requestId))
                    .compose(grant -> grant != null ? Future.succeededFuture(grant)
                        : failed(username, account.get(), "sessions-ended", clientAddress, requestId));
              }
              String reason = account.isEmpty() ? "unknown-account"
                  : account.get().disabled() ? "account-disabled" : "wrong-password";
              return failed(username, account.orElse(null), reason, clientAddress, requestId);
            }));
  }

  /** A failed login ({@code known}: the account, when there is one): audited, then the one 401. */
  private Future<TokenGrant> failed(String username, IdentityRepository.LoginAccount known, String reason,
                                    String clientAddress, String requestId) {
    log.info("failed login for {} from {} ({})", username, clientAddress, reason);
    return audit.record(pool(), new AuditEvent(null, username, "auth.login.failed",
            known == null ? null : "account", known == null ? null : known.id().toString(),
            known == null ? null : known.homeUnitId(), clientAddress, requestId, Outcome.FAILURE,
            new JsonObject().put("reason", reason)))
        .compose(v -> Future.failedFuture(Problems.unauthorized(WRONG_CREDENTIALS).toException()));
  }

  /**
   * A login whose password could not be checked now (as many checks as allowed under way): its attempt is given back
   * to both counters, as nothing was tried, and the answer is 503 with Retry-After. Not logged, nor audited: a flood
   * would write a line per request.
   */
  private Future<Boolean> notChecked(List<String> throttleKeys) {
    return repository.refundAttempt(throttleKeys.get(0))
        .compose(v -> repository.refundAttempt(throttleKeys.get(1)))
        .compose(v -> Future.failedFuture(Problem.of(ProblemType.DEPENDENCY_UNAVAILABLE, TOO_MANY_CHECKS)
            .withHeader("Retry-After", Problems.RETRY_AFTER_SECONDS).toException()));
  }

  /**
   * Rotates a refresh token, in one transaction: spends it (only one of racing callers can), and issues its
   * successor in the same family. A token that was already spent is a replay (stolen, or a client bug): the whole
   * family is revoked, and that revocation is committed even though the answer is a 401; the family's session ends
   * with it, so its access tokens (the thief's included) are refused from then on.
   */
  public Future<TokenGrant> refresh(String refreshToken) {
    return refresh(refreshToken, null);
  }

  /** As {@link #refresh(String)}; the client address goes into the audit entry of a detected reuse. */
  public Future<TokenGrant> refresh(String refreshToken, String clientAddress) {
    String requestId = RequestIds.current();
    byte[] hash = hash(refreshToken);
    // The account is locked (shared) before the token is spent, as a reset or a disable locks it before it revokes:
    // spending first, then waiting for the account (the successor's foreign key), deadlocked with a reset.
    return repository.database().<Refreshed>inTransaction(conn -> repository.lockAccountOf(conn, hash)
            .compose(v -> repository.spendRefreshToken(conn, hash))
            .compose(spent -> spent.isPresent() ? rotate(conn, spent.get()).map(grant -> new Refreshed(grant, null))
                : rejectStale(conn, hash, clientAddress, requestId).map(ended -> new Refreshed(null, ended))))
        .compose(refreshed -> {
          if (refreshed.endedSession() != null) {
            repository.endedHere(refreshed.endedSession());
          }
          return refreshed.grant() != null ? Future.succeededFuture(refreshed.grant()) : Future.failedFuture(
              Problem.of(ProblemType.INVALID_GRANT, "The refresh token is not valid; log in again.").toException());
        });
  }

  /** A refresh's outcome: its grant (null: refused), and the session a reuse ended (null: none). */
  private record Refreshed(TokenGrant grant, UUID endedSession) {}

  /**
   * Ends the session of the caller's refresh token (logout): revokes its family, whose access tokens (their
   * {@code sid}) are refused from then on. Unknown or foreign tokens change nothing.
   */
  public Future<Void> logout(UUID accountId, String refreshToken) {
    return logout(accountId, refreshToken, null);
  }

  /**
   * As {@link #logout(UUID, String)}, audited (with the number of tokens revoked) in the same transaction. The
   * session is refused on this instance before the answer; other instances hear of it at commit (V193).
   */
  public Future<Void> logout(UUID accountId, String refreshToken, String clientAddress) {
    String requestId = RequestIds.current();
    return repository.database().inTransaction(conn -> repository.revokeFamilyOf(conn, hash(refreshToken), accountId)
        .compose(revoked -> repository.accountById(conn, accountId).compose(account -> audit.record(conn,
            new AuditEvent(accountId, account.map(IdentityRepository.LoginAccount::username).orElse(null),
                "auth.logout", "account", accountId.toString(),
                account.map(IdentityRepository.LoginAccount::homeUnitId).orElse(null), clientAddress, requestId,
                Outcome.SUCCESS, new JsonObject().put("revokedTokens", revoked.tokens()))))
            .map(v -> revoked)))
        .map(revoked -> {
          log.info("logout of {}: {} refresh tokens revoked", accountId, revoked.tokens());
          if (revoked.familyId() != null) {
            repository.endedHere(revoked.familyId());
          }
          return null;
        });
  }

  /**
   * The successor of a just-spent token, or null (no grant) when the account was disabled meanwhile (a refresh racing
   * the disabling, whose revocation did not see the token): the family is revoked, and the token left unspent, as it
   * was not rotated.
   */
  private Future<TokenGrant> rotate(io.vertx.sqlclient.SqlConnection conn, IdentityRepository.RefreshRow spent) {
    return repository.accountById(conn, spent.accountId()).compose(account -> {
      if (account.isEmpty() || account.get().disabled()) {
        return repository.unspend(conn, spent.id())
            .compose(v -> repository.revokeFamily(conn, spent.familyId()))
            .map(n -> (TokenGrant) null);
      }
      String next = newRefreshToken();
      var a = account.get();
      return repository.insertRefreshToken(conn, a.id(), spent.familyId(), hash(next), REFRESH_TOKEN_TTL)
          .map(v -> new TokenGrant(tokens.issue(a.id(), a.roles(), a.scope(), spent.familyId()),
              TokenService.ACCESS_TOKEN_TTL.toSeconds(), next));
    });
  }

  /**
   * No grant for a token that could not be spent; a spent one is a replay and revokes its family, ending its
   * session: answers that session, or null.
   */
  private Future<UUID> rejectStale(io.vertx.sqlclient.SqlConnection conn, byte[] hash, String clientAddress,
                                   String requestId) {
    return repository.findRefreshToken(conn, hash).compose(row -> {
      if (row.isPresent() && row.get().used()) {
        var reused = row.get();
        return repository.revokeFamily(conn, reused.familyId()).compose(n -> {
          log.warn("refresh token reuse by account {}: family {} revoked ({} tokens)", reused.accountId(),
              reused.familyId(), n);
          // Audited in the refresh transaction, which commits: the revocation and its entry stay together.
          return repository.accountById(conn, reused.accountId()).compose(account -> audit.record(conn,
              new AuditEvent(reused.accountId(), account.map(IdentityRepository.LoginAccount::username).orElse(null),
                  "auth.refresh.reuse-detected", "refresh-token-family", reused.familyId().toString(),
                  account.map(IdentityRepository.LoginAccount::homeUnitId).orElse(null), clientAddress, requestId,
                  Outcome.DENIED, new JsonObject().put("revokedTokens", n))));
        }).map(v -> reused.familyId());
      }
      return Future.succeededFuture(null);
    });
  }

  /**
   * A new token family for the account whose password was verified ({@code verified}, as read before): the first
   * refresh token of a login, and an access token; or null when the account's sessions were ended meanwhile. The
   * account is locked (shared) and read again first: a password reset or a disable holds its row until it commits,
   * so a login that checked the old password while one ran waits for it here and then finds the password changed
   * (or the account disabled). Before, its refresh token was written just after the reset had revoked every one.
   */
  private Future<TokenGrant> issue(IdentityRepository.LoginAccount verified, String clientAddress,
                                    String requestId) {
    String refresh = newRefreshToken();
    UUID family = UUID.randomUUID();
    return repository.database().inTransaction(conn -> repository.lockForSession(conn, verified.id())
        .compose(now -> {
          if (now.isEmpty() || now.get().disabled() || !now.get().passwordHash().equals(verified.passwordHash())) {
            return Future.succeededFuture((TokenGrant) null);
          }
          var account = now.get();
          return repository.insertRefreshToken(conn, account.id(), family, hash(refresh), REFRESH_TOKEN_TTL)
              .compose(v -> audit.record(conn, new AuditEvent(account.id(), account.username(), "auth.login",
                  "account", account.id().toString(), account.homeUnitId(), clientAddress, requestId,
                  Outcome.SUCCESS, new JsonObject().put("tokenFamily", family.toString()))))
              .map(v -> new TokenGrant(tokens.issue(account.id(), account.roles(), account.scope(), family),
                  TokenService.ACCESS_TOKEN_TTL.toSeconds(), refresh));
        }));
  }

  private SqlClient pool() {
    return repository.database().pool();
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
