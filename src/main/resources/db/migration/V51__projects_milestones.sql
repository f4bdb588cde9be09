-- Major projects, their milestones, the milestones' baselines (re-baselining keeps history) and actual progress.
CREATE TABLE project (
  id              uuid PRIMARY KEY,
  unit_id         uuid NOT NULL REFERENCES org_unit (id),
  name            text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  investment_yuan numeric(20, 2) NOT NULL CHECK (investment_yuan >= 0),
  site_lat        double precision NOT NULL CHECK (site_lat BETWEEN -90 AND 90),
  site_lon        double precision NOT NULL CHECK (site_lon BETWEEN -180 AND 180),
  site_radius_m   double precision NOT NULL CHECK (site_radius_m > 0),
  bid_sections    text[] NOT NULL DEFAULT '{}',
  status          text NOT NULL CHECK (status IN ('PLANNED', 'IN_PROGRESS', 'SUSPENDED', 'COMPLETED', 'CANCELLED')),
  created_by      uuid REFERENCES account (id),
  created_at      timestamptz NOT NULL DEFAULT now()
);
-- Keyset pagination (newest first) and the unit filter of the scope rule.
CREATE INDEX project_created_idx ON project (created_at DESC, id DESC);
CREATE INDEX project_unit_idx ON project (unit_id);

CREATE TABLE milestone (
  id               uuid PRIMARY KEY,
  project_id       uuid NOT NULL REFERENCES project (id),
  name             text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  unit             text NOT NULL CHECK (unit ~ '^[a-z][a-z0-9_]{0,31}$'),
  baseline_version integer NOT NULL DEFAULT 1,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX milestone_project_idx ON milestone (project_id, created_at, id);

-- Every baseline a milestone ever had; the current one is milestone.baseline_version.
CREATE TABLE milestone_baseline (
  milestone_id     uuid NOT NULL REFERENCES milestone (id),
  version          integer NOT NULL CHECK (version >= 1),
  planned_quantity numeric(20, 3) NOT NULL CHECK (planned_quantity > 0),
  planned_start    date NOT NULL,
  planned_due      date NOT NULL,
  reason           text,
  created_by       uuid REFERENCES account (id),
  created_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (milestone_id, version),
  CHECK (planned_due > planned_start)
);

-- Cumulative actual quantity as measured on a day; the latest entry (measured_on, seq) is the current figure.
CREATE TABLE milestone_progress (
  seq          bigserial PRIMARY KEY,
  milestone_id uuid NOT NULL REFERENCES milestone (id),
  quantity     numeric(20, 3) NOT NULL CHECK (quantity >= 0),
  measured_on  date NOT NULL,
  report_id    uuid,
  correction   boolean NOT NULL DEFAULT false,
  reason       text,
  recorded_by  uuid REFERENCES account (id),
  recorded_at  timestamptz NOT NULL DEFAULT now(),
  CHECK (NOT correction OR reason IS NOT NULL)
);
CREATE INDEX milestone_progress_idx ON milestone_progress (milestone_id, measured_on, seq);
