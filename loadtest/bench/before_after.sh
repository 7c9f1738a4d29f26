#!/usr/bin/env bash
# Two gateway builds side by side, in one sitting, on the same mock and client:
#   loadtest/bench/before_after.sh OLD_BIN OLD_CONFIG [seconds] [rounds]
# OLD_BIN/OLD_CONFIG: a `portcullis` binary of an earlier commit and the bench config it
# understands (`git show <commit>:loadtest/bench/gateway.yaml`). The new side is this tree's
# release build with loadtest/bench/gateway.yaml (or NEW_BIN and NEW_CONFIG). Pinned as DESIGN.md §6: gateway (1 worker)
# on CPU 0, mock and client (portcullis-load, one thread) on CPU 1. Runs alternate
# old/new `rounds` times; prints one row per run: added latency at concurrency 1 over
# direct-to-mock (p50/p99), req/s and gateway CPU per request at concurrency 64, the same for
# 24-chunk streams, and idle RSS.
set -euo pipefail
old_bin=$1 old_cfg=$2 secs=${3:-5} rounds=${4:-2}
cd "$(dirname "$0")/../.."
cargo build --quiet --release --bin portcullis --bin portcullis-mock --bin portcullis-load
new_bin=${NEW_BIN:-./target/release/portcullis} new_cfg=${NEW_CONFIG:-loadtest/bench/gateway.yaml}
load=./target/release/portcullis-load
BENCH_KEY=$($new_bin gen-key) BENCH_MASTER_KEY=$($new_bin gen-key)
export BENCH_KEY BENCH_MASTER_KEY
taskset -c 1 ./target/release/portcullis-mock --listen 127.0.0.1:19000 --threads 1 --chunks 24 >/dev/null &
mock=$!
gw=
trap 'kill $mock $gw 2>/dev/null || true' EXIT
run() { # url concurrency [stream] -> JSON
  taskset -c 1 $load --url "$1" --key "$BENCH_KEY" --model bench-model --concurrency "$2" \
    ${3:+--stream} --duration-secs "$secs" --warmup-secs 1 --json --quiet
}
field() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }
cpu_us() { awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000000 / hz)}' "/proc/$gw/stat"; }
sleep 0.5
direct=$(run http://127.0.0.1:19000/v1/chat/completions 1)
d50=$(field "$direct" 'd["latency_us"]["p50"]') d99=$(field "$direct" 'd["latency_us"]["p99"]')
echo "direct to mock, concurrency 1: p50 ${d50} us, p99 ${d99} us"
echo "| build | +p50 c1 (us) | +p99 c1 (us) | req/s c64 | CPU/req c64 (us) | streams/s c64 | CPU/stream (us) | idle RSS (KiB) |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for round in $(seq 1 "$rounds"); do
  for side in old new; do
    if [ $side = old ]; then bin=$old_bin cfg=$old_cfg; else bin=$new_bin cfg=$new_cfg; fi
    RUST_LOG=warn taskset -c 0 "$bin" serve --config "$cfg" >/dev/null 2>&1 &
    gw=$!
    for _ in $(seq 1 100); do curl -sf http://127.0.0.1:14000/health/live >/dev/null && break; sleep 0.05; done
    rss=$(awk '/VmRSS/ {print $2}' /proc/$gw/status)
    url=http://127.0.0.1:14000/v1/chat/completions
    c1=$(run $url 1)
    before=$(cpu_us); c64=$(run $url 64); after=$(cpu_us)
    n64=$(field "$c64" 'd["requests"]')
    sbefore=$(cpu_us); s64=$(run $url 64 stream); safter=$(cpu_us)
    ns=$(field "$s64" 'd["requests"]')
    printf '| %s (round %s) | %s | %s | %s | %s | %s | %s | %s |\n' "$side" "$round" \
      $(( $(field "$c1" 'd["latency_us"]["p50"]') - d50 )) $(( $(field "$c1" 'd["latency_us"]["p99"]') - d99 )) \
      "$(field "$c64" 'int(d["rps"])')" $(( (after - before) / (n64 > 0 ? n64 : 1) )) \
      "$(field "$s64" 'int(d["rps"])')" $(( (safter - sbefore) / (ns > 0 ? ns : 1) )) "$rss"
    kill $gw; wait $gw 2>/dev/null || true; gw=
  done
done
