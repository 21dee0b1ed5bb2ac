#!/usr/bin/env bash
# Ingestion benchmark (BENCHMARKS.md): the bare HMAC handler (ceiling) and `shopbip serve` on a
# real SQLite file, driven by the same load generator over loopback, in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
CONC=${CONC:-32}
N=${N:-20000}
RATE=${RATE:-1000}
SECRET=bench-secret
# BIN=dir/with/shopbip-and-shopbip-bench skips the build (e.g. CI's debug binaries).
if [ -z "${BIN:-}" ]; then
  cargo build --release --bins -q
  BIN=${CARGO_TARGET_DIR:-target}/release
fi
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return; sleep 0.1; done; echo "port $1 never opened"; exit 1; }

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "== ceiling: bare actix-web handler, body read + HMAC check"
"$BIN/shopbip-bench" ceiling --port 8091 --secret $SECRET >/dev/null &
wait_port 8091
"$BIN/shopbip-bench" load --url http://127.0.0.1:8091/webhooks/bench --secret $SECRET --concurrency "$CONC" --requests "$N"
"$BIN/shopbip-bench" load --url http://127.0.0.1:8091/webhooks/bench --secret $SECRET --rate "$RATE" --requests $((RATE * 10))
kill %1; wait %1 2>/dev/null || true

echo "== shopbip serve (receive-only: worker.concurrency=0): verify, parse, store event + job on SQLite (WAL, synchronous=FULL)"
mkdir -p "$work/plugin-config"
cat > "$work/plugin-config/bench.toml" <<TOML
platform = "woocommerce"
base_uri = "https://shop.bench.test"
default_country = "TN"
[webhook]
secrets = ["$SECRET"]
[buzzbip]
base_url = "http://127.0.0.1:9"
username = "bench@shopbip.test"
password = "bench"
api_key = "bench"
[[notify]]
on = "order.paid"
template_id = 1289
body_params = ["{customer.first_name}", "{order.number}"]
TOML
SHOPBIP__SERVER__PORT=8092 SHOPBIP__STORES__DIR="$work/plugin-config" \
SHOPBIP__DATABASE__URL="sqlite://$work/shopbip.db" SHOPBIP__LOG__LEVEL=warn SHOPBIP__WORKER__CONCURRENCY=0 \
  "$BIN/shopbip" serve &
wait_port 8092
"$BIN/shopbip-bench" load --url http://127.0.0.1:8092/webhooks/bench --secret $SECRET --concurrency "$CONC" --requests "$N" --first-id 1000000
"$BIN/shopbip-bench" load --url http://127.0.0.1:8092/webhooks/bench --secret $SECRET --rate "$RATE" --requests $((RATE * 10)) --first-id 5000000
echo "jobs stored: $(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from jobs').fetchone()[0])" "$work/shopbip.db")"
kill %2 2>/dev/null || true; wait %2 2>/dev/null || true

# PostgreSQL (the machine's server on 127.0.0.1:5432): one replica, then two behind no balancer.
PG=${PG:-postgres://postgres@127.0.0.1:5432}
if pg_isready -q -h 127.0.0.1 -p 5432; then
  for replicas in 1 2; do
    db="shopbip_bench_$$_$replicas"
    psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
    urls=""
    for r in $(seq "$replicas"); do
      port=$((8093 + r))
      SHOPBIP__SERVER__PORT=$port SHOPBIP__STORES__DIR="$work/plugin-config" \
      SHOPBIP__DATABASE__URL="$PG/$db" SHOPBIP__LOG__LEVEL=warn SHOPBIP__WORKER__CONCURRENCY=0 "$BIN/shopbip" serve &
      wait_port $port
      urls="${urls:+$urls,}http://127.0.0.1:$port/webhooks/bench"
    done
    echo "== shopbip serve on PostgreSQL, $replicas replica(s)"
    "$BIN/shopbip-bench" load --url "$urls" --secret $SECRET --concurrency "$CONC" --requests "$N" --first-id 7000000
    "$BIN/shopbip-bench" load --url "$urls" --secret $SECRET --rate "$RATE" --requests $((RATE * 10)) --first-id 8000000
    kill $(jobs -p) 2>/dev/null; wait 2>/dev/null || true
    psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null
  done
fi
