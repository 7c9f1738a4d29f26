#!/usr/bin/env bash
# Scenario `soak`: the gateway under steady mixed load for N minutes — JSON at concurrency
# 16 plus streams (24 chunks) at concurrency 8 — with its RSS sampled every second by
# portcullis-load --watch-pid. Reports RSS start, peak and end and the least-squares slope
# over the whole run and over its second half; "flat" means the second-half slope projects
# to under 1 MiB over ten minutes. Writes json.json (+ rss plot), stream.json, summary.json.
#
# Usage: PIN=1 loadtest/bench/soak.sh [minutes]   (default 10)
set -euo pipefail
minutes=${1:-10}
secs=${SOAK_SECS:-$((minutes * 60))}   # SOAK_SECS: a short smoke run
source "$(dirname "$0")/common.sh"
out=$(scenario_dir soak)
start_mock 19000 --chunks 24
start_gateway loadtest/bench/gateway.yaml
idle=$(rss_kib "$gw_pid")

"${client_cpu[@]}" "$bin/portcullis-load" --url "$gw" --key "$BENCH_KEY" --model bench-model --stream \
  --concurrency 8 --duration-secs "$secs" --warmup-secs 0 --quiet --out "$out/stream.json" &
stream_pid=$!
load --url "$gw" --key "$BENCH_KEY" --model bench-model --concurrency 16 \
  --duration-secs "$secs" --warmup-secs 0 --watch-pid "$gw_pid" --out "$out/json.json"
wait "$stream_pid"

python3 - "$out" "$secs" "$idle" "$(run_facts)" <<'PY'
import json, sys
out, secs, idle, facts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
minutes = round(secs / 60, 2)
j, s = (json.load(open(f"{out}/{n}.json")) for n in ("json", "stream"))
rss = j["rss"]
flat = rss["late_slope_kib_per_min"] * 10 < 1024
summary = {"scenario": "soak", **facts, "minutes": minutes,
           "command": f"{facts['env']}RECORD=1 loadtest/bench/soak.sh {minutes:g}",
           "rss_kib": {"idle": idle, "start": rss["start_kib"], "peak": rss["peak_kib"], "end": rss["end_kib"]},
           "slope_kib_per_min": round(rss["slope_kib_per_min"], 2),
           "late_slope_kib_per_min": round(rss["late_slope_kib_per_min"], 2),
           "flat": flat,
           "json": {"requests": j["requests"], "rps": round(j["rps"], 1), "failures": j["non_2xx"] + j["errors"],
                    "p99": j["latency_us"]["p99"]},
           "stream": {"streams": s["requests"], "rps": round(s["rps"], 1), "failures": s["non_2xx"] + s["errors"],
                      "ttft_p50": s["ttft_us"]["p50"]}}
json.dump(summary, open(f"{out}/summary.json", "w"), indent=2)
r = summary["rss_kib"]
print(f"soak ({minutes:g} min), results in {out}")
print(f"  RSS idle {r['idle']} KiB; start {r['start']}, peak {r['peak']}, end {r['end']} KiB; "
      f"slope {summary['slope_kib_per_min']:+} KiB/min, second half {summary['late_slope_kib_per_min']:+} KiB/min "
      f"({'flat' if flat else 'GROWING'})")
print(f"  {j['requests']} JSON requests ({j['rps']:.0f}/s), {s['requests']} streams ({s['rps']:.0f}/s), "
      f"failures {summary['json']['failures'] + summary['stream']['failures']}")
PY
