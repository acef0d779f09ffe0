#!/usr/bin/env bash
# HTTP benchmark: the JavaScript route GET /hello (bench/scripts/hello.js) next to the C# baseline
# endpoint GET /engine/baseline/hello, on one server over loopback.
#
#   bash bench/http.sh
#
# Builds the server in Release, starts it on a free 127.0.0.1 port with bench/scripts and the
# baseline endpoint on, waits until /hello answers, warms up, runs wrk against both
# targets, stops the server (always, also on failure or Ctrl-C) and writes bench/results/http.md.
# Every step has a time limit; with the defaults the whole run takes about 80 s after the build.
#
# Settings (environment): BENCH_CONNECTIONS (50), BENCH_DURATION (10 s per run), BENCH_WARMUP
# (15 s per target: a JS route needs about 10 s of load to reach steady state, .NET tiering and V8), BENCH_THREADS (2 wrk threads), BENCH_ROUNDS (3: the targets alternate and the median
# round is reported), BENCH_OUT (bench/results/http.md), BENCH_NO_BUILD=1 to reuse the last build.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
PROJECT="$ROOT/src/AiWebEngine/AiWebEngine.csproj"
APP_DIR="$ROOT/src/AiWebEngine/bin/Release/net10.0"
DLL="$APP_DIR/AiWebEngine.dll"
SCRIPTS="$BENCH_DIR/scripts"
RAW="$BENCH_DIR/results/raw/engine"
OUT="${BENCH_OUT:-$BENCH_DIR/results/http.md}"
HOST=127.0.0.1
READY_TIMEOUT=60

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in dotnet node curl timeout; do
  command -v "$tool" >/dev/null || die "$tool is not on PATH"
done
command -v wrk >/dev/null || die "wrk is not on PATH: it is the load tool of this benchmark (bench/README.md); install it with: apt-get install -y wrk"

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
# Long steps run in the background and are waited for, so that a signal to this script is acted
# on at once (bash runs traps only between foreground commands); cleanup ends them too.
CHILD_PID=""
run_child() {
  "$@" &
  CHILD_PID=$!
  local rc=0
  wait "$CHILD_PID" || rc=$?
  CHILD_PID=""
  return "$rc"
}
cleanup() {
  if [[ -n "$CHILD_PID" ]] && kill -0 "$CHILD_PID" 2>/dev/null; then
    kill -TERM "$CHILD_PID" 2>/dev/null || true
    wait "$CHILD_PID" 2>/dev/null || true
  fi
  stop_server
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 1. The server, in Release.
if [[ "${BENCH_NO_BUILD:-0}" != 1 ]]; then
  log "building the server (Release)"
  run_child timeout 600 dotnet build "$PROJECT" -c Release --nologo -v quiet >&2
fi
[[ -f "$DLL" ]] || die "$DLL is missing (build failed?)"

mkdir -p "$RAW"
SERVER_LOG="$RAW/server.log"

free_port() {
  node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# 2. Start it on a free loopback port and wait until the script route answers. The port is free
#    when chosen; should something take it before the server binds, the server exits and we retry.
BASE=""
for attempt in 1 2 3; do
  PORT="$(free_port)"
  BASE="http://$HOST:$PORT"
  log "starting the server on $BASE (attempt $attempt; log: $SERVER_LOG)"
  # Run from the build output so that its appsettings.json applies (it sets Microsoft.AspNetCore
  # logging to Warning). Started from elsewhere, the content root has no appsettings.json and the
  # framework logs every request at Information, which then dominates the measurement.
  (cd "$APP_DIR" && ASPNETCORE_ENVIRONMENT=Production exec dotnet "$DLL" \
    --scripts "$SCRIPTS" \
    --urls "$BASE" \
    --AiWebEngine:Diagnostics:BaselineEndpoint=true \
    >"$SERVER_LOG" 2>&1) &
  SERVER_PID=$!

  ready=0
  deadline=$((SECONDS + READY_TIMEOUT))
  while ((SECONDS < deadline)); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    body="$(curl -s --max-time 2 "$BASE/hello" 2>/dev/null || true)"
    if [[ "$body" == "Hello, world!" ]]; then
      ready=1
      break
    fi
    sleep 0.2
  done
  if ((ready)); then
    break
  fi
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    tail -n 40 "$SERVER_LOG" >&2 || true
    die "/hello did not answer 'Hello, world!' within ${READY_TIMEOUT} s"
  fi
  log "the server exited before it was ready:"
  tail -n 20 "$SERVER_LOG" >&2 || true
  SERVER_PID=""
  ((attempt < 3)) || die "the server did not start"
done

baseline="$(curl -s --max-time 5 "$BASE/engine/baseline/hello" || true)"
[[ "$baseline" == "Hello, world!" ]] || die "/engine/baseline/hello answered '$baseline' (is the baseline endpoint on?)"
log "ready: /hello and /engine/baseline/hello both answer 'Hello, world!'"

# 3. Load (wrk), checks and report.
CPU_MODEL="$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)"
MACHINE="$(nproc) CPUs ($(nproc --all) total), ${CPU_MODEL:-unknown CPU}, $(uname -sr)"
RUNTIME="$(dotnet --list-runtimes | awk '/^Microsoft.NETCore.App 10\./ { v = $2 } END { print v }')"
DOTNET_INFO="SDK $(dotnet --version), runtime Microsoft.NETCore.App ${RUNTIME:-unknown}, Release build"
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || true)"
if [[ -n "$COMMIT" ]] && ! git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null; then
  COMMIT="$COMMIT (src/ has uncommitted changes)"
fi

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"

per_run=$(( ${BENCH_DURATION:-10} + 15 ))
budget=$(( 60 + 2 * ${BENCH_ROUNDS:-3} * per_run + 2 * (${BENCH_WARMUP:-15} + 15) ))
run_child timeout "$budget" node "$BENCH_DIR/http-bench.mjs" \
  --base "$BASE" --out "$OUT" --raw "$RAW" --summary "$RAW/http-summary.json" \
  --server-pid "$SERVER_PID" --clock-ticks "$(getconf CLK_TCK)" --load-before "$LOAD_BEFORE" \
  --machine "$MACHINE" --dotnet "$DOTNET_INFO" --commit "$COMMIT"

# The framework's per-request Information logs must be off (see the start above).
if grep -q 'Request starting' "$SERVER_LOG"; then
  log "warning: the server logged requests at Information level; the numbers include console logging"
fi

# The server must still be up after the load: a crash under load is a failed benchmark.
kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited during the benchmark (see $SERVER_LOG)"
stop_server
log "wrote ${OUT#"$ROOT"/}"
