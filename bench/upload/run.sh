#!/usr/bin/env bash
# bench/upload (issue 5): builds the jar, then against a fresh dev-mode server each (free ports, temporary data
# folder, stopped with SIGTERM; see src/test/node/tus-interop/run-against-dev.sh):
#   1. 2 MB photos through tus at 8 connections beside presigned S3 PUTs of the same bytes to the same in-process
#      store, in alternating rounds of the same run; prints both rates and their ratio (target >= 0.9);
#   2. 200 concurrent 10 MB tus uploads against a server started with -Xmx256m: all must be STORED and re-hash to
#      the file's SHA-256, and the server must log no OutOfMemoryError.
# Needs a JDK 17, Maven and Node 18+. Exit status non-zero when a check fails (the ratio is reported, not enforced).
set -euo pipefail
cd "$(dirname "$0")/../.."
mvn -q -DskipTests package
runner=src/test/node/tus-interop/run-against-dev.sh
echo "== 1. tus vs direct S3 PUT: 2 MB photos, 8 connections"
bash "$runner" bench/upload/upload.mjs ratio
echo "== 2. 200 concurrent 10 MB tus uploads, server -Xmx256m"
SERVER_JAVA_OPTS=-Xmx256m bash "$runner" bench/upload/upload.mjs flood
