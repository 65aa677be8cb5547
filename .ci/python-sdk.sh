#!/usr/bin/env bash
# The OpenAPI document and the Python SDK (clients/python) against a real `tally serve` on
# 127.0.0.1 (the demo warehouse, today pinned to 2026-11-23 as in the README):
#   1. openapi-spec-validator accepts the served document;
#   2. openapi-python-client generates a client from it without a warning, and that client
#      equals the committed clients/python/tally_client (else: run clients/python/regenerate.sh);
#   3. the SDK's pytest suite runs against the server, as analyst and admin tokens.
# Tools are the pinned versions of clients/python/requirements.txt, in a virtualenv.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${TALLY_BIN:-target/debug/tally}"
[ -x "$bin" ] || cargo build --locked --bin tally

work="$(mktemp -d)"
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

venv="${TALLY_SDK_VENV:-$work/venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r clients/python/requirements.txt
export PATH="$venv/bin:$PATH"
export PYTHONDONTWRITEBYTECODE=1
# The server is on loopback: never through a proxy the environment may name.
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"

export TALLY_HOME="$work"
export TALLY_DEV_SECRET="python-sdk-secret-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
# A free port: bind :0 and read what the kernel gave.
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$bin" gen-demo --out "$work/warehouse.db" --end-date 2026-11-22 >/dev/null 2>&1
cat > "$work/tally.toml" <<TOML
[server]
addr = "127.0.0.1:$port"
today = "2026-11-23"
[rate_limit]
requests = 100000
per_secs = 60
unauthenticated_requests = 100000
[store]
url = "sqlite://$work/store.db"
[warehouse]
url = "sqlite://$work/warehouse.db"
TOML
"$bin" serve --config "$work/tally.toml" >"$work/serve.log" 2>&1 &
server=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 60); do
  curl -sf "$base/readyz" >/dev/null && break
  sleep 0.5
done
curl -sf "$base/readyz" >/dev/null || { cat "$work/serve.log"; exit 1; }

echo "== openapi-spec-validator on the served document"
curl -sf "$base/openapi.json" -o "$work/openapi.json"
openapi-spec-validator "$work/openapi.json"

echo "== openapi-python-client: the committed client is what the served document generates"
clients/python/regenerate.sh "$base/openapi.json" "$work/generated/tally_client"
if ! diff -r -x __pycache__ clients/python/tally_client "$work/generated/tally_client" >"$work/client.diff"; then
  head -50 "$work/client.diff"
  echo "clients/python/tally_client is stale: run clients/python/regenerate.sh and commit it"
  exit 1
fi

echo "== the SDK's tests against the server"
export TALLY_BASE_URL="$base"
TALLY_ANALYST_TOKEN="$("$bin" token --role analyst --workspace acme 2>/dev/null)"
TALLY_ADMIN_TOKEN="$("$bin" token --role admin --workspace acme 2>/dev/null)"
export TALLY_ANALYST_TOKEN TALLY_ADMIN_TOKEN
status=0
(cd clients/python && python -m pytest -q -p no:cacheprovider tests) || status=1
if grep -q '"level":"ERROR"' "$work/serve.log"; then
  echo "the server logged errors:"; grep '"level":"ERROR"' "$work/serve.log" | head -20
  status=1
fi
exit $status
