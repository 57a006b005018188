#!/usr/bin/env bash
# The deep-queue restart test, larger than CI: scripts/fault-queued.sh [MESSAGES] (default 250000; CI runs 100000).
# Uses the assembly tarball already built in karaf-assembly/target. Figures: the "FAULT queued:" lines.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-250000}"
mvn -B -ntp -o -f itests/pom.xml test -Dtest='dev.edgeagent.itests.fault.QueuedRestartIT' -Dsurefire.failIfNoSpecifiedTests=false \
  -Dfault.queued="$n" -Dfault.drainTimeoutSeconds=900 || status=$?
grep -h '^FAULT' itests/target/surefire-reports/dev.edgeagent.itests.fault.QueuedRestartIT-output.txt || true
exit "${status:-0}"
