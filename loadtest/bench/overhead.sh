#!/usr/bin/env bash
# Scenario `overhead`: what the gateway adds to one request. An instant mock; the same
# closed-loop load sent directly to the mock and through the gateway (default bench config:
# auth + model authorization), at concurrency 1 (added latency) and 64 (throughput and CPU per
# request on the gateway's core). Writes direct-c1.json, gateway-c1.json, direct-c64.json,
# gateway-c64.json with their plots, and summary.json.
#
# Usage: PIN=1 loadtest/bench/overhead.sh [seconds-per-run]   (default 10; needs taskset for PIN)
set -euo pipefail
secs=${1:-10}
source "$(dirname "$0")/common.sh"
out=$(scenario_dir overhead)
start_mock 19000
start_gateway loadtest/bench/gateway.yaml
idle=$(rss_kib "$gw_pid")

run() { # name url concurrency [key]
  local before n
  before=$(cpu_us "$gw_pid")
  load --url "$2" ${4:+--key "$4"} --model bench-model --concurrency "$3" \
    --duration-secs "$secs" --warmup-secs 1 --quiet --out "$out/$1.json"
  n=$(jq '.requests' "$out/$1.json")
  echo $(( ($(cpu_us "$gw_pid") - before) / (n > 0 ? n : 1) )) >"$out/$1.cpu"
}
run direct-c1 "$mock" 1
run gateway-c1 "$gw" 1 "$BENCH_KEY"
run direct-c64 "$mock" 64
run gateway-c64 "$gw" 64 "$BENCH_KEY"
after=$(rss_kib "$gw_pid")

python3 - "$out" "$secs" "$idle" "$after" "$(run_facts)" <<'PY'
import json, sys
out, secs, idle, after, facts = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), json.loads(sys.argv[5])
def run(name):
    r = json.load(open(f"{out}/{name}.json"))
    l = r["latency_us"]
    return {"rps": round(r["rps"], 1), "requests": r["requests"],
            "failures": r["non_2xx"] + r["errors"] + r["unsent"],
            **{k: l[k] for k in ("p50", "p90", "p99", "p99_9", "max")}}
runs = {n: run(n) for n in ("direct-c1", "gateway-c1", "direct-c64", "gateway-c64")}
cpu = {n: int(open(f"{out}/{n}.cpu").read()) for n in ("gateway-c1", "gateway-c64")}
summary = {
    "scenario": "overhead", **facts, "seconds_per_run": secs,
    "command": f"{facts['env']}RECORD=1 loadtest/bench/overhead.sh {secs:g}",
    "runs": runs,
    "added_us": {k: runs["gateway-c1"][k] - runs["direct-c1"][k] for k in ("p50", "p90", "p99", "p99_9")},
    "gateway_cpu_us_per_request": {"c1": cpu["gateway-c1"], "c64": cpu["gateway-c64"]},
    "gateway_rss_kib": {"idle": idle, "after": after},
}
json.dump(summary, open(f"{out}/summary.json", "w"), indent=2)
a, g1, g64 = summary["added_us"], runs["gateway-c1"], runs["gateway-c64"]
print(f"overhead ({secs:g} s per run), results in {out}")
print(f"  concurrency 1:  direct p50 {runs['direct-c1']['p50']} µs, gateway p50 {g1['p50']} µs; "
      f"added p50 +{a['p50']} µs, p90 +{a['p90']} µs, p99 +{a['p99']} µs")
print(f"  concurrency 64: direct {runs['direct-c64']['rps']:.0f} req/s, gateway {g64['rps']:.0f} req/s "
      f"(p50 {g64['p50']} µs, p99 {g64['p99']} µs)")
print(f"  gateway CPU per request: {cpu['gateway-c1']} µs at c=1, {cpu['gateway-c64']} µs at c=64; "
      f"RSS idle {idle} KiB, after {after} KiB")
PY
