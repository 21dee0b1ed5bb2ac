#!/usr/bin/env bash
# Does console traffic move the webhook's p99 at 1,000/s? `shopbip serve` (release, SQLite, no
# workers) with a console user; the open-loop load alone, then with a console client paging the
# message list, the overview and a CSV export meanwhile; alternated, REPEAT times.
# Usage: bash bench/console-p99.sh   (BIN=dir/with/shopbip-and-shopbip-bench skips the build;
# CSV=0 leaves the CSV exports out of the console client; CONTROL=1 makes the client load
# /healthz instead, to see what the client itself costs; REPEAT=N)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p shopbip -p shopbip-bench
  BIN=${CARGO_TARGET_DIR:-target}/release
fi
REPEAT=${REPEAT:-2}
W=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$W"' EXIT
. bench/store.sh
write_bench_store "$W/plugin-config" bench-secret
hash=$(echo "bench-console-password" | $BIN/shopbip console hash-password)
cat > $W/shopbip.toml <<TOML
[console]
allow_plain_http = true
[[console.users]]
name = "bench"
password_hash = "$hash"
stores = ["*"]
role = "operator"
TOML
PORT=8097
SHOPBIP__SERVER__PORT=$PORT SHOPBIP__STORES__DIR=$W/plugin-config SHOPBIP__DATABASE__URL=sqlite://$W/db.sqlite \
  SHOPBIP__LOG__LEVEL=warn SHOPBIP__WORKER__CONCURRENCY=0 $BIN/shopbip --config $W/shopbip.toml serve &
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
URL=http://127.0.0.1:$PORT
# Jobs for the console to list.
$BIN/shopbip-bench load --url $URL/webhooks/bench --secret bench-secret --concurrency 32 --requests 20000 --first-id 1 | sed 's/^/fill: /'
# A signed-in console client.
J=$W/jar
page=$(curl -s -c $J $URL/console/login)
csrf=$(echo "$page" | grep -o 'name="csrf" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//')
curl -s -b $J -c $J -o /dev/null -w "login: %{http_code}\n" --data-urlencode "name=bench" \
  --data-urlencode "password=bench-console-password" --data-urlencode "csrf=$csrf" --data-urlencode "next=/console" $URL/console/login
console_client() {  # ~20 page loads a second until killed: the list, deeper pages, the overview, a CSV
  local n=0
  while true; do
    n=$((n + 1))
    if [ "${CONTROL:-0}" = 1 ]; then
      # The same client on a route that does nothing: what curl itself costs the 2 cores.
      for _ in 1 2 3; do curl -s -o /dev/null $URL/healthz; done
      sleep 0.15
      continue
    fi
    curl -s -b $J -o /dev/null $URL/console/messages
    curl -s -b $J -o /dev/null "$URL/console/messages?state=queued&store=bench&before=$((20000 - (n * 97) % 19000))"
    curl -s -b $J -o /dev/null $URL/console
    [ "${CSV:-1}" = 1 ] && [ $((n % 10)) = 0 ] && curl -s -b $J -o /dev/null "$URL/console/messages.csv?state=queued"
    sleep 0.15
  done
}
echo "console page check: $(curl -s -b $J -o /dev/null -w '%{http_code} %{time_total}s' $URL/console/messages)"
echo "overview: $(curl -s -b $J -o /dev/null -w '%{http_code} %{time_total}s' $URL/console)"
echo "CSV of the queued jobs: $(curl -s -b $J -o /dev/null -w '%{http_code} %{time_total}s %{size_download} bytes' "$URL/console/messages.csv?state=queued")"
first=100000
for r in $(seq $REPEAT); do
  echo "== run $r: webhooks alone"
  $BIN/shopbip-bench load --url $URL/webhooks/bench --secret bench-secret --rate 1000 --requests 10000 --first-id $first
  first=$((first + 10000))
  echo "== run $r: webhooks with a console client"
  console_client & cpid=$!
  $BIN/shopbip-bench load --url $URL/webhooks/bench --secret bench-secret --rate 1000 --requests 10000 --first-id $first
  kill $cpid; wait $cpid 2>/dev/null || true
  first=$((first + 10000))
done
