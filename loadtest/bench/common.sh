# Shared by the scenario scripts (sourced, not run). Builds the binaries, makes throwaway
# keys, and offers helpers to start mocks and the gateway, run portcullis-load, read a
# process's CPU time and RSS, and write results. Everything started is stopped on exit.
#
# Environment:
#   PROFILE=release   cargo profile to build and run (dev: a quick smoke run, numbers meaningless)
#   PIN=1             pin with taskset, as DESIGN.md §6 does: the gateway on GATEWAY_CPUS (0),
#                     mocks, redis and the client on CLIENT_CPUS (1)
#   RECORD=1          write results under docs/bench/<scenario>/ (what docs.sh reads);
#                     otherwise under OUT_DIR (target/bench)/<scenario>/
#   SKIP_BUILD=1      use the binaries already built
#   GATEWAY_BIN=PATH  run this `portcullis` binary as the gateway (another build, to compare)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PROFILE=${PROFILE:-release}
PIN=${PIN:-0}
GATEWAY_CPUS=${GATEWAY_CPUS:-0}
CLIENT_CPUS=${CLIENT_CPUS:-1}
if [ "$PROFILE" = dev ]; then bin=target/debug; else bin=target/$PROFILE; fi
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  cargo build --quiet --profile "$PROFILE" --bin portcullis --bin portcullis-mock --bin portcullis-load
fi
BENCH_KEY=$("$bin/portcullis" gen-key)
BENCH_MASTER_KEY=$("$bin/portcullis" gen-key)
export BENCH_KEY BENCH_MASTER_KEY

gw=http://127.0.0.1:14000/v1/chat/completions
mock=http://127.0.0.1:19000/v1/chat/completions
started=()
stop_all() { for p in "${started[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap stop_all EXIT

# Command prefixes that pin (taskset execs the command, so `$!` is the real process's pid:
# never start a background process through a shell function, whose `$!` is a subshell).
gateway_cpu=()
client_cpu=()
if [ "$PIN" = 1 ]; then
  gateway_cpu=(taskset -c "$GATEWAY_CPUS")
  client_cpu=(taskset -c "$CLIENT_CPUS")
fi
on_client_cpu() { "${client_cpu[@]}" "$@"; }

# Waits up to 10 s for a TCP listener on 127.0.0.1:PORT.
wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listening on port $1 after 10 s" >&2
  return 1
}

# start_mock PORT [portcullis-mock flags…]: one mock thread on the client CPU.
start_mock() {
  local port=$1; shift
  "${client_cpu[@]}" "$bin/portcullis-mock" --listen "127.0.0.1:$port" --threads 1 "$@" >/dev/null &
  started+=($!)
  wait_port "$port"
}

# start_gateway CONFIG: the gateway on its CPU; sets gw_pid.
start_gateway() {
  RUST_LOG=${RUST_LOG:-warn} "${gateway_cpu[@]}" "${GATEWAY_BIN:-$bin/portcullis}" serve --config "$1" &
  gw_pid=$!
  started+=("$gw_pid")
  wait_port 14000
  curl -sf http://127.0.0.1:14000/health/live >/dev/null
}

# stop_gateway: stops the gateway started last.
stop_gateway() { kill "$gw_pid" 2>/dev/null || true; wait "$gw_pid" 2>/dev/null || true; }

# load ARGS…: portcullis-load on the client CPU.
load() { on_client_cpu "$bin/portcullis-load" "$@"; }

# Resident memory of PID in KiB, and the CPU time (user+system) it has used in µs.
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_us() { awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000000 / hz)}' "/proc/$1/stat"; }

# scenario_dir NAME: where this run's files go (created, emptied of old results).
scenario_dir() {
  local dir
  if [ "${RECORD:-0}" = 1 ]; then dir=docs/bench/$1; else dir=${OUT_DIR:-target/bench}/$1; fi
  mkdir -p "$dir"
  rm -f "$dir"/*.json "$dir"/*.svg
  echo "$dir"
}

# run_facts: one JSON object describing this run: commit, date, machine, pinning, profile.
run_facts() {
  python3 - "$PIN" "$PROFILE" <<'PY'
import json, os, platform, subprocess, sys, datetime
def sh(*a):
    try: return subprocess.run(a, capture_output=True, text=True).stdout.strip()
    except OSError: return ""
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
print(json.dumps({
    "commit": sh("git", "rev-parse", "--short", "HEAD"),
    "dirty": bool(sh("git", "status", "--porcelain", "--untracked-files=no")),
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    "machine": f"{os.cpu_count()} CPUs ({cpu}), {mem // 1048576} GiB, Linux {platform.release()}",
    "pinned": sys.argv[1] == "1",
    "profile": sys.argv[2],
    # How to repeat this run (prefix of the recorded command).
    "env": ("PIN=1 " if sys.argv[1] == "1" else "") + ("" if sys.argv[2] == "release" else f"PROFILE={sys.argv[2]} "),
}))
PY
}
