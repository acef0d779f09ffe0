#!/usr/bin/env bash
# GraphQL benchmark (bench/graphql/scripts/bench.js):
#   (a) queries/s of `{ hello }` over POST /graphql, answered by a JavaScript resolver
#       (registerGraphQLQuery), next to the JavaScript HTTP route GET /hello of the same script
#       (wrk, bench/graphql-bench.mjs and bench/wrk.mjs);
#   (b) subscription fan-out: N graphql-sse clients (distinct connections mode, POST /graphql/sse
#       with `subscription { liveEvents }`), events triggered by POST /publish, whose handler calls
#       sendSubscriptionMessage("liveEvents", body) (bench/SseLoad --protocol graphql-sse): N = 100,
#       1 000 and 5 000, one message at a time, saturation (closed loop) and 100 msg/s (skipped when
#       saturation delivered less than N x 100/s): deliveries/s, publish-to-receive latency, losses,
#       server CPU per delivery.
#
#   bash bench/graphql.sh                      # the engine, about 6 minutes after the build
#   BENCH_TARGET=peer bash bench/graphql.sh    # the peer: GraphQL Yoga 5 on Node.js (bench/peer)
#
# Builds the server and bench/SseLoad in Release (needs wrk on PATH: apt-get install -y wrk), starts
# the server on a free 127.0.0.1 port, runs (a) then (b) on it, stops it (always: trap, also on
# failure or Ctrl-C; every step has a time limit) and writes bench/results/graphql.md; raw JSON and
# the server log go to bench/results/raw/<target>/ (not committed). The peer's report is
# bench/results/graphql-peer.md.
#
# Settings (environment): GRAPHQL_CONNECTIONS (50), GRAPHQL_DURATION (10 s per query run),
# GRAPHQL_WARMUP (15 s), GRAPHQL_THREADS (2 wrk threads), GRAPHQL_ROUNDS (3; 0 skips the queries);
# GRAPHQL_CLIENTS ("100 1000 5000"; "" skips the fan-out), GRAPHQL_RATE (100), GRAPHQL_FANOUT_DURATION
# (10 s), GRAPHQL_MODES ("one closed fixed"; also "open"), BENCH_TARGET (engine; or peer),
# GRAPHQL_QUIET_WAIT (20 s: how long to wait before each fan-out scenario for other processes to
# go idle), GRAPHQL_OUT (bench/results/graphql.md), BENCH_NO_BUILD=1 to reuse the last build.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
BENCH_NAME=graphql
SCRIPTS="$BENCH_DIR/graphql/scripts"
CLIENTS="${GRAPHQL_CLIENTS-100 1000 5000}"
RATE="${GRAPHQL_RATE:-100}"
DURATION="${GRAPHQL_FANOUT_DURATION:-10}"
MODES="${GRAPHQL_MODES:-one closed fixed}"
QUIET_WAIT="${GRAPHQL_QUIET_WAIT:-20}"
QUERY="subscription { liveEvents }"
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"
OUT="${GRAPHQL_OUT:-$BENCH_DIR/results/graphql$OUT_SUFFIX.md}"
command -v node >/dev/null || die "node is not on PATH"
require_wrk

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# 1. The builds.
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
if ((q_rounds > 0)); then
  q_budget=$((60 + 2 * q_rounds * (${GRAPHQL_DURATION:-10} + 15) + 2 * (${GRAPHQL_WARMUP:-15} + 15)))
  log "queries: wrk, POST /graphql { hello } and GET /hello"
  peer_flag=()
  [[ "$TARGET" == peer ]] && peer_flag=(--peer)
  run_child timeout "$q_budget" node "$BENCH_DIR/graphql-bench.mjs" --base "$BASE" --out "$RAW/graphql-queries.md" \
    --raw "$RAW" --summary "$RAW/graphql-queries.json" --server-pid "$SERVER_PID" --clock-ticks "$CLK_TCK" "${peer_flag[@]}" >/dev/null
  kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited during the queries (see $SERVER_LOG)"
fi

# 4. Subscription fan-out. One unrecorded round first (JIT, pools).
fanout() {
  load "$1" fanout --protocol graphql-sse --path /graphql/sse --query "$QUERY" --publish-path /publish \
    --port "$PORT" --server-pid "$SERVER_PID" --clk-tck "$CLK_TCK" --deadline $(($1 - 10)) "${@:2}" >&2
}
SKIPPED=()
if [[ -n "${CLIENTS// /}" ]]; then
  settle
  log "fan-out warm-up round (not recorded)"
  fanout 90 --clients 300 --mode closed --duration 5 --name warm-up --out "$RAW/graphql-warm-up.json"
  rm -f "$RAW/graphql-warm-up.json"
fi
n=0
for clients in $CLIENTS; do
  saturation=""
  for mode in $MODES; do
    n=$((n + 1))
    name="$(mode_name "$mode")"
    json="$RAW/graphql-$(printf %02d "$n")-$mode-$clients.json"
    if [[ "$mode" == fixed && -n "$saturation" ]] && ! fixed_feasible "$saturation" "$clients"; then
      log "subscription fan-out: $clients clients, $name: skipped (saturation delivered less than $((clients * RATE))/s)"
      SKIPPED+=("$name with $clients clients: skipped, saturation delivered $(jq -r '.DeliveriesPerSecond | floor' "$saturation")/s, less than the $((clients * RATE))/s it needs")
      continue
    fi
    settle
    log "subscription fan-out: $clients graphql-sse clients, $name, ${DURATION} s"
    # shellcheck disable=SC2046
    fanout $((DURATION + 240)) --clients "$clients" $(mode_args "$mode") --rate "$RATE" --duration "$DURATION" --name "$name" \
      --out "$json"
    [[ "$mode" == closed || "$mode" == open ]] && saturation="$json"
    kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited during the fan-out (see $SERVER_LOG)"
  done
done
stop_server

# 5. The report.
describe_machine
MACHINE="$MACHINE; load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"
NOTES="$RAW/graphql-notes.md"
{
  for skipped in "${SKIPPED[@]}"; do echo "- $skipped."; done
  echo "Server log: $(grep -c '' "$SERVER_LOG") lines; warnings/errors: $(grep -ciE 'warn|fail|error|crit' "$SERVER_LOG" || true)."
  grep -iE 'warn|fail|error|crit' "$SERVER_LOG" | sort | uniq -c | sort -rn | head -5 | sed 's/^/    /' || true
} >"$NOTES"
if [[ "$TARGET" == peer ]]; then
  title="GraphQL benchmark, the peer: GraphQL Yoga 5 queries and subscription fan-out"
  server="$PEER_COMMAND"
else
  title="GraphQL benchmark: queries and subscription fan-out"
  server="dotnet AiWebEngine.dll --scripts bench/graphql/scripts --urls http://127.0.0.1:<free port> (defaults: GraphQL QueueCapacity 1024)"
fi
intro=()
[[ -f "$RAW/graphql-queries.md" ]] && intro=(--intro "$RAW/graphql-queries.md")
shopt -s nullglob
results=("$RAW"/graphql-[0-9][0-9]-*.json)
shopt -u nullglob
load 60 report --title "$title" --command "${BENCH_TARGET:+BENCH_TARGET=$BENCH_TARGET }bash bench/graphql.sh" \
  "${intro[@]}" --out "$OUT" --date "$START_DATE" --machine "$MACHINE" --dotnet "$DOTNET_INFO" --commit "${COMMIT:-?}" \
  --server "$server" --notes "$NOTES" "${results[@]}"
log "wrote ${OUT#"$ROOT"/} (raw JSON and the server log: ${RAW#"$ROOT"/}/graphql-*)"
