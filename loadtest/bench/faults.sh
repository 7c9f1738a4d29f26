#!/usr/bin/env bash
# Scenario `faults`: one of three deployments failing. Two instant mocks and a third
# deployment whose upstream refuses every connection (faults.yaml); open-loop load at RATE
# (default 2000/s) through the gateway, and the same load directly to a healthy mock for
# the baseline. Reports the client-visible failure rate (target < 0.5% once retries and the
# breaker land) and the added latency. Writes direct.json, gateway.json (+ plots), summary.json.
#
# Usage: PIN=1 loadtest/bench/faults.sh [seconds]   (default 10; RATE=2000)
set -euo pipefail
secs=${1:-10}
rate=${RATE:-2000}
source "$(dirname "$0")/common.sh"
out=$(scenario_dir faults)
start_mock 19000
start_mock 19001
start_gateway loadtest/bench/faults.yaml

run() { # name url [key]
  load --url "$2" ${3:+--key "$3"} --model bench-model --rate "$rate" --connections 64 \
    --duration-secs "$secs" --warmup-secs 1 --quiet --out "$out/$1.json"
}
run direct "$mock"
run gateway "$gw" "$BENCH_KEY"

python3 - "$out" "$secs" "$rate" "$(run_facts)" <<'PY'
import json, sys
out, secs, rate, facts = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), json.loads(sys.argv[4])
def run(name):
    r = json.load(open(f"{out}/{name}.json"))
    owed = r["requests"] + r["errors"] + r["unsent"]
    bad = r["non_2xx"] + r["errors"] + r["unsent"]
    l = r["latency_us"]
    return {"rps": round(r["rps"], 1), "owed": owed, "failures": bad,
            "failure_pct": round(100 * bad / owed, 3) if owed else 0.0,
            **{k: l[k] for k in ("p50", "p90", "p99", "p99_9", "max")}}
d, g = run("direct"), run("gateway")
summary = {"scenario": "faults", **facts, "seconds": secs, "rate": rate,
           "failing": "1 of 3 deployments refuses every connection",
           "command": f"{facts['env']}RECORD=1 loadtest/bench/faults.sh {secs:g}",
           "direct": d, "gateway": g,
           "added_us": {k: g[k] - d[k] for k in ("p50", "p90", "p99", "p99_9")}}
json.dump(summary, open(f"{out}/summary.json", "w"), indent=2)
print(f"faults ({rate:g} req/s, {secs:g} s, 1 of 3 deployments down), results in {out}")
print(f"  client-visible failures: {g['failures']} of {g['owed']} ({g['failure_pct']}%); "
      f"added p50 +{summary['added_us']['p50']} µs, p99 +{summary['added_us']['p99']} µs")
PY
