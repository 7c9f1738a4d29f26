#!/usr/bin/env bash
# Scenario `spend`: what the durable spend log (SQLite, WAL, synchronous=FULL, one writer
# thread, batches of 64 records or every 50 ms, yielding every 8 rows) adds to request latency at concurrency 64
# (issue 6). The same gateway config twice, once with `storage.backend: memory`
# (gateway.yaml) and once on SQLite (gateway-sqlite.yaml), in alternating rounds, each driven
# open loop at RATE requests/s over 64 connections: a fixed offered load below saturation, so
# that what is measured is the latency each request sees, not how many fit on the core (the
# throughput cost is before_after.sh's business). Reports per run p50/p90/p99/p99.9 of the
# latency (from the intended send), the gateway's CPU per request, and the spend rows the
# SQLite run wrote (every request must be recorded).
#
# Usage: PIN=1 loadtest/bench/spend.sh [seconds-per-run] [rounds]   (defaults 10 and 3)
#        RATE=4000 (requests/s)
set -euo pipefail
secs=${1:-10}
rounds=${2:-3}
rate=${RATE:-4000}
source "$(dirname "$0")/common.sh"
out=$(scenario_dir spend)
db=target/bench/spend-log.db
start_mock 19000

for round in $(seq 1 "$rounds"); do
  for variant in memory sqlite; do
    if [ "$variant" = memory ]; then config=loadtest/bench/gateway.yaml; else config=loadtest/bench/gateway-sqlite.yaml; fi
    rm -f "$db" "$db-wal" "$db-shm"
    start_gateway "$config"
    before=$(cpu_us "$gw_pid")
    load --url "$gw" --key "$BENCH_KEY" --model bench-model --rate "$rate" --connections 64 \
      --duration-secs "$secs" --warmup-secs 1 --quiet --out "$out/$variant-$round.json"
    n=$(jq '.requests' "$out/$variant-$round.json")
    echo $(( ($(cpu_us "$gw_pid") - before) / (n > 0 ? n : 1) )) >"$out/$variant-$round.cpu"
    stop_gateway
    if [ "$variant" = sqlite ]; then
      # Warm-up and measured requests together; the writer flushed on the graceful stop.
      python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from spend").fetchone()[0])' "$db" \
        >"$out/$variant-$round.rows"
    fi
  done
done

python3 - "$out" "$secs" "$rounds" "$rate" "$(run_facts)" <<'PY'
import json, os, sys
out, secs, rounds, rate, facts = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), json.loads(sys.argv[5])
summary = {"scenario": "spend", **facts, "seconds_per_run": secs, "rounds": rounds, "rate": rate,
           "command": f"{facts['env']}RECORD=1 RATE={rate:g} loadtest/bench/spend.sh {secs:g} {rounds}",
           "runs": []}
print(f"spend log, open loop {rate:g} req/s over 64 connections, {secs:g} s per run; results in {out}")
print("| run | p50 (µs) | p90 (µs) | p99 (µs) | p99.9 (µs) | achieved req/s | failures | CPU/req (µs) | spend rows |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for r in range(1, rounds + 1):
    for v in ("memory", "sqlite"):
        d = json.load(open(f"{out}/{v}-{r}.json"))
        lat = d["latency_us"]
        rows_file = f"{out}/{v}-{r}.rows"
        rows = int(open(rows_file).read()) if os.path.exists(rows_file) else None
        run = {"variant": v, "round": r, **{k: lat[k] for k in ("p50", "p90", "p99", "p99_9")},
               "rps": round(d["rps"], 1), "failures": d["non_2xx"] + d["errors"],
               "cpu_us_per_request": int(open(f"{out}/{v}-{r}.cpu").read()), "spend_rows": rows}
        summary["runs"].append(run)
        print(f"| {v} {r} | {run['p50']} | {run['p90']} | {run['p99']} | {run['p99_9']} | {run['rps']:.0f} | "
              f"{run['failures']} | {run['cpu_us_per_request']} | {'—' if rows is None else rows} |")
json.dump(summary, open(f"{out}/summary.json", "w"), indent=2)
PY
