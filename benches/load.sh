#!/usr/bin/env bash
# Load test against the running server on 127.0.0.1 (wrk): POST /v1/query with the DAU DSL,
# POST /v1/chat with the DAU question, and GET /healthz, each for DURATION with CONNECTIONS.
# Every /v1 request's audit row is committed and made durable (the store's WAL fdatasync'd)
# before it answers, so the /v1 figures include that sync (group-committed).
#
#   benches/load.sh [path/to/tally]    (default: target/release/tally; needs wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
TALLY="${1:-target/release/tally}"
DURATION="${DURATION:-15s}"
CONNECTIONS="${CONNECTIONS:-16}"
PORT="${PORT:-18080}"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
export TALLY_HOME="$work"
export TALLY_DEV_SECRET="load-test-secret-0123456789abcdef0123456789"
"$TALLY" gen-demo --out "$work/metrica.db" --end-date 2026-11-22 >/dev/null 2>&1
"$TALLY" serve --warehouse "sqlite://$work/metrica.db" --store "sqlite://$work/store.db" \
  --addr "127.0.0.1:$PORT" --today 2026-11-23 2>"$work/server.log" &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
# The rate limit is per user (100 a minute), so requests rotate over 2,000 minted users.
cat > "$work/post.lua" <<'LUA'
local tokens = {}
local i = 0
function init(args)
  for t in io.lines(os.getenv("TOKENS_FILE")) do tokens[#tokens + 1] = t end
end
request = function()
  i = i + 1
  local t = tokens[(i % #tokens) + 1]
  return wrk.format(os.getenv("METHOD") or "POST", wrk.path, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. t,
  }, os.getenv("BODY"))
end
LUA
export TOKENS_FILE="$work/tokens"
for n in $(seq 1 2000); do
  "$TALLY" token --role analyst --workspace acme --subject "load-$n" --ttl 1h
done > "$TOKENS_FILE"
echo "== GET /healthz"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$PORT/healthz" | sed -n '/Latency Distribution/,/Requests\/sec/p'
echo "== GET /v1/catalog (token check and audit row, no warehouse)"
METHOD=GET BODY= wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$work/post.lua" "http://127.0.0.1:$PORT/v1/catalog" | sed -n '/Latency Distribution/,/Requests\/sec/p'
echo "== POST /v1/query (DAU last week vs the week before)"
BODY='{"dsl":{"kind":"metric","metrics":["dau"],"period":{"preset":"last_week"},"compare":"previous_period"}}' \
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$work/post.lua" "http://127.0.0.1:$PORT/v1/query" | sed -n '/Latency Distribution/,/Requests\/sec/p'
echo "== POST /v1/chat (the DAU question, rule translator)"
BODY='{"question":"What was our DAU last week vs the week before?"}' \
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$work/post.lua" "http://127.0.0.1:$PORT/v1/chat" | sed -n '/Latency Distribution/,/Requests\/sec/p'
echo "== audit rows written: $("$TALLY" audit verify --store "sqlite://$work/store.db")"
