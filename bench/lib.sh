# Shared by bench/streams.sh and bench/graphql.sh (sourced, not run): logging, the Release builds,
# the server's start and stop, and child processes that a signal ends at once.
#
# The caller sets BENCH_NAME, ROOT, BENCH_DIR and SCRIPTS before sourcing this file; RAW (where raw
# JSON and logs go) is set here, per target.
#
# BENCH_TARGET picks the server under test: `engine` (default: AiWebEngine, Release build, with the
# caller's SCRIPTS) or `peer` (bench/peer/server.mjs: GraphQL Yoga 5 on Node.js with the same
# workload; SCRIPTS is then unused). The load clients and the report are the same for both.

APP_DIR="$ROOT/src/AiWebEngine/bin/Release/net10.0"
DLL="$APP_DIR/AiWebEngine.dll"
LOAD="$BENCH_DIR/SseLoad/bin/Release/net10.0/SseLoad.dll"
CLK_TCK="$(getconf CLK_TCK)"
READY_TIMEOUT=60
TARGET="${BENCH_TARGET:-engine}"
case "$TARGET" in
  engine | peer) ;;
  *) printf 'BENCH_TARGET must be engine or peer, got %s\n' "$TARGET" >&2; exit 2 ;;
esac
RAW="$BENCH_DIR/results/raw/$TARGET"
PEER_DIR="$BENCH_DIR/peer"
# Results of the peer go next to the engine's, with this suffix (streams-peer.md, graphql-peer.md).
OUT_SUFFIX=""
[[ "$TARGET" == peer ]] && OUT_SUFFIX="-peer"
PEER_COMMAND="node bench/peer/server.mjs --port <free port> (GraphQL Yoga 5; one process, as Node runs)"

# Warm-up messages each fan-out scenario publishes to all N clients before measuring (JIT, buffers).
# The peer delivers 10-50 times slower, so it gets fewer: 20 x 5 000 clients is already 100 000
# deliveries (several seconds for Yoga).
WARMUP_MESSAGES="${BENCH_WARMUP_MESSAGES:-$([[ "$TARGET" == peer ]] && echo 20 || echo 100)}"

# mode_name MODE: the scenario's name in the reports. Modes: fixed (RATE msg/s), one (one message at
# a time: the next is published when every client has the last; the latency of one message to all),
# closed (saturation without overflow: at most 64 messages not yet received by every client), open
# (saturation, open loop: as fast as the server answers /publish, overflowing slow clients).
mode_name() {
  case "$1" in
    fixed) echo "$RATE msg/s" ;;
    one) echo "one at a time" ;;
    closed) echo "saturation" ;;
    open) echo "saturation, open loop" ;;
    *) die "unknown mode $1 (fixed, one, closed or open)" ;;
  esac
}

# mode_args MODE: SseLoad's options for it.
# The drain (after the last publish, until every client has the last message) goes on while
# deliveries keep arriving, up to 90 s, and stops after 10 s without one: at saturation 64 messages
# to 5 000 clients are 320 000 deliveries still on their way, 20 s or more for the peer; what has
# not arrived by then counts as lost.
mode_args() {
  case "$1" in
    one) echo "--mode closed --inflight 1 --warmup $WARMUP_MESSAGES --drain 10 --drain-max 90" ;;
    *) echo "--mode $1 --warmup $WARMUP_MESSAGES --drain 10 --drain-max 90" ;;
  esac
}

# fixed_feasible JSON CLIENTS: whether the saturation result in JSON delivered at least CLIENTS x RATE
# per second; a fixed rate above what the server sustains only measures an ever-growing queue (and
# can take minutes to drain), so it is skipped and the report says so.
fixed_feasible() {
  local json="$1" clients="$2" rate
  [[ -f "$json" ]] || return 0
  rate="$(jq -r '.DeliveriesPerSecond' "$json")"
  awk -v r="$rate" -v need="$((clients * RATE))" 'BEGIN { exit !(r >= need) }'
}

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log() { printf '[%s %s] %s\n' "$BENCH_NAME" "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in dotnet curl timeout getconf jq; do
  command -v "$tool" >/dev/null || die "$tool is not on PATH"
done

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

# Long steps run in the background and are waited for, so that a signal to this script is acted on
# at once (bash runs traps only between foreground commands); the cleanup ends them too.
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

# SseLoad with a time limit (its own --deadline ends it earlier). Its clients read their sockets on a
# dedicated io_uring thread (--io uring, the default; epoll if io_uring is unavailable); SSELOAD_IO=epoll
# or SSELOAD_IO=async in the environment selects the older paths, to compare them (bench/README.md).
load() { local limit="$1"; shift; run_child timeout "$limit" dotnet "$LOAD" "$@"; }

# require_wrk: the load tool of the query phases (http.sh, graphql.sh) must be installed.
require_wrk() {
  command -v wrk >/dev/null || die "wrk is not on PATH: it is the load tool of the query phases (bench/README.md); install it with: apt-get install -y wrk"
}

# npm_ci DIR: installs DIR's packages (pinned by its package-lock.json) unless PACKAGE is there.
npm_ci() {
  local dir="$1" package="$2"
  if [[ ! -f "$dir/node_modules/$package/package.json" ]]; then
    command -v npm >/dev/null || die "npm is not on PATH"
    log "installing ${dir#"$ROOT"/}'s packages (npm ci)"
    run_child timeout 300 npm ci --prefix "$dir" --no-audit --no-fund >&2
  fi
}

# build_all: the server (engine) or the peer's packages, and SseLoad in Release (the builds are
# skipped with BENCH_NO_BUILD=1).
build_all() {
  if [[ "$TARGET" == peer ]]; then
    command -v node >/dev/null || die "node is not on PATH"
    npm_ci "$PEER_DIR" graphql-yoga
  fi
  if [[ "${BENCH_NO_BUILD:-0}" != 1 ]]; then
    log "building the server and the load client (Release)"
    if [[ "$TARGET" == engine ]]; then
      run_child timeout 600 dotnet build "$ROOT/src/AiWebEngine/AiWebEngine.csproj" -c Release --nologo -v quiet >&2
    fi
    run_child timeout 300 dotnet build "$BENCH_DIR/SseLoad/SseLoad.csproj" -c Release --nologo -v quiet >&2
  fi
  [[ "$TARGET" == peer || -f "$DLL" ]] || die "$DLL is missing (build failed?)"
  [[ -f "$LOAD" ]] || die "$LOAD is missing (build failed?)"
}

# start_server NAME READY_FUNCTION [server options…]: starts the server (the peer: with $PEER_NODE_FLAGS
# for node) with $SCRIPTS on a free
# loopback port (sets PORT, BASE, SERVER_PID, SERVER_LOG) and waits until READY_FUNCTION succeeds.
# Should the port be taken before the server binds, the server exits and another port is tried.
BASE=""
PORT=""
SERVER_LOG=""
start_server() {
  local name="$1" ready="$2" attempt
  shift 2
  SERVER_LOG="$RAW/$BENCH_NAME-server-$name.log"
  for attempt in 1 2 3; do
    PORT="$(timeout 30 dotnet "$LOAD" port)"
    BASE="http://127.0.0.1:$PORT"
    log "starting the $TARGET on $BASE (attempt $attempt; log: ${SERVER_LOG#"$ROOT"/})"
    if [[ "$TARGET" == peer ]]; then
      # shellcheck disable=SC2086
      (cd "$PEER_DIR" && NODE_ENV=production exec node ${PEER_NODE_FLAGS:-} server.mjs --port "$PORT" "$@" >"$SERVER_LOG" 2>&1) &
    else
      # The load clients are a few loopback addresses holding thousands of connections: per-client
      # rate limits (AiWebEngine:RateLimits) would refuse them, so the benchmarks run without.
      # From the build output, so that its appsettings.json applies (Microsoft.AspNetCore logs at
      # Warning); from elsewhere the framework logs every request at Information (see bench/http.sh).
      (cd "$APP_DIR" && ASPNETCORE_ENVIRONMENT=Production exec dotnet "$DLL" --scripts "$SCRIPTS" --urls "$BASE" --AiWebEngine:RateLimits:Enabled=false "$@" \
        >"$SERVER_LOG" 2>&1) &
    fi
    SERVER_PID=$!
    local deadline=$((SECONDS + READY_TIMEOUT))
    while ((SECONDS < deadline)); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      if "$ready"; then
        return 0
      fi
      sleep 0.2
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      tail -n 40 "$SERVER_LOG" >&2 || true
      die "the server was not ready within ${READY_TIMEOUT} s ($ready)"
    fi
    log "the server exited before it was ready:"
    tail -n 20 "$SERVER_LOG" >&2 || true
    SERVER_PID=""
  done
  die "the server did not start"
}

# Waits for the previous scenario's stream connections to be gone and for other processes to be idle.
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

# The environment of a run, for the report.
describe_machine() {
  local cpu runtime
  cpu="$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)"
  MACHINE="$(nproc) CPUs, ${cpu:-unknown CPU}, $(free -g | awk '/^Mem:/ { print $2 }') GiB, $(uname -sr)"
  runtime="$(dotnet --list-runtimes | awk '/^Microsoft.NETCore.App 10\./ { v = $2 } END { print v }')"
  DOTNET_INFO="SDK $(dotnet --version), runtime Microsoft.NETCore.App ${runtime:-unknown}, Release builds, workstation GC"
  if [[ "$TARGET" == peer ]]; then
    DOTNET_INFO="server: node $(node --version), graphql-yoga $(cd "$PEER_DIR" && node -p 'require("./node_modules/graphql-yoga/package.json").version' 2>/dev/null || echo '?') (bench/peer); load client: $DOTNET_INFO"
  fi
  COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || true)"
  if [[ -n "$COMMIT" ]] && ! git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null; then
    COMMIT="$COMMIT (src/ has uncommitted changes)"
  fi
}
