#!/usr/bin/env bash
# GraphQL benchmark (bench/graphql/scripts/bench.js):
#   (a) queries/s of `{ hello }` over POST /graphql, answered by a JavaScript resolver
#       (registerGraphQLQuery), next to the JavaScript HTTP route GET /hello of the same script
#       (autocannon, bench/graphql-bench.mjs);
#   (b) subscription fan-out: N graphql-sse clients (distinct connections mode, POST /graphql/sse
#       with `subscription { benchTick }`), events triggered by POST /publish, whose handler calls
#       sendSubscriptionMessage("benchTick", body) (bench/SseLoad --protocol graphql-sse): at a
#       fixed 100 msg/s and at saturation, deliveries/s, publish-to-receive latency, losses.
#
#   bash bench/graphql.sh          # about 4 minutes after the build
#
# Builds the server and bench/SseLoad in Release, installs autocannon (npm ci) if needed, starts
# the server on a free 127.0.0.1 port, runs (a) then (b) on it, stops it (always: trap, also on
# failure or Ctrl-C; every step has a time limit) and writes bench/results/graphql.md; raw JSON and
# the server log go to bench/results/raw/ (not committed).
#
# Settings (environment): GRAPHQL_CONNECTIONS (50), GRAPHQL_DURATION (10 s per query run),
# GRAPHQL_WARMUP (5 s), GRAPHQL_PIPELINING (1), GRAPHQL_ROUNDS (3); GRAPHQL_CLIENTS ("1000"),
# GRAPHQL_RATE (100), GRAPHQL_FANOUT_DURATION (10 s), GRAPHQL_MODES ("fixed open"; also "closed"),
# GRAPHQL_QUIET_WAIT (20 s: how long to wait before each fan-out scenario for other processes to
# go idle), GRAPHQL_OUT (bench/results/graphql.md), BENCH_NO_BUILD=1 to reuse the last build.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
BENCH_NAME=graphql
SCRIPTS="$BENCH_DIR/graphql/scripts"
RAW="$BENCH_DIR/results/raw"
OUT="${GRAPHQL_OUT:-$BENCH_DIR/results/graphql.md}"
CLIENTS="${GRAPHQL_CLIENTS:-1000}"
RATE="${GRAPHQL_RATE:-100}"
DURATION="${GRAPHQL_FANOUT_DURATION:-10}"
MODES="${GRAPHQL_MODES:-fixed open}"
QUIET_WAIT="${GRAPHQL_QUIET_WAIT:-20}"
QUERY="subscription { benchTick }"
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"
command -v node >/dev/null || die "node is not on PATH"
command -v npm >/dev/null || die "npm is not on PATH"

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# 1. autocannon (pinned by bench/package-lock.json), the builds.
if [[ ! -f "$BENCH_DIR/node_modules/autocannon/package.json" ]]; then
  log "installing autocannon (npm ci)"
  run_child timeout 300 npm ci --prefix "$BENCH_DIR" --no-audit --no-fund >&2
fi
build_all
mkdir -p "$RAW"
rm -f "$RAW"/graphql-*.json "$RAW/graphql-queries.md"

# 2. The server is ready when the resolver answers.
graphql_ready() {
  local body
  body="$(curl -s --max-time 2 -H 'content-type: application/json' -d '{"query":"{ hello }"}' "$BASE/graphql" 2>/dev/null || true)"
  [[ "$body" == '{"data":{"hello":"Hello, world!"}}' ]] && log "ready: POST /graphql { hello } answered $body"
}

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
START_DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"
start_server run graphql_ready

# 3. Queries.
q_rounds="${GRAPHQL_ROUNDS:-3}"
q_budget=$((60 + 2 * q_rounds * (${GRAPHQL_DURATION:-10} + 15) + 2 * (${GRAPHQL_WARMUP:-5} + 15)))
log "queries: autocannon, POST /graphql { hello } and GET /hello"
run_child timeout "$q_budget" node "$BENCH_DIR/graphql-bench.mjs" --base "$BASE" --out "$RAW/graphql-queries.md" \
  --raw "$RAW" --server-pid "$SERVER_PID" --clock-ticks "$CLK_TCK" >/dev/null
kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited during the queries (see $SERVER_LOG)"

# 4. Subscription fan-out. One unrecorded round first (JIT, pools).
fanout() {
  load "$1" fanout --protocol graphql-sse --path /graphql/sse --query "$QUERY" --publish-path /publish \
    --port "$PORT" --server-pid "$SERVER_PID" --clk-tck "$CLK_TCK" --deadline $(($1 - 10)) "${@:2}" >&2
}
settle
log "fan-out warm-up round (not recorded)"
fanout 90 --clients 300 --mode open --duration 5 --name warm-up --out "$RAW/graphql-warm-up.json"
rm -f "$RAW/graphql-warm-up.json"
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
    log "subscription fan-out: $clients graphql-sse clients, $name, ${DURATION} s"
    fanout $((DURATION + 120)) --clients "$clients" --mode "$mode" --rate "$RATE" --duration "$DURATION" --name "$name" \
      --out "$RAW/graphql-$(printf %02d "$n")-$mode-$clients.json"
    kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited during the fan-out (see $SERVER_LOG)"
  done
done
stop_server

# 5. The report.
describe_machine
MACHINE="$MACHINE; load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"
NOTES="$RAW/graphql-notes.md"
{
  echo "Server log: $(grep -c '' "$SERVER_LOG") lines; warnings/errors: $(grep -ciE 'warn|fail|error|crit' "$SERVER_LOG" || true)."
  grep -iE 'warn|fail|error|crit' "$SERVER_LOG" | sort | uniq -c | sort -rn | head -5 | sed 's/^/    /' || true
} >"$NOTES"
load 60 report --title "GraphQL benchmark: queries and subscription fan-out" --command "bash bench/graphql.sh" \
  --intro "$RAW/graphql-queries.md" --out "$OUT" --date "$START_DATE" --machine "$MACHINE" --dotnet "$DOTNET_INFO" --commit "${COMMIT:-?}" \
  --server "dotnet AiWebEngine.dll --scripts bench/graphql/scripts --urls http://127.0.0.1:<free port> (defaults: GraphQL QueueCapacity 1024)" \
  --notes "$NOTES" "$RAW"/graphql-[0-9][0-9]-*.json
log "wrote ${OUT#"$ROOT"/} (raw JSON and the server log: ${RAW#"$ROOT"/}/graphql-*)"
