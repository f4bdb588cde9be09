-- bench/figures: 100,000 service requests over the demo units (run by run.sh).
-- 100 enterprises per demo unit (their credit codes only match the pattern; the check character is the API's).
INSERT INTO enterprise (id, name, uscc, industry, unit_id)
SELECT gen_random_uuid(), 'Bench enterprise ' || u.n || '-' || i, '93' || lpad(u.n::text, 4, '0') || lpad(i::text, 12, '0'),
       'Bench', u.id
FROM (SELECT id, row_number() OVER (ORDER BY path) AS n FROM org_unit) u, generate_series(1, 100) i;

CREATE TEMP TABLE bench_enterprise AS SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM enterprise
  WHERE name LIKE 'Bench enterprise %';
CREATE TEMP TABLE bench_request AS
SELECT g, e.id AS enterprise_id,
       (ARRAY['APPROVAL', 'LAND', 'FINANCING', 'TALENT', 'TRANSFORMATION_UPGRADING', 'OTHER'])[1 + g % 6] AS category,
       timestamptz '2026-01-01 00:00+08' + (random() * 323) * interval '1 day' AS received_at,
       random() AS r1, random() AS r2
FROM generate_series(1, 100000) g JOIN bench_enterprise e ON e.n = (g * 7919) % 1100;

INSERT INTO service_request (id, enterprise_id, category, description, responsible_officer_id, status, received_at,
                             due_at, resolved_at, evidence, closed_at, satisfaction, approval_days_saved)
SELECT gen_random_uuid(), b.enterprise_id, b.category, 'Bench request ' || b.g,
       (SELECT id FROM account WHERE username = 'officer.xu'),
       CASE WHEN b.r1 < 0.60 THEN 'CLOSED' WHEN b.r1 < 0.85 THEN 'RESOLVED' ELSE 'COORDINATING' END,
       b.received_at, b.received_at + interval '1 day' * CASE b.category WHEN 'APPROVAL' THEN 10 WHEN 'FINANCING' THEN 15
         WHEN 'TALENT' THEN 15 WHEN 'OTHER' THEN 15 ELSE 30 END,
       CASE WHEN b.r1 < 0.85 THEN b.received_at + b.r2 * interval '25 days' END,
       CASE WHEN b.r1 < 0.85 THEN 'Bench evidence' END,
       CASE WHEN b.r1 < 0.60 THEN b.received_at + b.r2 * interval '25 days' + interval '2 days' END,
       CASE WHEN b.r1 < 0.60 THEN 1 + (b.g % 5) END,
       CASE WHEN b.r1 < 0.85 AND b.category = 'APPROVAL' AND b.g % 3 = 0 THEN b.g % 14 END
FROM bench_request b;
VACUUM ANALYZE;
