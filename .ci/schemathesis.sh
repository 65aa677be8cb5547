#!/usr/bin/env bash
# Schemathesis against the served OpenAPI document of a real `tally serve` on 127.0.0.1, as an
# analyst and as an admin, bounded in time. Fails on any 5xx, any response that breaks its
# documented schema, status, content type or headers, and any invalid request that is accepted.
#
# One check is left out: `positive_data_acceptance`. The document's `dsl` is the catalog's DSL
# (every name the catalog has), but what a role may use is narrower (GET /v1/schema) and a
# schema-valid document can still break a rule the schema cannot say (a dimension that does not
# reach the metric, a funnel step twice), so some schema-valid documents are rightly a 400.
set -euo pipefail
cd "$(dirname "$0")/.."
budget="${SCHEMATHESIS_SECONDS:-90}"
bin="${TALLY_BIN:-target/debug/tally}"
[ -x "$bin" ] || cargo build --locked --bin tally
python3 -m pip install --quiet --disable-pip-version-check "schemathesis==4.32.5"

work="$(mktemp -d)"
export TALLY_HOME="$work"
export TALLY_DEV_SECRET="schemathesis-secret-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
port=18181
"$bin" gen-demo --out "$work/warehouse.db" --end-date 2026-11-22 >/dev/null 2>&1
cat > "$work/tally.toml" <<TOML
[server]
addr = "127.0.0.1:$port"
today = "2026-11-23"
[rate_limit]
requests = 10000000
per_secs = 60
unauthenticated_requests = 10000000
[store]
url = "sqlite://$work/store.db"
[warehouse]
url = "sqlite://$work/warehouse.db"
TOML
"$bin" serve --config "$work/tally.toml" >"$work/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
  sleep 0.5
done
curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { cat "$work/serve.log"; exit 1; }

status=0
for role in analyst admin; do
  token="$("$bin" token --role "$role" --workspace acme 2>/dev/null)"
  echo "== schemathesis as $role (${budget} s)"
  schemathesis run "http://127.0.0.1:$port/openapi.json" \
    -H "Authorization: Bearer $token" \
    --checks all --exclude-checks positive_data_acceptance \
    --max-time "$budget" --workers 2 --seed 1 --no-color || status=1
done
if grep -q '"level":"ERROR"' "$work/serve.log"; then
  echo "the server logged errors:"; grep '"level":"ERROR"' "$work/serve.log" | head -20
  status=1
fi
"$bin" audit verify --store "sqlite://$work/store.db" || status=1
exit $status
