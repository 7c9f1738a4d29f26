#!/usr/bin/env bash
# Memory soak: the gateway under steady mixed load (JSON + streams) for N seconds, RSS sampled
# every 30 s. Gateway on CPU 0, mock and load generators on CPU 1, as in compare.sh.
#
# Usage: loadtest/bench/soak.sh [seconds]   (default 600)
set -euo pipefail
secs=${1:-600}
source "$(dirname "$0")/common.sh"
rss() { rss_kb; }
echo "t_s rss_kb"
echo "0 $(rss)"
taskset -c 1 ./target/release/portcullis-load --url "$gw" --key "$BENCH_KEY" --model bench-model \
  --concurrency 16 --duration-secs "$secs" --warmup-secs 0 --json >/tmp/soak-json.out &
json_pid=$!
taskset -c 1 ./target/release/portcullis-load --url "$gw" --key "$BENCH_KEY" --model bench-model \
  --stream --concurrency 8 --duration-secs "$secs" --warmup-secs 0 --json >/tmp/soak-stream.out &
stream_pid=$!
for t in $(seq 30 30 "$secs"); do
  sleep 30
  echo "$t $(rss)"
done
wait $json_pid $stream_pid
echo "json:   $(cat /tmp/soak-json.out)"
echo "stream: $(cat /tmp/soak-stream.out)"
echo "end $(rss)"
