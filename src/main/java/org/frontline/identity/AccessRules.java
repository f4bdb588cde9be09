package org.frontline.identity;

import java.util.Map;
import java.util.Set;

/**
 * Who may call each secured operation: the one table, reviewable at a glance. {@link BearerAuthHandler} enforces
 * it for every operation that declares bearerAuth (403 forbidden when the caller holds none of the roles), and
 * the service refuses to start when a secured operation of the contract has no entry here. What an allowed caller
 * may then see is decided by {@link Scope}.
 */
public final class AccessRules {
  /** Any authenticated account, whatever its roles. */
  static final Set<String> ANY_AUTHENTICATED = Set.of();
  private static final Set<String> ADMIN = Set.of("admin");

  private static final Map<String, Set<String>> RULES = Map.ofEntries(
      // identity
      Map.entry("logout", ANY_AUTHENTICATED),
      Map.entry("getMe", ANY_AUTHENTICATED),
      // org units
      Map.entry("listOrgUnits", ADMIN),
      Map.entry("getOrgUnit", ADMIN),
      Map.entry("createOrgUnit", ADMIN),
      Map.entry("renameOrgUnit", ADMIN),
      Map.entry("moveOrgUnit", ADMIN),
      Map.entry("retireOrgUnit", ADMIN),
      Map.entry("deleteOrgUnit", ADMIN),
      // accounts
      Map.entry("listAccounts", ADMIN),
      Map.entry("getAccount", ADMIN),
      Map.entry("createAccount", ADMIN),
      Map.entry("updateAccount", ADMIN),
      Map.entry("disableAccount", ADMIN),
      Map.entry("enableAccount", ADMIN),
      Map.entry("resetAccountPassword", ADMIN),
      // signing keys
      Map.entry("listSigningKeys", ADMIN),
      Map.entry("rotateSigningKeys", ADMIN),
      // audit log
      Map.entry("listAuditEntries", ADMIN),
      Map.entry("verifyAuditChain", ADMIN),
      // devices and notifications: every account has its own, and sees only its own
      Map.entry("registerDevice", ANY_AUTHENTICATED),
      Map.entry("listDevices", ANY_AUTHENTICATED),
      Map.entry("deleteDevice", ANY_AUTHENTICATED),
      Map.entry("listNotifications", ANY_AUTHENTICATED),
      Map.entry("ackNotification", ANY_AUTHENTICATED));

  private AccessRules() {}

  /** The roles of which the caller needs one, or {@link #ANY_AUTHENTICATED} (empty). */
  public static Set<String> rolesFor(String operationId) {
    Set<String> roles = RULES.get(operationId);
    if (roles == null) {
      throw new IllegalStateException("secured operation " + operationId + " has no entry in AccessRules");
    }
    return roles;
  }

  public static boolean allows(Set<String> required, Caller caller) {
    return required.isEmpty() || caller.roles().stream().anyMatch(required::contains);
  }

  public static Set<String> operations() {
    return RULES.keySet();
  }
}
