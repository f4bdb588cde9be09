-- GET /v1/service-requests: the requests of the caller's scope, the earliest deadline first, keyset on (due_at, id);
-- for one enterprise, its range of the second index. A status is a filter on the rows the keyset walks.
-- Built CONCURRENTLY, as V192's (writes to service_request go on meanwhile); each DROP makes a run after
-- `flyway repair` build it anew.
DROP INDEX CONCURRENTLY IF EXISTS service_request_due_idx;
CREATE INDEX CONCURRENTLY service_request_due_idx ON service_request (due_at, id);
DROP INDEX CONCURRENTLY IF EXISTS service_request_enterprise_due_idx;
CREATE INDEX CONCURRENTLY service_request_enterprise_due_idx ON service_request (enterprise_id, due_at, id);
