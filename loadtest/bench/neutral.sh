#!/usr/bin/env bash
# Scenario `neutral`: the gateway against a neutral upstream and client, beside nginx as a
# plain reverse proxy in the same seat (issue 12's harness). nginx (one worker) serves a canned
# 784-byte chat.completion and a 7.2 KB stream of 24 content chunks as static files
# (neutral/bodies.py); wrk (one thread, neutral/request.lua: a 227-byte request) is the client.
# The proxy under test (the gateway with governance on: auth, authorization, the memory
# limiter, the spend log — neutral/gateway.yaml — or nginx proxying with keep-alive upstream
# connections and no buffering) runs on GATEWAY_CPUS; the upstream nginx and wrk share
# CLIENT_CPUS. Runs: direct to the upstream, through nginx, through the gateway, at
# concurrency 1 (added latency), 16 (the tail) and 64 (throughput, CPU per request), and
# streams at 64. Writes <run>.json per run and summary.json.
#
# Usage: PIN=1 loadtest/bench/neutral.sh [seconds-per-run]   (default 10; needs nginx, wrk)
set -euo pipefail
secs=${1:-10}
for tool in nginx wrk jq; do
  command -v "$tool" >/dev/null || { echo "neutral.sh needs $tool (apt-get install nginx wrk jq)" >&2; exit 2; }
done
source "$(dirname "$0")/common.sh"
out=$(scenario_dir neutral)
work=$(mktemp -d)
trap 'stop_all; rm -rf "$work"' EXIT
python3 loadtest/bench/neutral/bodies.py "$work/www" >"$out/bodies.txt"

# nginx_conf NAME PORT BODY: a one-process nginx (no master) serving BODY (server directives).
nginx_conf() {
  mkdir -p "$work/$1"
  cat >"$work/$1/nginx.conf" <<CONF
worker_processes 1;
master_process off;
daemon off;
pid $work/$1/nginx.pid;
error_log $work/$1/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 120s;
  client_body_temp_path $work/$1/body;
  proxy_temp_path $work/$1/proxy;
  fastcgi_temp_path $work/$1/fastcgi;
  uwsgi_temp_path $work/$1/uwsgi;
  scgi_temp_path $work/$1/scgi;
  types {}
$3
  server {
    listen 127.0.0.1:$2 backlog=4096;
$4
  }
}
CONF
}
# The upstream: static files, answered to POST too (the 405 of the static module becomes the file).
nginx_conf upstream 19100 "" "
    root $work/www;
    location /json/ { default_type application/json; error_page 405 =200 \$uri; }
    location /sse/ { default_type text/event-stream; error_page 405 =200 \$uri; }"
# nginx as a plain reverse proxy: HTTP/1.1 keep-alive to the upstream, nothing buffered.
nginx_conf proxy 14100 "  upstream up { server 127.0.0.1:19100; keepalive 256; keepalive_requests 100000000; }" "
    location / {
      proxy_pass http://up;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_buffering off;
      proxy_request_buffering off;
    }"

"${client_cpu[@]}" nginx -c "$work/upstream/nginx.conf" 2>"$work/upstream/stderr" &
started+=($!)
wait_port 19100
"${gateway_cpu[@]}" nginx -c "$work/proxy/nginx.conf" 2>"$work/proxy/stderr" &
proxy_pid=$!
started+=("$proxy_pid")
wait_port 14100
start_gateway loadtest/bench/neutral/gateway.yaml
idle=$(rss_kib "$gw_pid")

direct=http://127.0.0.1:19100
# url TARGET KIND: where a run of KIND (json, sse) is sent for TARGET.
url() {
  case $1 in
    direct) echo "$direct/$2/v1/chat/completions" ;;
    nginx) echo "http://127.0.0.1:14100/$2/v1/chat/completions" ;;
    gateway) echo "http://127.0.0.1:14000/v1/chat/completions" ;;
  esac
}
# wrk_run NAME TARGET KIND CONCURRENCY SECONDS: one wrk run, its result in NAME.json, the
# proxy's CPU per request in NAME.cpu.
wrk_run() {
  local name=$1 target=$2 kind=$3 c=$4 s=$5 pid="" before=0 stream=0 key=""
  [ "$kind" = sse ] && stream=1
  [ "$target" = gateway ] && key=$BENCH_KEY
  case $target in nginx) pid=$proxy_pid ;; gateway) pid=$gw_pid ;; esac
  [ -n "$pid" ] && before=$(cpu_us "$pid")
  NEUTRAL_MODEL=bench-$kind NEUTRAL_STREAM=$stream NEUTRAL_KEY=$key \
    on_client_cpu wrk -t1 -c"$c" -d"${s}s" --timeout 5s -s loadtest/bench/neutral/request.lua \
    "$(url "$target" "$kind")" >"$work/wrk.out"
  grep '^RESULT ' "$work/wrk.out" | cut -d' ' -f2- >"$out/$name.json"
  if [ -n "$pid" ]; then
    local n
    n=$(jq '.requests' "$out/$name.json")
    echo $(( ($(cpu_us "$pid") - before) / (n > 0 ? n : 1) )) >"$out/$name.cpu"
  fi
}

# Warm every path (connection pools, caches), then the measured runs.
for target in direct nginx gateway; do
  for kind in json sse; do wrk_run warm "$target" "$kind" 8 1; done
done
rm -f "$out"/warm.*
for target in direct nginx gateway; do
  wrk_run "$target-c1" "$target" json 1 "$secs"
  wrk_run "$target-c16" "$target" json 16 "$secs"
  wrk_run "$target-c64" "$target" json 64 "$secs"
  wrk_run "$target-sse-c64" "$target" sse 64 "$secs"
done
after=$(rss_kib "$gw_pid")

python3 - "$out" "$secs" "$idle" "$after" "$(run_facts)" "$(cat "$out/bodies.txt")" <<'PY'
import json, os, sys
out, secs, idle, after, facts, bodies = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), json.loads(sys.argv[5]), sys.argv[6]
def run(name):
    r = json.load(open(f"{out}/{name}.json"))
    r["rps"] = round(r["requests"] / (r["duration_us"] / 1e6), 1)
    cpu = f"{out}/{name}.cpu"
    if os.path.exists(cpu):
        r["proxy_cpu_us"] = int(open(cpu).read())
    return r
runs = {f"{t}-{k}": run(f"{t}-{k}") for t in ("direct", "nginx", "gateway") for k in ("c1", "c16", "c64", "sse-c64")}
added = {t: {q: runs[f"{t}-c1"][q] - runs["direct-c1"][q] for q in ("p50", "p90", "p99", "p99_9")}
         for t in ("nginx", "gateway")}
summary = {"scenario": "neutral", **facts, "seconds_per_run": secs, "bodies": bodies,
           "command": f"{facts['env']}RECORD=1 loadtest/bench/neutral.sh {secs:g}",
           "runs": runs, "added_us_c1": added,
           "gateway_rss_kib": {"idle": idle, "after": after}}
json.dump(summary, open(f"{out}/summary.json", "w"), indent=2)
print(f"neutral ({secs:g} s per run; {bodies}), results in {out}")
for t in ("direct", "nginx", "gateway"):
    r1, r16, r64, s64 = (runs[f"{t}-{k}"] for k in ("c1", "c16", "c64", "sse-c64"))
    cpu = f"; CPU/request {r64['proxy_cpu_us']} µs, CPU/stream {s64['proxy_cpu_us']} µs" if t != "direct" else ""
    add = f" (added p50 +{added[t]['p50']}, p99 +{added[t]['p99']})" if t != "direct" else ""
    bad = sum(r[k] for r in (r1, r16, r64, s64) for k in ("non_2xx", "errors"))
    print(f"  {t:8} c1 p50 {r1['p50']} p99 {r1['p99']} µs{add}; c16 p50 {r16['p50']} p90 {r16['p90']} p99 {r16['p99']} µs; "
          f"c64 {r64['rps']:.0f} req/s; streams c64 {s64['rps']:.0f}/s{cpu}; non-2xx/errors {bad}")
print(f"  gateway RSS idle {idle} KiB, after {after} KiB")
PY
