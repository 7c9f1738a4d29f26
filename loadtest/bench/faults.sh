#!/usr/bin/env bash
# Scenario `faults`: one of three deployments failing. Two instant mocks and a third
# deployment (faults.yaml) that, with FAULT=flaky (the default), answers 500 to every other
# request, or with FAULT=down refuses every connection; open-loop load at RATE (default
# 2000/s) through the gateway, and the same load directly to a healthy mock for the baseline.
# Reports the client-visible failure rate (target < 0.5%: retries, the breaker and the retry
# budget absorb the failing deployment) and the added latency. Writes direct.json,
# gateway.json (+ plots), summary.json.
#
# Usage: PIN=1 loadtest/bench/faults.sh [seconds]   (default 10; RATE=2000, FAULT=flaky|down)
set -euo pipefail
secs=${1:-10}
rate=${RATE:-2000}
source "$(dirname "$0")/common.sh"
out=$(scenario_dir faults)
fault=${FAULT:-flaky}
start_mock 19000
start_mock 19001
case $fault in
  flaky) start_mock 19002 --fail-status 500 --fail-percent 50
         failing="1 of 3 deployments answers 500 to half its requests" ;;
  down) failing="1 of 3 deployments refuses every connection" ;;
  *) echo "FAULT must be flaky or down" >&2; exit 2 ;;
esac
start_gateway loadtest/bench/faults.yaml

run() { # name url [key]
  load --url "$2" ${3:+--key "$3"} --model bench-model --rate "$rate" --connections 64 \
    --duration-secs "$secs" --warmup-secs 1 --quiet --out "$out/$1.json"
}
run direct "$mock"
run gateway "$gw" "$BENCH_KEY"
# What the gateway did about the failing deployment: retries, breaker transitions, budget.
curl -sf -H "Authorization: Bearer $BENCH_MASTER_KEY" http://127.0.0.1:14001/metrics \
  | grep -E '^portcullis_(retries_total|breaker_transitions_total|retry_budget_exhausted_total|fallbacks_total)' \
  > "$out/gateway-metrics.txt" || true

python3 - "$out" "$secs" "$rate" "$(run_facts)" "$failing" "$fault" <<'PY'
import json, sys
out, secs, rate, facts = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), json.loads(sys.argv[4])
failing, fault = sys.argv[5], sys.argv[6]
def run(name):
    r = json.load(open(f"{out}/{name}.json"))
    owed = r["requests"] + r["errors"] + r["unsent"]
    bad = r["non_2xx"] + r["errors"] + r["unsent"]
    l = r["latency_us"]
    return {"rps": round(r["rps"], 1), "owed": owed, "failures": bad,
            "failure_pct": round(100 * bad / owed, 3) if owed else 0.0,
            **{k: l[k] for k in ("p50", "p90", "p99", "p99_9", "max")}}
d, g = run("direct"), run("gateway")
def counters():
    out = {}
    try:
        for line in open(f"{out_dir}/gateway-metrics.txt"):
            name = line.split("{")[0].split()[0]
            out[name] = out.get(name, 0) + float(line.split()[-1])
    except OSError:
        pass
    return {k: int(v) for k, v in out.items()}
out_dir = out
summary = {"scenario": "faults", **facts, "seconds": secs, "rate": rate,
           "gateway_counters": counters(),
           "failing": failing,
           "command": f"{facts['env']}FAULT={fault} RECORD=1 loadtest/bench/faults.sh {secs:g}",
           "direct": d, "gateway": g,
           "added_us": {k: g[k] - d[k] for k in ("p50", "p90", "p99", "p99_9")}}
json.dump(summary, open(f"{out}/summary.json", "w"), indent=2)
print(f"faults ({rate:g} req/s, {secs:g} s, {failing}), results in {out}")
print(f"  client-visible failures: {g['failures']} of {g['owed']} ({g['failure_pct']}%); "
      f"added p50 +{summary['added_us']['p50']} µs, p99 +{summary['added_us']['p99']} µs")
print(f"  gateway: {summary['gateway_counters']}")
PY
