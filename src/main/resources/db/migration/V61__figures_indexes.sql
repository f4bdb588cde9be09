-- The figures supervisors ask for (GET /v1/figures), per unit subtree and period, answered from indexes: the subtree
-- is a path range on org_unit, its enterprises come from enterprise_unit_idx, and each enterprise's requests in
-- the period are one range of the indexes below (covering: the counts never visit the table).
--
-- Approval days saved (e.g. "approvals cut by 13 working days"), recorded when an APPROVAL request is resolved.
ALTER TABLE service_request ADD COLUMN approval_days_saved integer
  CHECK (approval_days_saved BETWEEN 0 AND 3650);
ALTER TABLE service_request ADD CONSTRAINT service_request_days_saved_approval
  CHECK (approval_days_saved IS NULL OR (category = 'APPROVAL' AND resolved_at IS NOT NULL));

-- Received in the period; overdue among them (due_at, resolved_at). Leads with enterprise_id, so it also serves
-- what service_request_enterprise_idx did.
CREATE INDEX service_request_received_idx ON service_request (enterprise_id, received_at)
  INCLUDE (due_at, resolved_at);
DROP INDEX service_request_enterprise_idx;
-- Resolved in the period: count, median time to resolution, approval days saved.
CREATE INDEX service_request_resolved_idx ON service_request (enterprise_id, resolved_at)
  INCLUDE (received_at, approval_days_saved) WHERE resolved_at IS NOT NULL;
-- Closed (rated) in the period: satisfaction.
CREATE INDEX service_request_closed_idx ON service_request (enterprise_id, closed_at)
  INCLUDE (satisfaction) WHERE closed_at IS NOT NULL;
