#!/usr/bin/env bash
# Memory soak: the gateway under steady mixed load (JSON + streams) for N seconds, RSS sampled
# every 30 s. Gateway on CPU 0, mock and load generators on CPU 1, as in compare.sh.
#
# Usage: loadtest/bench/soak.sh [seconds]   (default 600)
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-600}
cargo build --quiet --release --bin portcullis --bin portcullis-mock --bin portcullis-load
BENCH_KEY=$(./target/release/portcullis gen-key)
BENCH_MASTER_KEY=$(./target/release/portcullis gen-key)
export BENCH_KEY BENCH_MASTER_KEY
gw=http://127.0.0.1:14000/v1/chat/completions
taskset -c 1 ./target/release/portcullis-mock --listen 127.0.0.1:19000 --threads 1 --chunks 24 >/dev/null &
mock_pid=$!
RUST_LOG=warn taskset -c 0 ./target/release/portcullis serve --config loadtest/bench/gateway.yaml &
gw_pid=$!
trap 'kill $gw_pid $mock_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:14000/health/live >/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print $2}' "/proc/$gw_pid/status"; }
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
