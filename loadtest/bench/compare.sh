#!/usr/bin/env bash
# Gateway vs direct-to-mock with wrk as the client (a neutral client beside portcullis-load;
# the `overhead` scenario is the same comparison with portcullis-load alone). Pinned as
# DESIGN.md §6 describes when PIN=1. Prints wrk's latency distribution at concurrency 1 and
# throughput at concurrency 64, for the mock directly and through the gateway, then streams
# (24 chunks) with portcullis-load.
#
# Usage: PIN=1 loadtest/bench/compare.sh [seconds-per-run]   (needs wrk)
set -euo pipefail
secs=${1:-10}
source "$(dirname "$0")/common.sh"
command -v wrk >/dev/null || { echo "compare.sh needs wrk" >&2; exit 1; }
start_mock 19000 --chunks 24
start_gateway loadtest/bench/gateway.yaml
echo "## gateway RSS idle: $(rss_kib "$gw_pid") KiB"

run() { # name url concurrency [auth]
  echo "## $1 (concurrency $3, ${secs}s)"
  on_client_cpu wrk -t1 -c"$3" -d1s -s loadtest/bench/chat.lua ${4:+-H "Authorization: Bearer $4"} "$2" >/dev/null
  local before out
  before=$(cpu_us "$gw_pid")
  out=$(on_client_cpu wrk -t1 -c"$3" -d"${secs}s" --latency -s loadtest/bench/chat.lua ${4:+-H "Authorization: Bearer $4"} "$2")
  grep -E "Requests/sec|Non-2xx|Socket errors|^ +(50|90|99)%" <<<"$out"
  if [ -n "${4:-}" ]; then
    local n; n=$(awk '/requests in/ {print $1}' <<<"$out")
    echo "gateway CPU per request: $(( ($(cpu_us "$gw_pid") - before) / n )) us"
  fi
}
run "direct to mock" "$mock" 1
run "through gateway" "$gw" 1 "$BENCH_KEY"
run "direct to mock" "$mock" 64
run "through gateway" "$gw" 64 "$BENCH_KEY"
echo "## gateway RSS after load: $(rss_kib "$gw_pid") KiB"

for target in "direct to mock|$mock|" "through gateway|$gw|$BENCH_KEY"; do
  IFS='|' read -r name url key <<<"$target"
  echo "## streams, 24 chunks, $name (concurrency 1, ${secs}s)"
  load --url "$url" ${key:+--key "$key"} --model bench-model --stream --concurrency 1 \
    --duration-secs "$secs" --quiet
done
echo "## streams, 24 chunks, through gateway (concurrency 64, ${secs}s)"
before=$(cpu_us "$gw_pid")
out=$(load --url "$gw" --key "$BENCH_KEY" --model bench-model --stream --concurrency 64 \
  --duration-secs "$secs" --quiet --json)
jq -c '{requests, rps, latency_us, ttft_us, inter_chunk_us}' <<<"$out"
n=$(jq '.requests' <<<"$out")
echo "gateway CPU per stream: $(( ($(cpu_us "$gw_pid") - before) / n )) us"
echo "## gateway RSS after streams: $(rss_kib "$gw_pid") KiB"
