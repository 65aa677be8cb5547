#!/usr/bin/env bash
# `tally load-demo` into PostgreSQL and MariaDB over 127.0.0.1 (TCP, not the Unix socket):
# wall time, peak memory and rows/s per engine, at one scale (default 10).
#
#   benches/load-demo.sh [SCALE] [path/to/tally]
#
# Loads into a database of its own on each engine (`tally_bench_load`, created when missing;
# trust authentication as postgres and root, as the test engines are set up), twice: the
# first load creates the tables, the second replaces them through the staging swap, which is
# what a reload costs. Override the URLs with PG_URL / MYSQL_URL.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE="${1:-10}"
TALLY="${2:-target/release/tally}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/tally_bench_load}"
MYSQL_URL="${MYSQL_URL:-mysql://root@127.0.0.1:3306/tally_bench_load}"
psql -h 127.0.0.1 -U postgres -d postgres -tAc \
  "SELECT 1 FROM pg_database WHERE datname = 'tally_bench_load'" | grep -q 1 ||
  psql -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE tally_bench_load"
mysql -h 127.0.0.1 -u root -e "CREATE DATABASE IF NOT EXISTS tally_bench_load CHARACTER SET utf8mb4"
for url in "$PG_URL" "$MYSQL_URL"; do
  for run in first replace; do
    echo "== ${url%%://*} scale $SCALE ($run load)"
    /usr/bin/time -f "wall %e s, peak %M KB" \
      "$TALLY" load-demo --warehouse "$url" --scale "$SCALE" --end-date 2026-11-22 --yes >/dev/null
  done
done
