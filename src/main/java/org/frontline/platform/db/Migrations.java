package org.frontline.platform.db;

import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;
import org.frontline.config.FrontlineConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;

/**
 * Applies the plain-SQL migrations under {@code db/migration}. Flyway is blocking (JDBC): call it before the
 * Vert.x services start, or from a worker thread. Applying twice changes nothing the second time.
 */
public final class Migrations {
  private static final Logger log = LoggerFactory.getLogger(Migrations.class);

  private Migrations() {}

  /** Returns the number of migrations applied by this call (0 when the schema is current). */
  public static int migrate(FrontlineConfig.Database cfg) {
    Flyway flyway = Flyway.configure()
        // A migration of CREATE INDEX CONCURRENTLY (V192) runs outside a transaction and waits for every transaction
        // open when it starts: Flyway's lock is held by a session, not in a transaction of its own (which the build
        // would wait for forever).
        .configuration(Map.of("flyway.postgresql.transactional.lock", "false"))
        .dataSource(cfg.jdbcUrl(), cfg.user(), cfg.password())
        .locations("classpath:db/migration")
        .connectRetries(5)
        .connectRetriesInterval(2)
        .failOnMissingLocations(true)
        .validateMigrationNaming(true)
        .load();
    MigrateResult result = flyway.migrate();
    log.info("database schema at version {} ({} migration(s) applied now)",
        result.targetSchemaVersion != null ? result.targetSchemaVersion : flyway.info().current().getVersion(),
        result.migrationsExecuted);
    return result.migrationsExecuted;
  }
}
