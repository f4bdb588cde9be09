#!/usr/bin/env bash
# Dev-mode start and stop, as a newcomer meets them: builds the jar, then on a fresh data folder runs `dev`
# three times (first run: initdb and seeding; then two second runs), and prints for each run the time the server
# reports ("Started in"), the wall time until /health/ready answers 200, and the time and exit status of a
# graceful stop (SIGTERM). Targets (issue 2): second run under 10 s; stop within 10 s with exit status 0.
#   bash bench/dev-start.sh
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -o -DskipTests package 2>/dev/null || mvn -q -DskipTests package
data=$(mktemp -d /tmp/frontline-bench-XXXXXX)
api_port=18080
mgmt_port=19090
trap 'rm -rf "$data"' EXIT
printf '%-12s %14s %16s %12s %6s\n' run "reported start" "ready (wall)" "stop (wall)" exit
for run in first second second; do
  log="$data/$run.log"
  t0=$(date +%s%N)
  FRONTLINE_DATA_DIR="$data/data" FRONTLINE_HTTP_PORT=$api_port FRONTLINE_MANAGEMENT_PORT=$mgmt_port \
    java -jar target/frontline.jar dev >"$log" 2>&1 &
  pid=$!
  until curl -fsS -m 5 "http://127.0.0.1:$mgmt_port/health/ready" >/dev/null 2>&1; do
    kill -0 $pid 2>/dev/null || { echo "dev mode died; log:"; cat "$log"; exit 1; }
    sleep 0.05
  done
  t1=$(date +%s%N)
  for _ in $(seq 1 40); do grep -q 'Started in' "$log" && break; sleep 0.05; done
  reported=$(grep -o 'Started in [0-9]* ms' "$log" | grep -o '[0-9]*' || echo '?')
  kill -TERM $pid
  status=0
  wait $pid || status=$?
  t2=$(date +%s%N)
  printf '%-12s %11s ms %13s ms %9s ms %6s\n' "$run" "$reported" $(( (t1 - t0) / 1000000 )) \
    $(( (t2 - t1) / 1000000 )) "$status"
done
