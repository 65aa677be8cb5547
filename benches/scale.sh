#!/usr/bin/env bash
# Latency at scale, with and without rollups, against the running server on 127.0.0.1 (wrk, one
# connection, result cache off so every request reads the warehouse or the rollup store; every
# /v1 request still writes its audit row).
#
#   benches/scale.sh WAREHOUSE_URL ROLLUP_STORE [path/to/tally]
#
# WAREHOUSE_URL holds the Metrica demo with data to 2026-11-30 (e.g. `tally gen-demo --scale 50
# --end-date 2026-11-30 --out s50.db`, then sqlite:///…/s50.db, or `tally load-demo`);
# ROLLUP_STORE is built first if absent (`tally rollup build --today 2026-12-01`). Prints p50,
# p99 and req/s per question and path, and the server's peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
WAREHOUSE="$1"
STORE="$2"
TALLY="${3:-target/release/tally}"
DURATION="${DURATION:-15s}"
PORT="${PORT:-18090}"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
work="$(mktemp -d)"
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
export TALLY_HOME="$work"
export TALLY_DEV_SECRET="scale-test-secret-0123456789abcdef0123456789"
if [ ! -f "$STORE" ]; then
  echo "== building rollups into $STORE"
  /usr/bin/time -f "rollup build: %e s wall, %M KB peak" \
    "$TALLY" rollup build --rollups "$STORE" --warehouse "$WAREHOUSE" --today 2026-12-01
fi
cat > "$work/post.lua" <<'LUA'
request = function()
  return wrk.format("POST", wrk.path, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("TOKEN"),
  }, os.getenv("BODY"))
end
LUA
printf '[cache]\nttl_secs = 0\n[rate_limit]\nrequests = 1000000\nper_secs = 1\n' > "$work/tally.toml"

run_server() {
  "$TALLY" serve --config "$work/tally.toml" --warehouse "$WAREHOUSE" "$@" \
    --store "sqlite://$work/store.db" --addr "127.0.0.1:$PORT" --today 2026-12-01 \
    2>"$work/server.log" &
  server=$!
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && return; sleep 0.1; done
  echo "server did not become ready"; cat "$work/server.log"; exit 1
}

ask() { # name role body
  local token
  token="$("$TALLY" token --role "$2" --workspace acme --ttl 1h)"
  local source
  source="$(curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "$3" "http://127.0.0.1:$PORT/v1/query" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("source"))')"
  echo "-- $1 ($source)"
  TOKEN="$token" BODY="$3" wrk -t1 -c1 -d"$DURATION" --latency -s "$work/post.lua" \
    "http://127.0.0.1:$PORT/v1/query" | grep -E '^ +(50|99)%|Requests/sec'
}

questions() {
  ask "DAU last week vs the week before" analyst \
    '{"dsl":{"kind":"metric","metrics":["dau"],"period":{"preset":"last_week"},"compare":"previous_period"}}'
  ask "executive overview, last week vs the week before" executive \
    '{"dsl":{"kind":"overview","period":{"preset":"last_week"},"compare":"previous_period"}}'
  ask "checkout funnel, last 30 days" analyst \
    '{"dsl":{"kind":"funnel","funnel":"checkout","period":{"last_n":{"count":30,"unit":"day"}}}}'
  ask "sessions by week, last 4 weeks" analyst \
    '{"dsl":{"kind":"metric","metrics":["sessions"],"period":{"last_n":{"count":4,"unit":"week"}},"granularity":"week"}}'
}

for mode in warehouse rollups; do
  echo "== $mode"
  if [ "$mode" = rollups ]; then run_server --rollups "$STORE"; else run_server; fi
  questions
  echo "server peak RSS: $(grep VmHWM /proc/$server/status | awk '{print $2, $3}')"
  kill "$server"; wait "$server" 2>/dev/null || true; server=
done
