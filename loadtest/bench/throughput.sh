#!/usr/bin/env bash
# Scenario `throughput`: an open-loop rate sweep through the gateway (instant mock, 64
# connections), latency counted from each request's intended send time. Reports the highest
# offered rate with p99 under 1 ms and under 10 ms and under 0.1% failures; the sweep stops
# at the first rate past 10 ms. DIRECT=1 sweeps the mock directly too (the client-and-mock
# core's own ceiling). Writes gateway-sweep.json (+ throughput-vs-p99 and distribution
# plots) and summary.json.
#
# Usage: PIN=1 loadtest/bench/throughput.sh [seconds-per-rate] [rates]
#   defaults: 5 s per rate; rates 2000,4000,…,30000
set -euo pipefail
secs=${1:-5}
rates=${2:-2000,4000,6000,8000,10000,12000,14000,16000,18000,20000,22000,24000,26000,28000,30000}
source "$(dirname "$0")/common.sh"
out=$(scenario_dir throughput)
start_mock 19000
start_gateway loadtest/bench/gateway.yaml

sweep() { # name url [key]
  load --url "$2" ${3:+--key "$3"} --model bench-model --sweep "$rates" --connections 64 \
    --duration-secs "$secs" --warmup-secs 1 --out "$out/$1.json"
}
before=$(cpu_us "$gw_pid")
sweep gateway-sweep "$gw" "$BENCH_KEY"
cpu=$(( $(cpu_us "$gw_pid") - before ))
if [ "${DIRECT:-0}" = 1 ]; then sweep direct-sweep "$mock"; fi

python3 - "$out" "$secs" "$rates" "$cpu" "$(run_facts)" <<'PY'
import json, os, sys
out, secs, rates, cpu, facts = sys.argv[1], float(sys.argv[2]), sys.argv[3], int(sys.argv[4]), json.loads(sys.argv[5])
def sweep(name):
    s = json.load(open(f"{out}/{name}.json"))
    points = []
    for p in s["points"]:
        owed = p["requests"] + p["errors"] + p["unsent"]
        bad = p["non_2xx"] + p["errors"] + p["unsent"]
        l = p["latency_us"]
        points.append({"rate": p["mode"]["rate"], "rps": round(p["rps"], 1), "p50": l["p50"],
                       "p99": l["p99"], "p99_9": l["p99_9"], "max": l["max"],
                       "failure_pct": round(100 * bad / owed, 3) if owed else 0.0})
    return {"points": points, "p99_under_1ms": s["p99_under_1ms"],
            "p99_under_10ms": s["p99_under_10ms"], "skipped_rates": s["skipped_rates"]}
gw = sweep("gateway-sweep")
requests = sum(round(p["rps"] * secs) for p in gw["points"])
summary = {"scenario": "throughput", **facts, "seconds_per_rate": secs, "connections": 64,
           "command": f"{facts['env']}RECORD=1 loadtest/bench/throughput.sh {secs:g}",
           "gateway": gw,
           "gateway_cpu_us_per_request": cpu // requests if requests else None}
if os.path.exists(f"{out}/direct-sweep.json"):
    summary["direct"] = sweep("direct-sweep")
json.dump(summary, open(f"{out}/summary.json", "w"), indent=2)
print(f"throughput sweep ({secs:g} s per rate), results in {out}")
for name in ("p99_under_1ms", "p99_under_10ms"):
    b = gw[name]
    print(f"  highest rate with {name.replace('_', ' ')} and < 0.1% failures: "
          + (f"{b['rate']:g} req/s (achieved {b['rps']:.0f}, p99 {b['p99_us']} µs)" if b else "none"))
PY
