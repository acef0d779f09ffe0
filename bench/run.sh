#!/usr/bin/env bash
# Every benchmark, the engine side by side with its peer (GraphQL Yoga 5 on Node.js, bench/peer),
# one server at a time, with one command:
#
#   bash bench/run.sh        # about 18 minutes after the builds
#
# 1. builds the engine and bench/SseLoad in Release, checks that wrk is installed and installs the peer (npm ci);
# 2. http.sh: the JS route GET /hello vs the engine's C# baseline endpoint;
# 3. graphql.sh, engine then peer: { hello } queries/s, and graphql-sse subscription fan-out to
#    N = 100, 1 000, 5 000 clients (one message at a time, saturation, 100 msg/s);
# 4. streams.sh, engine then peer: plain SSE stream fan-out, the same scenarios, and memory per
#    idle connection at 10 000 connections;
# 5. reload.sh, engine then peer: script file change to the new version serving;
# 6. SseLoad compare: bench/results/summary.md (the targets, the ratios, every scenario side by
#    side) and bench/results/chart.png (ScottPlot), and the README's "Benchmarks" table between
#    its two bench/run.sh markers.
# Each piece stays runnable alone (see bench/README.md). Every server listens on 127.0.0.1 only and
# is stopped by its script, also on failure or Ctrl-C; every step has a time limit.
#
# Settings (environment): RUN_DURATION (6 s per fan-out scenario), RUN_QUIET_WAIT (10 s: the most
# each scenario waits for other processes to go idle), RUN_QUERY_DURATION (8 s per wrk run),
# RUN_ROUNDS (3), RUN_CLIENTS ("100 1000 5000"), RUN_IDLE (10000), RUN_README (1: update README.md;
# 0 leaves it), RUN_OUT (bench/results: where the markdown files and the chart go).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
BENCH_NAME=run
SCRIPTS=""
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"
command -v jq >/dev/null || die "jq is not on PATH (apt-get install jq)"
command -v node >/dev/null || die "node is not on PATH"

OUTDIR="${RUN_OUT:-$BENCH_DIR/results}"
DURATION="${RUN_DURATION:-6}"
QUIET="${RUN_QUIET_WAIT:-10}"
QDURATION="${RUN_QUERY_DURATION:-8}"
ROUNDS="${RUN_ROUNDS:-3}"
NS="${RUN_CLIENTS:-100 1000 5000}"
IDLE_N="${RUN_IDLE:-10000}"
mkdir -p "$OUTDIR"

START_DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
T0=$SECONDS

# 1. Builds and packages, once.
require_wrk
TARGET=peer build_all   # the peer's packages (npm ci) and SseLoad
build_all                     # the engine
export BENCH_NO_BUILD=1

step() { log "── $* ($(((SECONDS - T0) / 60)) min $(((SECONDS - T0) % 60)) s so far)"; }

# 2. HTTP: the JS route vs the C# baseline.
step "http.sh (engine)"
BENCH_DURATION="$QDURATION" BENCH_ROUNDS="$ROUNDS" BENCH_OUT="$OUTDIR/http.md" run_child bash "$BENCH_DIR/http.sh"

# 3. GraphQL, 4. streams, 5. reload: the engine, then the peer.
for target in engine peer; do
  step "graphql.sh ($target)"
  BENCH_TARGET="$target" GRAPHQL_DURATION="$QDURATION" GRAPHQL_ROUNDS="$ROUNDS" GRAPHQL_CLIENTS="$NS" \
    GRAPHQL_FANOUT_DURATION="$DURATION" GRAPHQL_QUIET_WAIT="$QUIET" \
    GRAPHQL_OUT="$OUTDIR/graphql$([[ $target == peer ]] && echo -peer).md" run_child bash "$BENCH_DIR/graphql.sh"
done
for target in engine peer; do
  step "streams.sh ($target)"
  BENCH_TARGET="$target" STREAMS_CLIENTS="$NS" STREAMS_DURATION="$DURATION" STREAMS_QUIET_WAIT="$QUIET" STREAMS_IDLE="$IDLE_N" \
    STREAMS_OUT="$OUTDIR/streams$([[ $target == peer ]] && echo -peer).md" run_child bash "$BENCH_DIR/streams.sh"
done
for target in engine peer; do
  step "reload.sh ($target)"
  BENCH_TARGET="$target" run_child bash "$BENCH_DIR/reload.sh"
done

# 6. Side by side.
step "the report"
describe_machine
MACHINE="$MACHINE; load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"
PEER_INFO="node $(node --version), graphql-yoga $(cd "$PEER_DIR" && node -p 'require("./node_modules/graphql-yoga/package.json").version'), one process (bench/peer/server.mjs)"
README_PART="$BENCH_DIR/results/raw/readme-part.md"
load 120 compare --engine "$BENCH_DIR/results/raw/engine" --peer "$BENCH_DIR/results/raw/peer" \
  --out "$OUTDIR/summary.md" --chart "$OUTDIR/chart.png" --readme "$README_PART" --rate 100 \
  --date "$START_DATE" --machine "$MACHINE" --commit "${COMMIT:-?}" --engine-info "$DOTNET_INFO" --peer-info "$PEER_INFO"

# The README's table, between its markers.
if [[ "${RUN_README:-1}" == 1 && "$OUTDIR" == "$BENCH_DIR/results" ]]; then
  begin='<!-- bench/run.sh: begin -->'
  end='<!-- bench/run.sh: end -->'
  if grep -qF "$begin" "$ROOT/README.md" && grep -qF "$end" "$ROOT/README.md"; then
    awk -v begin="$begin" -v end="$end" -v part="$README_PART" '
      $0 == begin { print; while ((getline line < part) > 0) print line; skip = 1; next }
      $0 == end { skip = 0 }
      !skip { print }' "$ROOT/README.md" >"$ROOT/README.md.tmp"
    mv "$ROOT/README.md.tmp" "$ROOT/README.md"
    log "updated README.md's Benchmarks table"
  else
    log "README.md has no bench/run.sh markers; its table is in ${README_PART#"$ROOT"/}"
  fi
fi
step "done: ${OUTDIR#"$ROOT"/}/summary.md and chart.png"
