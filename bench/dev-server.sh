# Sourced by the bench scripts (ingest, figures): a dev-mode server of target/frontline.jar on free ports, with a
# data folder of its own, stopped (SIGTERM) and removed when the script exits.
#   dev_server_init <name>        $data (a temporary folder), $api_port, $mgmt_port; the exit trap
#   start_server <log> [java options...]
#                                 `java <options> -jar target/frontline.jar dev` with FRONTLINE_DATA_DIR=$data/data
#                                 (the environment of the call is passed on, e.g. FRONTLINE_ROLES=api start_server ...),
#                                 log in $data/server-<log>.log; waits for /health/ready; sets $pid and $PGURL (the
#                                 embedded PostgreSQL, from the log)
#   stop_server                   SIGTERM and wait (the same data folder can be started again)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

dev_server_init() {
  data=$(mktemp -d "/tmp/frontline-$1-XXXXXX")
  api_port=$(free_port)
  mgmt_port=$(free_port)
  while [ "$mgmt_port" = "$api_port" ]; do mgmt_port=$(free_port); done
  pid=
  trap 'stop_server; rm -rf "$data"' EXIT
}

stop_server() {
  if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=; fi
}

start_server() {
  local log="$data/server-$1.log"
  shift
  FRONTLINE_DATA_DIR="$data/data" FRONTLINE_HTTP_PORT=$api_port FRONTLINE_MANAGEMENT_PORT=$mgmt_port \
    java "$@" -jar target/frontline.jar dev >"$log" 2>&1 &
  pid=$!
  until curl -fsS -m 5 "http://127.0.0.1:$mgmt_port/health/ready" >/dev/null 2>&1; do
    kill -0 $pid 2>/dev/null || { echo "dev mode died; log:"; cat "$log"; exit 1; }
    sleep 0.1
  done
  for _ in $(seq 1 50); do grep -q 'psql postgresql://' "$log" && break; sleep 0.1; done
  PGURL=$(grep -o 'postgresql://[^ ]*' "$log" | head -1)
}
