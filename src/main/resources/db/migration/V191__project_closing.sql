-- Closing a project (POST /v1/projects/{id}/close): when it was closed, and why. A project is closed exactly when
-- its status is COMPLETED or CANCELLED (its outcome). Projects registered closed before the operation existed
-- (createProject took both statuses) are closed as of their creation, without a reason.
ALTER TABLE project
  ADD COLUMN closed_at    timestamptz,
  ADD COLUMN close_reason text CHECK (length(btrim(close_reason)) BETWEEN 1 AND 1000);
UPDATE project SET closed_at = created_at WHERE status IN ('COMPLETED', 'CANCELLED');
ALTER TABLE project ADD CONSTRAINT project_closed_at
  CHECK ((status IN ('COMPLETED', 'CANCELLED')) = (closed_at IS NOT NULL));
