#!/usr/bin/env bash
# A garbage-token flood against the running server on 127.0.0.1, and what it costs another
# user: one connection of a real user on GET /v1/catalog (token check, revocation lookup, audit
# row) alone, then again while 16 connections send garbage tokens; and how many audit rows the
# flood left (coalesced: one per source, kind and status every 10 s).
#
#   benches/flood.sh [path/to/tally]    (default: target/release/tally; needs wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
TALLY="${1:-target/release/tally}"
DURATION="${DURATION:-15s}"
PORT="${PORT:-18090}"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
export TALLY_HOME="$work"
export TALLY_DEV_SECRET="flood-test-secret-0123456789abcdef0123456789"
"$TALLY" gen-demo --out "$work/metrica.db" --end-date 2026-11-22 >/dev/null 2>&1
"$TALLY" serve --warehouse "sqlite://$work/metrica.db" --store "sqlite://$work/store.db" \
  --addr "127.0.0.1:$PORT" --today 2026-11-23 2>"$work/server.log" &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
cat > "$work/user.lua" <<'LUA'
local tokens = {}
local i = 0
function init(args)
  for t in io.lines(os.getenv("TOKENS_FILE")) do tokens[#tokens + 1] = t end
end
request = function()
  i = i + 1
  return wrk.format("GET", wrk.path, {["Authorization"] = "Bearer " .. tokens[(i % #tokens) + 1]})
end
LUA
export TOKENS_FILE="$work/tokens"
for n in $(seq 1 500); do
  "$TALLY" token --role analyst --workspace acme --subject "user-$n" --ttl 1h
done > "$TOKENS_FILE"
rows() { "$TALLY" audit verify --store "sqlite://$work/store.db" | sed -E 's/.*: ([0-9]+) row.*/\1/'; }
echo "== one user alone"
wrk -t1 -c1 -d"$DURATION" --latency -s "$work/user.lua" "http://127.0.0.1:$PORT/v1/catalog" \
  | grep -E '^\s+50%|^\s+99%|Requests/sec'
before=$(rows)
echo "== the same user during a garbage-token flood (16 connections)"
wrk -t1 -c16 -d"$DURATION" -H "Authorization: Bearer garbage" "http://127.0.0.1:$PORT/v1/catalog" \
  > "$work/flood.txt" &
flood=$!
wrk -t1 -c1 -d"$DURATION" --latency -s "$work/user.lua" "http://127.0.0.1:$PORT/v1/catalog" \
  | grep -E '^\s+50%|^\s+99%|Requests/sec'
wait "$flood"
echo "== the flood"
grep -E 'requests in|Non-2xx|Requests/sec' "$work/flood.txt"
sleep 11   # one coalescing interval, so the flood's rows are written
after=$(rows)
echo "== audit rows: $before before the flood, $after after (the user's own rows included)"
