#!/usr/bin/env bash
# Runs the webhook interop check (interop.mjs: the standardwebhooks npm package verifies a webhook delivered by a
# dev-mode server of target/frontline.jar) with the tus check's runner, which starts the server on free ports with
# its own data folder, waits for readiness, runs the given Node script and stops the server. Dev mode accepts http
# and loopback webhook targets, so the Node receiver can listen on 127.0.0.1.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
"$here/../tus-interop/run-against-dev.sh" "$here/interop.mjs"
