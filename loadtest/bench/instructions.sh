#!/usr/bin/env bash
# Instructions per request, counted by callgrind: stable on a noisy machine where timings are
# not (issue 12). The gateway runs under valgrind with a config (default: governed-memory.yaml,
# governance fully on) in front of the mock; after a warm-up the counters are zeroed, N
# requests are sent (JSON, then streams of 24 chunks), and the instructions each cost are
# printed per request, with the top functions by inclusive cost written to
# target/bench/instructions/.
#
# Usage: loadtest/bench/instructions.sh [requests] [config]   (default 2000; needs valgrind)
#   GATEWAY_BIN=PATH compares another build (same usage).
set -euo pipefail
n=${1:-2000}
config=${2:-loadtest/bench/governed-memory.yaml}
command -v valgrind >/dev/null || { echo "instructions.sh needs valgrind" >&2; exit 2; }
source "$(dirname "$0")/common.sh"
out=${OUT_DIR:-target/bench}/instructions
mkdir -p "$out"
rm -f "$out"/callgrind.*
start_mock 19000 --chunks 24
gateway=${GATEWAY_BIN:-$bin/portcullis}
RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.%p" \
  "$gateway" serve --config "$config" 2>"$out/valgrind.log" &
vg=$!
started+=("$vg")
for _ in $(seq 1 600); do curl -sf http://127.0.0.1:14000/health/live >/dev/null && break; sleep 0.1; done
count() { # label [--stream]
  load --url "$gw" --key "$BENCH_KEY" --model bench-model --concurrency 4 --requests 200 \
    --duration-secs 120 --warmup-secs 0 --quiet ${2:-} >/dev/null
  callgrind_control -z "$vg" >/dev/null
  load --url "$gw" --key "$BENCH_KEY" --model bench-model --concurrency 4 --requests "$n" \
    --duration-secs 600 --warmup-secs 0 --quiet --json ${2:-} >"$out/$1.load.json"
  callgrind_control -d "$1" "$vg" >/dev/null
  sleep 0.5
  local file total
  file=$(ls -t "$out"/callgrind."$vg".* | head -1)
  total=$(awk '/^(summary|totals):/ {print $2; exit}' "$file")
  callgrind_annotate --inclusive=yes "$file" 2>/dev/null | head -60 >"$out/$1.top.txt" || true
  echo "$1: $(( total / n )) instructions per request ($total over $n; $(jq '.non_2xx + .errors' "$out/$1.load.json") failed)"
}
count json
count stream --stream
