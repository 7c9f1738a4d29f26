#!/usr/bin/env bash
# Bounded fuzzing smoke run: every fuzz target for at most SECS seconds (default 15) on the
# stable toolchain, seeded from fuzz/corpus/<target>. New inputs go to a scratch folder, so
# the committed corpus changes only by hand. A crash fails the run and leaves the input in
# fuzz/artifacts/<target>/ (reproduce: cargo fuzz run <target> --sanitizer none <file>).
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). Not part of .ci/run: building libFuzzer and
# five targets takes minutes on a small machine; run it before touching a parser or stream.
# Usage: scripts/fuzz-smoke.sh [SECS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-15}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(chat_request_parse openai_sse_relay anthropic_stream_translator anthropic_chunk_to_events config_load)
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz-smoke: cargo-fuzz is not installed (cargo install cargo-fuzz)" >&2
  exit 2
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
  grep -E '^(stat::number_of_executed_units|==[0-9]+==|SUMMARY|Done )' "$scratch/$target.log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$scratch/$target.log" >&2
    echo "fuzz-smoke: $target failed (exit $status); see fuzz/artifacts/$target/" >&2
    exit 1
  fi
done
echo "fuzz-smoke: ok"
