package org.frontline.partners;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import org.frontline.identity.Caller;
import org.frontline.identity.ClientCallers;
import org.frontline.identity.Scope;
import org.frontline.identity.TokenService;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemType;

import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * A partner token's caller, read from the client as it is now (like an account's roles): a disabled client is
 * refused at once, and the grant is what both the token and the client's current grant hold (units compared as
 * subtrees), so narrowing a grant takes effect without waiting for tokens to expire. A token issued with a credential
 * removed since (its {@code sid} names the credential) is refused at once, on every instance: the same read of the
 * client probes the credential by its key.
 */
public final class PartnerCallers implements ClientCallers {
  private final Pool pool;

  public PartnerCallers(Pool pool) {
    this.pool = pool;
  }

  /**
   * The units of both the token and the client's grant now, as subtrees: where a unit of one lies in a subtree of
   * the other, the deeper of the two (a token for Hanjiang under a grant narrowed to Huaisi reads Huaisi; a token for
   * Huaisi under a grant widened to Hanjiang still reads Huaisi). Comparing ids alone took such a token's every unit.
   */
  private static final String UNITS = "ARRAY(SELECT DISTINCT CASE WHEN " + Scope.within("g.path", "t.path")
      + " THEN g.id ELSE t.id END FROM org_unit t JOIN org_unit g ON (" + Scope.within("g.path", "t.path") + ") OR ("
      + Scope.within("t.path", "g.path") + ") WHERE t.id = ANY ($2) AND g.id = ANY (c.unit_ids)) AS units";

  @Override
  public Future<Optional<Caller>> callerFor(TokenService.AccessToken token) {
    return pool.preparedQuery("SELECT c.scopes, " + UNITS + ", c.report_types, c.rate_limit_per_minute, "
            + "EXISTS (SELECT 1 FROM partner_credential k WHERE k.id = $3 AND k.removed_at IS NOT NULL) AS removed "
            + "FROM partner_client c WHERE c.id = $1 AND c.disabled_at IS NULL")
        .execute(Tuple.of(token.accountId(), (Object) token.scope().toArray(UUID[]::new), token.sessionId()))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.succeededFuture(Optional.empty());
          }
          Row r = rows.iterator().next();
          if (r.getBoolean("removed")) {
            return Future.failedFuture(new TokenService.InvalidTokenException("credential removed"));
          }
          return count(token.accountId(), r.getInteger("rate_limit_per_minute")).map(v -> Optional.of(caller(token, r)));
        });
  }

  /**
   * Counts the call in the client's current one-minute window (shared by every instance through the database);
   * beyond the client's limit the call fails with 429 and Retry-After = the seconds left in the window.
   */
  private Future<Void> count(UUID clientId, int limit) {
    return pool.preparedQuery("""
            INSERT INTO partner_rate (client_id, window_start, calls) VALUES ($1, date_trunc('minute', now()), 1)
            ON CONFLICT (client_id) DO UPDATE SET
              calls = CASE WHEN partner_rate.window_start = EXCLUDED.window_start THEN partner_rate.calls + 1 ELSE 1 END,
              window_start = EXCLUDED.window_start
            RETURNING calls, greatest(1, ceil(extract(epoch FROM window_start + interval '1 minute' - now())))::int""")
        .execute(Tuple.of(clientId))
        .compose(rows -> {
          Row r = rows.iterator().next();
          if (r.getInteger(0) <= limit) {
            return Future.succeededFuture();
          }
          String retryAfter = Integer.toString(r.getInteger(1));
          return Future.failedFuture(Problem.of(ProblemType.TOO_MANY_REQUESTS, "This client may make " + limit
                  + " calls a minute; try again in " + retryAfter + " s.")
              .withHeader("Retry-After", retryAfter).toException());
        });
  }

  private static Caller caller(TokenService.AccessToken token, Row r) {
    List<String> scopes = List.of(r.getArrayOfStrings("scopes"));
    List<String> types = List.of(r.getArrayOfStrings("report_types"));
    return new Caller(token.accountId(),
        token.client().scopes().stream().filter(scopes::contains).map(s -> Caller.PARTNER_ROLE_PREFIX + s).toList(),
        List.of(r.getArrayOfUUIDs("units")),
        new Caller.ClientGrant(token.client().reportTypes().stream().filter(types::contains).toList()));
  }
}
