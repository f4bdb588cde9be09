#!/usr/bin/env bash
# Starts target/frontline.jar in dev mode on free ports with its own temporary data folder, waits for
# /health/ready, runs the tus interop check (interop.mjs; or the Node script and arguments given) against it with
# FRONTLINE_URL and FRONTLINE_DATA_DIR set, then stops the server with SIGTERM and removes the folder. The token
# issuer (FRONTLINE_JWT_ISSUER) is the URL the server is reached at: OAuth clients (the partner check) insist that
# the RFC 8414 metadata's issuer is the URL they discovered it from. The partner and webhook checks use this runner.
# SERVER_JAVA_OPTS go to the JVM (e.g. -Xmx256m). Exit status: the script's; a server that does not start, does
# not stop within 20 s, or logged an OutOfMemoryError fails too. The script gets the server's process id as
# FRONTLINE_SERVER_PID (bench/upload reads its CPU time from /proc).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
jar="$root/target/frontline.jar"
[ -f "$jar" ] || { echo "interop: $jar missing (build first)" >&2; exit 1; }

free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
http_port="$(free_port)"
mgmt_port="$(free_port)"
while [ "$mgmt_port" = "$http_port" ]; do mgmt_port="$(free_port)"; done
data="$(mktemp -d "${TMPDIR:-/tmp}/frontline-interop.XXXXXX")"
log="$data/server.log"
pid=""

stop() {
  local status=$?
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "interop: the server did not stop within 20 s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
      status=1
    fi
    wait "$pid" 2>/dev/null || true
  fi
  if [ -f "$log" ] && grep -q "OutOfMemoryError" "$log"; then
    echo "interop: the server logged an OutOfMemoryError" >&2
    status=1
  fi
  if [ "$status" -ne 0 ] && [ -f "$log" ]; then
    echo "---- server log (last 40 lines) ----" >&2
    tail -n 40 "$log" >&2 || true
  fi
  rm -rf "$data"
  exit "$status"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

FRONTLINE_JWT_ISSUER="http://127.0.0.1:$http_port" FRONTLINE_HTTP_PORT="$http_port" \
  FRONTLINE_MANAGEMENT_PORT="$mgmt_port" FRONTLINE_DATA_DIR="$data" java ${SERVER_JAVA_OPTS:-} -jar "$jar" dev >"$log" 2>&1 &
pid=$!

ready=""
for _ in $(seq 1 300); do
  kill -0 "$pid" 2>/dev/null || { echo "interop: the server exited during start" >&2; exit 1; }
  if node -e "fetch('http://127.0.0.1:$mgmt_port/health/ready').then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"; then
    ready=1
    break
  fi
  sleep 0.5
done
[ -n "$ready" ] || { echo "interop: the server was not ready within 150 s" >&2; exit 1; }

script=("$@")
[ ${#script[@]} -gt 0 ] || script=("$here/interop.mjs")
FRONTLINE_URL="http://127.0.0.1:$http_port" FRONTLINE_DATA_DIR="$data" FRONTLINE_SERVER_PID="$pid" node "${script[@]}"
