package org.frontline.identity;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.UUID;

/**
 * Writes org units and accounts over plain JDBC, before the service runs: the dev-mode demo organisation and the
 * production bootstrap of the first administrator. Idempotent: existing rows are left as they are.
 */
public final class AccountBootstrap {

  public record Unit(UUID id, UUID parentId, String name, String kind) {}

  public record Account(UUID id, String username, String displayName, String locale, List<String> roles,
                        UUID homeUnitId) {}

  private final Connection connection;

  public AccountBootstrap(Connection connection) {
    this.connection = connection;
  }

  /** Inserts the unit unless its id exists; the parent must exist already. */
  public void ensureUnit(Unit unit) throws SQLException {
    String sql = """
        INSERT INTO org_unit (id, parent_id, name, kind, path)
        SELECT ?, ?, ?, ?, coalesce((SELECT path FROM org_unit WHERE id = ?), '/') || ?::text || '/'
        ON CONFLICT (id) DO NOTHING""";
    try (PreparedStatement ps = connection.prepareStatement(sql)) {
      ps.setObject(1, unit.id());
      ps.setObject(2, unit.parentId());
      ps.setString(3, unit.name());
      ps.setString(4, unit.kind());
      ps.setObject(5, unit.parentId());
      ps.setString(6, unit.id().toString());
      ps.executeUpdate();
    }
  }

  /** True when an account with this username exists. */
  public boolean accountExists(String username) throws SQLException {
    try (PreparedStatement ps = connection.prepareStatement("SELECT 1 FROM account WHERE username = ?")) {
      ps.setString(1, username);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }

  /** True when any account has the admin role. */
  public boolean adminExists() throws SQLException {
    try (PreparedStatement ps = connection.prepareStatement("SELECT 1 FROM account WHERE 'admin' = ANY (roles) LIMIT 1");
         ResultSet rs = ps.executeQuery()) {
      return rs.next();
    }
  }

  /** Inserts the account (its home unit covered) unless the username exists; hashes only when inserting. */
  public boolean ensureAccount(Account account, String password) throws SQLException {
    if (accountExists(account.username())) {
      return false;
    }
    try (PreparedStatement ps = connection.prepareStatement("""
        INSERT INTO account (id, username, display_name, locale, password_hash, roles, home_unit_id)
        VALUES (?, ?, ?, ?, ?, ?, ?)""")) {
      ps.setObject(1, account.id());
      ps.setString(2, account.username());
      ps.setString(3, account.displayName());
      ps.setString(4, account.locale());
      ps.setString(5, PasswordHasher.hash(password));
      ps.setArray(6, connection.createArrayOf("text", account.roles().toArray()));
      ps.setObject(7, account.homeUnitId());
      ps.executeUpdate();
    }
    try (PreparedStatement ps = connection.prepareStatement(
        "INSERT INTO account_scope (account_id, unit_id) VALUES (?, ?) ON CONFLICT DO NOTHING")) {
      ps.setObject(1, account.id());
      ps.setObject(2, account.homeUnitId());
      ps.executeUpdate();
    }
    return true;
  }
}
