#!/usr/bin/env bash
# Runs every test: unit tests of each module, then the Pax Exam tests against the real assembly with the
# hub and the Medplum CLI as peers. Needs Java 17, Maven, npm, and Maven Central + npm registry access on
# first run (everything is cached afterwards).
set -euo pipefail
cd "$(dirname "$0")"
.ci/install-peers.sh
mvn -B -ntp install "$@"
