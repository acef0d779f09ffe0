#!/usr/bin/env bash
# Streams benchmark: N Server-Sent-Events clients on one stream (bench/streams/scripts/feed.js).
#
#   bash bench/streams.sh                      # the engine
#   BENCH_TARGET=peer bash bench/streams.sh    # the peer: bench/peer (Node.js, hand-written SSE)
#
# Builds the server and the load client (bench/SseLoad) in Release, starts the server on a free
# 127.0.0.1 port, then, each scenario a separate load-client process:
#   fan-out, N = 100, 1 000 and 5 000: one message at a time (the latency of one message to all N),
#   saturation (closed loop: as fast as the slowest client receives) and 100 msg/s, each for 10 s
#   and followed by a drain (100 msg/s is skipped when saturation delivered less than N x 100/s);
#   memory: on a fresh server, 10 000 idle connections, server RSS before and after a settle.
# The server is always stopped (trap), also on failure or Ctrl-C; every step has a time limit
# (about 5 to 7 minutes in all). Writes bench/results/streams.md (the peer: streams-peer.md), raw
# JSON and logs in bench/results/raw/<target>/.
#
# Settings (environment): BENCH_TARGET (engine; or peer), STREAMS_CLIENTS ("100 1000 5000"),
# STREAMS_RATE (100), STREAMS_DURATION (10 s), STREAMS_MODES ("one closed fixed"; also "open":
# saturation in an open loop, which overflows slow clients), STREAMS_IDLE (10000; 0 skips it),
# STREAMS_SETTLE (5 s), STREAMS_QUIET_WAIT (20 s: how long to wait before each scenario for other
# processes to go idle), STREAMS_OUT (bench/results/streams.md), STREAMS_NO_BUILD=1 to reuse the
# last build.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
BENCH_NAME=streams
SCRIPTS="$BENCH_DIR/streams/scripts"
CLIENTS="${STREAMS_CLIENTS:-100 1000 5000}"
RATE="${STREAMS_RATE:-100}"
DURATION="${STREAMS_DURATION:-10}"
MODES="${STREAMS_MODES:-one closed fixed}"
IDLE="${STREAMS_IDLE:-10000}"
SETTLE="${STREAMS_SETTLE:-5}"
QUIET_WAIT="${STREAMS_QUIET_WAIT:-20}"
BENCH_NO_BUILD="${STREAMS_NO_BUILD:-${BENCH_NO_BUILD:-0}}"
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"
OUT="${STREAMS_OUT:-$BENCH_DIR/results/streams$OUT_SUFFIX.md}"

# 10 000 connections need 10 000 descriptors in the server and as many in the load client.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(( $(ulimit -n) >= IDLE + 1000 )) || die "ulimit -n is $(ulimit -n); $IDLE idle connections need more"

# 1. Build (Release).
build_all
mkdir -p "$RAW"
rm -f "$RAW"/streams-*.json

# 2. The server is ready when /health shows the /feed stream.
feed_ready() {
  local body
  body="$(curl -s --max-time 2 "$BASE/health" 2>/dev/null || true)"
  [[ "$body" == *'"paths":1'* ]] && log "ready: $body"
}

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
START_DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"

# 3. Fan-out.
start_server fanout feed_ready
# One unrecorded round first: the server's tiered JIT, thread pool and pools reach steady state.
settle
log "warm-up round (not recorded)"
load 90 fanout --port "$PORT" --server-pid "$SERVER_PID" --clk-tck "$CLK_TCK" \
  --clients 500 --mode open --duration 5 --name warm-up --out "$RAW/warm-up.json" --deadline 80 >&2
rm -f "$RAW/warm-up.json"

SKIPPED=()
n=0
for clients in $CLIENTS; do
  saturation=""
  for mode in $MODES; do
    n=$((n + 1))
    name="$(mode_name "$mode")"
    json="$RAW/streams-$(printf %02d "$n")-$mode-$clients.json"
    if [[ "$mode" == fixed && -n "$saturation" ]] && ! fixed_feasible "$saturation" "$clients"; then
      log "fan-out: $clients clients, $name: skipped (saturation delivered less than $((clients * RATE))/s)"
      SKIPPED+=("$name with $clients clients: skipped, saturation delivered $(jq -r '.DeliveriesPerSecond | floor' "$saturation")/s, less than the $((clients * RATE))/s it needs")
      continue
    fi
    settle
    log "fan-out: $clients clients, $name, ${DURATION} s"
    # shellcheck disable=SC2046
    load $((DURATION + 240)) fanout --port "$PORT" --server-pid "$SERVER_PID" --clk-tck "$CLK_TCK" \
      --clients "$clients" $(mode_args "$mode") --rate "$RATE" --duration "$DURATION" --name "$name" \
      --out "$json" --deadline $((DURATION + 230)) >&2
    [[ "$mode" == closed || "$mode" == open ]] && saturation="$json"
    kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited during the fan-out (see $SERVER_LOG)"
  done
done
FANOUT_LOG="$SERVER_LOG"
stop_server

# 4. Memory per idle connection, on a fresh server.
if ((IDLE > 0)); then
  start_server memory feed_ready
  settle
  log "memory: $IDLE idle connections"
  load $((4 * SETTLE + 120)) idle --port "$PORT" --server-pid "$SERVER_PID" --clk-tck "$CLK_TCK" \
    --clients "$IDLE" --settle "$SETTLE" --out "$RAW/streams-idle-$IDLE.json" --deadline $((4 * SETTLE + 110)) >&2
  kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited during the memory test (see $SERVER_LOG)"
  stop_server
fi

# 5. The report.
describe_machine
MACHINE="$MACHINE; load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"

NOTES="$RAW/streams-notes.md"
{
  for skipped in "${SKIPPED[@]}"; do echo "- $skipped."; done
  echo "Server log (fan-out server): $(grep -c '' "$FANOUT_LOG") lines; warnings/errors: $(grep -ciE 'warn|fail|error|crit' "$FANOUT_LOG" || true)."
  grep -iE 'warn|fail|error|crit' "$FANOUT_LOG" | sort | uniq -c | sort -rn | head -5 | sed 's/^/    /' || true
} >"$NOTES"

shopt -s nullglob
results=("$RAW"/streams-[0-9][0-9]-*.json "$RAW"/streams-idle-*.json)
shopt -u nullglob
if [[ "$TARGET" == peer ]]; then
  title="Streams benchmark, the peer: SSE fan-out on one stream (hand-written Node.js SSE)"
  server="$PEER_COMMAND"
else
  title="Streams benchmark: SSE fan-out on one stream"
  server="dotnet AiWebEngine.dll --scripts bench/streams/scripts --urls http://127.0.0.1:<free port> (defaults: QueueCapacity 1024, ReplayDepth 256, MaxConnections 20000)"
fi
load 60 report --title "$title" --command "${BENCH_TARGET:+BENCH_TARGET=$BENCH_TARGET }bash bench/streams.sh" --out "$OUT" --date "$START_DATE" --machine "$MACHINE" --dotnet "$DOTNET_INFO" --commit "${COMMIT:-?}" \
  --server "$server" --notes "$NOTES" "${results[@]}"
log "wrote ${OUT#"$ROOT"/} (raw JSON and server logs: ${RAW#"$ROOT"/}/streams-*)"
