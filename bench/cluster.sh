#!/usr/bin/env bash
# Cluster benchmark: SSE fan-out to N clients on one instance (in-memory bus) vs the same N clients
# spread over three instances on a Redis backplane (AiWebEngine:Bus:Redis).
#
#   bash bench/cluster.sh
#
# Builds the server and the load client (bench/SseLoad) in Release, then, each scenario a separate
# load-client process publishing on one instance (POST /publish of bench/streams/scripts/feed.js):
#   single:  1 instance, in-memory bus, N clients (default 3 000);
#   cluster: 3 instances on a redis-server of its own (loopback, no persistence), N/3 clients each,
#            messages published on instance 1 and delivered by all three;
# each at 100 msg/s for 10 s, then at saturation for 10 s. Deliveries/s and publish-to-receive
# latency (p50/p99) are measured by the load client on one clock; losses come from sequence numbers.
# Server CPU and RSS in the report are instance 1's. Every process it starts (servers, redis-server,
# load client) is stopped on exit, also on failure or Ctrl-C. Writes bench/results/cluster.md, raw
# JSON and logs in bench/results/raw/. Needs redis-server (apt-get install redis-server).
#
# Settings (environment): CLUSTER_CLIENTS (3000, divisible by 3), CLUSTER_RATE (100),
# CLUSTER_DURATION (10 s), CLUSTER_MODES ("fixed open"), CLUSTER_QUIET_WAIT (20 s: how long to wait
# before each scenario for other processes to go idle), CLUSTER_OUT (bench/results/cluster.md),
# CLUSTER_NO_BUILD=1 to reuse the last build.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
BENCH_NAME=cluster
SCRIPTS="$BENCH_DIR/streams/scripts"
RAW="$BENCH_DIR/results/raw"
OUT="${CLUSTER_OUT:-$BENCH_DIR/results/cluster.md}"
CLIENTS="${CLUSTER_CLIENTS:-3000}"
RATE="${CLUSTER_RATE:-100}"
DURATION="${CLUSTER_DURATION:-10}"
MODES="${CLUSTER_MODES:-fixed open}"
QUIET_WAIT="${CLUSTER_QUIET_WAIT:-20}"
BENCH_NO_BUILD="${CLUSTER_NO_BUILD:-${BENCH_NO_BUILD:-0}}"
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

command -v redis-server >/dev/null || die "redis-server is not on PATH (apt-get install redis-server)"
(( CLIENTS % 3 == 0 )) || die "CLUSTER_CLIENTS ($CLIENTS) must be divisible by 3"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# Besides lib.sh's server: the other instances and redis-server, always stopped.
EXTRA_PIDS=()
REDIS_PID=""
REDIS_DIR=""
cluster_cleanup() {
  cleanup
  local pid
  for pid in "${EXTRA_PIDS[@]}"; do
    SERVER_PID="$pid" stop_server
  done
  EXTRA_PIDS=()
  if [[ -n "$REDIS_PID" ]] && kill -0 "$REDIS_PID" 2>/dev/null; then
    log "stopping redis-server (pid $REDIS_PID)"
    kill -TERM "$REDIS_PID" 2>/dev/null || true
    wait "$REDIS_PID" 2>/dev/null || true
  fi
  REDIS_PID=""
  [[ -n "$REDIS_DIR" ]] && rm -rf "$REDIS_DIR"
  REDIS_DIR=""
}
trap cluster_cleanup EXIT

build_all
mkdir -p "$RAW"
rm -f "$RAW"/cluster-*.json

feed_ready() {
  local body
  body="$(curl -s --max-time 2 "$BASE/health" 2>/dev/null || true)"
  [[ "$body" == *'"paths":1'* ]] && log "ready: $body"
}

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
START_DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"

# fanout NAME-PREFIX FILE-PREFIX [--client-ports …]: one scenario per mode, publishing on $PORT.
n=0
fanout() {
  local label="$1" file="$2" mode name
  shift 2
  for mode in $MODES; do
    n=$((n + 1))
    case "$mode" in
      fixed) name="$label, $RATE msg/s" ;;
      open) name="$label, saturation" ;;
      closed) name="$label, saturation, closed loop" ;;
      *) die "unknown mode $mode" ;;
    esac
    settle
    log "fan-out: $name, ${DURATION} s"
    load $((DURATION + 120)) fanout --port "$PORT" --server-pid "$SERVER_PID" --clk-tck "$CLK_TCK" \
      --clients "$CLIENTS" --mode "$mode" --rate "$RATE" --duration "$DURATION" --name "$name" \
      --out "$RAW/cluster-$(printf %02d "$n")-$file-$mode.json" --deadline $((DURATION + 110)) "$@" >&2
    kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited during the fan-out (see $SERVER_LOG)"
  done
}

# 1. One instance, in-memory bus, all the clients.
start_server single feed_ready
settle
log "warm-up round (not recorded)"
load 90 fanout --port "$PORT" --server-pid "$SERVER_PID" --clk-tck "$CLK_TCK" \
  --clients 500 --mode open --duration 5 --name warm-up --out "$RAW/warm-up.json" --deadline 80 >&2
rm -f "$RAW/warm-up.json"
fanout "1 instance × $CLIENTS clients" single
SINGLE_LOG="$SERVER_LOG"
stop_server

# 2. redis-server of its own, then three instances on it.
REDIS_PORT="$(timeout 30 dotnet "$LOAD" port)"
REDIS_DIR="$(mktemp -d)"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$REDIS_DIR" \
  >"$RAW/cluster-redis.log" 2>&1 &
REDIS_PID=$!
redis_ping() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "PING\r\n" >&3 && IFS= read -r -t 1 line <&3 && [[ "$line" == "+PONG"* ]]' _ "$REDIS_PORT" 2>/dev/null
}
for _ in $(seq 1 100); do
  redis_ping && break
  sleep 0.1
done
redis_ping || die "redis-server did not answer on 127.0.0.1:$REDIS_PORT (see $RAW/cluster-redis.log)"
log "redis-server on 127.0.0.1:$REDIS_PORT (pid $REDIS_PID)"
BUS=(--AiWebEngine:Bus:Redis "127.0.0.1:$REDIS_PORT")

PORTS=()
for i in 3 2 1; do
  start_server "instance$i" feed_ready "${BUS[@]}"
  PORTS=("$PORT" "${PORTS[@]}")
  if ((i > 1)); then
    EXTRA_PIDS+=("$SERVER_PID")
    SERVER_PID=""
  fi
done
# Instance 1 (the last started) publishes and is sampled; the clients go round-robin to all three.
CLUSTER_LOG="$SERVER_LOG"
fanout "3 instances × $((CLIENTS / 3)) clients (Redis)" cluster --client-ports "$(IFS=,; echo "${PORTS[*]}")"
cluster_cleanup
trap - EXIT
trap cleanup EXIT

# 3. The report.
describe_machine
MACHINE="$MACHINE; load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"
NOTES="$RAW/cluster-notes.md"
{
  echo "Redis: $(redis-server --version | cut -d' ' -f1-3), loopback, no persistence. Server CPU and RSS columns are instance 1's (the publishing one)."
  for f in "$SINGLE_LOG" "$CLUSTER_LOG"; do
    echo "Server log ${f#"$ROOT"/}: $(grep -c '' "$f") lines; warnings/errors: $(grep -ciE 'warn|fail|error|crit' "$f" || true)."
  done
} >"$NOTES"

results=("$RAW"/cluster-[0-9][0-9]-*.json)
load 60 report --title "Cluster benchmark: SSE fan-out, one instance vs three on Redis" --command "bash bench/cluster.sh" --out "$OUT" --date "$START_DATE" --machine "$MACHINE" --dotnet "$DOTNET_INFO" --commit "${COMMIT:-?}" \
  --server "dotnet AiWebEngine.dll --scripts bench/streams/scripts --urls http://127.0.0.1:<free port> [--AiWebEngine:Bus:Redis 127.0.0.1:<port>] (defaults otherwise)" \
  --notes "$NOTES" "${results[@]}"
log "wrote ${OUT#"$ROOT"/} (raw JSON and server logs: ${RAW#"$ROOT"/}/cluster-*)"
