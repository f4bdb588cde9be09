#!/usr/bin/env bash
# Report ingestion against its database baseline (issue 5), in one run on one PostgreSQL:
#   * builds the jar and starts `dev` on free ports with its own temporary FRONTLINE_DATA_DIR (embedded PostgreSQL);
#   * sets synchronous_commit=on for the database (dev mode starts PostgreSQL with synchronous_commit=off) and
#     restarts, so the service and pgbench commit with the same durability;
#   * logs in as officer.xu and drives authenticated POST /v1/reports (about 1 KB SITE envelopes in Huaisi town, no
#     attachments, a fresh id per request) with wrk at 16 and then 64 connections: a warm-up, then a measured run;
#   * right after each, pgbench at the same client count inserts the same row shape (a copy of the `report` table:
#     same columns, types, checks, indexes and foreign keys, the same jsonb documents), one transaction per row;
#   * prints both rates, their ratio (service / pgbench), the service's p50/p99, the CPU each program used
#     (service, PostgreSQL, wrk, pgbench) during each measured run, and the service's group commits in it (how many,
#     their size, and the mean time of their one statement, to its durable commit; from /metrics).
# The warm-up is long (60 s) because the JIT compilers still take a third of a core half a minute after start: the
# figure wanted is the one of a server that has been running, not of one starting.
# Targets (issue 5): ratio >= 1.0; p99 <= 50 ms at 64 connections.
#   bash bench/ingest/run.sh            (WARMUP=60 MEASURE=20 CLIENTS="16 64" ROLES=api to change)
set -euo pipefail
cd "$(dirname "$0")/../.."
here=bench/ingest
WARMUP=${WARMUP:-60}
MEASURE=${MEASURE:-20}
CLIENTS=${CLIENTS:-"16 64"}
# The CPU of each program is sampled over the middle of a measured run (2 s after its start, for MEASURE - 4 s).
[ "$MEASURE" -ge 6 ] || { echo "MEASURE must be at least 6 (seconds)"; exit 1; }
# The service process runs the API only by default: the ingestion is measured, not the alert fan-out of each report
# (the outbox dispatcher), which runs in worker processes (FRONTLINE_ROLES) and has its own benchmark (push.sh).
# ROLES=api,workers measures a process doing both.
ROLES=${ROLES:-api}
# Both sides commit durably: the embedded PostgreSQL runs with fsync, synchronous_commit and full_page_writes on, as
# in production (dev mode turns them off). DURABLE=false measures with them off (commits then wait for no disk).
DURABLE=${DURABLE:-true}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)"; exit 1; }
[ -x "$PGBIN/pgbench" ] || { echo "needs pgbench (PostgreSQL client binaries)"; exit 1; }

[ "${SKIP_BUILD:-}" = 1 ] || mvn -q -o -DskipTests package 2>/dev/null || mvn -q -DskipTests package
. bench/dev-server.sh
dev_server_init ingest
# shellcheck disable=SC2086 # JAVA_OPTS is a list of options
start() { FRONTLINE_ROLES=$ROLES start_server "$1" ${JAVA_OPTS:--XX:-DontCompileHugeMethods} -Dfrontline.dev.durablePostgres=$DURABLE; }

start first
dbname=${PGURL##*/}
"$PGBIN/psql" -qX "$PGURL" -c "ALTER DATABASE \"$dbname\" SET synchronous_commit = on" >/dev/null
# PGSS=1: where PostgreSQL's time goes during each measured service run (pg_stat_statements, loaded at the restart).
[ "${PGSS:-}" = 1 ] && "$PGBIN/psql" -qX "$PGURL" -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" >/dev/null
stop_server
start bench
sql() { "$PGBIN/psql" -qAtX "$PGURL" -c "$1"; }
echo "service roles: $ROLES; warm-up ${WARMUP} s, measured ${MEASURE} s; durable PostgreSQL: $DURABLE"
echo "PostgreSQL $(sql 'SHOW server_version'), synchronous_commit=$(sql 'SHOW synchronous_commit')," \
  "fsync=$(sql 'SHOW fsync'), full_page_writes=$(sql 'SHOW full_page_writes') (the same server for both sides)"

unit=$(sql "SELECT id FROM org_unit WHERE name LIKE '%Huaisi%'")
author=$(sql "SELECT id FROM account WHERE username = 'officer.xu'")
token=$(curl -fsS "http://127.0.0.1:$api_port/v1/auth/login" -H 'Content-Type: application/json' \
  -d '{"username":"officer.xu","password":"frontline-dev"}' | sed 's/.*"access_token":"\([^"]*\)".*/\1/')

# The baseline's table: a copy of `report` (columns, types, defaults, checks, indexes) with the same foreign keys.
sql "SET client_min_messages = warning; DROP TABLE IF EXISTS bench_report; CREATE TABLE bench_report (LIKE report INCLUDING ALL);
     ALTER TABLE bench_report ADD FOREIGN KEY (author_id) REFERENCES account (id),
                              ADD FOREIGN KEY (unit_id) REFERENCES org_unit (id)" >/dev/null

# One envelope as the service receives it; the baseline stores it as request and response (about the size of the
# service's 201 body), its body part as body; pgbench sends them as parameters, as the service does.
python3 - "$unit" >"$data/envelope.json" <<'PY'
import json, sys
obs = ["Observation %d: scaffolding on the east span is up, crews are pouring the deck; materials on site match "
       "the plan, no hazards seen." % i for i in range(1, 7)]
print(json.dumps({"id": "ID", "type": "SITE", "unitId": sys.argv[1], "capturedAt": "2026-11-20T08:30:00Z",
                  "location": {"lat": 32.45, "lon": 119.43, "accuracyM": 8.5, "provider": "gps", "mock": False},
                  "title": "Bridge repair at Huaisi", "text": "Work under way on the east span; next inspection on Friday.",
                  "body": {"observations": obs}}, separators=(",", ":")), end="")
PY
envelope=$(sed "s/\"ID\"/\"$(python3 -c 'import uuid; print(uuid.uuid4())')\"/" "$data/envelope.json")
echo "envelope: ${#envelope} bytes"
body=$(python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])["body"]))' "$envelope")
cat >"$data/insert.sql" <<SQL
INSERT INTO bench_report (id, author_id, unit_id, type, status, title, text, captured_at, received_at, completed_at, lat, lon, accuracy_m, location_provider, location_mock, body, request, request_sha256, response) VALUES (gen_random_uuid(), :author::uuid, :unit::uuid, 'SITE', 'COMPLETE', 'Bridge repair at Huaisi', 'Work under way on the east span; next inspection on Friday.', '2026-11-20T08:30:00Z', now(), now(), 32.45, 119.43, 8.5, 'gps', false, :body::jsonb, :envelope::jsonb, sha256(convert_to(:envelope::text, 'UTF8')), :envelope);
SQL

run_wrk() { # connections seconds -> RESULT line
  BENCH_TOKEN=$token BENCH_TEMPLATE="$data/envelope.json" BENCH_RUN=$(openssl rand -hex 4) \
    wrk -t2 -c"$1" -d"$2"s --timeout 10s -s "$here/report.lua" "http://127.0.0.1:$api_port" | grep '^RESULT'
}
run_pgbench() { # clients seconds -> tps
  PGOPTIONS='-c synchronous_commit=on' "$PGBIN/pgbench" -n -M prepared -c "$1" -j 2 -T "$2" \
    -D author="$author" -D unit="$unit" -D body="$body" -D envelope="$envelope" -f "$data/insert.sql" "$PGURL" >"$data/pgbench.out" 2>&1 \
    || { cat "$data/pgbench.out" >&2; return 1; }
  sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$data/pgbench.out"
}
pgss() { # label: the statements that took PostgreSQL's time since the last reset (PGSS=1)
  [ "${PGSS:-}" = 1 ] || return 0
  echo "  pg_stat_statements, $1 (total ms | calls | us per call | rows | statement):"
  sql "SELECT round(total_exec_time)::text || ' | ' || calls || ' | ' || round(1000 * mean_exec_time) || ' | ' || rows
              || ' | ' || left(regexp_replace(query, '\s+', ' ', 'g'), 90)
       FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 12" | sed 's/^/    /'
}
metrics() { curl -fsS "http://127.0.0.1:$mgmt_port/metrics" | grep '^frontline_report_group' || true; }
groups() { # before after: the groups of the measured run, from the service's own meters (GroupCommitMetrics)
  python3 - "$1" "$2" <<'PY'
import re, sys
def parse(text):
    out = {}
    for line in text.splitlines():
        m = re.match(r'(\w+)(\{[^}]*\})?\s+([0-9.eE+-]+)$', line)
        if m:
            phase = re.search(r'phase="(\w+)"', m.group(2) or '')
            out[(m.group(1), phase.group(1) if phase else '')] = float(m.group(3))
    return out
a, b = parse(sys.argv[1]), parse(sys.argv[2])
d = lambda k: b.get(k, 0) - a.get(k, 0)
n = d(('frontline_report_group_size_count', ''))
if n:
    print('  groups: %d, %.1f reports each; mean ms per group (its statement, to the durable commit): %.2f'
          % (n, d(('frontline_report_group_size_sum', '')) / n, 1000 * d(('frontline_report_group_seconds_sum', '')) / n))
PY
}
checkpoints() { sql "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter"; }
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$2"; }

declare -A svc_rate svc_p50 svc_p99 pg_rate
for c in $CLIENTS; do
  run_wrk "$c" "$WARMUP" >/dev/null
  python3 $here/cpu.py 2 $((MEASURE - 4)) "service c=$c" & cpu=$!
  [ "${PGSS:-}" = 1 ] && sql "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset()" >/dev/null
  before=$(metrics); ckpt=$(checkpoints)
  r=$(run_wrk "$c" "$MEASURE")
  wait $cpu
  groups "$before" "$(metrics)"
  echo "  checkpoints during the measured run: $(( $(checkpoints) - ckpt ))"
  pgss "service c=$c"
  echo "service  c=$c: $r"
  [ "$(field other "$r")" = 0 ] || echo "  (some requests did not answer 201: see above)"
  svc_rate[$c]=$(awk -v n="$(field created "$r")" -v s="$(field seconds "$r")" 'BEGIN{printf "%.0f", n/s}')
  svc_p50[$c]=$(field p50_ms "$r"); svc_p99[$c]=$(field p99_ms "$r")
  run_pgbench "$c" "$WARMUP" >/dev/null
  python3 $here/cpu.py 2 $((MEASURE - 4)) "pgbench c=$c" & cpu=$!
  [ "${PGSS:-}" = 1 ] && sql "SELECT pg_stat_statements_reset()" >/dev/null
  ckpt=$(checkpoints)
  pg_rate[$c]=$(run_pgbench "$c" "$MEASURE")
  wait $cpu
  echo "  checkpoints during the measured run: $(( $(checkpoints) - ckpt ))"
  pgss "pgbench c=$c"
  [ -n "${pg_rate[$c]}" ] || { cat "$data/pgbench.out"; exit 1; }
  echo "pgbench  c=$c: ${pg_rate[$c]} tps"
done
errors=$(grep -c ' ERROR ' "$data/server-bench.log" || true)
echo "server log: $errors ERROR lines"
[ "$errors" = 0 ] || grep -m3 -A8 ' ERROR ' "$data/server-bench.log"
echo "rows: report=$(sql 'SELECT count(*) FROM report') bench_report=$(sql 'SELECT count(*) FROM bench_report')" \
  "audit_log=$(sql 'SELECT count(*) FROM audit_log')"
echo
printf '%-6s %14s %14s %7s %9s %9s\n' conns "service req/s" "pgbench tps" ratio "p50 ms" "p99 ms"
for c in $CLIENTS; do
  printf '%-6s %14s %14.0f %7.2f %9s %9s\n' "$c" "${svc_rate[$c]}" "${pg_rate[$c]}" \
    "$(awk -v a="${svc_rate[$c]}" -v b="${pg_rate[$c]}" 'BEGIN{print a/b}')" "${svc_p50[$c]}" "${svc_p99[$c]}"
done
echo "targets (issue 5): ratio >= 1.0; p99 <= 50 ms at 64 connections"
