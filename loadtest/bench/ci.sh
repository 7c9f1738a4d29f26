#!/usr/bin/env bash
# Regression watch for .ci/run: a short `overhead` run (4 s per run, about 30 s in all once
# the release binaries are built) whose added latency, throughput, CPU per request and RSS are
# printed beside the last recorded numbers (docs/bench/overhead/summary.json). Report only:
# it never fails the build, whatever the speed and even if the run itself fails — a slower
# number is for a person to read, on a shared machine where ±10% is noise.
#
# Usage: loadtest/bench/ci.sh [seconds-per-run]   (default 4; pins with taskset when it can)
set -uo pipefail
secs=${1:-4}
cd "$(dirname "$0")/../.."
out=target/bench-ci
mkdir -p "$out"
report_only() { echo "benchmark step (report only, not failing the build): $*"; exit 0; }
profile=${PROFILE:-release}   # PROFILE=dev: check the step itself quickly (numbers meaningless)
if [ "${SKIP_BUILD:-0}" != 1 ] &&
  ! cargo build --quiet --profile "$profile" --bin portcullis --bin portcullis-mock --bin portcullis-load; then
  report_only "$profile build failed"
fi
pin=0
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then pin=1; fi
if ! PIN=$pin PROFILE=$profile SKIP_BUILD=1 OUT_DIR=$out timeout 90 loadtest/bench/overhead.sh "$secs" >"$out/overhead.log" 2>&1; then
  tail -n 20 "$out/overhead.log"
  report_only "the overhead run failed or took over 90 s"
fi
python3 - "$out/overhead/summary.json" docs/bench/overhead/summary.json <<'PY' || report_only "could not compare"
import json, os, sys
now = json.load(open(sys.argv[1]))
old = json.load(open(sys.argv[2])) if os.path.exists(sys.argv[2]) else None
rows = [
    ("added latency c=1 p50 (µs)", lambda s: s["added_us"]["p50"]),
    ("added latency c=1 p99 (µs)", lambda s: s["added_us"]["p99"]),
    ("gateway c=64 throughput (req/s)", lambda s: round(s["runs"]["gateway-c64"]["rps"])),
    ("gateway CPU per request c=1 (µs)", lambda s: s["gateway_cpu_us_per_request"]["c1"]),
    ("gateway CPU per request c=64 (µs)", lambda s: s["gateway_cpu_us_per_request"]["c64"]),
    ("gateway RSS idle (KiB)", lambda s: s["gateway_rss_kib"]["idle"]),
]
where = f"recorded at {old['commit']}, {old['date']}" if old else "nothing recorded in docs/bench/overhead/"
print(f"benchmark (report only; {now['seconds_per_run']:g} s runs, pinned={now['pinned']}; {where})")
print(f"{'':36}{'now':>10}{'recorded':>10}{'change':>9}")
for name, get in rows:
    n = get(now)
    o = get(old) if old else None
    change = f"{100 * (n - o) / o:+.0f}%" if o else ""
    print(f"{name:36}{n:>10}{'' if o is None else o:>10}{change:>9}")
PY
exit 0
