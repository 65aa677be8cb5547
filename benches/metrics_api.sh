#!/usr/bin/env bash
# Measures /v1/query latency (README, Performance: Metrics API): warehouse only, answered by
# the reference Metrics API, and with a hanging API behind an open breaker. Release binary
# (`cargo build --release`), scale-1 demo (SQLite, data to 2026-11-22), result cache off.
# Ports 18091-18094 and 18099 must be free.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/release/tally
W=$(mktemp -d)
DB=$W/demo.db
$BIN gen-demo --out $DB --seed 42 --end-date 2026-11-22 > /dev/null
export TALLY_DEV_SECRET=kpiapi-bench-secret-0123456789abcdef0123
SERVED='["dau", "wau", "mau", "signups", "active_customers", "new_customers", "churned_customers", "churn_rate", "mrr", "checkout_conversion"]'
base=examples/metrica/catalog.toml
printf '%s\n[sources.kpi]\nkind = "metrics_api"\nurl = "http://127.0.0.1:18091"\nmetrics = %s\n' "$(cat $base)" "$SERVED" > $W/api.toml
printf '%s\n[sources.kpi]\nkind = "metrics_api"\nurl = "http://127.0.0.1:18099"\nmetrics = %s\nbreaker_failures = 1\nbreaker_cooldown_ms = 600000\n' "$(cat $base)" "$SERVED" > $W/hang.toml
printf '[cache]\nttl_secs = 0\n' > $W/tally.toml
# A listener that accepts and never answers.
python3 -c 'import socket,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1",18099)); s.listen(100)
c=[]
while True: c.append(s.accept()[0])' & HANG=$!
$BIN metrics-api serve --warehouse sqlite://$DB --listen 127.0.0.1:18091 --today 2026-11-23 --role executive > /dev/null & REF=$!
pids="$HANG $REF"
i=0
for cat in $base $W/api.toml $W/hang.toml; do
  port=$((18092+i)); i=$((i+1))
  rm -f $W/store$port.db*
  $BIN serve --catalog $cat --config $W/tally.toml --warehouse sqlite://$DB --store sqlite://$W/store$port.db --addr 127.0.0.1:$port --today 2026-11-23 > /dev/null 2>&1 & pids="$pids $!"
done
trap 'kill $pids 2>/dev/null; rm -rf $W' EXIT
sleep 3
TOKEN=$($BIN token --role executive --workspace acme)
q1='{"kind":"metric","metrics":["dau","signups"],"period":{"preset":"last_week"},"granularity":"day","compare":"previous_period"}'
q2='{"kind":"metric","metrics":["churn_rate","mrr","active_customers","checkout_conversion"],"period":{"preset":"last_month"},"compare":"previous_period"}'
q3='{"kind":"metric","metrics":["mau","dau","signups"],"period":{"between":{"start":"2026-01-01","end":"2026-10-31"}},"granularity":"month"}'
for q in "$q1" "$q2" "$q3"; do
  for port in 18092 18093 18094; do
    body="{\"dsl\":$q,\"workspace\":\"acme\"}"
    src=$(curl -s -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d "$body" http://127.0.0.1:$port/v1/query | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r.get("source"), "|", r.get("source_note"))')
    times=$(for n in $(seq 40); do curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d "$body" http://127.0.0.1:$port/v1/query; done | sort -n)
    p50=$(echo "$times" | sed -n 20p); p95=$(echo "$times" | sed -n 38p)
    echo "port $port p50 ${p50}s p95 ${p95}s source: $src :: ${q:0:70}"
  done
done
