#!/usr/bin/env bash
# Gateway vs direct-to-mock, release build, on this machine.
#
# Pinned as DESIGN.md §6 describes: the gateway (1 worker) on CPU 0; the mock upstream and
# the client (wrk / portcullis-load) on CPU 1. Governance on: auth + model authorization.
# Prints wrk's latency distribution at concurrency 1 and throughput at concurrency 64, for
# the mock directly and through the gateway, then stream TTFT and the gateway's RSS.
#
# Usage: loadtest/bench/compare.sh [seconds-per-run]   (needs wrk and taskset)
set -euo pipefail
secs=${1:-10}
source "$(dirname "$0")/common.sh"
mock=http://127.0.0.1:19000/v1/chat/completions
rss() { echo "$(rss_kb) kB"; }
echo "## gateway RSS idle: $(rss)"

run() { # name url concurrency [auth]
  echo "## $1 (concurrency $3, ${secs}s)"
  taskset -c 1 wrk -t1 -c"$3" -d1s -s loadtest/bench/chat.lua ${4:+-H "Authorization: Bearer $4"} "$2" >/dev/null
  local before out
  before=$(cpu_us)
  out=$(taskset -c 1 wrk -t1 -c"$3" -d"${secs}s" --latency -s loadtest/bench/chat.lua ${4:+-H "Authorization: Bearer $4"} "$2")
  grep -E "Requests/sec|Non-2xx|Socket errors|^ +(50|90|99)%" <<<"$out"
  if [ -n "${4:-}" ]; then
    local n; n=$(awk '/requests in/ {print $1}' <<<"$out")
    echo "gateway CPU per request: $(( ($(cpu_us) - before) / n )) us"
  fi
}
run "direct to mock" "$mock" 1
run "through gateway" "$gw" 1 "$BENCH_KEY"
run "direct to mock" "$mock" 64
run "through gateway" "$gw" 64 "$BENCH_KEY"
echo "## gateway RSS after load: $(rss)"

for target in "direct to mock|$mock|" "through gateway|$gw|$BENCH_KEY"; do
  IFS='|' read -r name url key <<<"$target"
  echo "## streams, 24 chunks, $name (concurrency 1, ${secs}s)"
  taskset -c 1 ./target/release/portcullis-load --url "$url" ${key:+--key "$key"} --model bench-model \
    --stream --concurrency 1 --duration-secs "$secs"
done
echo "## streams, 24 chunks, through gateway (concurrency 64, ${secs}s)"
before=$(cpu_us)
out=$(taskset -c 1 ./target/release/portcullis-load --url "$gw" --key "$BENCH_KEY" --model bench-model \
  --stream --concurrency 64 --duration-secs "$secs" --json)
echo "$out"
n=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["requests"])' "$out")
echo "gateway CPU per stream: $(( ($(cpu_us) - before) / n )) us"
echo "## gateway RSS after streams: $(rss)"
