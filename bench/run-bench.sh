#!/usr/bin/env bash
# Benchmarks the packaged agent against the hub, both on this machine, loopback only:
#   cold start, idle RSS, then closed-loop MLLP load (1.5 KB ADT^A01) on a standard channel and on
#   enhanced=true channels at 1 and 8 connections, with the agent's RSS sampled during each run; the
#   printed legend says what each run label means (FIFO vs maxWorkers=8, CA+AA vs CA-then-next).
# usage: bench/run-bench.sh [--quick] [--profile] [--no-calibrate] [--restart] [--only LABEL[,LABEL...]]
#   --quick         fewer messages (a smoke run of the tooling, figures are rough)
#   --only L1,L2    run only these labels (e.g. --only enh-8,enh-8-canext); cold start and idle RSS are still taken
#   --profile       JFR recordings of the agent and the hub during the standard 8-connection run, summarised by top frames;
#                   plus heap info and, with -XX:NativeMemoryTracking=summary in EDGE_JAVA_OPTS, the NMT summary;
#                   and the durable queue's group-commit summaries (commits, fsyncs, appends per commit) from its DEBUG log
#   --no-calibrate  skip the run against the generator's own do-nothing responder
#   --restart       stop and start the agent once before measuring, as it runs after its first boot: the first boot
#                   resolves the Karaf features (resolver, JAXB, Maven URL handler), which stay loaded until a restart
# Environment: EDGE_JAVA_OPTS (agent JVM flags, see the assembly's bin/setenv), HUB_JAVA_OPTS (default -Xmx256m),
#   BENCH_JAVA_OPTS (load generator JVM), EDGE_TARBALL (assembly to measure), KEEP=1 keeps the temp dir (logs, JFR) for inspection.
# Every process started here is stopped on exit, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
QUICK=0; PROFILE=0; CALIBRATE=1; RESTART=0; ONLY=""; ONLY_NEXT=0
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    --profile) PROFILE=1 ;;
    --no-calibrate) CALIBRATE=0 ;;
    --restart) RESTART=1 ;;
    --only=*) ONLY=",${a#--only=}," ;;
    --only) ONLY_NEXT=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | grep '^#'; exit 0 ;;
    *) if [ "${ONLY_NEXT:-0}" = 1 ]; then ONLY=",$a,"; ONLY_NEXT=0; else echo "run-bench: unknown option $a" >&2; exit 2; fi ;;
  esac
done
[ "${ONLY_NEXT:-0}" = 1 ] && { echo "run-bench: --only needs a comma-separated list of run labels" >&2; exit 2; }
ONLY=${ONLY:-}

VERSION=0.1.0-SNAPSHOT
# EDGE_TARBALL: another assembly to measure (e.g. a saved copy for A/B runs while the tree is being rebuilt).
TARBALL=${EDGE_TARBALL:-karaf-assembly/target/edge-agent-assembly-$VERSION.tar.gz}
HUB_JAR=hub/target/hub-$VERSION.jar
BENCH_JAR=bench/target/bench-$VERSION.jar
if [ ! -f "$TARBALL" ] || [ ! -f "$HUB_JAR" ]; then
  echo "run-bench: building the reactor (tests skipped)..."
  mvn -B -ntp -q install -DskipTests
fi
if [ ! -f "$BENCH_JAR" ]; then
  mvn -B -ntp -q -f bench/pom.xml install -DskipTests
fi

if [ "$QUICK" = 1 ]; then
  N1=3000; N8=8000; WARM=1000; CAL1=5000; CAL8=20000
else
  N1=30000; N8=100000; WARM=10000; CAL1=30000; CAL8=150000
fi
WARM_S=5
HUB_JAVA_OPTS=${HUB_JAVA_OPTS:--Xmx256m -XX:+UseParallelGC}
BENCH_JAVA_OPTS=${BENCH_JAVA_OPTS:--Xms64m -Xmx512m -XX:+UseSerialGC}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/edge-bench.XXXXXX")
HUB_PID=""; KARAF_PID=""; RESP_PID=""; AGENT_HOME=""
cleanup() {
  local rc=$?
  set +e
  [ -n "$RESP_PID" ] && kill "$RESP_PID" 2>/dev/null
  if [ -n "$AGENT_HOME" ] && [ -n "$KARAF_PID" ] && kill -0 "$KARAF_PID" 2>/dev/null; then
    "$AGENT_HOME/bin/stop" >/dev/null 2>&1
    for _ in $(seq 1 100); do kill -0 "$KARAF_PID" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$KARAF_PID" 2>/dev/null; then
      echo "run-bench: Karaf ($KARAF_PID) did not stop in 20 s; killing it" >&2
      kill -9 "$KARAF_PID" 2>/dev/null
    fi
  fi
  if [ -n "$HUB_PID" ]; then
    kill "$HUB_PID" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$HUB_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$HUB_PID" 2>/dev/null
  fi
  wait 2>/dev/null
  if [ "${KEEP:-0}" = 1 ] || [ $rc -ne 0 ]; then
    echo "run-bench: logs kept in $WORK (hub.log, agent/data/log/karaf.log)" >&2
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
rss_mib() { awk -v k="$2:" '$1==k {printf "%.1f", $2/1024}' "/proc/$1/status" 2>/dev/null || echo n/a; }
# Reads one field of the bench's flat one-line JSON.
jget() { sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$1"; }

HUB_PORT=$(free_port); STD_PORT=$(free_port); ENH_PORT=$(free_port); ENHW_PORT=$(free_port)
while [ "$(printf '%s\n' "$HUB_PORT" "$STD_PORT" "$ENH_PORT" "$ENHW_PORT" | sort -u | wc -l)" -lt 4 ]; do
  STD_PORT=$(free_port); ENH_PORT=$(free_port); ENHW_PORT=$(free_port)
done

cat > "$WORK/seed.json" <<JSON
{
  "clients": [{"clientId": "edge-agent", "clientSecret": "edge-secret"}],
  "resources": [
    {"resourceType": "Agent", "id": "bench-agent", "name": "Benchmark agent", "status": "active", "setting": [],
     "channel": [
       {"name": "bench-std", "endpoint": {"reference": "Endpoint/bench-std"}, "targetReference": {"reference": "Bot/ack-bot"}},
       {"name": "bench-enh", "endpoint": {"reference": "Endpoint/bench-enh"}, "targetReference": {"reference": "Bot/ack-bot"}},
       {"name": "bench-enh-w8", "endpoint": {"reference": "Endpoint/bench-enh-w8"}, "targetReference": {"reference": "Bot/ack-bot"}}
     ]},
    {"resourceType": "Endpoint", "id": "bench-std", "status": "active", "address": "mllp://127.0.0.1:$STD_PORT"},
    {"resourceType": "Endpoint", "id": "bench-enh", "status": "active", "address": "mllp://127.0.0.1:$ENH_PORT?enhanced=true"},
    {"resourceType": "Endpoint", "id": "bench-enh-w8", "status": "active", "address": "mllp://127.0.0.1:$ENHW_PORT?enhanced=true&maxWorkers=8"}
  ]
}
JSON

# shellcheck disable=SC2086
java $HUB_JAVA_OPTS -jar "$HUB_JAR" --host 127.0.0.1 --port "$HUB_PORT" --seed "$WORK/seed.json" > "$WORK/hub.log" 2>&1 &
HUB_PID=$!
for _ in $(seq 1 200); do port_open "$HUB_PORT" && break; kill -0 "$HUB_PID" 2>/dev/null || break; sleep 0.1; done
port_open "$HUB_PORT" || { echo "run-bench: the hub did not start; see $WORK/hub.log" >&2; tail -20 "$WORK/hub.log" >&2; exit 1; }

tar xzf "$TARBALL" -C "$WORK"
mv "$WORK/edge-agent-assembly-$VERSION" "$WORK/agent"
AGENT_HOME=$WORK/agent
CFG=$AGENT_HOME/etc/dev.edgeagent.cfg
sed -i -e "s#^baseUrl *=.*#baseUrl = http://127.0.0.1:$HUB_PORT/#" -e "s#^agentId *=.*#agentId = bench-agent#" "$CFG"
grep -q "^agentId = bench-agent" "$CFG" || { echo "run-bench: could not set agentId in $CFG" >&2; exit 1; }

LOG=$AGENT_HOME/data/log/karaf.log
if [ "$PROFILE" = 1 ]; then
  # The durable queue's group-commit summary (commits, fsyncs, ops and appends per commit) every 10 s, at DEBUG.
  printf '%s\n' "log4j2.logger.edgequeue.name = dev.edgeagent.queue.internal.SqliteMessageStore" \
    "log4j2.logger.edgequeue.level = DEBUG" >> "$AGENT_HOME/etc/org.ops4j.pax.logging.cfg"
fi
# start_agent N: starts the agent and waits for the Nth "Cloud link LIVE" and 3*N "Listening on port" lines.
start_agent() {
  local n=$1
  KARAF_PID=""; T_LIVE=""; T_LISTEN=""
  rm -f "$AGENT_HOME/karaf.pid"
  T0=$(now_ms)
  "$AGENT_HOME/bin/start"
  for _ in $(seq 1 1200); do
    if [ -z "$KARAF_PID" ] && [ -s "$AGENT_HOME/karaf.pid" ]; then KARAF_PID=$(cat "$AGENT_HOME/karaf.pid"); fi
    if [ -f "$LOG" ]; then
      [ -z "$T_LIVE" ] && [ "$(grep -c "Cloud link LIVE" "$LOG")" -ge "$n" ] && T_LIVE=$(now_ms)
      # all three channels: three "Listening on port" lines
      [ -z "$T_LISTEN" ] && [ "$(grep -c "Listening on port" "$LOG")" -ge $((3 * n)) ] && T_LISTEN=$(now_ms)
    fi
    if [ -n "$T_LIVE" ] && [ -n "$T_LISTEN" ] && port_open "$STD_PORT" && port_open "$ENH_PORT" && port_open "$ENHW_PORT"; then break; fi
    sleep 0.05
  done
  if [ -z "$T_LIVE" ] || [ -z "$T_LISTEN" ] || ! port_open "$STD_PORT" || ! port_open "$ENH_PORT" || ! port_open "$ENHW_PORT"; then
    echo "run-bench: the agent did not come up within 60 s (cloud link LIVE: ${T_LIVE:+yes}, listening: ${T_LISTEN:+yes})" >&2
    [ -f "$LOG" ] && grep -E "WARN|ERROR" "$LOG" | tail -20 >&2
    exit 1
  fi
  [ -n "$KARAF_PID" ] || { echo "run-bench: no $AGENT_HOME/karaf.pid" >&2; exit 1; }
}
start_agent 1
COLD_LIVE=$((T_LIVE - T0)); COLD_LISTEN=$((T_LISTEN - T0))
START_NOTE="first boot"
if [ "$RESTART" = 1 ]; then
  sleep 10
  FIRST_IDLE_RSS=$(rss_mib "$KARAF_PID" VmRSS)
  "$AGENT_HOME/bin/stop" >/dev/null 2>&1
  for _ in $(seq 1 100); do kill -0 "$KARAF_PID" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$KARAF_PID" 2>/dev/null && { echo "run-bench: Karaf ($KARAF_PID) did not stop in 20 s" >&2; exit 1; }
  start_agent 2
  START_NOTE="restarted once (first boot: idle RSS ${FIRST_IDLE_RSS} MiB); restart took $((T_LIVE - T0)) ms to LIVE, $((T_LISTEN - T0)) ms to listening"
fi

# Reference point for the generator itself: its own do-nothing responder on this machine right now.
CAL=""
if [ "$CALIBRATE" = 1 ]; then
  RESP_PORT=$(free_port)
  # shellcheck disable=SC2086
  java $BENCH_JAVA_OPTS -jar "$BENCH_JAR" --responder "$RESP_PORT" --host 127.0.0.1 > "$WORK/responder.log" 2>&1 &
  RESP_PID=$!
  for _ in $(seq 1 100); do port_open "$RESP_PORT" && break; sleep 0.1; done
  for c in 1 8; do
    n=$CAL1; [ "$c" = 8 ] && n=$CAL8
    # shellcheck disable=SC2086
    CAL+="$(java $BENCH_JAVA_OPTS -jar "$BENCH_JAR" --host 127.0.0.1 --port "$RESP_PORT" --connections $c \
      --messages $n --warmup $WARM --warmup-seconds $WARM_S --label "responder-$c" --json)"$'\n'
  done
  kill "$RESP_PID"; wait "$RESP_PID" 2>/dev/null || true; RESP_PID=""
fi

echo "Waiting 10 s for the agent to settle..."
sleep 10
IDLE_RSS=$(rss_mib "$KARAF_PID" VmRSS)

RESULTS=""; FAILED=0; CPU_LINES=""
TCK=$(getconf CLK_TCK)
cpu_ms() { awk -v t="$TCK" '{ printf "%d %d", $14 * 1000 / t, $15 * 1000 / t }' "/proc/$1/stat"; }
run() { # label port connections messages expect
  local out a0 h0 a1 h1 n
  if [ -n "$ONLY" ] && [[ "$ONLY" != *",$1,"* ]]; then return 0; fi
  a0=$(cpu_ms "$KARAF_PID"); h0=$(cpu_ms "$HUB_PID")
  # shellcheck disable=SC2086
  if ! out=$(java $BENCH_JAVA_OPTS -jar "$BENCH_JAR" --host 127.0.0.1 --port "$2" --connections "$3" --messages "$4" \
      --warmup "$WARM" --warmup-seconds "$WARM_S" --expect "$5" --pid "$KARAF_PID" --label "$1" --json); then
    FAILED=1
  fi
  a1=$(cpu_ms "$KARAF_PID"); h1=$(cpu_ms "$HUB_PID")
  # CPU per message tells which process limits a 2-core box; it includes the warm-up messages.
  n=$(( $(jget "$out" messages) + $(jget "$out" warmupMessages) ))
  CPU_LINES+="$(awk -v l="$1" -v a0="$a0" -v a1="$a1" -v h0="$h0" -v h1="$h1" -v n="$n" 'BEGIN {
    split(a0, x); split(a1, y); split(h0, u); split(h1, v)
    au = (y[1] - x[1]) * 1000 / n; as = (y[2] - x[2]) * 1000 / n; hu = (v[1] - u[1]) * 1000 / n; hs = (v[2] - u[2]) * 1000 / n
    if (n > 0) printf "%-16s agent %6.1f us/msg (user %5.1f, sys %5.1f)   hub %6.1f us/msg (user %5.1f, sys %5.1f)", l, au + as, au, as, hu + hs, hu, hs }')"$'\n'
  RESULTS+="$out"$'\n'
}
run std-1 "$STD_PORT" 1 "$N1" AA
if [ "$PROFILE" = 1 ]; then
  jcmd "$KARAF_PID" JFR.start name=bench settings=profile filename="$WORK/agent.jfr" >/dev/null
  jcmd "$HUB_PID" JFR.start name=bench settings=profile filename="$WORK/hub.jfr" >/dev/null
fi
run std-8 "$STD_PORT" 8 "$N8" AA
if [ "$PROFILE" = 1 ]; then
  jcmd "$KARAF_PID" JFR.stop name=bench >/dev/null
  jcmd "$HUB_PID" JFR.stop name=bench >/dev/null
fi
run enh-1 "$ENH_PORT" 1 "$N1" CA+AA
run enh-8 "$ENH_PORT" 8 "$N8" CA+AA
run enh-1-canext "$ENH_PORT" 1 "$N1" CA-then-next
run enh-8-canext "$ENH_PORT" 8 "$N8" CA-then-next
run enh-8-w8 "$ENHW_PORT" 8 "$N8" CA+AA
run enh-8-w8-canext "$ENHW_PORT" 8 "$N8" CA-then-next
AFTER_RSS=$(rss_mib "$KARAF_PID" VmRSS)
if [ "$PROFILE" = 1 ]; then
  # Only answers when the agent runs with -XX:NativeMemoryTracking=summary (add it to EDGE_JAVA_OPTS).
  jcmd "$KARAF_PID" VM.native_memory summary > "$WORK/nmt.txt" 2>&1 || true
  jcmd "$KARAF_PID" GC.heap_info > "$WORK/heap.txt" 2>&1 || true
fi
HWM=$(rss_mib "$KARAF_PID" VmHWM)
RSS_SPLIT="anon $(rss_mib "$KARAF_PID" RssAnon) MiB, file $(rss_mib "$KARAF_PID" RssFile) MiB, threads $(ls "/proc/$KARAF_PID/task" | wc -l)"

echo
echo "Edge Agent benchmark $( [ "$QUICK" = 1 ] && echo "(quick: figures are rough)" ) on $(nproc) cores, $(date -u +%FT%TZ)"
echo "agent JVM: $(tr '\0' ' ' < "/proc/$KARAF_PID/cmdline" | grep -o -- '-X[^ ]*\|-D\(io\.netty\)[^ ]*' | tr '\n' ' ')"
echo "cold start: ${COLD_LIVE} ms to 'Cloud link LIVE', ${COLD_LISTEN} ms to all three 'Listening on port'   idle RSS (10 s): ${IDLE_RSS} MiB"
echo "measured agent: ${START_NOTE}"
cat <<'LEGEND'

What each run is (all: closed loop, 1.5 KB ADT^A01, every answer checked; msg/s = messages fully answered per second):
  std-C            standard channel, C connections: the next message after the server's AA relayed end to end
  enh-C            enhanced=true, FIFO (maxWorkers=1, default), expect CA+AA: the next message only after BOTH the
                   commit CA (message fsync'd in the queue) and the server's AA; delivery is one message at a time
  enh-C-canext     same FIFO channel, CA-then-next: the next message right after the CA, as an enhanced-mode device
                   does; AAs come later and every one is awaited and checked before the run ends. msg/s counts until
                   the LAST AA (the delivery rate); "CA msg/s" is the intake rate until the last CA; latency = to the AA
  enh-8-w8         enhanced=true&maxWorkers=8 (pipelined first attempts, in arrival order), expect CA+AA
  enh-8-w8-canext  maxWorkers=8 channel, CA-then-next
LEGEND
printf '\n%-16s %5s %8s %9s %9s %9s %9s %9s %9s %9s %10s %10s %s\n' run conns msgs "msg/s" "CA msg/s" "CA p50" "p50 ms" "p95 ms" "p99 ms" "max ms" "RSS peak" "RSS median" result
while IFS= read -r j; do
  [ -z "$j" ] && continue
  us() { awk -v v="$(jget "$j" "$1")" 'BEGIN{ if (v=="") print "-"; else printf "%.3f", v/1000 }'; }
  peak=$(jget "$j" rssPeakKb); peak=${peak:+$(awk -v v="$peak" 'BEGIN{printf "%.1f MiB", v/1024}')}
  med=$(jget "$j" rssMedianKb); med=${med:+$(awk -v v="$med" 'BEGIN{printf "%.1f MiB", v/1024}')}
  okv=$(jget "$j" ok); [ "$okv" = true ] && res=OK || res="FAILED ($(jget "$j" errors) errors, $(jget "$j" timeouts) timeouts)"
  ca=$(jget "$j" caPerSec); ca=${ca:+$(awk -v v="$ca" 'BEGIN{printf "%.0f", v}')}
  printf '%-16s %5s %8s %9.0f %9s %9s %9s %9s %9s %9s %10s %10s %s\n' "$(jget "$j" label)" "$(jget "$j" connections)" "$(jget "$j" messages)" \
    "$(jget "$j" msgPerSec)" "${ca:--}" "$(us firstAnswerP50Us)" "$(us p50Us)" "$(us p95Us)" "$(us p99Us)" "$(us maxUs)" "${peak:--}" "${med:--}" "$res"
done <<<"$CAL$RESULTS"
echo
echo "CPU time per message (user+sys, /proc/PID/stat):"
printf '%s' "$CPU_LINES"
echo "agent RSS after the runs: ${AFTER_RSS} MiB ($RSS_SPLIT), VmHWM (lifetime peak): ${HWM} MiB"
echo "targets (issue 3): >= 2,910 msg/s (stretch 4,365) at 1 conn, >= 10,680 at 8; p99 <= 1.6 ms / 2.85 ms; RSS <= 120 MiB"
echo "target (issue 4): enh-8 (FIFO, CA+AA) >= 3,560 msg/s"
echo "raw results (one JSON line per run):"
printf '%s' "$CAL$RESULTS"

if [ "$PROFILE" = 1 ] && [ -f "$WORK/agent.jfr" ]; then
  KEEP=1
  echo
  echo "JFR (std-8 run): $WORK/agent.jfr and $WORK/hub.jfr"
  grep -E "^(Total|-)|committed=" "$WORK/nmt.txt" 2>/dev/null | grep -E "Total|^-" | head -30 || true
  cat "$WORK/heap.txt" 2>/dev/null || true
  summarise() {
  jfr print --events jdk.ExecutionSample --stack-depth 64 "$WORK/$1.jfr" > "$WORK/$1-samples.txt"
  awk '
    /stackTrace = \[/ { s = 1; top = 1; ours = 0; next }
    s && /^[[:space:]]*\]/ { s = 0; next }
    s {
      f = $0; sub(/^[[:space:]]+/, "", f); sub(/[[:space:]]+line:.*/, "", f)
      if (top) { tops[f]++; n++; top = 0 }
      if (!ours && f ~ /^dev\.edgeagent\./ && f !~ /\.shaded\./) { our[f]++; ours = 1 }
    }
    END {
      printf "'"$1"': %d execution samples\n-- top frames --\n", n
      for (k in tops) printf "%6d %5.1f%%  %s\n", tops[k], 100 * tops[k] / n, k | "sort -rn | head -25"
      close("sort -rn | head -25")
      print "-- first Edge Agent frame on the stack --"
      for (k in our) printf "%6d %5.1f%%  %s\n", our[k], 100 * our[k] / n, k | "sort -rn | head -25"
    }' "$WORK/$1-samples.txt"
  }
  summarise agent
  echo
  summarise hub
fi
if [ "$PROFILE" = 1 ]; then
  echo
  echo "Durable queue group commit (DEBUG summaries from karaf.log, 10 s each):"
  grep -h "Durable queue, last" "$LOG" | sed 's/^.*Durable queue, last/  last/' || echo "  (none logged)"
fi
[ "$FAILED" = 0 ] || { echo "run-bench: at least one run FAILED (see the errors above)" >&2; exit 1; }
