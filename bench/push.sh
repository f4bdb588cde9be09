#!/usr/bin/env bash
# bench/push: alerts through the dispatcher to the local fake FCM (real firebase-admin SDK), beside the fake driven
# directly with the same sendEach batches, in the same run. Prints both rates and their ratio (target >= 0.8).
# Sizes: EVENTS (default 1000) report events x DEVICES (default 10) devices of supervisor.hanjiang = 10,000 alerts.
# Runs on the test classpath as a JUnit class that `mvn verify` never runs (PushBench, -Dfrontline.bench=true).
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/surefire-reports/org.frontline.platform.push.PushBench-output.txt
rm -f "$out"
mvn -o -q test -Dtest=PushBench -Dsurefire.failIfNoSpecifiedTests=false -Dfrontline.bench=true \
  -Dbench.events="${EVENTS:-1000}" -Dbench.devices="${DEVICES:-10}" "$@"
grep -E '^bench/push|^  ' "$out"
