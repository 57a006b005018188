#!/usr/bin/env bash
# Runs only the kill -9 fault test with more rounds than CI's 10: scripts/fault-kill9.sh [ROUNDS] (default 50).
# Uses the assembly tarball already built in karaf-assembly/target. Figures: the "FAULT kill9:" lines.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-50}"
mvn -B -ntp -o -f itests/pom.xml test -Dtest='dev.edgeagent.itests.fault.Kill9IT' -Dsurefire.failIfNoSpecifiedTests=false \
  -Dfault.rounds="$rounds" || status=$?
grep -h '^FAULT' itests/target/surefire-reports/dev.edgeagent.itests.fault.Kill9IT-output.txt || true
exit "${status:-0}"
