#!/usr/bin/env bash
# Reload benchmark: the time from a script file change to the new version serving.
#
#   bash bench/reload.sh                      # the engine: a script in its --scripts directory
#   BENCH_TARGET=peer bash bench/reload.sh    # the peer: a module of bench/peer under `node --watch`
#
# Starts the server on a free 127.0.0.1 port with one script (engine: version.js, which registers
# GET /version; peer: version.mjs, which server.mjs imports and serves at GET /version), then
# RELOAD_COUNT times writes a new version of that file in place, as an editor saves it, and polls
# GET /version every 2 ms until it answers the new version (bench/SseLoad reload). The engine reloads
# the script in place (after AiWebEngine:Scripts:ReloadDebounce, 150 ms by default, of quiet); the
# peer has no script reloading, so `node --watch` restarts the whole server. Writes
# bench/results/raw/<target>/reload.json and prints p50/max; the server is always stopped.
#
# Settings (environment): BENCH_TARGET (engine; or peer), RELOAD_COUNT (10), BENCH_NO_BUILD=1.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
BENCH_NAME=reload
COUNT="${RELOAD_COUNT:-10}"
SCRIPTS=""
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

build_all
mkdir -p "$RAW"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/aiwebengine-reload.XXXXXX")"
trap 'cleanup; rm -rf "$WORK"' EXIT

if [[ "$TARGET" == peer ]]; then
  FILE="$WORK/version.mjs"
  TEMPLATE='export const version = "VERSION";'
else
  SCRIPTS="$WORK/scripts"
  mkdir -p "$SCRIPTS"
  FILE="$SCRIPTS/version.js"
  TEMPLATE='register("/version", () => ({ body: "VERSION" }));'
fi
printf '%s\n' "${TEMPLATE/VERSION/v0}" >"$FILE"

version_ready() {
  [[ "$(curl -s --max-time 2 "$BASE/version" 2>/dev/null || true)" == v0 ]] && log "ready: GET /version answered v0"
}
if [[ "$TARGET" == peer ]]; then
  PEER_NODE_FLAGS="--watch" start_server run version_ready --version-module "$FILE"
else
  start_server run version_ready
fi

log "reload: $COUNT script changes"
load $((COUNT * 20 + 30)) reload --port "$PORT" --file "$FILE" --template "$TEMPLATE" --count "$COUNT" \
  --out "$RAW/reload.json" --deadline $((COUNT * 20 + 20)) >&2
kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited during the reloads (see $SERVER_LOG)"
stop_server
log "script change to the new version serving: p50 $(jq -r '.P50Ms | floor' "$RAW/reload.json") ms, max $(jq -r '.MaxMs | floor' "$RAW/reload.json") ms ($TARGET; ${RAW#"$ROOT"/}/reload.json)"
