#!/usr/bin/env bash
# The capacity figures of deploy/scale-out.md: one, then two `tally serve` replicas on 127.0.0.1
# sharing one PostgreSQL store (a schema of this run's own) and one Redis (a key prefix of its
# own), on the demo warehouse (SQLite, built under a temporary TALLY_HOME on first start), loaded
# by wrk for DURATION per case. Every request is a real one: a verified token, the Redis rate
# limit (set high enough never to refuse), the revocation read and the audit append to
# PostgreSQL before the response. Cases:
#   catalog   GET /v1/catalog: auth, limit, revocations, audit; no warehouse
#   cached    POST /v1/query, one DSL query over and over: answered from the result cache
#   uncached  the same query with [cache] ttl_secs = 0: every request runs its SQL on SQLite
# For two replicas, two wrk processes run at once, half the connections each, and their rates
# add up. wrk, the replicas, PostgreSQL and Redis all share this machine's cores: say how many.
#
#   deploy/loadtest.sh            # TALLY_BIN (default target/debug/tally), DURATION (20s),
#                                 # CONNECTIONS (16), TALLY_TEST_POSTGRES_URL, TALLY_TEST_REDIS_URL
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${TALLY_BIN:-target/debug/tally}"
pg="${TALLY_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
redis="${TALLY_TEST_REDIS_URL:-redis://127.0.0.1:6379}"
duration="${DURATION:-20s}"
connections="${CONNECTIONS:-16}"
command -v wrk >/dev/null || { echo "wrk not found (apt-get install wrk)"; exit 1; }
[ -x "$bin" ] || { echo "no $bin: cargo build first"; exit 1; }

run="$$_$(date +%s)"
schema="tally_load_${run}"
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "$pg" -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
  redis-cli -u "$redis" --scan --pattern "tally-load:${run}:*" 2>/dev/null | xargs -r redis-cli -u "$redis" DEL >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
psql "$pg" -q -c "CREATE SCHEMA $schema"
store="${pg}?options=-c%20search_path%3D${schema}"
export TALLY_HOME="$work" TALLY_DEV_SECRET="loadtest-secret-0123456789abcdef0123"
unset TALLY_STORE TALLY_WAREHOUSE

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start NAME PORT TTL: a replica with the result cache's ttl_secs = TTL.
start() {
  cat > "$work/$1.toml" <<EOF
[server]
addr = "127.0.0.1:$2"
today = "2026-11-23"

[store]
url = "$store"

[cache]
ttl_secs = $3

[rate_limit]
requests = 1000000
per_secs = 1
unauthenticated_requests = 1000000
redis = "$redis"
redis_prefix = "tally-load:${run}:"
EOF
  TALLY_LOG=warn "$bin" serve --config "$work/$1.toml" >/dev/null 2>"$work/$1.log" &
  pids+=($!)
  for _ in $(seq 1 600); do
    curl -fs "http://127.0.0.1:$2/readyz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "replica $1 did not start:"; cat "$work/$1.log"; exit 1
}

stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}

token="$("$bin" token --role analyst --workspace acme --ttl 1h --subject load)"
export TOKEN="$token"
cat > "$work/get.lua" <<'EOF'
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
EOF
cat > "$work/query.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.body = '{"dsl":{"kind":"metric","metrics":["active_users"],"period":{"preset":"last_week"},"compare":"previous_period"}}'
EOF

# CPU time (clock ticks) the given processes have used so far.
ticks() {
  for p in "$@"; do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || true; done | awk '{s += $1} END {print s + 0}'
}
cpu_now() {
  echo "$(ticks "${pids[@]}") $(ticks $(pgrep -u postgres)) $(ticks $(pgrep -x redis-server))"
}

# load CASE PATH SCRIPT PORT...: wrk on each port at once; prints the summed rate, the worst
# p50/p99 of the processes, the CPU milliseconds per request the replicas, PostgreSQL and
# Redis used (from /proc, so other work on the machine does not count, except other clients of
# the same PostgreSQL or Redis), and fails on any non-2xx answer.
load() {
  local case="$1" path="$2" script="$3"; shift 3
  local n=$# each=$((connections / $#)) i=0 outs=() runs=()
  local before; before="$(cpu_now)"
  for p in "$@"; do
    i=$((i + 1))
    wrk -t1 -c"$each" -d"$duration" --latency -s "$work/$script" "http://127.0.0.1:$p$path" > "$work/wrk.$i" &
    runs+=($!)
    outs+=("$work/wrk.$i")
  done
  for r in "${runs[@]}"; do wait "$r"; done
  local after; after="$(cpu_now)"
  python3 - "$case" "$n" "$before" "$after" "$(getconf CLK_TCK)" "${outs[@]}" <<'PY'
import re, sys
case, n, before, after, hz, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]), sys.argv[6:]
used = [(float(a) - float(b)) * 1000 / hz for a, b in zip(after.split(), before.split())]
def ms(v):
    num, unit = re.match(r"([\d.]+)(us|ms|s)", v).groups()
    return float(num) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
rate, p50, p99, total, bad = 0.0, 0.0, 0.0, 0, 0
for f in files:
    t = open(f).read()
    rate += float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    total += int(re.search(r"(\d+) requests in", t).group(1))
    p50 = max(p50, ms(re.search(r"\s50%\s+(\S+)", t).group(1)))
    p99 = max(p99, ms(re.search(r"\s99%\s+(\S+)", t).group(1)))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    bad += int(m.group(1)) if m else 0
cpu = " | ".join(f"{u / total:5.2f}" for u in used)
print(f"| {case:<9} | {n} | {rate:6.0f} | {p50:6.1f} | {p99:6.1f} | {total:6d} | {bad} | {cpu} |")
if bad:
    sys.exit(f"{case}: {bad} non-2xx answers")
PY
}

echo "machine: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); binary $bin; $duration per case, $connections connections in total"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| case      | replicas | req/s | p50 ms | p99 ms | requests | non-2xx | CPU ms/req: tally | PostgreSQL | Redis |"
echo "|-----------|---|--------|--------|--------|--------|---|-------|-------|-------|"
for ttl in 60 0; do
  if [ "$ttl" = 60 ]; then cases="catalog:/v1/catalog:get.lua cached:/v1/query:query.lua"; else cases="uncached:/v1/query:query.lua"; fi
  for replicas in 1 2; do
    ports=()
    for r in $(seq 1 "$replicas"); do
      p="$(port)"; start "r$r" "$p" "$ttl"; ports+=("$p")
    done
    for c in $cases; do
      IFS=: read -r name path script <<< "$c"
      load "$name" "$path" "$script" "${ports[@]}"
    done
    stop_all
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
rows="$(psql "$pg" -At -c "SELECT count(*) FROM $schema.audit")"
echo "audit rows written: $rows"
"$bin" audit verify --store "$store"
