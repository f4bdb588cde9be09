-- Enterprises (identified by their Unified Social Credit Code, GB 32100-2015) and their service requests (appeals)
-- with the lifecycle RECEIVED > COORDINATING (repeatable) > RESOLVED > CLOSED. Scoped through the enterprise's unit.
CREATE TABLE enterprise (
  id          uuid PRIMARY KEY,
  name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  uscc        text NOT NULL CHECK (uscc ~ '^[0-9A-HJ-NP-RT-UW-Y]{18}$'),
  industry    text NOT NULL CHECK (length(btrim(industry)) BETWEEN 1 AND 200),
  unit_id     uuid NOT NULL REFERENCES org_unit (id),
  created_by  uuid REFERENCES account (id),
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX enterprise_uscc_idx ON enterprise (uscc);
CREATE INDEX enterprise_unit_idx ON enterprise (unit_id);
CREATE INDEX enterprise_created_idx ON enterprise (created_at DESC, id DESC);

CREATE TABLE enterprise_designation (
  enterprise_id  uuid NOT NULL REFERENCES enterprise (id) ON DELETE CASCADE,
  kind           text NOT NULL CHECK (kind ~ '^[A-Z][A-Z0-9_]{1,63}$'),
  awarded_on     date NOT NULL,
  PRIMARY KEY (enterprise_id, kind)
);

CREATE TABLE service_request (
  id                      uuid PRIMARY KEY,
  enterprise_id           uuid NOT NULL REFERENCES enterprise (id),
  category                text NOT NULL CHECK (category IN ('APPROVAL', 'LAND', 'FINANCING', 'TALENT',
                                                 'TRANSFORMATION_UPGRADING', 'OTHER')),
  description             text NOT NULL CHECK (length(btrim(description)) BETWEEN 1 AND 4000),
  responsible_officer_id  uuid NOT NULL REFERENCES account (id),
  status                  text NOT NULL CHECK (status IN ('RECEIVED', 'COORDINATING', 'RESOLVED', 'CLOSED')),
  received_at             timestamptz NOT NULL,
  due_at                  timestamptz NOT NULL,
  resolved_at             timestamptz,
  evidence                text,
  closed_at               timestamptz,
  satisfaction            smallint CHECK (satisfaction BETWEEN 1 AND 5),
  created_by              uuid REFERENCES account (id),
  CHECK ((status IN ('RESOLVED', 'CLOSED')) = (resolved_at IS NOT NULL AND evidence IS NOT NULL)),
  CHECK ((status = 'CLOSED') = (closed_at IS NOT NULL AND satisfaction IS NOT NULL))
);
CREATE INDEX service_request_enterprise_idx ON service_request (enterprise_id);
CREATE INDEX service_request_open_due_idx ON service_request (due_at) WHERE status IN ('RECEIVED', 'COORDINATING');

-- Every transition, in order: the departments brought in (with their hand-off times), resolution, closure.
CREATE TABLE service_request_step (
  service_request_id  uuid NOT NULL REFERENCES service_request (id) ON DELETE CASCADE,
  seq                 int NOT NULL CHECK (seq >= 1),
  from_status         text NOT NULL,
  to_status           text NOT NULL CHECK (to_status IN ('COORDINATING', 'RESOLVED', 'CLOSED')),
  department          text,
  evidence            text,
  satisfaction        smallint CHECK (satisfaction BETWEEN 1 AND 5),
  actor_id            uuid REFERENCES account (id),
  at                  timestamptz NOT NULL,
  PRIMARY KEY (service_request_id, seq),
  CHECK ((to_status = 'COORDINATING') = (department IS NOT NULL))
);
