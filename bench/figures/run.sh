#!/usr/bin/env bash
# The supervisors' figures (issue 4, item 5) over 100,000 service requests:
#   * builds the jar and starts `dev` on free ports with its own temporary FRONTLINE_DATA_DIR (embedded PostgreSQL);
#   * seeds, in SQL (generate_series), 1,100 enterprises spread over the 11 demo units and 100,000 service requests
#     received over 2026-01-01 .. 2026-11-20 (about 85 % resolved, 60 % closed with a rating, approval days saved
#     on a third of the resolved APPROVAL requests; bench/figures/seed.sql), then VACUUM ANALYZE
#     (the steady state autovacuum keeps: index-only scans need the visibility map);
#   * times GET /v1/figures through HTTP (curl, one request at a time) for each figure group (`include=`) and all
#     of them together, over three shapes: the province over the whole year, the province over one month, and
#     Hanjiang (2 of the 11 units) over the year; RUNS measured runs after WARMUP unmeasured ones;
#   * prints the median and the max per figure and shape, in ms. Target (issue 4): under 100 ms each.
#   bash bench/figures/run.sh            (RUNS=20 WARMUP=3 SKIP_BUILD=1 to change)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-20}
WARMUP=${WARMUP:-3}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

[ "${SKIP_BUILD:-}" = 1 ] || mvn -q -o -DskipTests package 2>/dev/null || mvn -q -DskipTests package
. bench/dev-server.sh
dev_server_init figures
# shellcheck disable=SC2086 # JAVA_OPTS is a list of options
start_server dev ${JAVA_OPTS:-}
sql() { "$PGBIN/psql" -qAtX -v ON_ERROR_STOP=1 "$PGURL" -c "$1"; }

t0=$(date +%s.%N)
"$PGBIN/psql" -qX -v ON_ERROR_STOP=1 "$PGURL" -f bench/figures/seed.sql >/dev/null
t1=$(date +%s.%N)
echo "seeded $(sql 'SELECT count(*) FROM service_request') service requests and" \
  "$(sql 'SELECT count(*) FROM enterprise') enterprises in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s;" \
  "PostgreSQL $(sql 'SHOW server_version'); $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

token=$(curl -fsS "http://127.0.0.1:$api_port/v1/auth/login" -H 'Content-Type: application/json' \
  -d '{"username":"admin","password":"frontline-dev"}' | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
jiangsu=$(sql "SELECT id FROM org_unit WHERE parent_id IS NULL")
hanjiang=$(sql "SELECT id FROM org_unit WHERE name LIKE '%Hanjiang%'")

time_ms() { # url -> ms of one request (fails on a status other than 200)
  curl -fsS -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $token" "$1" | awk '{printf "%.1f\n", $1 * 1000}'
}
echo
printf '%-34s %-14s %10s %10s\n' shape figure "median ms" "max ms"
for shape in "province/year|$jiangsu|2026-01-01|2027-01-01" "province/month|$jiangsu|2026-06-01|2026-07-01" \
             "hanjiang/year|$hanjiang|2026-01-01|2027-01-01"; do
  IFS='|' read -r name unit from to <<<"$shape"
  base="http://127.0.0.1:$api_port/v1/figures?unitId=$unit&from=$from&to=$to"
  for figure in requests resolution satisfaction projects all; do
    url=$base; [ "$figure" = all ] || url="$base&include=$figure"
    for _ in $(seq 1 "$WARMUP"); do time_ms "$url" >/dev/null; done
    for _ in $(seq 1 "$RUNS"); do time_ms "$url"; done | sort -n >"$data/times"
    printf '%-34s %-14s %10s %10s\n' "$name" "$figure" \
      "$(awk '{a[NR]=$1} END{if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}' "$data/times")" \
      "$(tail -1 "$data/times")"
  done
done
echo
echo "one answer (province/year): $(curl -fsS -H "Authorization: Bearer $token" \
  "http://127.0.0.1:$api_port/v1/figures?unitId=$jiangsu&from=2026-01-01&to=2027-01-01")"
echo "target (issue 4): under 100 ms each; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
