#!/usr/bin/env bash
# Bounded fuzzing smoke run: every fuzz target for at most SECS seconds (default 15) on the
# stable toolchain, seeded from fuzz/corpus/<target>. New inputs go to a scratch folder, so
# the committed corpus changes only by hand. A crash fails the run and leaves the input in
# fuzz/artifacts/<target>/ (reproduce: cargo fuzz run <target> --sanitizer none <file>).
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). Not part of .ci/run: building
# libFuzzer and every target takes tens of minutes on a small machine; run it before touching
# a parser or stream. Prints per target libFuzzer's final `#N DONE ... corp: ... exec/s` line
# and its final stats (the numbers docs/SECURITY.md records).
# Usage: scripts/fuzz-smoke.sh [SECS] [TARGET...]   (no TARGET: every one `cargo fuzz list` names)
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-15}
shift || true
targets=("$@")
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz-smoke: cargo-fuzz is not installed (cargo install cargo-fuzz --locked)" >&2
  exit 2
fi
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cargo fuzz build --sanitizer none
for target in "${targets[@]}"; do
  echo "=== fuzz $target (${secs}s) ==="
  mkdir -p "$scratch/$target"
  # -rss_limit_mb: a translator that buffers without bound fails here, not in production.
  status=0
  timeout $((secs + 60)) cargo fuzz run "$target" --sanitizer none \
    "$scratch/$target" "corpus/$target" -- \
    -max_total_time="$secs" -rss_limit_mb=1024 -max_len=65536 -print_final_stats=1 \
    >"$scratch/$target.log" 2>&1 || status=$?
  grep -E '^(#[0-9]+[[:space:]]+DONE|stat::|==[0-9]+==|SUMMARY|Done )' "$scratch/$target.log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$scratch/$target.log" >&2
    echo "fuzz-smoke: $target failed (exit $status); see fuzz/artifacts/$target/" >&2
    exit 1
  fi
done
echo "fuzz-smoke: ok"
