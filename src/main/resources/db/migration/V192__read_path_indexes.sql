-- GET /v1/reports?bbox=...: the reports' locations (x = lon, y = lat), so that a box few recent reports lie in is read
-- from here and sorted, never by walking every newer report outside it (ReportRepository.list: a page walks at most
-- BOX_WALK of the newest reports first, and comes here when they do not fill it).
--
-- Built CONCURRENTLY: a plain CREATE INDEX holds a SHARE lock on the table for the whole build (seconds per million
-- rows), which stops every write to it from the instances still serving while a new one migrates at its start.
-- Flyway runs a migration of CONCURRENTLY statements only outside a transaction, each statement on its own; its lock
-- must then be a session's advisory lock, not a transaction's (Migrations: postgresql.transactional.lock off), or the
-- build would wait forever for Flyway's own open transaction. A build that fails (cancelled, a deadlock) leaves an
-- INVALID index behind and the migration marked failed: each DROP makes a run after `flyway repair` build it anew.
DROP INDEX CONCURRENTLY IF EXISTS report_location_idx;
CREATE INDEX CONCURRENTLY report_location_idx ON report USING gist (point(lon, lat));

-- GET /v1/audit?action=...: an action's entries newest first (AuditRepository.pageSql), not a walk of the whole log
-- for a rare one. Only indexes: audit_log's rows and chain are untouched (an index build neither updates nor deletes).
DROP INDEX CONCURRENTLY IF EXISTS audit_log_action_idx;
CREATE INDEX CONCURRENTLY audit_log_action_idx ON audit_log (action, seq);
-- GET /v1/audit?from=...&to=...: a window's entries when the newest ones lie after it (then sorted by seq), and the
-- log's first and last times (a window outside the log is answered at once).
DROP INDEX CONCURRENTLY IF EXISTS audit_log_at_idx;
CREATE INDEX CONCURRENTLY audit_log_at_idx ON audit_log (at);
