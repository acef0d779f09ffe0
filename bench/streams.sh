#!/usr/bin/env bash
# Streams benchmark: N Server-Sent-Events clients on one stream (bench/streams/scripts/feed.js).
#
#   bash bench/streams.sh
#
# Builds the server and the load client (bench/SseLoad) in Release, starts the server on a free
# 127.0.0.1 port, then, each scenario a separate load-client process:
#   fan-out, N = 1 000 and 5 000: 100 msg/s for 10 s, then saturation (as fast as the server takes
#   them) for 10 s, each followed by a drain;
#   memory: on a fresh server, 10 000 idle connections, server RSS before and after a settle.
# The server is always stopped (trap), also on failure or Ctrl-C; every step has a time limit
# (about 3 to 5 minutes in all). Writes bench/results/streams.md, raw JSON and logs in
# bench/results/raw/.
#
# Settings (environment): STREAMS_CLIENTS ("1000 5000"), STREAMS_RATE (100), STREAMS_DURATION (10 s),
# STREAMS_MODES ("fixed open"; also "closed"), STREAMS_IDLE (10000), STREAMS_SETTLE (5 s),
# STREAMS_QUIET_WAIT (20 s: how long to wait before each scenario for other processes to go idle),
# STREAMS_OUT (bench/results/streams.md), STREAMS_NO_BUILD=1 to reuse the last build.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
APP_DIR="$ROOT/src/AiWebEngine/bin/Release/net10.0"
DLL="$APP_DIR/AiWebEngine.dll"
LOAD_DIR="$BENCH_DIR/SseLoad/bin/Release/net10.0"
LOAD="$LOAD_DIR/SseLoad.dll"
SCRIPTS="$BENCH_DIR/streams/scripts"
RAW="$BENCH_DIR/results/raw"
OUT="${STREAMS_OUT:-$BENCH_DIR/results/streams.md}"
CLIENTS="${STREAMS_CLIENTS:-1000 5000}"
RATE="${STREAMS_RATE:-100}"
DURATION="${STREAMS_DURATION:-10}"
MODES="${STREAMS_MODES:-fixed open}"
IDLE="${STREAMS_IDLE:-10000}"
SETTLE="${STREAMS_SETTLE:-5}"
QUIET_WAIT="${STREAMS_QUIET_WAIT:-20}"
CLK_TCK="$(getconf CLK_TCK)"
READY_TIMEOUT=60

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log() { printf '[streams %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in dotnet curl timeout getconf; do
  command -v "$tool" >/dev/null || die "$tool is not on PATH"
done

# 10 000 connections need 10 000 descriptors in the server and as many in the load client.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(( $(ulimit -n) >= IDLE + 1000 )) || die "ulimit -n is $(ulimit -n); $IDLE idle connections need more"

SERVER_PID=""
stop_server() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    log "stopping the server (pid $SERVER_PID)"
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      log "the server did not stop in 10 s; killing it"
      kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
trap stop_server EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 1. Build (Release).
if [[ "${STREAMS_NO_BUILD:-0}" != 1 ]]; then
  log "building the server and the load client (Release)"
  timeout 600 dotnet build "$ROOT/src/AiWebEngine/AiWebEngine.csproj" -c Release --nologo -v quiet >&2
  timeout 300 dotnet build "$BENCH_DIR/SseLoad/SseLoad.csproj" -c Release --nologo -v quiet >&2
fi
[[ -f "$DLL" ]] || die "$DLL is missing (build failed?)"
[[ -f "$LOAD" ]] || die "$LOAD is missing (build failed?)"

mkdir -p "$RAW"
rm -f "$RAW"/streams-*.json

load() { timeout 60 dotnet "$LOAD" "$@"; }

# 2. The server on a free loopback port; /health must answer with the /feed stream registered.
#    Should the port be taken before the server binds, the server exits and we try another.
BASE=""
PORT=""
start_server() {
  local name="$1" attempt
  SERVER_LOG="$RAW/streams-server-$name.log"
  for attempt in 1 2 3; do
    PORT="$(load port)"
    BASE="http://127.0.0.1:$PORT"
    log "starting the server on $BASE (attempt $attempt; log: ${SERVER_LOG#"$ROOT"/})"
    # From the build output, so that its appsettings.json applies (Microsoft.AspNetCore logs at
    # Warning); from elsewhere the framework logs every request at Information (see bench/http.sh).
    (cd "$APP_DIR" && ASPNETCORE_ENVIRONMENT=Production exec dotnet "$DLL" --scripts "$SCRIPTS" --urls "$BASE" \
      >"$SERVER_LOG" 2>&1) &
    SERVER_PID=$!
    local deadline=$((SECONDS + READY_TIMEOUT)) body
    while ((SECONDS < deadline)); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      body="$(curl -s --max-time 2 "$BASE/health" 2>/dev/null || true)"
      if [[ "$body" == *'"paths":1'* ]]; then
        log "ready: $body"
        return 0
      fi
      sleep 0.2
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      tail -n 40 "$SERVER_LOG" >&2 || true
      die "/health did not show the /feed stream within ${READY_TIMEOUT} s"
    fi
    log "the server exited before it was ready:"
    tail -n 20 "$SERVER_LOG" >&2 || true
    SERVER_PID=""
  done
  die "the server did not start"
}

# Waits for the previous scenario's connections to be gone and for other processes to be idle.
settle() {
  local deadline=$((SECONDS + 15))
  while ((SECONDS < deadline)); do
    [[ "$(curl -s --max-time 2 "$BASE/health" || true)" == *'"connections":0'* ]] && break
    sleep 0.5
  done
  local others
  others="$(timeout $((QUIET_WAIT + 10)) dotnet "$LOAD" quiet --server-pid "$SERVER_PID" --clk-tck "$CLK_TCK" \
    --max-wait "$QUIET_WAIT" --threshold 0.25 || echo "?")"
  log "other processes: $others cores over the last second"
}

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
START_DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"

# 3. Fan-out.
start_server fanout
# One unrecorded round first: the server's tiered JIT, thread pool and pools reach steady state.
settle
log "warm-up round (not recorded)"
timeout 90 dotnet "$LOAD" fanout --port "$PORT" --server-pid "$SERVER_PID" --clk-tck "$CLK_TCK" \
  --clients 500 --mode open --duration 5 --name warm-up --out "$RAW/warm-up.json" --deadline 80 >&2
rm -f "$RAW/warm-up.json"

n=0
for clients in $CLIENTS; do
  for mode in $MODES; do
    n=$((n + 1))
    case "$mode" in
      fixed) name="$RATE msg/s" ;;
      open) name="saturation" ;;
      closed) name="saturation, closed loop" ;;
      *) die "unknown mode $mode" ;;
    esac
    settle
    log "fan-out: $clients clients, $name, ${DURATION} s"
    timeout $((DURATION + 120)) dotnet "$LOAD" fanout --port "$PORT" --server-pid "$SERVER_PID" --clk-tck "$CLK_TCK" \
      --clients "$clients" --mode "$mode" --rate "$RATE" --duration "$DURATION" --name "$name" \
      --out "$RAW/streams-$(printf %02d "$n")-$mode-$clients.json" --deadline $((DURATION + 110)) >&2
    kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited during the fan-out (see $SERVER_LOG)"
  done
done
FANOUT_LOG="$SERVER_LOG"
stop_server

# 4. Memory per idle connection, on a fresh server.
start_server memory
settle
log "memory: $IDLE idle connections"
timeout $((4 * SETTLE + 120)) dotnet "$LOAD" idle --port "$PORT" --server-pid "$SERVER_PID" --clk-tck "$CLK_TCK" \
  --clients "$IDLE" --settle "$SETTLE" --out "$RAW/streams-idle-$IDLE.json" --deadline $((4 * SETTLE + 110)) >&2
kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited during the memory test (see $SERVER_LOG)"
stop_server

# 5. The report.
CPU_MODEL="$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)"
MACHINE="$(nproc) CPUs, ${CPU_MODEL:-unknown CPU}, $(free -g | awk '/^Mem:/ { print $2 }') GiB, $(uname -sr); load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"
RUNTIME="$(dotnet --list-runtimes | awk '/^Microsoft.NETCore.App 10\./ { v = $2 } END { print v }')"
DOTNET_INFO="SDK $(dotnet --version), runtime Microsoft.NETCore.App ${RUNTIME:-unknown}, Release builds, workstation GC"
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || true)"
if [[ -n "$COMMIT" ]] && ! git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null; then
  COMMIT="$COMMIT (src/ has uncommitted changes)"
fi

NOTES="$RAW/streams-notes.md"
{
  echo "Server log (fan-out server): $(grep -c '' "$FANOUT_LOG") lines; warnings/errors: $(grep -ciE 'warn|fail|error|crit' "$FANOUT_LOG" || true)."
  grep -iE 'warn|fail|error|crit' "$FANOUT_LOG" | sort | uniq -c | sort -rn | head -5 | sed 's/^/    /' || true
} >"$NOTES"

results=("$RAW"/streams-[0-9][0-9]-*.json "$RAW"/streams-idle-*.json)
load report --out "$OUT" --date "$START_DATE" --machine "$MACHINE" --dotnet "$DOTNET_INFO" --commit "${COMMIT:-?}" \
  --server "dotnet AiWebEngine.dll --scripts bench/streams/scripts --urls http://127.0.0.1:<free port> (defaults: QueueCapacity 1024, ReplayDepth 256, MaxConnections 20000)" \
  --notes "$NOTES" "${results[@]}"
log "wrote ${OUT#"$ROOT"/}"
