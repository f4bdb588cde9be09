package org.frontline.partners;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import org.frontline.identity.Actor;
import org.frontline.identity.AdminAudit;
import org.frontline.identity.Scope;
import org.frontline.platform.db.Database;
import org.frontline.platform.http.Problem;
import org.frontline.platform.http.ProblemException;
import org.frontline.platform.http.ProblemType;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * Partner clients, managed by admins: create (with the first credential), read, add a credential (rotation with
 * overlap: the old ones keep working until removed or expired), remove a credential, disable. Every change is
 * audited in its transaction. An admin sees (and manages) a client only when every granted unit lies in the admin's
 * scope; any other is 404, like a missing one, and a grant can never exceed the granting admin's scope.
 */
public final class PartnerClientService {
  static final String SECRET_BASIC = "client_secret_basic";
  static final String PRIVATE_KEY_JWT = "private_key_jwt";
  /** Partner API calls a client may make per minute unless its registration says otherwise. */
  static final int DEFAULT_RATE_LIMIT = 600;
  private static final SecureRandom RANDOM = new SecureRandom();
  /** Up to 30 days of overlap for the credentials a rotation supersedes. */
  private static final long MAX_OVERLAP_SECONDS = 30L * 24 * 3600;

  /** Client c may be managed by an admin whose scope ($1) holds every unit it grants (webhooks use it too). */
  public static final String MANAGEABLE = "NOT EXISTS (SELECT 1 FROM unnest(c.unit_ids) AS g(unit_id) WHERE NOT "
      + Scope.sqlForUnitId("g.unit_id", 1) + ")";

  private final Database database;
  private final AdminAudit audit;
  public PartnerClientService(Database database, AdminAudit audit) {
    this.database = database;
    this.audit = audit;
  }

  /** The new client as JSON; {@code clientSecret} is in this answer only (client_secret_basic). */
  public Future<JsonObject> create(Actor actor, JsonObject body) {
    UUID id = UUID.randomUUID();
    String method = body.getString("authMethod");
    List<UUID> units = body.getJsonArray("unitIds").stream().map(u -> UUID.fromString((String) u)).distinct().toList();
    List<String> scopes = distinct(body.getJsonArray("scopes"));
    List<String> types = distinct(body.getJsonArray("reportTypes"));
    List<PartnerKeys.Key> keys;
    try {
      keys = method.equals(PRIVATE_KEY_JWT) ? keys(body.getJsonObject("jwks"), "body/jwks") : List.of();
    } catch (ProblemException e) {
      return Future.failedFuture(e);
    }
    if (method.equals(PRIVATE_KEY_JWT) && keys.isEmpty()) {
      return Future.failedFuture(unprocessable("body/jwks", "A private_key_jwt client needs its public keys (jwks)."));
    }
    if (method.equals(SECRET_BASIC) && body.containsKey("jwks")) {
      return Future.failedFuture(unprocessable("body/jwks", "A client_secret_basic client has no keys."));
    }
    String secret = method.equals(SECRET_BASIC) ? newSecret() : null;
    return database.inTransaction(conn -> actor.scope(conn)
        .compose(scope -> unitsInScope(conn, scope, units, body.getJsonArray("unitIds")))
        .compose(v -> conn.preparedQuery("INSERT INTO partner_client (id, name, auth_method, scopes, unit_ids, "
                + "report_types, created_by, rate_limit_per_minute) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .execute(Tuple.from(java.util.Arrays.asList(id, body.getString("name"), method, scopes.toArray(String[]::new),
                units.toArray(UUID[]::new), types.toArray(String[]::new), actor.accountId(),
                body.getInteger("rateLimitPerMinute", DEFAULT_RATE_LIMIT)))))
        .compose(v -> secret != null ? insertSecret(conn, id, secret).mapEmpty() : insertKeys(conn, id, keys))
        .compose(v -> audit.success(conn, actor, "partner-client.create", "partner_client", id, null,
            new JsonObject().put("name", body.getString("name")).put("authMethod", method)
                .put("scopes", new JsonArray(scopes)).put("unitIds", new JsonArray(units.stream().map(UUID::toString).toList()))
                .put("reportTypes", new JsonArray(types))))
        .compose(v -> read(conn, id)))
        .map(json -> secret == null ? json : json.put("clientSecret", secret));
  }

  /** The clients the actor may manage, newest first (keyset pages on (created_at, id)). */
  public Future<JsonObject> list(Actor actor, String cursor, Integer limit) {
    String after = org.frontline.identity.Page.decode(cursor, org.frontline.identity.Page.TimeId::valid);
    org.frontline.identity.Page.TimeId last = after == null ? null : org.frontline.identity.Page.TimeId.parse(after);
    int size = org.frontline.identity.Page.limit(limit);
    return database.inTransaction(conn -> actor.scope(conn)
        .compose(scope -> conn.preparedQuery("SELECT c.id, c.created_at FROM partner_client c WHERE " + MANAGEABLE
                + " AND ($2::timestamptz IS NULL OR (c.created_at, c.id) < ($2, $3)) "
                + "ORDER BY c.created_at DESC, c.id DESC LIMIT $4")
            .execute(Tuple.of(scope.paths(), last == null ? null : last.at(), last == null ? null : last.id(), size + 1)))
        .compose(rows -> {
          List<Row> list = new ArrayList<>();
          rows.forEach(list::add);
          var page = org.frontline.identity.Page.of(list, size, r -> org.frontline.identity.Page.TimeId.key(r.getOffsetDateTime("created_at"), r.getUUID("id")));
          Future<List<JsonObject>> items = Future.succeededFuture(new ArrayList<>());
          for (Row r : page.items()) {
            items = items.compose(acc -> read(conn, r.getUUID("id")).map(json -> {
              acc.add(json);
              return acc;
            }));
          }
          return items.map(acc -> new JsonObject().put("items", new JsonArray(acc)).put("nextCursor", page.nextCursor()));
        }));
  }

  public Future<JsonObject> get(Actor actor, UUID id) {
    return database.inTransaction(conn -> visible(conn, actor, id).compose(v -> read(conn, id)));
  }

  /**
   * Adds a credential: a new generated secret (client_secret_basic; shown in this answer only) or the given
   * {@code jwk} (private_key_jwt). With {@code previousExpireInSeconds}, every other live credential stops working
   * that many seconds from now (the overlap); without it they work until removed.
   */
  public Future<JsonObject> addCredential(Actor actor, UUID id, JsonObject body) {
    Long overlap = body.getLong("previousExpireInSeconds");
    if (overlap != null && (overlap < 0 || overlap > MAX_OVERLAP_SECONDS)) {
      return Future.failedFuture(unprocessable("body/previousExpireInSeconds", "From 0 to " + MAX_OVERLAP_SECONDS + " seconds."));
    }
    return database.inTransaction(conn -> visible(conn, actor, id).compose(method -> {
      String secret = method.equals(SECRET_BASIC) ? newSecret() : null;
      Future<UUID> added;
      if (secret != null) {
        if (body.containsKey("jwk")) {
          return Future.failedFuture(unprocessable("body/jwk", "A client_secret_basic client has no keys."));
        }
        added = insertSecret(conn, id, secret);
      } else {
        JsonObject jwk = body.getJsonObject("jwk");
        if (jwk == null) {
          return Future.failedFuture(unprocessable("body/jwk", "A private_key_jwt client's new credential is a public key (jwk)."));
        }
        PartnerKeys.Key key;
        try {
          key = PartnerKeys.parse(jwk);
        } catch (PartnerKeys.InvalidKeyException e) {
          return Future.failedFuture(unprocessable("body/jwk", e.getMessage()));
        }
        added = insertKey(conn, id, key).recover(e -> Future.failedFuture(
            e instanceof io.vertx.pgclient.PgException pg && "23505".equals(pg.getSqlState())
                ? unprocessable("body/jwk/kid", "The client already has a live key with this kid.") : e));
      }
      return added
          .compose(credentialId -> (overlap == null ? Future.<Void>succeededFuture()
              : conn.preparedQuery("UPDATE partner_credential SET expires_at = least(coalesce(expires_at, 'infinity'), "
                      + "now() + make_interval(secs => $3)) WHERE client_id = $1 AND id <> $2 AND removed_at IS NULL")
                  .execute(Tuple.of(id, credentialId, overlap)).<Void>mapEmpty())
              .compose(v -> audit.success(conn, actor, "partner-client.credential.add", "partner_client", id, null,
                  new JsonObject().put("credentialId", credentialId.toString()).put("previousExpireInSeconds", overlap)))
              .compose(v -> read(conn, id))
              .map(json -> json.put("addedCredentialId", credentialId.toString())))
          .map(json -> secret == null ? json : json.put("clientSecret", secret));
    }));
  }

  /**
   * Removes a credential at once, and ends every access token issued with it (their {@code sid}): refused from the
   * next request on, on every instance ({@link PartnerCallers} reads the credential with the client). The client's
   * last live credential cannot be removed (disable the client instead).
   */
  public Future<JsonObject> removeCredential(Actor actor, UUID id, UUID credentialId) {
    return database.inTransaction(conn -> visible(conn, actor, id)
        .compose(method -> conn.preparedQuery("SELECT id FROM partner_credential WHERE client_id = $1 AND removed_at IS NULL "
                + "AND (expires_at IS NULL OR expires_at > now()) ORDER BY id FOR UPDATE")
            .execute(Tuple.of(id)))
        .compose(live -> {
          List<UUID> ids = new ArrayList<>();
          live.forEach(r -> ids.add(r.getUUID(0)));
          return conn.preparedQuery("UPDATE partner_credential SET removed_at = now() WHERE id = $1 AND client_id = $2 "
                  + "AND removed_at IS NULL").execute(Tuple.of(credentialId, id))
              .compose(rows -> {
                if (rows.rowCount() == 0) {
                  return Future.failedFuture(Problem.of(ProblemType.NOT_FOUND, "No live credential " + credentialId
                      + " of this client.").toException());
                }
                if (ids.size() == 1 && ids.contains(credentialId)) {
                  return Future.failedFuture(Problem.of(ProblemType.CONFLICT, "This is the client's last working "
                      + "credential: add a new one first, or disable the client.").toException());
                }
                return audit.success(conn, actor, "partner-client.credential.remove", "partner_client", id, null,
                    new JsonObject().put("credentialId", credentialId.toString()).put("tokensEnded", true));
              });
        })
        .compose(v -> read(conn, id)));
  }

  /**
   * Replaces the client's grant (scopes, units, report types), audited with the grant before and after. The admin
   * must manage the client as it is (else 404) and every new unit must lie in the admin's scope (else 422). A
   * narrower grant acts at once on tokens already issued (PartnerCallers intersects a token with the grant as it is
   * now); a wider one only on tokens issued after the change.
   */
  public Future<JsonObject> changeGrant(Actor actor, UUID id, JsonObject body) {
    List<UUID> units = body.getJsonArray("unitIds").stream().map(u -> UUID.fromString((String) u)).distinct().toList();
    List<String> scopes = distinct(body.getJsonArray("scopes"));
    List<String> types = distinct(body.getJsonArray("reportTypes"));
    return database.inTransaction(conn -> visible(conn, actor, id)
        .compose(v -> read(conn, id))
        .compose(before -> actor.scope(conn)
            .compose(scope -> unitsInScope(conn, scope, units, body.getJsonArray("unitIds")))
            .compose(v -> conn.preparedQuery("UPDATE partner_client SET scopes = $2, unit_ids = $3, report_types = $4 "
                    + "WHERE id = $1")
                .execute(Tuple.of(id, scopes.toArray(String[]::new), units.toArray(UUID[]::new),
                    types.toArray(String[]::new))))
            .compose(v -> audit.success(conn, actor, "partner-client.grant.change", "partner_client", id, null,
                new JsonObject()
                    .put("before", new JsonObject().put("scopes", before.getJsonArray("scopes"))
                        .put("unitIds", before.getJsonArray("unitIds")).put("reportTypes", before.getJsonArray("reportTypes")))
                    .put("after", new JsonObject().put("scopes", new JsonArray(scopes))
                        .put("unitIds", new JsonArray(units.stream().map(UUID::toString).toList()))
                        .put("reportTypes", new JsonArray(types))))))
        .compose(v -> read(conn, id)));
  }

  /** Disables the client: no new token, and its tokens are refused at once (the client is read per request). */
  public Future<JsonObject> disable(Actor actor, UUID id) {
    return database.inTransaction(conn -> visible(conn, actor, id)
        .compose(v -> conn.preparedQuery("UPDATE partner_client SET disabled_at = now() WHERE id = $1 AND disabled_at IS NULL")
            .execute(Tuple.of(id)))
        .compose(rows -> rows.rowCount() == 0 ? Future.<Void>succeededFuture()
            : audit.success(conn, actor, "partner-client.disable", "partner_client", id, null, null))
        .compose(v -> read(conn, id)));
  }

  /**
   * The client's auth method when the actor may manage it; 404 otherwise. Locks the client row first, by key in a
   * statement of its own, then reads the scope and judges the client: the lock in one statement with the check
   * re-ran the check, after a wait (another admin's change of the client), against the units as they were when the
   * statement began (a granted unit moved out of the scope meanwhile still passed), and a scope read before the lock
   * misses a move committed during the wait.
   */
  private Future<String> visible(SqlClient conn, Actor actor, UUID id) {
    return actor.scopeAfterLocking(conn, "partner_client", id)
        .compose(scope -> conn.preparedQuery("SELECT c.auth_method FROM partner_client c WHERE " + MANAGEABLE
                + " AND c.id = $2")
            .execute(Tuple.of(scope.paths(), id)))
        .compose(rows -> rows.size() == 0
            ? Future.failedFuture(Problem.of(ProblemType.NOT_FOUND, "No partner client " + id + ".").toException())
            : Future.succeededFuture(rows.iterator().next().getString(0)));
  }

  /**
   * 422 naming the first unit outside the scope by its index in the body's {@code requested} list (the distinct
   * {@code units} lose the index of every unit behind a repeated one). The units are locked first (key share, as a
   * foreign key would): a unit's delete, which locks its row and then looks for grants naming it, either finishes
   * before (the unit is then gone, 422) or sees this grant once it commits (409), never leaves it naming no unit.
   */
  private static Future<Void> unitsInScope(SqlClient conn, Scope scope, List<UUID> units, JsonArray requested) {
    return conn.preparedQuery("SELECT id FROM org_unit WHERE id = ANY($1) ORDER BY id FOR KEY SHARE")
        .execute(Tuple.of(units.toArray(UUID[]::new)))
        .compose(locked -> conn.preparedQuery("SELECT u.id FROM unnest($1::uuid[]) AS u(id) WHERE NOT "
                + Scope.sqlForUnitId("u.id", 2))
            .execute(Tuple.of(units.toArray(UUID[]::new), (Object) scope.paths())))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.succeededFuture();
          }
          UUID outside = rows.iterator().next().getUUID(0);
          int index = 0;
          while (!UUID.fromString(requested.getString(index)).equals(outside)) {
            index++;
          }
          return Future.failedFuture(unprocessable("body/unitIds/" + index,
              "No unit " + outside + " in your scope: a grant cannot exceed it."));
        });
  }

  private static Future<UUID> insertSecret(SqlClient conn, UUID clientId, String secret) {
    UUID id = UUID.randomUUID();
    return conn.preparedQuery("INSERT INTO partner_credential (id, client_id, kind, secret_sha256) VALUES ($1, $2, 'secret', $3)")
        .execute(Tuple.of(id, clientId, io.vertx.core.buffer.Buffer.buffer(sha256(secret)))).map(id);
  }

  private static Future<Void> insertKeys(SqlClient conn, UUID clientId, List<PartnerKeys.Key> keys) {
    Future<Void> chain = Future.succeededFuture();
    for (PartnerKeys.Key key : keys) {
      chain = chain.compose(v -> insertKey(conn, clientId, key).mapEmpty());
    }
    return chain;
  }

  /**
   * Adds a key. An expired key of the same kid (a rotation's overlap has ended) is marked removed as of its expiry
   * first: it works no more and is no longer listed, yet it held the kid in the live-kid index, so the kid could
   * never name a new key (422), and the admin saw no credential to remove.
   */
  private static Future<UUID> insertKey(SqlClient conn, UUID clientId, PartnerKeys.Key key) {
    UUID id = UUID.randomUUID();
    return conn.preparedQuery("UPDATE partner_credential SET removed_at = expires_at WHERE client_id = $1 AND kind = 'jwk' "
            + "AND kid = $2 AND removed_at IS NULL AND expires_at <= now()")
        .execute(Tuple.of(clientId, key.kid()))
        .compose(v -> conn.preparedQuery("INSERT INTO partner_credential (id, client_id, kind, kid, alg, jwk) "
                + "VALUES ($1, $2, 'jwk', $3, $4, $5)")
            .execute(Tuple.of(id, clientId, key.kid(), key.alg(), key.jwk())))
        .map(id);
  }

  private static List<PartnerKeys.Key> keys(JsonObject jwks, String field) {
    if (jwks == null) {
      return List.of();
    }
    JsonArray list = jwks.getJsonArray("keys");
    List<PartnerKeys.Key> keys = new ArrayList<>();
    Set<String> kids = new HashSet<>();
    for (int i = 0; i < list.size(); i++) {
      try {
        PartnerKeys.Key key = PartnerKeys.parse(list.getJsonObject(i));
        if (!kids.add(key.kid())) {
          throw unprocessable(field + "/keys/" + i + "/kid", "Two keys with the kid " + key.kid() + ".");
        }
        keys.add(key);
      } catch (PartnerKeys.InvalidKeyException e) {
        throw unprocessable(field + "/keys/" + i, e.getMessage());
      }
    }
    return keys;
  }

  /** The client with its live credentials (never a secret or hash). */
  static Future<JsonObject> read(SqlClient conn, UUID id) {
    return conn.preparedQuery("SELECT c.*, coalesce((SELECT jsonb_agg(jsonb_build_object('id', k.id, 'kind', k.kind, "
            + "'kid', k.kid, 'alg', k.alg, 'createdAt', k.created_at, 'expiresAt', k.expires_at) ORDER BY k.created_at, k.id) "
            + "FROM partner_credential k WHERE k.client_id = c.id AND k.removed_at IS NULL "
            + "AND (k.expires_at IS NULL OR k.expires_at > now())), '[]'::jsonb)::text AS credentials "
            + "FROM partner_client c WHERE c.id = $1")
        .execute(Tuple.of(id))
        .map(rows -> json(rows.iterator().next()));
  }

  private static JsonObject json(Row r) {
    JsonArray credentials = new JsonArray(r.getString("credentials"));
    credentials.forEach(o -> {
      JsonObject c = (JsonObject) o;
      c.put("createdAt", instant(c.getString("createdAt")));
      c.put("expiresAt", instant(c.getString("expiresAt")));
      if (c.getValue("kid") == null) {
        c.remove("kid");
        c.remove("alg");
      }
    });
    return new JsonObject()
        .put("id", r.getUUID("id").toString())
        .put("name", r.getString("name"))
        .put("authMethod", r.getString("auth_method"))
        .put("scopes", new JsonArray(List.of(r.getArrayOfStrings("scopes"))))
        .put("unitIds", new JsonArray(java.util.Arrays.stream(r.getArrayOfUUIDs("unit_ids")).map(UUID::toString).toList()))
        .put("reportTypes", new JsonArray(List.of(r.getArrayOfStrings("report_types"))))
        .put("rateLimitPerMinute", r.getInteger("rate_limit_per_minute"))
        .put("credentials", credentials)
        .put("createdAt", DateTimeFormatter.ISO_INSTANT.format(r.getOffsetDateTime("created_at").withOffsetSameInstant(ZoneOffset.UTC)))
        .put("disabledAt", r.getOffsetDateTime("disabled_at") == null ? null
            : DateTimeFormatter.ISO_INSTANT.format(r.getOffsetDateTime("disabled_at").withOffsetSameInstant(ZoneOffset.UTC)));
  }

  /** jsonb renders timestamptz as e.g. 2026-11-26T18:00:00.123456+00:00: the API's form is RFC 3339 in UTC (Z). */
  private static String instant(String jsonbTime) {
    return jsonbTime == null ? null
        : DateTimeFormatter.ISO_INSTANT.format(java.time.OffsetDateTime.parse(jsonbTime).toInstant());
  }

  /** 256 random bits, base64url: the secret is only ever shown in the answer that creates it. */
  private static String newSecret() {
    byte[] bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  static byte[] sha256(String secret) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static List<String> distinct(JsonArray array) {
    return array.stream().map(String.class::cast).distinct().toList();
  }

  static ProblemException unprocessable(String field, String reason) {
    return Problem.of(ProblemType.UNPROCESSABLE, reason)
        .withErrors(List.of(new Problem.FieldError(field, reason))).toException();
  }
}
