#!/usr/bin/env bash
# Builds what is missing, then starts the hub (the embedded default server), a sample device that ACKs
# pushes on port 2576, and the agent with its sample HL7 channel on port 2575 (Karaf console in the foreground).
# Options: --rebuild forces a build; HUB_PORT (default 8103).
set -euo pipefail
cd "$(dirname "$0")"
HUB_PORT="${HUB_PORT:-8103}"
# Karaf warns without JAVA_HOME; derive it from the java on the PATH.
export JAVA_HOME="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}"
ASSEMBLY=karaf-assembly/target/assembly
HUB_JAR=hub/target/hub-0.1.0-SNAPSHOT.jar
if [ "${1:-}" = "--rebuild" ] || [ ! -x "$ASSEMBLY/bin/karaf" ] || [ ! -f "$HUB_JAR" ]; then
  echo "Building (tests skipped; ./test.sh runs them)..."
  mvn -B -ntp -q install -DskipTests
fi
mkdir -p target/run
java -Xmx96m -jar "$HUB_JAR" --port "$HUB_PORT" > target/run/hub.log 2>&1 &
HUB_PID=$!
java -Xmx32m scripts/AckDevice.java 2576 > target/run/device.log 2>&1 &
DEVICE_PID=$!
trap 'kill $HUB_PID $DEVICE_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$HUB_PORT") 2>/dev/null && break
  sleep 0.1
done
if [ "$HUB_PORT" != 8103 ]; then
  sed -i "s#^baseUrl *=.*#baseUrl = http://127.0.0.1:$HUB_PORT/#" "$ASSEMBLY/etc/dev.edgeagent.cfg"
fi
cat <<MSG
Hub:     http://127.0.0.1:$HUB_PORT/   (log: target/run/hub.log, seed: hub/sample-seed.json)
Device:  a sample device ACKs pushes on 127.0.0.1:2576 (log: target/run/device.log)
Agent:   sample HL7 channel 'adt-in' on mllp://0.0.0.0:2575; Karaf console below (agent:status, agent:channels; logout to stop)

Try, from another terminal:
  java scripts/Hl7Send.java 127.0.0.1 2575                 # send an ADT^A01, prints the hub's ACK
  ./scripts/push.sh                                        # push an ORM^O01 to Device/sample-device, prints its ACK
MSG
"$ASSEMBLY/bin/karaf"
