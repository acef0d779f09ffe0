#!/usr/bin/env bash
# Authenticated fan-out (issue 18, point 12): the fan-out cost per delivery with N signed-in
# subscribers (a JWT each, sub user-<i>, on a { auth: "user" } stream) against N anonymous ones on an
# open stream of the same server. Authentication happens once per connection, so the two should cost
# the same per delivery; the target is "within 5 %".
#
#   bash bench/auth.sh     # about 3 minutes after the build
#
# Per N (AUTH_CLIENTS, "1000 5000") and mode (AUTH_MODES, "one closed": one message at a time, and
# saturation in a closed loop), anonymous and authenticated runs alternate (anon, auth, anon, auth:
# AUTH_ROUNDS, 2), each AUTH_DURATION s (10), so drift on this VM hits both alike. Writes
# bench/results/auth.md: SseLoad's report of every run, then the ratio table (median of the rounds).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
BENCH_NAME=auth
SCRIPTS="$BENCH_DIR/auth/scripts"
CLIENTS="${AUTH_CLIENTS:-1000 5000}"
MODES="${AUTH_MODES:-one closed}"
ROUNDS="${AUTH_ROUNDS:-2}"
DURATION="${AUTH_DURATION:-10}"
RATE=100
QUIET_WAIT="${AUTH_QUIET_WAIT:-20}"
BENCH_NO_BUILD="${AUTH_NO_BUILD:-${BENCH_NO_BUILD:-0}}"
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"
[[ "$TARGET" == engine ]] || die "bench/auth.sh measures the engine only"
OUT="${AUTH_OUT:-$BENCH_DIR/results/auth.md}"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# A development key, as `dotnet user-jwts` configures one; the load client mints a token per client.
KEY="$(head -c 32 /dev/urandom | base64)"
ISSUER=bench-issuer
AUDIENCE=bench-audience

build_all
mkdir -p "$RAW"
rm -f "$RAW"/auth-*.json

feed_ready() {
  local body
  body="$(curl -s --max-time 2 "$BASE/health" 2>/dev/null || true)"
  [[ "$body" == *'"paths":2'* ]] && log "ready: $body"
}

START_DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"
start_server fanout feed_ready \
  --Authentication:Schemes:Bearer:ValidIssuer="$ISSUER" \
  --Authentication:Schemes:Bearer:ValidAudiences:0="$AUDIENCE" \
  --Authentication:Schemes:Bearer:SigningKeys:0:Issuer="$ISSUER" \
  --Authentication:Schemes:Bearer:SigningKeys:0:Value="$KEY"

# The guarded stream must refuse a client without a token: otherwise this measures nothing.
status="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$BASE/feed-auth")"
[[ "$status" == 401 ]] || die "GET /feed-auth without a token answered $status, not 401: the stream is not guarded"

settle
log "warm-up round (not recorded)"
load 90 fanout --port "$PORT" --server-pid "$SERVER_PID" --clk-tck "$CLK_TCK" --clients 500 --mode open --duration 5 \
  --name warm-up --out "$RAW/warm-up.json" --deadline 80 >&2
rm -f "$RAW/warm-up.json"

n=0
for clients in $CLIENTS; do
  for mode in $MODES; do
    for round in $(seq 1 "$ROUNDS"); do
      for variant in anonymous authenticated; do
        n=$((n + 1))
        name="$(mode_name "$mode"), $variant"
        json="$RAW/auth-$(printf %02d "$n")-$mode-$clients-$variant-$round.json"
        extra=(--path /feed --publish-path "/publish?to=/feed")
        if [[ "$variant" == authenticated ]]; then
          extra=(--path /feed-auth --publish-path "/publish?to=/feed-auth" --jwt-key "$KEY" --jwt-issuer "$ISSUER" --jwt-audience "$AUDIENCE")
        fi
        settle
        log "fan-out: $clients clients, $name, round $round"
        # shellcheck disable=SC2046
        load $((DURATION + 240)) fanout --port "$PORT" --server-pid "$SERVER_PID" --clk-tck "$CLK_TCK" \
          --clients "$clients" $(mode_args "$mode") --rate "$RATE" --duration "$DURATION" --name "$name" \
          "${extra[@]}" --out "$json" --deadline $((DURATION + 230)) >&2
        kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited during the fan-out (see $SERVER_LOG)"
      done
    done
  done
done
stop_server

describe_machine
NOTES="$RAW/auth-notes.md"
{
  echo "Server CPU per delivery, median of $ROUNDS rounds (authenticated / anonymous; the target is at most 1.05):"
  echo
  echo "| clients | mode | anonymous µs/delivery | authenticated µs/delivery | ratio | deliveries/s anonymous | authenticated |"
  echo "|---|---|---|---|---|---|---|"
  for clients in $CLIENTS; do
    for mode in $MODES; do
      median() { jq -s "map(.$1) | sort | .[(length - 1) / 2 | floor]" "$RAW"/auth-*-"$mode-$clients-$2"-*.json; }
      a="$(median ServerCpuMicrosecondsPerDelivery anonymous)"; b="$(median ServerCpuMicrosecondsPerDelivery authenticated)"
      da="$(median DeliveriesPerSecond anonymous)"; db="$(median DeliveriesPerSecond authenticated)"
      printf '| %s | %s | %.3f | %.3f | **%.3f** | %.0f | %.0f |\n' "$clients" "$(mode_name "$mode")" "$a" "$b" "$(jq -n "$b / $a")" "$da" "$db"
    done
  done
} >"$NOTES"
cat "$NOTES" >&2
load 60 report --title "Authenticated fan-out: signed-in vs anonymous subscribers" --command "bash bench/auth.sh" --out "$OUT" \
  --date "$START_DATE" --machine "$MACHINE" --dotnet "$DOTNET_INFO" --commit "${COMMIT:-?}" \
  --server "dotnet AiWebEngine.dll --scripts bench/auth/scripts (JWT bearer with a development key)" --notes "$NOTES" "$RAW"/auth-[0-9][0-9]-*.json
log "wrote ${OUT#"$ROOT"/}"
