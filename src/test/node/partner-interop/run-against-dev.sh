#!/usr/bin/env bash
# Runs the partner interop check (interop.mjs: openid-client discovers the server through RFC 8414, gets a token by
# client_credentials with private_key_jwt, and reads a report's event from GET /v1/events) with the tus check's
# runner, which starts a dev-mode server of target/frontline.jar on free ports (its token issuer being the URL it is
# reached at, as openid-client requires), waits for readiness, runs the given Node script and stops the server.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
"$here/../tus-interop/run-against-dev.sh" "$here/interop.mjs"
