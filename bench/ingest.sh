#!/usr/bin/env bash
# Ingestion benchmark (BENCHMARKS.md): the bare HMAC handler (ceiling) and `shopbip serve` on a
# real SQLite file, driven by the same load generator over loopback, in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
CONC=${CONC:-32}
N=${N:-20000}
RATE=${RATE:-1000}
SECRET=bench-secret
cargo build --release --bins -q
BIN=${CARGO_TARGET_DIR:-target}/release
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

echo "== shopbip serve: verify, parse, one transaction (event + job) on SQLite (WAL, synchronous=FULL)"
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
SHOPBIP__DATABASE__URL="sqlite://$work/shopbip.db" SHOPBIP__LOG__LEVEL=warn \
  "$BIN/shopbip" serve &
wait_port 8092
"$BIN/shopbip-bench" load --url http://127.0.0.1:8092/webhooks/bench --secret $SECRET --concurrency "$CONC" --requests "$N" --first-id 1000000
"$BIN/shopbip-bench" load --url http://127.0.0.1:8092/webhooks/bench --secret $SECRET --rate "$RATE" --requests $((RATE * 10)) --first-id 5000000
echo "jobs stored: $(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from jobs').fetchone()[0])" "$work/shopbip.db")"
