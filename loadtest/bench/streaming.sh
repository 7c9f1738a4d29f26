#!/usr/bin/env bash
# Scenario `streaming`: what the gateway adds to a stream. The mock sends 64 chunks paced
# 20 ms apart; streams arrive open-loop at RATE per second (default 50, so about 65 are open
# at once) over 128 connections, directly and through the gateway. Added TTFT and added
# inter-chunk delay are the gateway's figures minus the direct ones. Writes direct.json,
# gateway.json (+ plots) and summary.json.
#
# Usage: PIN=1 loadtest/bench/streaming.sh [seconds]   (default 10; RATE=50)
set -euo pipefail
secs=${1:-10}
rate=${RATE:-50}
source "$(dirname "$0")/common.sh"
out=$(scenario_dir streaming)
start_mock 19000 --chunks 64 --chunk-interval-ms 20
start_gateway loadtest/bench/gateway.yaml

run() { # name url [key]
  load --url "$2" ${3:+--key "$3"} --model bench-model --stream --rate "$rate" --connections 128 \
    --duration-secs "$secs" --warmup-secs 2 --quiet --out "$out/$1.json"
}
run direct "$mock"
run gateway "$gw" "$BENCH_KEY"

python3 - "$out" "$secs" "$rate" "$(run_facts)" <<'PY'
import json, sys
out, secs, rate, facts = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), json.loads(sys.argv[4])
def run(name):
    r = json.load(open(f"{out}/{name}.json"))
    pick = lambda l: {k: l[k] for k in ("p50", "p90", "p99", "p99_9", "max")}
    return {"streams": r["requests"], "failures": r["non_2xx"] + r["errors"] + r["unsent"],
            "ttft": pick(r["ttft_us"]), "gap": pick(r["inter_chunk_us"]), "ttlb": pick(r["latency_us"])}
d, g = run("direct"), run("gateway")
added = {f"{m}_{q}": g[m][q] - d[m][q] for m in ("ttft", "gap", "ttlb") for q in ("p50", "p99")}
summary = {"scenario": "streaming", **facts, "seconds": secs, "rate": rate, "chunks": 64,
           "chunk_interval_ms": 20, "command": f"{facts['env']}RECORD=1 loadtest/bench/streaming.sh {secs:g}",
           "direct": d, "gateway": g, "added_us": added}
json.dump(summary, open(f"{out}/summary.json", "w"), indent=2)
print(f"streaming (64 chunks every 20 ms, {rate:g} streams/s, {secs:g} s), results in {out}")
print(f"  added TTFT p50 +{added['ttft_p50']} µs, p99 +{added['ttft_p99']} µs; "
      f"added chunk gap p50 +{added['gap_p50']} µs, p99 +{added['gap_p99']} µs")
print(f"  failures: direct {d['failures']}, gateway {g['failures']} of {g['streams']} streams")
PY
