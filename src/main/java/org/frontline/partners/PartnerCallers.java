package org.frontline.partners;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import org.frontline.identity.Caller;
import org.frontline.identity.ClientCallers;
import org.frontline.identity.TokenService;

import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * A partner token's caller, read from the client as it is now (like an account's roles): a disabled client is
 * refused at once, and the grant is what both the token and the client's current grant hold, so narrowing a grant
 * takes effect without waiting for tokens to expire.
 */
public final class PartnerCallers implements ClientCallers {
  private final Pool pool;

  public PartnerCallers(Pool pool) {
    this.pool = pool;
  }

  @Override
  public Future<Optional<Caller>> callerFor(TokenService.AccessToken token) {
    return pool.preparedQuery("SELECT scopes, unit_ids, report_types FROM partner_client WHERE id = $1 AND disabled_at IS NULL")
        .execute(Tuple.of(token.accountId()))
        .map(rows -> {
          if (rows.size() == 0) {
            return Optional.empty();
          }
          Row r = rows.iterator().next();
          List<String> scopes = List.of(r.getArrayOfStrings("scopes"));
          List<UUID> units = List.of(r.getArrayOfUUIDs("unit_ids"));
          List<String> types = List.of(r.getArrayOfStrings("report_types"));
          return Optional.of(new Caller(token.accountId(),
              token.client().scopes().stream().filter(scopes::contains).map(s -> Caller.PARTNER_ROLE_PREFIX + s).toList(),
              token.scope().stream().filter(units::contains).toList(),
              new Caller.ClientGrant(token.client().reportTypes().stream().filter(types::contains).toList())));
        });
  }
}
