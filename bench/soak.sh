#!/usr/bin/env bash
# Soak: SOAK_CLIENTS Server-Sent-Events clients held on one stream (bench/streams/scripts/feed.js)
# for SOAK_DURATION seconds while messages are published at a steady SOAK_RATE (issue 7, point 5).
#
#   bash bench/soak.sh                                  # 10 000 clients, 10 minutes, 20 msg/s
#   SOAK_DURATION=120 SOAK_OUT=/tmp/soak.md bash bench/soak.sh   # a 2-minute check
#
# Builds the server and the load client (bench/SseLoad) in Release, starts the server on a free
# 127.0.0.1 port and runs one `SseLoad fanout --mode fixed` for the whole duration: every client
# counts what it receives from sequence numbers (lost, duplicated, out of order), every disconnect
# and connect error; the publisher counts failed publishes; latency is publish request to client
# receive. Alongside, every SOAK_SAMPLE seconds, the server's RSS, CPU and /health connections are
# recorded, so that a leak (memory that keeps growing at a steady load) shows in the timeline.
# The server is always stopped (trap), also on failure or Ctrl-C.
#
# Passes (exit 0) only with no errors: 0 lost, 0 duplicates, 0 out of order, 0 disconnects, 0
# connect errors, 0 failed publishes, every client connected before and after, and the server
# alive. Writes SOAK_OUT (bench/results/soak.md): the verdict and the timeline first, then the
# fan-out table of bench/streams.sh; raw JSON and the server log in bench/results/raw/.
#
# Settings (environment): SOAK_CLIENTS (10000), SOAK_DURATION (600 s), SOAK_RATE (20 msg/s),
# SOAK_SAMPLE (10 s), SOAK_QUIET_WAIT (20 s: how long to wait for other processes to go idle),
# SOAK_OUT (bench/results/soak.md), SOAK_NO_BUILD=1 (or BENCH_NO_BUILD=1) to reuse the last build.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
BENCH_NAME=soak
SCRIPTS="$BENCH_DIR/streams/scripts"
RAW="$BENCH_DIR/results/raw"
OUT="${SOAK_OUT:-$BENCH_DIR/results/soak.md}"
CLIENTS="${SOAK_CLIENTS:-10000}"
DURATION="${SOAK_DURATION:-600}"
RATE="${SOAK_RATE:-20}"
SAMPLE="${SOAK_SAMPLE:-10}"
QUIET_WAIT="${SOAK_QUIET_WAIT:-20}"
BENCH_NO_BUILD="${SOAK_NO_BUILD:-${BENCH_NO_BUILD:-0}}"
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(( $(ulimit -n) >= CLIENTS + 1000 )) || die "ulimit -n is $(ulimit -n); $CLIENTS clients need more"

build_all
mkdir -p "$RAW"
RESULT="$RAW/soak-fanout.json"
TIMELINE="$RAW/soak-timeline.tsv"
rm -f "$RESULT" "$TIMELINE"

feed_ready() {
  local body
  body="$(curl -s --max-time 2 "$BASE/health" 2>/dev/null || true)"
  [[ "$body" == *'"paths":1'* ]] && log "ready: $body"
}

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
START_DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"
start_server soak feed_ready
settle

# The timeline: elapsed s, RSS MiB, server cores over the interval, /health connections, threads.
SAMPLER_PID=""
sample_server() {
  local t0=$SECONDS prev_ticks prev_t ticks now conns rss threads
  prev_ticks=0
  prev_t=$t0
  while kill -0 "$SERVER_PID" 2>/dev/null; do
    now=$SECONDS
    ticks="$(awk '{ s = $0; sub(/.*\) /, "", s); split(s, f, " "); print f[12] + f[13] }' "/proc/$SERVER_PID/stat" 2>/dev/null || echo 0)"
    rss="$(awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$SERVER_PID/status" 2>/dev/null || echo ?)"
    threads="$(awk '/^Threads:/ { print $2 }' "/proc/$SERVER_PID/status" 2>/dev/null || echo ?)"
    conns="$(curl -s --max-time 5 "$BASE/health" 2>/dev/null | grep -o '"connections":[0-9]*' | cut -d: -f2 || true)"
    if ((prev_ticks > 0 && now > prev_t)); then
      printf '%s\t%s\t%s\t%s\t%s\n' "$((now - t0))" "$rss" \
        "$(awk -v d="$((ticks - prev_ticks))" -v c="$CLK_TCK" -v s="$((now - prev_t))" 'BEGIN { printf "%.2f", d / c / s }')" \
        "${conns:-?}" "$threads" >>"$TIMELINE"
    fi
    prev_ticks=$ticks
    prev_t=$now
    sleep "$SAMPLE"
  done
}
sample_server &
SAMPLER_PID=$!
stop_sampler() { [[ -n "$SAMPLER_PID" ]] && kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=""; }
trap 'stop_sampler; cleanup' EXIT

log "soak: $CLIENTS clients, $RATE msg/s, ${DURATION} s"
load $((DURATION + 300)) fanout --port "$PORT" --server-pid "$SERVER_PID" --clk-tck "$CLK_TCK" \
  --clients "$CLIENTS" --mode fixed --rate "$RATE" --duration "$DURATION" --drain 30 \
  --name "soak: $RATE msg/s for $DURATION s" --out "$RESULT" --deadline $((DURATION + 280)) >&2
ALIVE=yes
kill -0 "$SERVER_PID" 2>/dev/null || ALIVE=no
HEALTH_AFTER="$(curl -s --max-time 5 "$BASE/health" || echo unreachable)"
stop_sampler
SOAK_LOG="$SERVER_LOG"
stop_server

# The verdict, from the load client's counters.
field() { grep -o "\"$1\": [^,}]*" "$RESULT" | head -1 | cut -d' ' -f2- | tr -d '"'; }
errors=()
for counter in Lost Duplicates OutOfOrder Disconnects ConnectErrors PublishFailed ClientsMissingLast StreamsEndedByServer Foreign; do
  value="$(field "$counter")"
  [[ "$value" == 0 ]] || errors+=("$counter $value")
done
[[ "$(field HealthConnectionsBefore)" == "$CLIENTS" ]] || errors+=("/health connections before $(field HealthConnectionsBefore)")
[[ "$(field HealthConnectionsAfter)" == "$CLIENTS" ]] || errors+=("/health connections at the end $(field HealthConnectionsAfter)")
[[ "$ALIVE" == yes ]] || errors+=("the server exited")
server_errors="$(grep -ciE 'fail|error|crit' "$SOAK_LOG" || true)"

describe_machine
MACHINE="$MACHINE; load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"
INTRO="$RAW/soak-intro.md"
{
  if ((${#errors[@]} == 0)); then
    echo "**Verdict: no errors.** $CLIENTS clients held for $DURATION s at $RATE msg/s: $(field Published) messages published, $(field Deliveries) of $(field ExpectedDeliveries) deliveries, 0 lost, 0 duplicates, 0 out of order, 0 disconnects, 0 connect errors, 0 failed publishes."
  else
    echo "**Verdict: ERRORS:** $(IFS=', '; echo "${errors[*]}")."
  fi
  echo
  echo "| clients | duration s | rate msg/s | deliveries/s | p50 ms | p99 ms | max ms | server RSS start → end (peak) MiB | server cores (mean) |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---|---:|"
  # From the first sample with every client connected (the sampler starts while they connect).
  first_rss="$(awk -F'\t' -v n="$CLIENTS" '$4 == n { print $2; exit }' "$TIMELINE" 2>/dev/null || true)"
  last_rss="$(awk -F'\t' '$4 > 0 { r = $2 } END { print r }' "$TIMELINE" 2>/dev/null || true)"
  mean_cores="$(awk -F'\t' '$4 > 0 { s += $3; n++ } END { if (n) printf "%.2f", s / n }' "$TIMELINE" 2>/dev/null || true)"
  printf '| %s | %s | %s | %.0f | %.1f | %.1f | %.1f | %s → %s (%s) | %s |\n' "$CLIENTS" "$DURATION" "$RATE" \
    "$(field DeliveriesPerSecond)" "$(field LatencyP50Ms)" "$(field LatencyP99Ms)" "$(field LatencyMaxMs)" \
    "${first_rss:-?}" "${last_rss:-?}" "$(( $(field ServerRssKiBPeak) / 1024 ))" "${mean_cores:-?}"
  echo
  echo "Server log: $server_errors lines mention fail/error/crit. /health after the run: \`$HEALTH_AFTER\`."
  echo
  echo "Timeline (every $SAMPLE s; cores = server CPU time over the interval; connections from /health):"
  echo
  echo "| t s | RSS MiB | server cores | connections | threads |"
  echo "|---:|---:|---:|---:|---:|"
  awk -F'\t' '{ printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5 }' "$TIMELINE" 2>/dev/null || true
} >"$INTRO"

load 60 report --title "Soak: $CLIENTS SSE clients for $DURATION s at $RATE msg/s" --out "$OUT" --date "$START_DATE" \
  --machine "$MACHINE" --dotnet "$DOTNET_INFO" --commit "${COMMIT:-?}" --command "bash bench/soak.sh (SOAK_CLIENTS=$CLIENTS SOAK_DURATION=$DURATION SOAK_RATE=$RATE)" \
  --server "dotnet AiWebEngine.dll --scripts bench/streams/scripts --urls http://127.0.0.1:<free port> (defaults)" \
  --intro "$INTRO" "$RESULT"
log "wrote ${OUT#"$ROOT"/} (raw JSON, timeline and server log: ${RAW#"$ROOT"/}/soak-*)"
if ((${#errors[@]} > 0)); then
  die "the soak found errors: ${errors[*]}"
fi
log "no errors"
