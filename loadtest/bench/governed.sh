#!/usr/bin/env bash
# Scenario `governed`: the gateway's cost with governance fully on — auth, authorization,
# rate limits, parallel cap, budget and spend log — on the memory limiter and on the Redis
# limiter (a redis-server started here on REDIS_PORT, default 16379, on the client CPU).
# For each: added latency at concurrency 1 over direct-to-mock (targets: p50 ≤ 30 µs,
# p99 ≤ 50 µs on memory; p99 ≤ 120 µs on Redis), throughput at concurrency 64 and gateway
# CPU per request, and on Redis the limiter's round trips per request at 64. Writes direct-c1.json, <variant>-c1.json, <variant>-c64.json (+ plots)
# and summary.json.
#
# Needs the limiter's config (issue 7): governed-memory.yaml and governed-redis.yaml are
# written ahead of it. A variant whose config this build rejects is reported as not run,
# with the loader's message; the script exits 2 if no variant ran.
#
# Usage: PIN=1 loadtest/bench/governed.sh [seconds-per-run]   (default 10; needs redis-server)
set -euo pipefail
secs=${1:-10}
source "$(dirname "$0")/common.sh"
out=$(scenario_dir governed)
redis_port=${REDIS_PORT:-16379}
export BENCH_REDIS_URL=redis://127.0.0.1:$redis_port/
start_mock 19000

run() { # name url concurrency [key]
  local before n
  before=${gw_pid:+$(cpu_us "$gw_pid")}
  load --url "$2" ${4:+--key "$4"} --model bench-model --concurrency "$3" \
    --duration-secs "$secs" --warmup-secs 1 --quiet --out "$out/$1.json"
  if [ -n "${4:-}" ]; then
    n=$(jq '.requests' "$out/$1.json")
    echo $(( ($(cpu_us "$gw_pid") - before) / (n > 0 ? n : 1) )) >"$out/$1.cpu"
  fi
}
# scrape FILE: the gateway's /metrics into FILE.
scrape() {
  curl -sf -H "Authorization: Bearer $BENCH_MASTER_KEY" http://127.0.0.1:14001/metrics >"$1" || : >"$1"
}
gw_pid=
run direct-c1 "$mock" 1
ran=0
for variant in memory redis; do
  config=loadtest/bench/governed-$variant.yaml
  if ! problem=$("$bin/portcullis" check-config --config "$config" 2>&1); then
    echo "governed/$variant: not run: this build rejects $config:" >&2
    echo "$problem" >&2
    printf '%s' "$problem" >"$out/$variant.not-run"
    continue
  fi
  if [ "$variant" = redis ]; then
    "${client_cpu[@]}" redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
    started+=($!)
    wait_port "$redis_port"
  fi
  start_gateway "$config"
  run "$variant-c1" "$gw" 1 "$BENCH_KEY"
  # Redis round trips per request over the c=64 run, warm-up included on both sides: the
  # limiter's counter over the gateway's own request counter.
  scrape "$out/$variant-before.metrics"
  run "$variant-c64" "$gw" 64 "$BENCH_KEY"
  scrape "$out/$variant-after.metrics"
  stop_gateway
  ran=$((ran + 1))
done

python3 - "$out" "$secs" "$(run_facts)" <<'PY'
import json, os, sys
out, secs, facts = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3])
def lat(name):
    r = json.load(open(f"{out}/{name}.json"))
    return r, r["latency_us"]
_, direct = lat("direct-c1")
summary = {"scenario": "governed", **facts, "seconds_per_run": secs,
           "command": f"{facts['env']}RECORD=1 loadtest/bench/governed.sh {secs:g}",
           "direct_c1": {k: direct[k] for k in ("p50", "p90", "p99", "p99_9")}}
print(f"governed ({secs:g} s per run), results in {out}")
for v in ("memory", "redis"):
    if os.path.exists(f"{out}/{v}.not-run"):
        summary[v] = {"not_run": open(f"{out}/{v}.not-run").read()}
        print(f"  {v}: not run (config rejected; see {out}/{v}.not-run)")
        continue
    _, c1 = lat(f"{v}-c1")
    r64, c64 = lat(f"{v}-c64")
    summary[v] = {
        "added_us": {k: c1[k] - direct[k] for k in ("p50", "p90", "p99", "p99_9")},
        "c64": {"rps": round(r64["rps"], 1), "p50": c64["p50"], "p99": c64["p99"],
                "failures": r64["non_2xx"] + r64["errors"]},
        "gateway_cpu_us_per_request": {c: int(open(f"{out}/{v}-{c}.cpu").read()) for c in ("c1", "c64")},
    }
    def total(name, phase):
        return sum(float(l.split()[-1]) for l in open(f"{out}/{v}-{phase}.metrics")
                   if l.startswith(name + "{") or l.startswith(name + " "))
    requests = total("portcullis_requests_total", "after") - total("portcullis_requests_total", "before")
    trips = total("portcullis_limiter_redis_round_trips_total", "after") - total("portcullis_limiter_redis_round_trips_total", "before")
    if v == "redis" and requests > 0:
        summary[v]["redis_round_trips_per_request"] = round(trips / requests, 3)
    s = summary[v]
    print(f"  {v}: added p50 +{s['added_us']['p50']} µs, p99 +{s['added_us']['p99']} µs; "
          f"c=64 {s['c64']['rps']:.0f} req/s; CPU/request {s['gateway_cpu_us_per_request']['c64']} µs"
          + (f"; Redis round trips/request {s['redis_round_trips_per_request']}" if "redis_round_trips_per_request" in s else ""))
json.dump(summary, open(f"{out}/summary.json", "w"), indent=2)
PY
[ "$ran" -gt 0 ] || exit 2
